"""Exact round trip of a 1,000-activity athlete: every typed column, the
verbatim JSON, streams, laps, and the number and shape of list requests."""

import math
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PER_PAGE, TestCase, compare_cache, main  # noqa: E402

N = 1000


class RoundTrip(TestCase):
    def test_round_trip_of_1000_activities(self):
        emu = self.emulator(N, seed=11)
        sb = self.sandbox(emu)
        sb.authorize()
        emu.reset_counters()

        # The history listing alone first, so the request log (the last 1000
        # requests) still holds every list call when we read it.
        r = sb.run("sync", "--no-deep", "--json")
        self.assertExit(r, 0)
        pages = math.ceil(N / PER_PAGE) + 1
        counters = emu.counters()
        self.assertEqual(counters["by_endpoint"]["list"], pages, counters)
        self.assertEqual(counters["rejected"], 0)
        report = r.json()
        self.assertEqual((report["ok"], report["mode"], report["list_requests"], report["pages"],
                          report["listed"], report["added"], report["changed"], report["deleted"]),
                         (True, "history", pages, pages - 1, N, N, 0, 0), report)
        lists = [q for q in emu.request_log() if q["path"] == "/api/v3/athlete/activities"]
        self.assertEqual(len(lists), pages)
        seen_pages = []
        for q in lists:
            params = urllib.parse.parse_qs(q["query"])
            self.assertEqual(params.get("per_page"), [str(PER_PAGE)], q)
            self.assertNotIn("access_token", params, q)
            self.assertEqual(q["status"], 200, q)
            seen_pages.append(int(params["page"][0]))
        self.assertEqual(seen_pages, list(range(1, pages + 1)))
        # Summaries are stored exactly as listed.
        compare_cache(self, sb, emu, detail=False)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities WHERE detail_level = 2"), N)

        # The deep fetch: one detail and one streams request per activity.
        emu.reset_counters()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        want = {a["id"]: a for a in emu.activities()}
        manual = sum(1 for a in want.values() if a["manual"])
        self.assertGreater(manual, 0)
        report = r.json()
        self.assertEqual((report["ok"], report["mode"], report["details"], report["streams"],
                          report["no_streams"], report["deep_pending"]),
                         (True, "incremental", N, N - manual, manual, 0), report)
        counters = emu.counters()["by_endpoint"]
        self.assertEqual((counters["activity"], counters["streams"], counters["list"]), (N, N, 1), counters)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities WHERE detail_level = 3"), N)

        compare_cache(self, sb, emu, detail=True, streams_sample=30, seed=5)

        # The hostile names really went through (the comparison is byte-exact).
        names = [a["name"] for a in want.values()]
        for hostile in ("nul\x00byte", "../../etc/passwd", "line one\nline two", "ctrl\x01char\x7fdel", "",
                        "\u202egnp.exe right-to-left override", "\ufeffBOM run"):
            self.assertIn(hostile, names)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities WHERE instr(CAST(name AS BLOB), x'00') > 0"), 1)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities WHERE length(CAST(name AS BLOB)) > 300"),
                         sum(1 for n in names if len(n.encode()) > 300))
        self.assertGreater(sb.scalar("SELECT count(*) FROM activities WHERE length(CAST(name AS BLOB)) > 300"), 0)
        # Rows of every manual activity: no streams at all; others: streams.
        self.assertEqual(sb.scalar("SELECT count(DISTINCT activity_id) FROM streams"), N - manual)
        self.assertIntegrity(sb)


if __name__ == "__main__":
    main()
