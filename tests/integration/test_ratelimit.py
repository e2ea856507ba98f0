"""Pacing under Strava's rate limits, with the emulator's 2-second window
standing in for the 15-minute one: never provoke a 429 the headers could have
prevented, wait for the next window with a visible reason, stop at the daily
limit with exit 75 and resume from there."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import EXIT_RATE_LIMIT, TestCase, main  # noqa: E402

# A 2-second short window of 10 requests; 80% leaves 8 to the sync.
PACED = ["--window", "2", "--limit", "10,100000", "--read-limit", "10,100000"]
PACED_CONFIG = {"testing": {"rate_window": "2s"}, "sync": {"budget": "80%"}}


def api_requests_needed(emu):
    """What a first sync of this athlete costs: 2 list pages (the second one
    empty), the athlete, its zones, a detail and a streams request per
    activity, and one request per distinct gear id."""
    acts = emu.activities()
    gear = {a["gear_id"] for a in acts if a.get("gear_id")}
    return 2 + 1 + 1 + 2 * len(acts) + len(gear)


class Pacing(TestCase):
    def test_paces_itself_in_a_two_second_window_without_a_single_429(self):
        emu = self.emulator(16, seed=8, args=PACED, unlimited=False)
        sb = self.sandbox(emu, PACED_CONFIG)
        sb.authorize()
        need = api_requests_needed(emu)
        self.assertTrue(35 <= need <= 45, need)
        r = sb.run("sync", "--json", timeout=120)
        self.assertExit(r, 0)
        c = emu.counters()
        self.assertEqual(c["rejected"], 0, "a 429 was provoked:\n%r" % r)
        self.assertEqual(emu.api_requests(c), need)
        self.assertEqual(r.json()["requests"], need)
        waits = [l for l in r.err.splitlines() if l.startswith("waiting")]
        # 8 requests per 2-second window: at least need/8 - 1 waits.
        self.assertGreaterEqual(len(waits), need // 8 - 1, r.err)
        for line in waits:
            self.assertIn("15-minute rate limit", line)
            self.assertIn("of 10 requests used, budget 80%", line)
        # At most 8 requests per window: the waits took time.
        self.assertGreaterEqual(r.seconds, 2 * (need // 8 - 1) - 1)
        self.assertCacheMatches(sb, emu)

    def test_window_already_used_by_another_app_is_waited_out(self):
        emu = self.emulator(6, seed=9, args=PACED, unlimited=False)
        sb = self.sandbox(emu, PACED_CONFIG)
        sb.authorize()
        # Another app of the same athlete used 7 of the window's 10: the first
        # reply tells the sync its 80% budget is spent; it must wait, not push.
        emu.ratelimit({"usage": [7, 7]})
        r = sb.run("sync", timeout=120)
        self.assertExit(r, 0)
        self.assertEqual(emu.counters()["rejected"], 0, r)
        self.assertIn("waiting", r.err)
        self.assertCacheMatches(sb, emu)

    def test_full_window_gives_one_429_that_is_waited_out(self):
        emu = self.emulator(6, seed=10, args=PACED, unlimited=False)
        sb = self.sandbox(emu, PACED_CONFIG)
        sb.authorize()
        # The window is full before the sync has seen a single header: the
        # first request may get a 429 (nothing could have told it), and the
        # sync must wait for the next window instead of failing or hammering.
        # A second 429 would be one the headers announced (the 429 reply said
        # 10 of 10): the next window must really have begun when it asks again.
        emu.ratelimit({"usage": [10, 10]})
        r = sb.run("sync", timeout=120)
        self.assertExit(r, 0)
        self.assertLessEqual(emu.counters()["rejected"], 1, r)
        self.assertIn("waiting", r.err)
        self.assertCacheMatches(sb, emu)

    def test_daily_limit_stops_with_75_and_resumes_without_refetching(self):
        # 30 requests a day, 80% of it (24) for the sync: a first sync of 24
        # activities needs about 55.
        emu = self.emulator(24, seed=12, args=["--limit", "1000,30", "--read-limit", "1000,30"], unlimited=False)
        sb = self.sandbox(emu, {"sync": {"budget": "80%"}})
        sb.authorize()
        need = api_requests_needed(emu)
        self.assertGreater(need, 2 * 24)

        r = sb.run("sync", "--json")
        self.assertExit(r, EXIT_RATE_LIMIT, "daily rate limit", "24 of 30", "resumes after")
        self.assertEqual(emu.counters()["rejected"], 0, r)
        self.assertEqual(emu.api_requests(), 24)
        report = r.json()
        self.assertFalse(report["ok"])
        self.assertIn("daily", report["error"])
        self.assertIn("resume_at", report)
        self.assertGreater(report["deep_pending"], 0)

        # The cache is intact and says what is left.
        self.assertIntegrity(sb)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), 24)
        pending = sb.scalar("SELECT (SELECT count(*) FROM activity_sync WHERE detail_state = 0) + "
                            "(SELECT count(*) FROM activity_sync WHERE streams_state = 0)")
        self.assertEqual(pending, report["deep_pending"])
        detailed = {row[0] for row in sb.query("SELECT id FROM activities WHERE detail_level = 3")}
        self.assertGreater(len(detailed), 0)
        self.assertCacheMatches(sb, emu, ids=detailed, ignore=sb.activity_ids() - detailed)
        status = sb.run("status")
        self.assertExit(status, 0)
        self.assertIn("24/30 (day)", status.out)
        self.assertIn("to fetch:     %d details and streams" % pending, status.out)
        self.assertIn("daily rate limit", status.out)
        sj = sb.run("status", "--json").json()
        self.assertEqual((sj["rate_usage"]["daily_usage"], sj["rate_usage"]["daily_limit"]), (24, 30))
        self.assertEqual(sj["pending_details_and_streams"], pending)
        self.assertIn("daily", sj["last_error"]["message"])

        # A new day (usage reset): another 24 requests, further along, stopped again.
        emu.ratelimit({"usage": [0, 0]})
        r = sb.run("sync", "--json")
        self.assertExit(r, EXIT_RATE_LIMIT, "daily rate limit")
        self.assertEqual(emu.api_requests(), 48)
        self.assertLess(r.json()["deep_pending"], pending)

        # A higher daily limit: the rest, and nothing fetched twice.
        emu.ratelimit({"limit": [1000, 100000], "read_limit": [1000, 100000]})
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        c = emu.counters()
        self.assertEqual(c["by_endpoint"]["activity"], 24, c)
        self.assertEqual(c["by_endpoint"]["streams"], 24, c)
        self.assertEqual(c["by_endpoint"]["athlete"], 1, c)
        self.assertEqual(c["by_endpoint"]["zones"], 1, c)  # the same day: asked once
        self.assertEqual(c["rejected"], 0)
        self.assertEqual(r.json()["deep_pending"], 0)
        self.assertCacheMatches(sb, emu)
        self.assertNotIn("last_error", sb.run("status", "--json").json())

    def test_daily_limit_spent_by_other_apps_stops_at_the_first_429(self):
        emu = self.emulator(5, seed=13, args=["--limit", "1000,30", "--read-limit", "1000,30"], unlimited=False)
        sb = self.sandbox(emu)
        sb.authorize()
        emu.ratelimit({"usage": [0, 30]})
        r = sb.run("sync", "--json")
        self.assertExit(r, EXIT_RATE_LIMIT, "daily rate limit", "resumes after")
        c = emu.counters()
        self.assertEqual((emu.api_requests(c), c["rejected"]), (1, 1), c)
        self.assertIn("resume_at", r.json())
        self.assertIntegrity(sb)
        emu.ratelimit({"usage": [0, 0]})
        self.assertExit(sb.run("sync"), 0)
        self.assertCacheMatches(sb, emu)


if __name__ == "__main__":
    main()
