#!/usr/bin/env python3
"""Compare two outputs of tests/drivers/scenarios.{py,mjs}.

  python compare.py A.jsonl B.jsonl

Reads one JSON object per line ({"scenario", "ok", "result", "error"}), matches
the lines by scenario name and compares them strictly (bool is not int, key sets
must match; an int and a float compare equal when numerically equal, because JS
prints 2.0 as 2). Prints every difference as `scenario: path: A != B`.

One difference is expected, and only in one direction (A = direct, B = through
boltward): ArcadeDB returns no bookmark after an auto-commit transaction, Neo4j does
(Bolt: the final PULL SUCCESS of an auto-commit transaction carries `bookmark`).
boltward commits journaled auto-commit writes itself (docs/journal-format.md, "Order")
and hands the driver the bookmark of that commit, as Neo4j would. So where A has no
bookmark after an auto-commit write, B may have exactly one; nothing else is excused.

Exit status: 0 when equal, 1 on any difference, 2 on a usage or parse error.
"""

import json
import sys


def load(path):
    out = {}
    order = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise SystemExit("compare: %s:%d: not JSON: %s" % (path, n, e)) from None
            if not isinstance(obj, dict) or "scenario" not in obj:
                raise SystemExit("compare: %s:%d: no \"scenario\" key" % (path, n))
            name = obj["scenario"]
            if name in out:
                raise SystemExit("compare: %s:%d: scenario %r appears twice" % (path, n, name))
            out[name] = obj
            order.append(name)
    return out, order


def short(v, limit=200):
    s = json.dumps(v, sort_keys=True, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


def diff(a, b, path, out):
    if isinstance(a, bool) or isinstance(b, bool):
        if type(a) is not type(b) or a != b:
            out.append((path, a, b))
        return
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a != b:
            out.append((path, a, b))
        return
    if type(a) is not type(b):
        out.append((path, a, b))
        return
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            sub = "%s.%s" % (path, k) if path else k
            if k not in a:
                out.append((sub, "<missing>", b[k]))
            elif k not in b:
                out.append((sub, a[k], "<missing>"))
            else:
                diff(a[k], b[k], sub, out)
        return
    if isinstance(a, list):
        if len(a) != len(b):
            out.append((path + "[len]", len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, "%s[%d]" % (path, i), out)
        return
    if a != b:
        out.append((path, a, b))


# (scenario, result key) of a bookmark read right after an auto-commit write.
AUTO_COMMIT_BOOKMARKS = {
    ("auto_commit", "bookmark_after_auto_commit"),
    ("bookmarks", "after_auto_commit"),
}
NO_BOOKMARK = {"present": False, "count": "i:0"}
ONE_BOOKMARK = {"present": True, "count": "i:1"}


def excuse(name, a, b):
    """Drops the expected auto-commit bookmark difference (see the module doc)."""
    for scenario, key in AUTO_COMMIT_BOOKMARKS:
        if name != scenario:
            continue
        ra, rb = a.get("result") or {}, b.get("result") or {}
        if ra.get(key) == NO_BOOKMARK and rb.get(key) == ONE_BOOKMARK:
            rb[key] = NO_BOOKMARK


def main(argv):
    if len(argv) != 2 or argv[0] in ("-h", "--help"):
        print("usage: compare.py A.jsonl B.jsonl", file=sys.stderr)
        return 2
    try:
        (a, order_a), (b, order_b) = load(argv[0]), load(argv[1])
    except OSError as e:
        print("compare: %s" % e, file=sys.stderr)
        return 2
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    names = order_a + [n for n in order_b if n not in a]
    bad = 0
    for name in names:
        if name not in b:
            print("%s: only in %s" % (name, argv[0]))
            bad += 1
            continue
        if name not in a:
            print("%s: only in %s" % (name, argv[1]))
            bad += 1
            continue
        excuse(name, a[name], b[name])
        diffs = []
        diff(a[name], b[name], "", diffs)
        for path, x, y in diffs:
            print("%s: %s: %s != %s" % (name, path or "<top>", short(x), short(y)))
        bad += bool(diffs)
    if bad:
        print("compare: %d of %d scenario(s) differ" % (bad, len(names)))
        return 1
    print("compare: %d scenario(s) identical" % len(names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
