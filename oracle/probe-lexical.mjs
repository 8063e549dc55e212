#!/usr/bin/env node
// Lexical facts, asked of both judges: which characters are whitespace, which end a `//`
// comment, how \u escapes behave. Prints a JSON report (used for README.md).
//   node oracle/probe-lexical.mjs
import { analyze } from './lib/analyze.mjs';
import { analyzeStructure } from './lib/structure.mjs';
import { escapePass } from './lib/escape.mjs';

const hex = (c) => 'U+' + c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
const ok = (q, v = 'CYPHER 5') => analyze(q, v).messages.length === 0;
const antlrOk = (q) => analyzeStructure(escapePass(q).text).parse_errors === 0;

const SEPARATORS = ['\u0020', '\t', '\n', '\r', '\f', '\v', '\u0085', '\u00a0', '\u1680',
  ...Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)), '\u2028', '\u2029',
  '\u202f', '\u205f', '\u3000', '\ufeff', '\u001c', '\u001d', '\u001e', '\u001f', '\u200b',
  '\u180e', '\u0000'];

const report = { whitespace: [], comment_terminators: [], escapes: [] };
for (const c of SEPARATORS) {
  const q = `RETURN${c}1${c}AS${c}x`;
  report.whitespace.push({
    char: hex(c),
    analyzeQuery5: ok(q), analyzeQuery25: ok(q, 'CYPHER 25'), antlr: antlrOk(q),
    escaped_analyzeQuery5: ok(`RETURN\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}1`),
  });
}
// Does T end a // comment? "RETURN 1 AS x //c T CREATE (n)": if T ends the comment the
// statement becomes RETURN … CREATE, which Neo4j rejects ("RETURN can only be used at the end").
const TERMS = [['LF', '\n'], ['CR', '\r'], ['CRLF', '\r\n'], ['U+2028', '\u2028'], ['U+2029', '\u2029'],
  ['U+0085', '\u0085'], ['FF', '\f'], ['VT', '\v'], ['escaped \\u000a', '\\u000a'],
  ['escaped \\u000d', '\\u000d'], ['escaped \\u2028', '\\u2028']];
for (const [name, t] of TERMS) {
  const q = `RETURN 1 AS x //c${t}CREATE (n)`;
  const st = analyzeStructure(escapePass(q).text);
  report.comment_terminators.push({
    terminator: name,
    ends_comment_analyzeQuery5: !ok(q), ends_comment_analyzeQuery25: !ok(q, 'CYPHER 25'),
    ends_comment_antlr: st.rules.includes('createClause'),
  });
}
const ESC = [
  ['\\u0043REATE (n)', 'basic escape in a keyword'],
  ['\\uu0043REATE (n)', 'repeated u (legal in Java)'],
  ['RETURN 1 AS \\u005cu0041', '\\u005c then u0041: single pass => \\u0041 stays (invalid identifier)'],
  ['RETURN 1 AS \\\\u0041', 'even backslash run: not an escape'],
  ['RETURN 1 AS x\\\\\\u0041', 'odd run of 3: escape'],
  ['RETURN 1 AS x, 1 + \\u00zz', 'malformed escape'],
  ['RETURN 1 AS x, 1 + \\u00', 'truncated escape at end'],
  ['RETURN \'\\u0027\' AS x', 'escaped quote closes the string'],
  ['RETURN "\\u0027 CREATE (n) //" AS x', 'escaped other quote inside a string'],
  ['RETURN 1 AS x /* \\u002a/ CREATE (n) /* */', 'escaped */ ends a block comment'],
  ['RETURN 1 AS `a\\u0060` ', 'escaped backtick closes an identifier'],
];
for (const [q, what] of ESC) {
  const a5 = analyze(q, 'CYPHER 5');
  const e = escapePass(q);
  report.escapes.push({ q, what, analyzeQuery5: a5.messages.slice(0, 1).map((m) => m.slice(0, 100)), oracle_escape: e.text, malformed: e.malformed.length > 0, multi_u: e.multiU.length > 0 });
}
console.log(JSON.stringify(report, null, 1));
