// Self-test of the oracle on known statements: node --test oracle/test/
import test from 'node:test';
import assert from 'node:assert/strict';
import { judge } from '../judge.mjs';
import { escapePass } from '../lib/escape.mjs';
import { makeStatement } from '../lib/gen.mjs';

test('escape pass (Java rules)', () => {
  assert.equal(escapePass('\\u0043REATE').text, 'CREATE');
  assert.equal(escapePass('\\uuu0041').text, 'A');
  assert.equal(escapePass('\\\\u0041').text, '\\\\u0041'); // even run: no escape
  assert.equal(escapePass('\\\\\\u0041').text, '\\\\A'); // odd run
  assert.equal(escapePass('\\u005cu0041').text, '\\u0041'); // single pass
  assert.deepEqual(escapePass('x\\u00zz').malformed, [1]);
});

const cases = [
  ['MATCH (n) RETURN n', { validity: 'accepted', update: false, schema: false, admin: false }],
  ['\\u0043REATE (n)', { validity: 'accepted', update: true, escape_agrees: true }],
  ['CYPHER 25 EXPLAIN CREATE (n)', { validity: 'accepted', update: true, version: '25', explain: true }],
  ['CALL { MATCH (n) SET n.x = 1 } IN TRANSACTIONS', { update: true }],
  ['CREATE INDEX i FOR (n:A) ON (n.x)', { validity: 'accepted', schema: true, admin: false, update: false }],
  ['CREATE USER bob SET PASSWORD "secret"', { validity: 'accepted', admin: true, schema: false }],
  ['SHOW USERS', { validity: 'accepted', admin: false }],
  ['CALL `db`.labels() YIELD label RETURN label', { validity: 'accepted', procedures: ['db.labels'], proc_modes: ['READ'] }],
  ['RETURN "\\u0027 CREATE (n) //" AS x', { validity: 'accepted', update: false }],
  ["RETURN '\\u0027 CREATE (n) //' AS x", { validity: 'rejected', update: true }],
  ['RETURN 1 AS x /* \\u002a/ CREATE (n) /* */', { validity: 'rejected', update: true }],
  ['RETURN 1 AS x // c\u2028CREATE (n)', { validity: 'accepted', update: false }],
  ['RETURN 1 AS x // c\rCREATE (n)', { validity: 'rejected', update: true }],
  ['RETURN 1 AS x, 1 + \\u00zz', { validity: 'undecided', escape_malformed: true }],
  ['\\uu0043REATE (n)', { validity: 'undecided', escape_multi_u: true, update: true }],
  ['EXPLAIN PROFILE RETURN 1', { validity: 'rejected' }],
  ['CYPHER 4 RETURN 1', { validity: 'rejected' }],
  ['RETURN 1 AS a NEXT RETURN 2 AS b', { validity: 'rejected', valid25: 'accepted' }],
  ['', { validity: 'rejected' }],
];
for (const [q, want] of cases) {
  test(`judge ${JSON.stringify(q)}`, () => {
    const v = judge(q);
    for (const [k, x] of Object.entries(want)) assert.deepEqual(v[k], x, `${k} of ${JSON.stringify(q)}: ${JSON.stringify(v)}`);
  });
}

test('generator is deterministic', () => {
  for (let i = 0; i < 50; i++) assert.equal(makeStatement(5, i).q, makeStatement(5, i).q);
  assert.notEqual(makeStatement(5, 1).q, makeStatement(6, 1).q);
});
