#!/bin/bash
# Sync ingest benchmark: `stravafs sync` of N summaries from the emulator,
# against curl fetching the very same pages over one kept-alive connection in
# the same run. Prints the time ratio and stravafs's peak RSS at two sizes (is
# memory flat in N?). Not pass/fail: it reports. Usage:
#   tests/bench/sync_bench.sh [BUILD_DIR] [N]      (defaults: build, 100000)
set -euo pipefail
BUILD=$(realpath "${1:-build}")
N=${2:-100000}
source "$(dirname "$0")/lib.sh"

# One measured run for athlete size $1: prints "seconds_stravafs seconds_curl rss_kb pages".
measure() {
  local n=$1 dir=$WORK/$1
  start_athlete "$n" "$dir"

  local t0 t1 t2 t3
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$dir/rss" "$STRAVAFS" --config "$dir/stravafs.conf" sync --quiet
  t1=$(date +%s.%N)

  # The same pages, fetched by curl over one connection into /dev/null.
  local pages=$(( (n + 199) / 200 + 1 )) token
  token=$(jq -r .access_token "$XDG_STATE_HOME/stravafs/tokens.json")
  local args=()
  for p in $(seq "$pages"); do args+=("$BASE/api/v3/athlete/activities?per_page=200&page=$p" -o /dev/null); done
  t2=$(date +%s.%N)
  curl -s -H @<(echo "Authorization: Bearer $token") "${args[@]}"
  t3=$(date +%s.%N)
  stop_athlete
  echo "$(echo "$t1 - $t0" | bc) $(echo "$t3 - $t2" | bc) $(cat "$dir/rss") $pages"
}

small=$((N / 10))
read -r s_small c_small rss_small _ < <(measure "$small")
read -r s_big c_big rss_big pages < <(measure "$N")
printf 'machine: %s, %s cores\n' "$(uname -srm)" "$(nproc)"
printf '%-34s %10s %10s %8s\n' "sync of summaries" "stravafs" "curl" "ratio"
printf '%-34s %9.2fs %9.2fs %7.2fx\n' "$small activities" "$s_small" "$c_small" "$(echo "$s_small / $c_small" | bc -l)"
printf '%-34s %9.2fs %9.2fs %7.2fx\n' "$N activities ($pages pages)" "$s_big" "$c_big" "$(echo "$s_big / $c_big" | bc -l)"
result "sync ingest, $N summaries: stravafs / curl, same pages" "$(printf '%.2fx' "$(echo "$s_big / $c_big" | bc -l)")"
result "sync ingest: peak RSS at $small / $N summaries" "$((rss_small / 1024)) / $((rss_big / 1024)) MB"
printf 'peak RSS of stravafs sync: %d MB at %d activities, %d MB at %d\n' \
  $((rss_small / 1024)) "$small" $((rss_big / 1024)) "$N"
