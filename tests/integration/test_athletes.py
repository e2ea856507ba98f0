"""Several athletes under one Strava app (issue 17): one grant file per
athlete, `stravafs athletes`, `stravafs auth --remove [--purge]`, which
grant a sync uses (the one named, the cache's athlete's, or the only one),
and an export of another athlete than the cache holds."""

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (EMULATOR, EXIT_AUTH, EXIT_RATE_LIMIT, EXIT_USAGE, TestCase, host_env, http, main,  # noqa: E402
                     parse_iso, unmount, wait_until)

EXIT_PARTIAL = 5

EXT = os.environ.get("STRAVA_EXT", "")



class Athletes(TestCase):
    def access_works(self, emu, token):
        status, _, _ = http("GET", emu.base_url + "/api/v3/athlete", headers={"Authorization": "Bearer " + token})
        return status == 200

    def test_one_athlete_is_listed_removed_at_strava_and_purged_only_when_asked(self):
        emu = self.emulator(5, seed=171)
        sb = self.sandbox(emu)
        athlete = emu.athletes[0]
        name = self.name_of(emu)
        r = self.grant(sb, emu)
        self.assertIn("authorized athlete %d (%s); tokens saved in %s" % (athlete, name, sb.tokens_path), r.err)
        self.assertExit(sb.run("sync"), 0)

        listed = sb.run("athletes", "--json")
        self.assertExit(listed, 0)
        rows = listed.json()
        self.assertEqual(len(rows), 1)
        self.assertEqual({k: rows[0][k] for k in ("athlete_id", "name", "file", "this_cache")},
                         {"athlete_id": athlete, "name": name, "file": sb.tokens_path, "this_cache": True})
        self.assertTrue(rows[0]["state"].startswith("active (access token valid until "), rows[0]["state"])
        text = sb.run("athletes")
        self.assertExit(text, 0)
        self.assertEqual(text.out, "%-12d %-24s %s; this cache's athlete\n" % (athlete, name, rows[0]["state"]))

        # Removing revokes at Strava: the old access token stops working.
        access = sb.tokens()["access_token"]
        self.assertTrue(self.access_works(emu, access))
        before = emu.counters()["by_endpoint"]["deauthorize"]
        r = sb.run("auth", "--remove", name.split()[0].lower())
        self.assertExit(r, 0, "athlete %d (%s): grant revoked at Strava and removed" % (athlete, name),
                        "their data stays in %s (remove it with --purge)" % sb.cache_path)
        self.assertEqual(emu.counters()["by_endpoint"]["deauthorize"], before + 1)
        self.assertFalse(self.access_works(emu, access))
        self.assertFalse(os.path.exists(sb.tokens_path))
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), 5)
        self.assertExit(sb.run("sync"), EXIT_AUTH, "not authorized yet")
        none = sb.run("athletes")
        self.assertExit(none, 0, "no athlete is authorized here")
        self.assertEqual(none.out, "")

        # Mistakes are usage errors that change nothing.
        self.assertExit(sb.run("auth", "--remove", str(athlete)), EXIT_USAGE, "has no grant here")
        self.assertExit(sb.run("auth", "--purge"), EXIT_USAGE, "--purge goes with --remove ATHLETE")
        self.assertExit(sb.run("auth", "--remove", "Nobody"), EXIT_USAGE,
                        '"Nobody" names no athlete authorized here: give the id')

        # --purge deletes what the cache holds of them; the cache stays usable.
        self.grant(sb, emu)
        r = sb.run("auth", "--remove", str(athlete), "--purge")
        self.assertExit(r, 0, "purged athlete %d from %s: 5 activities deleted" % (athlete, sb.cache_path))
        for table in ("activities", "streams", "laps", "athletes", "sync_state"):
            self.assertEqual(sb.scalar("SELECT count(*) FROM %s" % table), 0, table)
        self.assertIntegrity(sb)
        self.grant(sb, emu)
        self.assertExit(sb.run("sync"), 0)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), 5)

    def test_two_athletes_each_grant_in_its_own_file_and_one_cache_for_both(self):
        emu = self.emulator("6,4", seed=172)
        ann, bob = emu.athletes
        ann_name, bob_name = self.name_of(emu, ann), self.name_of(emu, bob)
        sb = self.sandbox(emu)
        self.grant(sb, emu, ann)
        r = self.grant(sb, emu, bob)
        bob_file = os.path.join(sb.state_dir, "tokens-%d.json" % bob)
        self.assertIn("authorized athlete %d (%s); tokens saved in %s" % (bob, bob_name, bob_file), r.err)
        self.assertEqual(sorted(f for f in os.listdir(sb.state_dir) if not f.endswith(".lock")),
                         ["tokens-%d.json" % bob, "tokens.json"])
        self.assertEqual(os.stat(bob_file).st_mode & 0o777, 0o600)
        rows = sb.run("athletes", "--json").json()
        self.assertEqual([(r["athlete_id"], r["name"], r["this_cache"]) for r in rows],
                         [(ann, ann_name, False), (bob, bob_name, False)])

        # One sync brings both into the one cache, each under their own id.
        ann_ids = {a["id"] for a in emu.activities("summary", athlete=ann)}
        bob_ids = {a["id"] for a in emu.activities("summary", athlete=bob)}
        r = sb.run("sync")
        self.assertExit(r, 0)
        self.assertIn("athlete %d (%s): history done: 6 listed (6 new, 0 changed, 0 deleted), 6 details, "
                      "6 streams" % (ann, ann_name), r.err)
        self.assertIn("athlete %d (%s): history done: 4 listed (4 new" % (bob, bob_name), r.err)
        self.assertEqual(sb.activity_ids(), ann_ids | bob_ids)
        self.assertEqual({row[0]: row[1] for row in sb.query(
            "SELECT athlete_id, count(*) FROM activities GROUP BY athlete_id")}, {ann: 6, bob: 4})
        self.assertEqual(sb.scalar("SELECT count(*) FROM athletes"), 2)
        # Each athlete's gear is theirs: Strava's gear ids are global. Every
        # activity's gear is held, under its own athlete.
        order = " GROUP BY 1 ORDER BY 1"  # Ann's id is the lower
        with_gear = sb.query("SELECT athlete_id, count(gear_id), count(gear_id) FROM activities" + order)
        self.assertTrue(all(n > 0 for _, n, _ in with_gear), with_gear)
        self.assertEqual(sb.query("SELECT a.athlete_id, count(*), sum(g.athlete_id IS a.athlete_id) FROM activities a "
                                  "JOIN gear g ON g.id = a.gear_id" + order), with_gear)
        # The analytics count each athlete's own.
        self.assertEqual(sb.query("SELECT athlete_id, sum(activities) FROM yearly_totals" + order),
                         [(ann, 6), (bob, 4)])
        self.assertCacheMatches(sb, emu, athlete=ann)
        self.assertCacheMatches(sb, emu, athlete=bob)
        self.assertEqual([r["this_cache"] for r in sb.run("athletes", "--json").json()], [True, True])
        st = sb.run("status", "--json").json()
        self.assertEqual([(a["id"], a["name"], a["authorized"], a["pending_details_and_streams"],
                           a["history_complete"]) for a in st["athletes"]],
                         [(ann, ann_name, True, 0, True), (bob, bob_name, True, 0, True)])
        text = sb.run("status").out
        self.assertIn("athletes:     2\n  %s (%d): last sync %s, 0 details and streams to fetch\n" % (
            ann_name, ann, st["athletes"][0]["last_success"]), text)

        # The extension, in the real sqlite3 shell: athlete_id = and IN are
        # pushed down, and strava_sync_status has a row per athlete.
        p = subprocess.run(["sqlite3", "-batch", "-bail", ":memory:"], input=(
            ".load %s\n"
            "SELECT athlete_id, count(*) FROM strava_activities WHERE athlete_id = %d;\n"
            "SELECT group_concat(id) FROM (SELECT id FROM strava_activities WHERE athlete_id IN (%d, %d) "
            "ORDER BY start_date DESC);\n"
            "EXPLAIN QUERY PLAN SELECT name FROM strava_activities WHERE athlete_id = %d;\n"
            "SELECT athlete_id, mode, added, last_error IS NULL FROM strava_sync_status;\n"
            % (EXT, bob, bob, ann, bob)).encode(), capture_output=True, env=host_env(sb.env()), timeout=120)
        self.assertEqual((p.returncode, p.stderr.decode()), (0, ""))
        newest_first = ",".join(str(r[0]) for r in sb.query("SELECT id FROM activities ORDER BY start_date DESC"))
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[:3] + lines[4:], [
            "%d|4" % bob, newest_first, "QUERY PLAN", "%d|history|6|1" % ann, "%d|history|4|1" % bob])
        self.assertRegex(lines[3], r"^`--SCAN strava_activities VIRTUAL TABLE INDEX \d+:athlete_id=$")

        # Nothing new: one request each, the floor.
        before = emu.api_requests()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(emu.api_requests() - before, 2)
        self.assertEqual([(j["athlete_id"], j["mode"], j["requests"]) for j in r.json()],
                         [(ann, "incremental", 1), (bob, "incremental", 1)])
        # A day after the profiles were fetched: each athlete's is asked for again.
        conn = sb.db()
        with conn:
            conn.execute("UPDATE sync_state SET value = '2000-01-01T00:00:00Z' WHERE key = 'athlete_checked'")
        conn.close()
        before = emu.api_requests()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(emu.api_requests() - before, 4)
        self.assertEqual([j["requests"] for j in r.json()], [2, 2])
        self.assertGreater(sb.scalar("SELECT min(value) FROM sync_state WHERE key = 'athlete_checked'"), "2026")
        # --athlete: that one only.
        before = emu.api_requests()
        self.assertExit(sb.run("sync", "--athlete", bob_name.split()[0].lower()), 0)
        self.assertEqual(emu.api_requests() - before, 1)

        # Bob deletes an activity on Strava; a --full of everyone deletes it
        # and only it: the listing of one athlete never judges another's.
        gone = min(bob_ids)
        emu.delete(gone)
        before = emu.counters()["by_endpoint"]
        self.assertExit(sb.run("sync", "--full"), 0)
        self.assertEqual(sb.activity_ids(), ann_ids | (bob_ids - {gone}))
        # --full asks for each athlete and their zones again, once each.
        after = emu.counters()["by_endpoint"]
        self.assertEqual([after[k] - before[k] for k in ("athlete", "zones", "list")], [2, 2, 4])

        # Bob revokes stravafs on strava.com: his sync stops with one line
        # that says so; Ann's goes on; the exit says a grant failed.
        emu.revoke(bob)
        latest = max(parse_iso(a["start_date"]) for a in emu.activities("summary", athlete=ann))
        ride = emu.create({"name": "Ann's ride", "sport_type": "Ride", "start_date": latest + 3600}, athlete=ann)
        r = sb.run("sync")
        self.assertExit(r, EXIT_AUTH)
        bob_lines = [line for line in r.err.splitlines() if "Strava rejected the stored refresh token" in line]
        self.assertEqual(len(bob_lines), 1, r.err)
        self.assertTrue(bob_lines[0].startswith("athlete %d (%s): " % (bob, bob_name)), bob_lines)
        self.assertIn("athlete %d (%s): incremental done: " % (ann, ann_name), r.err)
        self.assertIn(ride["id"], sb.activity_ids())
        st = {a["id"]: a for a in sb.run("status", "--json").json()["athletes"]}
        self.assertIn("Strava rejected the stored refresh token", st[bob]["last_error"]["message"])
        self.assertNotIn("last_error", st[ann])
        rows = {row["athlete_id"]: row for row in sb.run("athletes", "--json").json()}
        self.assertTrue(rows[bob]["state"].startswith("refused by Strava at "), rows[bob])

        # Removing Bob with --purge deletes his activities only; Ann syncs on alone.
        self.assertExit(sb.run("auth", "--remove", str(bob), "--purge"), 0,
                        "purged athlete %d from %s: 3 activities deleted" % (bob, sb.cache_path))
        self.assertEqual(sb.activity_ids(), ann_ids | {ride["id"]})
        self.assertEqual(sb.scalar("SELECT count(*) FROM sync_state WHERE athlete_id = %d" % bob), 0)
        self.assertEqual(sb.scalar("SELECT count(*) FROM athletes"), 1)
        self.assertIntegrity(sb)
        before = emu.api_requests()
        self.assertExit(sb.run("sync"), 0)
        self.assertEqual(emu.api_requests() - before, 1)

    def test_a_long_history_does_not_starve_the_others(self):
        # 100 requests a day for everyone: the listings come first, then the
        # details and streams go round-robin, so the two short histories are
        # complete before the long one's backlog spends the rest.
        emu = self.emulator("600,10,10", seed=177, args=["--limit", "1000,100", "--read-limit", "1000,100"],
                            unlimited=False)
        sb = self.sandbox(emu, {"sync": {"budget": "100%"}})
        for a in emu.athletes:
            self.grant(sb, emu, a)
        r = sb.run("sync", "--json")
        self.assertExit(r, EXIT_RATE_LIMIT, "daily rate limit")
        self.assertEqual(emu.counters()["rejected"], 0)
        reports = {j["athlete_id"]: j for j in r.json()}
        long, short = emu.athletes[0], emu.athletes[1:]
        for a in emu.athletes:
            ids = {x["id"] for x in emu.activities("summary", athlete=a)}
            self.assertEqual({row[0] for row in sb.query("SELECT id FROM activities WHERE athlete_id = %d" % a)},
                             ids, a)
        for a in short:
            self.assertEqual((reports[a]["details"], reports[a]["deep_pending"]), (10, 0), reports[a])
            self.assertCacheMatches(sb, emu, athlete=a)
        self.assertGreater(reports[long]["details"], 0)
        self.assertGreater(reports[long]["deep_pending"], 0)
        self.assertIntegrity(sb)

    def test_each_athlete_resumes_their_own_listing_after_kill_9(self):
        # A sync killed in Bob's history listing: Ann's finished sync stays
        # finished, Bob's listing resumes where it stopped.
        emu = self.emulator("3,700", seed=178)
        ann, bob = emu.athletes
        sb = self.sandbox(emu, {"sync": {"details": "no", "streams": ""}})
        for a in (ann, bob):
            self.grant(sb, emu, a)
        emu.faults([{"match": "/athlete/activities", "kind": "slow", "count": -1, "delay_ms": 400}])
        p = self.start(sb, "sync")
        bobs = "SELECT count(*) FROM activities WHERE athlete_id = %d" % bob

        def bobs_first_page():
            try:
                return sb.scalar(bobs) >= 200
            except sqlite3.OperationalError:  # no cache or no schema yet
                return False
        wait_until(bobs_first_page, 60, "Bob's first page")
        os.kill(p.pid, signal.SIGKILL)
        self.assertEqual(sb.finish(p).rc, -signal.SIGKILL)
        self.assertIntegrity(sb)
        held = sb.scalar(bobs)
        self.assertEqual(held % 200, 0, "whole pages only")
        self.assertLess(held, 700)
        state = {(a, k) for a, k in sb.query("SELECT athlete_id, key FROM sync_state")}
        self.assertIn((ann, "history_complete"), state)
        self.assertIn((bob, "job"), state)
        self.assertNotIn((bob, "history_complete"), state)

        emu.clear_faults()
        r = sb.run("sync")
        self.assertExit(r, 0, "resuming the interrupted history listing at page %d" % (held // 200 + 1))
        self.assertEqual(sb.scalar(bobs), 700)
        self.assertEqual(sb.scalar("SELECT count(*) FROM sync_state WHERE key = 'job'"), 0)
        self.assertCacheMatches(sb, emu, athlete=bob, detail=False)
        self.assertCacheMatches(sb, emu, athlete=ann, detail=False)

        # Bob's grant removed, his data kept: status says, on his line, why he cannot sync.
        self.assertExit(sb.run("auth", "--remove", str(bob)), 0, "grant revoked at Strava and removed")
        st = {a["id"]: a for a in sb.run("status", "--json").json()["athletes"]}
        self.assertEqual((st[ann]["authorized"], st[bob]["authorized"]), (True, False))
        why = ("athlete %d is not authorized here (the grants are %d (Zoë Ångström-O'Brien)): run `stravafs auth` "
               "as that athlete" % (bob, ann))
        self.assertEqual(st[bob]["not_authorized"], why)
        self.assertNotIn("not_authorized", st[ann])
        self.assertIn("; not authorized: %s\n" % why, sb.run("status").out)

    def test_an_export_goes_to_its_athlete_and_loose_files_to_the_one_named(self):
        sb = self.sandbox(None)
        exports = {}
        for k in (0, 1):
            dest = os.path.join(sb.root, "export-%d" % k)
            argv = [EMULATOR, "--activities", "3,2", "--seed", "173", "--end", "2026-11-01", "--write-export", dest]
            if k:
                argv += ["--export-athlete", str(3141592653 + k)]
            p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            exports[k] = dest
        self.assertExit(sb.run("import", exports[0], config=False), 0)
        ann = sb.scalar("SELECT id FROM athletes")
        self.assertEqual(ann, 3141592653)
        before = sb.activity_ids()
        self.assertEqual(len(before), 3)

        # The second athlete's export: their activities, under their id.
        self.assertExit(sb.run("import", exports[1], config=False), 0)
        self.assertEqual(sb.query("SELECT id, firstname, lastname FROM athletes ORDER BY id"),
                         [(ann, "Zoë", "Ångström-O'Brien"), (ann + 1, "Malik", "Haddad")])
        self.assertEqual({row[0]: row[1] for row in sb.query(
            "SELECT athlete_id, count(*) FROM activities GROUP BY 1")}, {ann: 3, ann + 1: 2})
        # Both have bikes and shoes of the same names: each keeps their own.
        self.assertEqual(sb.query("SELECT athlete_id, count(*), count(DISTINCT name) FROM gear GROUP BY 1 ORDER BY 1"),
                         [(ann, 6, 6), (ann + 1, 6, 6)])
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities a JOIN gear g ON g.id = a.gear_id "
                                   "WHERE g.athlete_id IS NOT a.athlete_id"), 0)
        self.assertTrue(before < sb.activity_ids())
        self.assertIntegrity(sb)

        # A loose file in a cache of two: whose it is must be said.
        loose = os.path.join(sb.root, "walk.gpx")
        pts = "".join('<trkpt lat="%.5f" lon="2.35"><ele>35</ele><time>2026-11-20T07:%02d:00Z</time></trkpt>' % (
            48.85 + k / 1000, k) for k in range(6))
        sb.write_file(loose, '<?xml version="1.0"?>\n<gpx version="1.1" creator="test" '
                      'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>Walk</name><trkseg>%s</trkseg></trk></gpx>\n'
                      % pts)
        r = sb.run("import", loose, config=False)
        self.assertExit(r, EXIT_PARTIAL, "%s: this cache holds several athletes (%d (Zoë Ångström-O'Brien), %d "
                        "(Malik Haddad)): name whose files these are with `stravafs import --athlete ATHLETE` "
                        "(or `[import] athlete` for [import] folders)" % (loose, ann, ann + 1))
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), 5)
        self.assertExit(sb.run("import", "--athlete", "Nobody", loose, config=False), EXIT_USAGE,
                        '"Nobody" names no athlete in %s' % sb.cache_path)
        self.assertExit(sb.run("import", "--athlete", "malik", loose, config=False), 0)
        self.assertEqual(sb.query("SELECT athlete_id, name FROM activities WHERE start_date = '2026-11-20T07:00:00Z'"),
                         [(ann + 1, "Walk")])

        # [import] folders with [import] athlete: a sync without Strava imports them as hers.
        folder = os.path.join(sb.root, "watch")
        os.mkdir(folder)
        with open(loose) as f:
            sb.write_file(os.path.join(folder, "ride.gpx"), f.read().replace("2026-11-20", "2026-11-21")
                          .replace("Walk", "Ride"))
        conf = os.path.join(sb.root, "shared.conf")
        sb.write_file(conf, "[cache]\npath = %s\n[import]\nfolders = %s\nathlete = zoë ångström-o'brien\n" % (
            sb.cache_path, folder))
        r = sb.run("--config", conf, "sync", config=False)
        self.assertExit(r, EXIT_USAGE, "%s: [import] athlete: \"zoë ångström-o'brien\" names no athlete in %s" % (
            conf, sb.cache_path))  # (ASCII case only: Ö is not ö)
        # The mount's background import logs the same and imports nothing.
        m = self.mount(sb, config=conf, options=["-o", "refresh=1s"])
        wait_until(lambda: "[import] athlete" in m.stderr(), 30, "the mount's background import to complain")
        self.assertIn("background import: %s: [import] athlete: \"zoë ångström-o'brien\" names no athlete in %s" % (
            conf, sb.cache_path), m.stderr())
        self.assertEqual(sb.query("SELECT count(*) FROM activities WHERE start_date = '2026-11-21T07:00:00Z'"),
                         [(0,)])
        self.assertEqual(unmount(m.path), [])
        self.assertEqual(m.proc.wait(10), 0, m.stderr())
        sb.write_file(conf, "[cache]\npath = %s\n[import]\nfolders = %s\nathlete = Zoë\n" % (sb.cache_path, folder))
        self.assertExit(sb.run("--config", conf, "sync", config=False), 0)
        self.assertEqual(sb.query("SELECT athlete_id, name FROM activities WHERE start_date = '2026-11-21T07:00:00Z'"),
                         [(ann, "Ride")])

    def test_two_athletes_authorizing_and_refreshing_at_once_keep_both_grants(self):
        # One token lock for every grant: on a new machine both would
        # otherwise take tokens.json, and the later one would win.
        emu = self.emulator("3,2", seed=174)
        ann, bob = emu.athletes
        emu.faults([{"match": "/oauth/token", "kind": "slow", "count": -1, "delay_ms": 300}])
        for attempt in range(3):
            sb = self.sandbox(emu, name="sb%d" % attempt)
            codes = {a: emu.code(athlete=a)["code"] for a in (ann, bob)}
            with ThreadPoolExecutor(2) as pool:
                runs = list(pool.map(lambda a: sb.run("auth", "--code", "-", stdin=codes[a] + "\n"), (ann, bob)))
            for r in runs:
                self.assertExit(r, 0, "authorized athlete")
            self.assertEqual(sorted(row["athlete_id"] for row in sb.run("athletes", "--json").json()), [ann, bob])
            self.assertEqual(stat.S_IMODE(os.stat(sb.state_dir).st_mode), 0o700)

        # Both access tokens run out; two syncs on two caches refresh at once,
        # each its own grant, into its own file.
        bob_conf = os.path.join(sb.root, "bob.conf")
        with open(sb.config_path) as f:
            sb.write_file(bob_conf, f.read().replace(sb.cache_path, os.path.join(sb.root, "bob.db")))
        # Whoever saved first has tokens.json, the other tokens-ID.json.
        files = {row["athlete_id"]: row["file"] for row in sb.run("athletes", "--json").json()}
        self.assertEqual(sorted(os.path.basename(f) for f in files.values()),
                         sorted(["tokens.json", "tokens-%d.json" % (bob if files[ann] == sb.tokens_path else ann)]))

        def access(a):
            with open(files[a]) as f:
                return json.load(f)["access_token"]
        old = {a: access(a) for a in (ann, bob)}
        emu.expire_tokens()
        before = emu.counters()["by_endpoint"]["token"]
        p1 = sb.start("sync", "--athlete", str(ann))
        p2 = sb.start("--config", bob_conf, "sync", "--athlete", str(bob), config=False)
        self.assertExit(sb.finish(p1), 0)
        self.assertExit(sb.finish(p2), 0)
        self.assertEqual(emu.counters()["by_endpoint"]["token"] - before, 2, "one refresh each")
        for a in (ann, bob):
            self.assertNotEqual(access(a), old[a])
            self.assertEqual(os.stat(files[a]).st_mode & 0o777, 0o600)
        self.assertEqual(sb.activity_ids(), {x["id"] for x in emu.activities("summary", athlete=ann)})
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), 3)

    def test_the_mount_and_the_extension_refresh_every_athlete(self):
        # Two grants and one cache of both: the refreshes of the mount and of
        # the extension bring both current, as `stravafs sync` does.
        emu = self.emulator("3,4", seed=175)
        ann, bob = emu.athletes
        sb = self.sandbox(emu, {"sync": {"max_age": "1s", "details": "no", "streams": ""}})
        for a in (ann, bob):
            self.grant(sb, emu, a)
        self.assertExit(sb.run("sync"), 0)
        latest = {a: max(parse_iso(x["start_date"]) for x in emu.activities("summary", athlete=a)) for a in (ann, bob)}

        # The extension, in the real sqlite3 shell: its refresh finds Bob's new
        # ride (Ann's listing: one request; Bob's: the page and the empty one).
        ride = emu.create({"name": "Bob's ride", "sport_type": "Ride", "start_date": latest[bob] + 3600}, athlete=bob)
        time.sleep(1.2)  # past max_age
        p = subprocess.run(["sqlite3", "-batch", "-bail", ":memory:"],
                           input=(".load %s\nSELECT name FROM strava_activities WHERE id = %d;\n"
                                  "SELECT refresh FROM strava_sync_status WHERE athlete_id = %d;\n"
                                  "SELECT count(*) FROM strava_activities;\n" % (EXT, ride["id"], bob)).encode(),
                           capture_output=True, env=host_env(sb.env()), timeout=120)
        self.assertEqual((p.returncode, p.stderr.decode()), (0, ""))
        self.assertEqual(p.stdout.decode().splitlines(),
                         ["Bob's ride", "refreshed: 1 new, 0 changed, 0 deleted, 3 requests", "8"])

        # The mount's background sync finds a new run of each, in each one's folder.
        m = self.mount(sb, options=["-o", "refresh=1s"])
        folders = {a: self.name_of(emu, a).replace(" ", "-") for a in (ann, bob)}
        self.assertEqual(sorted(os.listdir(m.path)), sorted(["activities.csv", "stats"] + list(folders.values())))
        runs = [emu.create({"name": "%d's run" % a, "sport_type": "Run", "start_date": latest[a] + 7200}, athlete=a)
                for a in (ann, bob)]
        for a, run in zip((ann, bob), runs):
            link = os.path.join(m.path, folders[a], "by-id", "%d.json" % run["id"])
            wait_until(lambda: os.path.lexists(link), 30, "the background sync to fetch activity %d" % run["id"])
            with open(link) as f:
                self.assertEqual(json.load(f)["name"], run["name"])
            with open(os.path.join(m.path, folders[a], "athlete.json")) as f:
                self.assertEqual(json.load(f)["id"], a)
        self.assertEqual({row[0]: row[1] for row in sb.query(
            "SELECT athlete_id, count(*) FROM activities GROUP BY 1")}, {ann: 4, bob: 6})
        self.assertNotIn("several athletes", m.stderr())  # a folder each from the start: no switch

    def test_remove_refreshes_an_expired_token_and_removes_even_when_strava_fails(self):
        # stravafs(1) auth --remove: an expired access token is refreshed
        # first, and a revocation Strava does not confirm still removes the
        # grant here, with a line that says what to do.
        emu = self.emulator(3, seed=176)
        athlete = emu.athletes[0]
        sb = self.sandbox(emu)
        self.grant(sb, emu)
        tokens = sb.tokens()
        tokens["expires_at"] = 1  # long expired
        sb.write_file(sb.tokens_path, json.dumps(tokens))
        before = emu.counters()["by_endpoint"]
        self.assertExit(sb.run("auth", "--remove", str(athlete)), 0, "grant revoked at Strava and removed")
        after = emu.counters()["by_endpoint"]
        self.assertEqual((after["token"] - before["token"], after["deauthorize"] - before["deauthorize"]), (1, 1))
        self.assertFalse(os.path.exists(sb.tokens_path))

        self.grant(sb, emu)
        emu.faults([{"match": "/oauth/deauthorize", "kind": "500", "count": -1}])
        r = sb.run("auth", "--remove", str(athlete))
        self.assertExit(r, 0, "grant removed here, but Strava did not confirm the revocation",
                        "https://www.strava.com/settings/apps")
        self.assertFalse(os.path.exists(sb.tokens_path))

if __name__ == "__main__":
    main()
