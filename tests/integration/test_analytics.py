"""The analytics views, through every face: the cache itself (plain sqlite3),
the mount's stats/ folder (CSV and SVG files read with real tools) and the
extension's strava_<view> tables. The same numbers everywhere, to the bit;
the charts render with rsvg-convert and show the views' numbers; a sync
shows up in stats/ like everywhere else.

The views' own arithmetic is checked against hand-computed values in
tests/unit/analytics_test.cc; here the athlete is the emulator's.

    STRAVAFS=... STRAVA_EMULATOR=... MOUNT_STRAVAFS=... STRAVA_EXT=... \\
        /usr/bin/python3 tests/integration/test_analytics.py
"""

import csv
import io
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GEAR_TOTALS, TestCase, foreign_env, parse_iso, wait_until  # noqa: E402

EXT = os.environ.get("STRAVA_EXT", "")
NO_REFRESH = ["-o", "refresh=0"]

# Each view, and the order its stats/ file lists its rows in (mount/stats.cc).
# Every view's first column is athlete_id, which the stats/ of one athlete
# leaves out (mount.stravafs(8)).
VIEWS = {
    "activity_facts": "athlete_id, start_date_local, id",
    "weekly_totals": "athlete_id, week_start, sport_group",
    "monthly_totals": "athlete_id, year, month, sport_group",
    "yearly_totals": "athlete_id, year, sport_group",
    "training_90d": "athlete_id, date",
    "zone_time": "athlete_id, activity_id",
    "hr_zones": "athlete_id, zone",
    "power_zones": "athlete_id, zone",
    "best_efforts": "athlete_id, start_date, activity_id",
    "personal_records": "athlete_id, period = 'all' DESC, period, sport_group, effort",
}


def csv_value(v):
    """A cache value as the stats/ CSV writes it (fs_render's FormatNumber:
    the shortest text that reads back as the same double)."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v)


class Analytics(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not EXT:
            raise Exception("set STRAVA_EXT to the built strava.so (meson test does)")

    def athlete(self):
        emu = self.emulator(160, seed=11, args=("--samples", "120"))
        sb = self.sandbox(emu, {"sync": {"max_age": "3650d"}})
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        return emu, sb

    def ext_rows(self, sb, view):
        env = dict(os.environ)
        os.environ.update(sb.env())
        os.environ["STRAVAFS_CONFIG"] = sb.config_path
        try:
            conn = sqlite3.connect(":memory:")
            conn.enable_load_extension(True)
            conn.load_extension(EXT)
            cur = conn.execute("SELECT * FROM strava_%s" % view)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
            conn.close()
            return names, rows
        finally:
            os.environ.clear()
            os.environ.update(env)

    def db_rows(self, sb, view):
        conn = sb.db()
        try:
            cur = conn.execute("SELECT * FROM %s ORDER BY %s" % (view, VIEWS[view]))
            return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]
        finally:
            conn.close()

    def test_every_view_is_the_same_in_the_cache_the_mount_and_the_extension(self):
        emu, sb = self.athlete()
        m = self.mount(sb, options=NO_REFRESH)
        stats = os.path.join(m.path, "stats")
        self.assertEqual(sorted(os.listdir(stats)),
                         sorted([v + ".csv" for v in VIEWS] + ["weekly_distance.svg", "calendar.svg"]))
        nonempty = 0
        for view in VIEWS:
            with self.subTest(view=view):
                names, rows = self.db_rows(sb, view)
                nonempty += bool(rows)
                path = os.path.join(stats, view + ".csv")
                with open(path, "rb") as f:
                    data = f.read()
                self.assertEqual(os.stat(path).st_size, len(data))
                self.assertTrue(data.endswith(b"\r\n"))
                table = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
                self.assertEqual(names[0], "athlete_id")
                self.assertEqual({r[0] for r in rows}, {sb.scalar("SELECT id FROM athletes")} if rows else set())
                self.assertEqual(table[0], names[1:])
                self.assertEqual(table[1:], [[csv_value(v) for v in r[1:]] for r in rows])
                ext_names, ext_rows = self.ext_rows(sb, view)
                self.assertEqual(ext_names, names)
                key = lambda r: tuple((x is None, str(type(x)), x if x is not None else 0) for x in r)  # noqa: E731
                self.assertEqual(sorted(ext_rows, key=key), sorted(rows, key=key))
        # An athlete with streams, heart rate and power fills every view but,
        # without an FTP, power_zones.
        self.assertGreaterEqual(nonempty, len(VIEWS) - 1)

    def test_charts_render_and_show_the_views_numbers(self):
        emu, sb = self.athlete()
        m = self.mount(sb, options=NO_REFRESH)
        for name, size in (("weekly_distance.svg", (960, 400)), ("calendar.svg", None)):
            with self.subTest(chart=name):
                png = os.path.join(self.tmp, name + ".png")
                p = subprocess.run(["rsvg-convert", "-o", png, os.path.join(m.path, "stats", name)],
                                   capture_output=True, text=True, timeout=60, env=foreign_env())
                self.assertEqual((p.returncode, p.stderr), (0, ""))
                with open(png, "rb") as f:
                    head = f.read(24)
                self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
                if size:
                    self.assertEqual(struct.unpack(">II", head[16:24]), size)
        # The weekly chart's bars are weekly_totals' distances over its 52 weeks.
        with open(os.path.join(m.path, "stats", "weekly_distance.svg")) as f:
            svg = f.read()
        bars = {(w, g): float(km) for w, g, km in re.findall(r"<title>(\d{4}-W\d\d) (\w+): ([\d.]+) km</title>", svg)}
        weeks = sb.query("SELECT iso_week_label, sport_group, round(distance_km, 1) FROM weekly_totals "
                         "WHERE week_start > date((SELECT max(week_start) FROM activity_facts), '-364 days') "
                         "AND distance_km > 0")
        self.assertGreater(len(weeks), 10)
        self.assertEqual(bars, {(w, g): km for w, g, km in weeks})
        # The calendar: one square per day of 53 weeks, each day's moving time.
        with open(os.path.join(m.path, "stats", "calendar.svg")) as f:
            cal = f.read()
        days = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+) activit(?:y|ies), ([\d.]+) km, (\d+):(\d\d)</title>", cal)
        self.assertEqual(len(days), 53 * 7)
        busy = {d: (int(n), float(km)) for d, n, km, _, _ in days if int(n)}
        want = sb.query("SELECT local_date, count(*), round(total(distance_km), 1) FROM activity_facts "
                        "WHERE local_date >= ? GROUP BY local_date", (days[0][0],))
        self.assertEqual(busy, {d: (n, km) for d, n, km in want})

    def test_a_sync_shows_in_stats(self):
        emu, sb = self.athlete()
        m = self.mount(sb, options=NO_REFRESH)
        monthly = os.path.join(m.path, "stats", "monthly_totals.csv")
        before = open(monthly).read()
        acts = emu.activities("summary")
        newest = max(acts, key=lambda a: parse_iso(a["start_date"]))
        emu.create({"name": "A long one", "sport_type": "Run", "distance": 42195.0, "moving_time": 12600,
                    "elapsed_time": 12700, "start_date": parse_iso(newest["start_date"]) + 3600})
        self.assertExit(sb.run("sync"), 0)
        _, rows = self.db_rows(sb, "monthly_totals")
        want = "".join(",".join(csv_value(v) for v in r[1:]) + "\n" for r in rows)

        def current():
            with open(monthly, newline="") as f:
                return "".join(",".join(row) + "\n" for row in list(csv.reader(f))[1:])
        wait_until(lambda: current() == want, 10, "stats/monthly_totals.csv to show the new run")
        self.assertNotEqual(open(monthly).read(), before)

    def test_settings_and_zones_edited_by_hand_show_in_stats(self):
        emu, sb = self.athlete()
        m = self.mount(sb, options=NO_REFRESH)

        def stats(view):
            with open(os.path.join(m.path, "stats", view + ".csv"), newline="") as f:
                return list(csv.reader(f))

        def sqlite3_shell(sql):
            p = subprocess.run(["sqlite3", sb.cache_path, sql], capture_output=True, text=True, timeout=30,
                               env=foreign_env())
            self.assertEqual((p.returncode, p.stderr), (0, ""))

        def shows(view, rows, what):
            """stats/VIEW.csv shows `rows` (without athlete_id, the athlete's
            alone), as the cache's view holds them."""
            names, held = self.db_rows(sb, view)
            self.assertEqual([r[1:] for r in held], rows)
            data = "".join(",".join(csv_value(v) for v in r) + "\r\n" for r in [names[1:]] + rows).encode()
            # First the size the kernel holds, without opening the file: it
            # keeps sizes (and bytes) for a day unless the mount's watcher,
            # which reads fs_changes, tells it the file changed; then the
            # bytes, which may be of the same size.
            path = os.path.join(m.path, "stats", view + ".csv")
            wait_until(lambda: os.stat(path).st_size == len(data), 3, "the size of stats/%s.csv after %s" % (view, what))

            def read():
                with open(path, "rb") as f:
                    return f.read()
            wait_until(lambda: read() == data, 3, "the bytes of stats/%s.csv after %s" % (view, what))
            self.assertEqual(read(), data)

        # Strava's FTP (250 W), then one set by hand: Coggan's zones from it.
        self.assertEqual(stats("power_zones")[1], ["1", "0", "137.5", "250"])
        zone_time = stats("zone_time")
        sqlite3_shell("INSERT INTO analytics_settings VALUES('ftp', 200)")
        # The view's shares (0.55 * 250 and so on, in the same double arithmetic).
        coggan = [0.0, 0.55, 0.75, 0.9, 1.05, 1.2, 1.5, None]
        shows("power_zones", [(z, coggan[z - 1] * 200, coggan[z] * 200 if coggan[z] else None, 200.0)
                              for z in range(1, 8)], "the FTP")
        rows = [r[1:] for r in self.db_rows(sb, "zone_time")[1]]
        self.assertTrue(any(r[6] is not None for r in rows))
        shows("zone_time", rows, "power zone seconds")
        self.assertNotEqual(stats("zone_time"), zone_time)

        # Strava's zones edited by hand, then gone: the maximum heart rate set by hand.
        sqlite3_shell("UPDATE athlete_zones SET max = 130 WHERE kind = 'heartrate' AND zone = 1; "
                      "UPDATE athlete_zones SET min = 130 WHERE kind = 'heartrate' AND zone = 2")
        shows("hr_zones", [(1, 0.0, 130.0, "strava"), (2, 130.0, 154.0, "strava"), (3, 154.0, 169.0, "strava"),
                           (4, 169.0, 184.0, "strava"), (5, 184.0, None, "strava")], "the edited zones")
        sqlite3_shell("DELETE FROM athlete_zones; INSERT INTO analytics_settings VALUES('max_heartrate', 200)")
        shares = [0.0, 0.6, 0.7, 0.8, 0.9, None]
        shows("hr_zones", [(z, shares[z - 1] * 200, shares[z] * 200 if shares[z] else None, "max_heartrate")
                           for z in range(1, 6)], "zones from max_heartrate 200")
        for view, what in (("zone_time", "the new heart-rate zone seconds"), ("training_90d", "the new load")):
            shows(view, [r[1:] for r in self.db_rows(sb, view)[1]], what)

    def test_one_statement_reads_one_snapshot_of_several_views(self):
        """stravafs-sqlite(7): "a statement that reads several of them reads
        one snapshot of the cache". Between its reads of two strava_ views,
        the statement itself has another connection delete an activity and
        commit; its later reads must not see that."""
        emu, sb = self.athlete()
        [(n, victim)] = sb.query("SELECT count(*), max(id) FROM activities")
        env = dict(os.environ)
        os.environ.update(sb.env())
        os.environ["STRAVAFS_CONFIG"] = sb.config_path
        try:
            conn = sqlite3.connect(":memory:")
            conn.enable_load_extension(True)
            conn.load_extension(EXT)
            writer = sb.db()
            deleted = []

            def delete_one():
                writer.execute("DELETE FROM activities WHERE id = ?", (victim,))
                writer.commit()
                deleted.append(victim)
                return 1

            conn.create_function("delete_one", 0, delete_one, deterministic=False)
            # Columns are computed left to right: yearly_totals is read whole
            # before the delete, monthly_totals and activity_facts after it.
            row = conn.execute(
                "SELECT (SELECT sum(activities) FROM strava_yearly_totals), delete_one(), "
                "(SELECT sum(activities) FROM strava_monthly_totals), "
                "(SELECT count(*) FROM strava_activity_facts), "
                "(SELECT sum(activities) FROM strava_training_90d)").fetchone()
            self.assertEqual(deleted, [victim], "the statement did not run the delete between its reads")
            self.assertEqual(row, (n, 1, n, n, n))
            # The delete was committed and is what the next statement sees:
            # without the shared snapshot, the reads after it would have too.
            self.assertEqual(sb.query("SELECT count(*) FROM activities"), [(n - 1,)])
            self.assertEqual(conn.execute(
                "SELECT (SELECT sum(activities) FROM strava_yearly_totals), "
                "(SELECT sum(activities) FROM strava_monthly_totals), "
                "(SELECT count(*) FROM strava_activity_facts)").fetchone(), (n - 1, n - 1, n - 1))
            writer.close()
            conn.close()
        finally:
            os.environ.clear()
            os.environ.update(env)

    # The emulator's GET /athlete/zones (tests/emulator/render.cc zones_json).
    EMU_ZONES = [("heartrate", 1, 0.0, 124.0), ("heartrate", 2, 124.0, 154.0), ("heartrate", 3, 154.0, 169.0),
                 ("heartrate", 4, 169.0, 184.0), ("heartrate", 5, 184.0, None),
                 ("power", 1, 0.0, 138.0), ("power", 2, 138.0, 188.0), ("power", 3, 188.0, 225.0),
                 ("power", 4, 225.0, 263.0), ("power", 5, 263.0, 300.0), ("power", 6, 300.0, 375.0),
                 ("power", 7, 375.0, None)]

    def hr_zone_seconds(self, sb, bounds):
        """zone_time's heart-rate columns computed here from the histograms:
        {activity_id: (z1, ..., z5)}, a bpm in [min, max)."""
        out = {}
        for aid, bpm, secs in sb.query("SELECT activity_id, bpm, seconds FROM activity_hr_seconds "
                                       "ORDER BY activity_id, bpm"):
            z = out.setdefault(aid, [0.0] * 5)
            for i, (lo, hi) in enumerate(bounds):
                if bpm >= lo and (hi is None or bpm < hi):
                    z[i] += secs
        with_hr = [aid for aid, in sb.query("SELECT activity_id FROM activity_efforts WHERE heartrate_s > 0")]
        return {aid: tuple(out.get(aid, [0.0] * 5)) for aid in with_hr}

    def test_strava_zones_are_synced_once_a_day_and_used(self):
        emu, sb = self.athlete()
        self.assertEqual(emu.counters()["by_endpoint"]["zones"], 1)
        self.assertEqual(sb.query("SELECT kind, zone, min, max FROM athlete_zones ORDER BY kind, zone"), self.EMU_ZONES)
        self.assertEqual(sb.query("SELECT zone, min_bpm, max_bpm, source FROM hr_zones ORDER BY zone"),
                         [(z, lo, hi, "strava") for kind, z, lo, hi in self.EMU_ZONES if kind == "heartrate"])
        strava = [(lo, hi) for kind, z, lo, hi in self.EMU_ZONES if kind == "heartrate"]
        got = {aid: z for aid, *z in sb.query("SELECT activity_id, hr_z1_s, hr_z2_s, hr_z3_s, hr_z4_s, hr_z5_s "
                                              "FROM zone_time WHERE hr_z1_s IS NOT NULL")}
        got = {aid: tuple(z) for aid, z in got.items()}
        self.assertGreater(len(got), 50)
        self.assertEqual(got, self.hr_zone_seconds(sb, strava))
        # Without them, the zones from the highest heart rate give other seconds.
        m = sb.query("SELECT max(max_heartrate_bpm) FROM activity_efforts")[0][0]
        derived = [(0.0, 0.6 * m), (0.6 * m, 0.7 * m), (0.7 * m, 0.8 * m), (0.8 * m, 0.9 * m), (0.9 * m, None)]
        self.assertNotEqual(got, self.hr_zone_seconds(sb, derived))
        copy = os.path.join(self.tmp, "nozones.db")
        shutil.copy(sb.cache_path, copy)
        conn = sqlite3.connect(copy)
        conn.execute("DELETE FROM athlete_zones")
        self.assertEqual({r[0]: tuple(r[1:]) for r in conn.execute(
            "SELECT activity_id, hr_z1_s, hr_z2_s, hr_z3_s, hr_z4_s, hr_z5_s FROM zone_time WHERE hr_z1_s IS NOT NULL")},
            self.hr_zone_seconds(sb, derived))
        conn.close()

        # The next sync, within the day: one list request, no zones.
        before = emu.api_requests()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual((emu.api_requests() - before, r.json()["requests"]), (1, 1))
        self.assertEqual(emu.counters()["by_endpoint"]["zones"], 1)

    def test_without_profile_read_all_the_sync_succeeds_and_says_how_to_get_the_zones(self):
        emu = self.emulator(40, seed=11, args=("--samples", "120"))
        sb = self.sandbox(emu)
        sb.authorize("read,activity:read_all")
        r = sb.run("sync")
        self.assertExit(r, 0)
        note = ("not using Strava's heart-rate zones: the stored authorization lacks the profile:read_all scope "
                "(HTTP 401 Authorization Error [AccessToken profile:read_permission missing]): run `stravafs auth` "
                "and leave \"View data about your complete Strava profile\" ticked; the next sync after that fetches "
                "them. Until then the zones come from the maximum heart rate (stravafs-sqlite(7), ANALYTICS VIEWS)")
        self.assertEqual(r.err.count(note), 1, r.err)
        self.assertEqual(r.err.count("profile:read_all"), 1, r.err)
        self.assertEqual(emu.counters()["by_endpoint"]["zones"], 1)
        self.assertEqual(sb.query("SELECT count(*) FROM athlete_zones"), [(0,)])
        self.assertEqual(sb.query("SELECT DISTINCT source FROM hr_zones"), [("max_heartrate",)])
        self.assertEqual(sb.query("SELECT count(*) FROM sync_state WHERE key = 'last_error'"), [(0,)])
        # Not asked again, nor said again, the same day.
        r = sb.run("sync")
        self.assertExit(r, 0)
        self.assertNotIn("profile:read_all", r.err)
        self.assertEqual(emu.counters()["by_endpoint"]["zones"], 1)
        # A new grant with the scope: the next sync fetches them.
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        self.assertEqual(emu.counters()["by_endpoint"]["zones"], 2)
        self.assertEqual(sb.query("SELECT kind, zone, min, max FROM athlete_zones ORDER BY kind, zone"), self.EMU_ZONES)
        self.assertEqual(sb.query("SELECT DISTINCT source FROM hr_zones"), [("strava",)])

    def test_a_failing_zones_endpoint_neither_stops_the_sync_nor_loses_the_zones(self):
        # Issue 15: GET /athlete/zones runs before the listing, and when it
        # failed (a 404, five 500s) the sync stored nothing at all.
        emu = self.emulator(40, seed=11, args=("--samples", "120"))
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        for kind, why in (("malformed", "reply was not valid JSON (malformed or truncated)"),
                          ("500", "HTTP 500 Internal Server Error"), ("404", "not found")):
            with self.subTest(kind=kind):
                new = emu.create({"name": "Added while the zones fail (%s)" % kind, "sport_type": "Run"})
                emu.faults([{"match": "/athlete/zones", "kind": kind, "count": 5}])
                # --full asks for the zones whatever their age.
                r = sb.run("sync", "--full")
                self.assertExit(r, 0, "the heart-rate zones were not fetched (", why,
                                "the sync goes on without them, and they are asked for again in a day")
                self.assertIn(new["id"], sb.activity_ids())
                self.assertEqual(sb.query("SELECT kind, zone, min, max FROM athlete_zones ORDER BY kind, zone"),
                                 self.EMU_ZONES)
                emu.clear_faults()
                # Tried again in a day, not on every sync.
                before = emu.counters()["by_endpoint"]["zones"]
                self.assertExit(sb.run("sync"), 0)
                self.assertEqual(emu.counters()["by_endpoint"]["zones"], before)
                self.assertIntegrity(sb)
        self.assertExit(sb.run("sync", "--full"), 0)
        self.assertEqual(sb.query("SELECT kind, zone, min, max FROM athlete_zones ORDER BY kind, zone"), self.EMU_ZONES)
        self.assertCacheMatches(sb, emu, skip=GEAR_TOTALS)

if __name__ == "__main__":
    unittest.main(verbosity=2)
