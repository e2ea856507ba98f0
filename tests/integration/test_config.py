"""Config errors through the CLI: each exits 2 with a message naming the
file, the line and the key; secrets in readable files are refused; and the
config is found where stravafs.conf(5) says."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CLIENT_SECRET, EXIT_USAGE, TestCase, host_env, main  # noqa: E402


class Config(TestCase):
    def setUp(self):
        super().setUp()
        # No request may reach the emulator from a bad config.
        self.emu = self.emulator(3, seed=1)
        self.sb = self.sandbox(self.emu)

    def write(self, lines, mode=0o600):
        """Writes the config from lines; returns {text of a line: its number}."""
        self.sb.write_file(self.sb.config_path, "\n".join(lines) + "\n", mode)
        return {line: i + 1 for i, line in enumerate(lines)}

    def base(self):
        return ["# a test config", "[strava]", "client_id = 12345", "client_secret_file = " + self.sb.secret_path,
                "base_url = " + self.emu.base_url, "", "[cache]", "path = " + self.sb.cache_path]

    def assertConfigError(self, r, line, *substrings):
        where = "%s:%d: " % (self.sb.config_path, line)
        self.assertExit(r, EXIT_USAGE, where, *substrings)
        self.assertEqual(r.out, "")
        self.assertEqual(self.emu.counters()["total"], 0)
        self.assertFalse(os.path.exists(self.sb.cache_path), "a bad config created the cache")

    def test_missing_config_file(self):
        missing = os.path.join(self.tmp, "nowhere", "stravafs.conf")
        r = self.sb.run("--config", missing, "sync", config=False)
        self.assertExit(r, EXIT_USAGE, "no config file at " + missing, "client_id")
        # Without --config: the XDG location is named.
        os.remove(self.sb.config_path)
        r = self.sb.run("sync", config=False)
        self.assertExit(r, EXIT_USAGE, "no config file at " + self.sb.config_path)

    def test_import_and_status_need_no_config_file(self):
        """Without API access there is nothing to configure: the defaults serve."""
        os.remove(self.sb.config_path)
        gpx = os.path.join(self.tmp, "walk.gpx")
        with open(gpx, "w") as f:
            f.write('<?xml version="1.0"?><gpx version="1.1"><trk><type>walking</type><trkseg>'
                    '<trkpt lat="52" lon="13"><time>2024-05-12T08:00:00Z</time></trkpt>'
                    '<trkpt lat="52.001" lon="13"><time>2024-05-12T08:01:00Z</time></trkpt>'
                    '</trkseg></trk></gpx>')
        r = self.sb.run("import", gpx, config=False)
        self.assertExit(r, 0)
        default_cache = os.path.join(self.sb.data_home, "stravafs", "cache.db")
        self.assertTrue(os.path.exists(default_cache), r.err)
        r = self.sb.run("status", config=False)
        self.assertExit(r, 0)
        self.assertIn("activities:   1 ", r.out)
        self.assertIn("0 from Strava's API, 0 from an export, 1 from files", r.out)
        # sync still needs the application's client_id, and says where the file goes.
        r = self.sb.run("sync", config=False)
        self.assertExit(r, EXIT_USAGE, "no config file at " + self.sb.config_path)

    def test_unknown_key_with_did_you_mean(self):
        lines = self.write(self.base() + ["", "[sync]", "lookbak = 7d"])
        r = self.sb.run("sync")
        self.assertConfigError(r, lines["lookbak = 7d"], 'unknown key "lookbak" in [sync]', "did you mean lookback?")

    def test_key_in_the_wrong_section(self):
        lines = self.write(self.base() + ["", "[sync]", "timeout = 5s"])
        r = self.sb.run("sync")
        self.assertConfigError(r, lines["timeout = 5s"], '"timeout"', "[strava]")

    def test_unknown_section_with_did_you_mean(self):
        lines = self.write(self.base() + ["", "[synk]", "lookback = 7d"])
        r = self.sb.run("status")
        self.assertConfigError(r, lines["[synk]"], "unknown section [synk]", "did you mean [sync]?")

    def test_bad_duration(self):
        lines = self.write(self.base() + ["", "[sync]", "lookback = 5"])
        r = self.sb.run("sync")
        self.assertConfigError(r, lines["lookback = 5"], "lookback", "the unit is missing", "5d")
        lines = self.write(self.base()[:5] + ["timeout = soon"] + self.base()[5:])
        r = self.sb.run("sync")
        self.assertConfigError(r, lines["timeout = soon"], "[strava] timeout", "not a duration")

    def test_bad_budget(self):
        for value, why in (("120%", "out of range"), ("0", "out of range"), ("lots", "not a budget")):
            lines = self.write(self.base() + ["", "[sync]", "budget = " + value])
            r = self.sb.run("sync")
            self.assertConfigError(r, lines["budget = " + value], "[sync] budget", why)

    def test_bad_stream_type_with_did_you_mean(self):
        lines = self.write(self.base() + ["", "[sync]", "streams = time,heartrat"])
        r = self.sb.run("sync")
        self.assertConfigError(r, lines["streams = time,heartrat"], "[sync] streams", "did you mean heartrate?")

    def test_duplicate_key(self):
        lines = self.write(self.base() + ["", "[sync]", "details = yes", "details = no"])
        r = self.sb.run("sync")
        self.assertConfigError(r, lines["details = no"], 'duplicate key "details"',
                               "line %d" % lines["details = yes"])

    def test_inline_secret_in_a_readable_file_is_refused(self):
        lines = self.base()
        lines[3] = "client_secret = " + CLIENT_SECRET
        numbers = self.write(lines, mode=0o644)
        r = self.sb.run("sync")
        self.assertConfigError(r, numbers[lines[3]], "client_secret", "mode 0644",
                               "chmod 600 " + self.sb.config_path)
        self.assertNotIn(CLIENT_SECRET, r.err)
        # Even status (which needs no secret) refuses: the file is the problem.
        self.assertConfigError(self.sb.run("status"), numbers[lines[3]], "chmod 600")
        # Private, it works.
        os.chmod(self.sb.config_path, 0o600)
        self.assertExit(self.sb.run("auth", "--code", self.emu.code()["code"]), 0)

    def test_secret_file_readable_by_others_is_refused(self):
        lines = self.write(self.base())
        os.chmod(self.sb.secret_path, 0o644)
        r = self.sb.run("auth", "--code", "whatever")
        self.assertConfigError(r, lines[self.base()[3]], "client_secret_file", "chmod 600 " + self.sb.secret_path)
        self.assertNotIn(CLIENT_SECRET, r.err)

    def test_a_config_others_can_change_is_refused_everywhere(self):
        # Issue 15: a 0666 config, or one in a 0777 folder, passed; whoever
        # can change the config chooses where the tokens go.
        self.write(self.base(), mode=0o600)
        self.assertExit(self.sb.run("auth", "--code", self.emu.code()["code"]), 0)
        self.emu.reset_counters()
        conf = self.sb.config_path
        os.chmod(conf, 0o666)
        expected = "%s: %s is writable by group or others (mode 0666): chmod go-w %s" % (conf, conf, conf)
        for args in (("sync",), ("status",)):
            r = self.sb.run(*args)
            self.assertExit(r, EXIT_USAGE, expected)
        # The extension finds the same config (by $STRAVAFS_CONFIG here) and
        # refuses it the same way, in the real sqlite3 shell.
        env = dict(self.sb.env(), STRAVAFS_CONFIG=conf)
        p = subprocess.run(["sqlite3", "-batch", ":memory:"], capture_output=True, text=True, timeout=60,
                           env=host_env(env),
                           input=".load %s\nSELECT count(*) FROM strava_activities;\n" % os.environ["STRAVA_EXT"])
        self.assertIn(expected, p.stderr)
        self.assertEqual(p.stdout, "")

        os.chmod(conf, 0o644)
        folder = os.path.dirname(conf)
        os.chmod(folder, 0o777)
        r = self.sb.run("sync")
        self.assertExit(r, EXIT_USAGE, "%s is in %s, which is writable by group or others (mode 0777): chmod go-w %s"
                        % (conf, folder, folder))
        self.assertEqual(self.emu.counters()["total"], 0)
        self.assertFalse(os.path.exists(self.sb.cache_path))
        os.chmod(folder, 0o755)
        self.assertExit(self.sb.run("sync"), 0)
        self.assertCacheMatches(self.sb, self.emu)

    def test_missing_client_id_on_auth(self):
        lines = self.base()
        del lines[2]
        self.write(lines)
        r = self.sb.run("auth", "--code", self.emu.code()["code"])
        self.assertExit(r, EXIT_USAGE, self.sb.config_path, "[strava] client_id is not set")
        self.assertEqual(self.emu.counters()["total"], 0)
        self.assertFalse(os.path.exists(self.sb.tokens_path))

    def test_client_id_must_be_digits(self):
        lines = self.write([l if not l.startswith("client_id") else "client_id = abc" for l in self.base()])
        r = self.sb.run("sync")
        self.assertConfigError(r, lines["client_id = abc"], "[strava] client_id", "digits only")

    def test_discovery_through_environment_and_secret_from_environment(self):
        # $STRAVAFS_CONFIG, and the secret from $STRAVA_CLIENT_SECRET.
        other = os.path.join(self.tmp, "elsewhere.conf")
        lines = self.base()
        del lines[3]
        self.sb.write_file(other, "\n".join(lines) + "\n", 0o644)  # no secret in it: may be readable
        os.remove(self.sb.config_path)
        env = dict(self.sb.env(), STRAVAFS_CONFIG=other, STRAVA_CLIENT_SECRET=CLIENT_SECRET)
        r = self.sb.run("auth", "--code", self.emu.code()["code"], config=False, env=env)
        self.assertExit(r, 0)
        r = self.sb.run("sync", config=False, env=env)
        self.assertExit(r, 0)
        self.assertCacheMatches(self.sb, self.emu)
        # Without the variable there is no secret: the token refresh needs it.
        self.emu.expire_tokens()
        env.pop("STRAVA_CLIENT_SECRET")
        r = self.sb.run("sync", config=False, env=env)
        self.assertExit(r, EXIT_USAGE, "no client secret", "STRAVA_CLIENT_SECRET")

    def test_bad_arguments(self):
        self.assertExit(self.sb.run(config=False), EXIT_USAGE, "usage: stravafs")
        self.assertExit(self.sb.run("frobnicate"), EXIT_USAGE, 'unknown command "frobnicate"')
        self.assertExit(self.sb.run("--verbose", "sync", config=False), EXIT_USAGE, "unknown option --verbose")
        self.assertExit(self.sb.run("status", "--xml"), EXIT_USAGE, "unknown option --xml")
        self.assertExit(self.sb.run("auth", "--code"), EXIT_USAGE, "--code needs a value")
        r = self.sb.run("--help", config=False)
        self.assertExit(r, 0)
        self.assertIn("usage: stravafs", r.out)


if __name__ == "__main__":
    main()
