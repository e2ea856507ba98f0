#!/bin/bash
# Mount benchmark: find, grep -r, jq over every JSON and cat of every file on
# the mounted cache (mount.stravafs) against the very same tree copied to
# local disk in the same run, cold (caches dropped, fresh mount) and warm
# (each best of 3). Then the daemon's peak RSS after find + cat of every file
# over a larger cache of summaries. Not pass/fail: it reports ratios next to
# issue 16's goals (warm <= 1.1x, first run <= 1.5x, RSS <= 64 MB). Needs
# root (it writes /proc/sys/vm/drop_caches) and /dev/fuse. Usage:
#   tests/bench/mount_bench.sh [BUILD_DIR] [N] [N_RSS]
#   (defaults: build, 20000 activities with details and streams, 100000 summaries)
set -euo pipefail
BUILD=$(realpath "${1:-build}")
N=${2:-20000}
N_RSS=${3:-100000}
SAMPLES=100           # stream samples per activity (emulator's --samples)
WORD=Zugspitze        # grep -r -l: in a few names, so grep reads nearly every file to the end
source "$(dirname "$0")/lib.sh"
MOUNT=$BUILD/fuse/mount.stravafs
[ -x "$MOUNT" ] || { echo "build first: ./dev build (no $MOUNT)" >&2; exit 2; }
[ -w /proc/sys/vm/drop_caches ] || { echo "run as root: the cold runs drop the page cache" >&2; exit 2; }

# The daemon (started with -f, so its PID is the daemon's) and its mount point.
MNT_PID='' MNT=''
mounted() { awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo; }
unmount() {
  if [ -n "$MNT" ] && mounted "$MNT"; then
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true
  fi
  if [ -n "$MNT_PID" ]; then
    for _ in $(seq 100); do kill -0 "$MNT_PID" 2>/dev/null || break; sleep 0.05; done
    kill "$MNT_PID" 2>/dev/null || true
    wait "$MNT_PID" 2>/dev/null || true
  fi
  MNT_PID=
}
mount_cleanup() { unmount; cleanup; }
trap mount_cleanup EXIT
trap 'exit 130' INT TERM HUP

# mount_cache CONF MOUNTPOINT: mounts in the foreground (in the background of
# this script) and returns once the mount is listed in mountinfo.
mount_cache() {
  MNT=$2
  mkdir -p "$MNT"
  "$MOUNT" "$1" "$MNT" -f -o refresh=0 2>"$WORK/mount.err" &
  MNT_PID=$!
  for _ in $(seq 600); do
    mounted "$MNT" && return 0
    kill -0 "$MNT_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "mount.stravafs did not mount $MNT:" >&2; cat "$WORK/mount.err" >&2; exit 1
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# The workloads, each over folder $1, output discarded.
w_find() { find "$1" | wc -l; }
w_grep() { grep -r -l "$WORD" "$1" || true; }
w_jq()   { find "$1" -name '*.json' -print0 | xargs -0 jq -c .id; }
w_cat()  { find "$1" -type f -print0 | xargs -0 cat; }
WORKLOADS=(find grep jq cat)
declare -A LABEL=([find]="find | wc -l" [grep]="grep -r -l $WORD" [jq]="jq .id every JSON" [cat]="cat every file")

# timed CMD...: seconds of wall time (ms resolution), output discarded; a
# failure is reported on stderr but does not stop the benchmark.
timed() {
  local TIMEFORMAT=%3R rc=0
  { time "$@" >/dev/null 2>"$WORK/timed.err"; } 2>&1 || rc=$?
  [ $rc = 0 ] || { echo "warning: '$*' exited $rc:" >&2; head -3 "$WORK/timed.err" >&2; }
}
best_of_3() { for _ in 1 2 3; do timed "$@"; done | sort -n | head -1; }

# --- 1. N activities with details and streams; the local copy ----------------
dir=$WORK/full
start_athlete "$N" "$dir" $'max_age = 365d\n[mount]\nrefresh = 0\n' "$SAMPLES"
sync_s=$(timed "$STRAVAFS" --config "$dir/stravafs.conf" sync --quiet)
stop_athlete
mount_cache "$dir/stravafs.conf" "$dir/mnt"
LOCAL=$dir/local
copy_s=$(timed cp -a "$dir/mnt" "$LOCAL")
entries_m=$(find "$dir/mnt" | wc -l) entries_l=$(find "$LOCAL" | wc -l)
bytes_m=$(find "$dir/mnt" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
bytes_l=$(find "$LOCAL" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
unmount

# --- 2. each workload: cold on both, then warm on both; best of 3 each -------
# A cold run is a first run on a fresh mount with the page cache dropped. Its
# time is mostly the disk's, which varies on a shared host, so each cold run
# is also best of 3, local and mount taking turns (all three go to stderr).
declare -A COLD_L COLD_M WARM_L WARM_M
for w in "${WORKLOADS[@]}"; do
  cold_l=() cold_m=()
  for _ in 1 2 3; do
    drop_caches
    cold_l+=("$(timed "w_$w" "$LOCAL")")
    drop_caches
    mount_cache "$dir/stravafs.conf" "$dir/mnt"
    cold_m+=("$(timed "w_$w" "$dir/mnt")")
    [ ${#cold_m[@]} = 3 ] || unmount
  done
  echo "cold ${LABEL[$w]}: local ${cold_l[*]} s, mount ${cold_m[*]} s" >&2
  COLD_L[$w]=$(printf '%s\n' "${cold_l[@]}" | sort -n | head -1)
  COLD_M[$w]=$(printf '%s\n' "${cold_m[@]}" | sort -n | head -1)
  WARM_L[$w]=$(best_of_3 "w_$w" "$LOCAL")
  WARM_M[$w]=$(best_of_3 "w_$w" "$dir/mnt")
  hwm_full=$(awk '/^VmHWM/ { print $2 }' "/proc/$MNT_PID/status")
  unmount
done

# --- 3. daemon RSS over N_RSS summaries ---------------------------------------
rdir=$WORK/rss
start_athlete "$N_RSS" "$rdir" $'max_age = 365d\n[mount]\nrefresh = 0\n'
"$STRAVAFS" --config "$rdir/stravafs.conf" sync --quiet
stop_athlete
mount_cache "$rdir/stravafs.conf" "$rdir/mnt"
rss_start=$(awk '/^VmRSS/ { print $2 }' "/proc/$MNT_PID/status")
rss_entries=$(find "$rdir/mnt" | wc -l)
rss_bytes=$(find "$rdir/mnt" -type f -print0 | xargs -0 cat | wc -c)
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$MNT_PID/status")
unmount

# --- report -------------------------------------------------------------------
goal() { awk -v x="$1" -v g="$2" 'BEGIN { print (x <= g ? "met" : "NOT MET") }'; }
ratio() { awk -v l="$1" -v m="$2" 'BEGIN { printf "%.2f", m / (l > 0.001 ? l : 0.001) }'; }
printf 'machine: %s, %s cores\n' "$(uname -srm)" "$(nproc)"
printf '%d activities with details and %d-sample streams: sync %.1fs, cp -a of the mount %.1fs\n' "$N" "$SAMPLES" "$sync_s" "$copy_s"
printf 'tree: %d entries, %d bytes in files on the mount; local copy: %d entries, %d bytes%s\n' \
  "$entries_m" "$bytes_m" "$entries_l" "$bytes_l" "$([ "$entries_m/$bytes_m" = "$entries_l/$bytes_l" ] || echo '  (DIFFER)')"
printf '%-30s %9s %9s %8s  %s\n' "workload" "local" "mount" "ratio" "goal"
for phase in cold warm; do
  if [ $phase = cold ]; then title="first run (cold, fresh mount; best of 3)" limit=1.5; else title="warm (best of 3)" limit=1.1; fi
  echo "$title"
  for w in "${WORKLOADS[@]}"; do
    if [ $phase = cold ]; then l=${COLD_L[$w]} m=${COLD_M[$w]}; else l=${WARM_L[$w]} m=${WARM_M[$w]}; fi
    r=$(ratio "$l" "$m")
    printf '  %-28s %8.3fs %8.3fs %7.2fx  <= %sx %s\n' "${LABEL[$w]}" "$l" "$m" "$r" "$limit" "$(goal "$r" "$limit")"
    result "mount, $N activities, $phase: ${LABEL[$w]}, mount / local disk" "${r}x"
  done
done
printf 'daemon peak RSS (VmHWM), %d summaries, after find (%d entries) + cat of every file (%d bytes): %d MB (%d MB just after mounting)  <= 64 MB %s\n' \
  "$N_RSS" "$rss_entries" "$rss_bytes" $((hwm / 1024)) $((rss_start / 1024)) "$(goal "$hwm" 65536)"
result "mount: daemon peak RSS, $N_RSS summaries, after find + cat" "$((hwm / 1024)) MB"
printf 'daemon peak RSS (VmHWM), %d activities with streams, after the cat workload: %d MB\n' "$N" $((hwm_full / 1024))
