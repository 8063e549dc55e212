// The JavaScript twin of statements.py: runs Cypher statements in one session and prints
// what each one did, one JSON object per statement:
//   {"ok": true, "records": [[value, ...], ...]}
//   {"ok": false, "code": "...", "message": "...", "gql_status": "..."}
// Integers are printed as strings (no precision lost).
//
//   node statements.mjs --driver neo4j-driver-6 --uri URI [--user root] [--password PW]
//       [--agent UA] [--db DB] [--params JSON] STATEMENT...
//
// The password defaults to $PW; whole numbers in --params are sent as integers. A server's
// refusal is data (exit 0); a driver that cannot connect exits 1.

import { loadDriver, parseOptions, run } from './driver.mjs';

const { options, rest } = parseOptions(process.argv.slice(2));
const neo4j = loadDriver(options.driver, 'statements.mjs');

function param(v) {
  return Number.isInteger(v) ? neo4j.int(v) : v;
}

function value(v) {
  return neo4j.isInt(v) ? v.toString() : v;
}

run(async () => {
  const params = Object.fromEntries(
    Object.entries(JSON.parse(options.params || '{}')).map(([k, v]) => [k, param(v)]),
  );
  const config = options.agent ? { userAgent: options.agent } : {};
  const d = neo4j.driver(options.uri, neo4j.auth.basic(options.user || 'root', options.password || process.env.PW || ''), config);
  const s = d.session(options.db ? { database: options.db } : {});
  try {
    for (const q of rest) {
      let out;
      try {
        const r = await s.run(q, params);
        out = { ok: true, records: r.records.map((rec) => rec.keys.map((k) => value(rec.get(k)))) };
      } catch (e) {
        if (!e.code || e.code === 'ServiceUnavailable' || e.code === 'SessionExpired') throw e;
        out = { ok: false, code: e.code, message: e.message, gql_status: e.gqlStatus ?? null };
      }
      console.log(JSON.stringify(out));
    }
  } finally {
    await s.close();
    await d.close();
  }
});
