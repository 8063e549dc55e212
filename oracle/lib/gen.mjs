// Seeded grammar-based generator of Cypher statements plus obfuscating transforms.
// makeStatement(seed, index) -> { q, kind, level } is a pure function of (seed, index).
import { escapeUnit } from './escape.mjs';

// ---------------------------------------------------------------- PRNG (sfc32 + splitmix seed)
function splitmix32(a) {
  return () => {
    a |= 0; a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16); t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15; t = Math.imul(t, 0x735a2d97);
    return ((t ^ (t >>> 15)) >>> 0);
  };
}
export function rng(seed, index) {
  const sm = splitmix32((seed * 0x85ebca6b) ^ (index * 0xc2b2ae35) ^ 0x5bd1e995);
  let a = sm(), b = sm(), c = sm(), d = sm();
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0; t = (t + d) | 0; c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

class G {
  constructor(r) { this.r = r; }
  chance(p) { return this.r() < p; }
  int(lo, hi) { return lo + Math.floor(this.r() * (hi - lo + 1)); }
  pick(arr) { return arr[Math.floor(this.r() * arr.length)]; }
  wpick(pairs) { // [[weight, value], ...]
    let tot = 0; for (const [w] of pairs) tot += w;
    let x = this.r() * tot;
    for (const [w, v] of pairs) { if ((x -= w) < 0) return v; }
    return pairs[pairs.length - 1][1];
  }
}

// ---------------------------------------------------------------- vocabulary
const PLAIN_VARS = ['n', 'm', 'a', 'b', 'x', 'y', 'p', 'q', 'person', 'movie', 'node', 'v1', '_t'];
const KW_VARS = ['delete', 'set', 'create', 'merge', 'remove', 'call', 'load', 'detach', 'drop',
  'grant', 'show', 'insert', 'finish', 'foreach', 'csv', 'transactions', 'admin', 'user', 'role',
  'database', 'index', 'constraint', 'terminate', 'alter', 'rename', 'deny', 'revoke', 'start',
  'stop', 'write', 'filter', 'let', 'when', 'next', 'yield', 'use', 'match', 'with', 'rows'];
const LABELS = ['Person', 'Movie', 'A', 'B', 'User', 'Tag', 'Create', 'DELETE', 'Set', 'Merge', 'Admin'];
const REL_TYPES = ['KNOWS', 'ACTED_IN', 'R', 'LIKES', 'CREATE', 'DELETE', 'SET', 'MERGE'];
const PROP_KEYS = ['name', 'age', 'x', 'y', 'since', 'create', 'delete', 'set', 'merge', 'detach',
  'remove', 'call', 'load', 'drop', 'title', 'id'];
const DECOY_TEXT = ['CREATE (n)', 'DETACH DELETE n', 'MERGE (x:Admin)', 'SET n.x = 1', 'REMOVE n:Person',
  'CALL apoc.create.node([], {})', 'DROP DATABASE neo4j', 'CREATE USER evil SET PASSWORD \'x\'',
  'LOAD CSV FROM \'http://x\' AS r', 'FOREACH (x IN [1] | CREATE ())', 'GRANT ALL ON DBMS TO PUBLIC',
  'hello', 'ok', 'x', '', ' ', 'IN TRANSACTIONS', 'INSERT (n)', 'delete', 'Set'];
const READ_PROCS = [
  ['db.labels', [], ['label']], ['db.relationshipTypes', [], ['relationshipType']],
  ['db.propertyKeys', [], ['propertyKey']], ['dbms.components', [], ['name', 'versions', 'edition']],
  ['db.info', [], ['id', 'name']], ['db.ping', [], ['success']],
  ['apoc.meta.stats', [], ['labels']], ['db.schema.visualization', [], ['nodes', 'relationships']],
  ['apoc.load.json', ['str'], ['value']], ['db.index.fulltext.queryNodes', ['str', 'str'], ['node', 'score']],
];
const WRITE_PROCS = [
  ['apoc.create.node', ['list', 'map'], ['node']], ['apoc.merge.node', ['list', 'map'], ['node']],
  ['db.createLabel', ['str'], []], ['db.createProperty', ['str'], []],
  ['apoc.cypher.runWrite', ['str', 'map'], ['value']], ['apoc.periodic.iterate', ['str', 'str', 'map'], ['batches', 'total']],
  ['apoc.create.setProperty', ['expr', 'str', 'expr'], ['node']], ['dbms.setConfigValue', ['str', 'str'], []],
  ['db.clearQueryCaches', [], ['value']], ['apoc.refactor.rename.label', ['str', 'str'], ['total']],
  ['my.proc', [], ['x']], ['my.write.proc', ['expr'], ['result']], ['custom.doStuff', ['map'], ['out']],
];

// ---------------------------------------------------------------- token helpers
// token kinds: kw (keyword; case may vary), id (identifier; may be backticked),
// lit (literal text, untouched), p (punctuation/operator), str (string literal)
const K = (t) => ({ k: 'kw', t });
const KS = (s) => s.split(' ').map(K);
const I = (t) => ({ k: 'id', t });
const P = (t) => ({ k: 'p', t });
const L = (t) => ({ k: 'lit', t });
const S = (t) => ({ k: 'str', t });

function sepList(items, sep = ',') {
  const out = [];
  items.forEach((it, i) => { if (i) out.push(P(sep)); out.push(...it); });
  return out;
}

// ---------------------------------------------------------------- the grammar
class Scope {
  constructor(parent = null) {
    this.nodes = parent ? [...parent.nodes] : [];
    this.rels = parent ? [...parent.rels] : [];
    this.vals = parent ? [...parent.vals] : [];
  }
  all() { return [...this.nodes, ...this.rels, ...this.vals]; }
}

class Gen extends G {
  constructor(r, level) {
    super(r);
    this.level = level;
    this.c25 = false; // uses Cypher-25-only syntax
    this.used = new Set();
    this.gpmLabels = this.chance(0.5); // Neo4j rejects mixing `:A|B`-style and `:A:B` in one query
  }
  freshVar(scope) {
    const pool = this.chance(0.3) ? KW_VARS : PLAIN_VARS;
    for (let i = 0; i < 8; i++) {
      const v = this.pick(pool);
      if (!scope.all().includes(v)) return v;
    }
    let k = 0; while (scope.all().includes('v' + k)) k++;
    return 'v' + k;
  }
  label() { return this.chance(0.03) ? 'we`ird' : this.pick(LABELS); }
  relType() { return this.pick(REL_TYPES); }
  propKey() { return this.pick(PROP_KEYS); }

  stringLit() {
    const q = this.chance(0.6) ? "'" : '"';
    let body = this.pick(DECOY_TEXT);
    const trick = this.r();
    // the other quote, escaped: harmless inside; the same quote, escaped: closes the string
    const other = q === "'" ? '\\u0022' : '\\u0027';
    const same = q === "'" ? '\\u0027' : '\\u0022';
    if (trick < 0.12) body = body + "\\'" + 'CREATE'; // 'a\'CREATE'
    else if (trick < 0.2) body = other + ' ' + body + ' //'; // "\u0027 CREATE (n) //"
    else if (trick < 0.215) body = same + ' ' + body; // breaks out of the string
    else if (trick < 0.3) body = body + '\\\\'; // ends with escaped backslash
    else if (trick < 0.34) body = '*/ ' + body + ' /*';
    else if (trick < 0.38) body = body + '\\n// ' + this.pick(DECOY_TEXT);
    // make the body legal inside the chosen quotes (except the deliberate \u0027/\u0022 tricks)
    if (q === "'") body = body.replace(/(?<!\\)'/g, "\\'");
    else body = body.replace(/(?<!\\)"/g, '\\"');
    return S(q + body + q);
  }
  literal(depth = 0) {
    return this.wpick([
      [4, () => [L(String(this.int(0, 100)))]],
      [1, () => [L(this.pick(['1.5', '0.0', '2e3', '-3', '0x1F']))]],
      [4, () => [this.stringLit()]],
      [1, () => [K(this.pick(['true', 'false', 'null']))]],
      [1, () => [P('$'), I(this.pick(['param', 'x', 'create', 'props', 'delete']))]],
      [depth < 2 ? 1 : 0, () => [P('['), ...sepList(Array.from({ length: this.int(0, 3) }, () => this.literal(depth + 1))), P(']')]],
      [depth < 2 ? 1 : 0, () => this.mapLit(depth + 1)],
    ])();
  }
  mapLit(depth = 1) {
    const n = this.int(0, 3);
    const keys = [...new Set(Array.from({ length: n }, () => this.propKey()))];
    return [P('{'), ...sepList(keys.map((k) => [I(k), P(':'), ...this.literal(depth)])), P('}')];
  }
  varRef(scope, kind = 'any') {
    const pool = kind === 'node' ? scope.nodes : kind === 'rel' ? scope.rels : scope.all();
    return pool.length ? this.pick(pool) : null;
  }
  atom(scope, depth) {
    const v = this.varRef(scope);
    const nodeV = this.varRef(scope, 'node');
    return this.wpick([
      [5, () => this.literal()],
      [v ? 5 : 0, () => [I(v)]],
      [scope.nodes.length || scope.rels.length ? 5 : 0, () => [I(this.pick([...scope.nodes, ...scope.rels])), P('.'), I(this.propKey())]],
      [2, () => [I(this.pick(['coalesce', 'toString'])), P('('), ...this.scalar(scope), P(')')]],
      [depth < 2 ? 1 : 0, () => this.caseExpr(scope, depth + 1)],
      [depth < 2 ? 1 : 0, () => this.listComp(scope, depth + 1)],
      [nodeV && depth < 2 ? 1 : 0, () => this.patternComp(scope, nodeV)],
      [nodeV && depth < 2 ? 1 : 0, () => this.mapProjection(scope, nodeV)],
      [depth < 2 ? 1 : 0, () => this.subqueryExpr(scope)],
    ])();
  }
  // a scalar (non-entity) value
  scalar(scope, depth = 1) {
    const ent = [...scope.nodes, ...scope.rels];
    return this.wpick([
      [4, () => this.literal(2)],
      [ent.length ? 4 : 0, () => [I(this.pick(ent)), P('.'), I(this.propKey())]],
      [scope.vals.length ? 2 : 0, () => [I(this.pick(scope.vals))]],
      [depth < 2 ? 1 : 0, () => [I(this.pick(['toString', 'coalesce'])), P('('), ...this.scalar(scope, depth + 1), P(')')]],
    ])();
  }
  boolExpr(scope, depth = 0) {
    const ent = [...scope.nodes, ...scope.rels];
    const node = this.varRef(scope, 'node');
    const simple = () => this.wpick([
      [4, () => [...this.scalar(scope), P(this.pick(['=', '<>', '<', '>', '<=', '>='])), ...this.scalar(scope)]],
      [2, () => [...this.scalar(scope), ...KS(this.pick(['IS NULL', 'IS NOT NULL']))]],
      [1, () => [...this.scalar(scope), ...KS(this.pick(['STARTS WITH', 'ENDS WITH', 'CONTAINS'])), this.stringLit()]],
      [1, () => [...this.scalar(scope), K('IN'), P('['), ...this.literal(2), P(','), ...this.literal(2), P(']')]],
      [1, () => [P('$'), I(this.pick(['flag', 'create', 'x']))]],
      [1, () => [K(this.pick(['true', 'false']))]],
      [node ? 1 : 0, () => [I(node), P(':'), I(this.label())]],
      [depth < 1 ? 1 : 0, () => { const q = this.subqueryExpr(scope, true); return q; }],
      [ent.length ? 0.5 : 0, () => [I(this.pick(ent)), P('.'), I(this.propKey()), P('=~'), S("'.*CREATE.*'")]],
    ])();
    if (depth > 1 || this.chance(0.6)) return simple();
    return this.wpick([
      [3, () => [...simple(), K(this.pick(['AND', 'OR', 'XOR'])), ...this.boolExpr(scope, depth + 1)]],
      [1, () => [K('NOT'), P('('), ...this.boolExpr(scope, depth + 1), P(')')]],
    ])();
  }
  expr(scope, depth = 0) {
    if (depth > 2 || this.chance(0.5)) return this.atom(scope, depth);
    if (this.chance(0.4)) return this.boolExpr(scope, depth + 1);
    const a = this.atom(scope, depth + 1);
    const b = this.atom(scope, depth + 1);
    return this.wpick([
      [3, () => [...a, P(this.pick(['=', '<>'])), ...b]],
      [2, () => [L(String(this.int(1, 9))), P(this.pick(['+', '-', '*', '/', '%'])), ...this.scalar(scope)]],
      [1, () => [...this.scalar(scope), P('+'), this.stringLit()]],
      [1, () => [...a, ...KS(this.pick(['IS NULL', 'IS NOT NULL']))]],
      [1, () => [...a, ...KS(this.pick(['STARTS WITH', 'ENDS WITH', 'CONTAINS'])), this.stringLit()]],
      [1, () => [...a, K('IN'), P('['), ...b, P(']')]],
    ])();
  }
  caseExpr(scope, depth) {
    const out = [K('CASE')];
    const simple = this.chance(0.4);
    if (simple) out.push(...this.scalar(scope));
    for (let i = this.int(1, 2); i > 0; i--) {
      out.push(K('WHEN'), ...(simple ? this.literal(2) : this.boolExpr(scope, 1)), K('THEN'), ...this.scalar(scope));
    }
    if (this.chance(0.6)) out.push(K('ELSE'), ...this.scalar(scope));
    out.push(K('END'));
    return out;
  }
  listComp(scope, depth) {
    const v = this.freshVar(scope);
    const inner = new Scope(scope); inner.vals.push(v);
    const out = [P('['), I(v), K('IN'), ...this.pick([[L('range(1,3)')], [P('['), L('1'), P(','), L('2'), P(']')]])];
    if (this.chance(0.5)) out.push(K('WHERE'), I(v), P(this.pick(['>', '<>', '='])), L(String(this.int(0, 3))));
    if (this.chance(0.7)) out.push(P('|'), I(v), P(this.pick(['*', '+', '-'])), L(String(this.int(1, 3))));
    out.push(P(']'));
    return out;
  }
  patternComp(scope, nodeV) {
    const v = this.freshVar(scope);
    const inner = new Scope(scope); inner.nodes.push(v);
    const out = [P('['), P('('), I(nodeV), P(')'), ...this.relPattern(new Scope(scope), 'match', true), P('('), I(v), ...(this.chance(0.5) ? [P(':'), I(this.label())] : []), P(')')];
    if (this.chance(0.4)) out.push(K('WHERE'), ...this.boolExpr(inner, 2));
    out.push(P('|'), I(v), P('.'), I(this.propKey()), P(']'));
    return out;
  }
  mapProjection(scope, nodeV) {
    const items = [];
    for (let i = this.int(1, 3); i > 0; i--) {
      items.push(this.wpick([
        [3, () => [P('.'), I(this.propKey())]],
        [1, () => [P('.'), P('*')]],
        [1, () => [I(this.propKey()), P(':'), ...this.literal(2)]],
      ])());
    }
    return [I(nodeV), P('{'), ...sepList(items), P('}')];
  }
  subqueryExpr(scope, asBool = false) {
    const kind = asBool ? this.pick(['EXISTS', 'COUNT']) : this.pick(['EXISTS', 'COUNT', 'COLLECT']);
    if (asBool && kind === 'COUNT') return [...this.subqueryExprOf(scope, 'COUNT'), P('>'), L(String(this.int(0, 2)))];
    return this.subqueryExprOf(scope, kind);
  }
  subqueryExprOf(scope, kind) {
    const inner = new Scope(scope);
    if (kind === 'COLLECT') {
      const m = this.matchClause(inner);
      const v = this.varRef(inner) ?? '1';
      return [K('COLLECT'), P('{'), ...m, K('RETURN'), ...(v === '1' ? [L('1')] : [I(v)]), P('}')];
    }
    if (this.chance(0.5)) {
      const pat = this.pattern(inner, 'match');
      return [K(kind), P('{'), ...pat, P('}')];
    }
    const m = this.matchClause(inner);
    // a write inside EXISTS {} is rejected by Neo4j: a decoy the oracle must reject
    const tail = this.chance(0.05) ? [K('CREATE'), P('('), P(')')] : [];
    return [K(kind), P('{'), ...m, ...tail, P('}')];
  }

  // -------------------------------------------------------------- patterns
  labelExpr(ctx) {
    if (ctx !== 'match') {
      const n = this.int(1, 2);
      const out = [];
      for (let i = 0; i < n; i++) out.push(P(i && this.gpmLabels ? '&' : ':'), I(this.label()));
      if (this.chance(0.07)) { this.c25 = true; return [P(':'), P('$'), P('('), P('$'), I('lbl'), P(')')]; }
      return out;
    }
    const legacy = !this.gpmLabels;
    return this.wpick([
      [5, () => [P(':'), I(this.label())]],
      [legacy ? 3 : 0.05, () => [P(':'), I(this.label()), P(':'), I(this.label())]],
      [legacy ? 0.05 : 2, () => [P(':'), I(this.label()), P('|'), I(this.label())]],
      [legacy ? 0.05 : 2, () => [P(':'), I(this.label()), P('&'), P('!'), I(this.label())]],
      [legacy ? 0.05 : 1, () => [P(':'), P('!'), I(this.label())]],
      [legacy ? 0.05 : 1, () => [P(':'), P('%')]],
      [1, () => [P(':'), P('$'), P('('), P('$'), I('lbl'), P(')')]],
    ])();
  }
  nodePattern(scope, ctx, { bindNew = true, allowBound = true } = {}) {
    const out = [P('(')];
    const bound = allowBound && scope.nodes.length && this.chance(0.3) ? this.pick(scope.nodes) : null;
    if (bound) {
      out.push(I(bound));
    } else if (bindNew && this.chance(0.8)) {
      const v = this.freshVar(scope);
      scope.nodes.push(v);
      out.push(I(v));
    }
    if (!bound && this.chance(0.75)) out.push(...this.labelExpr(ctx));
    if (!bound && this.chance(0.3)) out.push(...this.mapLit(2));
    out.push(P(')'));
    return out;
  }
  relPattern(scope, ctx, anonymous = false) {
    const dir = ctx === 'match' ? this.pick(['->', '<-', '--']) : this.pick(['->', '<-']);
    const inner = [];
    if (!anonymous && this.chance(0.5)) {
      const v = this.freshVar(scope);
      scope.rels.push(v);
      inner.push(I(v));
    }
    if (ctx === 'match') {
      if (this.chance(0.7)) {
        inner.push(P(':'), I(this.relType()));
        if (this.chance(this.gpmLabels ? 0.3 : 0.1)) inner.push(P('|'), I(this.relType()));
      }
      if (this.chance(0.2) && !inner.length) inner.push(P('*'), L(this.pick(['1..3', '2', '..5', ''])));
      else if (this.chance(0.15) && inner.length === 0) inner.push(P('*'));
    } else {
      inner.push(P(':'), I(this.relType()));
    }
    if (this.chance(0.2)) inner.push(...this.mapLit(2));
    const bare = ctx === 'match' && !inner.length && this.chance(0.5);
    if (bare) return dir === '->' ? [P('-->')] : dir === '<-' ? [P('<--')] : [P('--')];
    const [l, r] = dir === '->' ? ['-', '->'] : dir === '<-' ? ['<-', '-'] : ['-', '-'];
    return [P(l), P('['), ...inner, P(']'), P(r)];
  }
  pattern(scope, ctx) {
    const out = this.nodePattern(scope, ctx, { allowBound: ctx !== 'create' || this.chance(0.5) });
    const hops = ctx === 'create' ? this.int(0, 1) : this.int(0, 2);
    for (let i = 0; i < hops; i++) {
      out.push(...this.relPattern(scope, ctx));
      out.push(...this.nodePattern(scope, ctx));
    }
    return out;
  }

  // -------------------------------------------------------------- clauses
  matchClause(scope) {
    const out = [];
    if (this.chance(0.15)) out.push(K('OPTIONAL'));
    out.push(K('MATCH'), ...this.pattern(scope, 'match'));
    if (this.chance(0.15)) out.push(P(','), ...this.pattern(scope, 'match'));
    if (this.chance(0.4)) out.push(K('WHERE'), ...this.boolExpr(scope));
    return out;
  }
  projectionItems(scope, { aggregate = true, alias = 'maybe' } = {}) {
    const items = [];
    const newScope = new Scope();
    const cands = scope.all();
    const n = cands.length ? this.int(1, Math.min(3, cands.length + 1)) : 1;
    const usedAliases = new Set();
    for (let i = 0; i < n; i++) {
      const useVar = cands.length && this.chance(0.5);
      if (useVar) {
        const v = this.pick(cands);
        if (usedAliases.has(v)) continue;
        usedAliases.add(v);
        if (alias === 'always' || this.chance(0.2)) {
          let a = this.freshVar(new Scope()); while (usedAliases.has(a)) a = a + '_';
          usedAliases.add(a);
          items.push([I(v), K('AS'), I(a)]); newScope.vals.push(a);
        } else {
          items.push([I(v)]);
          if (scope.nodes.includes(v)) newScope.nodes.push(v); else if (scope.rels.includes(v)) newScope.rels.push(v); else newScope.vals.push(v);
        }
      } else {
        let a = this.freshVar(new Scope()); while (usedAliases.has(a)) a = a + '_';
        usedAliases.add(a);
        const e = aggregate && this.chance(0.25)
          ? (this.chance(0.3) ? [I('count'), P('('), P('*'), P(')')] : [I(this.pick(['count', 'collect', 'max'])), P('('), ...this.scalar(scope), P(')')])
          : this.expr(scope, 1);
        items.push([...e, K('AS'), I(a)]);
        newScope.vals.push(a);
      }
    }
    if (!items.length) { items.push([L('1'), K('AS'), I('one')]); newScope.vals.push('one'); }
    return { items: sepList(items), newScope };
  }
  orderSkipLimit(scope) {
    const out = [];
    const v = this.varRef(scope);
    if (v && this.chance(0.3)) {
      out.push(K('ORDER'), K('BY'), I(v));
      if (this.chance(0.5)) out.push(K(this.pick(['ASC', 'DESC', 'ASCENDING', 'DESCENDING'])));
    }
    if (this.chance(0.15)) out.push(K('SKIP'), L(String(this.int(0, 10))));
    if (this.chance(0.2)) out.push(K('LIMIT'), L(String(this.int(1, 100))));
    return out;
  }
  withClause(scope) {
    const out = [K('WITH')];
    if (this.chance(0.1)) out.push(K('DISTINCT'));
    const { items, newScope } = this.projectionItems(scope);
    out.push(...items, ...this.orderSkipLimit(newScope));
    if (this.chance(0.3)) out.push(K('WHERE'), ...this.boolExpr(newScope));
    return { toks: out, scope: newScope };
  }
  returnClause(scope, opts = {}) {
    const out = [K('RETURN')];
    if (this.chance(0.1)) out.push(K('DISTINCT'));
    if (!scope.all().length && this.chance(0.3)) { out.push(P('*')); return { toks: [K('RETURN'), L('1'), K('AS'), I('one')], cols: ['one'] }; }
    const { items, newScope } = this.projectionItems(scope, opts);
    out.push(...items, ...this.orderSkipLimit(newScope));
    return { toks: out, cols: newScope.all() };
  }
  setItem(scope) {
    const n = this.varRef(scope, 'node') ?? this.varRef(scope);
    if (!n) return null;
    return this.wpick([
      [4, () => [I(n), P('.'), I(this.propKey()), P('='), ...this.scalar(scope)]],
      [2, () => [I(n), P('+='), ...this.mapLit(1)]],
      [1, () => [I(n), P('='), ...this.mapLit(1)]],
      [2, () => [I(n), P(':'), I(this.label())]],
      [1, () => { this.c25 = this.c25 || this.chance(0.5); return [I(n), P(':'), P('$'), P('('), P('$'), I(this.pick(['x', 'lbl'])), P(')')]; }],
      [1, () => [I(n), P('['), this.stringLit(), P(']'), P('='), ...this.literal(2)]],
    ])();
  }
  setClause(scope) {
    const items = [];
    for (let i = this.int(1, 2); i > 0; i--) { const it = this.setItem(scope); if (it) items.push(it); }
    return items.length ? [K('SET'), ...sepList(items)] : null;
  }
  removeClause(scope) {
    const n = this.varRef(scope, 'node');
    if (!n) return null;
    return [K('REMOVE'), ...(this.chance(0.5) ? [I(n), P('.'), I(this.propKey())] : [I(n), P(':'), I(this.label())])];
  }
  deleteClause(scope) {
    const v = this.varRef(scope, this.chance(0.7) ? 'node' : 'rel') ?? this.varRef(scope);
    if (!v) return null;
    const pre = this.wpick([[3, []], [3, [K('DETACH')]], [1, [K('NODETACH')]]]);
    return [...pre, K('DELETE'), I(v)];
  }
  createClause(scope) { return [K('CREATE'), ...this.pattern(scope, 'create')]; }
  mergeClause(scope) {
    const out = [K('MERGE'), ...this.pattern(scope, 'merge')];
    if (this.chance(0.4)) { const s = this.setClause(scope); if (s) out.push(K('ON'), K('CREATE'), ...s); }
    if (this.chance(0.3)) { const s = this.setClause(scope); if (s) out.push(K('ON'), K('MATCH'), ...s); }
    return out;
  }
  foreachClause(scope) {
    const v = this.freshVar(scope);
    const inner = new Scope(scope); inner.vals.push(v);
    const body = this.pick([
      () => this.createClause(new Scope(inner)),
      () => this.setClause(inner) ?? this.createClause(new Scope(inner)),
      () => this.mergeClause(new Scope(inner)),
    ])();
    return [K('FOREACH'), P('('), I(v), K('IN'), ...this.pick([[L('range(1,3)')], [P('['), L('1'), P(']')], [P('$'), I('list')]]), P('|'), ...body, P(')')];
  }
  unwindClause(scope) {
    const v = this.freshVar(scope);
    const out = [K('UNWIND'), ...this.pick([[L('range(1,5)')], [P('['), L('1'), P(','), L('2'), P(']')], [P('$'), I('rows')]]), K('AS'), I(v)];
    scope.vals.push(v);
    return out;
  }
  loadCsv(scope) {
    const v = this.freshVar(scope);
    const out = [K('LOAD'), K('CSV')];
    if (this.chance(0.5)) out.push(K('WITH'), K('HEADERS'));
    out.push(K('FROM'), S(this.pick(["'file:///data.csv'", "'https://example.com/x.csv'", '"file:///create.csv"'])), K('AS'), I(v));
    if (this.chance(0.2)) out.push(K('FIELDTERMINATOR'), S("';'"));
    scope.vals.push(v);
    return out;
  }
  procCall(scope, write, standalone = false) {
    const [name, args, cols] = this.pick(write ? WRITE_PROCS : READ_PROCS);
    const parts = name.split('.');
    const nameToks = [];
    parts.forEach((p, i) => { if (i) nameToks.push(P('.')); nameToks.push(I(p)); });
    const argToks = args.map((a) => (a === 'str' ? [this.stringLit()] : a === 'list' ? [P('['), S("'Label'"), P(']')] : a === 'map' ? this.mapLit(1) : this.atom(scope, 2)));
    const out = [K('CALL'), ...nameToks, P('('), ...sepList(argToks), P(')')];
    if (cols.length && (!standalone || this.chance(0.6))) {
      out.push(K('YIELD'));
      const ys = cols.slice(0, this.int(1, cols.length));
      const yt = [];
      for (const c of ys) {
        if (scope.all().includes(c)) continue;
        yt.push([I(c)]); scope.vals.push(c);
      }
      if (!yt.length) { out.pop(); if (!standalone) return null; }
      else out.push(...sepList(yt));
    }
    return out;
  }
  callSubquery(scope, depth) {
    const out = [];
    if (this.chance(0.05)) out.push(K('OPTIONAL'));
    out.push(K('CALL'));
    const inner = new Scope();
    const imported = scope.all().length ? this.pick(scope.all()) : null;
    const form = imported ? this.pick(['scoped', 'scoped', 'with', 'none']) : 'none';
    if (form === 'scoped') {
      out.push(P('('), ...(this.chance(0.2) ? [P('*')] : [I(imported)]), P(')'));
      if (scope.nodes.includes(imported)) inner.nodes.push(imported); else inner.vals.push(imported);
    }
    out.push(P('{'));
    if (form === 'with') { out.push(K('WITH'), I(imported)); if (scope.nodes.includes(imported)) inner.nodes.push(imported); else inner.vals.push(imported); }
    const write = this.chance(0.5);
    const body = this.singleQuery(inner, { write, depth: depth + 1, mustReturn: this.chance(0.5), allowStandaloneCall: false });
    out.push(...body.toks, P('}'));
    for (const c of body.cols) if (!scope.all().includes(c)) scope.vals.push(c);
    return { toks: out, write };
  }
  inTransactions() {
    const out = [K('IN')];
    if (this.chance(0.15)) { out.push(L(String(this.int(1, 4))), K('CONCURRENT')); }
    out.push(K('TRANSACTIONS'));
    if (this.chance(0.5)) out.push(K('OF'), L(String(this.int(1, 1000))), K(this.pick(['ROWS', 'ROW'])));
    if (this.chance(0.2)) out.push(K('ON'), K('ERROR'), K(this.pick(['CONTINUE', 'BREAK', 'FAIL'])));
    return out;
  }

  // a single query (no UNION): reading part, optional updating part, RETURN / FINISH / nothing
  singleQuery(scope, { write, depth = 0, mustReturn = false, allowStandaloneCall = true }) {
    const toks = [];
    let cols = [];
    if (depth === 0 && this.chance(0.08)) toks.push(K('USE'), ...this.pick([[I('neo4j')], [I('movies')], [I('graph'), P('.'), I('byName'), P('('), S("'neo4j'"), P(')')]]));
    const nRead = this.int(write ? 0 : 1, 3);
    for (let i = 0; i < nRead; i++) {
      const c = this.wpick([
        [6, () => this.matchClause(scope)],
        [2, () => this.unwindClause(scope)],
        [scope.all().length ? 2 : 0, () => { const w = this.withClause(scope); Object.assign(scope, w.scope); return w.toks; }],
        [depth < 1 ? 2 : 0, () => { const s = this.callSubquery(scope, depth); if (s.write) this.wroteSub = true; return s.toks; }],
        [1, () => this.procCall(scope, false)],
        [write ? 1 : 0.3, () => this.loadCsv(scope)],
        [this.level ? 0.5 : 0, () => { this.c25 = true; return [K('FILTER'), ...this.boolExpr(scope)]; }],
        [this.level ? 0.5 : 0, () => { this.c25 = true; const v = this.freshVar(scope); const e = this.expr(scope, 1); scope.vals.push(v); return [K('LET'), I(v), P('='), ...e]; }],
      ])();
      if (c) toks.push(...c);
    }
    let wrote = false;
    if (write) {
      const nW = this.int(1, 3);
      for (let i = 0; i < nW; i++) {
        const c = this.wpick([
          [5, () => this.createClause(scope)],
          [3, () => this.mergeClause(scope)],
          [3, () => this.setClause(scope)],
          [2, () => this.removeClause(scope)],
          [2, () => this.deleteClause(scope)],
          [1, () => this.foreachClause(scope)],
          [1.5, () => this.procCall(scope, true)],
          [0.5, () => { this.c25 = true; return [K('INSERT'), P('('), ...(this.chance(0.5) ? [I(this.freshVar(scope))] : []), P(':'), I(this.label()), P(')')]; }],
        ])();
        if (c) { toks.push(...c); wrote = true; }
      }
      if (!wrote) toks.push(...this.createClause(scope));
    }
    if (!toks.length) toks.push(...this.matchClause(scope));
    const end = mustReturn ? 'return' : this.wpick([[write ? 4 : 10, 'return'], [write ? 5 : 0, 'none'], [1, 'finish']]);
    let retIdx = -1;
    if (end === 'return') { retIdx = toks.length; const r = this.returnClause(scope); toks.push(...r.toks); cols = r.cols; }
    else if (end === 'finish') toks.push(K('FINISH'));
    return { toks, cols, retIdx };
  }

  // -------------------------------------------------------------- statements
  query(write) {
    const form = this.wpick([[14, 'single'], [2, 'union'], [1, 'when'], [1, 'next'], [write ? 1.5 : 0, 'intx'], [2, 'proc']]);
    if (form === 'single') return this.singleQuery(new Scope(), { write }).toks;
    if (form === 'proc') {
      // standalone procedure call (may omit YIELD)
      const s = new Scope();
      const c = this.procCall(s, write, true) ?? [K('CALL'), I('db'), P('.'), I('labels'), P('('), P(')')];
      if (this.chance(0.4) && s.vals.length) c.push(K('RETURN'), I(this.pick(s.vals)));
      return c;
    }
    if (form === 'union') {
      const out = [];
      const n = this.int(2, 3);
      const col = this.pick(['x', 'name', 'delete', 'v']);
      const all = this.chance(0.5);
      for (let i = 0; i < n; i++) {
        if (i) out.push(K('UNION'), ...((this.chance(0.03) ? !all : all) ? [K('ALL')] : []));
        const s = new Scope();
        const body = this.singleQuery(s, { write: write && i === n - 1, mustReturn: true });
        // force a common column: replace the RETURN with RETURN <expr> AS col
        const ri = body.retIdx;
        out.push(...body.toks.slice(0, ri), K('RETURN'), ...this.scalar(s), K('AS'), I(col));
      }
      return out;
    }
    if (form === 'when') {
      this.c25 = true;
      const out = [];
      const col = this.pick(['x', 'res']);
      const n = this.int(1, 2);
      const branch = (w) => {
        const s = new Scope();
        const b = this.singleQuery(s, { write: w, mustReturn: true });
        const ri = b.retIdx;
        return [...b.toks.slice(0, ri), K('RETURN'), ...this.literal(2), K('AS'), I(col)];
      };
      for (let i = 0; i < n; i++) out.push(K('WHEN'), ...this.boolExpr(new Scope(), 1), K('THEN'), ...branch(write && i === 0));
      if (this.chance(0.7)) out.push(K('ELSE'), ...branch(write && n === 1 && this.chance(0.5)));
      return out;
    }
    if (form === 'next') {
      this.c25 = true;
      const s = new Scope();
      const a = this.singleQuery(s, { write: false, mustReturn: true });
      const ri = a.retIdx;
      const v = this.freshVar(new Scope());
      const first = [...a.toks.slice(0, ri), K('RETURN'), ...this.scalar(s), K('AS'), I(v)];
      const s2 = new Scope(); s2.vals.push(v);
      const b = this.singleQuery(s2, { write, mustReturn: this.chance(0.5) });
      return [...first, K('NEXT'), ...b.toks];
    }
    // CALL { … } IN TRANSACTIONS
    const s = new Scope();
    const pre = this.chance(0.5) ? this.unwindClause(s) : [];
    const sub = this.callSubquery(s, 0);
    const out = [...pre, ...sub.toks, ...this.inTransactions()];
    if (this.chance(0.3)) { const r = this.returnClause(s); out.push(...r.toks); }
    return out;
  }
  show() {
    const what = this.pick([
      ['INDEXES', ['name', 'type', 'state']], ['CONSTRAINTS', ['name', 'type']],
      ['PROCEDURES', ['name', 'mode', 'description']], ['FUNCTIONS', ['name', 'category']],
      ['USERS', ['user', 'roles']], ['ROLES', ['role']], ['DATABASES', ['name', 'currentStatus']],
      ['TRANSACTIONS', ['transactionId', 'username']], ['SETTINGS', ['name', 'value']],
      ['PRIVILEGES', ['role', 'action']], ['CURRENT USER', ['user']], ['ALL INDEXES', ['name']],
      ['BUILT IN FUNCTIONS', ['name']], ['DATABASE neo4j', ['name']], ['ROLES WITH USERS', ['role', 'member']],
    ]);
    const out = [K('SHOW'), ...KS(what[0]).map((t) => (t.t === 'neo4j' ? I('neo4j') : t))];
    const r = this.r();
    if (r < 0.5) {
      const ys = what[1].slice(0, this.int(1, what[1].length));
      out.push(K('YIELD'), ...sepList(ys.map((c) => [I(c)])));
      if (this.chance(0.4)) out.push(K('WHERE'), I(ys[0]), P(this.pick(['=', '<>', 'STARTS WITH'].slice(0, 2))), this.stringLit());
      if (this.chance(0.5)) out.push(K('RETURN'), ...sepList(ys.map((c) => [I(c)])));
    } else if (r < 0.7) {
      out.push(K('WHERE'), I(what[1][0]), P('='), this.stringLit());
    }
    return out;
  }
  schema() {
    const name = this.pick(['idx', 'create', 'delete_idx', 'c1', 'merge']);
    const v = this.pick(['n', 'r', 'delete']);
    return this.pick([
      () => [K('CREATE'), ...(this.chance(0.3) ? [K(this.pick(['TEXT', 'RANGE', 'POINT']))] : []), K('INDEX'), ...(this.chance(0.7) ? [I(name)] : []), ...(this.chance(0.3) ? KS('IF NOT EXISTS') : []), K('FOR'), P('('), I(v), P(':'), I(this.label()), P(')'), K('ON'), P('('), I(v), P('.'), I(this.propKey()), P(')')],
      () => [K('CREATE'), K('CONSTRAINT'), ...(this.chance(0.7) ? [I(name)] : []), ...(this.chance(0.3) ? KS('IF NOT EXISTS') : []), K('FOR'), P('('), I(v), P(':'), I(this.label()), P(')'), K('REQUIRE'), I(v), P('.'), I(this.propKey()), ...KS(this.pick(['IS UNIQUE', 'IS NOT NULL', 'IS NODE KEY']))],
      () => [K('DROP'), K('INDEX'), I(name), ...(this.chance(0.3) ? KS('IF EXISTS') : [])],
      () => [K('DROP'), K('CONSTRAINT'), I(name), ...(this.chance(0.3) ? KS('IF EXISTS') : [])],
      () => [K('CREATE'), K('FULLTEXT'), K('INDEX'), I(name), K('FOR'), P('('), I(v), P(':'), I(this.label()), P(')'), K('ON'), K('EACH'), P('['), I(v), P('.'), I(this.propKey()), P(']')],
      () => [K('CREATE'), K('LOOKUP'), K('INDEX'), I(name), K('FOR'), P('('), I(v), P(')'), K('ON'), K('EACH'), I('labels'), P('('), I(v), P(')')],
    ])();
  }
  admin() {
    const u = this.pick(['bob', 'alice', 'delete', 'create']);
    const role = this.pick(['reader', 'editor', 'custom', 'set']);
    const db = this.pick(['neo4j', 'movies', 'create', 'foo']);
    const pw = S(this.pick(["'secret'", '"p@ss CREATE"', "'x\\'y'"]));
    return this.pick([
      () => [K('CREATE'), K('USER'), I(u), ...(this.chance(0.3) ? KS('IF NOT EXISTS') : []), K('SET'), K('PASSWORD'), pw, ...(this.chance(0.5) ? KS('CHANGE NOT REQUIRED') : [])],
      () => [K('DROP'), K('USER'), I(u)],
      () => [K('ALTER'), K('USER'), I(u), K('SET'), K('PASSWORD'), pw],
      () => [K('ALTER'), K('CURRENT'), K('USER'), K('SET'), K('PASSWORD'), K('FROM'), pw, K('TO'), pw],
      () => [K('CREATE'), K('ROLE'), I(role), ...(this.chance(0.3) ? [K('AS'), K('COPY'), K('OF'), I('reader')] : [])],
      () => [K('DROP'), K('ROLE'), I(role)],
      () => [K('RENAME'), K('ROLE'), I(role), K('TO'), I(role + '2')],
      () => [K('CREATE'), K('DATABASE'), I(db), ...(this.chance(0.3) ? KS('IF NOT EXISTS') : [])],
      () => [K('DROP'), K('DATABASE'), I(db), ...(this.chance(0.3) ? KS('IF EXISTS') : [])],
      () => [K('ALTER'), K('DATABASE'), I(db), K('SET'), K('ACCESS'), K('READ'), K(this.pick(['ONLY', 'WRITE']))],
      () => [K('START'), K('DATABASE'), I(db)],
      () => [K('STOP'), K('DATABASE'), I(db)],
      () => [K('GRANT'), K('ROLE'), I(role), K('TO'), I(u)],
      () => [K('REVOKE'), K('ROLE'), I(role), K('FROM'), I(u)],
      () => [K('GRANT'), K('TRAVERSE'), K('ON'), K('GRAPH'), P('*'), K('TO'), I(role)],
      () => [K('DENY'), K('WRITE'), K('ON'), K('GRAPH'), I(db), K('TO'), I(role)],
      () => [K('GRANT'), K('ALL'), K('ON'), K('DBMS'), K('TO'), I(role)],
      () => [K('TERMINATE'), K('TRANSACTIONS'), S("'neo4j-transaction-42'")],
      () => [K('CREATE'), K('ALIAS'), I('al'), K('FOR'), K('DATABASE'), I(db)],
      () => [K('ENABLE'), K('SERVER'), S("'abc'")],
    ])();
  }

  statement() {
    const kind = this.wpick([[40, 'read'], [36, 'write'], [7, 'show'], [6, 'schema'], [7, 'admin'], [4, 'procread']]);
    let toks;
    if (kind === 'read') toks = this.query(false);
    else if (kind === 'write') toks = this.query(true);
    else if (kind === 'show') toks = this.show();
    else if (kind === 'schema') toks = this.schema();
    else if (kind === 'admin') toks = this.admin();
    else { const s = new Scope(); toks = this.procCall(s, false, true) ?? [K('CALL'), I('db'), P('.'), I('labels'), P('('), P(')')]; }
    // preparser prefix
    const pre = [];
    const pr = this.r();
    if (this.c25 && this.chance(0.85)) pre.push(K('CYPHER'), L('25'));
    else if (pr < 0.06) pre.push(K('CYPHER'), L('5'));
    else if (pr < 0.12) pre.push(K('CYPHER'), L('25'));
    else if (pr < 0.14) pre.push(K('CYPHER'));
    if (this.chance(0.08)) {
      const e = K(this.pick(['EXPLAIN', 'PROFILE']));
      if (this.chance(0.5)) pre.unshift(e); else pre.push(e);
    }
    if (this.chance(0.01)) pre.push(K('CYPHER'), L(this.pick(['4', '6', '25', '5'])));
    if (this.chance(0.03)) toks.push(P(';'));
    return { toks: [...pre, ...toks], kind };
  }
}

// ---------------------------------------------------------------- rendering + obfuscation
const WS_COMMON = [' ', ' ', ' ', ' ', '\t', '\n', '\r\n', '\r'];
const WS_EXOTIC = ['\f', '\v', '\u0085', '\u00a0', '\u1680', '\u2000', '\u2001', '\u2002', '\u2003',
  '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a', '\u2028', '\u2029', '\u202f',
  '\u205f', '\u3000', '\u001c', '\u001d', '\u001e', '\u001f'];
const NOT_WS = ['\ufeff', '\u200b', '\u180e']; // the oracle decides: these are not Cypher whitespace
const LINE_ENDS = [['\n', 6], ['\r', 2], ['\r\n', 3], ['\\u000a', 2], ['\\u000d', 1], ['\\u000D\\u000A', 1],
  ['\u2028', 1], ['\u2029', 1], ['\u0085', 1]];

function keywordCase(g, t) {
  const m = g.r();
  if (m < 0.4) return t.toUpperCase();
  if (m < 0.65) return t.toLowerCase();
  if (m < 0.8) return t[0].toUpperCase() + t.slice(1).toLowerCase();
  return [...t].map((c) => (g.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
}
function backtick(name) { return '`' + name.replaceAll('`', '``') + '`'; }

function comment(g) {
  const body = g.pick(DECOY_TEXT);
  const r = g.r();
  if (r < 0.55) {
    let b = body;
    if (g.chance(0.15)) b = b + ' \\u002a/ ' + g.pick(['CREATE (evil)', 'MATCH (z)', 'x']) + ' /*'; // escaped */ ends the comment early
    if (g.chance(0.1)) b = b + " ' \" ` ";
    return '/*' + (g.chance(0.7) ? ' ' : '') + b + (g.chance(0.7) ? ' ' : '') + '*/';
  }
  return '//' + (g.chance(0.7) ? ' ' : '') + body + g.wpick(LINE_ENDS.map(([v, w]) => [w, v]));
}

function separator(g, level, required) {
  let s = '';
  if (level === 0) return required || g.chance(0.3) ? ' ' : '';
  const nParts = g.wpick([[required ? 0 : 3, 0], [8, 1], [2, 2], [1, 3]]);
  for (let i = 0; i < nParts; i++) {
    const r = g.r();
    if (r < 0.06 * level) s += comment(g);
    else if (r < 0.06 * level + 0.1 * level) s += g.pick(WS_EXOTIC);
    else if (level === 2 && r < 0.6 && g.chance(0.02)) s += g.pick(NOT_WS);
    else s += g.pick(WS_COMMON);
  }
  if (required && s === '') s = ' ';
  return s;
}

const SAFE_PUNCT = new Set(['(', ')', '[', ']', '{', '}', ',', ':', ';', '|']);

function escapeText(g, text, rate, targeted, multiU) {
  // \uXXXX-escape characters at random. A backslash that would end up preceded by an odd run of
  // raw backslashes is not an escape any more; that is allowed (the oracle decides).
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = text.charCodeAt(i);
    const structural = `'"\`*/\\\n\r`.includes(ch);
    const p = structural && targeted ? rate * 4 : rate;
    if (g.chance(p)) {
      const us = multiU && g.chance(0.3) ? g.int(2, 4) : 1;
      out += escapeUnit(code, us, null, g.r);
    } else out += ch;
  }
  return out;
}

export function render(g, toks, level) {
  let out = '';
  let prev = null;
  const kwCaseMode = level === 0 ? 'upper' : 'random';
  const btRate = [0, 0.1, 0.25][level];
  for (const tok of toks) {
    let t = tok.t;
    if (tok.k === 'kw') t = kwCaseMode === 'upper' ? t.toUpperCase() : keywordCase(g, t);
    else if (tok.k === 'id') {
      if (t.includes('`') || g.chance(btRate)) t = backtick(t);
    }
    if (prev !== null) {
      const tight = prev === '$' || prev === '.' || t === '.';
      if (tight) {
        if (level > 0 && g.chance(0.1)) out += separator(g, level, false);
      } else {
        out += separator(g, level, !(SAFE_PUNCT.has(prev) || SAFE_PUNCT.has(t)));
      }
    } else if (level === 2 && g.chance(0.3)) out += separator(g, level, false);
    out += t;
    prev = t;
  }
  if (level === 2 && g.chance(0.3)) out += separator(g, level, false);
  if (level >= 1) {
    const rate = level === 1 ? g.pick([0, 0, 0.005, 0.02]) : g.pick([0.005, 0.01, 0.03, 0.08]);
    if (rate) out = escapeText(g, out, rate, level === 2, g.chance(0.08));
  }
  return out;
}

export function makeStatement(seed, index) {
  const r = rng(seed, index);
  const level = new G(r).wpick([[30, 0], [40, 1], [30, 2]]);
  const gen = new Gen(r, level);
  const { toks, kind } = gen.statement();
  const q = render(gen, toks, level);
  return { q, kind, level };
}
