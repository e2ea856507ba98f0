"""The README's first command, `./dev demo`, end to end: it syncs a demo
athlete from the emulator through the real `stravafs auth`/`sync`, mounts it,
and prints commands that work; a second run starts afresh; `./dev demo stop`
leaves nothing mounted or running.

Runs the repository's own `dev` script against the meson build (BUILD), with
the demo's state and mount point in a temporary folder. By hand:

    DEV=./dev BUILD=$PWD/build /usr/bin/python3 tests/integration/test_demo.py
"""

import os
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import die_with_parent, mount_type, process_gone, unmount  # noqa: E402

DEV = os.environ.get("DEV", "")
BUILD = os.environ.get("BUILD", "")
ACTIVITIES = 120


class Demo(unittest.TestCase):
    def setUp(self):
        if not DEV or not BUILD:
            raise AssertionError("set DEV to the dev script and BUILD to the build folder (meson test does)")
        self.tmp = tempfile.TemporaryDirectory(prefix="stravafs-demo-")
        self.addCleanup(self.tmp.cleanup)
        self.state = os.path.join(self.tmp.name, "state")
        self.mnt = os.path.join(self.tmp.name, "strava-demo")
        self.env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": self.tmp.name,
                    "BUILD": BUILD, "DEMO": self.state, "DEMO_MOUNT": self.mnt,
                    "DEMO_ACTIVITIES": str(ACTIVITIES)}
        self.addCleanup(self.sweep)

    def sweep(self):
        unmount(self.mnt)
        pid_file = os.path.join(self.state, "emulator.pid")
        if os.path.exists(pid_file):
            subprocess.run(["kill", open(pid_file).read().strip()], capture_output=True)

    def dev(self, *args):
        p = subprocess.run([DEV] + list(args), capture_output=True, text=True, env=self.env, timeout=600,
                           preexec_fn=die_with_parent)
        self.assertEqual(p.returncode, 0, "./dev %s: exit %d\n%s\n%s" % (" ".join(args), p.returncode,
                                                                       p.stdout, p.stderr))
        return p.stdout

    def sh(self, command):
        """A command the demo printed, run the way a person would paste it."""
        p = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=self.env, timeout=120,
                           cwd=self.tmp.name)
        self.assertEqual(p.returncode, 0, "%s: exit %d\n%s" % (command, p.returncode, p.stderr))
        return p.stdout

    def check_demo(self, out):
        self.assertEqual(mount_type(self.mnt), "fuse.stravafs")
        with sqlite3.connect(os.path.join(self.state, "cache.db")) as db:
            held = db.execute("SELECT count(*) FROM activities").fetchone()[0]
            with_gps = db.execute("SELECT count(*) FROM activity_sync WHERE gpx_size IS NOT NULL").fetchone()[0]
        self.assertEqual(held, ACTIVITIES)
        self.assertGreater(with_gps, 0, "the demo athlete should have GPS tracks")
        self.assertEqual(len(os.listdir(os.path.join(self.mnt, "by-id"))), ACTIVITIES)
        # Every command it suggests works as printed (the gpsbabel one writes into the temp folder).
        lines = [l.strip() for l in out.splitlines()]
        for prefix in ("ls ", "jq ", "head ", "gpsbabel "):
            cmd = next(l for l in lines if l.startswith(prefix))
            self.assertNotEqual(self.sh(cmd.split("   #")[0]), None)
        env_line = next(l for l in lines if l.startswith(". "))
        i = lines.index(next(l for l in lines if l.startswith("sqlite3 ")))
        query = lines[i].rstrip("\\").strip() + " " + lines[i + 1]
        rows = self.sh(env_line + " && " + query).splitlines()
        self.assertEqual(sum(int(r.split("|")[1]) for r in rows), ACTIVITIES)
        self.assertIn("activities:   %d" % ACTIVITIES, self.sh(env_line + " && stravafs status"))
        # The import of the same athlete's bulk export: every activity, from the export.
        status = self.sh(next(l for l in lines if "import.conf status" in l))
        self.assertIn("activities:   %d" % ACTIVITIES, status)
        self.assertIn("0 from Strava's API, %d from an export" % ACTIVITIES, status)
        self.assertIn("export|%d" % ACTIVITIES, self.sh(next(l for l in lines if "GROUP BY 1;" in l and "source" in l)))

    def test_demo_twice_then_stop(self):
        first = self.dev("demo")
        self.check_demo(first)
        emulator = int(open(os.path.join(self.state, "emulator.pid")).read())
        second = self.dev("demo")  # again: stops the first, starts afresh
        self.assertTrue(process_gone(emulator), "the first run's emulator still runs")
        self.check_demo(second)
        emulator = int(open(os.path.join(self.state, "emulator.pid")).read())
        self.dev("demo", "stop")
        self.assertIsNone(mount_type(self.mnt), "still mounted after ./dev demo stop")
        self.assertTrue(process_gone(emulator), "the emulator still runs after ./dev demo stop")
        self.assertEqual(os.listdir(self.mnt), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
