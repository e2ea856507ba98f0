"""Authorization: the browser flow on a loopback listener (state, granted
scopes), the headless forms, token expiry and refresh-token rotation, revoked
tokens, and that tokens never leak into output, the cache or the config."""

import glob
import json
import os
import stat
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EXIT_AUTH, EXIT_ERROR, EXIT_USAGE, TestCase, http, main  # noqa: E402


class Tokens(TestCase):
    def assertPrivate(self, sb):
        self.assertEqual(stat.S_IMODE(os.stat(sb.tokens_path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(sb.state_dir).st_mode), 0o700)
        # tokens.json.lock (empty) serializes refreshes between processes;
        # nothing else, no temporary file, stays next to the tokens.
        files = sorted(os.listdir(sb.state_dir))
        self.assertIn(files, (["tokens.json"], ["tokens.json", "tokens.json.lock"]), "stray files next to the tokens")
        if "tokens.json.lock" in files:
            lock = os.path.join(sb.state_dir, "tokens.json.lock")
            self.assertEqual((stat.S_IMODE(os.stat(lock).st_mode), os.path.getsize(lock)), (0o600, 0))

    def assertNoTokenLeak(self, sb, tokens):
        secrets = {t for t in tokens if t}
        self.assertTrue(secrets)
        for r in sb.runs:
            for s in secrets:
                self.assertNotIn(s, r.out, "a token in the stdout of %s" % r.argv)
                self.assertNotIn(s, r.err, "a token in the stderr of %s" % r.argv)
                self.assertNotIn(s, " ".join(r.argv))
        files = glob.glob(sb.cache_path + "*") + glob.glob(os.path.join(sb.config_home, "**"), recursive=True) + \
            glob.glob(os.path.join(sb.data_home, "**"), recursive=True)
        self.assertTrue(any(f.endswith("cache.db") for f in files))
        for f in files:
            if not os.path.isfile(f):
                continue
            with open(f, "rb") as fh:
                data = fh.read()
            for s in secrets:
                self.assertNotIn(s.encode(), data, "a token in %s" % f)

    def test_two_processes_refreshing_at_once_both_go_on(self):
        # Issue 15: two syncs on two caches share tokens.json; with a slow
        # token endpoint one of them said "run `stravafs auth` again" though
        # the grant was fine. Now one refreshes, the other reads its result.
        emu = self.emulator(30, seed=81)
        sb = self.sandbox(emu)
        sb.authorize()
        other = os.path.join(sb.root, "other.conf")
        with open(sb.config_path) as f:
            sb.write_file(other, f.read().replace(sb.cache_path, os.path.join(sb.root, "other.db")))
        emu.expire_tokens()  # both will get a 401 and force a refresh
        emu.faults([{"match": "/oauth/token", "kind": "slow", "count": -1, "delay_ms": 700}])
        before = emu.counters()["by_endpoint"]["token"]
        p1 = sb.start("sync", config=True)
        p2 = sb.start("--config", other, "sync", config=False)
        r1, r2 = sb.finish(p1), sb.finish(p2)
        self.assertExit(r1, 0)
        self.assertExit(r2, 0)
        self.assertEqual(emu.counters()["by_endpoint"]["token"] - before, 1, "one refresh for both")
        self.assertPrivate(sb)

    def test_expiry_refreshes_and_the_rotated_refresh_token_is_saved(self):
        emu = self.emulator(10, seed=80)
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertPrivate(sb)
        t0 = sb.tokens()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(emu.counters()["by_endpoint"]["token"], 1)

        emu.expire_tokens()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(emu.counters()["by_endpoint"]["token"], 2)
        t1 = sb.tokens()
        self.assertNotEqual(t1["refresh_token"], t0["refresh_token"])
        self.assertNotEqual(t1["access_token"], t0["access_token"])
        self.assertGreater(t1["expires_at"], time.time() + 3600)
        self.assertPrivate(sb)
        # Strava killed the old refresh token: only the saved one works now.
        status, body = emu.refresh(t0["refresh_token"])
        self.assertEqual(status, 400, body)
        tokens_before = emu.counters()["by_endpoint"]["token"]

        # A second rotation works from the saved token.
        emu.expire_tokens()
        r = sb.run("sync")
        self.assertExit(r, 0)
        t2 = sb.tokens()
        self.assertNotEqual(t2["refresh_token"], t1["refresh_token"])
        self.assertPrivate(sb)
        self.assertEqual(emu.counters()["by_endpoint"]["token"], tokens_before + 1)

        r = sb.run("status", "--json")
        self.assertExit(r, 0)
        self.assertTrue(r.json()["authorized"])
        self.assertExit(sb.run("status"), 0)
        self.assertNoTokenLeak(sb, [t[k] for t in (t0, t1, t2) for k in ("access_token", "refresh_token")])

    def test_rotated_refresh_token_is_saved_even_when_the_sync_then_fails(self):
        emu = self.emulator(5, seed=81)
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        t0 = sb.tokens()
        emu.expire_tokens()
        # The first list request meets the expired token (401, refresh); the
        # five after it fail.
        emu.faults([{"match": "/athlete/activities", "kind": "503", "count": 5, "skip": 1}])
        r = sb.run("sync")
        self.assertExit(r, EXIT_ERROR, "HTTP 503")
        t1 = sb.tokens()
        self.assertNotEqual(t1["refresh_token"], t0["refresh_token"])
        emu.expire_tokens()
        self.assertExit(sb.run("sync"), 0)
        self.assertNoTokenLeak(sb, [t0["refresh_token"], t1["refresh_token"], t1["access_token"]])

    def test_revoked_authorization_exits_3_and_says_to_run_auth(self):
        emu = self.emulator(5, seed=82)
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        t = sb.tokens()
        status, _, _ = http("POST", emu.base_url + "/oauth/deauthorize",
                            headers={"Authorization": "Bearer " + t["access_token"]})
        self.assertEqual(status, 200)
        emu.create({"name": "after the revocation"})
        r = sb.run("sync", "--json")
        self.assertExit(r, EXIT_AUTH, "stravafs auth")
        self.assertFalse(r.json()["ok"])
        self.assertIntegrity(sb)
        r = sb.run("status")
        self.assertExit(r, 0)
        self.assertIn("stravafs auth", r.out)
        self.assertNoTokenLeak(sb, [t["access_token"], t["refresh_token"]])

    def test_invalid_stored_refresh_token_exits_3(self):
        emu = self.emulator(5, seed=83)
        sb = self.sandbox(emu)
        sb.authorize()
        t = sb.tokens()
        t["refresh_token"] = "0" * 40
        t["expires_at"] = 0  # forces a refresh before the first request
        sb.write_file(sb.tokens_path, json.dumps(t), 0o600)
        r = sb.run("sync")
        self.assertExit(r, EXIT_AUTH, "refresh token", "stravafs auth")
        self.assertEqual(emu.api_requests(), 0)

    def test_not_authorized_exits_3(self):
        emu = self.emulator(5, seed=84)
        sb = self.sandbox(emu)
        r = sb.run("sync")
        self.assertExit(r, EXIT_AUTH, "not authorized", "stravafs auth")
        self.assertEqual(emu.counters()["total"], 0)

    def test_refresh_token_from_standard_input(self):
        emu = self.emulator(5, seed=85)
        sb = self.sandbox(emu)
        mine = emu.new_tokens()
        r = sb.run("auth", "--refresh-token", stdin=mine["refresh_token"] + "\n")
        self.assertExit(r, 0, "authorized")
        self.assertPrivate(sb)
        self.assertEqual(sb.tokens()["refresh_token"], mine["refresh_token"])
        # The token reply names no athlete: auth asked Strava whose grant it is.
        self.assertEqual(sb.tokens()["athlete_id"], emu.athletes[0])
        self.assertIn("authorized athlete %d (" % emu.athletes[0], r.err)
        self.assertExit(sb.run("sync"), 0)
        self.assertCacheMatches(sb, emu)

        r = sb.run("auth", "--refresh-token", stdin="")
        self.assertExit(r, EXIT_USAGE, "standard input")
        r = sb.run("auth", "--refresh-token", stdin="f" * 40 + "\n")
        self.assertExit(r, EXIT_AUTH, "refresh token")
        # The failed attempt left the working tokens alone.
        self.assertEqual(sb.tokens()["refresh_token"], mine["refresh_token"])
        self.assertNoTokenLeak(sb, [mine["refresh_token"], mine["access_token"], "f" * 40])

    def test_code_from_standard_input(self):
        # Issue 15: --code CODE shows the code in the process list; `--code -`
        # reads it from standard input, as --refresh-token reads its token.
        emu = self.emulator(5, seed=87)
        sb = self.sandbox(emu)
        code = emu.code()["code"]
        r = sb.run("auth", "--code", "-", stdin=code + "\n")
        self.assertExit(r, 0, "authorized")
        self.assertPrivate(sb)
        self.assertNotIn(code, " ".join(r.argv))
        self.assertExit(sb.run("sync"), 0)
        self.assertCacheMatches(sb, emu)
        self.assertExit(sb.run("auth", "--code", "-", stdin=""), EXIT_USAGE, "standard input, which was empty")

    def test_used_or_unknown_code_exits_3(self):
        emu = self.emulator(5, seed=86)
        sb = self.sandbox(emu)
        code = emu.code()["code"]
        self.assertExit(sb.run("auth", "--code", code), 0)
        r = sb.run("auth", "--code", code)
        self.assertExit(r, EXIT_AUTH, "authorization code", "stravafs auth")
        self.assertNotIn(code, r.err)

    def test_wrong_client_secret_is_named(self):
        emu = self.emulator(5, seed=87)
        sb = self.sandbox(emu)
        sb.write_file(sb.secret_path, "not-the-secret\n", 0o600)
        r = sb.run("auth", "--code", emu.code()["code"])
        self.assertExit(r, EXIT_AUTH, "client id or secret")
        self.assertNotIn("not-the-secret", r.err)


class Scope(TestCase):
    def start_browser_flow(self, sb, *extra):
        """Starts `stravafs auth --no-browser` and returns (process, authorize URL)."""
        p = self.start(sb, "auth", "--no-browser", *extra)
        out = p.files[0]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out.seek(0)
            text = out.read().decode()
            if text.endswith("\n"):
                return p, text.strip()
            self.assertIsNone(p.poll(), "auth exited early")
            time.sleep(0.02)
        self.fail("auth printed no URL")

    def authorize_in_browser(self, url):
        """What a browser does: follow Strava's redirect to our listener."""
        status, headers, body = http("GET", url)
        self.assertEqual(status, 302, body)
        return headers["Location"]

    def with_state(self, location, state):
        u = urllib.parse.urlsplit(location)
        q = urllib.parse.parse_qs(u.query)
        q["state"] = [state]
        return urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q, doseq=True)))

    def test_browser_flow_end_to_end_and_wrong_state_keeps_waiting(self):
        emu = self.emulator(6, seed=90)
        sb = self.sandbox(emu)
        p, url = self.start_browser_flow(sb)
        u = urllib.parse.urlsplit(url)
        q = urllib.parse.parse_qs(u.query)
        self.assertEqual(url.split("?")[0], emu.base_url + "/oauth/authorize")
        self.assertEqual(q["client_id"], ["12345"])
        self.assertEqual(q["response_type"], ["code"])
        self.assertEqual(q["scope"], ["read,activity:read_all,profile:read_all"])
        self.assertRegex(q["state"][0], "^[0-9a-f]{32}$")
        redirect = urllib.parse.urlsplit(q["redirect_uri"][0])
        self.assertEqual((redirect.scheme, redirect.hostname), ("http", "127.0.0.1"))

        location = self.authorize_in_browser(url)
        self.assertTrue(location.startswith(q["redirect_uri"][0] + "?"), location)
        # A request with another state is not ours: 400, and we keep waiting.
        status, _, body = http("GET", self.with_state(location, "f" * 32))
        self.assertEqual(status, 400)
        self.assertIn(b"state", body)
        status, _, _ = http("GET", self.with_state(location, ""))
        self.assertEqual(status, 400)
        time.sleep(0.2)
        self.assertIsNone(p.poll(), "auth gave up after a wrong state")

        status, _, body = http("GET", location)
        self.assertEqual(status, 200, body)
        r = sb.finish(p, timeout=10)
        self.assertExit(r, 0, "authorized")
        granted = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["scope"][0]
        self.assertEqual(sb.tokens()["scope"], granted)
        self.assertEqual(stat.S_IMODE(os.stat(sb.tokens_path).st_mode), 0o600)
        self.assertExit(sb.run("sync"), 0)
        self.assertCacheMatches(sb, emu)

    def test_browser_flow_with_activity_read_all_unticked_exits_3(self):
        emu = self.emulator(6, seed=91, args=["--grant-scope", "read,profile:read_all"])
        sb = self.sandbox(emu)
        p, url = self.start_browser_flow(sb)
        location = self.authorize_in_browser(url)
        status, _, body = http("GET", location)
        self.assertEqual(status, 403)
        self.assertIn(b"activity:read_all", body)
        r = sb.finish(p, timeout=10)
        self.assertExit(r, EXIT_AUTH, "activity:read_all", "stravafs auth")
        self.assertFalse(os.path.exists(sb.tokens_path))
        self.assertEqual(emu.counters()["by_endpoint"]["token"], 0, "the code of a refused grant was exchanged")

    def test_browser_flow_denied_exits_3(self):
        emu = self.emulator(6, seed=92, args=["--deny"])
        sb = self.sandbox(emu)
        p, url = self.start_browser_flow(sb)
        status, _, _ = http("GET", self.authorize_in_browser(url))
        self.assertEqual(status, 403)
        r = sb.finish(p, timeout=10)
        self.assertExit(r, EXIT_AUTH, "access_denied", "stravafs auth")
        self.assertFalse(os.path.exists(sb.tokens_path))

    def test_browser_flow_times_out(self):
        emu = self.emulator(6, seed=93)
        sb = self.sandbox(emu)
        p, _ = self.start_browser_flow(sb, "--timeout", "1s")
        r = sb.finish(p, timeout=10)
        self.assertExit(r, EXIT_AUTH, "no redirect", "auth --code")

    def test_auth_port_0_lets_the_system_pick_a_port(self):
        # `--port 0` is the conventional "any free port", and what scripts
        # that pass the port through write when they have no preference.
        emu = self.emulator(6, seed=94)
        sb = self.sandbox(emu)
        p, url = self.start_browser_flow(sb, "--port", "0")
        status, _, _ = http("GET", self.authorize_in_browser(url))
        self.assertEqual(status, 200)
        self.assertExit(sb.finish(p, timeout=10), 0)

    def test_headless_code_without_activity_scope_fails_at_sync_naming_it(self):
        emu = self.emulator(6, seed=95)
        sb = self.sandbox(emu)
        code = emu.code("read")["code"]
        self.assertExit(sb.run("auth", "--code", code), 0)
        r = sb.run("sync")
        self.assertExit(r, EXIT_AUTH, "activity:read_all", "stravafs auth")
        self.assertEqual(emu.counters()["by_endpoint"]["list"], 1, "a missing scope is not retried")


if __name__ == "__main__":
    main()
