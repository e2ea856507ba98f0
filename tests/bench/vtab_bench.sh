#!/bin/bash
# SQLite extension benchmark: the same queries on strava.so's tables and on
# the cache's own, at each size N (activities) given. Not pass/fail: it
# reports ratios. Usage:
#   tests/bench/vtab_bench.sh [BUILD_DIR] [N...]      (defaults: build, 1000 5000 100000)
#
# Per statement (vtab_stmt.py, one python3 connection, the best of 5 batches
# of up to 200 statements): a full aggregate, an id lookup, a one-month
# range, one activity's strava_streams, and a statement that reads no row
# (the refresh check that finds nothing due). Goal (issue 16): <= 1.2x.
#
# Per row, at each N from 10000 up (one sqlite3 process, best of 5): a
# full-scan aggregate, 20000 id lookups and 1000 one-month ranges, each as one
# statement joining from a temp table; and whether lookups stay flat in N.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
shift || true
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 5000 100000)
source "$(dirname "$0")/lib.sh"
EXT=$BUILD/vtab/strava.so
STMT=$(dirname "$0")/vtab_stmt.py
[ -f "$EXT" ] || { echo "build first: ./dev build" >&2; exit 2; }
# Debian's python3 can load SQLite extensions; a python3 first on PATH may not.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# A cache of $1 summaries, quickly: no details, no rate limits; then the
# samples of 100 activities (1000 each), written straight into `streams`,
# since syncing streams would take a request per activity and only their
# reading is measured. Prints the config path.
make_cache() {
  local n=$1 dir=$WORK/$1
  start_athlete "$n" "$dir" $'max_age = 365d\n'
  "$STRAVAFS" --config "$dir/stravafs.conf" sync --quiet
  stop_athlete
  sqlite3 "$dir/cache.db" "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 999)
    INSERT INTO streams (activity_id, seq, time, distance, lat, lng, altitude, velocity, heartrate, cadence, watts,
                         temp, moving, grade)
    SELECT a.id, i, i, i * 3.1, 47 + i * 1e-5, 11 + i * 1e-5, 600 + i % 40, 3.1, 120 + i % 50, 85, 200 + i % 90,
           18, 1, 0.5
    FROM (SELECT id FROM activities ORDER BY start_date DESC LIMIT 100) a, s;"
  echo "$dir/stravafs.conf"
}

# Best of 5 "Run Time: real" of each statement, in one sqlite3 process with a
# warm cache. Prints: full_act full_vt ids_act ids_vt month_act month_vt.
measure_joins() {
  local conf=$1 db; db=$(dirname "$conf")/cache.db
  local month; month=$(sqlite3 "$db" "SELECT substr(max(start_date), 1, 7) || '-01' FROM activities")
  local sql=".load $EXT
CREATE TEMP TABLE ids AS SELECT id FROM activities ORDER BY random() LIMIT 20000;
CREATE TEMP TABLE months AS WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < 999)
  SELECT date('$month', '-' || (i % 24) || ' months') AS lo, date('$month', '-' || (i % 24 - 1) || ' months') AS hi FROM r;
SELECT count(*) FROM months m CROSS JOIN activities a ON a.start_date >= m.lo AND a.start_date < m.hi;
.timer on
"
  local t
  for rep in 1 2 3 4 5; do
    for t in activities strava_activities; do
      sql+="SELECT count(*), sum(distance), sum(moving_time), max(average_speed) FROM $t;
SELECT sum(a.distance) FROM ids CROSS JOIN $t a ON a.id = ids.id;
SELECT count(*), sum(a.distance) FROM months m CROSS JOIN $t a ON a.start_date >= m.lo AND a.start_date < m.hi;
"
    done
  done
  STRAVAFS_CONFIG=$conf sqlite3 "$db" <<<"$sql" | awk '
    NR == 1 { rows = $1 }
    /^Run Time:/ { t = $4; k = n % 6; if (!(k in best) || t < best[k]) best[k] = t; n++ }
    END { printf "%s %s %s %s %s %s %s\n", best[0], best[3], best[1], best[4], best[2], best[5], rows }'
}

ratio() { echo "if ($1 == 0) 0 else $2 / $1" | bc -l; }

printf 'machine: %s, %s cores; SQLite %s\n' "$(uname -srm)" "$(nproc)" "$(sqlite3 --version | cut -d' ' -f1)"
printf '\nper statement (one python3 connection, best of 5 batches)\n'
printf '%-44s %11s %11s %8s\n' "query" "activities" "strava_*" "ratio"
declare -A conf
for n in "${SIZES[@]}"; do
  conf[$n]=$(make_cache "$n")
  while IFS=$'\t' read -r name plain vtab r; do
    printf '%-44s %9.2fus %9.2fus %7.2fx\n' "$n: $name" "$plain" "$vtab" "$r"
    result "vtab, $n, per statement: $name, strava_* / plain" "$(printf '%.2fx' "$r")"
  done < <(STRAVAFS_CONFIG=${conf[$n]} "$PY" "$STMT" "$EXT" "$(dirname "${conf[$n]}")/cache.db")
done

# Per row: only from 10000 activities up, where the shell's 1 ms timer
# resolves the plain table's times.
printf '\nper row: one statement each (one sqlite3 process, best of 5)\n'
printf '%-44s %11s %11s %8s\n' "query" "activities" "strava_act." "ratio"
first=
for n in "${SIZES[@]}"; do
  [ "$n" -ge 10000 ] || continue
  read -r fa fv ia iv ma mv rows < <(measure_joins "${conf[$n]}")
  printf '%-44s %10.4fs %10.4fs %7.2fx\n' "$n: full-scan aggregate" "$fa" "$fv" "$(ratio "$fa" "$fv")"
  printf '%-44s %10.4fs %10.4fs %7.2fx\n' "$n: 20000 id lookups" "$ia" "$iv" "$(ratio "$ia" "$iv")"
  printf '%-44s %10.4fs %10.4fs %7.2fx\n' "$n: 1000 one-month ranges" "$ma" "$mv" "$(ratio "$ma" "$mv")"
  result "vtab, $n: full-scan aggregate, strava_activities / activities" "$(printf '%.2fx' "$(ratio "$fa" "$fv")")"
  result "vtab, $n: 20000 id lookups, strava_activities / activities" "$(printf '%.2fx' "$(ratio "$ia" "$iv")")"
  result "vtab, $n: 1000 one-month ranges, strava_activities / activities" "$(printf '%.2fx' "$(ratio "$ma" "$mv")")"
  if [ -n "$first" ]; then
    read -r n0 iv0 mv0 rows0 <<<"$first"
    # The generated history is denser at larger N: compare month ranges per row returned.
    printf 'strava_activities at %d vs %d activities: id lookups %.2fx, month ranges per row %.2fx (1.0 = independent of N)\n' \
      "$n" "$n0" "$(ratio "$iv0" "$iv")" "$(echo "($mv / $rows) / ($mv0 / $rows0)" | bc -l)"
  else
    first="$n $iv $mv $rows"
  fi
  printf '(the 1000 month ranges return %d rows at %d activities)\n' "$rows" "$n"
done
