#!/bin/bash
# Several athletes under one app (issue 17): the API requests and the wall
# time to bring N athletes current when nothing changed (an incremental sync
# each), under the app's read limit of 100 per 15 minutes that all of them
# share, against the floor: one listing request per athlete. The wall-time
# baseline is curl making those same N requests, in one process, in
# the same run. Not pass/fail: it reports. Usage:
#   tests/bench/athletes_bench.sh [BUILD_DIR] [N]      (defaults: build, 10)
# One config and one cache hold every athlete, and one `stravafs sync` brings
# them all current.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
N=${2:-10}
source "$(dirname "$0")/lib.sh"

dir=$WORK/athletes
mkdir -p "$dir"
counts=$(printf '50,%.0s' $(seq "$N"))
# No effective limit while the athletes get their first sync (it is not what
# is measured); then Strava's default ones, for the whole app.
"$EMULATOR" --port 0 --port-file "$dir/port" --activities "${counts%,}" --seed 7 \
  --limit 100000000,100000000 --read-limit 100000000,100000000 >/dev/null 2>&1 &
EMU_PID=$!
for _ in $(seq 200); do [ -s "$dir/port" ] && break; sleep 0.05; done
BASE=http://127.0.0.1:$(cat "$dir/port")
export HOME=$dir XDG_CONFIG_HOME=$dir/config XDG_DATA_HOME=$dir/data XDG_STATE_HOME=$dir/state
ids=$(curl -s "$BASE/_emulator/config" | jq -r '.athletes[].id')

# Each athlete authorizes once; one first sync of everyone's 50 summaries.
printf '[strava]\nclient_id = 12345\nclient_secret = emulator-secret\nbase_url = %s\n[cache]\npath = %s\n[sync]\ndetails = no\nstreams =\n' \
  "$BASE" "$dir/cache.db" >"$dir/stravafs.conf"
chmod 600 "$dir/stravafs.conf"
for id in $ids; do
  curl -s -X POST -d "{\"scope\":\"read,activity:read_all\",\"athlete\":$id}" "$BASE/_emulator/code" | jq -r .code |
    "$STRAVAFS" --config "$dir/stravafs.conf" auth --code - 2>/dev/null
done
"$STRAVAFS" --config "$dir/stravafs.conf" sync --quiet

api_requests() { curl -s "$BASE/_emulator/counters" | jq '.total - .by_endpoint.token - .by_endpoint.authorize - .by_endpoint.deauthorize'; }
first=$(api_requests)
curl -s -X POST "$BASE/_emulator/counters/reset" >/dev/null
# Strava's default limits (100 reads per 15 minutes, 1000 a day), a fresh window.
curl -s -X POST -d '{"limit":[200,2000],"read_limit":[100,1000],"usage":[0,0],"read_usage":[0,0]}' \
  "$BASE/_emulator/ratelimit" >/dev/null

# Measured: every athlete's incremental sync, nothing new anywhere.
t0=$(date +%s.%N)
"$STRAVAFS" --config "$dir/stravafs.conf" sync --quiet
t1=$(date +%s.%N)
requests=$(api_requests)

# Baseline: the floor's requests (one listing page per athlete), by one
# curl; the tokens are read beforehand.
for id in $ids; do
  file=$dir/state/stravafs/tokens-$id.json
  [ -f "$file" ] || file=$dir/state/stravafs/tokens.json
  echo "Authorization: Bearer $(jq -r .access_token "$file")" >"$dir/header-$id"
done
args=()
for id in $ids; do
  args+=(--next -s -H @"$dir/header-$id" "$BASE/api/v3/athlete/activities?per_page=200&after=1" -o /dev/null)
done
t2=$(date +%s.%N)
curl "${args[@]:1}"
t3=$(date +%s.%N)
stop_athlete

s=$(echo "$t1 - $t0" | bc) c=$(echo "$t3 - $t2" | bc)
printf 'machine: %s, %s cores\n' "$(uname -srm)" "$(nproc)"
printf '%-40s %10s %10s %8s\n' "$N athletes current, nothing new" "stravafs" "floor" "ratio"
printf '%-40s %10d %10d %7.2fx\n' "API requests" "$requests" "$N" "$(echo "$requests / $N" | bc -l)"
printf '%-40s %9.2fs %9.2fs %7.2fx\n' "wall time (floor: curl, same requests)" "$s" "$c" "$(echo "$s / $c" | bc -l)"
printf 'first syncs (50 summaries each, not measured): %d API requests, %s per athlete\n' "$first" "$((first / N))"
result "athletes, $N current, nothing new: API requests, stravafs / floor" "$requests / $N"
result "athletes, $N current, nothing new: wall time, stravafs / curl" "$(printf '%.2fx' "$(echo "$s / $c" | bc -l)")"
