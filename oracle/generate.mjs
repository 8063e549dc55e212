#!/usr/bin/env node
// Seeded generator of (obfuscated) Cypher statements, each judged by the oracle.
//   node oracle/generate.mjs --count N --seed S [--out FILE] [--workers W]
//        [--analyze full|effective|sample:R|none] [--timeout MS] [--quiet]
// Output: JSON lines {"q": text, "i": index, "seed": S, "gen_kind", "gen_level", ...judge fields}.
// The statement text depends only on (seed, index); so does every verdict.
import fs from 'node:fs';
import { makeStatement } from './lib/gen.mjs';
import { JudgePool, timeoutVerdict } from './lib/pool.mjs';
import { parseAnalyze, optsFor } from './lib/cli-common.mjs';

function parseArgs(argv) {
  const a = { count: 100, seed: 1, out: null, workers: 2, analyze: 'sample:0.01', timeout: 60000, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--count') a.count = Number(v());
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--out') a.out = v();
    else if (k === '--workers') a.workers = Number(v());
    else if (k === '--analyze') a.analyze = v();
    else if (k === '--timeout') a.timeout = Number(v());
    else if (k === '--quiet') a.quiet = true;
    else if (k === '--help' || k === '-h') {
      console.log('usage: node oracle/generate.mjs --count N --seed S [--out FILE] [--workers W] [--analyze full|effective|sample:R|none] [--timeout MS] [--quiet]');
      process.exit(0);
    } else { console.error('unknown argument ' + k); process.exit(2); }
  }
  if (!Number.isInteger(a.count) || a.count < 0) throw new Error('--count must be a non-negative integer');
  if (!Number.isInteger(a.seed)) throw new Error('--seed must be an integer');
  a.analyzeSpec = parseAnalyze(a.analyze);
  return a;
}

const args = parseArgs(process.argv.slice(2));
const out = args.out ? fs.createWriteStream(args.out) : process.stdout;
const t0 = Date.now();
const stats = { n: 0, accepted: 0, rejected: 0, undecided: 0, unchecked: 0, write: 0, escape_checked: 0, escape_disagree: 0, parse_errors: 0, timeouts: 0 };

async function run() {
  const inline = args.workers === 0;
  const pool = inline ? null : new JudgePool({ workers: args.workers, timeoutMs: args.timeout });
  const judgeInline = inline ? (await import('./judge.mjs')).judge : null;
  const pending = new Map();
  let nextToWrite = 0;
  const window = Math.max(8, args.workers * 16);

  const write = (rec) => {
    const ok = out.write(JSON.stringify(rec) + '\n');
    return ok ? null : new Promise((r) => out.once('drain', r));
  };
  const account = (v) => {
    stats.n++;
    stats[v.validity === 'unchecked' ? 'unchecked' : v.validity]++;
    if (v.update || v.schema || v.admin) stats.write++;
    if (v.escape_agrees !== null) { stats.escape_checked++; if (v.escape_agrees === false) stats.escape_disagree++; }
    if (v.parse_errors) stats.parse_errors++;
  };

  for (let i = 0; i < args.count || pending.size; ) {
    while (i < args.count && pending.size < window) {
      const s = makeStatement(args.seed, i);
      const opts = optsFor(args.analyzeSpec, args.seed, i);
      const idx = i;
      const p = inline
        ? Promise.resolve(judgeInline(s.q, opts))
        : pool.judge(s.q, opts).then(async (v) => {
          if (v && v.timeout) { stats.timeouts++; return timeoutVerdict(s.q, args.timeout); }
          return v;
        });
      pending.set(idx, p.then((v) => ({ q: s.q, i: idx, seed: args.seed, gen_kind: s.kind, gen_level: s.level, ...v })));
      i++;
    }
    if (pending.has(nextToWrite)) {
      const rec = await pending.get(nextToWrite);
      pending.delete(nextToWrite);
      nextToWrite++;
      account(rec);
      const d = write(rec);
      if (d) await d;
      if (!args.quiet && stats.n % 1000 === 0) {
        const el = (Date.now() - t0) / 1000;
        process.stderr.write(`${stats.n} statements, ${el.toFixed(1)} s, ${(stats.n / el).toFixed(1)}/s\n`);
      }
    }
  }
  if (pool) await pool.close();
  if (args.out) await new Promise((r) => out.end(r));
  const el = (Date.now() - t0) / 1000;
  if (!args.quiet) {
    process.stderr.write(`done: ${JSON.stringify(stats)} in ${el.toFixed(1)} s (${(stats.n / el).toFixed(1)} statements/s, analyze=${args.analyze}, workers=${args.workers})\n`);
  }
}

run().catch((e) => { console.error(e); process.exit(1); });
