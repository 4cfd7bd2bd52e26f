#!/usr/bin/env bash
# What monitoring costs in hashrate (issue 8, item 8: under 1 %). Runs `otedama-host serve` on the devnet
# with local CPU mining, RUNS times in each mode, the modes alternated side by side:
#   off  api, monitoring.metrics and monitoring.health disabled;
#   on   all three enabled, and a scraper fetching /metrics every second (plus /livez and /readyz every
#        second, as a Kubernetes probe at an aggressive period would) for the whole run.
# The hashrate is the scheduler's own count: the "device cpu0: N hashes in S s" line it logs when it stops
# (the counter behind otedama_device_hashes_total, complete once every lane has returned). Prints every
# run, then the median of each mode and their ratio.
#
# On a shared or busy machine the hashrate of single runs varies by several per cent, more than what is
# measured; the script also reports a steadier figure: two seconds before the end of each run it reads the
# CPU time of every thread of the host (/proc/PID/task/*/stat) and takes the busiest thread as the mining
# lane (THREADS=1). "other CPU" is everything else per second of run (I/O, strand, event bus, devnet and,
# in mode on, the HTTP servers). The on-off difference of its medians is the CPU monitoring takes, which
# a machine whose every core mines loses from hashing; it is given as a share of one core (mining on N
# cores, the hashrate lost is at most that share divided by N).
#
#   benchmarks/monitoring/overhead.sh [RUNS] [SECONDS]      (defaults: 5 runs of 30 s per mode)
#
# Environment: HOST (default build/core/otedama-host), THREADS (CPU mining threads, default 1),
# DIR (default a new directory under /var/tmp), BASE_PORT (default 39100: metrics BASE, health BASE+1,
# api BASE+2, stratum BASE+3, all on 127.0.0.1). The devnet difficulty is high (1e3) so that blocks, which
# switch jobs, do not happen in a run and both modes hash the same way.
set -euo pipefail
runs=${1:-5}
seconds=${2:-30}
host=${HOST:-build/core/otedama-host}
threads=${THREADS:-1}
base=${BASE_PORT:-39100}
dir=${DIR:-$(mktemp -d /var/tmp/otedama-monitoring-bench-XXXXXX)}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
command -v curl > /dev/null || { echo "curl is needed for the scraper" >&2; exit 2; }

run_one() {  # mode -> prints the hashrate
  local mode=$1 enable=false
  [[ $mode == on ]] && enable=true
  rm -rf "$dir/run" && mkdir -p "$dir/run"
  cat > "$dir/run/otedama.yaml" <<YAML
mining: {enable_cpu: true, cpu: {threads: $threads}}
pool: {address: 127.0.0.1:$((base + 3))}
api: {enable: $enable, address: 127.0.0.1:$((base + 2))}
monitoring:
  metrics: {enable: $enable, address: 127.0.0.1:$base}
  health: {enable: $enable, address: 127.0.0.1:$((base + 1))}
storage: {path: $dir/run/ledger.db}
devnet: {difficulty: 1000, block_time: 0}
YAML
  OTEDAMA_PLUGIN_PATH= "$host" serve --config "$dir/run/otedama.yaml" --run-for "$seconds" > "$dir/run/host.log" 2>&1 &
  local pid=$! scraper=
  if [[ $mode == on ]]; then
    ( while kill -0 "$pid" 2> /dev/null; do
        curl -s -o /dev/null "http://127.0.0.1:$base/metrics" || true
        curl -s -o /dev/null "http://127.0.0.1:$((base + 1))/livez" || true
        curl -s -o /dev/null "http://127.0.0.1:$((base + 1))/readyz" || true
        sleep 1
      done ) &
    scraper=$!
  fi
  sleep $((seconds > 4 ? seconds - 2 : 1))
  local total=0 busiest=0 t
  for stat in /proc/"$pid"/task/*/stat; do
    t=$(sed -E 's/^.*\) //' "$stat" 2> /dev/null | awk '{print $12 + $13}') || continue
    [[ -n $t ]] || continue
    total=$((total + t))
    ((t > busiest)) && busiest=$t
  done
  wait "$pid" || true
  [[ -n $scraper ]] && wait "$scraper" 2> /dev/null || true
  local line
  line=$(grep -o 'device cpu0: [0-9]* hashes in [0-9.]* s ([0-9]* H/s)' "$dir/run/host.log" | tail -1)
  [[ -n $line ]] || { echo "no hash summary in $dir/run/host.log" >&2; tail -20 "$dir/run/host.log" >&2; exit 1; }
  if [[ $mode == on ]] && ! grep -q 'metrics: serving /metrics' "$dir/run/host.log"; then
    echo "mode on but the metrics server did not start (port $base taken?)" >&2; exit 1
  fi
  local hz
  hz=$(getconf CLK_TCK)
  # hashrate, other CPU (ms per second of run), mining lane CPU (ms per second of run)
  awk -v h="$(sed -E 's/.*\(([0-9]+) H\/s\).*/\1/' <<< "$line")" -v o=$((total - busiest)) -v l="$busiest" -v hz="$hz" -v s=$((seconds - 2)) \
    'BEGIN { printf "%s %.2f %.1f\n", h, o * 1000 / hz / s, l * 1000 / hz / s }'
}

declare -a off on off_cpu on_cpu lane_cpu
for ((r = 1; r <= runs; r++)); do
  for mode in off on; do
    read -r h other lane < <(run_one $mode)
    echo "run $r $mode: $h H/s, other CPU $other ms/s, mining lane $lane ms/s"
    lane_cpu+=("$lane")
    if [[ $mode == off ]]; then off+=("$h"); off_cpu+=("$other"); else on+=("$h"); on_cpu+=("$other"); fi
  done
done
moff=$(printf '%s\n' "${off[@]}" | median)
mon=$(printf '%s\n' "${on[@]}" | median)
coff=$(printf '%s\n' "${off_cpu[@]}" | median)
con=$(printf '%s\n' "${on_cpu[@]}" | median)
lane=$(printf '%s\n' "${lane_cpu[@]}" | median)
echo "median off: $moff H/s, other CPU $coff ms/s"
echo "median on:  $mon H/s, other CPU $con ms/s"
awk -v a="$moff" -v b="$mon" 'BEGIN { printf "hashrate on/off: %.4f (%.2f %% less with monitoring)\n", b / a, (1 - b / a) * 100 }'
awk -v a="$coff" -v b="$con" 'BEGIN { printf "monitoring CPU: %.1f ms/s = %.2f %% of one core\n", b - a, (b - a) / 10 }'
rm -rf "$dir"
