"""Security promises of stravafs(1), checked from the outside: the
authorization listener is on 127.0.0.1 only and answers nothing but its one
redirect.

(DIRECTONLY of the extension's tables is in test_vtab.py; the auth timeout,
the wrong `state` and the token file modes after rotations in test_auth.py;
the refused group/other-readable secret files in test_config.py.)
"""

import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestCase, http, main  # noqa: E402


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


if __name__ == "__main__":
    main()
