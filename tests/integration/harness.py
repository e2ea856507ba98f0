"""Shared harness of the integration tests: the real `stravafs` binary against
the real Strava emulator on loopback.

Every test gets a fresh temporary HOME (with XDG_CONFIG_HOME, XDG_DATA_HOME and
XDG_STATE_HOME inside), its own emulator process and a config file pointing at
it. stravafs runs with a clean environment (HOME, XDG_*, PATH, and in the
sanitizer run the sanitizers' options, nothing else), so a developer's proxy
variables, real config or tokens never leak in.

Binaries come from $STRAVAFS and $STRAVA_EMULATOR (meson sets both). Every
process started here is stopped in the test's cleanup and, should the test
runner itself die, by the kernel (PR_SET_PDEATHSIG): no process outlives a run.

Standard library only; run with Debian's /usr/bin/python3. One file or one
test by hand, after `ninja -C BUILD`:

    STRAVAFS=BUILD/src/stravafs STRAVA_EMULATOR=BUILD/tests/emulator/strava-emulator \
        /usr/bin/python3 tests/integration/test_sync.py Sync.test_backfill_since_until_stores_only_that_range
"""

import ctypes
import datetime
import json
import math
import os
import signal
import sqlite3
import random
import re
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

STRAVAFS = os.environ.get("STRAVAFS", "")
EMULATOR = os.environ.get("STRAVA_EMULATOR", "")
MOUNT_STRAVAFS = os.environ.get("MOUNT_STRAVAFS", "")  # only the mount tests need it

# The sanitizer run (tests/meson.build sets these in a -Db_sanitize build):
# every process of ours keeps the sanitizers' options, log_path above all,
# even where a test gives it a clean environment.
SANITIZER_ENV = {k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS") if k in os.environ}
# The ASan runtime, for hosts that are not ASan-built (the sqlite3 shell) to
# load an ASan-built strava.so; empty outside the sanitizer run.
HOST_PRELOAD = os.environ.get("STRAVAFS_HOST_PRELOAD", "")


def host_env(env):
    """`env` for a host program loading strava.so: with the ASan runtime
    preloaded in the sanitizer run, unchanged otherwise."""
    return dict(env, LD_PRELOAD=HOST_PRELOAD) if HOST_PRELOAD else env


def foreign_env(**extra):
    """The environment of a tool that is not ours (ldd, gpsbabel, xmllint,
    rsvg-convert): without the ASan runtime or the sanitizers' options of the
    sanitizer run, which some tests' own process starts with. (ldd is a bash
    script: bash under a preloaded ASan runtime reports its own leaks.)"""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and "SAN_OPTIONS" not in k}
    env.update(extra)
    return env

CLIENT_ID = "12345"
CLIENT_SECRET = "emulator-secret"
PER_PAGE = 200
FIXED_END = "2026-11-01"

# Exit codes of stravafs(1).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_AUTH, EXIT_LOCKED = 0, 1, 2, 3, 4
EXIT_RATE_LIMIT, EXIT_INTERRUPTED = 75, 130

# The default `streams =` of the config: what a sync asks for.
STREAM_KEYS = ["time", "distance", "latlng", "altitude", "heartrate", "cadence", "watts",
               "velocity_smooth", "temp", "moving", "grade_smooth"]

# High enough that only the rate-limit tests ever meet a limit.
UNLIMITED = ["--limit", "1000000,10000000", "--read-limit", "1000000,10000000"]

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def die_with_parent():
    # Runs in the child between fork and exec: SIGKILL it when we die.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# urllib without proxies (loopback only) and without following redirects.
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def http(method, url, body=None, headers=None, timeout=30):
    """One HTTP request; returns (status, headers, body bytes). Never raises on
    an HTTP status (4xx, 5xx and 3xx are answers too)."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
    elif method in ("POST", "PATCH", "PUT", "DELETE"):
        data = b""
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with _opener.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    return int(datetime.datetime.strptime(text.rstrip("Z"), "%Y-%m-%dT%H:%M:%S")
               .replace(tzinfo=datetime.timezone.utc).timestamp())


def _mountinfo_unescape(text):
    # /proc/self/mountinfo writes space, tab, newline and backslash as \ooo.
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def mounts():
    """[(mount point, file system type)] of this mount namespace, in mount order."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            out.append((_mountinfo_unescape(fields[4]), fields[sep + 1]))
    return out


def mount_type(path):
    """The type of the file system mounted at `path` last ("fuse.stravafs"),
    or None when nothing is mounted there."""
    path = os.path.realpath(path)
    types = [t for m, t in mounts() if m == path]
    return types[-1] if types else None


def unmount(path):
    """Unmounts every mount at `path` with `fusermount3 -u`, and lazily
    (`fusermount3 -uz`) when that fails (busy). Returns the complaints of the
    failed attempts, empty when the plain unmount worked."""
    complaints = []
    for _ in range(10):
        if mount_type(path) is None:
            break
        p = subprocess.run(["fusermount3", "-u", path], capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            complaints.append("fusermount3 -u %s: exit %d %s" % (path, p.returncode, p.stderr.strip()))
            subprocess.run(["fusermount3", "-uz", path], capture_output=True, timeout=30)
    return complaints


def processes_of(executable, mountpoint):
    """Pids of the running processes of `executable` with `mountpoint` among
    their arguments: how a daemonized mount is found."""
    pids = []
    want = os.fsencode(os.path.basename(executable))
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == want and os.fsencode(mountpoint) in argv[1:]:
            pids.append(int(d))
    return pids


def process_gone(pid):
    """Whether `pid` has exited (gone, or a zombie waiting for its parent)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] in "ZX"
    except (OSError, IndexError):
        return True


def wait_until(predicate, seconds, what):
    """Polls `predicate` every 10 ms until it is true; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError("not within %g s: %s" % (seconds, what))
        time.sleep(0.01)


class Mount:
    """A mount.stravafs mount made by TestCase.mount: `path`, and `proc` (the
    Popen) in the foreground (-f) mode, or `run` (the finished helper) when it
    daemonized."""

    def __init__(self, path, argv, proc=None, run=None, files=None):
        self.path, self.argv, self.proc, self.run, self.files = path, argv, proc, run, files

    def stderr(self):
        if self.files is None:
            return self.run.err if self.run else ""
        self.files[1].seek(0)
        return self.files[1].read().decode(errors="replace")

    def daemon_pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else \
            processes_of(self.argv[0], self.path)


class Emulator:
    """One strava-emulator process on 127.0.0.1 and its control API.

    activities: a count, or one count per athlete ([2000, 50, 50]: three
    athletes under the app, ids `athletes`). Calls that take `athlete` (an
    athlete's id) act for the first athlete when it is None."""

    def __init__(self, workdir, activities=50, seed=1, args=(), unlimited=True):
        self.workdir = workdir
        port_file = os.path.join(workdir, "emulator.port")
        self.log_path = os.path.join(workdir, "emulator.log")
        counts = ",".join(map(str, activities)) if isinstance(activities, (list, tuple)) else str(activities)
        argv = [EMULATOR, "--port", "0", "--port-file", port_file,
                "--activities", counts, "--seed", str(seed)]
        if unlimited and "--limit" not in args:
            argv += UNLIMITED
        if "--end" not in args:
            # A fixed end keeps the generated athlete the same from day to
            # day; on a machine whose clock is earlier, today (a sync lists up
            # to now + 1 day, so a generated future would not be listed).
            today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
            argv += ["--end", min(FIXED_END, today)]
        argv += list(args)
        self.argv = argv
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     preexec_fn=die_with_parent)
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("strava-emulator exited with %d: %s" % (self.proc.returncode, self.log()))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("strava-emulator did not write its port file within 30 s")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read().strip())
        self.base_url = "http://127.0.0.1:%d" % self.port
        self._api_tokens = {}  # athlete (None: the first) -> access token

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        """Stops the emulator; returns a complaint if it had exited by itself."""
        complaint = None
        if self.proc.poll() is not None:
            complaint = "strava-emulator (pid %d) exited by itself with status %d before the test ended:\n%s" % (
                self.proc.pid, self.proc.returncode, self.log())
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return complaint

    # ---- control API
    def call(self, method, path, body=None, expect=(200,)):
        status, _, data = http(method, self.base_url + path, body)
        if expect and status not in expect:
            raise AssertionError("%s %s -> %d %s" % (method, path, status, data[:300]))
        return json.loads(data) if data else None

    def counters(self):
        return self.call("GET", "/_emulator/counters")

    def api_requests(self, counters=None):
        """API requests so far (every /api/v3 call, 429s and faults included)."""
        c = counters or self.counters()
        return c["total"] - c["by_endpoint"]["token"] - c["by_endpoint"]["authorize"] - \
            c["by_endpoint"]["deauthorize"]

    def reset_counters(self):
        return self.call("POST", "/_emulator/counters/reset")

    def request_log(self):
        return self.call("GET", "/_emulator/requests")

    @property
    def athletes(self):
        """The athletes' ids, the first one (--athlete-id) first."""
        return [a["id"] for a in self.call("GET", "/_emulator/config")["athletes"]]

    @staticmethod
    def _athlete_query(athlete, sep="?"):
        return "" if athlete is None else "%sathlete=%d" % (sep, athlete)

    def activities(self, form="detail", athlete=None):
        q = "?form=summary" if form == "summary" else ""
        return self.call("GET", "/_emulator/activities" + q + self._athlete_query(athlete, "&" if q else "?"))

    def activity(self, activity_id):
        """Any athlete's activity (ids are global)."""
        return self.call("GET", "/_emulator/activities/%d" % activity_id)

    def create(self, fields, athlete=None):
        return self.call("POST", "/_emulator/activities" + self._athlete_query(athlete), fields, expect=(201,))

    def patch(self, activity_id, fields):
        return self.call("PATCH", "/_emulator/activities/%d" % activity_id, fields)

    def delete(self, activity_id):
        self.call("DELETE", "/_emulator/activities/%d" % activity_id, expect=(204,))

    def faults(self, rules):
        return self.call("POST", "/_emulator/faults", rules)

    def clear_faults(self):
        self.call("DELETE", "/_emulator/faults", expect=(204,))

    def ratelimit(self, body=None):
        if body is None:
            return self.call("GET", "/_emulator/ratelimit")
        return self.call("POST", "/_emulator/ratelimit", body)

    def code(self, scope=None, athlete=None):
        """A code as if `athlete` had approved: {"code", "scope", "athlete"}."""
        body = {"scope": scope} if scope else {}
        if athlete is not None:
            body["athlete"] = athlete
        return self.call("POST", "/_emulator/code", body)

    def login(self, athlete):
        """The athlete signed in at strava.com: /oauth/authorize approves as them."""
        return self.call("POST", "/_emulator/login", {"athlete": athlete})

    def revoke(self, athlete):
        """Revokes every grant of one athlete: {"athlete", "revoked": count}."""
        return self.call("POST", "/_emulator/revoke", {"athlete": athlete})

    def expire_tokens(self):
        return self.call("POST", "/_emulator/tokens/expire")

    # ---- OAuth and API as a client of our own (for reading streams etc.)
    def exchange(self, code):
        form = urllib.parse.urlencode({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                       "code": code, "grant_type": "authorization_code"})
        status, _, data = http("POST", self.base_url + "/oauth/token", form,
                               {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise AssertionError("code exchange failed: %d %s" % (status, data))
        return json.loads(data)

    def refresh(self, refresh_token):
        """POST /oauth/token with a refresh token: (status, parsed body)."""
        form = urllib.parse.urlencode({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                       "refresh_token": refresh_token, "grant_type": "refresh_token"})
        status, _, data = http("POST", self.base_url + "/oauth/token", form,
                               {"Content-Type": "application/x-www-form-urlencoded"})
        return status, json.loads(data) if data else None

    def new_tokens(self, scope="read,activity:read_all", athlete=None):
        return self.exchange(self.code(scope, athlete)["code"])

    def api(self, path, athlete=None):
        """GET /api/v3{path} with a token of our own for `athlete`: (status, parsed body or None)."""
        if athlete not in self._api_tokens:
            self._api_tokens[athlete] = self.new_tokens(athlete=athlete)["access_token"]
        status, _, data = http("GET", self.base_url + "/api/v3" + path,
                               headers={"Authorization": "Bearer " + self._api_tokens[athlete]})
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, None

    def streams(self, activity_id, keys=STREAM_KEYS, athlete=None):
        return self.api("/activities/%d/streams?keys=%s&key_by_type=true" % (activity_id, ",".join(keys)),
                        athlete)


class Run:
    """A finished stravafs command."""

    def __init__(self, argv, rc, out, err, seconds):
        self.argv, self.rc, self.out, self.err, self.seconds = argv, rc, out, err, seconds

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "stravafs %s -> exit %d after %.1fs\n--- stdout\n%s--- stderr\n%s" % (
            " ".join(self.argv[1:]), self.rc, self.seconds, self.out, self.err)


class Sandbox:
    """A private HOME with a config for one emulator, and stravafs runs in it."""

    def __init__(self, root, emulator=None, config=None, secret="file"):
        self.root = root
        self.home = os.path.join(root, "home")
        self.config_home = os.path.join(self.home, ".config")
        self.data_home = os.path.join(self.home, ".local", "share")
        self.state_home = os.path.join(self.home, ".local", "state")
        for d in (self.config_home, self.data_home, self.state_home):
            os.makedirs(d, mode=0o700, exist_ok=True)
        self.config_dir = os.path.join(self.config_home, "stravafs")
        os.makedirs(self.config_dir, mode=0o700, exist_ok=True)
        self.config_path = os.path.join(self.config_dir, "stravafs.conf")
        self.secret_path = os.path.join(self.config_dir, "client_secret")
        self.cache_path = os.path.join(self.data_home, "stravafs", "cache.db")
        self.state_dir = os.path.join(self.state_home, "stravafs")
        self.tokens_path = os.path.join(self.state_dir, "tokens.json")
        self.emulator = emulator
        self.runs = []  # every Run, for the token-leak checks
        if emulator is not None:
            self.write_config(config or {}, secret=secret)

    # ---- config
    def config_sections(self, extra=None, secret="file"):
        sections = {
            "strava": {"client_id": CLIENT_ID, "base_url": self.emulator.base_url, "timeout": "2s"},
            "cache": {"path": self.cache_path},
            "sync": {},
            "testing": {"retry_base": "50ms"},
        }
        if secret == "file":
            sections["strava"]["client_secret_file"] = self.secret_path
        elif secret == "inline":
            sections["strava"]["client_secret"] = CLIENT_SECRET
        for section, keys in (extra or {}).items():
            sections.setdefault(section, {})
            for k, v in keys.items():
                if v is None:
                    sections[section].pop(k, None)
                else:
                    sections[section][k] = v
        return sections

    def write_config(self, extra=None, secret="file", mode=0o600):
        text = ""
        for section, keys in self.config_sections(extra, secret).items():
            if not keys:
                continue
            text += "[%s]\n" % section
            for k, v in keys.items():
                text += "%s = %s\n" % (k, v)
            text += "\n"
        self.write_file(self.config_path, text, mode)
        if secret == "file":
            self.write_file(self.secret_path, CLIENT_SECRET + "\n", 0o600)
        return text

    @staticmethod
    def write_file(path, text, mode=0o600):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    # ---- running stravafs
    def env(self):
        return dict(SANITIZER_ENV, HOME=self.home, XDG_CONFIG_HOME=self.config_home, XDG_DATA_HOME=self.data_home,
                    XDG_STATE_HOME=self.state_home, PATH="/usr/local/bin:/usr/bin:/bin")

    def argv(self, args, config=True):
        return [STRAVAFS] + (["--config", self.config_path] if config else []) + list(args)

    def run(self, *args, stdin=None, timeout=300, config=True, env=None):
        argv = self.argv(args, config)
        t0 = time.monotonic()
        p = subprocess.run(argv, input=(stdin or "").encode(), capture_output=True, env=env or self.env(),
                           timeout=timeout, preexec_fn=die_with_parent, cwd=self.root)
        r = Run(argv, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"),
                time.monotonic() - t0)
        self.runs.append(r)
        return r

    def start(self, *args, config=True):
        """stravafs in the background; stdout and stderr go to files."""
        argv = self.argv(args, config)
        n = len(self.runs) + len(os.listdir(self.root))
        out = open(os.path.join(self.root, "bg%d.out" % n), "w+b")
        err = open(os.path.join(self.root, "bg%d.err" % n), "w+b")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=self.env(),
                             preexec_fn=die_with_parent, cwd=self.root)
        p.files = (out, err)
        p.t0 = time.monotonic()
        return p

    def finish(self, p, timeout=120):
        """Waits for a background stravafs and returns its Run."""
        p.wait(timeout)
        out, err = p.files
        out.seek(0)
        err.seek(0)
        r = Run(p.args, p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                time.monotonic() - p.t0)
        out.close()
        err.close()
        self.runs.append(r)
        return r

    def run_mount(self, *args, timeout=60):
        """mount.stravafs ARGS (with this sandbox's environment), to its exit.
        Use TestCase.run_mount, which unmounts whatever it mounted."""
        argv = [MOUNT_STRAVAFS] + list(args)
        t0 = time.monotonic()
        # Files, not pipes: a daemon keeping them open must not hang this
        # (test_mount.py checks that separately).
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=self.env(),
                                 preexec_fn=die_with_parent, cwd=self.root)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise
            out.seek(0)
            err.seek(0)
            r = Run(argv, p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                    time.monotonic() - t0)
        self.runs.append(r)
        return r

    def authorize(self, scope="read,activity:read_all,profile:read_all"):
        code = self.emulator.code(scope)["code"]
        r = self.run("auth", "--code", code)
        if r.rc != 0:
            raise AssertionError("auth --code failed: %r" % r)
        return r

    def tokens(self):
        with open(self.tokens_path) as f:
            return json.load(f)

    # ---- the cache
    def db(self):
        """A connection to the cache (opened read-write so WAL files need no
        special care, but only ever read; never creates the file)."""
        conn = sqlite3.connect("file:%s?mode=rw" % urllib.parse.quote(self.cache_path), uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def query(self, sql, args=()):
        conn = self.db()
        try:
            return [tuple(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()

    def scalar(self, sql, args=()):
        return self.query(sql, args)[0][0]

    def activity_ids(self):
        return {r[0] for r in self.query("SELECT id FROM activities")}


class TestCase(unittest.TestCase):
    """Gives each test a temporary directory and stops what it started."""

    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        if not STRAVAFS or not EMULATOR:
            raise unittest.SkipTest("set STRAVAFS and STRAVA_EMULATOR (meson test does)")

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="stravafs-it-")
        self.tmp = self._tmp.name
        self.addCleanup(self._tmp.cleanup)
        self._procs = []
        self.addCleanup(self._stop_all)

    def _stop_all(self):
        complaints = []
        for p in reversed(self._procs):
            if isinstance(p, Emulator):
                complaint = p.stop()
                if complaint:
                    complaints.append(complaint)
            elif p.poll() is None:
                p.kill()
                p.wait()
        # An emulator that died under a test explains its odd failures.
        if complaints:
            raise AssertionError("\n".join(complaints))

    def emulator(self, activities=50, seed=1, args=(), unlimited=True):
        d = os.path.join(self.tmp, "emu%d" % len(self._procs))
        os.makedirs(d)
        e = Emulator(d, activities, seed, args, unlimited)
        self._procs.append(e)
        return e

    def sandbox(self, emulator, config=None, secret="file", name="sb"):
        root = os.path.join(self.tmp, name)
        os.makedirs(root)
        return Sandbox(root, emulator, config, secret)

    def start(self, sandbox, *args):
        p = sandbox.start(*args)
        self._procs.append(p)
        return p

    # ---- mounts
    def _sweep_mounts(self):
        """Cleanup: unmount whatever is still mounted under this test's
        directory (deepest first), then stop the daemons of those mounts."""
        root = os.path.realpath(self.tmp) + "/"
        complaints = []
        left = sorted({m for m, _ in mounts() if m.startswith(root)}, key=len, reverse=True)
        for m in left:
            complaints += unmount(m)
            for pid in processes_of(MOUNT_STRAVAFS, m):
                try:
                    wait_until(lambda: process_gone(pid), 10, "exit")
                except AssertionError:
                    complaints.append("mount.stravafs pid %d did not exit after the unmount" % pid)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        if complaints:
            raise AssertionError("\n".join(complaints))

    def _arm_mount_sweep(self):
        if not getattr(self, "_mount_sweep_armed", False):
            self._mount_sweep_armed = True
            self.addCleanup(self._sweep_mounts)

    def run_mount(self, sandbox, *args, timeout=60):
        """mount.stravafs ARGS to its exit (a Run); anything it mounts under the
        test's directory is unmounted in the cleanup."""
        if not MOUNT_STRAVAFS:
            self.skipTest("set MOUNT_STRAVAFS (meson test does)")
        self._arm_mount_sweep()
        return sandbox.run_mount(*args, timeout=timeout)

    def mount(self, sandbox, mountpoint=None, options=(), foreground=True, config=True, ready=30):
        """Mounts the sandbox's cache with mount.stravafs and returns a Mount
        once the mount point shows in /proc/self/mountinfo. `config`: True for
        the sandbox's config path as the CONFIG argument, a string for that
        argument, None for none (the default lookup). `options`: more
        arguments (["-o", "refresh=0"]). foreground=True runs it with -f
        (Mount.proc is the daemon); False lets it daemonize and requires the
        mount to be ready when the helper exits 0. Unmounted in the cleanup
        (fusermount3 -u, then -uz)."""
        if not MOUNT_STRAVAFS:
            self.skipTest("set MOUNT_STRAVAFS (meson test does)")
        mountpoint = mountpoint or os.path.join(sandbox.root, "mnt")
        os.makedirs(mountpoint, exist_ok=True)
        mountpoint = os.path.realpath(mountpoint)
        argv = [MOUNT_STRAVAFS] + ([sandbox.config_path] if config is True else [config] if config else [])
        argv += [mountpoint] + (["-f"] if foreground else []) + list(options)
        self._arm_mount_sweep()
        if not foreground:
            r = sandbox.run_mount(*argv[1:], timeout=ready + 30)
            if r.rc != 0:
                raise AssertionError("mount.stravafs failed:\n%r" % r)
            if mount_type(mountpoint) is None:
                raise AssertionError("mount.stravafs exited 0 before %s was mounted:\n%r" % (mountpoint, r))
            return Mount(mountpoint, argv, run=r)
        n = len(os.listdir(sandbox.root))
        files = (open(os.path.join(sandbox.root, "mount%d.out" % n), "w+b"),
                 open(os.path.join(sandbox.root, "mount%d.err" % n), "w+b"))
        self.addCleanup(lambda: [f.close() for f in files])
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=files[0], stderr=files[1], env=sandbox.env(),
                             preexec_fn=die_with_parent, cwd=sandbox.root)
        self._procs.append(p)
        m = Mount(mountpoint, argv, proc=p, files=files)
        deadline = time.monotonic() + ready
        while mount_type(mountpoint) is None:
            if p.poll() is not None:
                raise AssertionError("mount.stravafs -f exited with %d before mounting:\n%s" % (
                    p.returncode, m.stderr()))
            if time.monotonic() > deadline:
                raise AssertionError("%s not mounted within %d s:\n%s" % (mountpoint, ready, m.stderr()))
            time.sleep(0.01)
        return m

    # ---- several athletes under one app (issue 17)
    def grant(self, sb, emu, athlete=None):
        """`stravafs auth` of `athlete` (the emulator's first by default), the
        code given on standard input."""
        code = emu.code(athlete=athlete)["code"]
        r = sb.run("auth", "--code", "-", stdin=code + "\n")
        self.assertExit(r, 0, "authorized")
        return r

    def name_of(self, emu, athlete=None):
        """"<firstname> <lastname>" of an emulator athlete."""
        status, body = emu.api("/athlete", athlete)
        self.assertEqual(status, 200)
        return "%s %s" % (body["firstname"], body["lastname"])

    # ---- assertions
    def assertExit(self, run, code, *substrings):
        self.assertEqual(run.rc, code, "unexpected exit code:\n%r" % run)
        for s in substrings:
            self.assertIn(s, run.err + run.out, "expected %r in the output of\n%r" % (s, run))

    def assertIntegrity(self, sandbox):
        self.assertEqual(sandbox.query("PRAGMA integrity_check"), [("ok",)])

    def assertCacheMatches(self, sandbox, emulator, ids=None, detail=True, streams_sample=0, seed=0, ignore=(),
                           skip=(), athlete=None):
        """The cache holds exactly the emulator's activities (or `ids` of them),
        each row equal to the emulator's detailed (or summary) JSON. With
        `athlete`, that athlete's activities in a cache of several."""
        return compare_cache(self, sandbox, emulator, ids, detail, streams_sample, seed, ignore, skip, athlete)



class MountCase(TestCase):
    """Tests of real mounts: they fail rather than skip without one, as a suite
    that passes without mounting proves nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not MOUNT_STRAVAFS:
            raise AssertionError("set MOUNT_STRAVAFS to the mount.stravafs binary (meson test does)")
        if not os.access("/dev/fuse", os.R_OK | os.W_OK):
            raise AssertionError("/dev/fuse is missing or not usable: these tests need real mounts")

# ---------------------------------------------------------------------------
# Expected cache rows, computed from the emulator's JSON independently of
# src/model/activity.cc. Kinds: int, real, text, bool.

def _get(*path):
    def f(j):
        cur = j
        for p in path:
            if isinstance(p, int):
                if not isinstance(cur, list) or len(cur) <= p:
                    return None
                cur = cur[p]
            else:
                if not isinstance(cur, dict) or p not in cur:
                    return None
                cur = cur[p]
        return cur
    return f


def _local(j):
    v = j.get("start_date_local")
    return v[:-1] if isinstance(v, str) and v.endswith("Z") else v


def _tz(j):
    v = j.get("timezone")
    if isinstance(v, str) and v.startswith("(GMT") and " " in v:
        return v.split(" ", 1)[1]
    return v


ACTIVITY_COLUMNS = [
    ("id", "int", _get("id")),
    ("athlete_id", "int", _get("athlete", "id")),
    ("name", "text", _get("name")),
    ("sport_type", "text", _get("sport_type")),
    ("type", "text", _get("type")),
    ("workout_type", "int", _get("workout_type")),
    ("start_date", "text", _get("start_date")),
    ("start_date_local", "text", _local),
    ("timezone", "text", _tz),
    ("utc_offset", "real", _get("utc_offset")),
    ("distance", "real", _get("distance")),
    ("moving_time", "int", _get("moving_time")),
    ("elapsed_time", "int", _get("elapsed_time")),
    ("total_elevation_gain", "real", _get("total_elevation_gain")),
    ("elev_high", "real", _get("elev_high")),
    ("elev_low", "real", _get("elev_low")),
    ("average_speed", "real", _get("average_speed")),
    ("max_speed", "real", _get("max_speed")),
    ("has_heartrate", "bool", _get("has_heartrate")),
    ("average_heartrate", "real", _get("average_heartrate")),
    ("max_heartrate", "real", _get("max_heartrate")),
    ("average_cadence", "real", _get("average_cadence")),
    ("average_watts", "real", _get("average_watts")),
    ("weighted_average_watts", "real", _get("weighted_average_watts")),
    ("max_watts", "real", _get("max_watts")),
    ("device_watts", "bool", _get("device_watts")),
    ("kilojoules", "real", _get("kilojoules")),
    ("calories", "real", _get("calories")),
    ("average_temp", "real", _get("average_temp")),
    ("suffer_score", "real", _get("suffer_score")),
    ("gear_id", "text", _get("gear_id")),
    ("commute", "bool", _get("commute")),
    ("trainer", "bool", _get("trainer")),
    ("manual", "bool", _get("manual")),
    ("private", "bool", _get("private")),
    ("visibility", "text", _get("visibility")),
    ("flagged", "bool", _get("flagged")),
    ("achievement_count", "int", _get("achievement_count")),
    ("kudos_count", "int", _get("kudos_count")),
    ("comment_count", "int", _get("comment_count")),
    ("athlete_count", "int", _get("athlete_count")),
    ("photo_count", "int", _get("total_photo_count")),
    ("pr_count", "int", _get("pr_count")),
    ("start_lat", "real", _get("start_latlng", 0)),
    ("start_lng", "real", _get("start_latlng", 1)),
    ("end_lat", "real", _get("end_latlng", 0)),
    ("end_lng", "real", _get("end_latlng", 1)),
    ("summary_polyline", "text", _get("map", "summary_polyline")),
    ("polyline", "text", _get("map", "polyline")),
    ("device_name", "text", _get("device_name")),
    ("description", "text", _get("description")),
    ("external_id", "text", _get("external_id")),
    ("upload_id", "int", _get("upload_id")),
    ("location_country", "text", _get("location_country")),
    ("detail_level", "int", _get("resource_state")),
]


def expected_column(kind, v):
    """(sqlite typeof, python value) the cache must hold for JSON value v."""
    if v is None:
        return "null", None
    if kind == "bool":
        if isinstance(v, bool):
            return "integer", int(v)
        raise AssertionError("emulator sent a non-boolean flag %r" % (v,))
    if kind == "int":
        if isinstance(v, bool):
            raise AssertionError("boolean %r for an integer column" % (v,))
        return "integer", int(round(v))
    if kind == "real":
        return "real", float(v)
    return "text", v.encode("utf-8", "surrogatepass")


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)


def json_diff(a, b, path="$", skip=()):
    """First difference between two parsed JSON values, or None. Numbers:
    int stays int, floats may differ in the last digit. Paths in `skip`
    (like "$.gear.distance") are not compared."""
    if path in skip:
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return None if (type(a) is type(b) and a == b) else "%s: %r != %r" % (path, a, b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) != isinstance(b, int):
            return "%s: %r (%s) != %r (%s)" % (path, a, type(a).__name__, b, type(b).__name__)
        return None if close(a, b) else "%s: %r != %r" % (path, a, b)
    if type(a) is not type(b):
        return "%s: %r != %r" % (path, a, b)
    if isinstance(a, dict):
        if set(a) != set(b):
            return "%s: keys differ: only in cache %s, only in emulator %s" % (
                path, sorted(set(a) - set(b)), sorted(set(b) - set(a)))
        for k in a:
            d = json_diff(a[k], b[k], "%s.%s" % (path, k), skip)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: length %d != %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = json_diff(x, y, "%s[%d]" % (path, i), skip)
            if d:
                return d
        return None
    return None if a == b else "%s: %r != %r" % (path, a, b)


def stream_rows(streams):
    """The `streams` rows (time..grade) the cache must hold for a keyed reply."""
    def data(k):
        s = streams.get(k)
        return s["data"] if s else None
    cols = {k: data(k) for k in STREAM_KEYS}
    n = max((len(v) for v in cols.values() if v is not None), default=0)

    def at(k, i):
        v = cols[k]
        if v is None or i >= len(v):
            return None
        x = v[i]
        return int(x) if isinstance(x, bool) else x
    rows = []
    for i in range(n):
        ll = at("latlng", i)
        rows.append((i, at("time", i), at("distance", i), ll[0] if ll else None, ll[1] if ll else None,
                     at("altitude", i), at("velocity_smooth", i), at("heartrate", i), at("cadence", i),
                     at("watts", i), at("temp", i), at("moving", i), at("grade_smooth", i)))
    return rows


# A detail carries its gear's total distance at the time it was fetched; once
# activities are added, edited or deleted, the details of the others hold the
# old total, as they would from Strava.
GEAR_TOTALS = ("$.gear.distance", "$.gear.converted_distance")


def compare_cache(tc, sb, emu, ids=None, detail=True, streams_sample=0, seed=0, ignore=(), skip=(), athlete=None):
    """Asserts the cache equals the emulator: the same activity ids (those in
    `ignore` aside, or exactly `ids`), every typed column, the json column
    (paths in `skip` aside),
    laps, no streams for manual activities, and the stream rows of a seeded
    sample of `streams_sample` activities. Returns the emulator's activities."""
    want = {a["id"]: a for a in emu.activities("detail" if detail else "summary", athlete)}
    if ids is not None:
        missing = set(ids) - set(want)
        tc.assertFalse(missing, "ids not on the emulator: %s" % sorted(missing))
        want = {i: want[i] for i in ids}
    conn = sb.db()
    conn.row_factory = None
    conn.text_factory = bytes
    try:
        names = [c[0] for c in ACTIVITY_COLUMNS]
        sel = ", ".join("%s, typeof(%s)" % (n, n) for n in names)
        mine = "" if athlete is None else " WHERE athlete_id = %d" % athlete
        rows = {r[0]: r for r in conn.execute("SELECT %s, json FROM activities%s" % (sel, mine)) if r[0] not in ignore}
        tc.assertEqual(sorted(rows), sorted(want), "the cache holds other activities than the emulator")
        for aid, a in want.items():
            row = rows[aid]
            for i, (col, kind, getter) in enumerate(ACTIVITY_COLUMNS):
                got, got_type = row[2 * i], row[2 * i + 1].decode()
                exp_type, exp = expected_column(kind, getter(a))
                where = "activity %d column %s" % (aid, col)
                tc.assertEqual(got_type, exp_type, "%s: type %s, expected %s (%r vs %r)" % (
                    where, got_type, exp_type, got, exp))
                if kind == "real" and exp is not None:
                    tc.assertTrue(close(got, exp), "%s: %r != %r" % (where, got, exp))
                else:
                    tc.assertEqual(got, exp, where)
            tc.assertTrue(rows[aid][2 * names.index("start_date")].endswith(b"Z"))
            tc.assertFalse(rows[aid][2 * names.index("start_date_local")].endswith(b"Z"),
                           "activity %d: start_date_local keeps the Z" % aid)
            tz = rows[aid][2 * names.index("timezone")]
            tc.assertFalse(tz is not None and tz.startswith(b"("), "activity %d: timezone %r" % (aid, tz))
            stored = json.loads(rows[aid][-1].decode("utf-8", "surrogatepass"))
            d = json_diff(stored, a, skip=skip)
            tc.assertIsNone(d, "activity %d: the json column differs from the emulator's: %s" % (aid, d))
        if detail:
            laps = dict(conn.execute("SELECT activity_id, count(*) FROM laps GROUP BY 1").fetchall())
            for aid, a in want.items():
                tc.assertEqual(laps.get(aid, 0), len(a.get("laps") or []), "laps of activity %d" % aid)
            manual = [aid for aid, a in want.items() if a.get("manual")]
            for aid in manual:
                n = conn.execute("SELECT count(*) FROM streams WHERE activity_id=?", (aid,)).fetchone()[0]
                tc.assertEqual(n, 0, "manual activity %d has stream rows" % aid)
        if streams_sample:
            rnd = random.Random(seed)
            candidates = sorted(aid for aid, a in want.items() if not a.get("manual"))
            sample = rnd.sample(candidates, min(streams_sample, len(candidates)))
            for aid in sample:
                status, body = emu.streams(aid)
                tc.assertEqual(status, 200, "streams of %d from the emulator" % aid)
                exp = stream_rows(body)
                got = conn.execute(
                    "SELECT seq, time, distance, lat, lng, altitude, velocity, heartrate, cadence, watts, temp, "
                    "moving, grade FROM streams WHERE activity_id=? ORDER BY seq", (aid,)).fetchall()
                tc.assertEqual(len(got), len(exp), "number of stream samples of activity %d" % aid)
                for g, e in zip(got, exp):
                    for x, y, name in zip(g, e, ("seq", "time", "distance", "lat", "lng", "altitude", "velocity",
                                                  "heartrate", "cadence", "watts", "temp", "moving", "grade")):
                        if y is None or x is None:
                            tc.assertEqual(x, y, "activity %d sample %d %s" % (aid, g[0], name))
                        else:
                            tc.assertTrue(close(float(x), float(y)),
                                          "activity %d sample %d %s: %r != %r" % (aid, g[0], name, x, y))
    finally:
        conn.close()
    return want


def main():
    unittest.main(verbosity=2)
