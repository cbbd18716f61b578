# Shared helpers for tools/cluster/*-test (sourced, not run).
# Counters, checks, bounded waits, journal queries and the comparison with a clean sweep.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PASSED=0
FAILED=0
T0=$EPOCHREALTIME

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
log() { echo "[${TEST_NAME:-cluster} $(elapsed "$T0")s] $*" >&2; }
pass() { PASSED=$((PASSED + 1)); echo "  ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL - $*"; }
check() { # check "description" command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
summary_line() { echo "$PASSED passed, $FAILED failed"; }


# wait_until SECONDS command...: poll every 0.1 s; 0 when the command succeeds, 1 on timeout.
wait_until() {
  local limit=$1; shift
  local i n
  n=$(awk -v l="$limit" 'BEGIN { printf "%d", l * 10 }')
  for ((i = 0; i <= n; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# wait_pid PID SECONDS: 0 when PID (a child of this shell) exits in time; its status in WAIT_RC.
wait_pid() {
  local pid=$1 limit=$2 i
  for ((i = 0; i < limit * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null; WAIT_RC=$?
      return 0
    fi
    sleep 0.1
  done
  WAIT_RC=124
  return 1
}

# stop_pid PID...: TERM, wait up to 5 s, then KILL. Only for processes this script started.
stop_pid() {
  local pid
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    kill -0 "$pid" 2>/dev/null || continue
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    wait_pid "$pid" 5 || { kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  done
}

ensure_sqlite() {
  command -v sqlite3 >/dev/null && return 0
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sqlite3 >/dev/null 2>&1 || {
    apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sqlite3 >/dev/null 2>&1; }
  command -v sqlite3 >/dev/null
}

# q DB SQL: one query, read-only, tolerant of a writer holding the lock for a moment.
q() { sqlite3 -readonly -cmd '.timeout 5000' "$1" "$2" 2>/dev/null; }

ensure_binary() {
  BIN=${METASWEEP_BIN:-$ROOT/.build/release/metasweep}
  if [ ! -x "$BIN" ]; then
    log "building $BIN"
    (cd "$ROOT" && swift build -c release --static-swift-stdlib --product metasweep >&2)
  fi
  [ -x "$BIN" ]
}

# The test sweep: big enough that failures land mid-sweep with 2 one-slot workers.
# SWEEP_SIZE=small|medium picks the size; medium is 8 variants x 4 seeds.
write_spec() { # write_spec FILE NAME EXAMPLES SEEDS
  cat >"$1" <<EOF
name: $2
experiment: geoff
seeds: 0..<$4
fixed: {examples_per_task: $3, hidden_units: 30, target_features: 80, bin_size: 50, tail_examples: 50}
variants:
  backprop: {algorithm: backprop}
  momentum: {algorithm: momentum}
  rmsprop: {algorithm: rmsprop}
  adam: {algorithm: adam}
  crossprop-eta0: {algorithm: crossprop, eta: 0.0}
  crossprop-eta0.5: {algorithm: crossprop, eta: 0.5}
  crossprop-approx-eta0: {algorithm: crossprop-approx, eta: 0.0}
  crossprop-approx-eta0.5: {algorithm: crossprop-approx, eta: 0.5}
EOF
}

# Journal invariants after a sweep: every run has exactly one outcome, no duplicates, none pending.
check_journal() { # check_journal DB RUNS LABEL
  local db=$1 runs=$2 label=$3
  local n_runs n_out n_distinct n_done n_leased
  n_runs=$(q "$db" "SELECT count(*) FROM runs")
  n_out=$(q "$db" "SELECT count(*) FROM outcomes")
  n_distinct=$(q "$db" "SELECT count(DISTINCT run_key) FROM outcomes")
  n_done=$(q "$db" "SELECT count(*) FROM runs WHERE status = 'done' AND key IN (SELECT run_key FROM outcomes)")
  n_leased=$(q "$db" "SELECT count(*) FROM attempts WHERE state = 'leased'")
  check "$label: journal has $runs runs (got $n_runs)" [ "$n_runs" = "$runs" ]
  check "$label: exactly one outcome per run ($n_out outcomes, $n_distinct distinct runs, $n_done done)" \
    [ "$n_out" = "$runs" -a "$n_distinct" = "$runs" -a "$n_done" = "$runs" ]
  check "$label: no attempt left leased ($n_leased)" [ "$n_leased" = 0 ]
}

# summary.csv and curves/*.csv byte-identical to the clean sweep's.
check_tables() { # check_tables DIR CLEAN_DIR LABEL
  local dir=$1 clean=$2 label=$3 bad=0 f
  [ -s "$dir/summary.csv" ] || bad=1
  cmp -s "$dir/summary.csv" "$clean/summary.csv" || bad=1
  for f in "$clean"/curves/*.csv; do cmp -s "$f" "$dir/curves/$(basename "$f")" || bad=1; done
  [ "$(ls "$dir"/curves/*.csv 2>/dev/null | wc -l)" = "$(ls "$clean"/curves/*.csv | wc -l)" ] || bad=1
  check "$label: summary.csv and $(ls "$clean"/curves/*.csv | wc -l) curves/*.csv byte-identical to the clean sweep" [ "$bad" = 0 ]
}

attempt_states() { q "$1" "SELECT group_concat(state || '=' || n, ' ') FROM (SELECT state, count(*) n FROM attempts GROUP BY state)"; }
