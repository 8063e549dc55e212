#!/usr/bin/env node
// Judge statements: JSON lines {"q": "..."} on stdin (or --in FILE) -> one JSON verdict line per
// input line, same order: {"q": ..., ...judge fields}. Extra input fields are kept.
//   node oracle/judge-cli.mjs [--in FILE] [--out FILE] [--workers W]
//        [--analyze full|effective|sample:R|none] [--timeout MS]
// A line that is not a JSON object with a string "q" gives {"line": n, "error": "..."}.
import fs from 'node:fs';
import readline from 'node:readline';
import { JudgePool, timeoutVerdict } from './lib/pool.mjs';
import { parseAnalyze, optsFor } from './lib/cli-common.mjs';

const a = { in: null, out: null, workers: 2, analyze: 'full', timeout: 60000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i];
  const v = () => argv[++i];
  if (k === '--in') a.in = v();
  else if (k === '--out') a.out = v();
  else if (k === '--workers') a.workers = Number(v());
  else if (k === '--analyze') a.analyze = v();
  else if (k === '--timeout') a.timeout = Number(v());
  else if (k === '--help' || k === '-h') {
    console.log('usage: node oracle/judge-cli.mjs [--in FILE] [--out FILE] [--workers W] [--analyze full|effective|sample:R|none] [--timeout MS] < statements.jsonl');
    process.exit(0);
  } else { console.error('unknown argument ' + k); process.exit(2); }
}
const spec = parseAnalyze(a.analyze);
const input = a.in ? fs.createReadStream(a.in) : process.stdin;
const out = a.out ? fs.createWriteStream(a.out) : process.stdout;

const inline = a.workers === 0;
const pool = inline ? null : new JudgePool({ workers: a.workers, timeoutMs: a.timeout });
const judgeInline = inline ? (await import('./judge.mjs')).judge : null;

const results = new Map();
let next = 0;
let n = 0;
let lineNo = 0;
const flush = async () => {
  while (results.has(next)) {
    const rec = await results.get(next);
    results.delete(next);
    next++;
    if (!out.write(JSON.stringify(rec) + '\n')) await new Promise((r) => out.once('drain', r));
  }
};

const rl = readline.createInterface({ input, crlfDelay: Infinity });
for await (const line of rl) {
  lineNo++;
  if (line.trim() === '') continue;
  const idx = n++;
  let obj;
  try { obj = JSON.parse(line); } catch (e) { obj = null; }
  if (!obj || typeof obj !== 'object' || typeof obj.q !== 'string') {
    results.set(idx, Promise.resolve({ line: lineNo, error: 'expected a JSON object with a string field "q"' }));
  } else {
    const opts = optsFor(spec, 0, idx);
    const p = inline
      ? Promise.resolve(judgeInline(obj.q, opts))
      : pool.judge(obj.q, opts).then((v) => (v && v.timeout ? timeoutVerdict(obj.q, a.timeout) : v));
    results.set(idx, p.then((v) => ({ ...obj, ...v, q: obj.q })));
  }
  if (results.size > Math.max(64, a.workers * 32)) {
    await results.get(next);
    await flush();
  }
}
await Promise.all(results.values());
await flush();
if (pool) await pool.close();
if (a.out) await new Promise((r) => out.end(r));
