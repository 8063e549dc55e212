// Loader for Neo4j's front end (parser + semantic analysis, Java compiled to JS by TeaVM).
//
// Speed patch (default on; ORACLE_NO_PATCH=1 disables it): the compiled code runs Neo4j's
// assertion-only post-condition checks between compilation phases ("Conditions started
// failing after running these phases: …", guarded in Java by the assertions-enabled flag).
// A production server runs with assertions off, so the oracle loads a copy of the module
// with that flag forced off. This changes no diagnostics for any user-level error (the
// check can only throw an internal error); it removes about a third of the run time.
// The patched copy is written to a cache dir next to this file (oracle/.cache/, gitignored).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { SEMANTIC_ANALYSIS } from './paths.mjs';

const FLAG_FROM = 'Isc=()=>{EFo=0;Kt=Bwx();}';
const FLAG_TO = 'Isc=()=>{EFo=0;Kt=0;}';

async function load() {
  if (process.env.ORACLE_NO_PATCH === '1') {
    return { mod: await import(pathToFileURL(SEMANTIC_ANALYSIS).href), patched: false };
  }
  const src = fs.readFileSync(SEMANTIC_ANALYSIS, 'utf8');
  if (src.split(FLAG_FROM).length !== 2) {
    return { mod: await import(pathToFileURL(SEMANTIC_ANALYSIS).href), patched: false };
  }
  const hash = crypto.createHash('sha256').update(src).digest('hex').slice(0, 16);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.cache');
  const file = path.join(dir, `semanticAnalysis.noassert.${hash}.mjs`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    fs.writeFileSync(tmp, src.replace(FLAG_FROM, FLAG_TO));
    fs.renameSync(tmp, file);
  }
  return { mod: await import(pathToFileURL(file).href), patched: true };
}

const { mod, patched } = await load();
export const ANALYZER_PATCHED = patched;
const analyzeQueryRaw = mod.analyzeQuery;

export const VERSIONS = ['CYPHER 5', 'CYPHER 25'];

// Returns { messages: [string], offsets: [int], notifications: [string], threw: string|null }.
// analyzeQuery takes the statement WITHOUT preparser options (it rejects a leading
// CYPHER/EXPLAIN/PROFILE) and a mandatory version; it never terminates on '' (guarded here).
export function analyze(stmt, version) {
  if (stmt.length === 0) {
    return { messages: ['(oracle) empty statement'], offsets: [0], notifications: [], threw: null, empty: true };
  }
  try {
    const r = analyzeQueryRaw(stmt, version);
    // analyzeQuery's error order depends on the process's history (hash order), so sort by
    // position then message to make verdicts reproducible.
    const errs = Array.from(r.errors).sort((a, b) =>
      a.startPosition.offset - b.startPosition.offset || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
    return {
      messages: errs.map((e) => e.message),
      offsets: errs.map((e) => e.startPosition.offset),
      notifications: Array.from(r.notifications).map((e) => e.message),
      threw: null,
    };
  } catch (e) {
    return { messages: [], offsets: [], notifications: [], threw: String(e && e.message) };
  }
}
