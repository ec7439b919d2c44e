#!/usr/bin/env bash
# Counts the instructions the gateway spends per request on the miss, hit and refusal paths, with
# valgrind's callgrind (instruction counts are repeatable on a noisy shared machine; wall time is
# not), and prints the functions that dominate each path.
#
# The stand-ins (`acs-devstack --no-gateway`) run on core 1; the gateway runs under callgrind with
# instrumentation off, and each scenario turns it on, sends its requests with `acs-loadgen`, and dumps a
# profile. Requests go one at a time or a few in flight: under callgrind the gateway runs ~50 times
# slower, so the counts, not the rates, are the result. Hits include their warm-up (the first request
# of each of the few tokens): under 3 % of the requests.
#
# Output: one line per scenario (instructions per request) and the top functions by inclusive
# count, on stdout; the raw profiles (callgrind.out.*, for `callgrind_annotate` or kcachegrind) stay
# in the work directory.
#
# Usage: bench/profile.sh [--requests N] [--top N] [--bin DIR] [--no-build] [--work DIR]
set -euo pipefail

requests=2000
top=25
bin=""
build=1
work=""

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --work) work=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "bench/profile.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

command -v valgrind >/dev/null && command -v callgrind_control >/dev/null \
  || { echo "bench/profile.sh: needs valgrind (apt install valgrind)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$bin" ]; then
  bin=$root/target/release
  if [ "$build" = 1 ]; then
    (cd "$root" && cargo build --release --bin acs-devstack --bin acs-loadgen --bin acs-gateway) >&2
  fi
fi
work=${work:-$(mktemp -d /tmp/acs-profile.XXXXXX)}
mkdir -p "$work"
echo "work directory: $work" >&2

. "$root/bench/stack.sh"
stop() {
  stop_stack
  rm -rf "$work/data"
}
trap stop EXIT
trap 'exit 130' INT TERM

start_standins "$work" || exit 1
start_gateway "$work" "$work/gateway.log" valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$work/callgrind.out.%p" "$bin/acs-gateway" || exit 1

# Runs one scenario with collection on and dumps its profile as callgrind.out.<pid>.<n>.
profile() {
  local label=$1 tokens=$2; shift 2
  echo "== $label" >&2
  callgrind_control -i on "$gw_pid" >/dev/null
  NO_PROXY=127.0.0.1,localhost taskset -c 1 "$bin/acs-loadgen" --env-file "$work/env" --concurrency 4 --duration 900 \
    --distinct-tokens "$tokens" --requests "$requests" "$@" >"$work/$label.out" 2>&1 \
    || { cat "$work/$label.out" >&2; return 1; }
  callgrind_control -i off "$gw_pid" >/dev/null
  callgrind_control -d "$label" "$gw_pid" >/dev/null
  local file
  for _ in $(seq 1 100); do
    file=$(grep -l "^desc: Trigger: .*$label" "$work"/callgrind.out.* 2>/dev/null | head -1 || true)
    [ -n "$file" ] && break
    sleep 0.1
  done
  [ -n "$file" ] || { echo "no profile for $label" >&2; return 1; }
  local total
  total=$(sed -n 's/^totals: *//p' "$file" | tail -1 | awk '{print $1}')
  local answered
  answered=$(grep -Eo '[0-9]+ requests' "$work/$label.out" | head -1 | awk '{print $1}')
  answered=${answered:-$requests}
  echo "## $label: $(awk -v t="$total" -v n="$answered" 'BEGIN { printf "%.0f", t / n }') instructions per request ($answered requests)"
  echo
  echo '```'
  callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null \
    | grep -E '^ *[0-9,]+ ' | head -n "$top" \
    | awk -v n="$answered" '{ gsub(",", "", $1); $1 = sprintf("%9.0f", $1 / n); print }' \
    | cut -c1-160 || true
  echo '```'
  echo
}

echo "# Instructions per request (callgrind, $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown))"
echo
profile miss "$requests" --scenario miss --no-warmup
profile hit 50 --scenario hit --no-warmup
profile forged-a1 50 --scenario forged-a1 --no-warmup
profile forged-b 50 --scenario forged-b --no-warmup
