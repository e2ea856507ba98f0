"""`stravafs import` (issue 14) through its real interfaces: the CLI on the
bulk export the emulator writes of the athlete it serves (zipped with Python's
zipfile, and as a folder), compared with an API sync of that athlete; an API
sync over an imported cache and an import over a synced one; re-runs; loose
FIT/GPX/TCX files; damaged and hostile input; kill -9 mid-import; [import]
folders on `stravafs sync` without API access; the mount, the sqlite3 shell
with the extension and `status` on a cache filled by import alone; German and
pre-2019 exports; and gpsbabel as an independent reader.

Needs $STRAVAFS, $STRAVA_EMULATOR, $MOUNT_STRAVAFS and $STRAVA_EXT (meson sets
them all), /dev/fuse, gpsbabel, xmllint, jq and the sqlite3 shell. Tools that
are not ours run without the sanitizer runtime or its options, except the
sqlite3 shell, which loads the (ASan-built) strava.so and so gets the runtime
preloaded (harness.host_env). By hand:

    STRAVAFS=BUILD/src/stravafs STRAVA_EMULATOR=BUILD/tests/emulator/strava-emulator \\
        MOUNT_STRAVAFS=BUILD/fuse/mount.stravafs STRAVA_EXT=BUILD/vtab/strava.so \\
        /usr/bin/python3 tests/integration/test_import.py
"""

import csv
import datetime
import gzip
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EMULATOR, FIXED_END, TestCase, foreign_env, host_env, main, wait_until  # noqa: E402

EXT = os.environ.get("STRAVA_EXT", "")

N, SEED = 40, 31              # the athlete of the round trips
KILL_N, KILL_SEED = 300, 32   # the export killed mid-import (and a source of foreign files)
FILE_ID_BASE = 1 << 52        # 4503599627370496: ids of activities made from loose files
MAX_FILE_BYTES = 256 << 20    # src/import/importer.h ImportOptions::max_file_bytes
EXIT_PARTIAL = 5              # stravafs(1): some files could not be imported
NO_REFRESH = ["-o", "refresh=0"]

STREAM_COLS = ("seq", "time", "distance", "lat", "lng", "altitude", "velocity", "heartrate", "cadence", "watts",
               "temp", "moving", "grade")
STREAMS_SQL = "SELECT activity_id, %s FROM streams ORDER BY activity_id, seq" % ", ".join(STREAM_COLS)


# ---------------------------------------------------------------------------
# Helpers

def tool(argv, **kw):
    kw.setdefault("env", foreign_env())
    return subprocess.run(argv, capture_output=True, timeout=120, **kw)


def export_end():
    # What harness.Emulator passes as --end; the tests pass it explicitly to
    # both the export writer and the served emulator, so they never differ.
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    return min(FIXED_END, today)


def write_export(dest, activities, seed, end, *extra):
    p = subprocess.run([EMULATOR, "--activities", str(activities), "--seed", str(seed), "--end", end,
                        "--write-export", dest] + list(extra), capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError("strava-emulator --write-export failed (%d): %s" % (p.returncode, p.stderr))
    return dest


def zip_export(folder, dest, top="", extra=()):
    """The export folder as a zip built with Python's zipfile (like the
    download, entries at the top or in one `top` folder); `extra` adds
    (ZipInfo or name, bytes) entries as given, hostile names included."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                z.write(path, top + os.path.relpath(path, folder))
        for info, data in extra:
            z.writestr(info, data)
    return dest


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def file_activity_id(decompressed):
    """stravafs(1): 2^52 + the low 52 bits of the FNV-1a fingerprint of the
    file's (decompressed) content."""
    return FILE_ID_BASE + (fnv1a64(decompressed) & (FILE_ID_BASE - 1))


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def plain(data):
    """The decompressed bytes of a (maybe gzipped) file."""
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def fmt_of(name):
    """fit, gpx, tcx from an activity file's name."""
    n = name[:-3] if name.endswith(".gz") else name
    return n.rsplit(".", 1)[-1]


def fit_crc(data, crc=0):
    # FIT's CRC-16 (CRC-16/ARC), bit by bit: independent of src/import/fit.cc.
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def refit(fit):
    """The same FIT activity as other bytes: the header's profile version + 1,
    header and file CRCs recomputed (a watch's copy of the file Strava has)."""
    b = bytearray(fit)
    hsize = b[0]
    data_size = int.from_bytes(b[4:8], "little")
    assert b[8:12] == b".FIT" and len(b) == hsize + data_size + 2, "not one plain FIT file"
    b[2:4] = ((int.from_bytes(b[2:4], "little") + 1) & 0xFFFF).to_bytes(2, "little")
    if hsize >= 14 and b[12:14] != b"\0\0":
        b[12:14] = fit_crc(b[:12]).to_bytes(2, "little")
    b[-2:] = fit_crc(b[:-2]).to_bytes(2, "little")
    return bytes(b)


def rexml(xml):
    """The same GPX/TCX activity as other bytes: a comment after the XML declaration."""
    end = xml.index(b"?>") + 2
    return xml[:end] + b"\n<!-- copied from the watch -->" + xml[end:]


def gzip_bomb(path, size):
    """A gzip file of `size` zero bytes, written in 1 MB steps (a few hundred kB)."""
    chunk = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, len(chunk))
            f.write(c.compress(chunk[:n]))
            left -= n
        f.write(c.flush())


def parse_activity_date(text):
    """activities.csv's English `Activity Date` (UTC), like "Sep 22, 2026, 5:57:43 AM", as epoch seconds."""
    return int(datetime.datetime.strptime(text, "%b %d, %Y, %I:%M:%S %p")
               .replace(tzinfo=datetime.timezone.utc).timestamp())


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_rows(folder):
    """{Activity ID: row} of an English export's activities.csv, read with
    Python's csv module; columns resolved by name and occurrence."""
    with open(os.path.join(folder, "activities.csv"), newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    head = table[0]

    def col(name, nth=0):
        return [i for i, h in enumerate(head) if h == name][nth]

    rows = {}
    for r in table[1:]:
        def num(name, nth=0):
            v = r[col(name, nth)]
            return float(v) if v else None
        aid = int(r[col("Activity ID")])
        rows[aid] = {"id": aid, "name": r[col("Activity Name")], "start": parse_activity_date(r[col("Activity Date")]),
                     "filename": r[col("Filename")], "distance": num("Distance", 1),
                     "elapsed": num("Elapsed Time", 1), "moving": num("Moving Time")}
    return rows


def connect(sb):
    conn = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(sb.cache_path), uri=True, timeout=30)
    conn.text_factory = bytes  # names byte for byte
    return conn


def rows_of(sb, sql, args=()):
    conn = connect(sb)
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def by_id(sb, sql, args=()):
    """{first column: the row} of a query."""
    return {r[0]: r for r in rows_of(sb, sql, args)}


def streams_of(sb):
    """{activity id: [sample tuples in STREAM_COLS order]}."""
    out = {}
    for r in rows_of(sb, STREAMS_SQL):
        out.setdefault(r[0], []).append(r[1:])
    return out


def dump(sb):
    """What an import leaves in the cache, for comparing two caches: every
    activity column, stream, lap, gear, athlete and original, and the import
    record without its time."""
    q = {
        "activities": "SELECT * FROM activities ORDER BY id",
        "streams": "SELECT * FROM streams ORDER BY activity_id, seq",
        "laps": "SELECT * FROM laps ORDER BY activity_id, lap_index",
        "gear": "SELECT id, name, brand_name, model_name, distance, primary_gear, retired, athlete_id, json "
                "FROM gear ORDER BY id",
        "athletes": "SELECT * FROM athletes ORDER BY id",
        "originals": "SELECT activity_id, name, format, size, data FROM originals ORDER BY activity_id",
        "sources": "SELECT id, source, original_size, original_format FROM activity_sync ORDER BY id",
        "import_files": "SELECT path, size, mtime, content, activity_id, outcome, error FROM import_files "
                        "ORDER BY path",
    }
    out = {k: rows_of(sb, v) for k, v in q.items()}
    # JSON columns (the last ones) as values: an activity built in two runs
    # (a row first, its file later) may order its keys differently.
    for k in ("activities", "laps", "gear", "athletes"):
        out[k] = [r[:-1] + (json.loads(r[-1]),) for r in out[k]]
    return out


def near(got, want, tol):
    if got is None or want is None:
        return got is None and want is None
    return abs(got - want) <= tol


# Per stream column, per file format: the largest difference from the API's
# stream allowed, or None where the format does not carry the column (then
# the import must not invent it: it is compared with nothing, or NULL).
EXACT, ABSENT, SKIP = 0.0, "absent", None
STREAM_TOLERANCE = {
    "time": {"fit": EXACT, "gpx": EXACT, "tcx": EXACT},
    "lat": {"fit": 1e-6, "gpx": 1e-6, "tcx": 1e-6},
    "lng": {"fit": 1e-6, "gpx": 1e-6, "tcx": 1e-6},
    "altitude": {"fit": 0.1 + 1e-9, "gpx": 1e-9, "tcx": 1e-9},  # FIT: scale 5 (steps of 0.2 m)
    "distance": {"fit": 0.01, "gpx": SKIP, "tcx": 0.01},     # GPX has none: recomputed from the points
    "heartrate": {"fit": EXACT, "gpx": EXACT, "tcx": EXACT},
    "cadence": {"fit": EXACT, "gpx": EXACT, "tcx": EXACT},
    "watts": {"fit": EXACT, "gpx": EXACT, "tcx": EXACT},
    "temp": {"fit": EXACT, "gpx": EXACT, "tcx": ABSENT},     # TCX has no temperature
    "moving": {"fit": EXACT, "gpx": SKIP, "tcx": SKIP},      # only FIT records pauses (timer events)
    "velocity": {"fit": 0.0005 + 1e-9, "gpx": SKIP, "tcx": 1e-9},  # FIT speed in mm/s; TCX Speed as written
}                                                              # (grade is the reader's own smoothing)


# ---------------------------------------------------------------------------

class Import(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._class_tmp = tempfile.TemporaryDirectory(prefix="stravafs-import-")
        d = cls.dir = cls._class_tmp.name
        cls.end = export_end()
        # The athlete of the round trips as an English export, also zipped;
        # a larger one (zipped in a top folder) for the kill and as a source
        # of other devices' files. Every test reads them and copies what it
        # changes.
        cls.folder = write_export(os.path.join(d, "export"), N, SEED, cls.end)
        cls.zip = zip_export(cls.folder, os.path.join(d, "export_3141592653.zip"))
        cls.rows = export_rows(cls.folder)
        cls.files = {aid: r["filename"] for aid, r in cls.rows.items() if r["filename"]}
        cls.formats = {aid: fmt_of(f) for aid, f in cls.files.items()}
        cls.big = write_export(os.path.join(d, "big"), KILL_N, KILL_SEED, cls.end)
        cls.big_zip = zip_export(cls.big, os.path.join(d, "big.zip"), top="export_271828/")

    @classmethod
    def bomb(cls):
        """A gzip file that inflates 1 MB past the importer's bound (about
        260 kB; made once, by the first test that needs it)."""
        path = os.path.join(cls.dir, "bomb.fit.gz")
        if not os.path.exists(path):
            gzip_bomb(path + ".part", MAX_FILE_BYTES + (1 << 20))
            os.rename(path + ".part", path)
        return path

    @classmethod
    def tearDownClass(cls):
        cls._class_tmp.cleanup()
        super().tearDownClass()

    # ---- sandboxes and runs
    def importer(self, name, extra=""):
        """A sandbox whose config has only [cache] (and `extra`): no API access."""
        sb = self.sandbox(None, name=name)
        sb.write_file(sb.config_path, "[cache]\npath = %s\n%s" % (sb.cache_path, extra))
        return sb

    def imported(self, sb, *paths, code=0):
        """`stravafs import --json PATHS`, checked for `code`; (Run, report)."""
        r = sb.run("import", "--json", *paths)
        self.assertExit(r, code)
        return r, r.json()

    def synced(self, name="api"):
        """The export's athlete, served by the emulator and synced into a fresh cache."""
        emu = self.emulator(N, SEED, args=("--end", self.end))
        sb = self.sandbox(emu, name=name)
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        return emu, sb

    def report_counts(self, report, *keys):
        return tuple(report[k] for k in keys)

    # ---- comparisons
    def assertSummariesEqual(self, got, want, columns, ids=None):
        sql = "SELECT id, %s FROM activities" % columns
        g, w = by_id(got, sql), by_id(want, sql)
        self.assertEqual(sorted(g), sorted(w), "activity ids")
        diffs = ["%d: %r != %r" % (aid, g[aid], w[aid]) for aid in sorted(ids or w) if g[aid] != w[aid]]
        self.assertEqual(diffs, [], "columns (%s) differ:" % columns)

    def assertStreamsLikeApi(self, imported, api, ids=None):
        """The imported streams of every activity with a file equal the API's
        within what its file format carries (STREAM_TOLERANCE)."""
        got, want = streams_of(imported), streams_of(api)
        problems = []
        for aid in sorted(ids if ids is not None else self.rows):
            fmt = self.formats.get(aid)
            if fmt is None:
                if aid in got or aid in want:
                    problems.append("%d (manual): streams %d imported, %d from the API" % (
                        aid, len(got.get(aid, [])), len(want.get(aid, []))))
                continue
            g, w = got.get(aid, []), want.get(aid, [])
            if len(g) != len(w) or not w:
                problems.append("%d (%s): %d samples imported, %d from the API" % (aid, fmt, len(g), len(w)))
                continue
            for name, per_format in STREAM_TOLERANCE.items():
                tol = per_format[fmt]
                i = STREAM_COLS.index(name)
                for k, (x, y) in enumerate(zip(g, w)):
                    if tol is SKIP:
                        break
                    if tol == ABSENT:
                        ok = x[i] is None
                    else:
                        ok = near(x[i], y[i], tol)
                    if not ok:
                        problems.append("%d (%s) sample %d %s: imported %r, API %r" % (aid, fmt, k, name, x[i], y[i]))
                        break
        self.assertEqual(problems, [], "imported streams differ from the API's")

    # ================================================================== 1
    def test_export_zip_and_folder_equal_the_api_sync(self):
        emu, api = self.synced()
        self.assertEqual(api.activity_ids(), set(self.rows), "the export and the API show other activities")
        # The athlete has what the comparisons are about.
        self.assertEqual(sorted(set(self.formats.values())), ["fit", "gpx", "tcx"])
        self.assertTrue(any(f is None for f in map(self.formats.get, self.rows)), "no manual activity")
        n_files = len(self.files)
        for form, path in (("zip", self.zip), ("folder", self.folder)):
            with self.subTest(form=form):
                sb = self.importer(form)
                r, rep = self.imported(sb, path)
                self.assertEqual(self.report_counts(rep, "ok", "files", "added", "updated", "attached", "duplicates",
                                                    "failed", "rows", "warnings"),
                                 (True, n_files, N, 0, 0, 0, 0, N, 0), rep)
                # Summaries: the CSV's numbers are Strava's own.
                self.assertSummariesEqual(sb, api, "name, sport_type, start_date, distance, moving_time, elapsed_time")
                # FIT files carry the local time (activity.local_timestamp).
                fit_ids = [aid for aid, f in self.formats.items() if f == "fit"]
                self.assertSummariesEqual(sb, api, "start_date_local, utc_offset", ids=fit_ids)
                self.assertStreamsLikeApi(sb, api)
                # Laps from FIT and TCX: as many as the API's, same distances and times.
                lap_sql = "SELECT activity_id, lap_index, start_date, elapsed_time, moving_time, round(distance, 2), " \
                          "start_index, end_index FROM laps WHERE activity_id = ? ORDER BY lap_index"
                for aid, fmt in sorted(self.formats.items()):
                    if fmt in ("fit", "tcx"):
                        self.assertEqual(rows_of(sb, lap_sql, (aid,)), rows_of(api, lap_sql, (aid,)),
                                         "laps of %d (%s)" % (aid, fmt))
                # Every file kept as it came.
                originals = by_id(sb, "SELECT activity_id, name, data FROM originals")
                self.assertEqual(sorted(originals), sorted(self.files))
                for aid, name in self.files.items():
                    self.assertEqual(originals[aid][1].decode(), os.path.basename(name))
                    self.assertEqual(originals[aid][2], read_bytes(os.path.join(self.folder, name)))
                self.assertEqual(sb.run("status", "--json").json()["sources"],
                                 {"api": 0, "export": N, "files": 0, "originals": n_files,
                                  "originals_bytes": sum(len(o[2]) for o in originals.values()),
                                  "import_failures": 0})

    # ================================================================== 2
    def test_api_sync_over_an_import_updates_the_same_rows_and_keeps_the_streams(self):
        emu = self.emulator(N, SEED, args=("--end", self.end))
        sb = self.sandbox(emu, name="both")
        self.imported(sb, self.zip)
        imported_streams = rows_of(sb, STREAMS_SQL)
        self.assertGreater(len(imported_streams), 0)
        sb.authorize()

        # The listing alone (no details, no streams).
        r = sb.run("sync", "--no-deep", "--json")
        self.assertExit(r, 0)
        rep = r.json()
        self.assertEqual((rep["listed"], rep["added"], rep["deleted"]), (N, 0, 0), rep)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), N)
        self.assertEqual(sb.activity_ids(), {a["id"] for a in emu.activities("summary")})
        # The API's summary is laid over each row (kudos come only from it) ...
        want = {a["id"]: (a["name"], a["distance"], a["kudos_count"]) for a in emu.activities("summary")}
        got = {r[0]: r[1:] for r in sb.query("SELECT id, name, distance, kudos_count FROM activities")}
        self.assertEqual(got, want)
        # ... and the imported streams stay.
        self.assertEqual(rows_of(sb, STREAMS_SQL), imported_streams)

        # Details too: every row equals the API's, still no duplicate, streams kept.
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["added"], 0)
        self.assertCacheMatches(sb, emu)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), N)
        self.assertEqual(rows_of(sb, STREAMS_SQL), imported_streams)
        self.assertIntegrity(sb)

    def test_an_import_over_an_api_sync_changes_nothing_the_api_gave(self):
        emu, sb = self.synced("api_first")
        before = dump(sb)
        r, rep = self.imported(sb, self.zip)
        self.assertEqual(self.report_counts(rep, "added", "failed", "rows"), (0, 0, N), rep)
        after = dump(sb)
        for table in ("activities", "streams", "laps", "athletes"):
            self.assertEqual(after[table], before[table], table)
        self.assertCacheMatches(sb, emu, streams_sample=8, seed=14)
        # It only added the originals the API never gives.
        self.assertEqual(sorted(r[0] for r in after["originals"]), sorted(self.files))

    # ================================================================== 3
    def test_rerun_adds_nothing_and_reads_nothing(self):
        n_files = len(self.files)
        for form, path, passed_over in (("zip", self.zip, 1), ("folder", self.folder, n_files)):
            with self.subTest(form=form):
                sb = self.importer("rerun-" + form)
                self.imported(sb, path)
                before = dump(sb)
                r, rep = self.imported(sb, path)
                self.assertEqual(self.report_counts(rep, "ok", "files", "unchanged", "added", "updated", "attached",
                                                    "duplicates", "failed"),
                                 (True, 0, passed_over, 0, 0, 0, 0, 0), rep)
                self.assertEqual(dump(sb), before)
        # A file touched since is read again, and found by its content.
        with tempfile.TemporaryDirectory(dir=self.tmp) as d:
            copy = os.path.join(d, "export")
            shutil.copytree(self.folder, copy)
            sb = self.importer("rerun-touched")
            self.imported(sb, copy)
            before = dump(sb)["activities"]
            aid, name = sorted(self.files.items())[3]
            st = os.stat(os.path.join(copy, name))
            os.utime(os.path.join(copy, name), (st.st_atime, st.st_mtime + 60))
            r, rep = self.imported(sb, copy)
            self.assertEqual(self.report_counts(rep, "files", "unchanged", "added", "updated", "duplicates", "failed"),
                             (1, n_files - 1, 0, 0, 1, 0), rep)
            self.assertEqual(dump(sb)["activities"], before)

    # ================================================================== 4
    def loose_copies(self, dest, transform=None):
        """The export's activity files under other names in two folders of
        `dest`: as they are but FIT ones decompressed, or with their content
        changed by `transform` and every other one gzipped. Returns
        {path: (source activity id, decompressed content)}."""
        os.makedirs(dest)
        out = {}
        for i, (aid, name) in enumerate(sorted(self.files.items())):
            data = read_bytes(os.path.join(self.folder, name))
            content = plain(data)
            fmt = fmt_of(name)
            if transform:
                content = transform(fmt, content)
                data = gzip.compress(content, mtime=0) if i % 2 else content
            elif fmt == "fit":
                data = content
            ext = "." + fmt + (".gz" if data[:2] == b"\x1f\x8b" else "")
            path = os.path.join(dest, "watch" if i % 3 else "sync/device", "track-%03d%s" % (i, ext))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_bytes(path, data)
            out[path] = (aid, content)
        return out

    def test_loose_files_get_stable_content_ids_dedupe_and_attach(self):
        loose = self.loose_copies(os.path.join(self.tmp, "loose"))
        n = len(loose)
        # The same file under a second name.
        first = sorted(loose)[0]
        shutil.copyfile(first, os.path.join(self.tmp, "loose", "again-" + os.path.basename(first)))
        want = {file_activity_id(content): aid for aid, content in loose.values()}
        self.assertEqual(len(want), n)

        ids = []
        for name in ("loose-a", "loose-b"):
            sb = self.importer(name)
            r, rep = self.imported(sb, os.path.join(self.tmp, "loose"))
            self.assertEqual(self.report_counts(rep, "files", "added", "attached", "duplicates", "failed", "rows"),
                             (n + 1, n, 0, 1, 0, 0), rep)
            got = by_id(sb, "SELECT id, start_date FROM activities")
            self.assertEqual(sorted(got), sorted(want), "ids are 2^52 + the low 52 bits of FNV-1a of the content")
            self.assertTrue(all(i >= FILE_ID_BASE for i in got))
            # Each starts when its file starts (the export row's start).
            for fid, aid in want.items():
                self.assertEqual(got[fid][1].decode(), iso(self.rows[aid]["start"]), "activity %d" % fid)
            ids.append(sorted(got))
            if name == "loose-a":
                self.assertEqual(sb.run("status", "--json").json()["sources"]["files"], n)
                # Samples as the export's own import gives them.
                ref = self.importer("loose-ref")
                self.imported(ref, self.folder)
                g, w = streams_of(sb), streams_of(ref)
                for fid, aid in want.items():
                    self.assertEqual(g[fid], w[aid], "streams of the loose copy of %d" % aid)
        self.assertEqual(ids[0], ids[1], "ids stable across caches")

        # After the export: the same files are duplicates, and copies that
        # differ (a watch's own file) attach; neither adds an activity.
        watch = self.loose_copies(os.path.join(self.tmp, "watch"),
                                  transform=lambda fmt, c: refit(c) if fmt == "fit" else rexml(c))
        self.assertTrue(all(c != loose_c for (_, c), (_, loose_c) in
                            zip(sorted(watch.values()), sorted(loose.values()))))
        sb = self.importer("after-export")
        self.imported(sb, self.zip)
        before = dump(sb)
        r, rep = self.imported(sb, os.path.join(self.tmp, "loose"))
        self.assertEqual(self.report_counts(rep, "files", "added", "updated", "attached", "duplicates", "failed"),
                         (n + 1, 0, 0, 0, n + 1, 0), rep)
        r, rep = self.imported(sb, os.path.join(self.tmp, "watch"))
        self.assertEqual(self.report_counts(rep, "files", "added", "updated", "attached", "duplicates", "failed"),
                         (n, 0, 0, n, 0, 0), rep)
        after = dump(sb)
        for table in ("activities", "streams", "laps", "originals"):
            self.assertEqual(after[table], before[table], table)
        attached = by_id(sb, "SELECT path, activity_id, outcome FROM import_files WHERE path LIKE ?",
                         (os.path.join(self.tmp, "watch") + "/%",))
        self.assertEqual({p.decode(): (a, o) for p, a, o in attached.values()},
                         {p: (aid, b"attached") for p, (aid, _) in watch.items()})

    # ================================================================== 5
    def test_bad_input_is_named_the_rest_imports_and_a_rerun_retries_only_it(self):
        folder = os.path.join(self.tmp, "export")
        shutil.copytree(self.folder, folder)
        by_fmt = {f: [aid for aid in sorted(self.formats) if self.formats[aid] == f] for f in ("fit", "gpx", "tcx")}
        truncated, bomb = by_fmt["fit"][:2]
        garbage, missing = by_fmt["gpx"][0], by_fmt["tcx"][0]
        path = {aid: os.path.join(folder, self.files[aid]) for aid in (truncated, bomb, garbage, missing)}
        data = read_bytes(path[truncated])
        write_bytes(path[truncated], data[:len(data) // 2])
        shutil.copyfile(self.bomb(), path[bomb])
        junk = b'<?xml version="1.0"?>\n<gpx version="1.1"><trk><trkseg><trkpt lat="51.5" lon="-0.1"><ele>1' \
               b'2</ele></trkpt><trkpt lat=">\x00\x01 not xml at all &&& ]]>'
        write_bytes(path[garbage], gzip.compress(junk) if path[garbage].endswith(".gz") else junk)
        os.unlink(path[missing])
        empty = os.path.join(folder, "activities", "empty.tcx")
        write_bytes(empty, b"")
        failing = {path[truncated]: "gzip: truncated",
                   path[bomb]: "gzip: decompressed size exceeds %d bytes" % MAX_FILE_BYTES,
                   path[garbage]: "gpx: ", path[missing]: "named by activities.csv (activity %d) but missing" % missing,
                   empty: "tcx: "}

        sb = self.importer("bad")
        r, rep = self.imported(sb, folder, code=EXIT_PARTIAL)
        self.assertEqual(self.report_counts(rep, "ok", "added", "failed", "rows"), (False, N, 5, N), rep)
        self.assertEqual(sorted(f["path"] for f in rep["failures"]), sorted(failing))
        for p, why in failing.items():
            lines = [line for line in r.err.splitlines() if p in line]
            self.assertTrue(lines, "%s not named on stderr:\n%s" % (p, r.err))
            self.assertTrue(any(why.lower() in line.lower() for line in lines), "%s: no %r in %s" % (p, why, lines))
        self.assertIn("5 files could not be imported", r.err)
        # Every row is there with its CSV summary; the failed ones without streams.
        acts = by_id(sb, "SELECT id, name, distance, elapsed_time, moving_time FROM activities")
        self.assertEqual(sorted(acts), sorted(self.rows))
        for aid, row in self.rows.items():
            self.assertEqual(acts[aid][1:], (row["name"].encode(), row["distance"], row["elapsed"], row["moving"]), aid)
        with_streams = {r[0] for r in rows_of(sb, "SELECT DISTINCT activity_id FROM streams")}
        self.assertEqual(with_streams, set(self.files) - {truncated, bomb, garbage, missing})
        self.assertEqual(sb.run("status", "--json").json()["sources"]["import_failures"], 4)
        self.assertIn("4 files failed to import", sb.run("status").out)

        # Again: only the failed files are read (the missing one is named again).
        r, rep = self.imported(sb, folder, code=EXIT_PARTIAL)
        self.assertEqual(self.report_counts(rep, "files", "unchanged", "added", "failed"),
                         (4, len(self.files) - 4, 0, 5), rep)
        # Fixed: the files read again, the rows get their streams, and the
        # cache is what a clean import makes.
        for aid in (truncated, bomb, garbage, missing):
            shutil.copy2(os.path.join(self.folder, self.files[aid]), path[aid])
        os.unlink(empty)
        r, rep = self.imported(sb, folder)
        self.assertEqual(self.report_counts(rep, "files", "unchanged", "added", "updated", "failed"),
                         (4, len(self.files) - 4, 0, 4, 0), rep)
        clean = self.importer("clean")
        self.imported(clean, folder)
        got, want = dump(sb), dump(clean)
        for table in ("activities", "streams", "laps", "originals", "sources"):
            self.assertEqual(got[table], want[table], table)
        self.assertEqual(sb.run("status", "--json").json()["sources"]["import_failures"], 0)

    def test_hostile_zip_entries_write_nothing_outside_the_cache(self):
        # A zip of the export without one row's file, with entries named
        # ../evil.fit and /abs.fit, and an entry that inflates past the bound
        # (the gzip bound is test_bad_input's).
        foreign = sorted(f for f in os.listdir(os.path.join(self.big, "activities")) if f.endswith(".fit.gz"))[:2]
        evil = [plain(read_bytes(os.path.join(self.big, "activities", f))) for f in foreign]
        left_out = sorted(aid for aid, f in self.formats.items() if f == "fit")[0]
        folder = os.path.join(self.tmp, "export")
        shutil.copytree(self.folder, folder)
        os.unlink(os.path.join(folder, self.files[left_out]))
        os.makedirs(os.path.join(self.tmp, "zips"))
        zpath = zip_export(folder, os.path.join(self.tmp, "zips", "hostile.zip"),
                           extra=[(zipfile.ZipInfo("../evil.fit"), evil[0]), (zipfile.ZipInfo("/abs.fit"), evil[1])])
        with zipfile.ZipFile(zpath, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            with z.open("activities/zipbomb.fit", "w", force_zip64=True) as w:
                chunk = bytes(1 << 20)
                for _ in range((MAX_FILE_BYTES >> 20) + 1):
                    w.write(chunk)
        names = zipfile.ZipFile(zpath).namelist()
        self.assertIn("../evil.fit", names)
        self.assertIn("/abs.fit", names)

        sb = self.importer("hostile")
        outside = [os.path.join(self.tmp, "evil.fit"), os.path.join(os.path.dirname(self.tmp), "evil.fit"),
                   os.path.join(sb.root, "..", "evil.fit"), "/evil.fit", "/abs.fit",
                   os.path.join(os.path.dirname(sb.cache_path), "..", "evil.fit")]
        self.assertEqual([p for p in outside if os.path.lexists(p)], [], "there before the import")

        def tree():
            out = set()
            for root, dirs, files in os.walk(self.tmp):
                out.update(os.path.join(root, f) for f in files + dirs)
            return out
        before = tree()
        r, rep = self.imported(sb, zpath, code=EXIT_PARTIAL)
        self.assertEqual(self.report_counts(rep, "added", "failed"), (N + 2, 2), rep)
        failures = {f["path"]: f["error"] for f in rep["failures"]}
        self.assertIn("not in the archive", failures.get(zpath + "!" + self.files[left_out], ""), failures)
        self.assertIn("zip: entry exceeds %d bytes" % MAX_FILE_BYTES,
                      failures.get(zpath + "!activities/zipbomb.fit", ""))
        for p in failures:
            self.assertIn(p, r.err)
        # The hostile names are names only: their activities are in the cache, nothing is on disk.
        self.assertEqual({file_activity_id(e) for e in evil} - sb.activity_ids(), set())
        self.assertEqual([p for p in outside if os.path.lexists(p)], [])
        cache_dir = os.path.dirname(sb.cache_path)
        new = sorted(p for p in tree() - before if p != cache_dir and not p.startswith(cache_dir + "/"))
        self.assertEqual(new, [], "written outside the cache")
        # The row whose file is not in the archive still has its summary.
        self.assertEqual(sb.query("SELECT distance FROM activities WHERE id=?", (left_out,)),
                         [(self.rows[left_out]["distance"],)])
        # Again: the zip is walked, and only its failed entry read.
        entries = rep["files"]
        r, rep = self.imported(sb, zpath, code=EXIT_PARTIAL)
        self.assertEqual(self.report_counts(rep, "files", "unchanged", "added", "updated", "failed"),
                         (1, entries - 1, 0, 0, 2), rep)
        self.assertEqual(sorted(f["path"] for f in rep["failures"]), sorted(failures))

    # ================================================================== 6
    def test_kill_9_after_the_first_batch_loses_nothing_and_the_next_run_completes(self):
        sb = self.importer("killed")
        p = self.start(sb, "import", self.big_zip)
        seen_files, seen_ids = set(), set()

        def first_batch():
            if p.poll() is not None:
                raise AssertionError("the import ended (%r) before a batch was seen committed" % p.returncode)
            if not os.path.exists(sb.cache_path):
                return False
            try:
                conn = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(sb.cache_path), uri=True, timeout=5)
                try:
                    files = {r[0] for r in conn.execute("SELECT path FROM import_files")}
                    ids = {r[0] for r in conn.execute("SELECT id FROM activities")}
                finally:
                    conn.close()
            except sqlite3.DatabaseError:
                return False  # the file or its schema is not there yet
            if files:
                seen_files.update(files)
                seen_ids.update(ids)
                return True
            return False
        wait_until(first_batch, 120, "the first batch committed")
        os.kill(p.pid, signal.SIGKILL)
        r = sb.finish(p)
        self.assertEqual(r.rc, -signal.SIGKILL, r)

        # The cache opens, intact, with everything seen committed.
        self.assertIntegrity(sb)
        files = {x[0] for x in sb.query("SELECT path FROM import_files")}
        ids = sb.activity_ids()
        self.assertLessEqual(seen_files, files)
        self.assertLessEqual(seen_ids, ids)
        n_files = len(os.listdir(os.path.join(self.big, "activities")))
        self.assertLess(len(files), n_files, "the kill landed after the import")
        self.assertNotIn(self.big_zip, files)  # the zip is not done
        status = sb.run("status", "--json")
        self.assertExit(status, 0)

        # The next run reads only the rest and completes ...
        r, rep = self.imported(sb, self.big_zip)
        self.assertEqual(self.report_counts(rep, "unchanged", "files", "added", "failed", "rows"),
                         (len(files), n_files - len(files), KILL_N - len(ids), 0, KILL_N), rep)
        # ... to exactly what an uninterrupted import makes.
        clean = self.importer("uninterrupted")
        self.imported(clean, self.big_zip)
        got, want = dump(sb), dump(clean)
        for table in want:
            self.assertEqual(got[table], want[table], table)
        self.assertEqual(len(got["activities"]), KILL_N)

    # ================================================================== 7
    def test_import_folders_on_sync_without_api_access(self):
        watched = os.path.join(self.tmp, "watched")
        shutil.copytree(self.folder, os.path.join(watched, "export"))
        sb = self.importer("folders", "\n[import]\nfolders = %s\n" % watched)
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        rep = r.json()
        self.assertEqual(self.report_counts(rep, "files", "added", "failed"), (len(self.files), N, 0), rep)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), N)
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(self.report_counts(r.json(), "files", "unchanged", "added", "updated"),
                         (0, len(self.files), 0, 0), r.out)
        # A new file from the device: the next sync imports just it.
        new = sorted(f for f in os.listdir(os.path.join(self.big, "activities")) if f.endswith(".fit.gz"))[0]
        shutil.copyfile(os.path.join(self.big, "activities", new), os.path.join(watched, "Garmin-" + new))
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(self.report_counts(r.json(), "files", "added", "failed"), (1, 1, 0), r.out)
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(self.report_counts(r.json(), "files", "added"), (0, 0), r.out)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), N + 1)
        self.assertFalse(os.path.exists(sb.tokens_path))

    # ================================================================== 8
    def test_every_face_works_on_an_import_only_cache(self):
        if not EXT:
            raise AssertionError("set STRAVA_EXT to the built strava.so (meson test does)")
        if not os.access("/dev/fuse", os.R_OK | os.W_OK):
            raise AssertionError("/dev/fuse is missing or not usable: this test needs a real mount")
        sb = self.importer("faces")
        self.imported(sb, self.zip)
        # And a device's file of another day: an activity of its own, id >= 2^52.
        name = sorted(f for f in os.listdir(os.path.join(self.big, "activities")) if f.endswith(".fit.gz"))[1]
        original = {}
        loose = os.path.join(self.tmp, "Garmin", name[:-3])
        os.makedirs(os.path.dirname(loose))
        write_bytes(loose, plain(read_bytes(os.path.join(self.big, "activities", name))))
        r, rep = self.imported(sb, loose)
        self.assertEqual(rep["added"], 1, rep)
        fid = file_activity_id(read_bytes(loose))
        samples = dict(sb.query("SELECT activity_id, count(*) FROM streams GROUP BY 1"))
        gps = dict(sb.query("SELECT activity_id, count(*) FROM streams WHERE lat IS NOT NULL GROUP BY 1"))
        # One activity of each file format with a track, and the device's.
        pick = {}
        for aid, fmt in sorted(self.formats.items()):
            if gps.get(aid) and fmt not in pick:
                pick[fmt] = aid
                original[aid] = plain(read_bytes(os.path.join(self.folder, self.files[aid])))
        self.assertEqual(sorted(pick), ["fit", "gpx", "tcx"])
        pick["device fit"] = fid
        original[fid] = read_bytes(loose)
        self.assertGreater(samples.get(fid, 0), 0)

        m = self.mount(sb, options=NO_REFRESH)
        ls = tool(["ls", m.path])
        self.assertEqual(ls.returncode, 0, ls.stderr)
        top = ls.stdout.decode().split()
        for name in ("activities.csv", "athlete.json", "by-id", "stats"):
            self.assertIn(name, top)
        years = sorted({r[0][:4] for r in sb.query("SELECT start_date_local FROM activities")})
        self.assertEqual(sorted(set(top) & set(years)), years)
        for label, aid in sorted(pick.items()):
            fmt = label.split()[-1]
            with self.subTest(file=label, id=aid):
                link = os.readlink(os.path.join(m.path, "by-id", "%d.json" % aid))
                base = os.path.normpath(os.path.join(m.path, "by-id", link))[:-len(".json")]
                folder, stem = os.path.split(base)
                listing = tool(["ls", folder])
                self.assertEqual(listing.returncode, 0, listing.stderr)
                shown = {n for n in listing.stdout.decode().splitlines() if n.startswith(stem + ".")}
                want = {stem + ".json", stem + ".csv"} | ({stem + ".gpx"} if gps.get(aid) else set()) | \
                    ({stem + "." + fmt} if fmt != "gpx" else set())
                self.assertEqual(shown, want)
                # jq reads the id exactly (ids of loose files stay below 2^53).
                jq = tool(["jq", "-r", ".id, .sport_type, .distance", base + ".json"])
                self.assertEqual(jq.returncode, 0, jq.stderr)
                row = sb.query("SELECT id, sport_type, distance FROM activities WHERE id=?", (aid,))[0]
                out = jq.stdout.decode().split("\n")
                self.assertEqual((int(out[0]), out[1], float(out[2])), row)
                with open(base + ".csv", newline="") as f:
                    table = list(csv.reader(f))
                self.assertEqual(len(table) - 1, samples[aid])
                self.assertEqual(table[0][:3], ["seq", "time", "distance"])
                if gps.get(aid):
                    lint = tool(["xmllint", "--noout", base + ".gpx"])
                    self.assertEqual((lint.returncode, lint.stderr), (0, b""))
                    self.assertEqual(read_bytes(base + ".gpx").count(b"<trkpt "), gps[aid])
                if fmt != "gpx":
                    # The original, decompressed, beside the other files.
                    self.assertEqual(read_bytes(base + "." + fmt), original[aid])

        # The extension in the real sqlite3 shell.
        aid = pick["fit"]
        p = subprocess.run(["sqlite3", "-batch", "-bail", ":memory:"],
                           input=(".load %s\nSELECT count(*) FROM strava_activities;\n"
                                  "SELECT count(*), sum(heartrate IS NOT NULL) FROM strava_streams(%d);\n"
                                  "SELECT count(*) FROM strava_streams(%d);\n" % (EXT, aid, fid)
                                  ).encode(), capture_output=True, env=host_env(sb.env()), timeout=120)
        self.assertEqual((p.returncode, p.stderr.decode()), (0, ""))
        hr = sb.scalar("SELECT count(heartrate) FROM streams WHERE activity_id=?", (aid,))
        self.assertEqual(p.stdout.decode().splitlines(), [str(N + 1), "%d|%d" % (samples[aid], hr), str(samples[fid])])

        r = sb.run("status")
        self.assertExit(r, 0)
        line = [x for x in r.out.splitlines() if x.startswith("sources:")]
        self.assertEqual(len(line), 1, r.out)
        self.assertRegex(line[0], r"^sources: +0 from Strava's API, %d from an export, 1 from files; %d original "
                                  r"files kept \([0-9.]+ MB\)$" % (N, len(self.files) + 1))

    # ================================================================== 9
    def test_german_and_old_header_exports_give_the_same_ids_and_distances(self):
        en = self.importer("en")
        self.imported(en, self.folder)
        for lang, args, columns in (
                ("de", ("--export-lang", "de"),
                 "name, sport_type, start_date, distance, moving_time, elapsed_time, calories, average_heartrate"),
                ("old", ("--export-old-header",), "name, start_date, distance, elapsed_time")):
            with self.subTest(lang=lang):
                folder = write_export(os.path.join(self.tmp, "export-" + lang), N, SEED, self.end, *args)
                sb = self.importer(lang)
                r, rep = self.imported(sb, folder)
                self.assertEqual(self.report_counts(rep, "added", "failed", "rows", "warnings"), (N, 0, N, 0), rep)
                self.assertSummariesEqual(sb, en, columns)
                self.assertEqual(rows_of(sb, STREAMS_SQL), rows_of(en, STREAMS_SQL))

    # ================================================================== 10
    def test_gpsbabel_written_files_read_as_gpsbabel_reads_them(self):
        src = os.path.join(self.tmp, "src")
        os.makedirs(src)

        def babel_points(fmt, path):
            """gpsbabel's reading of a file: [(epoch, lat, lon, alt, hr)] (UTC)."""
            p = tool(["gpsbabel", "-t", "-i", fmt, "-f", path, "-o", "unicsv,utc=0", "-F", "-"],
                     env=foreign_env(TZ="UTC"))
            self.assertEqual(p.returncode, 0, p.stderr)
            out = []
            for r in csv.DictReader(io.StringIO(p.stdout.decode())):
                t = datetime.datetime.strptime(r["Date"] + " " + r["Time"].split(".")[0], "%Y/%m/%d %H:%M:%S")
                hr = r.get("Heartrate") or None
                out.append((int(t.replace(tzinfo=datetime.timezone.utc).timestamp()), float(r["Latitude"]),
                            float(r["Longitude"]), float(r["Altitude"]) if r.get("Altitude") else None,
                            float(hr) if hr else None))
            return out

        # One export file of each format with a track and heart rate.
        reader = {"fit": "garmin_fit", "gpx": "gpx", "tcx": "gtrnctr"}
        chosen = {}
        for aid, fmt in sorted(self.formats.items()):
            if fmt in chosen:
                continue
            path = os.path.join(src, "%d.%s" % (aid, fmt))
            write_bytes(path, plain(read_bytes(os.path.join(self.folder, self.files[aid]))))
            pts = babel_points(reader[fmt], path)
            if len(pts) >= 10 and all(x[4] is not None for x in pts[:3]):
                chosen[fmt] = path
        self.assertEqual(sorted(chosen), ["fit", "gpx", "tcx"])

        writers = {"fit": ["gpx", "gtrnctr,course=0"], "gpx": ["garmin_fit", "gtrnctr,course=0"],
                   "tcx": ["garmin_fit", "gpx"]}
        ext = {"garmin_fit": "fit", "gpx": "gpx", "gtrnctr,course=0": "tcx"}
        compared, with_hr = [], []
        for fmt, path in sorted(chosen.items()):
            for out_fmt in writers[fmt]:
                with self.subTest(source=fmt, written=out_fmt):
                    out = os.path.join(self.tmp, "babel-%s-%s.%s" % (fmt, ext[out_fmt], ext[out_fmt]))
                    p = tool(["gpsbabel", "-t", "-i", reader[fmt], "-f", path, "-o", out_fmt, "-F", out],
                             env=foreign_env(TZ="UTC"))
                    self.assertEqual(p.returncode, 0, p.stderr)
                    want = babel_points(reader[ext[out_fmt]], out)
                    self.assertGreaterEqual(len(want), 10)
                    # Each file into its own cache: files of one start attach to the first.
                    sb = self.importer("babel-%s-%s" % (fmt, ext[out_fmt]))
                    r, rep = self.imported(sb, out)
                    self.assertEqual(self.report_counts(rep, "added", "failed"), (1, 0), rep)
                    (aid, start), = sb.query("SELECT id, start_date FROM activities")
                    self.assertEqual(aid, file_activity_id(read_bytes(out)))
                    t0 = int(datetime.datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ")
                             .replace(tzinfo=datetime.timezone.utc).timestamp())
                    got = [(t0 + t, lat, lng, alt, hr) for t, lat, lng, alt, hr in sb.query(
                        "SELECT time, lat, lng, altitude, heartrate FROM streams WHERE activity_id=? ORDER BY seq",
                        (aid,))]
                    self.assertEqual(len(got), len(want), "points")
                    bad = []
                    for k, (g, w) in enumerate(zip(got, want)):
                        ok = g[0] == w[0] and near(g[1], w[1], 1e-6) and near(g[2], w[2], 1e-6) and \
                            near(g[3], w[3], 0.06) and near(g[4], w[4], 0)
                        if not ok:
                            bad.append("point %d: ours %r, gpsbabel %r" % (k, g, w))
                    self.assertEqual(bad[:5], [])
                    compared.append(out_fmt)
                    if any(w[4] is not None for w in want):
                        with_hr.append(out_fmt)
        self.assertEqual(len(compared), 6)
        # gpsbabel writes heart rate into TCX only (its FIT and GPX 1.0 writers leave it out).
        self.assertEqual(sorted(with_hr), ["gtrnctr,course=0"] * 2)


if __name__ == "__main__":
    main()
