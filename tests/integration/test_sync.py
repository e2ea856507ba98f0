"""Incremental, full and backfill syncs against the emulator: the one-request
no-change sync, late uploads, edits and deletions inside the lookback window,
--full for older deletions, the refused wipe, and --since/--until."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GEAR_TOTALS, TestCase, iso, main, parse_iso  # noqa: E402

DAY = 86400


def by_start(emu):
    """The emulator's activities (summaries), oldest first."""
    return sorted(emu.activities("summary"), key=lambda a: (parse_iso(a["start_date"]), a["id"]))


class Sync(TestCase):
    def synced(self, activities, seed, config=None):
        emu = self.emulator(activities, seed)
        sb = self.sandbox(emu, config)
        sb.authorize()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["mode"], "history")
        return emu, sb

    def test_no_change_sync_makes_exactly_one_request(self):
        emu, sb = self.synced(30, seed=2)
        before = emu.counters()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        after = emu.counters()
        self.assertEqual(after["total"] - before["total"], 1, (before, after))
        self.assertEqual(after["by_endpoint"]["list"] - before["by_endpoint"]["list"], 1)
        report = r.json()
        self.assertEqual((report["ok"], report["mode"], report["requests"], report["list_requests"],
                          report["added"], report["changed"], report["deleted"], report["details"],
                          report["streams"]), (True, "incremental", 1, 1, 0, 0, 0, 0, 0), report)
        self.assertEqual(report["unchanged"], report["listed"])
        self.assertGreater(report["listed"], 0)
        # And again: still one.
        r = sb.run("sync")
        self.assertExit(r, 0)
        self.assertEqual(emu.counters()["total"] - after["total"], 1)
        self.assertCacheMatches(sb, emu)

    def test_late_upload_edit_and_delete_in_window_then_full_for_older(self):
        emu, sb = self.synced(40, seed=21)
        acts = by_start(emu)
        newest = parse_iso(acts[-1]["start_date"])
        # Inside the 7-day lookback window: the two activities before the newest.
        edited, deleted = acts[-2], acts[-3]
        self.assertGreater(parse_iso(deleted["start_date"]), newest - 6 * DAY)
        # Well outside it.
        old = acts[5]
        self.assertLess(parse_iso(old["start_date"]), newest - 10 * DAY)

        late = emu.create({"name": "Late upload ⌚ from Tuesday", "sport_type": "Run",
                           "start_date": iso(newest - DAY + 17), "timezone": "Europe/Berlin",
                           "manual": False})
        emu.patch(edited["id"], {"name": "Edited: Intervalle 6×800 m 🔁"})
        emu.delete(deleted["id"])
        emu.delete(old["id"])

        before = emu.counters()["by_endpoint"]
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        report = r.json()
        self.assertEqual((report["mode"], report["added"], report["changed"], report["deleted"], report["details"],
                          report["streams"] + report["no_streams"]),
                         ("incremental", 1, 1, 1, 2, 1), report)
        after = emu.counters()["by_endpoint"]
        # The window's first page changed, so the listing goes on to the empty page.
        self.assertEqual(after["list"] - before["list"], 2)
        self.assertEqual(report["list_requests"], 2)

        ids = sb.activity_ids()
        self.assertIn(late["id"], ids)
        self.assertNotIn(deleted["id"], ids)
        self.assertIn(old["id"], ids, "an activity older than the lookback window went without --full")
        self.assertEqual(sb.query("SELECT name, json_extract(json, '$.name') FROM activities WHERE id=?",
                                  (edited["id"],)), [("Edited: Intervalle 6×800 m 🔁",) * 2])
        # Everything else equals the emulator, the late upload with its detail.
        self.assertCacheMatches(sb, emu, ignore={old["id"]}, skip=GEAR_TOTALS)

        r = sb.run("sync", "--full", "--json")
        self.assertExit(r, 0)
        report = r.json()
        self.assertEqual((report["mode"], report["deleted"], report["added"], report["list_requests"]),
                         ("full", 1, 0, 2), report)
        self.assertNotIn(old["id"], sb.activity_ids())
        self.assertCacheMatches(sb, emu, skip=GEAR_TOTALS)
        self.assertEqual(sb.scalar("SELECT count(*) FROM streams WHERE activity_id IN (?, ?)",
                                   (old["id"], deleted["id"])), 0)
        self.assertEqual(sb.scalar("SELECT count(*) FROM laps WHERE activity_id IN (?, ?)",
                                   (old["id"], deleted["id"])), 0)

    def test_cropped_activity_gets_its_new_streams_and_laps(self):
        emu, sb = self.synced(12, seed=23)
        target = [a for a in by_start(emu) if not a["manual"]][-1]
        emu.patch(target["id"], {"distance": round(target["distance"] * 0.75, 1),
                                 "moving_time": target["moving_time"] * 3 // 4,
                                 "elapsed_time": target["elapsed_time"] * 3 // 4})
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        report = r.json()
        self.assertEqual((report["changed"], report["details"], report["streams"]), (1, 1, 1), report)
        self.assertCacheMatches(sb, emu, streams_sample=12, skip=GEAR_TOTALS)

    def test_activity_moved_out_of_the_window_is_not_lost(self):
        # Beyond the brief: Strava lets people correct an activity's start
        # time. One moved from inside the lookback window to before it is no
        # longer listed by the incremental sync, but it still exists: the
        # cache must not drop it (with its details and streams) until --full.
        emu, sb = self.synced(30, seed=22)
        acts = by_start(emu)
        moved = acts[-2]
        newest = parse_iso(acts[-1]["start_date"])
        emu.patch(moved["id"], {"start_date": iso(newest - 20 * DAY)})
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertIn(moved["id"], sb.activity_ids(), "an activity that still exists on Strava was deleted: %s"
                      % r.json())

    def test_full_refuses_to_wipe_the_cache_on_an_empty_listing(self):
        emu, sb = self.synced(15, seed=4)
        count = sb.scalar("SELECT count(*) FROM activities")
        samples = sb.scalar("SELECT count(*) FROM streams")
        self.assertEqual(count, 15)
        for a in emu.activities("summary"):
            emu.delete(a["id"])
        r = sb.run("sync", "--full")
        self.assertExit(r, 1, "refusing", "listed no activities")
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), count)
        self.assertEqual(sb.scalar("SELECT count(*) FROM streams"), samples)
        self.assertIntegrity(sb)
        status = sb.run("status", "--json")
        self.assertExit(status, 0)
        self.assertIn("refusing", status.json()["last_error"]["message"])
        self.assertEqual(status.json()["activities"], count)
        # Refused again on the next try: nothing was half-applied.
        r = sb.run("sync", "--full")
        self.assertExit(r, 1, "refusing")
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities"), count)

    def test_backfill_since_until_stores_only_that_range(self):
        emu = self.emulator(60, seed=31)
        sb = self.sandbox(emu)
        sb.authorize()
        acts = by_start(emu)
        since = acts[10]["start_date"][:10]
        until = acts[30]["start_date"][:10]
        lo = parse_iso(since + "T00:00:00Z")
        hi = parse_iso(until + "T00:00:00Z") + DAY  # --until includes its whole day
        expected = {a["id"] for a in acts if lo <= parse_iso(a["start_date"]) < hi}
        self.assertTrue(20 <= len(expected) < 30, len(expected))

        r = sb.run("sync", "--since", since, "--until", until, "--json")
        self.assertExit(r, 0)
        report = r.json()
        self.assertEqual((report["mode"], report["listed"], report["added"], report["details"]),
                         ("backfill", len(expected), len(expected), len(expected)), report)
        self.assertEqual(sb.activity_ids(), expected)
        self.assertCacheMatches(sb, emu, ids=expected)
        status = sb.run("status", "--json").json()
        self.assertFalse(status["history_complete"])
        self.assertEqual(status["activities"], len(expected))

        # --since alone: from that day on.
        since2 = acts[50]["start_date"][:10]
        lo2 = parse_iso(since2 + "T00:00:00Z")
        r = sb.run("sync", "--since", since2)
        self.assertExit(r, 0)
        expected |= {a["id"] for a in acts if parse_iso(a["start_date"]) >= lo2}
        self.assertEqual(sb.activity_ids(), expected)

        # A plain sync then completes the history.
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["mode"], "history")
        self.assertCacheMatches(sb, emu)

    def test_short_pages_before_the_end_do_not_end_the_listing(self):
        # Every 7th activity is hidden: Strava cuts the page first and drops
        # them after, so every page is short and only an empty one ends it.
        emu = self.emulator(450, seed=7, args=["--hidden-every", "7"])
        sb = self.sandbox(emu, {"sync": {"details": "no", "streams": ""}})
        sb.authorize()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        report = r.json()
        self.assertEqual((report["list_requests"], report["pages"], report["listed"]),
                         (4, 3, 450 - 450 // 7), report)
        self.assertCacheMatches(sb, emu, detail=False)
        # And the incremental sync still costs one request.
        before = emu.counters()["total"]
        self.assertExit(sb.run("sync"), 0)
        self.assertEqual(emu.counters()["total"] - before, 1)

    def test_details_and_streams_off_fetch_summaries_only(self):
        emu = self.emulator(12, seed=5)
        sb = self.sandbox(emu, {"sync": {"details": "no", "streams": ""}})
        sb.authorize()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        c = emu.counters()["by_endpoint"]
        self.assertEqual((c["list"], c["activity"], c["streams"], c["laps"]), (2, 0, 0, 0), c)
        self.assertEqual(r.json()["deep_pending"], 0)
        self.assertCacheMatches(sb, emu, detail=False)
        self.assertEqual(sb.scalar("SELECT count(*) FROM streams") + sb.scalar("SELECT count(*) FROM laps"), 0)
        self.assertEqual(sb.run("status", "--json").json()["pending_details_and_streams"], 0)

    def test_streams_config_selects_the_stream_types(self):
        emu = self.emulator(8, seed=6)
        sb = self.sandbox(emu, {"sync": {"details": "no", "streams": "time,heartrate,latlng"}})
        sb.authorize()
        self.assertExit(sb.run("sync"), 0)
        queries = [q["query"] for q in emu.request_log() if q["path"].endswith("/streams")]
        self.assertEqual(len(queries), 8)
        for q in queries:
            self.assertIn("keys=time%2Cheartrate%2Clatlng", q)
            self.assertIn("key_by_type=true", q)
        with_gps = [a for a in emu.activities() if not a["manual"] and a["start_latlng"]]
        self.assertTrue(with_gps)
        for a in with_gps:
            status, body = emu.streams(a["id"], ["time", "heartrate", "latlng"])
            rows = sb.query("SELECT time, lat, lng, heartrate, distance, altitude, velocity, cadence, watts, temp, "
                            "moving, grade FROM streams WHERE activity_id=? ORDER BY seq", (a["id"],))
            self.assertEqual(len(rows), len(body["time"]["data"]))
            self.assertEqual([r[0] for r in rows], body["time"]["data"])
            self.assertEqual([[r[1], r[2]] for r in rows], body["latlng"]["data"])
            self.assertEqual({r[4:] for r in rows}, {(None,) * 8})

    def test_bad_backfill_dates_are_usage_errors(self):
        emu = self.emulator(5, seed=1)
        sb = self.sandbox(emu)
        r = sb.run("sync", "--since", "May 1st")
        self.assertExit(r, 2, "--since takes a date like 2024-05-01")
        r = sb.run("sync", "--since", "2024-05-02", "--until", "2024-05-01")
        self.assertExit(r, 2, "--since must come before --until")
        r = sb.run("sync", "--since", "2024-05-01", "--full")
        self.assertExit(r, 2, "--full lists everything")
        r = sb.run("sync", "--frobnicate")
        self.assertExit(r, 2, "unknown option --frobnicate")
        self.assertFalse(os.path.exists(sb.cache_path))

    def test_full_then_since_is_a_usage_error_too(self):
        # The order of the options must not matter: `--full --since D` is
        # the same contradiction as `--since D --full`.
        emu = self.emulator(5, seed=1)
        sb = self.sandbox(emu)
        sb.authorize()
        r = sb.run("sync", "--full", "--since", "2024-05-01")
        self.assertExit(r, 2, "--full lists everything")
        r = sb.run("sync", "--full", "--until", "2024-05-01")
        self.assertExit(r, 2, "--full lists everything")


if __name__ == "__main__":
    main()
