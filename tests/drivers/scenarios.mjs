#!/usr/bin/env node
// Driver scenarios for boltward's differential integration tests (JavaScript driver).
//
// JS twin of tests/drivers/scenarios.py: same scenarios, same CLI, same output
// (one JSON object per line: {"scenario", "ok", "result", "error"}), same
// normalization (run id -> "<run>", every integer -> "i:<n>", NaN/Infinity/-0.0 as
// strings, no element ids / timings / bookmark contents).
//
//   node tests/drivers/scenarios.mjs --driver neo4j-driver-6 --uri bolt://127.0.0.1:7687 \
//        --password PW --db alpha --db2 beta --run-id ID [--user root] \
//        [--scenarios a,b,c] [--ca-file CA.pem]
//
// --driver is the npm alias to load (neo4j-driver-5 or neo4j-driver-6). It is
// resolved from $BOLTWARD_TESTENV/node/node_modules (default: <repo>/.testenv/node),
// then from NODE_PATH. Exit status: 0 when every scenario ran (even if some failed),
// 2 on a usage error.

import crypto from 'node:crypto';
import path from 'node:path';
import { loadDriver } from './driver.mjs';

const SCENARIOS = [
  'auto_commit',
  'explicit_tx',
  'execute_query',
  'managed_tx_retry',
  'large_result',
  'large_param',
  'value_types',
  'syntax_error_recovery',
  'bookmarks',
  'two_databases',
  'concurrent_sessions',
  'routing',
];
const DRIVERS = ['neo4j-driver-5', 'neo4j-driver-6'];
const SCHEMES = ['bolt', 'bolt+s', 'bolt+ssc', 'neo4j', 'neo4j+s', 'neo4j+ssc'];

const LARGE_RESULT_ROWS = 100000;
const LARGE_STRING_CHARS = 1100000;
const LARGE_LIST_LEN = 20000;
const CONCURRENT_SESSIONS = 50;
const UNKNOWN_DB = 'boltward_no_such_database';

// ---------------------------------------------------------------------------
// command line

function usage(msg) {
  process.stderr.write(
    'usage: scenarios.mjs --driver neo4j-driver-5|neo4j-driver-6 --uri URI --password PW ' +
      '--db NAME --db2 NAME --run-id ID [--user root] [--scenarios a,b,c] [--ca-file PATH]\n' +
      `scenarios.mjs: error: ${msg}\n`,
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { user: 'root', scenarios: '', 'ca-file': null };
  const known = new Set(['driver', 'uri', 'user', 'password', 'db', 'db2', 'run-id', 'scenarios', 'ca-file']);
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === '-h' || a === '--help') usage('help requested');
    if (!a.startsWith('--')) usage(`unexpected argument ${JSON.stringify(a)}`);
    a = a.slice(2);
    let val;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      val = a.slice(eq + 1);
      a = a.slice(0, eq);
    } else {
      if (i + 1 >= argv.length) usage(`--${a} needs a value`);
      val = argv[++i];
    }
    if (!known.has(a)) usage(`unknown option --${a}`);
    opts[a] = val;
  }
  for (const req of ['driver', 'uri', 'password', 'db', 'db2', 'run-id']) {
    if (opts[req] === undefined || opts[req] === '') usage(`--${req} is required`);
  }
  // the run id is replaced by "<run>" everywhere in the output: it must not be a common substring
  if (opts['run-id'].length < 6) usage('--run-id must be at least 6 characters (and unique per run)');
  if (!DRIVERS.includes(opts.driver)) usage(`--driver must be one of ${DRIVERS.join(', ')}`);
  const names = opts.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
  const list = names.length ? names : [...SCENARIOS];
  const unknown = list.filter((s) => !SCENARIOS.includes(s));
  if (unknown.length) usage(`unknown scenario(s): ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  let scheme;
  try {
    scheme = new URL(opts.uri).protocol.replace(/:$/, '').toLowerCase();
  } catch (e) {
    usage(`bad --uri ${JSON.stringify(opts.uri)}`);
  }
  if (!SCHEMES.includes(scheme)) usage(`unsupported URI scheme ${JSON.stringify(scheme)}`);
  opts.scheme = scheme;
  opts.scenarioList = list;
  return opts;
}

const args = parseArgs(process.argv.slice(2));
const neo4j = loadDriver(args.driver, 'scenarios.mjs');
const T = neo4j.types;

// ---------------------------------------------------------------------------
// normalization

class CheckFailed extends Error {
  constructor(msg) {
    super(msg);
    this.name = 'CheckFailed';
  }
}

function check(cond, what) {
  if (!cond) throw new CheckFailed(what);
}

const intStr = (x) => {
  if (neo4j.isInt(x) || typeof x === 'bigint') return 'i:' + x.toString();
  return 'i:' + String(Math.trunc(Number(x)));
};
const num = (x) => (neo4j.isInt(x) ? x.toNumber() : Number(x));
const pad = (x, n) => String(num(x)).padStart(n, '0');

function fmtOffset(seconds) {
  const s0 = num(seconds);
  const sign = s0 < 0 ? '-' : '+';
  const s = Math.abs(s0);
  let out = `${sign}${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor((s % 3600) / 60), 2)}`;
  if (s % 60) out += `:${pad(s % 60, 2)}`;
  return out;
}
const fmtTime = (t) => `${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}.${pad(t.nanosecond, 9)}`;
const fmtDate = (d) => `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;

function norm(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
    if (Object.is(v, -0)) return '-0.0';
    return v;
  }
  if (typeof v === 'bigint' || neo4j.isInt(v)) return intStr(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  }
  if (neo4j.isNode(v)) return { $node: { labels: [...v.labels].sort(), props: norm(v.properties) } };
  if (neo4j.isRelationship(v)) return { $rel: { type: v.type, props: norm(v.properties) } };
  if (neo4j.isPath(v)) {
    const nodes = [v.start, ...v.segments.map((s) => s.end)];
    const rels = v.segments.map((s) => {
      const r = norm(s.relationship);
      r.$rel.forward = s.relationship.startNodeElementId === s.start.elementId;
      return r;
    });
    return { $path: { nodes: nodes.map(norm), rels } };
  }
  if (neo4j.isDateTime(v)) {
    const off = v.timeZoneOffsetSeconds;
    return {
      $datetime: `${fmtDate(v)}T${fmtTime(v)}`,
      offset: off === undefined || off === null ? null : fmtOffset(off),
      zone: v.timeZoneId || null,
    };
  }
  if (neo4j.isLocalDateTime(v)) return { $localdatetime: `${fmtDate(v)}T${fmtTime(v)}` };
  if (neo4j.isDate(v)) return { $date: fmtDate(v) };
  if (neo4j.isTime(v)) return { $time: fmtTime(v), offset: fmtOffset(v.timeZoneOffsetSeconds) };
  if (neo4j.isLocalTime(v)) return { $localtime: fmtTime(v) };
  if (neo4j.isDuration(v)) {
    return {
      $duration: {
        months: intStr(v.months),
        days: intStr(v.days),
        seconds: intStr(v.seconds),
        nanoseconds: intStr(v.nanoseconds),
      },
    };
  }
  if (neo4j.isPoint(v)) {
    const coords = v.z === undefined || v.z === null ? [v.x, v.y] : [v.x, v.y, v.z];
    return { $point: { srid: intStr(v.srid), coords: coords.map((c) => norm(Number(c))) } };
  }
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = norm(x);
    return o;
  }
  return { $unknown: (v.constructor && v.constructor.name) || typeof v, repr: String(v) };
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function makeFixer(runId, uri) {
  let hostPort = '';
  try {
    hostPort = new URL(uri).host;
  } catch (e) {
    /* checked in parseArgs */
  }
  const pats = [String.raw`\b(?:localhost|127\.0\.0\.1)(?::\d+)?\b`, String.raw`\[?::1\]?:\d+`];
  if (hostPort) pats.unshift(escapeRe(hostPort));
  const addrRe = new RegExp(pats.join('|'), 'g');
  const dirRe = /\/[^\s'"]*\/databases\//g; // ArcadeDB's DatabaseNotFound names the server dir
  const text = (s) => s.split(runId).join('<run>').replace(dirRe, '<dir>/databases/').replace(addrRe, '<addr>');
  const fix = (v) => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return v.map(fix);
    if (v && typeof v === 'object') {
      const o = {};
      for (const k of Object.keys(v).sort()) o[text(k)] = fix(v[k]);
      return o;
    }
    return v;
  };
  return fix;
}

function errInfo(e) {
  const isNeo = e instanceof neo4j.Neo4jError;
  const code = isNeo && e.code ? String(e.code) : null;
  const info = {
    type: (e && e.name) || (e && e.constructor && e.constructor.name) || typeof e,
    code,
    message: e && e.message !== undefined ? String(e.message) : String(e),
  };
  if (isNeo) {
    info.classification = code && code.startsWith('Neo.') && code.split('.').length >= 3 ? code.split('.')[1] : null;
    info.gql_status = e.gqlStatus ?? null;
    info.retryable = Boolean(e.retryable ?? e.retriable);
  }
  return info;
}

function subError(e) {
  const info = errInfo(e);
  return { error: info.code || info.type, message: info.message };
}

const recordsOf = (records) => records.map((r) => norm(r.toObject()));
const valuesOf = (records) => records.map((r) => r.keys.map((k) => norm(r.get(k))));

function summaryOf(summary) {
  const u = summary.counters.updates();
  return {
    query_type: summary.queryType ?? null,
    counters: {
      nodes_created: intStr(u.nodesCreated),
      nodes_deleted: intStr(u.nodesDeleted),
      relationships_created: intStr(u.relationshipsCreated),
      properties_set: intStr(u.propertiesSet),
      labels_added: intStr(u.labelsAdded),
      contains_updates: summary.counters.containsUpdates(),
    },
    database: summary.database ? summary.database.name ?? null : null,
  };
}

function bookmarkInfo(bms) {
  const raw = Array.isArray(bms) ? bms : [];
  return { present: raw.length > 0, count: intStr(raw.length) };
}

function single(records) {
  if (records.length !== 1) throw new CheckFailed(`expected exactly one record, got ${records.length}`);
  return records[0];
}

// ---------------------------------------------------------------------------
// scenarios

const I = (x) => neo4j.int(x);

async function withSession(ctx, opts, fn) {
  const s = (ctx.drv || ctx.driver).session({ database: ctx.db, ...opts });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

async function count(runner, label, run) {
  const res = await runner.run(`MATCH (n:${label} {run: $run}) RETURN count(n) AS c`, { run });
  return single(res.records).get('c');
}

async function scAutoCommit(ctx, out) {
  await withSession(ctx, {}, async (s) => {
    let res = await s.run('CREATE (n:BwAuto {run: $run, name: $name, n: $n}) RETURN n.name AS name, n.n AS n', {
      run: ctx.run,
      name: 'auto',
      n: I(42),
    });
    out.create_records = recordsOf(res.records);
    out.create_summary = summaryOf(res.summary);
    res = await s.run('MATCH (n:BwAuto {run: $run}) RETURN n.name AS name, n.n AS n, labels(n) AS labels', {
      run: ctx.run,
    });
    out.read_records = recordsOf(res.records);
    out.read_summary = summaryOf(res.summary);
    out.bookmark_after_auto_commit = bookmarkInfo(await s.lastBookmarks());
  });
  check(out.read_records.length === 1, 'read back exactly one node');
}

async function scExplicitTx(ctx, out) {
  await withSession(ctx, {}, async (s) => {
    let tx = s.beginTransaction();
    await tx.run('CREATE (:BwTx {run: $run, step: 1})', { run: ctx.run });
    const res = await tx.run('CREATE (n:BwTx {run: $run, step: 2}) RETURN n.step AS step', { run: ctx.run });
    out.second_statement = recordsOf(res.records);
    out.in_tx_count = norm(await count(tx, 'BwTx', ctx.run));
    await tx.commit();
    out.after_commit = norm(await count(s, 'BwTx', ctx.run));
    out.bookmark_after_commit = bookmarkInfo(await s.lastBookmarks());

    tx = s.beginTransaction();
    await tx.run('CREATE (:BwTx {run: $run, step: 3})', { run: ctx.run });
    out.in_rolled_back_tx_count = norm(await count(tx, 'BwTx', ctx.run));
    await tx.rollback();
    out.after_rollback = norm(await count(s, 'BwTx', ctx.run));
    const steps = await s.run('MATCH (n:BwTx {run: $run}) RETURN n.step AS step ORDER BY step', { run: ctx.run });
    out.steps = recordsOf(steps.records);
  });
  check(out.after_commit === 'i:2', 'commit kept both statements');
  check(out.after_rollback === 'i:2', 'rollback discarded the write');
}

async function scExecuteQuery(ctx, out) {
  const d = ctx.driver;
  let r = await d.executeQuery(
    'UNWIND range(1, 3) AS k CREATE (n:BwEq {run: $run, k: k}) RETURN n.k AS k ORDER BY k',
    { run: ctx.run },
    { database: ctx.db, routing: neo4j.routing.WRITE },
  );
  out.write = { keys: [...r.keys], records: recordsOf(r.records), summary: summaryOf(r.summary) };
  r = await d.executeQuery(
    'MATCH (n:BwEq {run: $run}) RETURN n.k AS k, n.run AS run ORDER BY k',
    { run: ctx.run },
    { database: ctx.db, routing: neo4j.routing.READ },
  );
  out.read = { keys: [...r.keys], records: recordsOf(r.records), summary: summaryOf(r.summary) };
  check(r.records.length === 3, 'read back the 3 nodes');
}

async function scManagedTxRetry(ctx, out) {
  let attempts = 0;
  await withSession(ctx, {}, async (s) => {
    const inside = await s.executeWrite(async (tx) => {
      attempts += 1;
      await tx.run('CREATE (:BwRetry {run: $run, attempt: $a})', { run: ctx.run, a: I(attempts) });
      if (attempts === 1) {
        throw new neo4j.Neo4jError(
          'boltward scenario: simulated transient failure',
          'Neo.TransientError.General.DatabaseUnavailable',
        );
      }
      const res = await tx.run('MATCH (n:BwRetry {run: $run}) RETURN n.attempt AS a ORDER BY a', { run: ctx.run });
      return valuesOf(res.records);
    });
    out.attempts = intStr(attempts);
    out.seen_inside_last_attempt = inside;
    const res = await s.run('MATCH (n:BwRetry {run: $run}) RETURN n.attempt AS a ORDER BY a', { run: ctx.run });
    out.committed = valuesOf(res.records);
    out.bookmark = bookmarkInfo(await s.lastBookmarks());
  });
  check(attempts === 2, 'retried exactly once');
  check(JSON.stringify(out.committed) === JSON.stringify([['i:2']]), 'only the second attempt was committed');
}

async function scLargeResult(ctx, out) {
  await withSession(ctx, {}, async (s) => {
    const result = s.run('UNWIND range(1, $n) AS i RETURN i', { n: I(LARGE_RESULT_ROWS) });
    let n = 0;
    let total = 0n;
    let first = null;
    let last = null;
    for await (const rec of result) {
      const i = rec.get(0);
      if (first === null) first = i;
      last = i;
      n += 1;
      total += BigInt(i.toString());
    }
    out.count = intStr(n);
    out.sum = intStr(total);
    out.first = norm(first);
    out.last = norm(last);
    out.summary = summaryOf(await result.summary());
    check(n === LARGE_RESULT_ROWS, 'streamed every record');
  });
}

function largeParamValues() {
  const s = ('abcdefghi' + '\u00e9').repeat(LARGE_STRING_CHARS / 10);
  const l = [];
  for (let i = 0; i < LARGE_LIST_LEN; i++) l.push((i - LARGE_LIST_LEN / 2) ** 3); // |x| <= 1e12: exact
  return { s, l };
}

const sha256 = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
const bigSum = (xs) => xs.reduce((a, x) => a + BigInt(x.toString()), 0n);

async function scLargeParam(ctx, out) {
  const { s, l } = largeParamValues();
  const rec = await withSession(ctx, {}, async (sess) => {
    const res = await sess.run(
      'RETURN size($s) AS slen, $s AS s, size($l) AS llen, $l AS l, reduce(acc = 0, x IN $l | acc + x) AS lsum',
      { s, l: l.map(I) },
    );
    return single(res.records);
  });
  const rs = rec.get('s');
  const rl = rec.get('l');
  const listEqual =
    Array.isArray(rl) && rl.length === l.length && rl.every((x, i) => neo4j.isInt(x) && x.toString() === String(l[i]));
  out.sent = {
    string_chars: intStr(s.length),
    string_utf8_bytes: intStr(Buffer.byteLength(s, 'utf8')),
    string_sha256: sha256(s),
    list_len: intStr(l.length),
    list_sum: intStr(bigSum(l)),
  };
  out.returned = {
    size_s: norm(rec.get('slen')),
    string_sha256: typeof rs === 'string' ? sha256(rs) : null,
    string_equal: rs === s,
    size_l: norm(rec.get('llen')),
    list_equal: listEqual,
    list_sum_client: Array.isArray(rl) ? intStr(bigSum(rl)) : null,
    list_sum_server: norm(rec.get('lsum')),
  };
  check(rs === s && listEqual, 'large parameters echoed unchanged');
}

function paramValues() {
  // Same names and values as param_values() in scenarios.py.
  const bytes = new Int8Array(256);
  for (let i = 0; i < 256; i++) bytes[i] = (i << 24) >> 24;
  return [
    ['null', null],
    ['bool_true', true],
    ['bool_false', false],
    ['int_zero', I(0)],
    ['int_max', neo4j.int('9223372036854775807')],
    ['int_min', neo4j.int('-9223372036854775808')],
    ['int_neg_max', neo4j.int('-9223372036854775807')],
    [
      'int_boundaries',
      [-17, -16, 127, 128, -128, -129, 32767, 32768, -32768, -32769, 2147483647, 2147483648, -2147483648, -2147483649].map(I),
    ],
    ['float', 3.141592653589793],
    ['float_nan', NaN],
    ['float_inf', Infinity],
    ['float_ninf', -Infinity],
    ['float_negzero', -0],
    ['float_tiny', 5e-324],
    ['float_max', 1.7976931348623157e308],
    ['string_empty', ''],
    ['string_unicode', 'h\u00e9llo \u2713 \u{1F600} \u4e2d\u6587 "q" \\ \n\t nul:\u0000'],
    ['bytes_empty', new Int8Array(0)],
    ['bytes', bytes],
    ['list_empty', []],
    ['list_mixed', [I(1), 'a', null, 2.5, true]],
    ['map_empty', {}],
    ['map', { a: I(1), b: 'x', c: null, d: [I(1), I(2)] }],
    ['nested', { l: [{ m: [I(1), [I(2), { n: null }]] }, []], e: { f: { g: [true, 1.5] } } }],
    ['date', new T.Date(2024, 2, 29)],
    ['time_offset', new T.Time(12, 34, 56, 123456789, 7200)],
    ['local_time', new T.LocalTime(1, 2, 3, 4)],
    ['datetime_offset', new T.DateTime(2024, 1, 2, 3, 4, 5, 6, -19800)],
    ['datetime_zone', new T.DateTime(2024, 7, 1, 12, 0, 0, 1000, undefined, 'Europe/Berlin')],
    ['datetime_zone_winter', new T.DateTime(2024, 1, 15, 8, 30, 0, 0, undefined, 'Europe/Berlin')],
    ['local_datetime', new T.LocalDateTime(2024, 1, 2, 3, 4, 5, 999999999)],
    ['duration', new T.Duration(14, 3, 7, 5)],
    ['point_cartesian_2d', new T.Point(7203, 1.5, -2.5)],
    ['point_wgs84_2d', new T.Point(4326, 13.4, 52.5)],
    ['point_cartesian_3d', new T.Point(9157, 1.0, 2.0, 3.0)],
    ['point_wgs84_3d', new T.Point(4979, 13.4, 52.5, 100.0)],
  ];
}

const CYPHER_VALUES = [
  ['int_max', 'RETURN 9223372036854775807 AS v'],
  ['int_min', 'RETURN -9223372036854775807 - 1 AS v'],
  ['int_overflow', 'RETURN 9223372036854775807 + 1 AS v'],
  ['int_div_zero', 'RETURN 1 / 0 AS v'],
  ['float_nan', 'RETURN 0.0 / 0.0 AS v'],
  ['float_inf', 'RETURN 1.0 / 0.0 AS v'],
  ['float_negzero', 'RETURN -0.0 AS v'],
  ['string_unicode', "RETURN 'h\u00e9llo \u2713 \u{1F600}' AS v"],
  ['list', "RETURN [1, 'a', null, 2.5, [true]] AS v"],
  ['map', 'RETURN {a: 1, b: {c: [1, 2]}} AS v'],
  ['date', "RETURN date('2024-02-29') AS v"],
  ['time_offset', "RETURN time('12:34:56.123456789+02:00') AS v"],
  ['local_time', "RETURN localtime('01:02:03.000000004') AS v"],
  ['datetime_offset', "RETURN datetime('2024-01-02T03:04:05.000000006-05:30') AS v"],
  ['datetime_zone', "RETURN datetime('2024-07-01T12:00:00.000001[Europe/Berlin]') AS v"],
  [
    'datetime_zone_map',
    "RETURN datetime({year: 2024, month: 1, day: 15, hour: 8, minute: 30, timezone: 'Europe/Berlin'}) AS v",
  ],
  ['local_datetime', "RETURN localdatetime('2024-01-02T03:04:05.999999999') AS v"],
  ['duration', "RETURN duration('P1Y2M3DT7.000000005S') AS v"],
  ['duration_between', "RETURN duration.between(date('2024-01-01'), date('2024-03-15')) AS v"],
  ['point_cartesian_2d', 'RETURN point({x: 1.5, y: -2.5}) AS v'],
  ['point_wgs84_2d', 'RETURN point({longitude: 13.4, latitude: 52.5}) AS v'],
  ['point_cartesian_3d', 'RETURN point({x: 1.0, y: 2.0, z: 3.0}) AS v'],
  ['point_wgs84_3d', 'RETURN point({longitude: 13.4, latitude: 52.5, height: 100.0}) AS v'],
  ['distance', 'RETURN point.distance(point({x: 0.0, y: 0.0}), point({x: 3.0, y: 4.0})) AS v'],
];

async function scValueTypes(ctx, out) {
  const values = paramValues();
  await withSession(ctx, {}, async (s) => {
    const one = async (q, p) => single((await s.run(q, p)).records);
    for (const [name, v] of values) {
      try {
        out['param/' + name] = norm((await one('RETURN $v AS v', { v })).get('v'));
      } catch (e) {
        out['param/' + name] = subError(e);
      }
    }
    for (const [name, q] of CYPHER_VALUES) {
      try {
        out['cypher/' + name] = norm((await one(q)).get('v'));
      } catch (e) {
        out['cypher/' + name] = subError(e);
      }
    }
    for (const [name, v] of values) {
      try {
        await s.run('CREATE (n:BwValue {run: $run, name: $name, v: $v})', { run: ctx.run, name, v });
        const rec = await one('MATCH (n:BwValue {run: $run, name: $name}) RETURN n.v AS v', { run: ctx.run, name });
        out['property/' + name] = norm(rec.get('v'));
      } catch (e) {
        out['property/' + name] = subError(e);
      }
    }
    try {
      await s.run(
        "CREATE (a:BwVtA:BwVtStart {run: $run, name: 'a', n: 1})" +
          "-[:BW_VT_REL {run: $run, w: 2.5}]->(b:BwVtB {run: $run, name: 'b', tags: ['x', 'y']})" +
          "<-[:BW_VT_BACK {run: $run}]-(c:BwVtC {run: $run, name: 'c'})",
        { run: ctx.run },
      );
      const rec = await one('MATCH p = (a:BwVtA)-[r:BW_VT_REL]->(b) WHERE a.run = $run RETURN a, r, b, p', {
        run: ctx.run,
      });
      out['graph/one_hop'] = Object.fromEntries(['a', 'r', 'b', 'p'].map((k) => [k, norm(rec.get(k))]));
    } catch (e) {
      out['graph/one_hop'] = subError(e);
    }
    try {
      const rec = await one(
        'MATCH p = (a:BwVtA)-[:BW_VT_REL]->(b)<-[:BW_VT_BACK]-(c) WHERE a.run = $run ' +
          'RETURN p, length(p) AS len, [n IN nodes(p) | n.name] AS names, ' +
          '[r IN relationships(p) | type(r)] AS types',
        { run: ctx.run },
      );
      out['graph/two_hop_mixed_direction'] = Object.fromEntries(
        ['p', 'len', 'names', 'types'].map((k) => [k, norm(rec.get(k))]),
      );
    } catch (e) {
      out['graph/two_hop_mixed_direction'] = subError(e);
    }
  });
}

async function scSyntaxErrorRecovery(ctx, out) {
  await withSession(ctx, {}, async (s) => {
    try {
      const res = await s.run('THIS IS NOT CYPHER');
      out.bad_records = recordsOf(res.records);
      out.bad = null;
    } catch (e) {
      out.bad = errInfo(e);
    }
    out.after = norm(single((await s.run('RETURN 1 AS one')).records).get('one'));
    out.after_second = norm(single((await s.run('RETURN $x AS x', { x: 'again' })).records).get('x'));
  });
  check(out.bad !== null, 'the syntax error was reported');
  check(out.after === 'i:1', 'the session recovered');
}

async function scBookmarks(ctx, out) {
  let bms;
  await withSession(ctx, {}, async (a) => {
    await a.run("CREATE (:BwBm {run: $run, how: 'auto'})", { run: ctx.run });
    out.after_auto_commit = bookmarkInfo(await a.lastBookmarks());
    await a.executeWrite((tx) => tx.run("CREATE (:BwBm {run: $run, how: 'managed'})", { run: ctx.run }));
    bms = await a.lastBookmarks();
    out.after_managed_write = bookmarkInfo(bms);
  });
  await withSession(ctx, { bookmarks: bms }, async (b) => {
    const res = await b.executeRead((tx) =>
      tx.run('MATCH (n:BwBm {run: $run}) RETURN n.how AS how ORDER BY how', { run: ctx.run }),
    );
    out.read_with_bookmarks = valuesOf(res.records);
    out.reader_last_bookmarks = bookmarkInfo(await b.lastBookmarks());
  });
  check(
    JSON.stringify(out.read_with_bookmarks) === JSON.stringify([['auto'], ['managed']]),
    'session B sees both writes',
  );
}

async function scTwoDatabases(ctx, out) {
  // A driver (connection pool) of its own; see scenarios.py for why.
  const d = makeDriver(args);
  const sub = { ...ctx, drv: d };
  try {
    for (const [key, db] of [['db1', ctx.db], ['db2', ctx.db2]]) {
      await withSession(sub, { database: db }, (s) =>
        s.run('CREATE (:BwTwoDb {run: $run, where: $w})', { run: ctx.run, w: key }),
      );
    }
    for (const [key, db] of [['db1', ctx.db], ['db2', ctx.db2]]) {
      await withSession(sub, { database: db }, async (s) => {
        const res = await s.run('MATCH (n:BwTwoDb {run: $run}) RETURN n.where AS w ORDER BY w', { run: ctx.run });
        out['read_' + key] = valuesOf(res.records);
      });
      const r = await d.executeQuery(
        'MATCH (n:BwTwoDb {run: $run}) RETURN count(n) AS c',
        { run: ctx.run },
        { database: db },
      );
      out['count_' + key] = norm(r.records[0].get('c'));
    }
    try {
      await withSession(sub, { database: UNKNOWN_DB }, async (s) => {
        out.unknown_db = valuesOf((await s.run('RETURN 1 AS one')).records);
      });
    } catch (e) {
      out.unknown_db = subError(e);
    }
    for (const [key, db] of [['db1', ctx.db], ['db2', ctx.db2]]) {
      const r = await d.executeQuery(
        'MATCH (n:BwTwoDb {run: $run}) RETURN n.where AS w',
        { run: ctx.run },
        { database: db },
      );
      out[key + '_after_unknown'] = r.records.map((x) => norm(x.get('w')));
    }
  } finally {
    await d.close();
  }
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  check(same(out.read_db1, [['db1']]) && same(out.read_db2, [['db2']]), 'databases are isolated');
  check(
    same(out.db1_after_unknown, ['db1']) && same(out.db2_after_unknown, ['db2']),
    'databases are isolated after the unknown-database error',
  );
}

async function scConcurrentSessions(ctx, out) {
  const n = CONCURRENT_SESSIONS;
  const worker = (i) =>
    withSession(ctx, {}, async (s) => {
      await s.run('CREATE (:BwConc {run: $run, i: $i})', { run: ctx.run, i: I(i) });
      const res = await s.run('MATCH (n:BwConc {run: $run, i: $i}) RETURN count(n) AS c', { run: ctx.run, i: I(i) });
      const c = single(res.records).get('c');
      if (c.toNumber() !== 1) throw new CheckFailed(`session ${i} read back ${c} nodes`);
    });
  const settled = await Promise.allSettled(Array.from({ length: n }, (_, i) => worker(i)));
  let ok = 0;
  const errors = {};
  for (const r of settled) {
    if (r.status === 'fulfilled') ok += 1;
    else {
      const info = errInfo(r.reason);
      const key = info.code || info.type;
      errors[key] = (errors[key] || 0) + 1;
    }
  }
  out.sessions = intStr(n);
  out.succeeded = intStr(ok);
  out.errors = Object.fromEntries(Object.entries(errors).sort().map(([k, v]) => [k, intStr(v)]));
  out.total_nodes = norm(await withSession(ctx, {}, (s) => count(s, 'BwConc', ctx.run)));
  check(ok === n, 'every concurrent session succeeded');
}

function portOf(address) {
  const m = /:(\d+)$/.exec(String(address ?? ''));
  return m ? Number(m[1]) : null;
}

async function scRouting(ctx, out) {
  if (!ctx.scheme.startsWith('neo4j')) {
    out.skipped = 'bolt';
    return;
  }
  const uriPort = Number(new URL(args.uri).port || 7687);
  const d = ctx.driver;
  // One routed query: its records, its type, and whether the answering server is the
  // address that was dialled (i.e. the routing table pointed back at it).
  const routed = async (query, routing) => {
    const r = await d.executeQuery(query, { run: ctx.run }, { database: ctx.db, routing });
    return {
      records: recordsOf(r.records),
      query_type: r.summary.queryType,
      server_port_is_uri_port: portOf(r.summary.server.address) === uriPort,
    };
  };
  out.write = await routed('CREATE (n:BwRoute {run: $run}) RETURN count(n) AS c', neo4j.routing.WRITE);
  out.read = await routed('MATCH (n:BwRoute {run: $run}) RETURN count(n) AS c', neo4j.routing.READ);
  out.read_session = await withSession(ctx, { defaultAccessMode: neo4j.session.READ }, async (s) => {
    const res = await s.executeRead((tx) =>
      tx.run('MATCH (n:BwRoute {run: $run}) RETURN count(n) AS c', { run: ctx.run }),
    );
    return norm(single(res.records).get('c'));
  });
  check(JSON.stringify(out.read.records) === JSON.stringify([{ c: 'i:1' }]), 'routed read sees the routed write');
}

const IMPL = {
  auto_commit: scAutoCommit,
  explicit_tx: scExplicitTx,
  execute_query: scExecuteQuery,
  managed_tx_retry: scManagedTxRetry,
  large_result: scLargeResult,
  large_param: scLargeParam,
  value_types: scValueTypes,
  syntax_error_recovery: scSyntaxErrorRecovery,
  bookmarks: scBookmarks,
  two_databases: scTwoDatabases,
  concurrent_sessions: scConcurrentSessions,
  routing: scRouting,
};

// ---------------------------------------------------------------------------

function makeDriver(opts) {
  let uri = opts.uri;
  const config = {
    maxConnectionPoolSize: CONCURRENT_SESSIONS + 14,
    connectionTimeout: 10000,
    connectionAcquisitionTimeout: 30000,
    maxTransactionRetryTime: 15000,
  };
  if (opts['ca-file'] && opts.scheme.endsWith('+s')) {
    const u = new URL(uri);
    uri = opts.scheme.slice(0, -2) + '://' + u.host + u.pathname.replace(/^\/$/, '') + u.search;
    config.encrypted = 'ENCRYPTION_ON';
    config.trust = 'TRUST_CUSTOM_CA_SIGNED_CERTIFICATES';
    config.trustedCertificates = [path.resolve(opts['ca-file'])];
  }
  return neo4j.driver(uri, neo4j.auth.basic(opts.user, opts.password), config);
}

async function main() {
  const fix = makeFixer(args['run-id'], args.uri);
  const driver = makeDriver(args);
  const ctx = { driver, db: args.db, db2: args.db2, run: args['run-id'], scheme: args.scheme };
  try {
    for (const name of args.scenarioList) {
      const out = {};
      const line = { scenario: name, ok: true, result: out, error: null };
      const t0 = process.hrtime.bigint();
      try {
        await IMPL[name](ctx, out);
      } catch (e) {
        line.ok = false;
        line.error = errInfo(e);
      }
      process.stdout.write(JSON.stringify(fix(line)) + '\n');
      // timings go to stderr only, so that two runs' stdout compare equal
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stderr.write(`scenarios.mjs: ${name} ${line.ok ? 'ok' : 'FAILED'} ${secs.toFixed(2)}s\n`);
    }
  } finally {
    try {
      await driver.close();
    } catch (e) {
      /* ignore */
    }
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`scenarios.mjs: internal error: ${(e && e.stack) || e}\n`);
    process.exit(1);
  },
);
