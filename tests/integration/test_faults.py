"""Faulty replies: 5xx, an HTML proxy page, empty bodies, timeouts, malformed,
too deeply nested, truncated and cut-off JSON, injected into list pages and
into detail and streams calls. A few faults are retried away and the cache ends up exact;
more faults than attempts end the sync with exit 1 and a message naming the
problem, nothing of the bad reply is stored, and the next sync completes."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EXIT_AUTH, EXIT_ERROR, GEAR_TOTALS, TestCase, main  # noqa: E402

ATTEMPTS = 5  # ClientOptions::max_attempts

# kind -> what the final error message must say about the last failure.
KINDS = {
    "500": "HTTP 500 Internal Server Error",
    "502": "HTTP 502 Bad Gateway",
    "503": "HTTP 503 Service Unavailable",
    "html": "HTTP 502",
    "empty500": "HTTP 500",
    "timeout": "timed out",
    "malformed": "not valid JSON",
    "truncated": "not valid JSON",
    "cut": "transfer closed",
    "deep": "not valid JSON",  # (issue 15: it crashed the sync)
}


def rule(match, kind, count):
    r = {"match": match, "kind": kind, "count": count}
    if kind == "timeout":
        r["delay_ms"] = 2300  # the client gives up after timeout = 2s
    return r


class Faults(TestCase):
    def check_kind(self, kind, seed):
        emu = self.emulator(12, seed=seed)
        sb = self.sandbox(emu)
        sb.authorize()

        # Two faults on the list, on a detail and on a streams call: retried.
        emu.faults([rule("/athlete/activities", kind, 2), rule("/streams", kind, 2),
                    rule("/api/v3/activities/", kind, 2)])
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(emu.call("GET", "/_emulator/faults"), [], "not every fault was met")
        retries = [l for l in r.err.splitlines() if l.startswith("retrying")]
        self.assertEqual(len(retries), 6, r.err)
        for line in retries:
            self.assertIn(KINDS[kind], line)
        c = emu.counters()["by_endpoint"]
        self.assertEqual((c["list"], c["activity"], c["streams"]), (4, 14, 14), c)
        self.assertEqual(r.json()["requests"], emu.api_requests())
        self.assertCacheMatches(sb, emu)

        # More faults on the list than attempts: exit 1, nothing stored.
        late = emu.create({"name": "Listed only after the faults", "start_date": emu.activities()[-1]["start_date"],
                           "sport_type": "Ride", "timezone": "Europe/Berlin"})
        emu.faults([rule("/athlete/activities", kind, ATTEMPTS)])
        r = sb.run("sync")
        self.assertExit(r, EXIT_ERROR, "/athlete/activities", "failed %d times" % ATTEMPTS, KINDS[kind],
                        "Nothing was stored")
        self.assertNotIn(late["id"], sb.activity_ids())
        self.assertIntegrity(sb)
        self.assertCacheMatches(sb, emu, ignore=(), ids=sb.activity_ids(), skip=GEAR_TOTALS)
        self.assertIn(KINDS[kind], sb.run("status", "--json").json()["last_error"]["message"])

        # More faults on one activity's detail than attempts: its summary is
        # stored (that page was fine), its detail is not.
        emu.faults([rule("/activities/%d" % late["id"], kind, ATTEMPTS)])
        r = sb.run("sync")
        self.assertExit(r, EXIT_ERROR, "/activities/%d" % late["id"], "failed %d times" % ATTEMPTS, KINDS[kind])
        self.assertEqual(sb.query("SELECT detail_level FROM activities WHERE id=?", (late["id"],)), [(2,)])
        summary = [a for a in emu.activities("summary") if a["id"] == late["id"]]
        self.assertCacheMatches(sb, emu, ids=sb.activity_ids() - {late["id"]}, ignore={late["id"]}, skip=GEAR_TOTALS)
        self.assertEqual(len(summary), 1)
        self.assertIntegrity(sb)

        # More faults on its streams than attempts: the detail is stored,
        # the streams are not, not even in part.
        emu.faults([rule("/activities/%d/streams" % late["id"], kind, ATTEMPTS)])
        r = sb.run("sync")
        self.assertExit(r, EXIT_ERROR, "/activities/%d/streams" % late["id"], "failed %d times" % ATTEMPTS,
                        KINDS[kind])
        self.assertEqual(sb.query("SELECT detail_level FROM activities WHERE id=?", (late["id"],)), [(3,)])
        self.assertEqual(sb.scalar("SELECT count(*) FROM streams WHERE activity_id=?", (late["id"],)), 0)
        self.assertIntegrity(sb)

        # The next sync completes: the cache equals the emulator.
        r = sb.run("sync")
        self.assertExit(r, 0)
        self.assertCacheMatches(sb, emu, skip=GEAR_TOTALS)
        self.assertNotIn("last_error", sb.run("status", "--json").json())

    def test_500(self):
        self.check_kind("500", 50)

    def test_502(self):
        self.check_kind("502", 51)

    def test_503(self):
        self.check_kind("503", 52)

    def test_html(self):
        self.check_kind("html", 53)

    def test_empty500(self):
        self.check_kind("empty500", 54)

    def test_timeout(self):
        self.check_kind("timeout", 55)

    def test_malformed(self):
        self.check_kind("malformed", 56)

    def test_truncated(self):
        self.check_kind("truncated", 57)

    def test_cut(self):
        self.check_kind("cut", 58)

    def test_deep(self):
        self.check_kind("deep", 60)

    def test_replies_over_the_size_bound_are_refused_and_retried(self):
        # Issue 15: replies had no size limit (a gzip bomb drove a sync to
        # 2.1 GB). The bound is lowered to 1 MiB here; the faults pad the
        # real replies with 4 MiB, once with a Content-Length and once
        # chunked (counted as it arrives).
        emu = self.emulator(8, seed=62)
        sb = self.sandbox(emu, {"testing": {"max_reply": str(1 << 20)}})
        sb.authorize()
        emu.faults([rule("/athlete/activities", "huge", 1), rule("/streams", "huge_chunked", 1),
                    rule("/api/v3/activities/", "huge_chunked", 1)])
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(emu.call("GET", "/_emulator/faults"), [], "not every fault was met")
        retries = [l for l in r.err.splitlines() if l.startswith("retrying")]
        self.assertEqual(len(retries), 3, r.err)
        for line in retries:
            self.assertIn("reply refused: larger than 1 MiB (decoded)", line)
        self.assertCacheMatches(sb, emu)
        # More than attempts: exit 1, nothing stored, the cache intact.
        late = emu.create({"name": "Listed only after the faults", "start_date": emu.activities()[-1]["start_date"],
                           "sport_type": "Ride", "timezone": "Europe/Berlin"})
        emu.faults([rule("/athlete/activities", "huge_chunked", ATTEMPTS)])
        r = sb.run("sync")
        self.assertExit(r, EXIT_ERROR, "/athlete/activities", "failed %d times" % ATTEMPTS,
                        "reply refused: larger than 1 MiB (decoded)")
        self.assertNotIn(late["id"], sb.activity_ids())
        self.assertIntegrity(sb)
        self.assertExit(sb.run("sync"), 0)
        self.assertCacheMatches(sb, emu, skip=GEAR_TOTALS)

    def test_literal_comma_rate_headers_are_ignored(self):
        emu = self.emulator(8, seed=59)
        sb = self.sandbox(emu)
        sb.authorize()
        emu.faults([rule("", "comma", -1)])
        r = sb.run("sync")
        self.assertExit(r, 0)
        self.assertCacheMatches(sb, emu)

    def test_a_401_mid_sync_refreshes_once_and_goes_on(self):
        emu = self.emulator(8, seed=60)
        sb = self.sandbox(emu)
        sb.authorize()
        emu.faults([rule("/streams", "401", 1)])
        r = sb.run("sync")
        self.assertExit(r, 0)
        self.assertEqual(emu.counters()["by_endpoint"]["token"], 2)  # the code exchange and one refresh
        self.assertCacheMatches(sb, emu)

    def test_inactive_application_stops_with_exit_3(self):
        emu = self.emulator(8, seed=61)
        sb = self.sandbox(emu)
        sb.authorize()
        emu.faults([rule("", "inactive", 1)])
        r = sb.run("sync")
        self.assertExit(r, EXIT_AUTH, "inactive", "subscription")
        self.assertEqual(emu.api_requests(), 1, "an inactive application must not be retried")

    def test_streams_404_of_an_activity_with_gps_is_remembered(self):
        # Strava sometimes has no streams for an upload: a 404 is an answer,
        # stored as "no streams" and not asked again.
        emu = self.emulator(8, seed=62)
        sb = self.sandbox(emu)
        sb.authorize()
        target = [a for a in emu.activities() if not a["manual"]][0]["id"]
        emu.faults([rule("/activities/%d/streams" % target, "404", -1)])
        r = sb.run("sync")
        self.assertExit(r, 0)
        self.assertEqual(sb.scalar("SELECT count(*) FROM streams WHERE activity_id=?", (target,)), 0)
        before = emu.counters()["by_endpoint"]["streams"]
        self.assertExit(sb.run("sync"), 0)
        self.assertEqual(emu.counters()["by_endpoint"]["streams"], before)


if __name__ == "__main__":
    main()
