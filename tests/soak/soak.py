"""The soak: the mount and the SQLite extension read continuously while syncs
run every few seconds against an emulator that injects faults (5xx, proxy
HTML, timeouts, truncated and cut replies, malformed JSON, 429s) and whose
activities are edited, renamed, deleted and added between syncs.

Pass, all of:
- no reader ever sees an error, a short read, a size that disagrees with the
  bytes read, or a file that does not parse (JSON, CSV with the header's
  column count on every row, GPX as XML); a file that vanished between its
  listing and its opening (renamed or deleted by a sync) is counted, not an
  error, as on any file system;
- no SQL query fails;
- every sync ends with status 0 or 1 (a fault that outlived its retries:
  "the next run resumes"), never a crash or another status;
- after the faults stop, one more sync makes the cache, the mount and the
  extension equal to the emulator;
- the daemon's RSS and open file count, and the cache's -wal (which the
  mount's held read transaction must still let SQLite start over), stay flat
  (the last third of the run against the middle third).

Run by tests/soak/run, which sets the binaries' paths (STRAVAFS,
STRAVA_EMULATOR, MOUNT_STRAVAFS, STRAVA_EXT).
"""

import argparse
import csv
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402
from harness import Emulator, Sandbox, die_with_parent, mount_type, parse_iso, unmount, wait_until  # noqa: E402

FAULTS = ["500", "502", "503", "html", "empty500", "timeout", "truncated", "cut", "malformed", "429", "comma"]
MATCHES = ["/athlete/activities", "/streams", "/activities/", ""]
NAMES = ["Soak Run", "Lunch Ride \u2014 edited", "../../etc/passwd", "a/b\\c", "\u00e9t\u00e9 \U0001F3C3", "CON",
         "tab\there", "  ", ".", "line\nbreak", "<b>&amp;</b>", "Caf\u0065\u0301"]


class Soak:
    def __init__(self, root, minutes, activities, seed):
        self.deadline = time.monotonic() + minutes * 60
        self.minutes = minutes
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.failures = []
        self.stats = {k: 0 for k in ("syncs", "sync_rc0", "sync_rc1", "faults", "edits", "renames", "deletes",
                                     "creates", "files_read", "bytes_read", "vanished", "tool_runs", "sql_queries")}
        self.fault_kinds = {}
        self.samples = []  # (seconds since start, rss kB, open fds)
        self.created = set()
        self.emulator = Emulator(root, activities=activities, seed=seed, args=["--samples", "60"])
        self.box = Sandbox(os.path.join(root, "box"), self.emulator, config={
            "sync": {"max_age": "3650d"},
            "mount": {"refresh": "0"},
            "testing": {"rate_window": "2s", "retry_base": "50ms"},
        })
        self.mnt = os.path.join(root, "mnt")
        os.makedirs(self.mnt)
        self.t0 = time.monotonic()

    # ---- bookkeeping
    def fail(self, what):
        with self.lock:
            if len(self.failures) < 200:
                self.failures.append("%6.1fs %s" % (time.monotonic() - self.t0, what))
                print("FAIL " + self.failures[-1], file=sys.stderr, flush=True)

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def running(self):
        return time.monotonic() < self.deadline and len(self.failures) < 50

    # ---- setup
    def start(self):
        self.box.authorize()
        r = self.box.run("sync", "--quiet", timeout=600)
        if r.rc != 0:
            raise AssertionError("the first sync failed: %r" % r)
        self.daemon = subprocess.Popen(
            [harness.MOUNT_STRAVAFS, self.box.config_path, self.mnt, "-f", "-o", "refresh=0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.box.root, "mount.err"), "wb"),
            env=self.box.env(), preexec_fn=die_with_parent)
        wait_until(lambda: mount_type(self.mnt) == "fuse.stravafs", 30, "the mount")

    def stop(self):
        unmount(self.mnt)
        try:
            self.daemon.wait(30)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.fail("the daemon did not exit within 30 s of its unmount")
        if self.daemon.returncode not in (0, None):
            self.fail("the daemon exited with status %s" % self.daemon.returncode)
        complaint = self.emulator.stop()
        if complaint:
            self.fail(complaint)

    # ---- the writer: edits on the emulator, faults, a sync, every few seconds
    def recent_ids(self):
        acts = self.emulator.activities(form="summary")
        newest = max(parse_iso(a["start_date"]) for a in acts)
        # Edits and deletions within the sync's look-back (7 days), as Strava users make them.
        return [a["id"] for a in acts if parse_iso(a["start_date"]) > newest - 6 * 86400]

    def mutate(self):
        ids = self.recent_ids()
        for _ in range(self.rng.randint(0, 3)):
            i = self.rng.choice(ids)
            if self.rng.random() < 0.5:
                self.emulator.patch(i, {"name": self.rng.choice(NAMES) + " %d" % self.rng.randint(0, 999)})
                self.count("renames")
            else:
                self.emulator.patch(i, {"distance": round(self.rng.uniform(1000, 90000), 1),
                                        "description": "edited " * self.rng.randint(0, 40)})
                self.count("edits")
        if len(ids) > 4 and self.rng.random() < 0.4:
            i = self.rng.choice(ids)
            self.emulator.delete(i)
            ids.remove(i)
            self.count("deletes")
        for _ in range(self.rng.randint(0, 2)):
            made = self.emulator.create({"name": self.rng.choice(NAMES), "sport_type": self.rng.choice(["Run", "Ride", "Swim"]),
                                  "distance": round(self.rng.uniform(500, 50000), 1),
                                  "moving_time": self.rng.randint(600, 7200), "elapsed_time": 7300})
            self.created.add(made["id"])
            self.count("creates")

    def inject(self):
        self.emulator.clear_faults()
        rules = []
        for _ in range(self.rng.randint(0, 3)):
            kind = self.rng.choice(FAULTS)
            rule = {"match": self.rng.choice(MATCHES), "kind": kind, "count": self.rng.randint(1, 3),
                    "skip": self.rng.randint(0, 8)}
            if kind == "timeout":
                rule["delay_ms"] = 2500  # the client's timeout is 2 s
            rules.append(rule)
            self.fault_kinds[kind] = self.fault_kinds.get(kind, 0) + 1
        if rules:
            self.emulator.faults(rules)
            self.count("faults", len(rules))

    def writer(self):
        while self.running():
            try:
                self.mutate()
                self.inject()
            except Exception as e:  # the emulator's control API: a soak bug, not stravafs's
                self.fail("emulator control: %r" % e)
                return
            r = self.box.run("sync", "--json", timeout=300)
            self.count("syncs")
            if r.rc in (0, 1):
                self.count("sync_rc%d" % r.rc)
            else:
                self.fail("sync exited %d: %s" % (r.rc, r.err[-500:]))
            if r.rc == 1 and not r.err.strip():
                self.fail("sync exited 1 without a message")
            time.sleep(self.rng.uniform(1, 4))

    # ---- the readers
    def check_file(self, path):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            self.count("vanished")
            return
        except OSError as e:
            self.fail("open %s: %s" % (path, e))
            return
        try:
            size = os.fstat(fd).st_size
            chunks, got = [], 0
            while got <= size + (1 << 20):  # a file that reads on past its size is a failure, not a hang
                b = os.read(fd, 1 << 16)
                if not b:
                    break
                chunks.append(b)
                got += len(b)
            data = b"".join(chunks)
        except OSError as e:
            self.fail("read %s: %s" % (path, e))
            return
        finally:
            os.close(fd)
        self.count("files_read")
        self.count("bytes_read", len(data))
        if len(data) != size:
            self.fail("%s: %d bytes read, size %d" % (path, len(data), size))
            return
        try:
            if path.endswith(".json"):
                json.loads(data)
            elif path.endswith(".csv"):
                rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
                bad = [n for n, row in enumerate(rows) if len(row) != len(rows[0])]
                if not rows or bad:
                    self.fail("%s: rows %s have another column count than the header" % (path, bad[:5]))
            elif path.endswith(".gpx"):
                ET.fromstring(data)
        except (ValueError, ET.ParseError, UnicodeDecodeError) as e:
            self.fail("%s does not parse: %s" % (path, e))

    def walk(self):
        files = []
        for d, _, names in os.walk(self.mnt, onerror=lambda e: self.count("vanished")):
            files += [os.path.join(d, n) for n in names]
        return files

    def file_reader(self, seed):
        rng = random.Random(seed)
        while self.running():
            files = self.walk()
            for path in rng.sample(files, min(len(files), 60)) + [os.path.join(self.mnt, "activities.csv")]:
                self.check_file(path)

    def tool_reader(self):
        """The shell tools people run, whole-tree: a vanished file shows up as
        'No such file or directory' on stderr and is counted, anything else fails."""
        tools = [["find", self.mnt, "-type", "f"],
                 ["grep", "-r", "-l", "--include=*.json", "commute", self.mnt],
                 ["sh", "-c", "find \"$0\" -name '*.json' -path '*/20*' -print0 | xargs -0 -r jq -e .id >/dev/null",
                  self.mnt]]
        i = 0
        while self.running():
            argv = tools[i % len(tools)]
            i += 1
            p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
            self.count("tool_runs")
            errs = [l for l in p.stderr.splitlines() if l.strip()]
            races = [l for l in errs if "No such file or directory" in l]
            if races:
                self.count("vanished", len(races))
            others = [l for l in errs if l not in races]
            if others or (p.returncode not in (0, 1) and not races) or (argv[0] == "find" and p.returncode != 0 and not races):
                self.fail("%s: exit %d: %s" % (argv[0], p.returncode, "; ".join(others[:3])))

    def sql_reader(self):
        conn = sqlite3.connect(":memory:")
        conn.enable_load_extension(True)
        conn.load_extension(os.environ["STRAVA_EXT"])
        rng = random.Random(3)
        while self.running():
            try:
                n, km = conn.execute("SELECT count(*), sum(distance) FROM strava_activities").fetchone()
                if n < 1:
                    self.fail("strava_activities is empty")
                ids = [r[0] for r in conn.execute("SELECT id FROM strava_activities WHERE id % 7 = ?", (rng.randrange(7),))]
                for i in rng.sample(ids, min(5, len(ids))):
                    conn.execute("SELECT count(*), max(time) FROM strava_streams(?)", (i,)).fetchone()
                conn.execute("SELECT refresh, last_success FROM strava_sync_status").fetchall()
                self.count("sql_queries", 3 + min(5, len(ids)))
            except sqlite3.Error as e:
                self.fail("SQL: %s" % e)
            time.sleep(0.05)
        conn.close()

    def monitor(self):
        pid = self.daemon.pid
        while self.running():
            try:
                with open("/proc/%d/status" % pid) as f:
                    rss = int([l for l in f if l.startswith("VmRSS:")][0].split()[1])
                fds = len(os.listdir("/proc/%d/fd" % pid))
            except (OSError, IndexError):
                self.fail("the daemon (pid %d) is gone" % pid)
                return
            try:
                wal = os.path.getsize(self.box.cache_path + "-wal") // 1024
            except OSError:
                wal = 0
            self.samples.append((time.monotonic() - self.t0, rss, fds, wal))
            time.sleep(5)

    # ---- the end: equal to the emulator
    def final_check(self):
        self.emulator.clear_faults()
        r = self.box.run("sync", "--json", timeout=600)
        if r.rc != 0:
            self.fail("the final sync (no faults) exited %d: %s" % (r.rc, r.err[-500:]))
            return
        truth = {a["id"]: a for a in self.emulator.activities(form="summary")}
        cache = {row[0]: row for row in self.box.query("SELECT id, name, distance FROM activities")}
        if set(cache) != set(truth):
            self.fail("cache ids differ from the emulator's: %d missing, %d extra" %
                      (len(set(truth) - set(cache)), len(set(cache) - set(truth))))
        wrong = [i for i in set(cache) & set(truth)
                 if (cache[i][1], cache[i][2]) != (truth[i]["name"], truth[i]["distance"])]
        if wrong:
            self.fail("%d activities differ from the emulator in the cache, e.g. %d" % (len(wrong), wrong[0]))

        def mount_ids():
            return {int(n[:-5]) for n in os.listdir(os.path.join(self.mnt, "by-id"))}
        try:
            wait_until(lambda: mount_ids() == set(truth), 10, "the mount's by-id to equal the emulator")
        except AssertionError as e:
            self.fail(str(e))
        for i in self.rng.sample(sorted(truth), min(300, len(truth))) + sorted(set(truth) & self.created):
            try:
                with open(os.path.join(self.mnt, "by-id", "%d.json" % i), "rb") as f:
                    a = json.load(f)
            except (OSError, ValueError) as e:
                self.fail("by-id/%d.json: %s" % (i, e))
                continue
            if (a["name"], a["distance"]) != (truth[i]["name"], truth[i]["distance"]):
                self.fail("by-id/%d.json differs from the emulator" % i)
        conn = sqlite3.connect(":memory:")
        conn.enable_load_extension(True)
        conn.load_extension(os.environ["STRAVA_EXT"])
        vt = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, name, distance FROM strava_activities")}
        if vt != {i: (a["name"], a["distance"]) for i, a in truth.items()}:
            self.fail("strava_activities differs from the emulator")
        conn.close()
        self.final_count = len(truth)

    def flat(self):
        if len(self.samples) < 9:
            self.fail("too few RSS samples (%d) to judge" % len(self.samples))
            return None
        third = len(self.samples) // 3
        mid, last = self.samples[third:2 * third], self.samples[2 * third:]
        rss_mid, rss_last = max(s[1] for s in mid), max(s[1] for s in last)
        fd_mid, fd_last = max(s[2] for s in mid), max(s[2] for s in last)
        if rss_last > rss_mid * 1.10 + 2048:
            self.fail("daemon RSS grew: %d kB in the middle third, %d kB in the last" % (rss_mid, rss_last))
        if fd_last > fd_mid + 2:
            self.fail("daemon open files grew: %d in the middle third, %d in the last" % (fd_mid, fd_last))
        # The mount holds a read transaction at all times; it must still let
        # SQLite start the -wal over, or the -wal grows by every sync.
        wal_mid, wal_last = max(s[3] for s in mid), max(s[3] for s in last)
        if wal_last > max(wal_mid * 3 // 2, wal_mid + 16384):
            self.fail("the cache's -wal grew: %d kB in the middle third, %d kB in the last" % (wal_mid, wal_last))
        return rss_mid, rss_last, fd_mid, fd_last, wal_mid, wal_last

    def guarded(self, target, *args):
        """A thread that dies fails the soak: it would otherwise stop testing in silence."""
        def run():
            try:
                target(*args)
            except Exception as e:  # noqa: BLE001 - reported, not swallowed
                self.fail("%s died: %r" % (target.__name__, e))
                self.deadline = 0
        return threading.Thread(target=run)

    def run(self):
        self.start()
        threads = [self.guarded(self.writer), self.guarded(self.file_reader, 1), self.guarded(self.file_reader, 2),
                   self.guarded(self.tool_reader), self.guarded(self.sql_reader), self.guarded(self.monitor)]
        for t in threads:
            t.start()
        last = 0
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            elapsed = time.monotonic() - self.t0
            if elapsed - last >= 60:
                last = elapsed
                s = self.stats
                print("%4.0f s: %d syncs (%d ok, %d failed and resumable), %d files read, %d SQL queries, "
                      "%d failures" % (elapsed, s["syncs"], s["sync_rc0"], s["sync_rc1"], s["files_read"],
                                       s["sql_queries"], len(self.failures)), flush=True)
        self.final_check()
        figures = self.flat()
        self.stop()
        return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--activities", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="stravafs-soak-") as root:
        soak = Soak(root, args.minutes, args.activities, args.seed)
        os.environ["STRAVAFS_CONFIG"] = soak.box.config_path
        os.environ["XDG_STATE_HOME"] = soak.box.state_home
        try:
            figures = soak.run()
        except BaseException:
            unmount(soak.mnt)
            raise
        s = soak.stats
        print("soak: %.1f minutes, %d activities at the start, %d at the end, seed %d" %
              (args.minutes, args.activities, getattr(soak, "final_count", -1), args.seed))
        print("  syncs: %d (%d ok, %d stopped by a fault and resumed by the next)" %
              (s["syncs"], s["sync_rc0"], s["sync_rc1"]))
        print("  faults queued: %d (%s)" % (s["faults"], ", ".join("%s %d" % kv for kv in sorted(soak.fault_kinds.items()))))
        print("  emulator edits: %d renames, %d other edits, %d deletions, %d additions" %
              (s["renames"], s["edits"], s["deletes"], s["creates"]))
        print("  reads: %d files (%.1f MB), %d shell tool runs, %d SQL queries; %d files vanished between "
              "listing and opening (renamed or deleted)" % (s["files_read"], s["bytes_read"] / 1e6, s["tool_runs"],
                                                           s["sql_queries"], s["vanished"]))
        if figures:
            print("  daemon: RSS %d -> %d kB (max of the middle third -> last third), open files %d -> %d; "
                  "the cache's -wal %d -> %d kB" % figures)
        for f in soak.failures:
            print("FAIL " + f)
        print("soak: %s" % ("PASS" if not soak.failures else "FAIL (%d failures)" % len(soak.failures)))
        return 0 if not soak.failures else 1


if __name__ == "__main__":
    sys.exit(main())
