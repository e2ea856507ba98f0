#!/bin/sh
# Proves the README's quick start on a fresh Debian 12: debootstrap a minimal
# bookworm root, copy the committed repository in (git archive HEAD), and run
# the two README commands inside it as a newcomer would, then check what they
# promise:
#   ./dev demo   the demo athlete is mounted at ./strava-demo, the files read
#                back with jq, and the printed `sqlite3 ... .load` line answers;
#   ./dev demo stop   leaves nothing mounted and nothing running;
#   ./dev test   ends with "N passed, 0 failed".
#
# It also follows the README's Install section (meson install --prefix=/usr)
# and checks that mount -t stravafs and `.load strava` find what it installed.
#
# Not part of .ci/run: it downloads and installs a Debian system (about 15
# minutes here). Needs root, debootstrap and a Debian mirror (apt's own).
#
#   tests/fresh-debian.sh [ROOT]      ROOT: the scratch folder (default: a new one in /tmp)
#   FRESH_MIRROR=http://deb.debian.org/debian  FRESH_KEEP=1 (keep ROOT afterwards)
#   FRESH_SKIP_TEST=1 (run only the demo half)
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
given=${1:-}
root=${given:-$(mktemp -d /tmp/stravafs-fresh.XXXXXX)}
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
log="$root.log"

[ "$(id -u)" -eq 0 ] || { echo "fresh-debian: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
# mktemp -d makes the root 0700: inside the chroot no other user could then
# read /usr/lib, and test_security's MountPrivacy (which runs `ls` as nobody)
# failed with "libselinux.so.1: Permission denied" (issue 15). A Debian root
# is 0755.
mkdir -p "$root"
chmod 755 "$root"
command -v debootstrap >/dev/null || { echo "fresh-debian: apt-get install debootstrap" >&2; exit 2; }
[ -c /dev/fuse ] || { echo "fresh-debian: no /dev/fuse on this machine" >&2; exit 2; }

passed=0
failed=0
check() {  # check NAME COMMAND...: one line per promise
  name=$1
  shift
  if "$@" >>"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name (see $log)"
  fi
}

cleanup() {
  # The demo's own stop first, then whatever is still mounted under the root.
  if [ -x "$root/root/stravafs/dev" ] && [ -d "$root/proc/self" ]; then
    chroot "$root" sh -c 'cd /root/stravafs && ./dev demo stop' >/dev/null 2>&1 || true
  fi
  for m in $(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  ! mountpoint -q "$root" || umount -l "$root"
  # Never follow a mount that would not go away into the host's /proc, /sys or /dev.
  if [ -z "${FRESH_KEEP:-}" ] && [ -z "$given" ]; then rm -rf --one-file-system "$root"; fi
}
trap 'cleanup' EXIT INT TERM

echo "fresh-debian: $(git -C "$repo" rev-parse --short HEAD) into $root (log: $log)"
: >"$log"
start=$(date +%s)

if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "debootstrap bookworm (minbase) from $mirror ..."
  debootstrap --variant=minbase bookworm "$root" "$mirror" >>"$log" 2>&1 ||
    { echo "fresh-debian: debootstrap failed (see $log)" >&2; exit 1; }
fi

# A newcomer's clone: the committed tree only, nothing built.
rm -rf "$root/root/stravafs"
mkdir -p "$root/root/stravafs"
git -C "$repo" archive HEAD | tar -x -C "$root/root/stravafs"

cp /etc/resolv.conf "$root/etc/resolv.conf"
# As on a real machine: / is a mount point (fusermount3's auto_unmount makes
# its mount namespace private from there), with /dev/pts for terminals.
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
touch "$root/dev/fuse" 2>/dev/null || true
mount --bind /dev/fuse "$root/dev/fuse"
mkdir -p "$root/dev/pts"
mount --bind /dev/pts "$root/dev/pts"

in_root() {  # in_root COMMAND: a login-like shell in the checkout, as root
  chroot "$root" env -i HOME=/root TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    sh -c "cd /root/stravafs && $1"
}

echo "./dev demo ..."
if in_root './dev demo' >"$root.demo.out" 2>&1; then
  passed=$((passed + 1))
  echo "ok   ./dev demo ($(($(date +%s) - start)) s since the start)"
else
  failed=$((failed + 1))
  echo "FAIL ./dev demo:"
  tail -n 30 "$root.demo.out"
fi
cat "$root.demo.out" >>"$log"

demo_mounted() { awk -v m="$root/root/stravafs/strava-demo" '$2 == m && $3 == "fuse.stravafs"' /proc/self/mounts | grep -q .; }
check "the demo is mounted (fuse.stravafs)" demo_mounted
check "1500 activities, one .json each" in_root \
  'test "$(find strava-demo -name "*.json" -path "strava-demo/2*" | wc -l)" -eq 1500'
check "jq reads every JSON" in_root 'find strava-demo -path "strava-demo/2*" -name "*.json" -exec jq -e .id {} + >/dev/null'
check "activities.csv has a header and 1500 records" in_root \
  'test "$(python3 -c "import csv; print(sum(1 for _ in csv.reader(open(\"strava-demo/activities.csv\", newline=\"\"))))")" -eq 1501'
# The sqlite3 line the demo printed, as printed, after the `. .demo/env` it says to run first.
sql=$(sed -n '/sqlite3 -cmd/,/;"$/p' "$root.demo.out" | sed 's/\\$//' | tr -d '\n')
echo "printed: $sql" >>"$log"
check "the printed sqlite3 .load line answers with every sport" in_root \
  ". .demo/env && test \"\$($sql | awk -F'|' '{ n += \$2 } END { print n }')\" -eq 1500"
check "stravafs status from the printed env" in_root '. .demo/env && stravafs status | grep -q "^activities: *1500 "'

# The README's Install section, on the same fresh root: a release build into
# /usr, where mount(8) finds the helper and the loader finds `.load strava`.
echo "meson install --prefix=/usr ..."
check "README install: meson setup/compile/install --prefix=/usr" in_root \
  'meson setup build-release --buildtype=release --prefix=/usr && meson compile -C build-release && meson install -C build-release'
check "mount -t stravafs finds the installed helper" in_root \
  'mkdir -p /mnt/strava && mount -t stravafs /root/stravafs/.demo/stravafs.conf /mnt/strava &&
   test "$(ls /mnt/strava/by-id | wc -l)" -eq 1500 && umount /mnt/strava'
check "man stravafs-sqlite names .load strava" in_root 'zcat -f /usr/share/man/man7/stravafs-sqlite.7* | grep -q "load strava"'
check "sqlite3 .load strava from any folder" in_root \
  '. .demo/env && cd / && test "$(sqlite3 :memory: ".load strava" "SELECT count(*) FROM strava_activities")" -eq 1500'

echo "./dev demo stop ..."
check "./dev demo stop" in_root './dev demo stop'
check "nothing mounted after stop" sh -c "! awk -v r='$root/' 'index(\$2, r) == 1 && \$3 ~ /^fuse/' /proc/self/mounts | grep -q ."
check "no emulator or mount.stravafs left running under the root" sh -c \
  "for p in /proc/[0-9]*; do [ \"\$(readlink \$p/root 2>/dev/null)\" = '$root' ] && exit 1; done; exit 0"

if [ -z "${FRESH_SKIP_TEST:-}" ]; then
  echo "./dev test ..."
  in_root './dev test' >"$root.test.out" 2>&1 || true
  cat "$root.test.out" >>"$log"
  last=$(tail -n 1 "$root.test.out")
  echo "     ./dev test said: $last"
  check "./dev test ends with 0 failed" sh -c "echo '$last' | grep -Eq '^[1-9][0-9]* passed, 0 failed$'"
fi

echo "fresh-debian: $passed passed, $failed failed in $(($(date +%s) - start)) s"
[ "$failed" -eq 0 ]
