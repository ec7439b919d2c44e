#!/usr/bin/env bash
# Reproduces the benchmark tables of BENCHMARKS.md on this machine, in one sitting.
#
# The gateway under test runs alone on core 0 (`taskset -c 0 acs-gateway serve`, RUST_LOG unset,
# every setting at its default); the stand-ins (`acs-devstack --no-gateway`: dev Entra issuer, ACS
# emulator and the private Postgres it starts) and `acs-loadgen` share core 1. On a fresh stack,
# every scenario of `acs-loadgen` runs in turn (`floor` first, on core 0 while the gateway idles);
# after each one the gateway's resident set (VmRSS) and peak (VmHWM) are read from /proc. The
# result is a Markdown table on stdout; progress and the tools' own reports go to stderr and to the
# work directory (the stack's data directory, Postgres included, is removed when it stops).
#
# Before/after: give `--gateway LABEL=PATH` once per build (e.g. one built from the commit before a
# change); each gets its own fresh stack and table, one after the other, with the same stand-ins
# and load generator. Without it, the gateway built here is measured.
#
# Usage: bench/run.sh [--duration S] [--concurrency N] [--misses N] [--hits N]
#                     [--tenants "10 1000 10000 100000"] [--patch-tenants N] [--gateway LABEL=PATH]...
#                     [--bin DIR] [--no-build] [--work DIR] [--gateway-log FILE]
set -euo pipefail

duration=20          # seconds of each measured run
concurrency=32       # requests in flight
misses=20000         # fresh A1+B pairs for miss, hero-get and admin-writes (each phase)
hits=1000            # A1+B pairs sent in turn for hit and the refusals
tenants="10 1000 10000 100000"
patch_tenants=1      # admin-writes: tenants the 100 PATCHes/s go to in turn (1: the one under load)
bin=""               # where acs-devstack and acs-loadgen (and by default acs-gateway) are
build=1
work=""
gateway_log=/dev/null
gateways=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --misses) misses=$2; shift 2 ;;
    --hits) hits=$2; shift 2 ;;
    --tenants) tenants=$2; shift 2 ;;
    --patch-tenants) patch_tenants=$2; shift 2 ;;
    --gateway) gateways+=("$2"); shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --work) work=$2; shift 2 ;;
    --gateway-log) gateway_log=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "bench/run.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(nproc --all)" -lt 2 ]; then
  echo "bench/run.sh: needs at least two cores (the gateway on core 0, everything else on core 1)" >&2
  exit 2
fi
if [ -z "$bin" ]; then
  bin=$root/target/release
  if [ "$build" = 1 ]; then
    echo "building release binaries" >&2
    (cd "$root" && cargo build --release --bin acs-devstack --bin acs-loadgen --bin acs-gateway) >&2
  fi
fi
[ ${#gateways[@]} -gt 0 ] || gateways=("this tree=$bin/acs-gateway")
work=${work:-$(mktemp -d /tmp/acs-bench.XXXXXX)}
mkdir -p "$work"
echo "work directory: $work" >&2

machine() {
  local cpu memory os
  cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
  memory=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
  os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s)
  echo "## Machine"
  echo
  echo "- $(nproc --all) vCPU (${cpu:-unknown CPU}), $memory, $os, kernel $(uname -r)"
  echo "- $(rustc --version 2>/dev/null || echo 'rustc unknown'); commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' with local changes')"
  echo "- gateway pinned to core 0 (RUST_LOG unset, settings at their defaults, logs to $gateway_log);"
  echo "  acs-devstack --no-gateway (issuer, emulator, Postgres) and acs-loadgen pinned to core 1"
  echo "- $(date -u '+%Y-%m-%d %H:%M UTC'); $duration s per run, $concurrency in flight"
  echo
}

. "$root/bench/stack.sh"
trap stop_stack EXIT
trap 'exit 130' INT TERM

# Starts the stand-ins on core 1 and the gateway $1 on core 0, each with a fresh data directory.
start_stack() {
  start_standins "$2" && start_gateway "$2" "$gateway_log" "$1"
}

memory() {
  awk '/VmRSS/ {rss = $2} /VmHWM/ {peak = $2} END {printf "%.0f / %.0f", rss / 1024, peak / 1024}' \
    "/proc/$gw_pid/status"
}

# Runs acs-loadgen with "$@" on core $core; appends its rows, each with the gateway's memory.
core=1
measure() {
  local label=$1; shift
  echo "== $label" >&2
  NO_PROXY=127.0.0.1,localhost taskset -c "$core" "$bin/acs-loadgen" --env-file "$dir/env" --markdown \
    --concurrency "$concurrency" --duration "$duration" "$@" >"$dir/$label.out" 2>"$dir/$label.err" \
    || { cat "$dir/$label.err" >&2; return 1; }
  grep -v '^|' "$dir/$label.out" >&2 || true
  local mem
  mem=$(memory)
  grep '^|' "$dir/$label.out" | awk -v mem="$mem" '{print $0 " " mem " |"}' >>"$dir/table.md"
}

metrics_row() {
  local n=$1 stats
  stats=$(curl -s -o "$dir/metrics.txt" -w '%{time_total}' "$url/metrics")
  printf '| /metrics with %s tenants | | | | | | | | %s bytes, %s series, %.2f s a scrape | %s |\n' \
    "$n" "$(wc -c <"$dir/metrics.txt")" "$(grep -vc '^#' "$dir/metrics.txt")" "$stats" "$(memory)" \
    >>"$dir/table.md"
}

# Stops the gateway (SIGTERM) in the middle of a miss run and records how long it took to exit:
# in-flight exchanges finish, the statistics are flushed.
shutdown_row() {
  echo "== shutdown under load" >&2
  NO_PROXY=127.0.0.1,localhost taskset -c 1 "$bin/acs-loadgen" --env-file "$dir/env" --scenario miss \
    --concurrency "$concurrency" --duration 10 --distinct-tokens "$misses" >"$dir/shutdown.out" 2>&1 &
  local load=$! start end
  sleep 4
  start=$(date +%s.%N)
  kill -TERM "$gw_pid"
  wait "$gw_pid" 2>/dev/null || true
  end=$(date +%s.%N)
  gw_pid=""
  wait "$load" 2>/dev/null || true
  printf '| shutdown (SIGTERM during misses at full speed) | %s | | | | | | | %.2f s to exit | |\n' \
    "$concurrency" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" >>"$dir/table.md"
}

machine
for entry in "${gateways[@]}"; do
  name=${entry%%=*} gateway=${entry#*=}
  dir=$work/$(printf %s "$name" | tr -c 'A-Za-z0-9_-' '_')
  start_stack "$gateway" "$dir"
  : >"$dir/table.md"
  core=0 measure floor --scenario floor
  measure miss --scenario miss --distinct-tokens "$misses"
  measure hit --scenario hit --distinct-tokens "$hits"
  measure forged-a1 --scenario forged-a1 --distinct-tokens "$hits"
  measure forged-b --scenario forged-b --distinct-tokens "$hits"
  measure expired-a1 --scenario expired-a1 --distinct-tokens "$hits"
  measure hero-get --scenario hero-get --distinct-tokens "$misses"
  measure admin-writes --scenario admin-writes --distinct-tokens "$misses" --patch-tenants "$patch_tenants"
  for n in $tenants; do
    measure "many-tenants-$n" --scenario many-tenants --tenants "$n"
    metrics_row "$n"
    measure "hit-with-$n-tenants" --scenario hit --distinct-tokens "$hits"
    sed -i "\$s/^| hit |/| hit, one tenant of $n |/" "$dir/table.md"
  done
  shutdown_row
  stop_stack
  rm -rf "$dir/data"
  echo "## $name ($gateway)"
  echo
  echo "| scenario | in flight | req/s | p50 ms | p90 ms | p99 ms | max ms | answers | notes | gateway RSS / peak MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  cat "$dir/table.md"
  echo
done
