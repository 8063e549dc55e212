import { createRequire } from 'node:module';
// judge(text) -> verdict about one Cypher statement, from Neo4j's own front end.
// See README.md for the exact meaning of every field.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapePass } from './lib/escape.mjs';
import { analyzeStructure } from './lib/structure.mjs';
import { analyze, ANALYZER_PATCHED } from './lib/analyze.mjs';
import { PKG_VERSION } from './lib/paths.mjs';

export { ANALYZER_PATCHED, PKG_VERSION };
// No CYPHER prefix: Neo4j uses the database's default language. analyzeQuery itself has no
// default (it throws without a version); the package's own linter falls back to 'CYPHER 5',
// as does a server whose db.query.default_language is left at its default. The oracle does the same.
export const DEFAULT_VERSION = '5';
const VALID_VERSIONS = new Set(['5', '25']);

const here = path.dirname(fileURLToPath(import.meta.url));
const modes = { '25': new Map(), '5': new Map() };
try {
  // The procedure catalog shipped in the package (testData.mockSchema; see catalog-dump.mjs).
  const { testData } = createRequire(import.meta.url)('@neo4j-cypher/language-support');
  for (const v of ['5', '25']) {
    for (const p of Object.values(testData.mockSchema.procedures[`CYPHER ${v}`])) modes[v].set(p.name, p.mode);
  }
} catch { /* catalog optional */ }

const MAX_ERRORS = 3;
const MAX_MSG = 240;
const short = (m) => (m.length > MAX_MSG ? m.slice(0, MAX_MSG) + '…' : m);

// code-point offset (antlr4ng CharStream) -> UTF-16 offset
function cpToUnit(s, cp) {
  let u = 0;
  for (let c = 0; c < cp && u < s.length; c++) {
    const x = s.charCodeAt(u);
    u += x >= 0xd800 && x <= 0xdbff && u + 1 < s.length ? 2 : 1;
  }
  return u;
}
// Text T with escapePass(T).text === s and as few escapes as possible: only a backslash that
// would start an escape (even run of raw backslashes before it, `u` after it) becomes \u005c.
// (analyzeQuery can lose all diagnostics of a text that has escapes and a syntax error, so the
// check text should have none where possible.)
export function protectBackslashes(s) {
  if (!s.includes('\\')) return s;
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      out += run % 2 === 0 && s[i + 1] === 'u' ? '\\u005c' : c;
      run++;
    } else { out += c; run = 0; }
  }
  return out;
}
const sameMessages = (a, b) =>
  a.length === b.length && [...a].sort().every((m, i) => m === [...b].sort()[i]);

function verdictFor(an, base) {
  if (base) return base;
  if (an.threw) return 'undecided';
  return an.messages.length ? 'rejected' : 'accepted';
}

/**
 * @param {string} text the statement exactly as a client would send it
 * @param {{versions?: 'both'|'effective'|'none', escapeCheck?: boolean}} opts
 */
export function judge(text, opts = {}) {
  const versionsMode = opts.versions ?? 'both';
  const escapeCheck = opts.escapeCheck ?? true;

  const esc = escapePass(text);
  const st = analyzeStructure(esc.text);
  const pre = st.preparser;

  // ---- preparser (CYPHER [version] [opts] / EXPLAIN / PROFILE) on the escape-replaced text
  const notes = [];
  let prefixVerdict = null; // null | 'rejected' | 'undecided'
  const badVersions = pre.versions.filter((v) => !VALID_VERSIONS.has(v));
  const distinct = [...new Set(pre.versions)];
  if (badVersions.length) { prefixVerdict = 'rejected'; notes.push(`invalid Cypher version ${badVersions[0]}`); }
  else if (distinct.length > 1) { prefixVerdict = 'rejected'; notes.push('conflicting Cypher versions'); }
  else if (pre.explain && pre.profile) { prefixVerdict = 'rejected'; notes.push('both EXPLAIN and PROFILE'); }
  else if (pre.explain > 1 || pre.profile > 1 || pre.versions.length > 1) { prefixVerdict = 'undecided'; notes.push('repeated preparser option'); }
  else if (pre.options.length) { prefixVerdict = 'undecided'; notes.push('CYPHER options: ' + pre.options.join(' ')); }
  const version = distinct.length === 1 && VALID_VERSIONS.has(distinct[0]) ? distinct[0] : DEFAULT_VERSION;
  const other = version === '5' ? '25' : '5';
  const hasPrefix = pre.explain + pre.profile + (pre.cypher ?? 0) > 0 || pre.versions.length > 0 || pre.options.length > 0;

  // statement text handed to analyzeQuery: the original text from the first statement token on
  // (analyzeQuery rejects a leading CYPHER/EXPLAIN/PROFILE), or the whole text if no prefix.
  let stmtOrig = text, stmtEsc = esc.text;
  if (hasPrefix) {
    if (pre.stmtStart === null) { stmtOrig = ''; stmtEsc = ''; }
    else {
      const u = cpToUnit(esc.text, pre.stmtStart);
      stmtEsc = esc.text.slice(u);
      stmtOrig = text.slice(esc.toOrig[u]);
    }
  }

  // analyzeQuery returns no diagnostics at all for a malformed escape AND for an escape written
  // with repeated u's (\uu0041, legal in Java): both are undecided.
  const malformed = esc.malformed.length > 0;
  const multiU = esc.multiU.length > 0;
  const base = malformed || multiU ? 'undecided' : prefixVerdict;
  if (malformed) notes.push('malformed \\u escape at offset ' + esc.malformed[0]);
  if (multiU) notes.push('escape with repeated u at offset ' + esc.multiU[0] + ': analyzeQuery gives no diagnostics for it');

  const out = {
    valid: false,
    validity: 'undecided',
    version,
    valid5: null,
    valid25: null,
    escaped_changed: esc.changed,
    escape_malformed: malformed,
    escape_multi_u: multiU,
    escape_agrees: null,
    update: st.update,
    schema: st.schema,
    admin: st.admin,
    procedures: st.procedures,
    proc_modes: st.procedures.map((p) => modes[version].get(p) ?? null),
    functions: st.functions,
    load_csv: st.load_csv,
    use: st.use,
    explain: pre.explain > 0,
    profile: pre.profile > 0,
    rules: st.rules,
    parse_errors: st.parse_errors,
    statements: st.statements,
    errors: [],
    notes,
  };
  if (st.parse_errors) out.parse_error_messages = st.parse_error_messages.slice(0, 2);
  // Cypher 5 lexes identifiers with Java's rules, where "identifier-ignorable" characters
  // (U+0000-0008, U+000E-001B, U+007F-009F incl. U+0085, and format characters such as U+200B,
  // U+FEFF, U+180E) are identifier PARTS; the Cypher 25 ANTLR grammar used for the structural
  // flags treats U+0085 as whitespace and rejects the others. Structure of such a CYPHER 5
  // statement may not be what Neo4j 5 sees. Only counted outside string literals, backticked
  // names and comments.
  out.c5_ignorable = version === '5' && st.ignorable;
  out.structure_reliable = st.parse_errors === 0 && !out.c5_ignorable;

  if (versionsMode === 'none') { out.validity = 'unchecked'; out.valid = null; return out; }

  const an = analyze(stmtOrig, 'CYPHER ' + version);
  out.validity = verdictFor(an, base);
  out[`valid${version}`] = out.validity;
  out.errors = an.messages.slice(0, MAX_ERRORS).map(short);
  if (an.threw) notes.push('analyzeQuery threw: ' + an.threw);
  if (an.empty) notes.push('empty statement after preparser: not passed to analyzeQuery (it never returns on "")');

  if (escapeCheck && esc.changed && !malformed && !an.empty) {
    // analyzeQuery does its own escape pass, so feed it a text whose single escape pass gives
    // exactly our output: our output with each would-be escape's backslash written as \u005c.
    const an2 = analyze(protectBackslashes(stmtEsc), 'CYPHER ' + version);
    out.escape_agrees = !an.threw && !an2.threw && sameMessages(an.messages, an2.messages);
    if (!out.escape_agrees) {
      notes.push('analyzeQuery(original) and analyzeQuery(escape-replaced) differ: ' +
        JSON.stringify(an2.messages.slice(0, 2).map(short)));
      out.validity = 'undecided';
      out[`valid${version}`] = 'undecided';
    }
  }
  if (versionsMode === 'both') {
    const ao = analyze(stmtOrig, 'CYPHER ' + other);
    // the other version's verdict ignores the prefix's own version (as if prefixed CYPHER <other>)
    const otherBase = malformed || multiU ? 'undecided'
      : (prefixVerdict === 'rejected' && !/version/.test(notes[0] ?? '')) ? 'rejected'
      : prefixVerdict === 'undecided' ? 'undecided' : null;
    out[`valid${other}`] = verdictFor(ao, otherBase);
    if (out[`valid${other}`] === 'rejected' && ao.messages.length) out[`errors${other}`] = ao.messages.slice(0, MAX_ERRORS).map(short);
  }
  out.valid = out.validity === 'accepted';
  return out;
}
