// The server's `\uXXXX` escape pass, written from the Java rules (JLS 3.3), applied to the
// whole query text before lexing.
//
// * A backslash can start an escape only if it is preceded by an even number of contiguous
//   *raw* backslashes (a backslash produced by `\u005c` does not count, and is not re-scanned).
// * The `u` may be repeated: `\uuu0041`.
// * Exactly four hex digits follow (either case).
// * Single pass over the original text: the output of an escape is never scanned again.
// * An eligible backslash followed by `u` but not by four hex digits is a *malformed* escape
//   (javac: "illegal unicode escape"). The text is then passed through unchanged at that
//   point and `malformed` records where it happened.
//
// Returns { text, changed, malformed: [origOffsets], multiU: [origOffsets], toOrig } where
// toOrig[i] is the offset in the original text of the unit that produced text[i]
// (toOrig[text.length] === original.length).

const isHex = (c) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

export function escapePass(src) {
  const n = src.length;
  let out = '';
  const toOrig = new Int32Array(n + 1);
  let o = 0;
  let run = 0; // contiguous raw backslashes immediately before position i
  const malformed = [];
  const multiU = []; // escapes written with more than one u (\uu0041)
  let changed = false;
  let chunkStart = 0; // start of a pending run of copied chars (for speed)
  let i = 0;
  const flush = (end) => {
    if (end > chunkStart) {
      out += src.slice(chunkStart, end);
      for (let k = chunkStart; k < end; k++) toOrig[o++] = k;
    }
  };
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 92 /* \ */) {
      if (run % 2 === 0 && src.charCodeAt(i + 1) === 117 /* u */) {
        let j = i + 1;
        while (src.charCodeAt(j) === 117) j++;
        if (
          j + 4 <= n &&
          isHex(src.charCodeAt(j)) &&
          isHex(src.charCodeAt(j + 1)) &&
          isHex(src.charCodeAt(j + 2)) &&
          isHex(src.charCodeAt(j + 3))
        ) {
          flush(i);
          if (j > i + 2) multiU.push(i);
          out += String.fromCharCode(parseInt(src.slice(j, j + 4), 16));
          toOrig[o++] = i;
          changed = true;
          i = j + 4;
          chunkStart = i;
          run = 0;
          continue;
        }
        malformed.push(i);
      }
      run++;
      i++;
      continue;
    }
    run = 0;
    i++;
  }
  flush(n);
  toOrig[o] = n;
  return { text: out, changed, malformed, multiU, toOrig: toOrig.subarray(0, o + 1) };
}

// Inverse direction for the generator: escape one UTF-16 unit as \u+XXXX.
export function escapeUnit(code, us = 1, upperHex = null, rnd = null) {
  let hex = code.toString(16).padStart(4, '0');
  if (rnd) {
    hex = [...hex].map((h) => (rnd() < 0.5 ? h.toUpperCase() : h)).join('');
  } else if (upperHex) hex = hex.toUpperCase();
  return '\\' + 'u'.repeat(us) + hex;
}
