"""The mount of a cache of several athletes (issue 17, mount.stravafs(8)): a
root of everyone's activities.csv, stats/ (with the views' athlete_id) and
one folder per athlete, each with the layout of one athlete over their own
activities (athlete.json, activities.csv, stats/ of their rows without
athlete_id, by-id links that resolve inside the folder, YYYY/MM); the
folder names (the naming rule, "_<id>" for a name two athletes share); the
live switch from one layout to the other when a second athlete is synced in
and purged again, with the daemon's notice lines; a folder renamed when
Strava's name of the athlete changes. Each athlete's stats/ is checked
against the root's and against totals added up from the emulator's
activities. Checked through os.* calls and find(1).

Needs $MOUNT_STRAVAFS besides $STRAVAFS and $STRAVA_EMULATOR (meson sets all
three) and /dev/fuse. By hand:

    MOUNT_STRAVAFS=BUILD/fuse/mount.stravafs STRAVAFS=BUILD/src/stravafs \\
        STRAVA_EMULATOR=BUILD/tests/emulator/strava-emulator /usr/bin/python3 tests/integration/test_mount_athletes.py
"""

import collections
import csv
import datetime
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import MountCase, main, wait_until  # noqa: E402

NO_REFRESH = ["-o", "refresh=0"]  # no background sync of its own: only what the test syncs shows
SWITCH = 5  # seconds: "within a few seconds" (the daemon polls the cache every 250 ms)
SINGLE_TOP = ["activities.csv", "athlete.json", "by-id", "stats"]  # the root of one athlete, years aside
STATS_FILES = sorted(["activity_facts.csv", "weekly_totals.csv", "monthly_totals.csv", "yearly_totals.csv",
                      "training_90d.csv", "zone_time.csv", "hr_zones.csv", "power_zones.csv", "best_efforts.csv",
                      "personal_records.csv", "weekly_distance.svg", "calendar.svg"])
SEVERAL = "the cache now holds several athletes: the root shows a folder per athlete"
ONE = "the cache now holds one athlete: the root shows their activities"
FIRST_ID = 3141592653  # the emulator's default --athlete-id
# An activity's JSON file: YYYY-MM-DD_HHMM_<title>_<id>.json (src/format/names.h).
ACTIVITY_JSON = re.compile(r"(\d{4})-(\d\d)-(\d\d)_(\d\d)(\d\d)_.+_(\d+)\.json")


def safe_title(text):
    """Steps 3-5 of the naming rule (the emulator's athlete names need no other)."""
    text = re.sub(r'[\x00-\x1f\x7f-\x9f\s/\\:*?"<>|]', "-", text)
    return re.sub("-+", "-", text).strip("-.")


def folder_names(names):
    """{athlete: folder} for {athlete: "<firstname> <lastname>"}: the safe name
    or the id, with "_<id>" for a name two share or that is another entry of
    the root."""
    titles = {a: safe_title(n) or str(a) for a, n in names.items()}
    uses = collections.Counter(list(titles.values()) + ["activities.csv", "stats"])
    return {a: t + ("_%d" % a if uses[t] > 1 else "") for a, t in titles.items()}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def csv_rows(path):
    """(header, rows as dicts) of an activities.csv."""
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


def csv_table(path):
    """Every line of a CSV file, the header first, as lists of fields."""
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
        return list(csv.reader(f))


def calendar_activities(path):
    """The activities a calendar.svg counts, from its days' tooltips."""
    with open(path, encoding="utf-8") as f:
        return sum(int(n) for n in re.findall(r"<title>\d{4}-\d\d-\d\d: (\d+) activit", f.read()))


def local_of(a):
    """(YYYY, MM, "YYYY-MM-DD_HHMM") of an emulator activity's local start."""
    s = a["start_date_local"]
    return s[:4], s[5:7], "%s_%s%s" % (s[:10], s[11:13], s[14:16])


class MountAthletes(MountCase):
    def acts_of(self, emu, athlete):
        """{id: summary} of an athlete's activities on the emulator."""
        return {a["id"]: a for a in emu.activities("summary", athlete=athlete)}

    def csv_ids(self, path, athlete=None):
        """The ids of an activities.csv, each once; with `athlete`, every row is theirs."""
        _, rows = csv_rows(path)
        ids = [int(r["id"]) for r in rows]
        self.assertEqual(len(ids), len(set(ids)), "an id twice in %s" % path)
        if athlete is not None:
            self.assertEqual({r["athlete_id"] for r in rows}, {str(athlete)} if rows else set(), path)
        return set(ids)

    def assertLayout(self, top, athlete, acts, header):
        """`top` holds the layout of one athlete over exactly `acts` ({id:
        summary}): athlete.json, activities.csv (columns `header`), by-id
        links resolving inside `top`, YYYY/activities.csv and YYYY/MM with
        activities.csv and the activities' files. Returns {id: path of its
        JSON relative to top}."""
        places = {aid: local_of(a) for aid, a in acts.items()}
        years = sorted({y for y, _, _ in places.values()})
        self.assertEqual(sorted(os.listdir(top)), sorted(SINGLE_TOP + years), top)
        self.assertEqual(sorted(os.listdir(os.path.join(top, "stats"))), STATS_FILES, top)
        with open(os.path.join(top, "athlete.json")) as f:
            self.assertEqual(json.load(f)["id"], athlete, top)
        self.assertEqual(csv_rows(os.path.join(top, "activities.csv"))[0], header)
        self.assertEqual(self.csv_ids(os.path.join(top, "activities.csv"), athlete), set(acts), top)

        # find(1) by hand: every activity JSON under YYYY/MM, and nothing else there.
        found = {}
        for y in years:
            months = sorted({m for yy, m, _ in places.values() if yy == y})
            self.assertEqual(sorted(os.listdir(os.path.join(top, y))), sorted(["activities.csv"] + months))
            self.assertEqual(self.csv_ids(os.path.join(top, y, "activities.csv"), athlete),
                             {aid for aid, p in places.items() if p[0] == y}, "%s/%s" % (top, y))
            for m in months:
                folder = os.path.join(top, y, m)
                self.assertEqual(self.csv_ids(os.path.join(folder, "activities.csv"), athlete),
                                 {aid for aid, p in places.items() if p[:2] == (y, m)}, folder)
                for name in os.listdir(folder):
                    if not name.endswith(".json"):
                        continue
                    match = ACTIVITY_JSON.fullmatch(name)
                    self.assertIsNotNone(match, "%s/%s" % (folder, name))
                    aid = int(match.group(6))
                    self.assertNotIn(aid, found)
                    found[aid] = "%s/%s/%s" % (y, m, name)
                    self.assertIn(aid, places, "%s/%s is not this athlete's" % (folder, name))
                    self.assertEqual((y, m, "%s-%s-%s_%s%s" % match.group(1, 2, 3, 4, 5)), places[aid], name)
        self.assertEqual(set(found), set(acts), "the activity JSONs under %s" % top)

        # by-id: a link per activity, relative, resolving to its JSON inside top.
        by_id = os.path.join(top, "by-id")
        self.assertEqual(sorted(os.listdir(by_id)), sorted("%d.json" % aid for aid in acts))
        for aid in acts:
            link = os.path.join(by_id, "%d.json" % aid)
            self.assertEqual(os.readlink(link), "../" + found[aid], link)
            self.assertEqual(os.path.realpath(link), os.path.join(os.path.realpath(top), found[aid]))
            with open(link) as f:
                j = json.load(f)
            self.assertEqual((j["id"], j["athlete"]["id"]), (aid, athlete), link)
        return found

    def assertStats(self, m, top, athlete, acts):
        """`top`/stats holds `athlete`'s analytics over exactly `acts` ({id:
        summary}): the root's files' names; each CSV their rows of the root's
        (which has athlete_id first), without athlete_id; yearly_totals.csv
        their totals per year as the emulator's activities add up; the
        calendar their activities of its 53 weeks."""
        root, theirs = os.path.join(m.path, "stats"), os.path.join(top, "stats")
        self.assertEqual(sorted(os.listdir(theirs)), sorted(os.listdir(root)))
        for name in STATS_FILES:
            if not name.endswith(".csv"):
                continue
            everyone, table = csv_table(os.path.join(root, name)), csv_table(os.path.join(theirs, name))
            self.assertEqual(everyone[0][0], "athlete_id", name)
            self.assertNotIn("athlete_id", table[0], name)
            self.assertEqual(table, [everyone[0][1:]] + [r[1:] for r in everyone[1:] if r[0] == str(athlete)],
                             "%s of %d" % (name, athlete))
            self.assertEqual(os.stat(os.path.join(theirs, name)).st_size, len(read(os.path.join(theirs, name))))

        header, *rows = csv_table(os.path.join(theirs, "yearly_totals.csv"))
        self.assertEqual(header[:3], ["year", "sport_group", "activities"])
        got = collections.defaultdict(lambda: [0, 0.0])
        for r in rows:
            row = dict(zip(header, r))
            got[row["year"]][0] += int(row["activities"])
            got[row["year"]][1] += float(row["distance_km"])
        want = collections.defaultdict(lambda: [0, 0.0])
        for a in acts.values():
            want[local_of(a)[0]][0] += 1
            want[local_of(a)[0]][1] += a["distance"] / 1000
        self.assertEqual({y: n for y, (n, _) in got.items()}, {y: n for y, (n, _) in want.items()}, top)
        for y, (_, km) in want.items():
            self.assertAlmostEqual(got[y][1], km, places=6, msg="%s %s" % (top, y))

        # The calendar's 53 weeks end on the Sunday of the athlete's newest activity.
        days = sorted(a["start_date_local"][:10] for a in acts.values())
        newest = datetime.date.fromisoformat(days[-1])
        first = newest - datetime.timedelta(days=newest.weekday() + 52 * 7)
        self.assertEqual(calendar_activities(os.path.join(theirs, "calendar.svg")),
                         sum(1 for d in days if d >= first.isoformat()), top)

    def mounted_root(self, m):
        return sorted(os.listdir(m.path))

    def settle(self, m, sb, root, what):
        """Waits until the root lists `root` and its activities.csv has the
        cache's rows (id, athlete, detail level): the mount has caught up
        with the last change a command made, not only with its first."""
        want = {tuple(str(v) for v in r) for r in sb.query("SELECT id, athlete_id, detail_level FROM activities")}

        def caught_up():
            if self.mounted_root(m) != sorted(root):
                return False
            _, rows = csv_rows(os.path.join(m.path, "activities.csv"))
            return {(r["id"], r["athlete_id"], r["detail_level"]) for r in rows} == want
        wait_until(caught_up, SWITCH, what)

    def add(self, emu, athlete, *starts):
        """Activities of `athlete` starting at `starts` (UTC, ISO): the
        generated ones are all in the last days before --end."""
        for k, start in enumerate(starts):
            emu.create({"name": "Run %d of %d" % (k, athlete), "sport_type": "Run", "start_date": start,
                        "timezone": "Europe/Berlin"}, athlete=athlete)

    # ------------------------------------------------------------------ tests
    def test_three_athletes_each_in_their_own_folder_under_everyones_csv_and_stats(self):
        emu = self.emulator("5,3,2", seed=181)
        athletes = emu.athletes
        self.assertEqual(len(athletes), 3)
        # A month two athletes share, and a year only the third has.
        self.add(emu, athletes[0], "2021-02-03T07:00:00Z", "2021-02-20T07:00:00Z")
        self.add(emu, athletes[1], "2021-02-10T18:00:00Z")
        self.add(emu, athletes[2], "2017-12-31T22:30:00Z")
        sb = self.sandbox(emu)
        for a in athletes:
            self.grant(sb, emu, a)
        self.assertExit(sb.run("sync"), 0)
        acts = {a: self.acts_of(emu, a) for a in athletes}
        self.assertEqual([len(acts[a]) for a in athletes], [7, 4, 3])
        folders = folder_names({a: self.name_of(emu, a) for a in athletes})
        self.assertEqual(folders, {athletes[0]: "Zoë-Ångström-O'Brien", athletes[1]: "Malik-Haddad",
                                   athletes[2]: "Ines-García-Núñez"})

        m = self.mount(sb, options=NO_REFRESH)
        self.assertEqual(self.mounted_root(m), sorted(["activities.csv", "stats"] + list(folders.values())))
        for gone in ("athlete.json", "by-id", "2026", "2021", "2017"):
            self.assertFalse(os.path.lexists(os.path.join(m.path, gone)), gone)
        with self.assertRaises(FileNotFoundError):
            open(os.path.join(m.path, "athlete.json"))

        # The root's activities.csv: everyone's rows, each with its athlete.
        header, rows = csv_rows(os.path.join(m.path, "activities.csv"))
        self.assertEqual(header[:2], ["id", "athlete_id"])
        self.assertEqual(sorted((int(r["id"]), int(r["athlete_id"])) for r in rows),
                         sorted((aid, a) for a in athletes for aid in acts[a]))
        # stats/ over everyone: activity_facts has a row for each activity, with its athlete.
        self.assertEqual(sorted(os.listdir(os.path.join(m.path, "stats"))), STATS_FILES)
        facts_header, facts = csv_rows(os.path.join(m.path, "stats", "activity_facts.csv"))
        self.assertEqual(facts_header[:2], ["athlete_id", "id"])
        self.assertEqual(sorted((int(r["id"]), int(r["athlete_id"])) for r in facts),
                         sorted((aid, a) for a in athletes for aid in acts[a]))

        files = {}
        for a in athletes:
            top = os.path.join(m.path, folders[a])
            files[a] = self.assertLayout(top, a, acts[a], header)
            self.assertStats(m, top, a, acts[a])

        # find(1): every stats/ file of the mount, its size what it reads.
        p = subprocess.run(["find", m.path, "-path", "*/stats/*", "-type", "f", "-printf", "%s %P\\n"],
                           capture_output=True, timeout=120)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        sizes = {rel: int(size) for size, rel in (line.split(" ", 1) for line in os.fsdecode(p.stdout).splitlines())}
        self.assertEqual(set(sizes), {os.path.join(top, "stats", name)
                                      for top in [""] + list(folders.values()) for name in STATS_FILES})
        for rel, size in sizes.items():
            self.assertEqual(len(read(os.path.join(m.path, rel))), size, rel)

        # find(1): the regular .json files of the whole mount are the three
        # athlete.json and each activity's, in its athlete's folder.
        p = subprocess.run(["find", m.path, "-type", "f", "-name", "*.json"], capture_output=True, timeout=120)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        want = {os.path.join(m.path, folders[a], "athlete.json") for a in athletes}
        want |= {os.path.join(m.path, folders[a], rel) for a in athletes for rel in files[a].values()}
        self.assertEqual(set(os.fsdecode(line) for line in p.stdout.splitlines()), want)
        self.assertNotIn("the cache now holds", m.stderr())  # mounted with three: no switch

    def test_a_second_athlete_synced_in_and_purged_switches_the_root_live(self):
        emu = self.emulator("4,3", seed=182)
        ann, bob = emu.athletes
        # Ann has 2019 and 2026; Bob 2018 (a year of his only), 2019 and 2026.
        self.add(emu, ann, "2019-06-01T06:00:00Z")
        self.add(emu, bob, "2018-03-04T09:00:00Z", "2019-06-02T06:00:00Z")
        sb = self.sandbox(emu)
        self.grant(sb, emu, ann)
        self.assertExit(sb.run("sync"), 0)
        ann_acts, bob_acts = self.acts_of(emu, ann), self.acts_of(emu, bob)
        self.assertEqual((len(ann_acts), len(bob_acts)), (5, 5))
        years = sorted({local_of(a)[0] for a in ann_acts.values()})
        self.assertEqual(years, ["2019", "2026"])
        m = self.mount(sb, options=NO_REFRESH)

        # One athlete: the layout of one athlete at the root.
        self.assertEqual(self.mounted_root(m), sorted(SINGLE_TOP + years))
        header = csv_rows(os.path.join(m.path, "activities.csv"))[0]
        single = {rel: read(os.path.join(m.path, rel)) for rel in ["athlete.json", "activities.csv"] +
                  ["%s/activities.csv" % y for y in years] + ["stats/" + name for name in STATS_FILES]}
        self.assertEqual(csv_table(os.path.join(m.path, "stats", "activity_facts.csv"))[0][0], "id")
        with open(os.path.join(m.path, "athlete.json")) as f:
            self.assertEqual(json.load(f)["id"], ann)
        ann_files = {aid: os.readlink(os.path.join(m.path, "by-id", "%d.json" % aid))[3:] for aid in ann_acts}
        for aid, rel in ann_files.items():
            single[rel] = read(os.path.join(m.path, rel))
        self.assertEqual(sorted(os.listdir(os.path.join(m.path, "by-id"))), sorted("%d.json" % i for i in ann_acts))

        # Bob is granted and synced while it is mounted: a folder each.
        self.grant(sb, emu, bob)
        self.assertExit(sb.run("sync"), 0)
        folders = folder_names({ann: self.name_of(emu, ann), bob: self.name_of(emu, bob)})
        several = sorted(["activities.csv", "stats"] + list(folders.values()))
        self.settle(m, sb, several, "the root to show a folder per athlete")
        for rel in ["athlete.json", "by-id", "by-id/%d.json" % min(ann_acts), "2018"] + years + \
                list(ann_files.values()):
            self.assertFalse(os.path.lexists(os.path.join(m.path, rel)), rel)
        with self.assertRaises(FileNotFoundError):
            os.stat(os.path.join(m.path, years[0]))
        ann_top, bob_top = (os.path.join(m.path, folders[a]) for a in (ann, bob))
        self.assertEqual(self.assertLayout(ann_top, ann, ann_acts, header), ann_files)
        self.assertLayout(bob_top, bob, bob_acts, header)
        self.assertStats(m, ann_top, ann, ann_acts)
        self.assertStats(m, bob_top, bob, bob_acts)
        self.assertEqual(sorted(os.listdir(bob_top)),
                         ["2018", "2019", "2026", "activities.csv", "athlete.json", "by-id", "stats"])
        # Ann's files are the same bytes in her folder as they were at the
        # root, her stats/ too (her rows, her charts).
        for rel, data in single.items():
            self.assertEqual(read(os.path.join(ann_top, rel)), data, rel)
        self.assertEqual(self.csv_ids(os.path.join(m.path, "activities.csv")), set(ann_acts) | set(bob_acts))
        wait_until(lambda: SEVERAL in m.stderr(), SWITCH, "the daemon's notice of the switch")
        self.assertEqual(m.stderr().count(SEVERAL), 1, m.stderr())
        self.assertNotIn(ONE, m.stderr())

        # Bob purged: the root of one athlete again, the same bytes as before,
        # stats/ without athlete_id.
        self.assertExit(sb.run("auth", "--remove", str(bob), "--purge"), 0,
                        "purged athlete %d from %s: %d activities deleted" % (bob, sb.cache_path, len(bob_acts)))
        self.settle(m, sb, SINGLE_TOP + years, "the root to show the one athlete's activities again")
        for name in folders.values():
            self.assertFalse(os.path.lexists(os.path.join(m.path, name)), name)
        for rel, data in single.items():
            self.assertEqual(read(os.path.join(m.path, rel)), data, rel)
        self.assertEqual(sorted(os.listdir(os.path.join(m.path, "by-id"))), sorted("%d.json" % i for i in ann_acts))
        for aid, rel in ann_files.items():
            link = os.path.join(m.path, "by-id", "%d.json" % aid)
            self.assertEqual(os.path.realpath(link), os.path.join(m.path, rel))
        wait_until(lambda: ONE in m.stderr(), SWITCH, "the daemon's notice of the switch back")
        lines = [line for line in m.stderr().splitlines() if "the cache now holds" in line]
        self.assertEqual(lines, ["mount.stravafs: " + SEVERAL, "mount.stravafs: " + ONE])

    def test_a_name_changed_at_strava_renames_the_folder_and_a_shared_name_gets_the_ids(self):
        # The emulator cannot rename an athlete, so a second emulator plays
        # Strava after the change: it serves Malik's id under Zoë's name
        # (its first athlete, --athlete-id Malik's), with other activities.
        # A sync --full asks Strava for the athlete again.
        emu = self.emulator("3,2", seed=183)
        zoe, malik = emu.athletes
        self.assertEqual((zoe, malik), (FIRST_ID, FIRST_ID + 1))
        later = self.emulator(2, seed=184, args=["--athlete-id", str(malik)])
        self.assertEqual(later.athletes, [malik])
        acts = {zoe: self.acts_of(emu, zoe), malik: self.acts_of(emu, malik)}
        renamed_acts = self.acts_of(later, malik)
        self.assertFalse(set(renamed_acts) & set(acts[zoe]), "the seeds must give other activity ids")
        sb = self.sandbox(emu)
        for a in (zoe, malik):
            self.grant(sb, emu, a)
        self.assertExit(sb.run("sync"), 0)
        names = {zoe: self.name_of(emu, zoe), malik: self.name_of(emu, malik)}
        self.assertEqual(names, {zoe: "Zoë Ångström-O'Brien", malik: "Malik Haddad"})
        self.assertEqual(self.name_of(later, malik), names[zoe])
        m = self.mount(sb, options=NO_REFRESH)
        header = csv_rows(os.path.join(m.path, "activities.csv"))[0]
        before = folder_names(names)
        self.assertEqual(before, {zoe: "Zoë-Ångström-O'Brien", malik: "Malik-Haddad"})
        self.assertEqual(self.mounted_root(m), sorted(["activities.csv", "stats"] + list(before.values())))

        # Malik is Zoë Ångström-O'Brien now: two athletes of one name, each
        # folder "_<id>".
        sb.emulator = later
        sb.write_config()
        self.grant(sb, later, malik)
        self.assertExit(sb.run("sync", "--full", "--athlete", str(malik)), 0)
        self.assertEqual(sb.query("SELECT id, firstname, lastname FROM athletes ORDER BY id"),
                         [(zoe, "Zoë", "Ångström-O'Brien"), (malik, "Zoë", "Ångström-O'Brien")])
        after = folder_names({zoe: names[zoe], malik: names[zoe]})
        self.assertEqual(after, {zoe: "Zoë-Ångström-O'Brien_%d" % zoe, malik: "Zoë-Ångström-O'Brien_%d" % malik})
        self.settle(m, sb, ["activities.csv", "stats"] + list(after.values()), "the folders to be renamed")
        for name in before.values():
            self.assertFalse(os.path.lexists(os.path.join(m.path, name)), name)
        self.assertLayout(os.path.join(m.path, after[zoe]), zoe, acts[zoe], header)
        self.assertLayout(os.path.join(m.path, after[malik]), malik, renamed_acts, header)
        with open(os.path.join(m.path, after[malik], "athlete.json")) as f:
            profile = json.load(f)
        self.assertEqual((profile["id"], profile["firstname"], profile["lastname"]),
                         (malik, "Zoë", "Ångström-O'Brien"))

        # And back: Malik Haddad again, and Zoë's folder loses its "_<id>".
        sb.emulator = emu
        sb.write_config()
        self.grant(sb, emu, malik)
        self.assertExit(sb.run("sync", "--full", "--athlete", str(malik)), 0)
        self.settle(m, sb, ["activities.csv", "stats"] + list(before.values()),
                    "the folders to get their first names back")
        for name in after.values():
            self.assertFalse(os.path.lexists(os.path.join(m.path, name)), name)
        self.assertLayout(os.path.join(m.path, before[zoe]), zoe, acts[zoe], header)
        self.assertLayout(os.path.join(m.path, before[malik]), malik, acts[malik], header)
        self.assertNotIn("the cache now holds", m.stderr())  # several athletes all along: no switch


if __name__ == "__main__":
    main()
