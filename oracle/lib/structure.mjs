// Structural facts from the Cypher 25 ANTLR grammar shipped in the package (antlr4ng build).
// Input must already be escape-replaced (the generated lexer does not do the \uXXXX pass).
import { ANTLR_URL, LEXER_URL, PARSER_URL } from './paths.mjs';

const antlr = await import(ANTLR_URL);
const { CypherCmdLexer } = await import(LEXER_URL);
const { CypherCmdParser } = await import(PARSER_URL);

if (!(CypherCmdParser.prototype instanceof antlr.Parser)) {
  throw new Error('antlr4ng module instance mismatch: generated parser extends a different antlr4ng');
}

const RULE_NAMES = CypherCmdParser.ruleNames;
const R = Object.fromEntries(RULE_NAMES.map((n, i) => [n, i]));

// --- Classification of rules -------------------------------------------------------------
export const UPDATE_RULES = [
  'createClause', 'mergeClause', 'setClause', 'removeClause', 'deleteClause',
  'foreachClause', 'insertClause', 'subqueryInTransactionsParameters',
];
// Schema: index / constraint create+drop, and ALTER CURRENT GRAPH TYPE (Cypher 25 graph types).
export const SCHEMA_RULES = [
  'createIndex', 'createConstraint', 'dropIndex', 'dropConstraint', 'alterCurrentGraphType',
];
// Admin: every administration command rule. createCommand / dropCommand / alterCommand count as
// admin only when their sub-command is NOT one of SCHEMA_RULES (CREATE INDEX is schema, not
// admin). SHOW commands (showAdminCommand: SHOW USERS/ROLES/PRIVILEGES/…; and
// composableShowCommandClauses: SHOW INDEXES/CONSTRAINTS/PROCEDURES/FUNCTIONS/SETTINGS/
// TRANSACTIONS/DATABASES) are reads and are NOT admin.
export const ADMIN_RULES = [
  'createCommand', 'dropCommand', 'alterCommand', 'renameCommand', 'grantCommand',
  'denyCommand', 'revokeCommand', 'startDatabase', 'stopDatabase', 'enableServerCommand',
  'allocationCommand', 'terminateCommand',
];
const WRAPPER_ADMIN = new Set(['createCommand', 'dropCommand', 'alterCommand']);
export const READ_COMMAND_RULES = ['showAdminCommand', 'composableShowCommandClauses'];
const OTHER_INTERESTING = [
  'loadCSVClause', 'useClause', 'callClause', 'subqueryClause', 'consoleCommand',
  'localProcedureDefinition', 'localFunctionDefinition', 'letClause', 'forListClause',
  'filterClause', 'when', 'finishClause',
];
export const INTERESTING = [
  ...UPDATE_RULES, ...SCHEMA_RULES, ...ADMIN_RULES, ...READ_COMMAND_RULES, ...OTHER_INTERESTING,
];
for (const n of INTERESTING) if (!(n in R)) throw new Error(`rule ${n} not in grammar`);
const INTERESTING_IDX = new Set(INTERESTING.map((n) => R[n]));
const UPDATE_IDX = new Set(UPDATE_RULES.map((n) => R[n]));
const SCHEMA_IDX = new Set(SCHEMA_RULES.map((n) => R[n]));
const ADMIN_IDX = new Set(ADMIN_RULES.map((n) => R[n]));

class CountingListener extends antlr.BaseErrorListener {
  constructor() { super(); this.errors = []; }
  syntaxError(_recognizer, _sym, line, col, msg) {
    if (this.errors.length < 3) this.errors.push(`${line}:${col} ${msg.length > 200 ? msg.slice(0, 200) + '…' : msg}`);
    this.count = (this.count ?? 0) + 1;
  }
}

// Name of a symbolicNameString context as Neo4j sees it: backticks removed, `` -> `.
function symName(ctx) {
  const t = ctx.getText();
  if (t.length >= 2 && t[0] === '`' && t[t.length - 1] === '`') return t.slice(1, -1).replaceAll('``', '`');
  return t;
}
function qualifiedName(ctx /* procedureName | functionName */) {
  const parts = [];
  const ns = ctx.namespace();
  if (ns) for (const s of ns.symbolicNameString()) parts.push(symName(s));
  parts.push(symName(ctx.symbolicNameString()));
  return parts.join('.');
}

const T = CypherCmdLexer;
const VERSION_TOKENS = new Set([
  T.UNSIGNED_DECIMAL_INTEGER, T.DECIMAL_DOUBLE, T.DOT, T.EXTENDED_IDENTIFIER,
].filter((x) => x !== undefined));

// Token-level preparser: EXPLAIN | PROFILE | CYPHER [version] [name = value]* …, then the
// statement. Mirrors CypherPreParser.g4 (preparsedStatement: preparserOption* statement).
function preparse(tokens) {
  const vis = tokens.filter((t) => t.channel === 0);
  let i = 0;
  const res = { explain: 0, profile: 0, cypher: 0, versions: [], options: [] };
  for (;;) {
    const t = vis[i];
    if (!t || t.type === antlr.Token.EOF) break;
    if (t.type === T.EXPLAIN) { res.explain++; i++; continue; }
    if (t.type === T.PROFILE) { res.profile++; i++; continue; }
    if (t.type === T.CYPHER) {
      res.cypher++;
      i++;
      let v = '';
      while (vis[i] && VERSION_TOKENS.has(vis[i].type)) v += vis[i++].text;
      if (v) res.versions.push(v);
      // cypherOption: name = value
      while (vis[i + 1] && vis[i + 1].type === T.EQ && vis[i] && vis[i].type !== antlr.Token.EOF) {
        res.options.push(`${vis[i].text}=${vis[i + 2] ? vis[i + 2].text : ''}`);
        i += 3;
      }
      continue;
    }
    break;
  }
  const st = vis[i];
  res.stmtStart = st && st.type !== antlr.Token.EOF ? st.start : null; // code-point offset
  return res;
}

// Java identifier-ignorable characters (identifier parts in Cypher 5, not in Cypher 25).
const IGNORABLE = /[\u0000-\u0008\u000E-\u001B\u007F-\u009F\p{Cf}]/u;
const SAFE_TOKENS = new Set([T.STRING_LITERAL1, T.STRING_LITERAL2, T.ESCAPED_SYMBOLIC_NAME,
  T.SINGLE_LINE_COMMENT, T.MULTI_LINE_COMMENT].filter((x) => x !== undefined));
// Is there an identifier-ignorable character outside string literals, backticked names and
// comments (where it is harmless in both versions)?
function ignorableOutsideLiterals(text, tokens) {
  if (!IGNORABLE.test(text)) return false;
  const cps = Array.from(text);
  const safe = new Uint8Array(cps.length);
  for (const t of tokens) {
    if (SAFE_TOKENS.has(t.type) && t.start >= 0) safe.fill(1, t.start, t.stop + 1);
  }
  for (let i = 0; i < cps.length; i++) if (!safe[i] && IGNORABLE.test(cps[i])) return true;
  return false;
}

export function analyzeStructure(text) {
  const listener = new CountingListener();
  const chars = antlr.CharStream.fromString(text);
  const lexer = new CypherCmdLexer(chars);
  lexer.removeErrorListeners();
  lexer.addErrorListener(listener);
  const stream = new antlr.CommonTokenStream(lexer);
  stream.fill();
  const pre = preparse(stream.getTokens());
  const ignorable = ignorableOutsideLiterals(text, stream.getTokens());
  const parser = new CypherCmdParser(stream);
  parser.removeErrorListeners();
  parser.addErrorListener(listener);
  let tree = null;
  try {
    tree = parser.statementsOrCommands();
  } catch (e) {
    listener.count = (listener.count ?? 0) + 1;
    listener.errors.push('parser threw: ' + e.message);
  }
  const found = new Set();
  let update = false, schema = false, admin = false;
  const procedures = [];
  const functions = [];
  let statements = 0;
  const stack = tree ? [tree] : [];
  while (stack.length) {
    const ctx = stack.pop();
    if (!(ctx instanceof antlr.ParserRuleContext)) continue;
    const ri = ctx.ruleIndex;
    if (ri === R.statementOrCommand) statements++;
    if (INTERESTING_IDX.has(ri)) {
      found.add(RULE_NAMES[ri]);
      if (UPDATE_IDX.has(ri)) update = true;
      if (SCHEMA_IDX.has(ri)) schema = true;
      if (ADMIN_IDX.has(ri)) {
        if (WRAPPER_ADMIN.has(RULE_NAMES[ri])) {
          const sub = (ctx.children ?? []).some(
            (c) => c instanceof antlr.ParserRuleContext && SCHEMA_IDX.has(c.ruleIndex));
          if (!sub) admin = true;
        } else admin = true;
      }
    }
    if (ri === R.procedureName) {
      try { procedures.push(qualifiedName(ctx)); } catch { /* partial tree */ }
    } else if (ri === R.functionName) {
      try { functions.push(qualifiedName(ctx)); } catch { /* partial tree */ }
    }
    const ch = ctx.children;
    if (ch) for (let k = ch.length - 1; k >= 0; k--) stack.push(ch[k]);
  }
  return {
    parse_errors: listener.count ?? 0,
    parse_error_messages: listener.errors,
    rules: [...found].sort(),
    update, schema, admin,
    load_csv: found.has('loadCSVClause'),
    use: found.has('useClause'),
    procedures,
    functions,
    statements,
    preparser: pre,
    ignorable,
  };
}
