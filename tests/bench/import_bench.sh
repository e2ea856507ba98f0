#!/bin/bash
# Import benchmark: `stravafs import` of a Strava bulk export (the zip, as
# downloaded) of N activities with streams into a fresh cache, decoding and
# storing included, against gpsbabel converting the very same activity files
# to CSV (unicsv) in the same run. Prints the time ratio and the import's
# peak RSS at each N (is memory flat in N?). Not pass/fail: it reports.
#   tests/bench/import_bench.sh [BUILD_DIR] [SAMPLES] [N...]
#   (defaults: build, 3600 samples = an hour at 1 s, N = 1000 10000)
# The export is the emulator's (--write-export: FIT, GPX and TCX files, most
# gzipped, as Strava's are), zipped with deflate like Strava's. The baseline,
# per batch of IMPORT_BENCH_BATCH (default 50) files: one python3 process
# inflates the batch's .gz files (zlib) into a scratch folder, then one
# gpsbabel process reads the batch (-t, each file's format) and writes one
# CSV. README.md says why batches. Both ratios are printed: against inflate +
# gpsbabel, and against gpsbabel's conversion alone. IMPORT_BENCH_BASELINE_UPTO=N
# skips the baseline for sizes above N.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
SAMPLES=${2:-3600}
shift $(($# < 2 ? $# : 2))
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 10000)
BATCH=${IMPORT_BENCH_BATCH:-50}
# Sizes above this get no gpsbabel baseline (the import alone, for its time
# and peak RSS): at 3600 samples gpsbabel takes about 2 minutes per 1000.
BASELINE_UPTO=${IMPORT_BENCH_BASELINE_UPTO:-}
source "$(dirname "$0")/lib.sh"
for tool in gpsbabel python3 bc sqlite3; do
  command -v "$tool" >/dev/null || { echo "import_bench.sh: needs $tool" >&2; exit 2; }
done

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

# The export of N activities, zipped: DIR/export/ and DIR/export.zip.
write_export() {
  local n=$1 dir=$2
  "$EMULATOR" --activities "$n" --seed 7 --samples "$SAMPLES" --write-export "$dir/export" 2>"$dir/export.log"
  (cd "$dir/export" && python3 - <<'EOF'
import os, zipfile
with zipfile.ZipFile("../export.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk("."):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            z.write(p, os.path.relpath(p, "."))
EOF
  )
}

# stravafs import of the zip into a fresh cache. Prints "seconds rss_kb samples activities".
run_import() {
  local dir=$1
  printf '[cache]\npath = %s\n[import]\ntimezone = UTC\n' "$dir/cache.db" >"$dir/stravafs.conf"
  export HOME=$dir XDG_CONFIG_HOME=$dir/config XDG_DATA_HOME=$dir/data XDG_STATE_HOME=$dir/state
  sync
  local t0 t1 rc=0
  t0=$(now)
  /usr/bin/time -f "%M" -o "$dir/import.rss" "$STRAVAFS" --config "$dir/stravafs.conf" import --quiet "$dir/export.zip" \
    >"$dir/import.out" 2>"$dir/import.err" || rc=$?
  t1=$(now)
  [ "$rc" -eq 0 ] || { echo "stravafs import exited $rc:" >&2; head -n 20 "$dir/import.err" >&2; exit 1; }
  local samples activities
  samples=$(sqlite3 "$dir/cache.db" "SELECT count(*) FROM streams")
  activities=$(sqlite3 "$dir/cache.db" "SELECT count(*) FROM activities")
  echo "$(secs "$t0" "$t1") $(tail -n 1 "$dir/import.rss") $samples $activities"
}

# gpsbabel over the same activity files, in batches. Prints
# "seconds gunzip_seconds rss_kb points files".
run_gpsbabel() {
  local dir=$1 files=() f
  while IFS= read -r f; do files+=("$f"); done < <(find "$dir/export/activities" -type f | sort)
  local plain=$dir/plain out=$dir/csv t0 t1 unzip_total=0 points=0 rss=0
  mkdir -p "$plain" "$out"
  sync
  t0=$(now)
  local i=0
  while [ "$i" -lt "${#files[@]}" ]; do
    local batch=("${files[@]:i:BATCH}") args=() gz=() u0 u1
    for f in "${batch[@]}"; do
      local name=${f##*/} path=$f
      if [[ $name == *.gz ]]; then
        path=$plain/${name%.gz}
        gz+=("$f")
      fi
      case $name in
        *.fit*) args+=(-i "garmin_fit,allpoints" -f "$path") ;;
        *.gpx*) args+=(-i gpx -f "$path") ;;
        *.tcx*) args+=(-i gtrnctr -f "$path") ;;
      esac
    done
    # One process inflates the batch (zlib, as the import does in-process);
    # a gzip process per file would mostly measure process start-up.
    u0=$(now)
    python3 -c '
import gzip, os, shutil, sys
out = sys.argv[1]
for f in sys.argv[2:]:
    with gzip.open(f, "rb") as src, open(os.path.join(out, os.path.basename(f)[:-3]), "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
' "$plain" "${gz[@]}"
    u1=$(now)
    unzip_total=$(echo "$unzip_total + $u1 - $u0" | bc)
    /usr/bin/time -f "%M" -o "$dir/babel.rss" gpsbabel -t "${args[@]}" -o unicsv -F "$out/batch.csv" 2>"$dir/babel.err"
    local r; r=$(tail -n 1 "$dir/babel.rss")
    [ "$r" -gt "$rss" ] && rss=$r
    points=$((points + $(wc -l <"$out/batch.csv") - 1))
    rm -f "$plain"/* "$out/batch.csv"
    i=$((i + BATCH))
  done
  t1=$(now)
  echo "$(secs "$t0" "$t1") $unzip_total $rss $points ${#files[@]}"
}

# The cost of one gpsbabel process on an empty track (best of 5): what one
# process per file would add to the baseline.
startup() {
  local dir=$WORK/startup best=
  mkdir -p "$dir"
  printf '<?xml version="1.0"?>\n<gpx version="1.1" creator="x"><trk><trkseg></trkseg></trk></gpx>\n' >"$dir/empty.gpx"
  for _ in 1 2 3 4 5; do
    local t0 t1 s; t0=$(now)
    gpsbabel -t -i gpx -f "$dir/empty.gpx" -o unicsv -F /dev/null
    t1=$(now); s=$(secs "$t0" "$t1")
    if [ -z "$best" ] || [ "$(echo "$s < $best" | bc)" -eq 1 ]; then best=$s; fi
  done
  echo "$best"
}

printf 'machine: %s, %s cores; gpsbabel %s\n' "$(uname -srm)" "$(nproc)" "$(gpsbabel -V 2>&1 | awk 'NF { print $NF; exit }')"
printf 'one gpsbabel process on an empty GPX: %.3fs (best of 5)\n' "$(startup)"
rows=()
rss_all=()
for n in "${SIZES[@]}"; do
  dir=$WORK/$n
  mkdir -p "$dir"
  w0=$(now)
  write_export "$n" "$dir"
  w1=$(now)
  printf '%s; zipped %s MB (%.0fs)\n' "$(sed 's/ to .* in / in /' "$dir/export.log")" \
    "$(( $(stat -c %s "$dir/export.zip") / 1000000 ))" "$(secs "$w0" "$w1")"
  read -r s_imp rss_imp samples acts < <(run_import "$dir")
  if [ -n "$BASELINE_UPTO" ] && [ "$n" -gt "$BASELINE_UPTO" ]; then
    nfiles=$(find "$dir/export/activities" -type f | wc -l)
    rows+=("$(printf '%-20s %6s %9s %8.1fs %9s %8s %8s %6s MB %9s' "$n x $SAMPLES" "$nfiles" "$samples" "$s_imp" - - - \
      "$((rss_imp / 1024))" -)")
    printf '  %d activities in the cache, %d samples stored; no baseline at this size\n' "$acts" "$samples"
  else
    read -r s_bab s_unz rss_bab points nfiles < <(run_gpsbabel "$dir")
    ratio=$(echo "$s_imp / $s_bab" | bc -l)
    ratio_conv=$(echo "$s_imp / ($s_bab - $s_unz)" | bc -l)
    rows+=("$(printf '%-20s %6s %9s %8.1fs %8.1fs %7.2fx %7.2fx %6s MB %6s MB' "$n x $SAMPLES" "$nfiles" "$samples" \
      "$s_imp" "$s_bab" "$ratio" "$ratio_conv" "$((rss_imp / 1024))" "$((rss_bab / 1024))")")
    printf '  %d activities in the cache, %d samples stored; gpsbabel wrote %d points (inflating: %.1fs of its %.1fs)\n' \
      "$acts" "$samples" "$points" "$s_unz" "$s_bab"
    result "import, $n activities x $SAMPLES samples: stravafs import / gpsbabel to CSV" "$(printf '%.2fx' "$ratio")"
  fi
  printf '  import: %.0f samples/s, %.1f activities/s; cache %s MB\n' "$(echo "$samples / $s_imp" | bc -l)" \
    "$(echo "$acts / $s_imp" | bc -l)" "$(( $(stat -c %s "$dir/cache.db") / 1000000 ))"
  rss_all+=("$((rss_imp / 1024))")
  rm -rf "$dir"
done
printf '%-20s %6s %9s %9s %9s %8s %8s %9s %9s\n' "activities x samples" files samples import baseline ratio "ratio*" "RSS imp." "RSS gpsb."
printf '%s\n' "${rows[@]}"
echo "baseline: inflate + gpsbabel; ratio = import / baseline; ratio* = import / gpsbabel's conversion alone"
label=$(IFS=/; echo "${SIZES[*]}")
label=${label//\// \/ }
rss_label=$(IFS=/; echo "${rss_all[*]}")
rss_label=${rss_label//\// \/ }
result "import: peak RSS at $label activities" "$rss_label MB"
printf 'peak RSS of stravafs import: %s MB at %s activities\n' "$rss_label" "$label"
