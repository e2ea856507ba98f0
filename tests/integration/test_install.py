"""`meson install` into a DESTDIR: every file the README's "Install" section
promises lands where it says, with sane modes, and what is installed runs:
the two programs answer, the installed extension loads into the real sqlite3
shell, the systemd unit starts the installed mount helper, and every man page
renders without a warning.

    BUILD=$PWD/build /usr/bin/python3 tests/integration/test_install.py
"""

import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import unittest

BUILD = os.environ.get("BUILD", "")


def options():
    out = subprocess.run(["meson", "introspect", BUILD, "--buildoptions"], check=True, capture_output=True,
                         text=True).stdout
    return {o["name"]: o["value"] for o in json.loads(out)}


def project_version():
    out = subprocess.run(["meson", "introspect", BUILD, "--projectinfo"], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["version"]


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not BUILD:
            raise AssertionError("set BUILD to the build folder (meson test does)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="stravafs-install-")
        cls.destdir = cls.tmp.name
        p = subprocess.run(["meson", "install", "-C", BUILD, "--destdir", cls.destdir, "--no-rebuild", "--quiet"],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError("meson install failed:\n%s\n%s" % (p.stdout, p.stderr))
        o = options()
        prefix = o["prefix"]

        def under(d, *rest):  # an install dir as meson resolves it: relative ones are under the prefix
            return os.path.join(d if os.path.isabs(d) else os.path.join(prefix, d), *rest)

        cls.prefix = prefix
        cls.paths = {
            "stravafs": under(o["bindir"], "stravafs"),
            "mount.stravafs": under(o["sbindir"], "mount.stravafs"),
            "strava.so": under(o["libdir"], "strava.so"),
            "unit": os.path.join(prefix, "lib", "systemd", "user", "stravafs.service"),
            "example": under(o["datadir"], "doc", "stravafs", "examples", "stravafs.conf"),
            "stravafs.1": under(o["mandir"], "man1", "stravafs.1"),
            "stravafs.conf.5": under(o["mandir"], "man5", "stravafs.conf.5"),
            "stravafs-sqlite.7": under(o["mandir"], "man7", "stravafs-sqlite.7"),
            "mount.stravafs.8": under(o["mandir"], "man8", "mount.stravafs.8"),
        }

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def installed(self, key):
        return self.destdir + self.paths[key]

    def test_exactly_the_promised_files(self):
        found = set()
        for d, _, files in os.walk(self.destdir):
            for f in files:
                found.add(os.path.join(d, f)[len(self.destdir):])
        self.assertEqual(found, set(self.paths.values()))

    def test_modes(self):
        for key in ("stravafs", "mount.stravafs", "strava.so"):
            self.assertEqual(stat.S_IMODE(os.stat(self.installed(key)).st_mode), 0o755, key)
        for key in ("unit", "example", "stravafs.1", "stravafs.conf.5", "stravafs-sqlite.7", "mount.stravafs.8"):
            self.assertEqual(stat.S_IMODE(os.stat(self.installed(key)).st_mode), 0o644, key)

    def test_programs_run(self):
        for key in ("stravafs", "mount.stravafs"):
            p = subprocess.run([self.installed(key), "--version"], capture_output=True, text=True, timeout=30)
            self.assertEqual((p.returncode, p.stdout), (0, "%s %s\n" % (key, project_version())))

    def test_extension_loads_in_the_sqlite3_shell(self):
        so = self.installed("strava.so")[:-len(".so")]  # as a person types it
        p = subprocess.run(["sqlite3", ":memory:", ".load " + so,
                            "SELECT name FROM pragma_module_list WHERE name LIKE 'strava%' ORDER BY 1"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        views = ["activity_facts", "best_efforts", "hr_zones", "monthly_totals", "personal_records", "power_zones",
                 "training_90d", "weekly_totals", "yearly_totals", "zone_time"]
        self.assertEqual(p.stdout.split(), sorted(["strava_activities", "strava_streams", "strava_sync_status"] +
                                                  ["strava_" + v for v in views]))

    def test_unit_runs_the_installed_helper(self):
        unit = open(self.installed("unit")).read()
        self.assertIn("\nExecStart=%s -f ${STRAVAFS_MOUNTPOINT}\n" % self.paths["mount.stravafs"], unit)
        self.assertIn("\nType=notify\n", unit)
        self.assertIn("\nWantedBy=default.target\n", unit)
        self.assertNotIn("@", re.sub(r"#.*", "", unit), "an unsubstituted @VARIABLE@")

    def test_example_config_is_the_repository_one(self):
        repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf", "stravafs.conf")
        self.assertEqual(open(self.installed("example")).read(), open(repo).read())

    def test_man_pages_render_without_warnings(self):
        for key in ("stravafs.1", "stravafs.conf.5", "stravafs-sqlite.7", "mount.stravafs.8"):
            page = self.installed(key)
            p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual((p.returncode, p.stderr), (0, ""), key)
            th = re.search(r"^\.TH (\S+) (\S+)", open(page).read(), re.M)
            name, section = key.rsplit(".", 1)
            self.assertEqual((th.group(1).replace("\\-", "-").lower(), th.group(2)), (name, section), key)


if __name__ == "__main__":
    unittest.main(verbosity=2)
