# Shared by the benchmarks (sourced, not run): paths, a scratch folder that is
# removed on exit, and an emulated athlete authorized and ready to sync.
# Expects BUILD (the build folder) to be set.
STRAVAFS=$BUILD/src/stravafs
EMULATOR=$BUILD/tests/emulator/strava-emulator
[ -x "$STRAVAFS" ] && [ -x "$EMULATOR" ] || { echo "build first: ./dev build" >&2; exit 2; }

WORK=$(mktemp -d)
EMU_PID=
cleanup() { [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# start_athlete N DIR [EXTRA_SYNC_KEYS] [SAMPLES]: starts an emulator with N
# activities and no effective rate limits (EMU_PID), writes DIR/stravafs.conf
# for summaries only (details = no, empty streams), points HOME and the XDG
# folders into DIR and authorizes. Sets BASE to the emulator's URL. With
# SAMPLES, the config syncs details and the default streams instead, and the
# emulator makes up to SAMPLES stream samples per activity. EXTRA_SYNC_KEYS
# end the [sync] section; they may open further sections.
start_athlete() {
  local n=$1 dir=$2 extra=${3:-} samples=${4:-}
  local what=$'details = no\nstreams =\n'
  [ -n "$samples" ] && what=$'details = yes\n'
  mkdir -p "$dir"
  "$EMULATOR" --port 0 --port-file "$dir/port" --activities "$n" --seed 7 --samples "${samples:-10}" \
    --limit 100000000,100000000 --read-limit 100000000,100000000 >/dev/null 2>&1 &
  EMU_PID=$!
  for _ in $(seq 200); do [ -s "$dir/port" ] && break; sleep 0.05; done
  BASE=http://127.0.0.1:$(cat "$dir/port")
  printf '[strava]\nclient_id = 12345\nclient_secret = emulator-secret\nbase_url = %s\n[cache]\npath = %s\n[sync]\n%s%s' \
    "$BASE" "$dir/cache.db" "$what" "$extra" >"$dir/stravafs.conf"
  chmod 600 "$dir/stravafs.conf"
  export HOME=$dir XDG_CONFIG_HOME=$dir/config XDG_DATA_HOME=$dir/data XDG_STATE_HOME=$dir/state
  local code; code=$(curl -s -X POST -d '{"scope":"read,activity:read_all"}' "$BASE/_emulator/code" | jq -r .code)
  "$STRAVAFS" --config "$dir/stravafs.conf" auth --code "$code" 2>/dev/null
}

# result LABEL VALUE: one row of tests/bench/run's table (appended to the file
# BENCH_RESULTS names; nothing when run alone). VALUE is what the row reports,
# e.g. "2.62x" (a ratio against the same run's baseline) or "24 MB".
result() { if [ -n "${BENCH_RESULTS:-}" ]; then printf '%s\t%s\n' "$1" "$2" >>"$BENCH_RESULTS"; fi; }

stop_athlete() { kill "$EMU_PID"; wait "$EMU_PID" 2>/dev/null || true; EMU_PID=; }
