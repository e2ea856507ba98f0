"""kill -9 at random moments of a first sync of 2,000 activities: after every
kill the cache is intact and holds whole pages only; then one more sync
completes and the cache equals the emulator.

The kills are aimed by what the cache shows, not by wall-clock chance alone
(a slower build, such as the sanitizer one, would miss a phase): some land
once the listing has stored a page, some once the listing is complete (the
deep phase), and the rest at a random moment."""

import json
import os
import random
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import PER_PAGE, TestCase, main  # noqa: E402

N = 2000
# What each trial's kill waits for (see wait_for).
PLAN = ["listing", "random", "deep", "random", "listing", "deep", "random", "deep", "random", "listing"]


class Crash(TestCase):
    def check_after_kill(self, sb, trial):
        if not os.path.exists(sb.cache_path):
            return None
        self.assertIntegrity(sb)
        state = dict(sb.query("SELECT key, value FROM sync_state"))
        count = sb.scalar("SELECT count(*) FROM activities")
        if "history_complete" not in state:
            # The history listing is running: whole pages only.
            self.assertEqual(count % PER_PAGE, 0, "trial %d: %d activities is not whole pages (state %s)" % (
                trial, count, state))
            if count:
                self.assertIn("job", state)
                job = json.loads(state["job"])
                self.assertEqual(job["kind"], "history")
                self.assertGreaterEqual(job["page"] - 1, count // PER_PAGE)
        else:
            self.assertEqual(count, N, "trial %d" % trial)
            self.assertNotIn("job", state)
        # The deep phase commits each detail and each activity's streams whole.
        self.assertEqual(sb.query(
            "SELECT count(*) FROM activities a JOIN activity_sync s USING(id) "
            "WHERE (s.detail_state = 1) != (a.detail_level = 3)"), [(0,)], "trial %d" % trial)
        self.assertEqual(sb.query(
            "SELECT count(*) FROM activity_sync s WHERE s.streams_state <> 1 AND "
            "EXISTS (SELECT 1 FROM streams WHERE activity_id = s.id)"), [(0,)], "trial %d" % trial)
        self.assertEqual(sb.scalar("SELECT count(*) FROM activities WHERE id NOT IN (SELECT id FROM activity_sync)"),
                         0)
        return count

    @staticmethod
    def phase(sb):
        """"listing" once the history listing has stored a page and is not
        complete, "deep" once it is complete, None before (or while the
        cache cannot be read yet)."""
        try:
            conn = sqlite3.connect("file:%s?mode=ro" % sb.cache_path, uri=True, timeout=1)
            try:
                if conn.execute("SELECT 1 FROM sync_state WHERE key = 'history_complete'").fetchone():
                    return "deep"
                if conn.execute("SELECT 1 FROM activities LIMIT 1").fetchone():
                    return "listing"
            finally:
                conn.close()
        except sqlite3.Error:
            pass
        return None

    def wait_for(self, sb, p, aim, rnd):
        """Returns when trial's sync `p` should be killed: at a random moment
        ("random"), or soon after the cache shows the phase `aim`."""
        if aim == "random":
            time.sleep(rnd.uniform(0.2, 2.5))
            return
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline:
            if self.phase(sb) == aim:
                break
            time.sleep(0.02)
        # Inside the phase, still at a random point of it (list pages take
        # 500 ms each here).
        time.sleep(rnd.uniform(0, 0.4))

    def test_kill_9_at_random_moments_of_a_first_sync(self):
        emu = self.emulator(N, seed=70, args=["--samples", "50"])
        sb = self.sandbox(emu)
        sb.authorize()
        # Slow list pages so that the kills land inside the history listing
        # as well as in the deep phase after it.
        emu.faults([{"match": "/athlete/activities", "kind": "slow", "count": -1, "delay_ms": 500}])
        rnd = random.Random(20261123)
        counts, outputs = [], []
        for trial, aim in enumerate(PLAN):
            p = self.start(sb, "sync")
            self.wait_for(sb, p, aim, rnd)
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
            r = sb.finish(p)
            outputs.append(r.err)
            self.assertIn(r.rc, (-signal.SIGKILL, 0), r)
            counts.append(self.check_after_kill(sb, trial))
        # The kills spread over the listing and the deep phase.
        self.assertTrue(any(c is not None and 0 < c < N for c in counts), counts)
        self.assertIn(N, counts, "no kill landed after the listing: %s" % counts)
        self.assertTrue(any("resuming the interrupted history listing" in e for e in outputs), outputs)

        emu.clear_faults()
        r = sb.run("sync", "--json")
        self.assertExit(r, 0)
        self.assertEqual(r.json()["deep_pending"], 0)
        self.assertIntegrity(sb)
        self.assertCacheMatches(sb, emu, streams_sample=10, seed=3)
        status = sb.run("status", "--json").json()
        self.assertTrue(status["history_complete"])
        self.assertNotIn("interrupted_listing", status)
        self.assertEqual(status["pending_details_and_streams"], 0)


if __name__ == "__main__":
    main()
