"""The mount (mount.stravafs, issue 3) over an emulator-synced cache: the tree
matches the cache (find counts, names, sizes, JSON through jq, CSV through
Python's csv module, GPX through gpsbabel, grep -r), hostile names, stable
inodes, d_type, link counts, mtimes and modes; EROFS for every write; a sync by
another process shows within 2 s; SIGTERM/SIGINT/SIGHUP and fusermount3 -u
unmount cleanly; a month of 5,000 activities; the helper's errors and options.

Needs $MOUNT_STRAVAFS besides $STRAVAFS and $STRAVA_EMULATOR (meson sets all
three), /dev/fuse, fusermount3, jq and gpsbabel. By hand:

    MOUNT_STRAVAFS=BUILD/fuse/mount.stravafs STRAVAFS=BUILD/src/stravafs \\
        STRAVA_EMULATOR=BUILD/tests/emulator/strava-emulator /usr/bin/python3 tests/integration/test_mount.py
"""

import csv
import ctypes
import errno
import http.client
import io
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (EXIT_ERROR, EXIT_USAGE, MOUNT_STRAVAFS, MountCase, die_with_parent, iso, main,  # noqa: E402
                     mount_type, mounts, parse_iso, process_gone, processes_of, unmount, wait_until)

FRESH = 2.0  # seconds: "new activities appear within 2 seconds"
NO_REFRESH = ["-o", "refresh=0"]  # no background sync of its own: only what the test syncs shows
STREAMS_HEADER = ["seq", "time", "distance", "lat", "lng", "altitude", "velocity", "heartrate", "cadence", "watts",
                  "temp", "moving", "grade"]

# Inode layout of src/format/names.h.
KIND_SHIFT = 56
YEAR_DIR, MONTH_DIR, YEAR_CSV, MONTH_CSV, ACT_JSON, ACT_CSV, ACT_GPX, BYID_LINK, STATS_FILE = range(1, 10)
STATS_FILES = ["activity_facts.csv", "weekly_totals.csv", "monthly_totals.csv", "yearly_totals.csv",
               "training_90d.csv", "zone_time.csv", "hr_zones.csv", "power_zones.csv", "best_efforts.csv",
               "personal_records.csv", "weekly_distance.svg", "calendar.svg"]


def ino(kind, payload):
    return kind << KIND_SHIFT | payload


# d_type through readdir(3) itself: os.scandir falls back to lstat when the
# file system leaves d_type DT_UNKNOWN, so it cannot tell whether d_type is set.
DT_UNKNOWN, DT_DIR, DT_REG, DT_LNK = 0, 4, 8, 10


class _Dirent64(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64), ("d_reclen", ctypes.c_ushort),
                ("d_type", ctypes.c_ubyte), ("d_name", ctypes.c_char * 256)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.opendir.restype = ctypes.c_void_p
_libc.opendir.argtypes = [ctypes.c_char_p]
_libc.readdir64.restype = ctypes.POINTER(_Dirent64)
_libc.readdir64.argtypes = [ctypes.c_void_p]
_libc.closedir.argtypes = [ctypes.c_void_p]


def readdir(path):
    """[(name bytes, d_ino, d_type)] of a directory, "." and ".." included."""
    d = _libc.opendir(os.fsencode(path))
    if not d:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    out = []
    try:
        while True:
            ctypes.set_errno(0)
            ent = _libc.readdir64(d)
            if not ent:
                if ctypes.get_errno():
                    raise OSError(ctypes.get_errno(), "readdir", path)
                return out
            out.append((ent.contents.d_name, ent.contents.d_ino, ent.contents.d_type))
    finally:
        _libc.closedir(d)


def walk(root):
    """{relative path: os.lstat result} of everything under root (root is "")."""
    out = {"": os.lstat(root)}
    todo = [""]
    while todo:
        rel = todo.pop()
        for name in os.listdir(os.path.join(root, rel) if rel else root):
            r = os.path.join(rel, name) if rel else name
            st = os.lstat(os.path.join(root, r))
            out[r] = st
            if stat.S_ISDIR(st.st_mode):
                todo.append(r)
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def run(argv, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(argv, stderr=subprocess.PIPE, timeout=120, **kw)


def csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


class Expected:
    """The tree the mount must show, from the cache alone (read with sqlite3),
    except the file names of activities, which are the mount's to choose
    (src/format/names.h); the tests take them from the by-id links and check them
    against the naming rule's shape."""

    def __init__(self, sb):
        conn = sb.db()
        conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
        try:
            rows = conn.execute("SELECT id, name, sport_type, start_date, start_date_local, json "
                                "FROM activities").fetchall()
            samples = {r[0]: (r[1], r[2], [s for s in r[3].split(",")]) for r in conn.execute(
                "SELECT activity_id, count(*), sum(lat IS NOT NULL AND lng IS NOT NULL), group_concat(seq) "
                "FROM (SELECT * FROM streams ORDER BY activity_id, seq) GROUP BY activity_id")}
            self.athletes = [r[0] for r in conn.execute("SELECT json FROM athletes")]
        finally:
            conn.close()
        self.acts = {}
        for aid, name, sport, start, local, js in rows:
            n, gps, seqs = samples.get(aid, (0, 0, []))
            self.acts[aid] = {"id": aid, "name": name, "sport_type": sport, "start": parse_iso(start),
                              "local": local, "year": local[:4], "month": local[5:7], "json": js,
                              "samples": n, "gps": gps or 0, "seqs": [int(s) for s in seqs]}
        self.newest = max(a["start"] for a in self.acts.values())
        self.years = sorted({a["year"] for a in self.acts.values()})
        self.months = sorted({(a["year"], a["month"]) for a in self.acts.values()})

    def in_folder(self, year=None, month=None):
        """The activities of a folder, in activities.csv order."""
        acts = [a for a in self.acts.values() if (year is None or a["year"] == year) and
                (month is None or a["month"] == month)]
        return sorted(acts, key=lambda a: (a["local"], a["id"]))

    def counts(self):
        """(regular files, symlinks, directories)."""
        files = 2 + len(STATS_FILES) + len(self.years) + len(self.months)
        for a in self.acts.values():
            files += 1 + (a["samples"] > 0) + (a["gps"] > 0)
        return files, len(self.acts), 3 + len(self.years) + len(self.months)


class MountTree(MountCase):
    """One emulator athlete, synced in full, mounted: everything the mount shows."""

    def synced(self, activities=60, seed=300, samples=50, config=None, extra=()):
        """An emulator athlete with activities in three years (the generated
        ones are all recent), synced into a fresh cache."""
        emu = self.emulator(activities, seed, args=("--samples", str(samples)))
        for fields in extra:
            emu.create(fields)
        sb = self.sandbox(emu, config)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        return emu, sb

    def full_tree(self):
        emu, sb = self.synced(extra=[
            # The word the grep test looks for, in a year of its own.
            {"name": "Quokkaflight tempo along the river", "sport_type": "Run", "start_date": "2019-06-15T05:30:00Z",
             "timezone": "Europe/Berlin"},
            {"name": "Leap day ride", "sport_type": "Ride", "start_date": "2024-02-29T10:00:00Z",
             "timezone": "Europe/London"},
            {"name": "Leap day run", "sport_type": "Run", "start_date": "2024-02-29T17:00:00Z",
             "timezone": "Europe/London"},
        ])
        exp = Expected(sb)
        self.assertEqual(len(exp.acts), 63)
        return emu, sb, exp

    def names(self, mnt, exp):
        """{id: base name} from the by-id links, checked against the rule's shape."""
        bases = {}
        for aid, a in exp.acts.items():
            target = os.readlink(os.path.join(mnt, "by-id", "%d.json" % aid))
            m = re.fullmatch(r"\.\./(\d{4})/(\d\d)/((\d{4})-(\d\d)-(\d\d)_(\d\d)(\d\d)_(.+)_(\d+))\.json", target)
            self.assertIsNotNone(m, "by-id/%d.json -> %r" % (aid, target))
            local = a["local"]
            self.assertEqual(m.group(1, 2), (local[:4], local[5:7]), target)
            self.assertEqual(m.group(4, 5, 6, 7, 8), (local[:4], local[5:7], local[8:10], local[11:13],
                                                      local[14:16]), target)
            self.assertEqual(int(m.group(10)), aid, target)
            bases[aid] = m.group(3)
        self.assertEqual(len(set(bases.values())), len(bases), "two activities share a name")
        return bases

    def expected_paths(self, exp, bases):
        """{relative path: "f" | "l" | "d"} of the whole tree."""
        want = {"": "d", "by-id": "d", "athlete.json": "f", "activities.csv": "f", "stats": "d"}
        want.update({"stats/" + name: "f" for name in STATS_FILES})
        for y in exp.years:
            want[y] = "d"
            want[y + "/activities.csv"] = "f"
        for y, m in exp.months:
            want["%s/%s" % (y, m)] = "d"
            want["%s/%s/activities.csv" % (y, m)] = "f"
        for aid, a in exp.acts.items():
            base = "%s/%s/%s" % (a["year"], a["month"], bases[aid])
            want[base + ".json"] = "f"
            if a["samples"]:
                want[base + ".csv"] = "f"
            if a["gps"]:
                want[base + ".gpx"] = "f"
            want["by-id/%d.json" % aid] = "l"
        return want

    def test_tree_find_sizes_json_csv_gpx_and_grep(self):
        emu, sb, exp = self.full_tree()
        m = self.mount(sb, options=NO_REFRESH)
        mnt = m.path
        self.assertEqual(mount_type(mnt), "fuse.stravafs")
        bases = self.names(mnt, exp)
        want = self.expected_paths(exp, bases)
        tree = walk(mnt)
        kinds = {r: "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else
                 "f" if stat.S_ISREG(st.st_mode) else "?" for r, st in tree.items()}
        self.assertEqual(sorted(set(kinds.items()) - set(want.items())), [], "shown but not expected")
        self.assertEqual(sorted(set(want.items()) - set(kinds.items())), [], "expected but not shown")

        # find(1) agrees.
        files, links, dirs = exp.counts()
        for t, n in (("f", files), ("l", links), ("d", dirs)):
            p = run(["find", mnt, "-type", t])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len(p.stdout.splitlines()), n, "find -type %s" % t)
        # The cache has what this test is about: streams, GPS, activities without either.
        self.assertTrue(any(a["gps"] for a in exp.acts.values()))
        self.assertTrue(any(a["samples"] and not a["gps"] for a in exp.acts.values()))
        self.assertTrue(any(not a["samples"] for a in exp.acts.values()))
        self.assertGreaterEqual(len(exp.years), 3)

        # st_size is exactly what read() gives, never 0; pread at offsets agrees.
        for rel, st in sorted(tree.items()):
            path = os.path.join(mnt, rel)
            if kinds[rel] == "f":
                data = read(path)
                self.assertEqual(st.st_size, len(data), rel)
                self.assertGreater(st.st_size, 0, rel)
                with open(path, "rb", buffering=0) as f:
                    for off in (0, 1, len(data) // 3, len(data) - 1, len(data), len(data) + 100):
                        self.assertEqual(os.pread(f.fileno(), 4096, off), data[off:off + 4096], (rel, off))
            elif kinds[rel] == "l":
                self.assertEqual(st.st_size, len(os.readlink(os.fsencode(path))), rel)

        # jq parses every JSON, directly and through by-id; the content is the cache's.
        jsons = [r for r in want if r.endswith(".json")]
        self.assertEqual(len(jsons), 1 + 2 * len(exp.acts))
        for rel in jsons:
            p = run(["jq", ".", os.path.join(mnt, rel)], stdout=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, "jq . %s: %s" % (rel, p.stderr.decode(errors="replace")))
        for aid, a in exp.acts.items():
            via_link = json.loads(read(os.path.join(mnt, "by-id", "%d.json" % aid)))
            direct = json.loads(read(os.path.join(mnt, a["year"], a["month"], bases[aid] + ".json")))
            self.assertEqual(via_link, direct)
            self.assertEqual(direct, json.loads(a["json"]), "activity %d: the .json is not the cached JSON" % aid)
            self.assertTrue(read(os.path.join(mnt, "by-id", "%d.json" % aid)).endswith(b"}\n"))
        self.assertEqual(len(exp.athletes), 1)
        self.assertEqual(json.loads(read(os.path.join(mnt, "athlete.json"))), json.loads(exp.athletes[0]))

        # Every activities.csv: one header everywhere, the folder's activities in order.
        header = None
        folders = [(None, None)] + [(y, None) for y in exp.years] + exp.months
        for y, mo in folders:
            rel = "/".join(x for x in (y, mo, "activities.csv") if x)
            data = read(os.path.join(mnt, rel))
            self.assertTrue(data.endswith(b"\r\n"), rel)
            rows = csv_rows(data)
            header = header or rows[0]
            self.assertEqual(rows[0], header, rel)
            self.assertIn("id", header)
            self.assertNotIn("polyline", header)
            ids = [int(r[header.index("id")]) for r in rows[1:]]
            self.assertEqual(ids, [a["id"] for a in exp.in_folder(y, mo)], rel)
            for r in rows[1:]:
                self.assertEqual(len(r), len(header), rel)
                self.assertEqual(r[header.index("start_date_local")],
                                 exp.acts[int(r[header.index("id")])]["local"], rel)
        # The streams CSVs: one row per sample, in seq order.
        for aid, a in exp.acts.items():
            if a["samples"]:
                rows = csv_rows(read(os.path.join(mnt, a["year"], a["month"], bases[aid] + ".csv")))
                self.assertEqual(rows[0], STREAMS_HEADER)
                self.assertEqual([int(r[0]) for r in rows[1:]], a["seqs"], "activity %d" % aid)
                self.assertTrue(all(len(r) == len(STREAMS_HEADER) for r in rows))

        # GPX: gpsbabel reads every one back, one trackpoint per sample with lat and lng.
        out = os.path.join(self.tmp, "gpx.csv")
        for aid, a in exp.acts.items():
            if not a["gps"]:
                continue
            path = os.path.join(mnt, a["year"], a["month"], bases[aid] + ".gpx")
            p = run(["gpsbabel", "-t", "-i", "gpx", "-f", path, "-o", "unicsv", "-F", out])
            self.assertEqual(p.returncode, 0, "gpsbabel on %s: %s" % (path, p.stderr.decode(errors="replace")))
            with open(out, newline="") as f:
                self.assertEqual(len(list(csv.reader(f))) - 1, a["gps"], "trackpoints of %s" % path)
            ns = {"g": "http://www.topografix.com/GPX/1/1"}
            root = ET.fromstring(read(path))
            self.assertEqual(root.get("version"), "1.1")
            self.assertEqual(len(root.findall("g:trk/g:trkseg/g:trkpt", ns)), a["gps"], path)
            # The name as an XML reader sees it: the activity's, less what
            # XML cannot hold (control characters but tab, LF and CR).
            xml_name = "".join(c for c in a["name"] if c in "\t\n\r" or not (ord(c) < 0x20 or c in "\ufffe\uffff"))
            self.assertEqual(root.find("g:trk/g:name", ns).text or "", xml_name, path)

        # grep -r finds the activity by a word of its name: its JSON and GPX
        # (which carry the name), the three activities.csv that list it, and
        # stats/activity_facts.csv (and best_efforts.csv when it has streams).
        (q,) = [a for a in exp.acts.values() if a["name"].startswith("Quokkaflight")]
        self.assertIn("Quokkaflight-tempo-along-the-river", bases[q["id"]])
        p = run(["grep", "-rl", "Quokkaflight", mnt])
        self.assertEqual(p.returncode, 0, p.stderr)
        found = {os.path.relpath(x, mnt) for x in p.stdout.decode().splitlines()}
        month = "%s/%s/" % (q["year"], q["month"])
        want = {month + bases[q["id"]] + ".json", "activities.csv", q["year"] + "/activities.csv",
                month + "activities.csv", "stats/activity_facts.csv"}
        if q["samples"]:
            want.add("stats/best_efforts.csv")
        if q["gps"]:
            want.add(month + bases[q["id"]] + ".gpx")
        self.assertEqual(found, want)
        p = run(["grep", "-rh", '"name": "Quokkaflight', mnt])
        self.assertRegex(p.stdout.decode(), r'^ +"name": "Quokkaflight tempo along the river",?\n$')

    def test_hostile_names_types_links_inodes_times_and_remount(self):
        emu, sb, exp = self.full_tree()
        names = [a["name"] for a in exp.acts.values()]
        # The emulator gave us the hostile names this test is about.
        for what, pred in (("../../etc/passwd", lambda n: n == "../../etc/passwd"),
                           ("a newline", lambda n: "\n" in n), ("a control character", lambda n: "\x01" in n),
                           ("over 300 bytes", lambda n: len(n.encode("utf-8", "surrogateescape")) > 300),
                           ("a leading dot", lambda n: n.startswith(".")),
                           ("a leading dash", lambda n: n.startswith("-")),
                           ("a NUL", lambda n: "\x00" in n), ("empty", lambda n: n == ""), ("..", lambda n: n == "..")):
            self.assertTrue(any(pred(n) for n in names), "no activity name with %s" % what)

        m = self.mount(sb, options=NO_REFRESH)
        mnt = m.path
        bases = self.names(mnt, exp)
        tree = walk(mnt)

        # Names: valid UTF-8, at most 255 bytes, no control characters, no
        # leading "." or "-" (os.listdir on bytes: the names as the kernel has them).
        for rel, st in tree.items():
            if not stat.S_ISDIR(st.st_mode):
                continue
            for raw in os.listdir(os.fsencode(os.path.join(mnt, rel))):
                try:
                    name = raw.decode("utf-8")
                except UnicodeDecodeError:
                    self.fail("%r in %r is not UTF-8" % (raw, rel))
                self.assertLessEqual(len(raw), 255, name)
                self.assertFalse(any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name), repr(name))
                self.assertNotIn("/", name)
                self.assertFalse(name.startswith((".", "-")), repr(name))
        long = [a for a in exp.acts.values() if len(a["name"].encode("utf-8", "surrogateescape")) > 300]
        self.assertTrue(long)
        for a in long:
            self.assertLessEqual(len((bases[a["id"]] + ".json").encode()), 255)
            for ext in (".json",) + ((".gpx",) if a["gps"] else ()):
                self.assertTrue(os.path.isfile(os.path.join(mnt, a["year"], a["month"], bases[a["id"]] + ext)))
        (pw,) = [a for a in exp.acts.values() if a["name"] == "../../etc/passwd"]
        self.assertTrue(os.path.isfile(os.path.join(mnt, pw["year"], pw["month"], bases[pw["id"]] + ".json")))
        self.assertFalse(os.path.exists(os.path.join(mnt, "etc")))

        # Types, modes, owners, link counts, inode numbers, times.
        uid, gid = os.getuid(), os.getgid()
        newest = exp.newest
        year_newest = {y: max(a["start"] for a in exp.in_folder(y)) for y in exp.years}
        month_newest = {(y, mo): max(a["start"] for a in exp.in_folder(y, mo)) for y, mo in exp.months}
        by_path = {}
        for aid, a in exp.acts.items():
            for ext, kind in ((".json", ACT_JSON), (".csv", ACT_CSV), (".gpx", ACT_GPX)):
                by_path["%s/%s/%s%s" % (a["year"], a["month"], bases[aid], ext)] = (ino(kind, aid), a["start"])
            by_path["by-id/%d.json" % aid] = (ino(BYID_LINK, aid), None)
        fixed = {"": (1, newest), "athlete.json": (2, newest), "activities.csv": (3, newest), "by-id": (4, newest),
                 "stats": (5, newest)}
        for i, name in enumerate(STATS_FILES):
            fixed["stats/" + name] = (ino(STATS_FILE, i), newest)
        for y in exp.years:
            fixed[y] = (ino(YEAR_DIR, int(y)), year_newest[y])
            fixed[y + "/activities.csv"] = (ino(YEAR_CSV, int(y)), year_newest[y])
        for y, mo in exp.months:
            p = int(y) << 4 | int(mo)
            fixed["%s/%s" % (y, mo)] = (ino(MONTH_DIR, p), month_newest[(y, mo)])
            fixed["%s/%s/activities.csv" % (y, mo)] = (ino(MONTH_CSV, p), month_newest[(y, mo)])
        by_path.update(fixed)
        for rel, st in tree.items():
            with self.subTest(path=rel):
                self.assertEqual((st.st_uid, st.st_gid), (uid, gid))
                self.assertIn(rel, by_path, "unexpected entry")
                want_ino, want_mtime = by_path[rel]
                self.assertEqual(st.st_ino, want_ino, "inode of %r is %#x, src/format/names.h says %#x" % (
                    rel, st.st_ino, want_ino))
                if want_mtime is not None:
                    self.assertEqual(st.st_mtime, want_mtime, "mtime of %r: %s, expected %s" % (
                        rel, iso(st.st_mtime), iso(want_mtime)))
                if stat.S_ISDIR(st.st_mode):
                    self.assertEqual(stat.S_IMODE(st.st_mode), 0o555)
                    subdirs = sum(1 for r, s in tree.items() if r and os.path.dirname(r) == rel and
                                  stat.S_ISDIR(s.st_mode))
                    self.assertEqual(st.st_nlink, 2 + subdirs)
                elif stat.S_ISLNK(st.st_mode):
                    self.assertEqual(stat.S_IMODE(st.st_mode), 0o777)
                    self.assertEqual(st.st_nlink, 1)
                else:
                    self.assertTrue(stat.S_ISREG(st.st_mode))
                    self.assertEqual(stat.S_IMODE(st.st_mode), 0o444)
                    self.assertEqual(st.st_nlink, 1)
        self.assertEqual(len({st.st_ino for st in tree.values()}), len(tree), "two entries share an inode")

        # d_type (from readdir itself, and as os.scandir reports it) and d_ino match lstat.
        for rel, st in tree.items():
            if not stat.S_ISDIR(st.st_mode):
                continue
            d = os.path.join(mnt, rel)
            ents = readdir(d)
            self.assertEqual(sorted(n for n, _, _ in ents if n not in (b".", b"..")),
                             sorted(os.listdir(os.fsencode(d))), rel)
            self.assertIn(b".", [n for n, _, _ in ents])
            self.assertIn(b"..", [n for n, _, _ in ents])
            for name, d_ino, d_type in ents:
                if name in (b".", b".."):
                    self.assertEqual(d_type, DT_DIR, (rel, name))
                    continue
                child = tree[os.path.join(rel, name.decode()) if rel else name.decode()]
                want = DT_DIR if stat.S_ISDIR(child.st_mode) else DT_LNK if stat.S_ISLNK(child.st_mode) else DT_REG
                self.assertEqual(d_type, want, "d_type of %r in %r" % (name, rel))
                self.assertEqual(d_ino, child.st_ino, "d_ino of %r in %r" % (name, rel))
            for e in os.scandir(d):
                child = tree[os.path.join(rel, e.name) if rel else e.name]
                self.assertEqual((e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False),
                                  e.is_symlink()),
                                 (stat.S_ISDIR(child.st_mode), stat.S_ISREG(child.st_mode),
                                  stat.S_ISLNK(child.st_mode)), e.path)
                self.assertEqual(e.inode(), child.st_ino, e.path)

        # Stable across a remount: the same names, inodes, sizes, times.
        def snapshot():
            return {r: (st.st_ino, st.st_mode, st.st_nlink, st.st_size, st.st_mtime) for r, st in walk(mnt).items()}
        before = snapshot()
        self.assertEqual(unmount(mnt), [])
        self.assertEqual(m.proc.wait(10), 0, m.stderr())
        self.assertIsNone(mount_type(mnt))
        self.mount(sb, options=NO_REFRESH)
        self.assertEqual(snapshot(), before)


class MountWrites(MountCase):
    def test_a_too_deep_row_in_the_cache_never_crashes_the_daemon(self):
        # Issue 15: a row of 100,000 nested arrays (stored before the depth
        # limit, or by hand) was reported to crash the daemon on every mount.
        # (This row, re-measured when read, did not crash the daemon before
        # the limit either: the guard is for the daemon's reads of it. The
        # sync's crash is test_faults' test_deep.)
        emu = self.emulator(5, seed=61)
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        victim = min(sb.activity_ids())
        text = sb.scalar("SELECT json FROM activities WHERE id = ?", (victim,))
        deep = text.replace("{", '{"x":123456789012345678901234567890,"deep":%s%s,' % ("[" * 100000, "]" * 100000), 1)
        conn = sb.db()
        with conn:
            conn.execute("UPDATE activities SET json = ? WHERE id = ?", (deep, victim))
            conn.execute("UPDATE activity_sync SET json_size = NULL WHERE id = ?", (victim,))  # to be measured
        conn.close()
        m = self.mount(sb, options=NO_REFRESH)
        tree = walk(m.path)
        read_ok = 0
        for rel, st in sorted(tree.items()):
            if stat.S_ISDIR(st.st_mode):
                continue
            path = os.path.join(m.path, rel)
            try:
                data = read(path)
            except OSError:
                # Only the damaged activity's own files may fail to read.
                self.assertIn("_%d." % victim, rel)
                continue
            read_ok += 1
            activity = re.search(r"_(\d+)\.json$", rel)
            if activity and int(activity.group(1)) != victim:
                self.assertEqual(json.loads(data)["id"], int(activity.group(1)), rel)
        self.assertIsNone(m.proc.poll(), "the daemon died:\n%s" % m.stderr())
        # Every other activity's JSON was read whole.
        others = {int(x.group(1)) for x in (re.search(r"_(\d+)\.json$", r) for r in tree) if x}
        self.assertEqual(others, sb.activity_ids())
        self.assertGreater(read_ok, 20)

    def test_a_cache_missing_a_table_mounts_and_answers_eio_with_a_log_line(self):
        # Issue 15: with `activities` dropped the daemon died of SIGSEGV
        # (an unchecked Prepare), and with its background sync on it was
        # seen not to come back. Now it mounts, answers EIO, says why, and
        # its refresh fails the same way without stopping it.
        emu = self.emulator(4, seed=62)
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        conn = sb.db()
        with conn:
            conn.execute("DROP TABLE activities")
            conn.execute("DELETE FROM sync_state WHERE key = 'last_success'")  # the refresh runs at once
        conn.close()
        m = self.mount(sb, options=["-o", "refresh=1h"])
        with self.assertRaises(OSError) as e:
            os.listdir(m.path)
        self.assertEqual(e.exception.errno, errno.EIO)
        wait_until(lambda: "background sync stopped" in m.stderr(), 30, "the background sync's outcome in the log")
        stopped = [l for l in m.stderr().splitlines() if "background sync stopped" in l]
        self.assertIn("no such table: activities", stopped[0])
        with self.assertRaises(OSError):
            os.listdir(os.path.join(m.path, "by-id"))
        self.assertIsNone(m.proc.poll(), "the daemon died:\n%s" % m.stderr())
        self.assertEqual(os.statvfs(m.path).f_namemax, 255)

    def test_every_write_fails_with_erofs(self):
        emu = self.emulator(5, seed=301, args=("--samples", "20"))
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        mnt = self.mount(sb, options=NO_REFRESH).path
        tree = walk(mnt)
        before = {r: read(os.path.join(mnt, r)) for r, st in tree.items() if stat.S_ISREG(st.st_mode)}
        f = os.path.join(mnt, sorted(r for r in before if r.endswith(".json") and "/" in r)[0])
        year = sorted(r for r in tree if re.fullmatch(r"\d{4}", r))[0]
        link = os.path.join(mnt, "by-id", os.listdir(os.path.join(mnt, "by-id"))[0])
        ops = [
            ("create", lambda: os.open(os.path.join(mnt, "new.txt"), os.O_CREAT | os.O_WRONLY, 0o644)),
            ("create in a month", lambda: os.open(os.path.join(os.path.dirname(f), "new.json"),
                                                  os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)),
            ("open for writing", lambda: os.open(f, os.O_WRONLY)),
            ("open read-write", lambda: os.open(f, os.O_RDWR)),
            ("open to append", lambda: os.open(f, os.O_WRONLY | os.O_APPEND)),
            ("open truncating", lambda: os.open(f, os.O_RDONLY | os.O_TRUNC)),
            ("truncate", lambda: os.truncate(f, 0)),
            ("mkdir", lambda: os.mkdir(os.path.join(mnt, "newdir"))),
            ("mkdir in a year", lambda: os.mkdir(os.path.join(mnt, year, "13"))),
            ("rmdir", lambda: os.rmdir(os.path.join(mnt, year))),
            ("rm", lambda: os.unlink(f)),
            ("rm a by-id link", lambda: os.unlink(link)),
            ("rename", lambda: os.rename(f, f + ".bak")),
            ("rename to the root", lambda: os.rename(f, os.path.join(mnt, "moved.json"))),
            ("rename a folder", lambda: os.rename(os.path.join(mnt, year), os.path.join(mnt, "1999"))),
            ("chmod", lambda: os.chmod(f, 0o644)),
            ("chmod a folder", lambda: os.chmod(os.path.join(mnt, year), 0o755)),
            ("chown", lambda: os.chown(f, os.getuid(), os.getgid())),
            ("touch (utime now)", lambda: os.utime(f)),
            ("touch -d", lambda: os.utime(f, (0, 0))),
            ("symlink", lambda: os.symlink("athlete.json", os.path.join(mnt, "link"))),
            ("hard link", lambda: os.link(f, os.path.join(mnt, "hard.json"))),
            ("setxattr", lambda: os.setxattr(f, "user.test", b"1")),
            ("mknod", lambda: os.mknod(os.path.join(mnt, "fifo"), 0o600 | stat.S_IFIFO)),
        ]
        for what, op in ops:
            with self.subTest(op=what):
                try:
                    fd = op()
                except OSError as e:
                    self.assertEqual(e.errno, errno.EROFS, "%s: %s (errno %d), expected EROFS" % (what, e, e.errno))
                else:
                    if isinstance(fd, int):
                        os.close(fd)
                    self.fail("%s succeeded on a read-only mount" % what)
        # The tools say so too.
        for argv in (["touch", os.path.join(mnt, "new")], ["touch", f], ["rm", "-f", f], ["mkdir", mnt + "/d"],
                     ["mv", f, mnt + "/x.json"], ["chmod", "u+w", f], ["cp", f, f + ".copy"]):
            with self.subTest(argv=argv[0]):
                p = run(argv, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
                self.assertNotEqual(p.returncode, 0, argv)
                self.assertIn(b"Read-only file system", p.stderr, argv)
        self.assertEqual({r: read(os.path.join(mnt, r)) for r in before}, before)
        self.assertEqual(set(walk(mnt)), set(tree))


class MountFreshness(MountCase):
    def month_state(self, mnt, year, month):
        d = os.path.join(mnt, year, month)
        listing = set(os.listdir(d)) if os.path.isdir(d) else set()
        csvp = os.path.join(d, "activities.csv")
        if not os.path.exists(csvp):
            return listing, None, None
        data = read(csvp)
        return listing, os.stat(csvp).st_size, data

    def test_a_sync_by_another_process_shows_within_2_seconds(self):
        emu = self.emulator(40, seed=302, args=("--samples", "30"))
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        m = self.mount(sb, options=NO_REFRESH)
        mnt = m.path
        acts = sorted(emu.activities("summary"), key=lambda a: (parse_iso(a["start_date"]), a["id"]))
        newest = acts[-1]
        y, mo = newest["start_date_local"][:4], newest["start_date_local"][5:7]

        # Warm the kernel caches: the month's listing and attributes, its
        # activities.csv, the root's, and a negative lookup of the new link.
        def look(new_id=None):
            listing, size, data = self.month_state(mnt, y, mo)
            for n in listing:
                os.lstat(os.path.join(mnt, y, mo, n))
            read(os.path.join(mnt, "activities.csv"))
            os.listdir(os.path.join(mnt, "by-id"))
            if new_id:
                self.assertFalse(os.path.lexists(os.path.join(mnt, "by-id", "%d.json" % new_id)))
            return listing, size, data
        # A new activity, one minute after the newest (so in its month, and
        # inside the incremental sync's window).
        for offset in (60, -60):  # whichever stays in the newest's month
            new = emu.create({"name": "Freshly synced run", "sport_type": "Run",
                              "start_date": parse_iso(newest["start_date"]) + offset})
            if new["start_date_local"][:7] == newest["start_date_local"][:7]:
                break
            emu.delete(new["id"])
        self.assertEqual(new["start_date_local"][:7], newest["start_date_local"][:7])
        listing0, size0, csv0 = look(new["id"])
        root0 = read(os.path.join(mnt, "activities.csv"))
        r = sb.run("sync")
        self.assertExit(r, 0)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities WHERE id=?", (new["id"],)), 1)
        t0 = time.monotonic()
        link = os.path.join(mnt, "by-id", "%d.json" % new["id"])

        def appeared():
            listing, _, _ = self.month_state(mnt, y, mo)
            return any(n.endswith("_%d.json" % new["id"]) for n in listing) and os.path.lexists(link) and \
                "%d.json" % new["id"] in os.listdir(os.path.join(mnt, "by-id"))
        wait_until(appeared, FRESH, "the new activity in `ls %s/%s` and by-id" % (y, mo))
        seen = time.monotonic() - t0
        p = run(["ls", os.path.join(mnt, y, mo)])
        self.assertIn(b"_%d.json" % new["id"], p.stdout)
        target = os.readlink(link)
        self.assertEqual(json.loads(read(link))["id"], new["id"])
        self.assertTrue(os.path.isfile(os.path.join(mnt, "by-id", target)))
        listing1, _, _ = self.month_state(mnt, y, mo)
        base = os.path.basename(target)[:-len(".json")]
        added = {base + ".json", base + ".csv", base + ".gpx"} & listing1
        self.assertEqual(listing1 - listing0, added)
        self.assertIn(base + ".json", added)

        # The month's (and root's) activities.csv have its row, and sizes that fit.
        def csv_has(ids_present, ids_absent):
            _, size, data = self.month_state(mnt, y, mo)
            ids = [int(r[0]) for r in csv_rows(data)[1:]]
            root = read(os.path.join(mnt, "activities.csv"))
            root_ids = {int(r[0]) for r in csv_rows(root)[1:]}
            return size == len(data) and os.stat(os.path.join(mnt, "activities.csv")).st_size == len(root) and \
                all(i in ids and i in root_ids for i in ids_present) and \
                not any(i in ids or i in root_ids for i in ids_absent)
        wait_until(lambda: csv_has([new["id"]], []), max(0.0, FRESH - seen) + 0.01,
                   "the new activity in %s/%s/activities.csv with a matching size" % (y, mo))
        _, size1, csv1 = self.month_state(mnt, y, mo)
        self.assertEqual(len(csv_rows(csv1)), len(csv_rows(csv0)) + 1)
        self.assertGreater(size1, size0)
        self.assertEqual(len(csv_rows(read(os.path.join(mnt, "activities.csv")))), len(csv_rows(root0)) + 1)

        # Deleted on Strava, gone from the mount after a --full sync: its
        # files, its link, its rows. It was looked at (cached positively) before.
        victim = acts[-2]
        vy, vmo = victim["start_date_local"][:4], victim["start_date_local"][5:7]
        vlink = os.path.join(mnt, "by-id", "%d.json" % victim["id"])
        vtarget = os.path.normpath(os.path.join(mnt, "by-id", os.readlink(vlink)))
        self.assertEqual(os.path.dirname(vtarget), os.path.join(mnt, vy, vmo))
        vbase = os.path.basename(vtarget)[:-len(".json")]
        vfiles = {n for n in os.listdir(os.path.dirname(vtarget)) if n.startswith(vbase + ".")}
        self.assertIn(vbase + ".json", vfiles)
        for n in vfiles:
            read(os.path.join(mnt, vy, vmo, n))
        emu.delete(victim["id"])
        self.assertExit(sb.run("sync", "--full"), 0)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities WHERE id=?", (victim["id"],)), 0)
        t0 = time.monotonic()

        def gone():
            listing = set(os.listdir(os.path.join(mnt, vy, vmo)))
            return not (vfiles & listing) and not os.path.lexists(vlink) and not os.path.lexists(vtarget) and \
                "%d.json" % victim["id"] not in os.listdir(os.path.join(mnt, "by-id"))
        wait_until(gone, FRESH, "the deleted activity gone from `ls %s/%s`, by-id and lookups" % (vy, vmo))
        seen = time.monotonic() - t0
        for n in vfiles:
            with self.assertRaises(FileNotFoundError):
                os.stat(os.path.join(mnt, vy, vmo, n))
        wait_until(lambda: csv_has([new["id"]], [victim["id"]]), max(0.0, FRESH - seen) + 0.01,
                   "the deleted activity gone from activities.csv with a matching size")
        _, size2, csv2 = self.month_state(mnt, y, mo) if (vy, vmo) == (y, mo) else (None, None, None)
        if csv2 is not None:
            self.assertEqual(len(csv_rows(csv2)), len(csv_rows(csv1)) - 1)

        # Renamed on Strava: the files move to the new name, the link follows.
        emu.patch(new["id"], {"name": "Renamed after the fact"})
        self.assertExit(sb.run("sync"), 0)
        old_json = os.path.join(mnt, y, mo, base + ".json")

        def renamed():
            t = os.readlink(link) if os.path.lexists(link) else ""
            return "Renamed-after-the-fact" in t and not os.path.lexists(old_json) and \
                any("Renamed-after-the-fact_%d.json" % new["id"] in n for n in os.listdir(os.path.join(mnt, y, mo)))
        wait_until(renamed, FRESH, "the renamed activity under its new name")
        self.assertEqual(json.loads(read(link))["name"], "Renamed after the fact")
        self.assertIsNone(m.proc.poll(), "the mount died: %s" % m.stderr())


class MountVersions(MountCase):
    def test_a_cache_file_replaced_under_the_mount_is_shown_once_that_is_safe(self):
        # Issue 15: a running mount never noticed `mv new.db cache.db` and
        # showed the old cache forever. The old file's -wal and -shm stay
        # beside the name while the daemon reads it, and SQLite would read
        # them as the new file's, so the mount says so and waits for them
        # to go.
        emu_a, emu_b = self.emulator(6, seed=311), self.emulator(4, seed=312)
        a, b = self.sandbox(emu_a), self.sandbox(emu_b, name="other")
        for sb in (a, b):
            sb.authorize()
            self.assertExit(sb.run("sync"), 0)
        self.assertFalse(os.path.exists(b.cache_path + "-wal"))  # closed cleanly: one file
        ids_a = sorted("%d.json" % i for i in a.activity_ids())
        numbers_b = b.activity_ids()
        ids_b = sorted("%d.json" % i for i in numbers_b)
        self.assertFalse(set(ids_a) & set(ids_b))
        m = self.mount(a, options=NO_REFRESH)
        by_id = os.path.join(m.path, "by-id")
        self.assertEqual(sorted(os.listdir(by_id)), ids_a)
        old_file = os.path.join(by_id, ids_a[0])
        old_bytes = read(old_file)
        held = open(old_file, "rb")
        self.addCleanup(held.close)

        # Moved away with nothing in its place: still shown as it was.
        os.rename(a.cache_path, a.cache_path + ".away")
        wait_until(lambda: "the cache %s was moved away or removed" % a.cache_path in m.stderr(), FRESH,
                   "the move in the log")
        self.assertEqual(sorted(os.listdir(by_id)), ids_a)
        self.assertEqual(read(old_file), old_bytes)
        os.rename(a.cache_path + ".away", a.cache_path)

        os.rename(b.cache_path, a.cache_path)
        wait_until(lambda: "was replaced, but the old one's %s-wal is still beside it" % a.cache_path in m.stderr(),
                   FRESH, "the refusal in the log")
        self.assertIn("mv %s-wal %s-shm SOMEWHERE/" % (a.cache_path, a.cache_path), m.stderr())
        self.assertEqual(sorted(os.listdir(by_id)), ids_a)  # still the old cache, whole
        self.assertEqual(read(old_file), old_bytes)

        aside = os.path.join(a.root, "aside")
        os.makedirs(aside)
        for side in ("-wal", "-shm"):
            os.rename(a.cache_path + side, os.path.join(aside, "cache.db" + side))
        wait_until(lambda: sorted(os.listdir(by_id)) == ids_b, FRESH, "the new cache's activities in by-id")
        # The daemon logs the switch after it has made it: a lookup may see the
        # new cache a moment before the line is written (seen under load).
        wait_until(lambda: "was replaced by another file; showing that one" in m.stderr(), FRESH,
                   "the switch in the log")
        self.assertFalse(os.path.lexists(old_file))
        for name in ids_b:
            self.assertIn(json.loads(read(os.path.join(by_id, name)))["id"], numbers_b)
        rows = list(csv.reader(io.StringIO(read(os.path.join(m.path, "activities.csv")).decode())))
        self.assertEqual(len(rows), 1 + len(ids_b))
        self.assertEqual(held.read(), old_bytes)  # an open file reads the version it opened

        # The new file's own changes show as any sync's do.
        conf = os.path.join(b.root, "into-a.conf")
        with open(b.config_path) as f:
            b.write_file(conf, f.read().replace(b.cache_path, a.cache_path))
        new = emu_b.create({"name": "After the swap", "sport_type": "Ride"})
        self.assertExit(b.run("--config", conf, "sync", config=False), 0)
        wait_until(lambda: os.path.lexists(os.path.join(by_id, "%d.json" % new["id"])), FRESH,
                   "an activity synced into the new file")
        self.assertEqual(json.loads(read(os.path.join(by_id, "%d.json" % new["id"])))["name"], "After the swap")
        self.assertIntegrity(a)
        self.assertIsNone(m.proc.poll())

    def test_each_version_is_cached_whole_and_never_mixed_with_another(self):
        # mount.stravafs(8), FRESHNESS: a version's bytes stay in the page
        # cache (a second read asks the daemon for no bytes, a warm open for
        # nothing at all), a sync's new version is never read from the old
        # one's pages even at the same size, and a file opened before the
        # sync goes on reading, and fstat-ing, the version it opened, also
        # from the daemon once its pages are gone. -d logs every request the
        # kernel sends, so requests are counted there.
        emu = self.emulator(6, seed=321, args=("--samples", "10"))
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        m = self.mount(sb, options=["-d", "-o", "refresh=0"])
        act = sorted(emu.activities("summary"), key=lambda a: a["id"])[0]
        link = os.path.join(m.path, "by-id", "%d.json" % act["id"])
        path = os.path.normpath(os.path.join(os.path.dirname(link), os.readlink(link)))
        reads = lambda: m.stderr().count("opcode: READ (15)")  # noqa: E731
        requests = lambda: m.stderr().count("opcode: ")  # noqa: E731

        old = read(path)
        ino = os.stat(path).st_ino
        n = reads()
        self.assertEqual(read(path), old)
        self.assertEqual(read(path), old)
        self.assertEqual(reads(), n, "a warm read asked the daemon for bytes")
        # A warm cat (open, read, close, in a process of its own) costs the
        # daemon no message at all: no OPEN, FLUSH or RELEASE either.
        n = requests()
        for _ in range(3):
            self.assertEqual(subprocess.run(["cat", path], stdout=subprocess.PIPE, check=True).stdout, old)
        time.sleep(0.3)  # a message sent would be logged by now
        self.assertEqual(requests(), n, "a warm cat sent the daemon: %s" % m.stderr()[-1500:])

        held = open(path, "rb")
        self.addCleanup(held.close)
        first = held.read(10)
        # Same digits, other bytes: a change its size cannot give away.
        kudos = json.loads(old)["kudos_count"]
        new_kudos = kudos + 1 if kudos % 10 != 9 else kudos - 1
        emu.patch(act["id"], {"kudos_count": new_kudos})
        self.assertExit(sb.run("sync"), 0)
        wait_until(lambda: json.loads(read(path))["kudos_count"] == new_kudos, FRESH, "the new kudos in the file")
        new = read(path)
        self.assertEqual(len(new), len(old))
        self.assertNotEqual(new, old)
        self.assertEqual(json.loads(new)["kudos_count"], new_kudos)
        self.assertEqual(os.stat(path).st_ino, ino)
        self.assertEqual(os.stat(path).st_size, len(new))

        # The open from before the sync: the old version, whole.
        self.assertEqual(os.fstat(held.fileno()).st_size, len(old))
        self.assertEqual(first + held.read(), old)
        # Still so once the daemon has let go of the cache as it was (it
        # keeps a copy for a file held open), with the pages dropped: the
        # kernel asks the daemon for the old version's bytes again.
        time.sleep(2.5)
        n = reads()
        os.posix_fadvise(held.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        self.assertEqual(os.pread(held.fileno(), len(old) + 10, 0), old)
        self.assertGreater(reads(), n, "the pages were not dropped: the test tests nothing")

        n = reads()
        self.assertEqual(read(path), new)
        self.assertEqual(reads(), n, "the new version was not kept in the page cache")
        self.assertIsNone(m.proc.poll(), "the mount died: %s" % m.stderr()[-2000:])


def signal_masks(pid):
    """{thread id: the signals it blocks, as a bit mask} of a process."""
    masks = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            masks[int(tid)] = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk:"))
    return masks


def thread_states(pid):
    """What each thread of a process waits in, for a failure's message: its
    name, state, blocked and pending signals, and kernel stack (root reads it)."""
    lines = []
    for tid in sorted(os.listdir("/proc/%d/task" % pid), key=int):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "status") as f:
                status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            with open(base + "stack") as f:
                stack = f.read().strip().replace("\n", " | ")
        except OSError as e:  # the thread ended meanwhile
            lines.append("%s: %s" % (tid, e))
            continue
        lines.append("%s %s %s SigBlk=%s SigPnd=%s: %s" % (tid, status.get("Name"), status.get("State"),
                                                          status.get("SigBlk"), status.get("SigPnd"), stack))
    return "\n".join(lines)


class MountLifecycle(MountCase):
    def small(self, seed):
        emu = self.emulator(4, seed=seed, args=("--samples", "10"))
        sb = self.sandbox(emu)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        return emu, sb

    def test_sigterm_sigint_sighup_unmount_cleanly(self):
        # A runner started under nohup ignores SIGHUP, and so do the
        # processes it starts: libfuse, as nohup means, leaves an ignored
        # signal ignored. The daemon is tested as a shell starts it.
        self.addCleanup(signal.signal, signal.SIGHUP, signal.signal(signal.SIGHUP, signal.SIG_DFL))
        emu, sb = self.small(303)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with self.subTest(signal=sig.name):
                m = self.mount(sb, options=NO_REFRESH)
                self.assertIn("athlete.json", os.listdir(m.path))
                read(os.path.join(m.path, "athlete.json"))
                # Only the thread that waits for the loop's end takes these
                # signals: one taken by another would end no wait.
                ends = sum(1 << (s - 1) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP))
                for tid, blocked in signal_masks(m.proc.pid).items():
                    self.assertEqual(blocked & ends, 0 if tid == m.proc.pid else ends, "thread %d" % tid)
                m.proc.send_signal(sig)
                try:
                    rc = m.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.fail("mount.stravafs -f still running 10 s after %s; its threads:\n%s\nstderr:\n%s" % (
                        sig.name, thread_states(m.proc.pid), m.stderr()[-2000:]))
                self.assertEqual(rc, 0, "%s: exit %d\n%s" % (sig.name, rc, m.stderr()))
                self.assertNotIn(m.path, [p for p, _ in mounts()], "still in /proc/self/mountinfo")
                self.assertEqual(os.listdir(m.path), [])

    def test_daemon_mode_returns_once_mounted_and_fusermount_unmounts(self):
        emu, sb = self.small(304)
        m = self.mount(sb, options=NO_REFRESH, foreground=False)  # asserts: exit 0, mounted at that moment
        self.assertEqual(m.run.rc, 0)
        self.assertEqual(mount_type(m.path), "fuse.stravafs")
        self.assertEqual(len(os.listdir(os.path.join(m.path, "by-id"))), 4)
        pids = processes_of(MOUNT_STRAVAFS, m.path)
        self.assertEqual(len(pids), 1, "daemon processes: %s" % pids)
        p = run(["fusermount3", "-u", m.path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIsNone(mount_type(m.path))
        wait_until(lambda: process_gone(pids[0]), 10, "the daemon (pid %d) to exit after fusermount3 -u" % pids[0])

    def test_systemd_notify_ready_then_kill_9_leaves_no_dead_mount(self):
        # Type=notify: READY=1 arrives once the mount is there. A daemon killed
        # with SIGKILL is unmounted by fusermount3 (auto_unmount), so the
        # mount point never answers "Transport endpoint is not connected".
        emu, sb = self.small(309)
        mnt = os.path.join(sb.root, "mnt")
        os.makedirs(mnt)
        sock_path = os.path.join(sb.root, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(sock_path)
        sock.settimeout(20)
        self._arm_mount_sweep()
        env = dict(sb.env(), NOTIFY_SOCKET=sock_path)
        p = subprocess.Popen([MOUNT_STRAVAFS, sb.config_path, mnt, "-f", "-o", "refresh=0"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=sb.root,
                             preexec_fn=die_with_parent)
        self._procs.append(p)
        self.assertEqual(sock.recv(256), b"READY=1")
        self.assertEqual(mount_type(mnt), "fuse.stravafs", "READY=1 came before the mount")
        self.assertIn("athlete.json", os.listdir(mnt))
        p.kill()
        p.wait(10)
        # fusermount3 unmounts once the kernel has let go of the killed daemon's
        # connection; CI once saw that take over 10 s on a loaded machine.
        try:
            wait_until(lambda: mount_type(mnt) is None, 30, "fusermount3 to unmount after the daemon was killed")
        except AssertionError as e:
            # What to look at next time: is fusermount3 still waiting, and who holds /dev/fuse?
            def holds_fuse(pid):
                try:
                    return any(os.readlink("/proc/%s/fd/%s" % (pid, fd)) == "/dev/fuse"
                               for fd in os.listdir("/proc/%s/fd" % pid))
                except OSError:  # gone meanwhile, or not ours to read
                    return False
            holders = [pid for pid in os.listdir("/proc") if pid.isdigit() and holds_fuse(pid)]
            ps = subprocess.run(["ps", "-o", "pid,stat,wchan:20,args", "-p", ",".join(holders) or "1"] +
                                ["-C", "fusermount3"], capture_output=True, text=True).stdout
            raise AssertionError("%s\nholders of /dev/fuse and fusermount3:\n%s" % (e, ps)) from None
        self.assertEqual(os.listdir(mnt), [])

    def test_background_refresh_syncs_by_itself(self):
        # -o refresh: the daemon's own sync picks up a new activity with no
        # other process involved.
        emu, sb = self.small(310)
        m = self.mount(sb, options=["-o", "refresh=1s"])
        acts = emu.activities("summary")
        newest = max(acts, key=lambda a: parse_iso(a["start_date"]))
        new = emu.create({"name": "Found by the daemon", "sport_type": "Ride",
                          "start_date": parse_iso(newest["start_date"]) + 3600})
        link = os.path.join(m.path, "by-id", "%d.json" % new["id"])
        wait_until(lambda: os.path.lexists(link), 30, "the background sync to fetch activity %d" % new["id"])
        self.assertEqual(json.loads(read(link))["name"], "Found by the daemon")
        # The line comes when the sync ends, a moment after its commit showed the file.
        wait_until(lambda: "background sync: 1 new" in m.stderr(), 30, "the background sync's line:\n" + m.stderr())

    def test_debug_prints_requests_and_umount_ends_the_daemon(self):
        # mount.stravafs(8): -d writes a line per request; umount (root here,
        # or the mounting user) unmounts and the daemon exits 0.
        emu, sb = self.small(311)
        m = self.mount(sb, options=["-d", "-o", "refresh=0"])
        self.assertIn("athlete.json", os.listdir(m.path))
        wait_until(lambda: "opcode: READDIR" in m.stderr(), 10, "a debug line for the listing")
        p = run(["umount", m.path] if os.geteuid() == 0 else ["fusermount3", "-u", m.path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(m.proc.wait(10), 0, m.stderr()[-2000:])
        self.assertIsNone(mount_type(m.path))

    def test_daemon_lets_go_of_the_callers_stdout_and_stderr(self):
        # `out=$(mount.stravafs ...)`, ssh and systemd wait for EOF on the
        # pipes: the daemon must not keep the caller's stdout/stderr open.
        emu, sb = self.small(308)
        mnt = os.path.join(sb.root, "mnt")
        os.makedirs(mnt)
        self._arm_mount_sweep()  # the cleanup unmounts it
        p = subprocess.Popen([MOUNT_STRAVAFS, sb.config_path, mnt, "-o", "refresh=0"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sb.env(), cwd=sb.root,
                             preexec_fn=die_with_parent)
        self._procs.append(p)
        try:
            out, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("stdout/stderr of mount.stravafs still open 20 s after it was started (exit status %s, "
                      "mounted: %s)" % (p.poll(), mount_type(mnt)))
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(mount_type(mnt), "fuse.stravafs")


class MountBigMonth(MountCase):
    def test_a_month_of_5000_activities(self):
        emu = self.emulator(0, seed=305)
        # 5,000 activities in March 2025, UTC starts from the 2nd to the 29th
        # so that no time zone moves one to another month.
        t0 = parse_iso("2025-03-02T00:00:00Z")
        step = (parse_iso("2025-03-29T00:00:00Z") - t0) // 5000
        conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
        ids = []
        for i in range(5000):
            conn.request("POST", "/_emulator/activities", json.dumps(
                {"name": "Run %d" % i, "sport_type": "Run", "start_date": t0 + i * step, "timezone": "Europe/Berlin"}),
                {"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            self.assertEqual(r.status, 201, body)
            ids.append(json.loads(body)["id"])
        conn.close()
        sb = self.sandbox(emu, {"sync": {"details": "no", "streams": ""}})
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities WHERE start_date_local LIKE '2025-03-%'"), 5000)
        mnt = self.mount(sb, options=NO_REFRESH).path
        d = os.path.join(mnt, "2025", "03")
        self.assertEqual(sorted(os.listdir(os.path.join(mnt, "2025"))), ["03", "activities.csv"])
        names = os.listdir(d)
        self.assertEqual(len(names), len(set(names)), "duplicate names in the listing")
        self.assertEqual(sum(n.endswith(".json") for n in names), 5000)
        self.assertEqual(len(names), 5001)
        self.assertEqual({int(n[:-5].rsplit("_", 1)[1]) for n in names if n.endswith(".json")}, set(ids))
        p = run(["ls", d])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sum(line.endswith(b".json") for line in p.stdout.splitlines()), 5000)
        self.assertEqual(len(os.listdir(os.path.join(mnt, "by-id"))), 5000)
        p = run(["find", d, "-name", "*.json", "-type", "f"])
        self.assertEqual(len(p.stdout.splitlines()), 5000)
        for rel in ("2025/03/activities.csv", "2025/activities.csv", "activities.csv"):
            data = read(os.path.join(mnt, rel))
            self.assertEqual(os.stat(os.path.join(mnt, rel)).st_size, len(data), rel)
            self.assertEqual(len(data.splitlines()), 5001, rel)
            self.assertEqual([int(r[0]) for r in csv_rows(data)[1:]], ids, rel)
        self.assertEqual(os.stat(d).st_nlink, 2)


class MountHelperErrors(MountCase):
    def test_no_cache_missing_mount_point_busy_and_bad_options(self):
        emu = self.emulator(3, seed=306)
        sb = self.sandbox(emu, {"sync": {"details": "no", "streams": ""}})
        mnt = os.path.join(sb.root, "mnt")
        os.makedirs(mnt)
        # No cache yet.
        r = self.run_mount(sb, sb.config_path, mnt)
        self.assertExit(r, EXIT_ERROR, "run `stravafs sync` or `stravafs import` first", sb.cache_path)
        self.assertIsNone(mount_type(mnt))
        self.assertFalse(os.path.exists(sb.cache_path), "the mount created a cache")
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        # Mount point missing.
        missing = os.path.join(sb.root, "no-such-dir")
        r = self.run_mount(sb, sb.config_path, missing)
        self.assertExit(r, EXIT_ERROR, missing)
        self.assertFalse(os.path.exists(missing))
        # Unknown options: a usage error naming them, nothing mounted.
        for opts, bad in (("bogus", "bogus"), ("ro,frobnicate=3", "frobnicate")):
            r = self.run_mount(sb, sb.config_path, mnt, "-o", opts)
            self.assertExit(r, EXIT_USAGE, "unknown mount option '%s" % bad)
            self.assertIsNone(mount_type(mnt))
        # No config at the path given.
        nowhere = os.path.join(sb.root, "nowhere.conf")
        r = self.run_mount(sb, nowhere, mnt)
        self.assertExit(r, EXIT_USAGE, nowhere)
        self.assertIsNone(mount_type(mnt))
        # No arguments at all.
        self.assertExit(self.run_mount(sb), EXIT_USAGE)
        # Already mounted: the second one fails and leaves the first alone.
        m = self.mount(sb, mnt, options=NO_REFRESH)
        r = self.run_mount(sb, sb.config_path, mnt, "-o", "refresh=0", timeout=30)
        self.assertExit(r, EXIT_ERROR, mnt)
        self.assertEqual([t for p, t in mounts() if p == mnt], ["fuse.stravafs"])
        self.assertEqual(len(os.listdir(os.path.join(mnt, "by-id"))), 3)
        self.assertIsNone(m.proc.poll())

    def test_fstab_options_and_config_lookup(self):
        emu = self.emulator(3, seed=307)
        sb = self.sandbox(emu, {"sync": {"details": "no", "streams": ""}, "mount": {"refresh": "0"}})
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        mnt = os.path.join(sb.root, "mnt")
        # As mount(8) calls the helper for the fstab line of the man page.
        fstab = "noauto,user,_netdev,nofail,x-systemd.automount,defaults,auto,nouser,users,owner,group," \
                "comment=x-gvfs-show,x-systemd.idle-timeout=60,rw,ro,nosuid,nodev,noatime"
        for config, options in ((True, ["-o", fstab]), (True, ["-o", "noauto", "-o", "user"]),
                                (None, []), ("stravafs", ["-o", "_netdev,nofail"])):
            with self.subTest(config=config, options=options):
                m = self.mount(sb, mnt, options=options, foreground=False, config=config)
                self.assertEqual(mount_type(mnt), "fuse.stravafs")
                self.assertEqual(len(os.listdir(os.path.join(mnt, "by-id"))), 3)
                pids = processes_of(MOUNT_STRAVAFS, m.path)
                self.assertEqual(len(pids), 1, pids)
                self.assertEqual(unmount(mnt), [])
                for pid in pids:
                    wait_until(lambda: process_gone(pid), 10, "mount.stravafs to exit after the unmount")


if __name__ == "__main__":
    main()
