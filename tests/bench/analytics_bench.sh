#!/bin/bash
# Analytics views benchmark: a cache of N activities with SAMPLES samples each
# (default 100000 x 200 = 20 million), written by analytics-bench-gen through
# the real Cache write path, then, in one sqlite3 process on a warm cache,
# best of 5:
#   monthly_totals (whole view) against two baselines: SELECT count(*) FROM
#   activities, and the same GROUP BY over a plain table holding just the
#   columns it sums;
#   best_efforts and zone_time of one activity, and of 1000 random ones (one
#   lookup each), against the same lookups in `activities` by id;
#   the whole-history views once each, for the record; then the plans.
# Not pass/fail: it reports. Usage:
#   tests/bench/analytics_bench.sh [BUILD_DIR] [N] [SAMPLES]
set -euo pipefail
BUILD=$(realpath "${1:-build}")
N=${2:-100000}
SAMPLES=${3:-200}
GEN=$BUILD/tests/bench/analytics-bench-gen
[ -x "$GEN" ] || { echo "build first: ./dev build" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# One figure for tests/bench/run's table (as lib.sh's result, which needs the emulator).
result() { if [ -n "${BENCH_RESULTS:-}" ]; then printf '%s\t%s\n' "$1" "$2" >>"$BENCH_RESULTS"; fi; }
DB=$WORK/cache.db

start=$(date +%s.%N)
"$GEN" "$DB" "$N" "$SAMPLES"
gen_s=$(echo "$(date +%s.%N) - $start" | bc -l)

sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
read -r acts samples hr_rows power_rows < <(sqlite3 -separator ' ' "$DB" \
  "SELECT (SELECT count(*) FROM activities), (SELECT count(*) FROM streams),
          (SELECT count(*) FROM activity_hr_seconds), (SELECT count(*) FROM activity_power_seconds)")
size_mb=$(( $(stat -c %s "$DB") / 1048576 ))

# The plain-table baseline: what monthly_totals sums, already computed.
sqlite3 "$DB" "CREATE TABLE bench_plain AS SELECT year, month, year_month, sport_group, distance_km, moving_time_h,
  moving_time_s, elevation_gain_m, kudos_count, pr_count FROM activity_facts;
CREATE TABLE bench_ids AS SELECT id FROM activities ORDER BY random() LIMIT 1000;"

# Times statements in one connection on a warm cache (python3's sqlite3, the
# same libsqlite3 as the shell, with a microsecond clock). Arguments: REPEAT,
# then NAME=SQL pairs; prints "NAME SECONDS" with the best of REPEAT runs.
timed() {
  /usr/bin/python3 - "$DB" "$@" <<'PY'
import sqlite3, sys, time
db, repeat, pairs = sys.argv[1], int(sys.argv[2]), [a.split("=", 1) for a in sys.argv[3:]]
conn = sqlite3.connect(db)
conn.execute("SELECT count(*) FROM streams WHERE activity_id < 0").fetchall()
for _, sql in pairs:  # warm the page cache
    conn.execute(sql).fetchall()
best = {name: float("inf") for name, _ in pairs}
for _ in range(repeat):
    for name, sql in pairs:
        t = time.perf_counter()
        conn.execute(sql).fetchall()
        best[name] = min(best[name], time.perf_counter() - t)
for name, _ in pairs:
    print(name, "%.6f" % best[name])
PY
}

Q_COUNT="SELECT count(*) FROM activities"
Q_PLAIN="SELECT year, month, year_month, sport_group, count(*), total(distance_km), total(moving_time_h),
  total(elevation_gain_m), sum(CASE WHEN distance_km > 0 THEN distance_km END) * 3600.0 /
  nullif(sum(CASE WHEN distance_km > 0 THEN moving_time_s END), 0), coalesce(sum(kudos_count), 0),
  coalesce(sum(pr_count), 0) FROM bench_plain GROUP BY year, month, year_month, sport_group"
id=$(sqlite3 "$DB" "SELECT id FROM bench_ids LIMIT 1")
declare -A T
while read -r name secs; do T[$name]=$secs; done < <(timed 5 \
  "count=$Q_COUNT" "plain=$Q_PLAIN" \
  "monthly=SELECT * FROM monthly_totals" "yearly=SELECT * FROM yearly_totals" "weekly=SELECT * FROM weekly_totals" \
  "id1=SELECT * FROM activities WHERE id = $id" \
  "efforts1=SELECT * FROM best_efforts WHERE activity_id = $id" \
  "zones1=SELECT * FROM zone_time WHERE activity_id = $id" \
  "ids=SELECT sum(a.distance) FROM bench_ids b CROSS JOIN activities a ON a.id = b.id" \
  "efforts=SELECT sum(e.power_20min_w), sum(e.time_5km_s) FROM bench_ids b CROSS JOIN best_efforts e ON e.activity_id = b.id" \
  "zones=SELECT total(z.hr_z3_s), total(z.power_z4_s) FROM bench_ids b CROSS JOIN zone_time z ON z.activity_id = b.id")
# The whole-history views: once each, after a warm-up run.
while read -r name secs; do T[$name]=$secs; done < <(timed 1 \
  "facts=SELECT count(*), sum(distance_km) FROM activity_facts" \
  "zone_all=SELECT count(*), total(hr_z3_s) FROM zone_time" \
  "prs=SELECT count(*) FROM personal_records" \
  "training=SELECT count(*), max(load_28d) FROM training_90d")

ratio() { echo "$2 / $1" | bc -l; }
ms() { echo "$1 * 1000" | bc -l; }
row() { printf '%-56s %9.3fms %9.3fms %7.1fx\n' "$1" "$(ms "${T[$2]}")" "$(ms "${T[$3]}")" "$(ratio "${T[$2]}" "${T[$3]}")"; }
once() { printf '%-56s %11s %9.3fms\n' "$1" "" "$(ms "${T[$2]}")"; }
printf 'machine: %s, %s cores; SQLite %s\n' "$(uname -srm)" "$(nproc)" "$(sqlite3 --version | cut -d' ' -f1)"
printf 'cache: %d activities, %d samples, %d heart-rate and %d power histogram rows, %d MB; written in %.0fs (%.0f activities/s)\n' \
  "$acts" "$samples" "$hr_rows" "$power_rows" "$size_mb" "$gen_s" "$(echo "$acts / $gen_s" | bc -l)"
printf '%-56s %11s %11s %8s\n' "query (warm; best of 5)" "baseline" "view" "ratio"
row "monthly_totals vs SELECT count(*) FROM activities" count monthly
row "monthly_totals vs the same GROUP BY on a plain table" plain monthly
row "yearly_totals vs the same plain-table GROUP BY" plain yearly
row "weekly_totals vs the same plain-table GROUP BY" plain weekly
row "best_efforts of one activity vs its activities row" id1 efforts1
row "zone_time of one activity vs its activities row" id1 zones1
row "best_efforts, 1000 random activities vs their rows" ids efforts
row "zone_time, 1000 random activities vs their rows" ids zones
result "analytics, $N x $SAMPLES: monthly_totals / the same GROUP BY on a plain table" "$(printf '%.2fx' "$(ratio "${T[plain]}" "${T[monthly]}")")"
result "analytics, $N x $SAMPLES: monthly_totals" "$(printf '%.0f ms' "$(ms "${T[monthly]}")")"
result "analytics, $N x $SAMPLES: best_efforts of one activity / its activities row" "$(printf '%.2fx' "$(ratio "${T[id1]}" "${T[efforts1]}")")"
once "activity_facts, whole view (once)" facts
once "zone_time, whole view (once)" zone_all
once "personal_records, whole view (once)" prs
once "training_90d, whole view (once)" training
echo "plan: SELECT * FROM monthly_totals"
sqlite3 "$DB" "EXPLAIN QUERY PLAN SELECT * FROM monthly_totals" | sed 's/^/  /'
echo "plan: SELECT * FROM best_efforts WHERE activity_id = $id"
sqlite3 "$DB" "EXPLAIN QUERY PLAN SELECT * FROM best_efforts WHERE activity_id = $id" | sed 's/^/  /'
echo "plan: SELECT * FROM zone_time WHERE activity_id = $id (the zone bounds, materialized once, left out)"
sqlite3 "$DB" "EXPLAIN QUERY PLAN SELECT * FROM zone_time WHERE activity_id = $id" |
  awk '/^[|`]--/ { skip = /MATERIALIZE/ } !skip || /^[|`]--/' | sed 's/^/  /'
