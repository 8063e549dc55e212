#!/usr/bin/env bash
# Snapshot and restore of a generated graph (NODES nodes, NODES relationships, mixed
# property types) through boltward, against a plain Python export/import script on the
# same data and server, in one run. Also measures the write pause a client sees while a
# snapshot runs. Prints a markdown table.
#
#   scripts/bench-snapshot.sh [NODES]        (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."

nodes="${1:-100000}"
password="bench-password"
work="$(mktemp -d)"

scripts/setup-testenv.sh >&2
cargo build --release --locked --bin boltward >&2
py=.testenv/py6/bin/python

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    scripts/arcadedb.sh stop --dir "$work/db" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

scripts/arcadedb.sh start --dir "$work/db" --port 0 --password "$password" \
    --database src --database dst --database py --database pyrow \
    --heap 3g --full-jit --watch-pid $$ > "$work/db.env"
# shellcheck disable=SC1091
. "$work/db.env"
server="127.0.0.1:$BOLT_PORT"

echo "generating $nodes nodes and $nodes relationships" >&2
$py scripts/bench/gen_graph.py "$server" "$password" "$nodes" src

env BOLTWARD_LOG=warn BOLTWARD_CONTROL_ADDR=127.0.0.1:0 BOLTWARD_CONTROL_TOKEN=bench \
    BOLTWARD_SNAPSHOT_USER=root BOLTWARD_SNAPSHOT_PASSWORD="$password" \
    BOLTWARD_SNAPSHOT_DATABASE=src BOLTWARD_SNAPSHOT_DIR="$work/snapshots" \
    BOLTWARD_RESTORE_STATE_FILE="$work/restore.json" BOLTWARD_JOURNAL_DIR="$work/journal" \
    target/release/boltward serve --listen 127.0.0.1:0 --upstream "$server" \
    > "$work/bw.out" 2> "$work/bw.err" &
pids+=($!)
for _ in $(seq 100); do grep -q BOLTWARD_LISTEN "$work/bw.out" && break; sleep 0.1; done
listen="$(sed -n 's/BOLTWARD_LISTEN=//p' "$work/bw.out")"
export BOLTWARD_CONTROL_ADDR="$(sed -n 's/BOLTWARD_CONTROL=//p' "$work/bw.out")" BOLTWARD_CONTROL_TOKEN=bench

# A client writing through boltward during the snapshot: its write latencies.
$py - "$listen" "$password" "$work/stop" > "$work/writer.out" <<'PY' &
import os, sys, time, neo4j
with neo4j.GraphDatabase.driver(f"bolt://{sys.argv[1]}", auth=("root", sys.argv[2])) as d, d.session(database="pyrow") as s:
    lat = []
    while not os.path.exists(sys.argv[3]):
        t = time.perf_counter()
        s.run("CREATE (:Tick)").consume()
        lat.append(time.perf_counter() - t)
    lat.sort()
    print(f"{lat[len(lat)//2]*1e3:.2f} {lat[-1]*1e3:.2f} {len(lat)}")
PY
writer=$!
sleep 2
t0=$(date +%s.%N)
target/release/boltward snapshot create --json --timeout 3600 > "$work/manifest.json"
t1=$(date +%s.%N)
sleep 1
touch "$work/stop"
wait "$writer"
id=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/manifest.json")
t2=$(date +%s.%N)
target/release/boltward restore start "$id" --target "bolt://$server" --database dst --force --wait --json > "$work/restore.json.out" || { cat "$work/restore.json.out" >&2; exit 1; }
t3=$(date +%s.%N)
state=$($py -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["state"], s["restore"]["validation"]["fingerprint"] == s["restore"]["validation"]["expected_fingerprint"])' "$work/restore.json.out")

read -r py_export_s py_entities < <($py scripts/bench/graph_export_import.py export "bolt://$server" src "$work/export.jsonl" "$password")
read -r py_import_s _ < <($py scripts/bench/graph_export_import.py import "bolt://$server" py "$work/export.jsonl" "$password")

read -r wp50 wmax wn < "$work/writer.out"
$py - "$work/manifest.json" "$t0" "$t1" "$t2" "$t3" "$py_export_s" "$py_import_s" "$py_entities" "$work/export.jsonl" "$state" "$wp50" "$wmax" "$wn" "$work/snapshots" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
t0, t1, t2, t3, pe, pi = map(float, sys.argv[2:8])
ents, jsonl, state = int(sys.argv[8]), sys.argv[9], sys.argv[10]
wp50, wmax, wn = sys.argv[11], sys.argv[12], sys.argv[13]
n = m["counts"]["nodes"] + m["counts"]["relationships"]
snap, rest = t1 - t0, t3 - t2
print(f"graph: {m['counts']['nodes']:,} nodes, {m['counts']['relationships']:,} relationships (ArcadeDB {m['source']['agent']})\n")
print("| | seconds | entities/s | file | vs script |")
print("|---|---|---|---|---|")
print(f"| boltward snapshot (CLI, incl. verify-ready manifest) | {snap:.1f} | {n/snap:,.0f} | {m['data']['bytes']/1e6:.1f} MB gzip | {pe/snap:.1f}x |")
print(f"| Python export script (JSON lines) | {pe:.1f} | {ents/pe:,.0f} | {os.path.getsize(jsonl)/1e6:.1f} MB | 1x |")
print(f"| boltward restore (load + validation: read-back, fingerprint, probes) | {rest:.1f} | {n/rest:,.0f} | | {pi/rest:.1f}x |")
print(f"| Python import script (UNWIND batches of 1000) | {pi:.1f} | {ents/pi:,.0f} | | 1x |")
print(f"\nrestore state: {state}")
print(f"writes held by the snapshot barrier: {m['timings']['write_pause_ms']:.0f} ms (snapshot total {m['timings']['duration_ms']:.0f} ms)")
print(f"a client writing through boltward during the snapshot: p50 {wp50} ms, max {wmax} ms over {wn} writes")
PY
