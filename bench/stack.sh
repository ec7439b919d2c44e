# Sourced by bench/run.sh and bench/profile.sh: the stand-ins on core 1, the gateway on core 0.
# Expects $bin (where acs-devstack is); sets $ds_pid, $gw_pid and $url.

ds_pid="" gw_pid="" url=""

# Starts `acs-devstack --no-gateway` (dev issuer, ACS emulator, Postgres) on core 1 with its data in
# $1/data, and waits until it has written $1/env.
start_standins() {
  local dir=$1
  mkdir -p "$dir"
  env -u DATABASE_URL RUST_LOG=warn taskset -c 1 "$bin/acs-devstack" --no-gateway --data-dir "$dir/data" \
    --env-file "$dir/env" --gateway-listen 127.0.0.1:0 --entra-listen 127.0.0.1:0 --acs-listen 127.0.0.1:0 \
    >"$dir/devstack.log" 2>&1 &
  ds_pid=$!
  for _ in $(seq 1 600); do
    [ -f "$dir/env" ] && return 0
    kill -0 "$ds_pid" 2>/dev/null || { cat "$dir/devstack.log" >&2; return 1; }
    sleep 0.2
  done
  echo "the stand-ins wrote no env file" >&2
  return 1
}

# Runs `"${@:3}" serve` on core 0 with the settings of $1/env (RUST_LOG unset, working directory
# $1), its output to $2, and waits until /readyz answers.
start_gateway() {
  local dir=$1 log=$2
  shift 2
  (set -a && . "$dir/env" && set +a && unset RUST_LOG && cd "$dir" && exec taskset -c 0 "$@" serve) >"$log" 2>&1 &
  gw_pid=$!
  url=$(sed -n "s/^ACSGW_URL='\(.*\)'$/\1/p" "$dir/env")
  for _ in $(seq 1 1200); do
    curl -sf "$url/readyz" >/dev/null && return 0
    kill -0 "$gw_pid" 2>/dev/null || { echo "the gateway exited; see $log" >&2; return 1; }
    sleep 0.25
  done
  echo "the gateway did not become ready; see $log" >&2
  return 1
}

# Stops the gateway (SIGTERM: a graceful shutdown) and the stand-ins.
stop_stack() {
  if [ -n "$gw_pid" ]; then kill -TERM "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; fi
  if [ -n "$ds_pid" ]; then kill -INT "$ds_pid" 2>/dev/null || true; wait "$ds_pid" 2>/dev/null || true; fi
  gw_pid="" ds_pid=""
}
