"""The SQLite extension strava.so, through the real `sqlite3` shell and Debian's
python3 sqlite3 module, on a cache synced from the emulator: results equal to
the same queries on the cache's own tables, the pushed-down plans, the
automatic and forced refresh (and their exact request counts), offline use,
each error message, DIRECTONLY, a running sync, and a .so that uses the host's
SQLite. Every promise of stravafs-sqlite(7) has a test here.

By hand: STRAVA_EXT=BUILD/vtab/strava.so STRAVAFS=... STRAVA_EMULATOR=... \\
    /usr/bin/python3 tests/integration/test_vtab.py
"""

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SANITIZER_ENV, TestCase, foreign_env, host_env, main  # noqa: E402

EXT = os.environ.get("STRAVA_EXT", "")


def shell(sandbox, sql, env=None, db=":memory:"):
    """Runs `sql` in the real sqlite3 shell after `.load`; (rc, out, err)."""
    p = subprocess.run(["sqlite3", "-batch", "-bail", db], input=(".load %s\n%s\n" % (EXT, sql)).encode(),
                       capture_output=True, env=host_env(env or sandbox.env()), timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@contextlib.contextmanager
def environ(env):
    """os.environ replaced by `env` (config discovery happens in-process)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def connect(db=":memory:"):
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    conn.enable_load_extension(True)
    conn.load_extension(EXT)
    return conn


class Vtab(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not EXT:
            raise Exception("set STRAVA_EXT to the built strava.so (meson test does)")

    def synced(self, activities=40, seed=5, sync=None, args=()):
        emu = self.emulator(activities, seed, args=args)
        sb = self.sandbox(emu, {"sync": dict({"max_age": "15m"}, **(sync or {}))})
        sb.authorize()
        r = sb.run("sync")
        self.assertExit(r, 0)
        return emu, sb

    def py(self, sb, sql, args=(), db=":memory:"):
        with environ(sb.env()):
            conn = connect(db)
            try:
                return [tuple(r) for r in conn.execute(sql, args).fetchall()]
            finally:
                conn.close()

    def status(self, conn):
        cur = conn.execute("SELECT * FROM strava_sync_status")
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))

    # ---- the .so itself
    def test_so_uses_the_hosts_sqlite_and_exports_only_its_entry_point(self):
        ldd = subprocess.run(["ldd", EXT], capture_output=True, text=True, check=True, env=foreign_env()).stdout
        self.assertNotIn("libsqlite3", ldd)
        nm = subprocess.run(["nm", "-D", "--defined-only", EXT], capture_output=True, text=True,
                            check=True, env=foreign_env()).stdout
        exported = sorted(line.split()[-1] for line in nm.splitlines() if line.split()[1:2] == ["T"])
        self.assertEqual(exported, ["sqlite3_strava_init"])

    # ---- results
    def test_results_equal_the_same_queries_on_the_cache_tables(self):
        emu, sb = self.synced()
        some = sb.query("SELECT id, start_date, sport_type FROM activities ORDER BY start_date LIMIT 30")
        ids = [r[0] for r in some]
        lo, hi = some[5][1], some[20][1]
        sport = some[3][2]
        queries = [
            "SELECT count(*) FROM {a}",
            "SELECT count(*), sum(distance), sum(moving_time), max(average_heartrate) FROM {a}",
            "SELECT * FROM {a} ORDER BY id",
            "SELECT id, name, json FROM {a} WHERE id = %d" % ids[7],
            "SELECT id FROM {a} WHERE id = 1",
            "SELECT id, distance FROM {a} WHERE id IN (%d, %d, %d, 1) ORDER BY id" % (ids[1], ids[9], ids[2]),
            "SELECT id FROM {a} WHERE start_date >= '%s' AND start_date < '%s' ORDER BY id" % (lo, hi),
            "SELECT id FROM {a} WHERE start_date > '%s' ORDER BY start_date DESC LIMIT 5" % lo,
            "SELECT id FROM {a} WHERE start_date <= '%s' ORDER BY start_date LIMIT 3 OFFSET 2" % hi,
            "SELECT id FROM {a} WHERE start_date = '%s'" % lo,
            "SELECT id FROM {a} WHERE start_date_local >= '%s' AND start_date_local <= '%s' ORDER BY 1"
            % (lo[:10], hi[:10]),
            "SELECT id, start_date FROM {a} ORDER BY start_date_local DESC, id LIMIT 7",
            "SELECT count(*), sum(distance) FROM {a} WHERE sport_type = '%s'" % sport,
            "SELECT id FROM {a} WHERE sport_type = '%s' AND start_date >= '%s' ORDER BY start_date" % (sport, lo),
            "SELECT id FROM {a} WHERE sport_type = '%s' COLLATE NOCASE ORDER BY id" % sport.upper(),
            "SELECT sport_type, count(*), round(sum(distance)/1000, 3) FROM {a} GROUP BY 1 ORDER BY 1",
            "SELECT strftime('%Y-%W', start_date_local) AS week, sport_type, sum(distance) FROM {a} "
            "GROUP BY 1, 2 ORDER BY 1, 2",
            "SELECT name, distance FROM {a} WHERE sport_type = 'Run' ORDER BY distance DESC LIMIT 3",
            "SELECT json_extract(json, '$.name') FROM {a} WHERE json_extract(json, '$.manual') ORDER BY id",
            "SELECT x.id FROM {a} x JOIN {a} y ON x.id = y.id WHERE y.start_date < '%s' ORDER BY 1" % hi,
        ]
        with environ(sb.env()):
            conn = connect(sb.cache_path)  # both tables in one connection
            try:
                for q in queries:
                    want = conn.execute(q.format(a="activities")).fetchall()
                    got = conn.execute(q.format(a="strava_activities")).fetchall()
                    self.assertEqual(got, want, q)
                    self.assertTrue(want or "id = 1" in q or "start_date =" in q or "manual" in q, q)
                # One activity's samples, and a join of the two.
                aid = sb.scalar("SELECT activity_id FROM streams GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
                want = conn.execute("SELECT seq, time, distance, lat, lng, altitude, velocity, heartrate, cadence, "
                                    "watts, temp, moving, grade FROM streams WHERE activity_id = ? ORDER BY seq",
                                    (aid,)).fetchall()
                self.assertGreater(len(want), 10)
                self.assertEqual(conn.execute("SELECT * FROM strava_streams(?)", (aid,)).fetchall(), want)
                self.assertEqual(conn.execute("SELECT activity_id, count(*) FROM strava_streams(?)",
                                              (aid,)).fetchall(), [(aid, len(want))])
                join_want = conn.execute(
                    "SELECT a.id, count(*), max(s.heartrate), sum(s.distance) FROM activities a "
                    "JOIN streams s ON s.activity_id = a.id WHERE a.start_date >= ? GROUP BY a.id ORDER BY a.id",
                    (lo,)).fetchall()
                join_got = conn.execute(
                    "SELECT a.id, count(*), max(s.heartrate), sum(s.distance) FROM strava_activities a, "
                    "strava_streams(a.id) s WHERE a.start_date >= ? GROUP BY a.id ORDER BY a.id", (lo,)).fetchall()
                self.assertGreater(len(join_want), 3)
                self.assertEqual(join_got, join_want)
                manual = conn.execute("SELECT id FROM activities WHERE manual = 1 LIMIT 1").fetchone()
                if manual:
                    self.assertEqual(conn.execute("SELECT count(*) FROM strava_streams(?)", manual).fetchall(), [(0,)])
                # Columns: the cache's, in its order, then json.
                cols = [r[1] for r in conn.execute("PRAGMA table_info(activities)")]
                vcols = [r[1] for r in conn.execute("PRAGMA table_xinfo(strava_activities)") if r[-1] == 0]
                self.assertEqual(vcols, cols)
            finally:
                conn.close()

    def test_the_shell_gives_the_same_answers(self):
        emu, sb = self.synced()
        q = "SELECT count(*), sum(distance), max(start_date) FROM %s WHERE sport_type <> 'Run';"
        rc, out, err = shell(sb, q % "activities" + "\n" + q % "strava_activities", db=sb.cache_path)
        self.assertEqual((rc, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(len(lines), 2, out)
        self.assertEqual(lines[1], lines[0])

    def test_explain_query_plan_shows_each_pushed_down_constraint(self):
        emu, sb = self.synced(10)
        cases = [
            ("SELECT * FROM strava_activities WHERE id = 5", ":id="),
            ("SELECT * FROM strava_activities WHERE rowid = 5", ":id="),
            ("SELECT * FROM strava_activities WHERE id IN (1, 2, 3)", ":id IN"),
            ("SELECT * FROM strava_activities WHERE start_date >= '2024-05-01' AND start_date < '2024-06-01'",
             ":start_date>= start_date<"),
            ("SELECT * FROM strava_activities WHERE start_date > '2024' AND start_date <= '2025'",
             ":start_date> start_date<="),
            ("SELECT * FROM strava_activities WHERE start_date_local = '2024-05-01T07:00:00'", ":start_date_local="),
            ("SELECT * FROM strava_activities WHERE sport_type = 'Run'", ":sport_type="),
            ("SELECT * FROM strava_activities ORDER BY start_date DESC", ":ORDER BY start_date DESC"),
            ("SELECT * FROM strava_activities WHERE sport_type = 'Run' AND start_date >= '2024' ORDER BY start_date",
             ":sport_type= start_date>= ORDER BY start_date"),
            ("SELECT sum(distance) FROM strava_activities", ":scan"),
            ("SELECT * FROM strava_streams(5)", ":activity_id="),
        ]
        sql = "".join("EXPLAIN QUERY PLAN %s;\n" % q for q, _ in cases)
        rc, out, err = shell(sb, sql)
        self.assertEqual((rc, err), (0, ""))
        plans = [line for line in out.splitlines() if "VIRTUAL TABLE INDEX" in line]
        self.assertEqual(len(plans), len(cases), out)
        for (q, want), line in zip(cases, plans):
            self.assertTrue(line.endswith(want), "%s: %s" % (q, line))
        # A sort that was pushed down needs no sorter.
        rc, out, _ = shell(sb, "EXPLAIN QUERY PLAN SELECT id FROM strava_activities ORDER BY start_date DESC;")
        self.assertNotIn("TEMP B-TREE", out)
        rc, out, _ = shell(sb, "EXPLAIN QUERY PLAN SELECT id FROM strava_activities ORDER BY name;")
        self.assertIn("USE TEMP B-TREE FOR ORDER BY", out)

    def test_statements_stay_prepared_between_statements(self):
        # Issue 16: preparing a query on the cache cost more than the lookup it made. Each kind of
        # query prepares its statement once per connection; running it again prepares nothing.
        emu, sb = self.synced(20)
        ids = [r[0] for r in sb.query("SELECT id FROM activities ORDER BY id")]
        with_streams = [r[0] for r in sb.query("SELECT DISTINCT activity_id FROM streams")]
        self.assertTrue(with_streams)
        dates = [r[0] for r in sb.query("SELECT start_date FROM activities ORDER BY start_date")]
        kinds = [
            ("SELECT count(*), sum(distance) FROM strava_activities", lambda k: ()),
            ("SELECT name FROM strava_activities WHERE id = ?", lambda k: (ids[k % len(ids)],)),
            ("SELECT count(*) FROM strava_activities WHERE start_date >= ? AND start_date < ?",
             lambda k: (dates[k % 10], dates[k % 10 + 5])),
            ("SELECT count(*), sum(heartrate) FROM strava_streams(?)",
             lambda k: (with_streams[k % len(with_streams)],)),
            ("SELECT a.id FROM strava_activities a, strava_activities b WHERE a.id = b.id AND a.id = ?",
             lambda k: (ids[k % len(ids)],)),
        ]
        with environ(sb.env()):
            conn = connect()
            try:
                def prepared():
                    return conn.execute("SELECT statements_prepared FROM strava_sync_status").fetchone()[0]
                for sql, args in kinds:
                    conn.execute(sql, args(0)).fetchall()
                warm = prepared()
                # BEGIN, COMMIT and the sync_state read; one per kind; the self-join's second cursor
                # prepares its own while the first holds the plan's.
                self.assertLessEqual(warm, 3 + len(kinds) + 2)
                for k in range(1, 30):
                    for sql, args in kinds:
                        conn.execute(sql, args(k)).fetchall()
                self.assertEqual(prepared(), warm)
                # A statement stopped part way gives its statement back too.
                cur = conn.execute("SELECT id FROM strava_activities")
                cur.fetchone()
                cur.close()
                conn.execute("SELECT id FROM strava_activities").fetchall()
                self.assertEqual(prepared(), warm + 1)
            finally:
                conn.close()

    # ---- refresh
    def test_auto_refresh_after_max_age_picks_up_a_new_activity(self):
        emu, sb = self.synced(sync={"max_age": "1s"})
        before = sb.scalar("SELECT count(*) FROM activities")
        time.sleep(1.2)
        with environ(sb.env()):
            conn = connect()
            try:
                # Stale, nothing new: the one list request of a no-change sync.
                emu.reset_counters()
                self.assertEqual(conn.execute("SELECT count(*) FROM strava_activities").fetchone()[0], before)
                self.assertEqual(self.status(conn)["refresh"], "refreshed: 0 new, 0 changed, 0 deleted, 1 request")
                c = emu.counters()
                self.assertEqual((emu.api_requests(c), c["by_endpoint"]["list"]), (1, 1), c)

                # Stale again, one new activity: listed, stored and seen by this very statement. The
                # incremental sync then pages on to the empty page that proves the end: 2 list requests.
                new = emu.create({"name": "Refreshed ride", "sport_type": "Ride", "distance": 12345.0})
                time.sleep(1.2)
                emu.reset_counters()
                self.assertEqual(conn.execute("SELECT name, distance FROM strava_activities WHERE id = ?",
                                              (new["id"],)).fetchall(), [("Refreshed ride", 12345.0)])
                st = self.status(conn)
                self.assertEqual(conn.execute("SELECT count(*) FROM strava_activities").fetchone()[0], before + 1)
            finally:
                conn.close()
        c = emu.counters()
        self.assertEqual((emu.api_requests(c), c["by_endpoint"]["list"]), (2, 2), c)
        self.assertEqual(st["refresh"], "refreshed: 1 new, 0 changed, 0 deleted, 2 requests")
        self.assertEqual((st["mode"], st["added"], st["requests"], st["last_error"]), ("incremental", 1, 2, None))
        self.assertEqual(st["cache"], sb.cache_path)
        self.assertEqual(st["config"], sb.config_path)

    def test_no_refresh_when_fresh(self):
        emu, sb = self.synced()
        emu.create({"name": "Not yet seen", "sport_type": "Run"})
        emu.reset_counters()
        want = sb.scalar("SELECT count(*) FROM activities")
        with environ(sb.env()):
            conn = connect()
            try:
                self.assertEqual(conn.execute("SELECT count(*) FROM strava_activities").fetchone()[0], want)
                self.assertEqual(self.status(conn)["refresh"], "skipped: fresh")
            finally:
                conn.close()
        self.assertEqual(emu.api_requests(), 0)

    def test_at_most_one_refresh_per_statement(self):
        emu, sb = self.synced(sync={"max_age": "0"})  # 0: every statement refreshes
        emu.reset_counters()
        n = sb.scalar("SELECT count(*) FROM activities")
        got = self.py(sb, "SELECT count(*) FROM strava_activities a, strava_activities b "
                          "WHERE a.id = b.id AND b.id IN (SELECT id FROM strava_activities)")
        self.assertEqual(got, [(n,)])
        self.assertEqual(emu.counters()["by_endpoint"]["list"], 1)

    def test_refresh_command(self):
        emu, sb = self.synced()
        new = emu.create({"name": "Forced", "sport_type": "Walk"})
        emu.reset_counters()
        with environ(sb.env()):
            conn = connect()
            try:
                self.assertEqual(conn.execute("SELECT count(*) FROM strava_activities WHERE id = ?",
                                              (new["id"],)).fetchone()[0], 0)  # fresh: no refresh
                conn.execute("INSERT INTO strava_activities(strava_activities) VALUES('refresh')")
                self.assertEqual(self.status(conn)["refresh"], "refreshed: 1 new, 0 changed, 0 deleted, 2 requests")
                self.assertEqual(conn.execute("SELECT name FROM strava_activities WHERE id = ?",
                                              (new["id"],)).fetchall(), [("Forced",)])
                self.assertEqual(self.status(conn)["refresh"], "skipped: fresh")
            finally:
                conn.close()
        self.assertEqual(emu.counters()["by_endpoint"]["list"], 2)
        # From the shell: the same; but not where main is the cache itself, since the INSERT
        # locks main: that fails at once, saying why, instead of after the busy timeout.
        rc, out, err = shell(sb, "INSERT INTO strava_activities(strava_activities) VALUES('refresh');\n"
                                 "SELECT refresh FROM strava_sync_status;")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "refreshed: 0 new, 0 changed, 0 deleted, 1 request\n")
        t0 = time.monotonic()
        rc, out, err = shell(sb, "INSERT INTO strava_activities(strava_activities) VALUES('refresh');",
                             db=sb.cache_path)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(rc, 1)
        self.assertIn("strava_activities: the refresh command cannot run while this connection writes to the cache "
                      "itself (it is the main database, and this INSERT locks it)", err)
        # A scan's automatic refresh works there (readers do not block the writer).
        sb.write_config({"sync": {"max_age": "0"}})
        emu.create({"name": "Seen from the cache", "sport_type": "Run"})
        rc, out, err = shell(sb, "SELECT count(*) FROM strava_activities WHERE name = 'Seen from the cache';\n"
                                 "SELECT refresh FROM strava_sync_status;", db=sb.cache_path)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "1\nrefreshed: 1 new, 0 changed, 0 deleted, 2 requests\n")

    def test_offline_answers_from_the_cache_and_says_why(self):
        emu, sb = self.synced(sync={"max_age": "1s"})
        want = sb.query("SELECT count(*), sum(distance) FROM activities")
        emu.stop()
        self._procs.remove(emu)
        time.sleep(1.2)
        with environ(sb.env()):
            conn = connect()
            try:
                t0 = time.monotonic()
                self.assertEqual(conn.execute("SELECT count(*), sum(distance) FROM strava_activities").fetchall(),
                                 want)
                self.assertLess(time.monotonic() - t0, 10)
                st = self.status(conn)
                self.assertTrue(st["refresh"].startswith("failed: "), st)
                self.assertIn("127.0.0.1", st["refresh"])
                self.assertIsNotNone(st["last_error"])
                self.assertIn(st["last_error"], st["refresh"])
                # The next statement does not wait on the dead network again.
                conn.execute("SELECT count(*) FROM strava_activities").fetchall()
                self.assertRegex(self.status(conn)["refresh"], r"^skipped: the refresh failed .* ago, next try after 1s")
                # The command fails, with the reason.
                with self.assertRaises(sqlite3.OperationalError) as e:
                    conn.execute("INSERT INTO strava_activities(strava_activities) VALUES('refresh')")
                self.assertIn("strava_activities: refresh failed: ", str(e.exception))
                self.assertIn("127.0.0.1", str(e.exception))
            finally:
                conn.close()

    def test_a_running_sync_is_not_disturbed_and_queries_answer_from_the_cache(self):
        emu, sb = self.synced(sync={"max_age": "0"})
        emu.create({"name": "During", "sport_type": "Run"})
        emu.faults({"match": "/athlete/activities", "kind": "slow", "delay_ms": 3000, "count": 1})
        p = self.start(sb, "sync")
        time.sleep(1.0)  # it holds the lock and waits on its first page
        want = sb.scalar("SELECT count(*) FROM activities")
        with environ(sb.env()):
            conn = connect()
            try:
                t0 = time.monotonic()
                self.assertEqual(conn.execute("SELECT count(*) FROM strava_activities").fetchone()[0], want)
                self.assertLess(time.monotonic() - t0, 2)
                self.assertTrue(self.status(conn)["refresh"].startswith("skipped: locked (another sync is updating"))
                with self.assertRaises(sqlite3.OperationalError) as e:
                    conn.execute("INSERT INTO strava_activities(strava_activities) VALUES('refresh')")
                self.assertIn("another sync is updating", str(e.exception))
                self.assertExit(sb.finish(p), 0)
                # The sync's commit is visible to the next statement.
                self.assertEqual(conn.execute("SELECT count(*) FROM strava_activities").fetchone()[0], want + 1)
            finally:
                conn.close()

    def test_scans_see_a_sync_that_committed_after_the_connection_opened(self):
        emu, sb = self.synced()
        with environ(sb.env()):
            conn = connect()
            try:
                n = conn.execute("SELECT count(*) FROM strava_activities").fetchone()[0]
                emu.create({"name": "Later", "sport_type": "Run"})
                self.assertExit(sb.run("sync"), 0)
                self.assertEqual(conn.execute("SELECT count(*) FROM strava_activities").fetchone()[0], n + 1)
            finally:
                conn.close()

    # ---- errors
    def test_read_only_and_unknown_command(self):
        emu, sb = self.synced(5)
        with environ(sb.env()):
            conn = connect()
            try:
                for sql in ("DELETE FROM strava_activities", "UPDATE strava_activities SET name = 'x'",
                            "INSERT INTO strava_activities(id) VALUES(1)"):
                    with self.assertRaises(sqlite3.OperationalError) as e:
                        conn.execute(sql)
                    self.assertEqual(str(e.exception),
                                     "strava_activities is read-only: it shows the stravafs cache, which only a sync "
                                     "changes; the one write it takes is INSERT INTO strava_activities"
                                     "(strava_activities) VALUES('refresh')", sql)
                with self.assertRaises(sqlite3.OperationalError) as e:
                    conn.execute("INSERT INTO strava_activities(strava_activities) VALUES('optimize')")
                self.assertEqual(str(e.exception), "strava_activities: unknown command 'optimize'; the only one is "
                                                   "INSERT INTO strava_activities(strava_activities) VALUES('refresh')")
                with self.assertRaises(sqlite3.OperationalError) as e:
                    conn.execute("SELECT * FROM strava_streams")
                self.assertEqual(str(e.exception), "strava_streams needs an activity id: SELECT * FROM "
                                                   "strava_streams(12345), or join it as FROM strava_activities a, "
                                                   "strava_streams(a.id)")
                with self.assertRaises(sqlite3.OperationalError) as e:
                    conn.execute("CREATE VIRTUAL TABLE temp.t USING strava_activities(path='/x')")
                self.assertEqual(str(e.exception), "strava_activities: unknown argument \"path='/x'\": the only "
                                                   "one is config='/path/to/stravafs.conf'")
            finally:
                conn.close()

    def test_missing_config(self):
        emu, sb = self.synced(5)
        env = dict(sb.env(), STRAVAFS_CONFIG=os.path.join(sb.root, "nowhere.conf"))
        for table in ("strava_activities", "strava_streams(1)", "strava_sync_status"):
            rc, out, err = shell(sb, "SELECT * FROM %s;" % table, env=env)
            self.assertNotEqual(rc, 0)
            self.assertIn("%s: no config file at %s/nowhere.conf: copy the example" % (table.split("(")[0], sb.root),
                          err)

    def test_broken_config_names_file_line_and_key(self):
        emu, sb = self.synced(5)
        sb.write_config({"sync": {"max_age": "soon"}})
        rc, out, err = shell(sb, "SELECT count(*) FROM strava_activities;")
        self.assertNotEqual(rc, 0)
        self.assertIn("strava_activities: " + sb.config_path, err)
        self.assertIn("max_age", err)

    def test_missing_cache_says_to_sync_first(self):
        emu = self.emulator(5)
        sb = self.sandbox(emu)
        rc, out, err = shell(sb, "SELECT count(*) FROM strava_activities;")
        self.assertNotEqual(rc, 0)
        self.assertIn("strava_activities: no cache at %s yet: run `stravafs sync` or `stravafs import` first" % sb.cache_path, err)
        # Once synced, the same connection's next statement works (no stale failure).
        with environ(sb.env()):
            conn = connect()
            try:
                with self.assertRaises(sqlite3.OperationalError):
                    conn.execute("SELECT count(*) FROM strava_activities")
                sb.authorize()
                self.assertExit(sb.run("sync"), 0)
                self.assertEqual(conn.execute("SELECT count(*) FROM strava_activities").fetchone()[0], 5)
            finally:
                conn.close()

    def test_newer_schema_says_to_upgrade(self):
        emu, sb = self.synced(5)
        conn = sb.db()
        ours = conn.execute("PRAGMA user_version").fetchone()[0]  # what this stravafs wrote
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
        conn.close()
        rc, out, err = shell(sb, "SELECT count(*) FROM strava_activities;")
        self.assertNotEqual(rc, 0)
        self.assertIn("strava_activities: cache %s has schema version 99, this stravafs reads version %d: "
                      "upgrade stravafs" % (sb.cache_path, ours), err)

    def test_directonly_refuses_views_and_triggers(self):
        # Even with PRAGMA trusted_schema=ON: a database someone hands over
        # must not read (or refresh) the cache through its views or triggers.
        emu, sb = self.synced(5)
        views = ("activity_facts", "weekly_totals", "monthly_totals", "yearly_totals", "training_90d", "zone_time",
                 "hr_zones", "power_zones", "best_efforts", "personal_records")
        tables = ("strava_activities", "strava_streams(1)", "strava_sync_status") + tuple("strava_" + v for v in views)
        with environ(sb.env()):
            conn = connect()
            try:
                conn.execute("PRAGMA trusted_schema = ON")
                self.assertEqual(conn.execute("PRAGMA trusted_schema").fetchone(), (1,))
                conn.execute("CREATE TABLE t(x)")
                for table in tables:
                    name = table.split("(")[0]
                    unsafe = 'unsafe use of virtual table "%s"' % name
                    conn.execute("CREATE VIEW v_%s AS SELECT * FROM %s" % (name, table))
                    with self.assertRaises(sqlite3.OperationalError) as e:
                        conn.execute("SELECT * FROM v_%s" % name).fetchall()
                    self.assertEqual(str(e.exception), unsafe)
                    conn.execute("CREATE TRIGGER tr_%s AFTER INSERT ON t BEGIN SELECT count(*) FROM %s; END" % (
                        name, table))
                    with self.assertRaises(sqlite3.OperationalError) as e:
                        conn.execute("INSERT INTO t VALUES(1)")
                    self.assertEqual(str(e.exception), unsafe)
                    conn.execute("DROP TRIGGER tr_%s" % name)
                # The refresh command from a trigger: refused before it runs.
                conn.execute("CREATE TRIGGER tr_refresh AFTER INSERT ON t BEGIN "
                             "INSERT INTO strava_activities(strava_activities) VALUES('refresh'); END")
                emu.reset_counters()
                with self.assertRaises(sqlite3.OperationalError) as e:
                    conn.execute("INSERT INTO t VALUES(1)")
                self.assertEqual(str(e.exception), 'unsafe use of virtual table "strava_activities"')
                self.assertEqual(emu.api_requests(), 0)
                self.assertEqual(conn.execute("SELECT count(*) FROM t").fetchone(), (0,))
                # Used directly, they all still answer.
                for table in tables:
                    conn.execute("SELECT count(*) FROM %s" % table).fetchone()
                # Nothing else is registered: no SQL function, which would
                # need SQLITE_DIRECTONLY of its own, and only these modules.
                plain = sqlite3.connect(":memory:")
                try:
                    for what in ("function", "module"):
                        q = "SELECT DISTINCT name FROM pragma_%s_list" % what
                        added = {r[0] for r in conn.execute(q)} - {r[0] for r in plain.execute(q)}
                        self.assertEqual(added, set() if what == "function" else
                                         {t.split("(")[0] for t in tables}, what)
                finally:
                    plain.close()
            finally:
                conn.close()
        # The same in the shell, from a database file with the view stored in it.
        db = os.path.join(sb.root, "handed-over.db")
        rc, out, err = shell(sb, "CREATE VIEW v AS SELECT name FROM strava_activities;", db=db)
        self.assertEqual((rc, err), (0, ""))
        rc, out, err = shell(sb, "PRAGMA trusted_schema = ON;\nSELECT * FROM v;", db=db)
        self.assertEqual((rc, out), (1, ""))
        self.assertIn('unsafe use of virtual table "strava_activities"', err)

    def test_config_argument_and_a_command_column_named_like_the_table(self):
        emu, sb = self.synced(8)
        new = emu.create({"name": "Via mine", "sport_type": "Run"})
        # No discovery possible: the config comes from the argument only.
        env = dict(SANITIZER_ENV, HOME=sb.home, PATH="/usr/bin:/bin", XDG_STATE_HOME=sb.state_home,
                   STRAVAFS_CONFIG="/nonexistent")
        rc, out, err = shell(sb, "CREATE VIRTUAL TABLE temp.mine USING strava_activities(config='%s');\n"
                                 "SELECT count(*) FROM mine;\n"
                                 "INSERT INTO mine(mine) VALUES('refresh');\n"
                                 "CREATE VIRTUAL TABLE temp.st USING strava_sync_status(config=\"%s\");\n"
                                 "SELECT config, refresh FROM st;\n"
                                 "SELECT name FROM mine WHERE id = %d;\n" % (sb.config_path, sb.config_path, new["id"]),
                             env=env)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "8\n%s|refreshed: 1 new, 0 changed, 0 deleted, 2 requests\nVia mine\n" % sb.config_path)

    def evil_config(self, sb, evil):
        """What an attacker would write: their server, the victim's secret file
        and cache, and a refresh on every statement."""
        path = os.path.join(sb.root, "evil.conf")
        sb.write_file(path, "[strava]\nclient_id = %s\nbase_url = %s\nclient_secret_file = %s\n"
                            "[cache]\npath = %s\n[sync]\nmax_age = 0\n" % (
                                "12345", evil.base_url, sb.secret_path, sb.cache_path), 0o644)
        return path

    def test_a_handed_over_database_cannot_name_a_config(self):
        # Issue 15: a database whose schema declares
        # strava_activities(config='evil.conf') sent the victim's bearer
        # token, client secret and refresh token to the config's server.
        emu, sb = self.synced(6)
        evil = self.emulator(3, seed=9)
        evil_conf = self.evil_config(sb, evil)
        tokens_before = sb.tokens()
        db = os.path.join(sb.root, "evil.db")
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA writable_schema = ON")  # as a crafted file would hold it
        for name, module in (("activities", "strava_activities"), ("st", "strava_sync_status"),
                             ("weeks", "strava_weekly_totals")):
            conn.execute("INSERT INTO sqlite_master(type, name, tbl_name, rootpage, sql) VALUES "
                         "('table', ?, ?, 0, ?)",
                         (name, name, "CREATE VIRTUAL TABLE %s USING %s(config='%s')" % (name, module, evil_conf)))
        conn.commit()
        conn.close()
        for name, module in (("activities", "strava_activities"), ("st", "strava_sync_status"),
                             ("weeks", "strava_weekly_totals")):
            rc, out, err = shell(sb, "SELECT count(*) FROM %s;" % name, db=db)
            self.assertEqual((rc, out), (1, ""), err)
            self.assertIn("%s: config='%s' is honoured only for a table in temp (CREATE VIRTUAL TABLE temp.%s "
                          "USING %s(config=...))" % (module, evil_conf, name, module), err)
        # The same through python's sqlite3 module.
        with self.assertRaisesRegex(sqlite3.OperationalError, "honoured only for a table in temp"):
            self.py(sb, "SELECT count(*) FROM activities", db=db)
        self.assertEqual(evil.counters()["total"], 0)
        self.assertEqual(sb.tokens(), tokens_before)
        # A table in temp may still name a config, and the discovered one
        # still serves a table stored in a file.
        rc, out, err = shell(sb, "CREATE VIRTUAL TABLE temp.mine USING strava_activities(config='%s');\n"
                                 "SELECT count(*) FROM mine;\n"
                                 "CREATE VIRTUAL TABLE main.stored USING strava_activities;\n"
                                 "SELECT count(*) FROM stored;" % sb.config_path, db=os.path.join(sb.root, "own.db"))
        self.assertEqual((rc, out, err), (0, "6\n6\n", ""))
        # config= twice is an error, not the last one silently.
        rc, out, err = shell(sb, "CREATE VIRTUAL TABLE temp.two USING strava_activities(config='%s', config='%s');"
                             % (sb.config_path, evil_conf))
        self.assertEqual(rc, 1)
        self.assertIn("config= is given twice", err)

    def test_tokens_never_go_to_a_server_that_did_not_issue_them(self):
        # Issue 15: even a config the user names himself (temp.mine) cannot
        # send the tokens elsewhere: tokens.json records its server and app.
        emu, sb = self.synced(6)
        evil = self.emulator(3, seed=9)
        evil_conf = self.evil_config(sb, evil)
        tokens_before = sb.tokens()
        self.assertEqual((tokens_before["base_url"], tokens_before["client_id"]), (emu.base_url, "12345"))
        rc, out, err = shell(sb, "CREATE VIRTUAL TABLE temp.mine USING strava_activities(config='%s');\n"
                                 "SELECT count(*) FROM mine;\n"
                                 "CREATE VIRTUAL TABLE temp.st USING strava_sync_status(config='%s');\n"
                                 "SELECT refresh FROM st;" % (evil_conf, evil_conf))
        self.assertEqual((rc, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(lines[0], "6")  # answered from the cache
        self.assertTrue(lines[1].startswith("failed: %s holds tokens issued by %s" % (sb.tokens_path, emu.base_url)),
                        lines)
        self.assertEqual(evil.counters()["total"], 0)
        self.assertEqual(sb.tokens(), tokens_before)
        # The CLI says why, and sends nothing either.
        r = sb.run("--config", evil_conf, "sync", config=False)
        self.assertExit(r, 3, "holds tokens issued by %s for client_id 12345, but %s names %s" % (
            emu.base_url, evil_conf, evil.base_url), "never sent elsewhere")
        self.assertEqual(evil.counters()["total"], 0)
        self.assertEqual(sb.tokens(), tokens_before)

    def test_sync_status_before_any_refresh(self):
        emu, sb = self.synced(6)
        with environ(sb.env()):
            conn = connect()
            try:
                st = self.status(conn)
            finally:
                conn.close()
        self.assertEqual(st["refresh"], None)
        self.assertEqual(st["refresh_at"], None)
        self.assertEqual((st["mode"], st["added"], st["changed"], st["deleted"], st["last_error"]),
                         ("history", 6, 0, 0, None))
        self.assertEqual(st["last_success"], sb.scalar("SELECT value FROM sync_state WHERE key = 'last_success'"))
        self.assertGreater(st["requests"], 6)


if __name__ == "__main__":
    main()
