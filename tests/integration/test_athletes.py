"""Several athletes under one Strava app (issue 17): one grant file per
athlete, `stravafs athletes`, `stravafs auth --remove [--purge]`, which
grant a sync uses (the one named, the cache's athlete's, or the only one),
and an export of another athlete than the cache holds."""

import json
import os
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (EMULATOR, EXIT_AUTH, EXIT_USAGE, TestCase, host_env, http, main, parse_iso,  # noqa: E402
                     wait_until)

EXT = os.environ.get("STRAVA_EXT", "")

EXIT_PARTIAL = 5


class Athletes(TestCase):
    def grant(self, sb, emu, athlete=None):
        code = emu.code(athlete=athlete)["code"]
        r = sb.run("auth", "--code", "-", stdin=code + "\n")
        self.assertExit(r, 0, "authorized")
        return r

    def name_of(self, emu, athlete=None):
        status, body = emu.api("/athlete", athlete)
        self.assertEqual(status, 200)
        return "%s %s" % (body["firstname"], body["lastname"])

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

    def test_two_athletes_each_grant_in_its_own_file_and_each_cache_holds_one(self):
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

        # A new cache and two grants: the sync asks whose.
        self.assertExit(sb.run("sync"), EXIT_AUTH, "several athletes are authorized here (%d (%s), %d (%s))" % (
            ann, ann_name, bob, bob_name), "--athlete")
        st = sb.run("status")
        self.assertExit(st, 0)
        self.assertIn("authorized:   no: several athletes are authorized here (%d (%s), %d (%s))" % (
            ann, ann_name, bob, bob_name), st.out)
        self.assertTrue(sb.run("status", "--json").json()["not_authorized"].startswith("several athletes"))
        self.assertExit(sb.run("sync", "--athlete", str(ann)), 0)
        self.assertIn("authorized:   yes\n", sb.run("status").out)
        self.assertNotIn("not_authorized", sb.run("status", "--json").json())
        ann_ids = {a["id"] for a in emu.activities("summary", athlete=ann)}
        self.assertEqual(sb.activity_ids(), ann_ids)
        # Then the cache's athlete is the default, and another athlete is refused.
        self.assertExit(sb.run("sync"), 0)
        self.assertExit(sb.run("sync", "--athlete", bob_name), EXIT_USAGE,
                        "this cache holds athlete %d, not athlete %d" % (ann, bob), "`[cache] path`")
        self.assertEqual(sb.activity_ids(), ann_ids)

        # Bob's cache under a config of its own, sharing the grants.
        bob_conf = os.path.join(sb.root, "bob.conf")
        bob_cache = os.path.join(sb.root, "bob.db")
        with open(sb.config_path) as f:
            sb.write_file(bob_conf, f.read().replace(sb.cache_path, bob_cache))
        self.assertExit(sb.run("--config", bob_conf, "sync", "--athlete", bob_name.split()[0].lower(), config=False), 0)
        self.assertExit(sb.run("--config", bob_conf, "sync", config=False), 0)
        bob_rows = sb.run("--config", bob_conf, "athletes", "--json", config=False).json()
        self.assertEqual([r["this_cache"] for r in bob_rows], [False, True])

        # Bob revokes stravafs on strava.com: his syncs stop, with one line
        # that says so, and `athletes` shows it; Ann's go on.
        emu.revoke(bob)
        r = sb.run("--config", bob_conf, "sync", config=False)
        self.assertExit(r, EXIT_AUTH, "Strava rejected the stored refresh token")
        self.assertEqual(len([line for line in r.err.splitlines() if line.startswith("stravafs: ")]), 1, r.err)
        rows = {row["athlete_id"]: row for row in sb.run("athletes", "--json").json()}
        self.assertTrue(rows[bob]["state"].startswith("refused by Strava at "), rows[bob])
        self.assertIn("run `stravafs auth` again", rows[bob]["state"])
        self.assertTrue(rows[ann]["state"].startswith("active"), rows[ann])
        self.assertExit(sb.run("sync"), 0)

        # Removing Bob revokes only Bob: Ann's sync goes on.
        with open(bob_file) as f:
            bob_access = json.load(f)["access_token"]
        self.assertExit(sb.run("auth", "--remove", str(bob)), 0, "grant revoked at Strava and removed")
        self.assertFalse(self.access_works(emu, bob_access))
        self.assertFalse(os.path.exists(bob_file))
        self.assertExit(sb.run("sync"), 0)
        self.assertExit(sb.run("--config", bob_conf, "sync", config=False), EXIT_AUTH,
                        "athlete %d is not authorized here" % bob)
        self.assertIn("authorized:   no: athlete %d is not authorized here" % bob,
                      sb.run("--config", bob_conf, "status", config=False).out)

    def test_an_export_of_another_athlete_is_refused_and_changes_nothing(self):
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

        r = sb.run("import", exports[1], config=False)
        self.assertExit(r, EXIT_PARTIAL, "%s: this export is athlete %d (Malik Haddad)'s, but the "
                        "cache holds athlete %d's: one cache holds one athlete" % (exports[1], ann + 1, ann), "`[cache] path`")
        self.assertEqual(sb.activity_ids(), before)
        self.assertEqual(sb.scalar("SELECT count(*) FROM athletes"), 1)
        self.assertEqual(sb.scalar("SELECT count(DISTINCT athlete_id) FROM activities"), 1)
        self.assertIntegrity(sb)

        # Under a config of its own, the same export imports.
        bob_conf = os.path.join(sb.root, "bob.conf")
        sb.write_file(bob_conf, "[cache]\npath = %s\n" % os.path.join(sb.root, "bob.db"))
        self.assertExit(sb.run("--config", bob_conf, "import", exports[1], config=False), 0)

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

    def test_the_mount_and_the_extension_refresh_with_the_cache_athletes_grant(self):
        # Two grants, and a cache of the second athlete (tokens-ID.json): the
        # refreshes of the mount and of the extension use that grant, as a
        # sync does, without being told.
        emu = self.emulator("3,4", seed=175)
        ann, bob = emu.athletes
        sb = self.sandbox(emu, {"sync": {"max_age": "1s", "details": "no", "streams": ""}})
        for a in (ann, bob):
            self.grant(sb, emu, a)
        self.assertExit(sb.run("sync", "--athlete", str(bob)), 0)
        latest = max(parse_iso(a["start_date"]) for a in emu.activities("summary", athlete=bob))

        # The extension, in the real sqlite3 shell: its refresh finds Bob's new ride.
        ride = emu.create({"name": "Bob's ride", "sport_type": "Ride", "start_date": latest + 3600}, athlete=bob)
        time.sleep(1.2)  # past max_age
        p = subprocess.run(["sqlite3", "-batch", "-bail", ":memory:"],
                           input=(".load %s\nSELECT name FROM strava_activities WHERE id = %d;\n"
                                  "SELECT refresh FROM strava_sync_status;\n"
                                  "SELECT count(*) FROM strava_activities;\n" % (EXT, ride["id"])).encode(),
                           capture_output=True, env=host_env(sb.env()), timeout=120)
        self.assertEqual((p.returncode, p.stderr.decode()), (0, ""))
        self.assertEqual(p.stdout.decode().splitlines(),
                         ["Bob's ride", "refreshed: 1 new, 0 changed, 0 deleted, 2 requests", "5"])

        # The mount's background sync finds his next run.
        m = self.mount(sb, options=["-o", "refresh=1s"])
        run = emu.create({"name": "Bob's run", "sport_type": "Run", "start_date": latest + 7200}, athlete=bob)
        link = os.path.join(m.path, "by-id", "%d.json" % run["id"])
        wait_until(lambda: os.path.lexists(link), 30, "the background sync to fetch activity %d" % run["id"])
        with open(link) as f:
            self.assertEqual(json.load(f)["name"], "Bob's run")
        self.assertEqual(sb.scalar("SELECT count(DISTINCT athlete_id) FROM activities"), 1)
        self.assertNotIn("several athletes", m.stderr())


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
