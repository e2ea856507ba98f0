"""The CLI around a sync: the lock against a second sync, Ctrl-C, `status`
and `status --json`, and the `sync --json` summary."""

import os
import pty
import signal
import sqlite3
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_LOCKED, TestCase, die_with_parent, main  # noqa: E402


def wait_for(predicate, seconds=10, what="condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Cli(TestCase):
    def slow_sync(self, activities=10, seed=100, slow=6):
        emu = self.emulator(activities, seed)
        sb = self.sandbox(emu)
        sb.authorize()
        emu.faults([{"match": "/api/v3/", "kind": "slow", "count": slow, "delay_ms": 1500}])
        holder = self.start(sb, "sync")
        lock = sb.cache_path + ".lock"
        wait_for(lambda: "pid %d" % holder.pid in read(lock), what="the lock file to name the holder")
        return emu, sb, holder

    def test_second_sync_exits_4_naming_the_holder(self):
        emu, sb, holder = self.slow_sync()
        t0 = time.monotonic()
        r = sb.run("sync")
        self.assertExit(r, EXIT_LOCKED, "another sync", "pid %d" % holder.pid)
        self.assertGreaterEqual(time.monotonic() - t0, 2.5, "it should wait briefly before giving up")
        self.assertIsNone(holder.poll(), "the holder finished too early for this test to mean anything")
        # Readers are not blocked by the running sync.
        time.sleep(0.3)
        st = sb.run("status")
        self.assertExit(st, 0)
        self.assertEqual(sb.finish(holder).rc, 0)
        # The lock went with the holder.
        self.assertExit(sb.run("sync"), 0)
        self.assertCacheMatches(sb, emu)

    def test_sigint_exits_130_and_the_next_sync_resumes(self):
        emu, sb, holder = self.slow_sync(activities=450, seed=101, slow=3)
        # Wait for the history job to start, then interrupt.
        def job_started():
            try:
                return sb.scalar("SELECT count(*) FROM sync_state WHERE key='job'") == 1
            except sqlite3.Error:  # not created yet
                return False
        wait_for(job_started, what="the history job")
        holder.send_signal(signal.SIGINT)
        r = sb.finish(holder, timeout=10)
        self.assertExit(r, EXIT_INTERRUPTED, "interrupted", "run the sync again")
        self.assertIntegrity(sb)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities") % 200, 0)
        st = sb.run("status", "--json").json()
        self.assertIn("interrupted_listing", st)
        self.assertIn("interrupted", st["last_error"]["message"])
        r = sb.run("sync")
        self.assertExit(r, 0, "resuming the interrupted history listing")
        self.assertCacheMatches(sb, emu)

    def test_sigterm_exits_130_too(self):
        emu, sb, holder = self.slow_sync(activities=5, seed=104, slow=2)
        time.sleep(0.3)
        holder.send_signal(signal.SIGTERM)
        r = sb.finish(holder, timeout=10)
        self.assertExit(r, EXIT_INTERRUPTED, "interrupted")
        self.assertExit(sb.run("sync"), 0)
        self.assertCacheMatches(sb, emu)

    def test_progress_is_a_live_line_on_a_terminal_and_plain_lines_otherwise(self):
        emu = self.emulator(30, seed=105)
        sb = self.sandbox(emu)
        sb.authorize()
        primary, secondary = pty.openpty()
        p = subprocess.Popen(sb.argv(["sync"]), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=secondary, env=sb.env(), cwd=sb.root, preexec_fn=die_with_parent)
        self._procs.append(p)
        os.close(secondary)
        out = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            out += chunk
        os.close(primary)
        self.assertEqual(p.wait(30), 0, out)
        text = out.decode(errors="replace")
        self.assertIn("\r\x1b[K", text)
        self.assertIn("details and streams: ", text)
        self.assertIn("history done: 30 listed", text)
        # Not a terminal: plain lines, no escape sequences.
        r = sb.run("sync", "--full")
        self.assertExit(r, 0)
        self.assertNotIn("\x1b", r.err)
        self.assertNotIn("\r", r.err)

    def test_a_cache_missing_a_table_is_an_error_not_a_crash(self):
        # Issue 15: with `activities` or `sync_state` dropped, status, sync
        # and the mount daemon died of SIGSEGV (Prepare gave a null pointer
        # that 43 of 46 callers did not check).
        emu = self.emulator(4, seed=107)
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        for table in ("activities", "sync_state", "athletes"):
            with self.subTest(table=table):
                work = os.path.join(sb.root, "without-%s.db" % table)
                src = sqlite3.connect(sb.cache_path)
                dst = sqlite3.connect(work)
                src.backup(dst)
                src.close()
                dst.execute("PRAGMA foreign_keys = OFF")
                dst.execute("DROP TABLE %s" % table)
                dst.commit()
                dst.close()
                conf = os.path.join(sb.root, "without-%s.conf" % table)
                with open(sb.config_path) as f:
                    sb.write_file(conf, f.read().replace(sb.cache_path, work))
                for args in (("status",), ("status", "--json"), ("sync",)):
                    r = sb.run("--config", conf, *args, config=False)
                    self.assertGreater(r.rc, 0, r)  # an exit status, not a signal
                    self.assertIn(work, r.err, r)
                    self.assertIn("no such table", r.err, r)

    def test_damaged_or_newer_cache_is_named(self):
        emu = self.emulator(3, seed=106)
        sb = self.sandbox(emu)
        sb.authorize()
        os.makedirs(os.path.dirname(sb.cache_path), mode=0o700)
        with open(sb.cache_path, "wb") as f:
            f.write(b"this is not a database, it is a shopping list\n" * 100)
        r = sb.run("sync")
        self.assertExit(r, EXIT_ERROR, sb.cache_path)
        self.assertTrue("damaged" in r.err or "not a stravafs cache" in r.err, r)
        self.assertExit(sb.run("status"), EXIT_ERROR, sb.cache_path)
        self.assertEqual(emu.api_requests(), 0)
        os.remove(sb.cache_path)
        conn = sqlite3.connect(sb.cache_path)
        conn.execute("PRAGMA user_version = 99")
        conn.close()
        for r in (sb.run("sync"), sb.run("status")):
            self.assertExit(r, EXIT_ERROR, "schema version 99", "upgrade stravafs")
        self.assertEqual(emu.api_requests(), 0)

    def test_another_programs_database_as_cache_is_left_untouched(self):
        # An unrelated SQLite file named as [cache] path got 55 schema
        # objects and WAL (issue 15).
        emu = self.emulator(3, seed=107)
        sb = self.sandbox(emu)
        sb.authorize()
        os.makedirs(os.path.dirname(sb.cache_path), mode=0o700)
        conn = sqlite3.connect(sb.cache_path)
        conn.execute("CREATE TABLE recipes (name TEXT)")
        conn.execute("INSERT INTO recipes VALUES ('bread')")
        conn.commit()
        conn.close()
        with open(sb.cache_path, "rb") as f:
            before = f.read()
        for args in (("sync",), ("status",), ("import", sb.root)):
            r = sb.run(*args)
            self.assertExit(r, EXIT_ERROR, sb.cache_path + " is not a stravafs cache",
                            "name another file as [cache] path")
        self.assertEqual(emu.api_requests(), 0)
        with open(sb.cache_path, "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertFalse(os.path.exists(sb.cache_path + "-wal"))

    def test_status_before_any_sync(self):
        emu = self.emulator(3, seed=102)
        sb = self.sandbox(emu)
        r = sb.run("status")
        self.assertExit(r, EXIT_ERROR, "no cache at " + sb.cache_path, "stravafs sync")

    def test_sync_json_and_status_show_the_counts(self):
        emu = self.emulator(25, seed=103)
        sb = self.sandbox(emu)
        sb.authorize()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        acts = emu.activities()
        manual = [a for a in acts if a["manual"]]
        gear = {a["gear_id"] for a in acts if a.get("gear_id")}
        laps = sum(len(a.get("laps") or []) for a in acts)
        samples = 0
        for a in acts:
            if not a["manual"]:
                status, body = emu.streams(a["id"])
                self.assertEqual(status, 200)
                samples += max(len(s["data"]) for s in body.values())
        report = r.json()
        expected = {"ok": True, "mode": "history", "list_requests": 2, "pages": 1, "listed": 25, "added": 25,
                    "changed": 0, "unchanged": 0, "deleted": 0, "details": 25, "streams": 25 - len(manual),
                    "no_streams": len(manual), "gear": len(gear), "deep_pending": 0,
                    "requests": 2 + 1 + 1 + 50 + len(gear)}  # lists, athlete, zones, details, streams
        self.assertEqual({k: report[k] for k in expected}, expected)
        self.assertNotIn("error", report)
        self.assertEqual(report["requests"], emu.api_requests() - 25 + len(manual))  # minus our streams reads
        self.assertRegex(report["started"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIsInstance(report["seconds"], float)
        self.assertIn("history done: 25 listed (25 new, 0 changed, 0 deleted), 25 details, 25 streams", r.err)

        locals_ = sorted(a["start_date_local"].rstrip("Z") for a in acts)
        st = sb.run("status", "--json")
        self.assertExit(st, 0)
        j = st.json()
        expected = {"cache": sb.cache_path, "authorized": True, "activities": 25, "detailed": 25,
                    "with_streams": 25 - len(manual), "stream_samples": samples, "laps": laps, "gear": len(gear),
                    "oldest": locals_[0], "newest": locals_[-1], "pending_details_and_streams": 0,
                    "history_complete": True}
        self.assertEqual({k: j[k] for k in expected}, expected)
        self.assertEqual(j["athlete"], {"id": 3141592653, "name": "Zoë Ångström-O'Brien"})
        self.assertTrue(j["last_success"])
        self.assertNotIn("last_error", j)
        self.assertNotIn("interrupted_listing", j)
        self.assertEqual(j["rate_usage"]["short_limit"], 1000000)
        # The cache may hold private activities: it is private too.
        for f in (sb.cache_path, sb.cache_path + "-wal", sb.cache_path + "-shm"):
            if os.path.exists(f):
                self.assertEqual(stat.S_IMODE(os.stat(f).st_mode) & 0o077, 0, f)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(sb.cache_path)).st_mode), 0o700)

        st = sb.run("status")
        self.assertExit(st, 0)
        for line in ("cache:        " + sb.cache_path,
                     "athlete:      Zoë Ångström-O'Brien (3141592653)",
                     "authorized:   yes",
                     "activities:   25 (25 detailed, %d with streams, %d samples, %d laps, %d gear)" % (
                         25 - len(manual), samples, laps, len(gear)),
                     "range:        %s to %s (local time)" % (locals_[0], locals_[-1]),
                     "to fetch:     0 details and streams",
                     "last sync:    " + j["last_success"]):
            self.assertIn(line + "\n", st.out)

        # A no-change sync summarised.
        r = sb.run("sync", "--json", "--quiet")
        self.assertExit(r, 0)
        self.assertEqual(r.err, "")
        report = r.json()
        self.assertEqual((report["mode"], report["requests"], report["list_requests"], report["added"]),
                         ("incremental", 1, 1, 0))


if __name__ == "__main__":
    main()
