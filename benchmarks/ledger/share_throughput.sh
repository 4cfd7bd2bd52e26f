#!/usr/bin/env bash
# Validated shares per second through a real `otedama-host serve` with the ledger ON DISK, measured with
# tools/loadgen (issue 7: group commit). Runs each host binary given RUNS times, alternating, each against a
# fresh ledger, and prints every run and the median of answered/s and accepted/s.
#
#   benchmarks/ledger/share_throughput.sh [RUNS] HOST_BINARY [HOST_BINARY...]
#   e.g. benchmarks/ledger/share_throughput.sh 3 /tmp/base/otedama-host build/core/otedama-host
#
# Environment: LOADGEN (default build/tools/loadgen/otedama-loadgen), DIR (default a new directory under
# /var/tmp: disk, not tmpfs), PORT (3399), DURATION (8), CONNECTIONS (200). The configuration is the one in
# tools/loadgen/README.md (share difficulty 1e-9, devnet blocks at 1e-4, no vardiff, no bans).
set -euo pipefail
runs=${1:?usage: $0 RUNS HOST_BINARY...}; shift
loadgen=${LOADGEN:-build/tools/loadgen/otedama-loadgen}
port=${PORT:-3399}
duration=${DURATION:-8}
connections=${CONNECTIONS:-200}
dir=${DIR:-$(mktemp -d /var/tmp/otedama-ledger-bench-XXXXXX)}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A answered accepted
for ((r = 1; r <= runs; r++)); do
  for host in "$@"; do
    rm -rf "$dir/run" && mkdir -p "$dir/run"
    cat > "$dir/run/otedama.yaml" <<YAML
mining: {enable_cpu: false}
storage: {path: $dir/run/ledger.db}
devnet: {difficulty: 0.0001, block_time: 0, refresh: 10m}
plugins:
  settings:
    org.otedama.transport.stratum-server:
      per_ip_limit: 0
      max_connections: 100000
      ban: {enabled: false}
      ports:
        - {address: 127.0.0.1:$port, algorithm: sha256d, difficulty: 0.000000001, vardiff: {enabled: false}}
YAML
    "$host" serve --config "$dir/run/otedama.yaml" > "$dir/run/host.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do grep -q "serving:" "$dir/run/host.log" 2>/dev/null && break; sleep 0.1; done
    out=$("$loadgen" --port "$port" --connections "$connections" --sources 2 --threads 1 --window 16 \
          --rate 1000000 --duration "$duration" --json || true)
    kill -TERM "$pid"; wait "$pid" || true
    a=$(sed -n 's/.*"answered_per_second":\([0-9.]*\).*/\1/p' <<<"$out")
    c=$(sed -n 's/.*"accepted_per_second":\([0-9.]*\).*/\1/p' <<<"$out")
    rows=$(sqlite3 "$dir/run/ledger.db" "SELECT COUNT(*) FROM shares" 2>/dev/null || echo "?")
    echo "run $r $host: answered/s $a accepted/s $c (ledger rows $rows)"
    answered[$host]+="$a "
    accepted[$host]+="$c "
  done
done
for host in "$@"; do
  echo "median $host: answered/s $(tr ' ' '\n' <<<"${answered[$host]}" | grep . | median)" \
       "accepted/s $(tr ' ' '\n' <<<"${accepted[$host]}" | grep . | median)"
done
rm -rf "$dir"
