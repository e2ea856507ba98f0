"""Security promises of stravafs(1), stravafs.conf(5) and mount.stravafs(8),
checked from the outside: the tokens and the client secret never show in a
command line, an output, a log, the cache or a file others can read; the
authorization listener is on 127.0.0.1 only and answers nothing but its one
redirect; the mount is private to the user who made it.

(DIRECTONLY of the extension's tables is in test_vtab.py; the auth timeout,
the wrong `state` and the token file modes after rotations in test_auth.py;
the refused group/other-readable secret files and configs others can change
in test_config.py.)
"""

import os
import re
import stat
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EXIT_LOCKED, TestCase, http, main, mount_type, wait_until  # noqa: E402

NOBODY = 65534


def cmdlines():
    """{pid: argv bytes (NUL-separated)} of every process now running."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    out[int(d)] = f.read()
            except OSError:
                pass
    return out


def listening_sockets(pid):
    """[(address, port)] of the TCP sockets process `pid` listens on, from
    /proc/net/tcp and tcp6 (addresses as the kernel writes them: 0100007F is
    127.0.0.1, 00000000 any IPv4 address, 32 hex digits IPv6)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and inode in inodes:  # 0A: LISTEN
                    address, port = local.split(":")
                    found.append((address, int(port, 16)))
    return found


def as_nobody(*argv):
    """`argv` run as uid/gid 65534 without supplementary groups: (rc, stderr)."""
    p = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"] + list(argv),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=30,
                       env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    return p.returncode, p.stderr


def start_auth(tc, sb, *extra):
    """`stravafs auth --no-browser` in the background: (process, authorize URL)."""
    p = tc.start(sb, "auth", "--no-browser", *extra)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        p.files[0].seek(0)
        text = p.files[0].read().decode()
        if text.endswith("\n"):
            return p, text.strip()
        tc.assertIsNone(p.poll(), "auth exited before printing the URL")
        time.sleep(0.02)
    tc.fail("auth printed no URL")


class Secrets(TestCase):
    def assertNoSecretInArgv(self, secrets, skip_pids, running):
        """No running process's argv holds a secret (the emulator, whose
        --client-secret is the fixture's, aside); `running` (pids of ours)
        must still be alive, or the scan proved nothing."""
        seen = cmdlines()
        for pid in running:
            self.assertIn(pid, seen, "pid %d had exited before its command line was read" % pid)
        for pid, argv in seen.items():
            if pid in skip_pids:
                continue
            for s in secrets:
                self.assertNotIn(s.encode(), argv, "a secret in the command line of pid %d: %r" % (pid, argv))

    def test_tokens_and_secret_stay_out_of_argv_output_logs_cache_and_readable_files(self):
        # A secret of this test only, so that a hit can only be ours.
        secret = "secret-" + os.urandom(12).hex()
        emu = self.emulator(30, seed=120, args=["--client-secret", secret])
        sb = self.sandbox(emu)
        sb.write_file(sb.secret_path, secret + "\n", 0o600)
        secrets = {secret}
        fixture = {emu.proc.pid, os.getpid()}

        # auth: the browser flow, looked at while it waits for the redirect.
        p, url = start_auth(self, sb)
        self.assertNoSecretInArgv(secrets, fixture, [p.pid])
        status, headers, _ = http("GET", url)
        self.assertEqual(status, 302)
        status, _, _ = http("GET", headers["Location"])
        self.assertEqual(status, 200)
        self.assertExit(sb.finish(p, timeout=30), 0, "authorized")
        t = sb.tokens()
        secrets |= {t["access_token"], t["refresh_token"]}

        # sync --json, held up by a slow listing, with an expired token: it
        # refreshes (a rotation) while it runs.
        emu.expire_tokens()
        emu.faults([{"match": "/athlete/activities", "kind": "slow", "count": 1, "delay_ms": 1500}])
        p = self.start(sb, "sync", "--json")
        wait_until(lambda: sb.tokens()["refresh_token"] != t["refresh_token"], 30, "the sync's token refresh")
        t = sb.tokens()
        secrets |= {t["access_token"], t["refresh_token"]}
        self.assertNoSecretInArgv(secrets, fixture, [p.pid])
        r = sb.finish(p)
        self.assertExit(r, 0)
        self.assertTrue(r.json()["ok"])

        # The mount, with -d (a line per request) and its background sync,
        # which refreshes the token again inside the daemon.
        emu.create({"name": "seen by the daemon"})
        emu.expire_tokens()
        m = self.mount(sb, options=["-d", "-o", "refresh=1s"])
        wait_until(lambda: sb.tokens()["refresh_token"] != t["refresh_token"], 30, "the daemon's token refresh")
        wait_until(lambda: "background sync: 1 new" in m.stderr(), 30, "the daemon's background sync")
        t = sb.tokens()
        secrets |= {t["access_token"], t["refresh_token"]}
        self.assertIn("athlete.json", os.listdir(m.path))
        self.assertNoSecretInArgv(secrets, fixture, m.daemon_pids())
        self.assertExit(sb.run("status", "--json"), 0)
        self.assertExit(sb.run("status"), 0)
        self.assertEqual(len(secrets), 7, "the secret and three pairs of tokens")

        # Outputs and logs: every command's stdout (--json included) and
        # stderr, and the daemon's debug log.
        self.assertTrue(any("--json" in r.argv for r in sb.runs))
        logs = [(" ".join(r.argv), r.out + r.err) for r in sb.runs] + [("mount.stravafs -d", m.stderr())]
        for what, text in logs:
            for s in secrets:
                self.assertNotIn(s, text, "a secret in the output of %s" % what)

        # Files: under the config, state and data folders only the secret
        # file and the token file hold a secret; both are 0600 in 0700
        # folders. The cache (and its -wal and -shm) holds none.
        holders, cache_files = {}, []
        for root in (sb.config_home, sb.state_home, sb.data_home):
            for d, _, names in os.walk(root):
                for name in names:
                    path = os.path.join(d, name)
                    if "cache.db" in name:
                        cache_files.append(name)
                    with open(path, "rb") as f:
                        data = f.read()
                    if any(s.encode() in data for s in secrets):
                        holders[path] = stat.S_IMODE(os.stat(path).st_mode)
        self.assertIn("cache.db", cache_files)
        self.assertEqual(holders, {sb.secret_path: 0o600, sb.tokens_path: 0o600})
        # Whatever stravafs writes is private: files 0600, its folders 0700.
        written = {}
        for root in (sb.state_home, sb.data_home):
            for d, _, names in os.walk(root):
                for name in names:
                    written[name] = stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode)
        self.assertIn("tokens.json", written)
        self.assertEqual(written, dict.fromkeys(written, 0o600))
        for d in (sb.config_dir, sb.state_dir, os.path.dirname(sb.cache_path)):
            self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700, d)


class CacheFiles(TestCase):
    def test_the_lock_never_follows_a_link_and_a_copied_in_cache_becomes_private(self):
        # Issue 15: cache.db.lock was opened without O_NOFOLLOW and
        # truncated (a symbolic link there overwrote its target), and a cache
        # copied in at 0644 stayed 0644.
        emu = self.emulator(4, seed=63)
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        victim = os.path.join(sb.root, "precious.txt")
        sb.write_file(victim, "keep me\n", 0o644)
        lock = sb.cache_path + ".lock"
        os.unlink(lock)
        os.symlink(victim, lock)
        r = sb.run("sync")
        self.assertExit(r, EXIT_LOCKED, "%s is a symbolic link; a lock file never is: remove it (rm %s)" % (lock, lock))
        with open(victim) as f:
            self.assertEqual(f.read(), "keep me\n")
        os.unlink(lock)

        # A cache (and its WAL files) made readable by others, as by cp.
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(sb.cache_path + suffix):
                os.chmod(sb.cache_path + suffix, 0o644)
        emu.create({"name": "After the copy", "sport_type": "Run"})
        self.assertExit(sb.run("sync"), 0)
        for suffix in ("", "-wal", "-shm", ".lock"):
            path = sb.cache_path + suffix
            if os.path.exists(path):
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)
        self.assertIntegrity(sb)


class Listener(TestCase):
    def test_auth_listener_is_on_127_0_0_1_only_and_answers_only_its_redirect(self):
        emu = self.emulator(5, seed=121)
        sb = self.sandbox(emu)
        p, url = start_auth(self, sb, "--port", "0")
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        state = q["state"][0]
        redirect = urllib.parse.urlsplit(q["redirect_uri"][0])
        self.assertEqual((redirect.hostname, redirect.path), ("127.0.0.1", "/callback"))
        # One listening socket, on 127.0.0.1 and nowhere else (not 0.0.0.0, not IPv6).
        self.assertEqual(listening_sockets(p.pid), [("0100007F", redirect.port)])

        # Strava's redirect, with the right state and a valid code, by any
        # other method or to any other path: refused, and nothing exchanged.
        code = emu.code()["code"]
        good = "?" + urllib.parse.urlencode({"state": state, "code": code, "scope": "read,activity:read_all"})
        base = "http://127.0.0.1:%d" % redirect.port
        for method, path, want in [("POST", "/callback", 405), ("PUT", "/callback", 405),
                                   ("DELETE", "/callback", 405), ("PATCH", "/callback", 405),
                                   ("HEAD", "/callback", 405), ("OPTIONS", "/callback", 405),
                                   ("GET", "/", 404), ("GET", "/callback/", 404), ("GET", "/other", 404),
                                   ("GET", "/favicon.ico", 404)]:
            status, _, _ = http(method, base + path + good)
            self.assertEqual(status, want, "%s %s" % (method, path))
        self.assertIsNone(p.poll(), "auth ended on a request that was not the redirect:\n%r" % (
            sb.finish(p) if p.poll() is not None else None))
        self.assertEqual(emu.counters()["by_endpoint"]["token"], 0, "a code was exchanged")

        # The real redirect still works after all that.
        status, _, body = http("GET", base + "/callback" + good)
        self.assertEqual(status, 200, body)
        self.assertExit(sb.finish(p, timeout=30), 0, "authorized")
        self.assertEqual(emu.counters()["by_endpoint"]["token"], 1)


class MountPrivacy(TestCase):
    def test_another_user_cannot_enter_the_mount_unless_allow_other(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to act as another user (setpriv)")
        emu = self.emulator(8, seed=122)
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        mnt = os.path.join(sb.root, "mnt")
        os.makedirs(mnt)
        # The way to the mount point is open to everyone (the test's own
        # temporary folders are 0700), so only the mount itself can refuse.
        for d in (self.tmp, sb.root):
            os.chmod(d, 0o711)
        os.chmod(mnt, 0o755)
        self.assertEqual(as_nobody("ls", mnt), (0, ""), "nobody cannot reach the mount point at all")

        m = self.mount(sb, mnt, options=["-o", "refresh=0"])
        options = self.super_options(m.path)
        self.assertNotIn("allow_other", options)
        self.assertIn("default_permissions", options)
        self.assertIn("athlete.json", os.listdir(m.path))  # the mounting user (root here) gets in
        rc, err = as_nobody("ls", m.path)
        self.assertEqual((rc, err), (2, "ls: cannot access '%s': Permission denied\n" % m.path))
        rc, err = as_nobody("cat", os.path.join(m.path, "athlete.json"))
        self.assertEqual((rc, err), (1, "cat: %s/athlete.json: Permission denied\n" % m.path))
        self.assertEqual(subprocess.run(["fusermount3", "-u", m.path]).returncode, 0)
        wait_until(lambda: m.proc.poll() is not None, 10, "the daemon's exit")

        # With -o allow_other the same user gets in (read-only): the check above tells them apart.
        m = self.mount(sb, mnt, options=["-o", "refresh=0,allow_other"])
        self.assertIn("allow_other", self.super_options(m.path))
        self.assertEqual(as_nobody("ls", m.path), (0, ""))
        self.assertEqual(as_nobody("cat", os.path.join(m.path, "athlete.json"))[0], 0)

    @staticmethod
    def super_options(path):
        """The super options of the mount at `path` in /proc/self/mountinfo."""
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if fields[4] == path:
                    return fields[fields.index("-") + 3].split(",")
        raise AssertionError("%s is not mounted" % path)


if __name__ == "__main__":
    main()
