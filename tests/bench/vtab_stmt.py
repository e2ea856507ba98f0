"""Per-statement cost of strava.so against the same query on the cache's own
tables, in one python3 connection (vtab_bench.sh runs it; Debian's
/usr/bin/python3, whose sqlite3 module can load extensions).

    /usr/bin/python3 tests/bench/vtab_stmt.py STRAVA_SO CACHE_DB [REPS] [PER]

The connection is an in-memory database with the cache ATTACHed as `c`, as
someone using the extension works (`sqlite3`, `.load strava`): the plain
query reads `c.activities`, the extension's reads `strava_activities`, and
each pays for one read transaction on the cache file. STRAVAFS_CONFIG must
name the cache's config, with a max_age the cache is within, so every
statement of the extension runs its refresh check and finds nothing due.

Each query runs PER times in a row with changing arguments (python's
statement cache keeps it prepared, as an application's would), alternating
plain and extension batches, REPS times; the best batch's mean per
statement is reported. Prints one line per query: name, plain us,
extension us, ratio. Reports only: never passes or fails on time.
"""

import random
import sqlite3
import sys
import time


def main():
    ext, cache = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    per = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    conn = sqlite3.connect(":memory:", isolation_level=None, cached_statements=64)
    conn.enable_load_extension(True)
    conn.load_extension(ext)
    conn.execute("ATTACH ? AS c", (cache,))
    rng = random.Random(7)
    n = conn.execute("SELECT count(*) FROM c.activities").fetchone()[0]
    ids = [r[0] for r in conn.execute("SELECT id FROM c.activities")]
    ids = rng.sample(ids, min(len(ids), 200))
    last = conn.execute("SELECT substr(max(start_date), 1, 7) || '-01' FROM c.activities").fetchone()[0]
    months = [tuple(conn.execute("SELECT date(?, ?), date(?, ?)",
                                 (last, "-%d months" % i, last, "-%d months" % (i - 1))).fetchone())
              for i in range(24)]
    with_streams = [r[0] for r in conn.execute("SELECT DISTINCT activity_id FROM c.streams")]
    if not with_streams:
        sys.exit("vtab_stmt.py: the cache holds no streams (vtab_bench.sh adds some)")

    # name, extension SQL, plain SQL, argument list cycled through, statements per batch
    queries = [
        ("full aggregate",
         "SELECT count(*), sum(distance), sum(moving_time), max(average_speed) FROM strava_activities",
         "SELECT count(*), sum(distance), sum(moving_time), max(average_speed) FROM c.activities",
         [()], max(3, min(per, per * 1000 // max(n, 1)))),
        ("id lookup",
         "SELECT name, distance FROM strava_activities WHERE id = ?",
         "SELECT name, distance FROM c.activities WHERE id = ?",
         [(i,) for i in ids], per),
        ("one-month range",
         "SELECT count(*), sum(distance) FROM strava_activities WHERE start_date >= ? AND start_date < ?",
         "SELECT count(*), sum(distance) FROM c.activities WHERE start_date >= ? AND start_date < ?",
         months, per),
        ("strava_streams of one activity",
         "SELECT count(*), sum(heartrate), max(watts) FROM strava_streams(?)",
         "SELECT count(*), sum(heartrate), max(watts) FROM c.streams WHERE activity_id = ?",
         [(i,) for i in with_streams], per),
        # Reads no row: what is left is the per-statement work (the refresh
        # check that finds nothing due, the read transaction, the cursor).
        ("refresh check, nothing due",
         "SELECT count(*) FROM strava_activities WHERE id = 0",
         "SELECT count(*) FROM c.activities WHERE id = 0",
         [()], per),
    ]
    for name, vsql, psql, args, count in queries:
        # Same answers, or the comparison means nothing.
        for a in args[:5]:
            got, want = conn.execute(vsql, a).fetchall(), conn.execute(psql, a).fetchall()
            if got != want:
                sys.exit("vtab_stmt.py: %s: %r != %r" % (name, got, want))
        best = {psql: float("inf"), vsql: float("inf")}
        for _ in range(reps):
            for sql in (psql, vsql):
                execute = conn.execute
                t0 = time.perf_counter()
                for k in range(count):
                    execute(sql, args[k % len(args)]).fetchall()
                best[sql] = min(best[sql], (time.perf_counter() - t0) / count)
        plain, vtab = best[psql] * 1e6, best[vsql] * 1e6
        print("%s\t%.2f\t%.2f\t%.2f" % (name, plain, vtab, vtab / plain))
    status = conn.execute("SELECT refresh FROM strava_sync_status").fetchone()[0]
    if status != "skipped: fresh":
        sys.exit("vtab_stmt.py: expected the refresh check to find nothing due, got %r" % status)


if __name__ == "__main__":
    main()
