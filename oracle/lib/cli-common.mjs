// --analyze modes shared by generate.mjs and judge-cli.mjs.
//   full       analyzeQuery under both versions + escape agreement check (every statement)
//   effective  analyzeQuery under the effective version + escape agreement check
//   sample:R   'full' on a deterministic fraction R of the statements (by index), and no
//              analyzeQuery at all on the others (validity 'unchecked', structure only)
//   none       structure only (ANTLR), validity 'unchecked'
export function parseAnalyze(s) {
  if (s === 'full' || s === 'effective' || s === 'none') return { mode: s };
  const m = /^sample:(0(?:\.\d+)?|1(?:\.0+)?)$/.exec(s);
  if (m) return { mode: 'sample', rate: Number(m[1]) };
  throw new Error(`--analyze: expected full|effective|sample:R|none, got ${s}`);
}

// deterministic per-index hash in [0,1)
function unit(seed, i) {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d); h ^= h >>> 15; h = Math.imul(h, 0x846ca68b); h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

export function optsFor(spec, seed, i) {
  if (spec.mode === 'full') return { versions: 'both', escapeCheck: true };
  if (spec.mode === 'effective') return { versions: 'effective', escapeCheck: true };
  if (spec.mode === 'none') return { versions: 'none', escapeCheck: false };
  return unit(seed, i) < spec.rate ? { versions: 'both', escapeCheck: true } : { versions: 'none', escapeCheck: false };
}
