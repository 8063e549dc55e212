#!/usr/bin/env bash
# Recovery through boltward on a generated graph (docs/PERFORMANCE.md, "Recovery"): one
# primary and one mirror ArcadeDB server, one boltward mirroring database `src`. In order:
#   1. a snapshot of the primary while a client writes: the write pause it sees;
#   2. the mirror's seed (snapshot of the primary, loaded into the mirror);
#   3. a snapshot read from the mirror while a client writes: the primary's write pause;
#   4. a restore of the snapshot into an empty database: load and validation rates;
#   5. WRITES journaled writes, then a point-in-time restore to the journal's end:
#      replay rate;
#   6. a bootstrap from the mirror into an empty database.
# Prints a markdown table.
#
#   scripts/bench-recovery.sh [NODES] [WRITES]      (defaults 50000 20000)
set -euo pipefail
cd "$(dirname "$0")/.."

nodes="${1:-50000}"
writes="${2:-20000}"
password="bench-password"
work="$(mktemp -d)"

scripts/setup-testenv.sh >&2
cargo build --release --locked --bin boltward >&2
bw=target/release/boltward
py=.testenv/py6/bin/python

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    scripts/arcadedb.sh stop --dir "$work/primary" >/dev/null 2>&1 || true
    scripts/arcadedb.sh stop --dir "$work/mirror" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

scripts/arcadedb.sh start --dir "$work/primary" --port 0 --password "$password" \
    --database src --database dst --database pitr --database boot \
    --heap 3g --full-jit --watch-pid $$ > "$work/primary.env"
# shellcheck disable=SC1091
. "$work/primary.env"
server="127.0.0.1:$BOLT_PORT"
scripts/arcadedb.sh start --dir "$work/mirror" --port 0 --password "$password" \
    --database src --heap 2g --watch-pid $$ > "$work/mirror.env"
# shellcheck disable=SC1091
. "$work/mirror.env"
mirror="127.0.0.1:$BOLT_PORT"

echo "generating $nodes nodes and $nodes relationships" >&2
$py scripts/bench/gen_graph.py "$server" "$password" "$nodes" src

cat > "$work/boltward.toml" <<EOF
[replication]
batch = 1024

[[replication.remote]]
name = "vps"
addr = "$mirror"
user = "root"
database = "src"
EOF
env BOLTWARD_LOG=warn BOLTWARD_CONTROL_ADDR=127.0.0.1:0 BOLTWARD_CONTROL_TOKEN=bench \
    BOLTWARD_SNAPSHOT_USER=root BOLTWARD_SNAPSHOT_PASSWORD="$password" \
    BOLTWARD_REPLICATION_VPS_PASSWORD="$password" \
    BOLTWARD_SNAPSHOT_DATABASE=src BOLTWARD_SNAPSHOT_DIR="$work/snapshots" \
    BOLTWARD_RESTORE_STATE_FILE="$work/restore.json" BOLTWARD_JOURNAL_DIR="$work/journal" \
    $bw serve --config "$work/boltward.toml" --listen 127.0.0.1:0 --upstream "$server" \
    > "$work/bw.out" 2> "$work/bw.err" &
pids+=($!)
for _ in $(seq 100); do grep -q BOLTWARD_LISTEN "$work/bw.out" && break; sleep 0.1; done
listen="$(sed -n 's/BOLTWARD_LISTEN=//p' "$work/bw.out")"
export BOLTWARD_CONTROL_ADDR="$(sed -n 's/BOLTWARD_CONTROL=//p' "$work/bw.out")" BOLTWARD_CONTROL_TOKEN=bench

now() { date +%s.%N; }

# A client writing into `src` through boltward until $1 exists: its write latencies.
writer() {
    $py - "$listen" "$password" "$1" <<'PY'
import os, sys, time, neo4j
with neo4j.GraphDatabase.driver(f"bolt://{sys.argv[1]}", auth=("root", sys.argv[2])) as d, d.session(database="src") as s:
    lat = []
    while not os.path.exists(sys.argv[3]):
        t = time.perf_counter()
        s.run("CREATE (:Tick)").consume()
        lat.append(time.perf_counter() - t)
    lat.sort()
    print(f"{lat[len(lat)//2]*1e3:.2f} {lat[-1]*1e3:.2f} {len(lat)}")
PY
}

# 1. Snapshot of the primary under writes.
writer "$work/stop1" > "$work/w1.out" &
w=$!; sleep 2
t=$(now); $bw snapshot create --source primary --json --timeout 3600 > "$work/m1.json"; snap1=$(echo "$(now) - $t" | bc)
sleep 1; touch "$work/stop1"; wait $w

# 2. The mirror's seed.
t=$(now)
$bw replication reseed vps > /dev/null
for _ in $(seq 36000); do
    $bw replication status --json | $py -c 'import json,sys; r=json.load(sys.stdin)["remotes"][0]; sys.exit(0 if r["state"]=="streaming" and r.get("last_verify",{}).get("equal") else 1)' && break
    sleep 0.1
done
seed=$(echo "$(now) - $t" | bc)

# 3. Snapshot read from the mirror under writes.
writer "$work/stop3" > "$work/w3.out" &
w=$!; sleep 2
t=$(now); $bw snapshot create --source remote:vps --json --timeout 3600 > "$work/m3.json"; snap3=$(echo "$(now) - $t" | bc)
sleep 1; touch "$work/stop3"; wait $w

# 4. Restore of the primary's snapshot into an empty database.
id1=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/m1.json")
t=$(now)
$bw restore start "$id1" --target "bolt://$server" --database dst --force --wait --json --timeout 3600 > "$work/r4.json"
restore=$(echo "$(now) - $t" | bc)
$bw restore cancel > /dev/null

# 5. WRITES journaled writes (auto-commit updates through the index), then a point-in-time
#    restore to the journal's end.
$py - "$listen" "$password" "$writes" "$nodes" <<'PY'
import sys, neo4j
with neo4j.GraphDatabase.driver(f"bolt://{sys.argv[1]}", auth=("root", sys.argv[2])) as d, d.session(database="src") as s:
    n, nodes = int(sys.argv[3]), int(sys.argv[4])
    for k in range(n):
        s.run("MATCH (x:Item {i: $i}) SET x.score = x.score * 7 + $k", i=(k * 13) % nodes, k=k).consume()
PY
lsn=$(curl -s -H "Authorization: Bearer bench" "http://$BOLTWARD_CONTROL_ADDR/metrics" | sed -n 's/^boltward_journal_lsn //p')
t=$(now)
$bw restore start --until "$lsn" --target "bolt://$server" --database pitr --force --wait --json --timeout 3600 > "$work/r5.json"
pitr=$(echo "$(now) - $t" | bc)
$bw restore cancel > /dev/null

# 6. Bootstrap from the mirror into an empty database.
t=$(now)
$bw restore start --from-remote vps --target "bolt://$server" --database boot --force --wait --json --timeout 3600 > "$work/r6.json"
boot=$(echo "$(now) - $t" | bc)

$py - "$work" "$snap1" "$seed" "$snap3" "$restore" "$pitr" "$boot" <<'PY'
import json, sys
from datetime import datetime
work = sys.argv[1]
snap1, seed, snap3, restore, pitr, boot = map(float, sys.argv[2:8])
m1, m3 = json.load(open(f"{work}/m1.json")), json.load(open(f"{work}/m3.json"))
w1, w3 = open(f"{work}/w1.out").read().split(), open(f"{work}/w3.out").read().split()
def phases(path):
    s = json.load(open(path))
    assert s["state"] == "SUCCEEDED", s
    at = {h["to"]: datetime.fromisoformat(h["at"].replace("Z", "+00:00")[:26] + "+00:00") for h in s["history"]}
    return s, (at["VALIDATING"] - at["RECOVERING"]).total_seconds(), (at["SUCCEEDED"] - at["VALIDATING"]).total_seconds()
r4, load4, val4 = phases(f"{work}/r4.json")
r5, load5, val5 = phases(f"{work}/r5.json")
r6, load6, val6 = phases(f"{work}/r6.json")
n = m1["counts"]["nodes"] + m1["counts"]["relationships"]
rep = r5["restore"]["validation"]["replay"]
print(f"graph: {m1['counts']['nodes']:,} nodes, {m1['counts']['relationships']:,} relationships\n")
print("| step | seconds | rate | primary's writes held | a client writing meanwhile: p50 / max |")
print("|---|---|---|---|---|")
print(f"| snapshot of the primary | {snap1:.1f} | {n/snap1:,.0f} entities/s | {m1['timings']['write_pause_ms']:,.0f} ms | {w1[0]} / {w1[1]} ms ({w1[2]} writes) |")
print(f"| snapshot of the mirror | {snap3:.1f} | {n/snap3:,.0f} entities/s | {m3['timings']['write_pause_ms']:,.0f} ms | {w3[0]} / {w3[1]} ms ({w3[2]} writes) |")
print(f"| mirror seed (snapshot + load into the mirror + verify) | {seed:.1f} | {n/seed:,.0f} entities/s | | |")
print(f"| restore: load | {load4:.1f} | {n/load4:,.0f} entities/s | | |")
print(f"| restore: validation (read-back, fingerprint, probes) | {val4:.1f} | {n/val4:,.0f} entities/s | | |")
print(f"| restore total (CLI) | {restore:.1f} | {n/restore:,.0f} entities/s | | |")
print(f"| point-in-time restore: load + check + replay | {load5:.1f} | | | |")
print(f"| of which replay ({rep['transactions']:,} transactions) | {rep['seconds']:.1f} | {rep['transactions']/rep['seconds']:,.0f} tx/s | | |")
print(f"| point-in-time restore total (CLI) | {pitr:.1f} | | | |")
print(f"| bootstrap from the mirror total (CLI; read, load, check, replay, validate) | {boot:.1f} | {n/boot:,.0f} entities/s | | |")
PY
