// Tests for import/importer.cc through RunImport on real files in a temp
// folder and a real cache: what an activity becomes, how files are matched,
// deduplicated and passed over, and how failures leave the rest imported.
#include "import/importer.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "cache/activity_store.h"
#include "cache/import_store.h"
#include "fake_transport.h"
#include "fit_writer.h"
#include "sql_helpers.h"
#include "upsert_summary.h"

namespace stravafs::import {
namespace {

using stravafs::testing::TempDir;

void Write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// A run of 60 one-second records from `start`, 3 m/s north from 52N 13E.
std::string Fit(int64_t start, std::optional<int32_t> utc_offset = std::nullopt,
                uint8_t sport = emu::fit::sport::kRunning) {
  emu::fit::Activity a;
  a.start = start;
  a.utc_offset = utc_offset;
  a.sport = sport;
  for (int i = 0; i < 60; ++i) {
    emu::fit::Record r;
    r.timestamp = start + i;
    r.lat = 52.0 + i * 3 / 111194.9;
    r.lng = 13.0;
    r.altitude = 40 + i * 0.2;
    r.distance = i * 3.0;
    r.speed = 3.0;
    r.heartrate = 120 + i % 20;
    a.records.push_back(r);
  }
  return emu::fit::Write(a);
}

struct World {
  TempDir dir;
  std::unique_ptr<Cache> cache;
  ImportOptions options;
  World() {
    auto c = Cache::Open(dir.path() + "/cache.db", Cache::Mode::kReadWrite);
    REQUIRE(c.ok());
    cache = std::move(*c);
  }
  std::string Path(const std::string& name) const { return dir.path() + "/" + name; }
  ImportReport Import(const std::vector<std::string>& paths) {
    ImportReport r = RunImport(*cache, paths, options, nullptr);
    INFO(r.status.message());
    REQUIRE(r.status.ok());
    return r;
  }
  int64_t Int(const std::string& sql) { return testing::QueryInt(cache->db(), sql); }
  std::string Text(const std::string& sql) { return testing::QueryText(cache->db(), sql); }
};

TEST_CASE("a loose FIT file: a new activity with a content-derived id, read once", "[importer]") {
  World w;
  const std::string bytes = Fit(1715500800, 7200);  // 2024-05-12T08:00:00Z
  Write(w.Path("ride.fit"), bytes);
  ImportReport r = w.Import({w.Path("ride.fit")});
  CHECK(r.files == 1);
  CHECK(r.added == 1);
  const int64_t id = FileActivityId(Fingerprint(bytes));
  CHECK(id >= kFileIdBase);
  CHECK(id < 2 * kFileIdBase);
  CHECK(w.Int("SELECT id FROM activities") == id);
  CHECK(w.Text("SELECT start_date FROM activities") == "2024-05-12T08:00:00Z");
  CHECK(w.Text("SELECT start_date_local FROM activities") == "2024-05-12T10:00:00");  // the FIT's local time
  CHECK(w.Text("SELECT sport_type FROM activities") == "Run");
  CHECK(w.Text("SELECT name FROM activities") == "Morning Run");
  CHECK(w.Int("SELECT count(*) FROM streams") == 60);
  CHECK(w.Int("SELECT max(time) FROM streams") == 59);
  CHECK(w.Text("SELECT source FROM activity_sync") == "file");
  CHECK(w.Int("SELECT detail_state FROM activity_sync") == 1);
  CHECK(w.Int("SELECT streams_state FROM activity_sync") == 1);
  CHECK(w.Int("SELECT size FROM originals") == static_cast<int64_t>(bytes.size()));
  CHECK(w.Text("SELECT original_format FROM activity_sync") == "fit");

  // Again: passed over unread. Under another name (gzipped too): a duplicate.
  r = w.Import({w.Path("ride.fit")});
  CHECK(r.files == 0);
  CHECK(r.unchanged == 1);
  Write(w.Path("copy.fit"), bytes);
  r = w.Import({w.Path("copy.fit")});
  CHECK(r.duplicates == 1);
  CHECK(w.Int("SELECT count(*) FROM activities") == 1);
  CHECK(w.Int("SELECT count(*) FROM import_files WHERE outcome='duplicate'") == 1);
}

TEST_CASE("a device file attaches to an activity synced from the API and changes none of its data", "[importer]") {
  World w;
  Json api = {{"id", 11000000001},
              {"resource_state", 2},
              {"name", "Lunch Run with Ana"},
              {"sport_type", "TrailRun"},
              {"type", "Run"},
              {"start_date", "2024-05-12T08:00:30Z"},
              {"start_date_local", "2024-05-12T10:00:30Z"},
              {"timezone", "(GMT+01:00) Europe/Berlin"},
              {"utc_offset", 7200.0},
              {"distance", 181.0},
              {"moving_time", 59},
              {"elapsed_time", 59}};
  REQUIRE(UpsertSummary(*w.cache, api, 1).ok());
  const std::string json_before = w.Text("SELECT json FROM activities");
  REQUIRE(std::filesystem::create_directories(w.Path("watch")));
  Write(w.Path("watch/watch.fit"), Fit(1715500800, 7200));
  ImportReport r = w.Import({w.Path("watch")});
  CHECK(r.attached == 1);
  CHECK(r.added == 0);
  CHECK(w.Int("SELECT count(*) FROM activities") == 1);
  CHECK(w.Text("SELECT json FROM activities") == json_before);
  CHECK(w.Int("SELECT count(*) FROM streams WHERE activity_id=11000000001") == 60);
  CHECK(w.Int("SELECT count(*) FROM originals WHERE activity_id=11000000001") == 1);
  CHECK(w.Int("SELECT source IS NULL FROM activity_sync") == 1);

  // A ride at the same moment is another activity.
  Write(w.Path("bike.fit"), Fit(1715500810, 7200, emu::fit::sport::kCycling));
  r = w.Import({w.Path("bike.fit")});
  CHECK(r.added == 1);
}

TEST_CASE("an export: rows keep their ids, files give streams, a listing never deletes them", "[importer]") {
  World w;
  const std::string dir = w.Path("export");
  REQUIRE(std::filesystem::create_directories(dir + "/activities"));
  Write(dir + "/activities/555.fit", Fit(1715500800, 7200));
  Write(dir + "/activities/556.gpx", "<?xml version=\"1.0\"?><gpx");  // damaged
  Write(dir + "/activities.csv",
        "id,date,name,type,description,elapsed_time,distance,commute,gear,filename\n"
        "11000000001,2024-05-12 08:00:00,\"Run, \"\"fast\"\"\",Run,\"two\nlines\",59,180.5,false,,activities/555.fit\n"
        "11000000002,2024-05-13 08:00:00,Yoga,Yoga,,3600,0,false,,\n"
        "11000000003,2024-05-14 08:00:00,Broken,Ride,,600,5000,true,,activities/556.gpx\n");
  w.options.zone = *TimeZone::Load("Europe/Berlin");
  ImportReport r = w.Import({dir});
  CHECK(r.rows == 3);
  CHECK(r.added == 3);
  CHECK(r.failed == 1);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].first == dir + "/activities/556.gpx");
  CHECK(w.Text("SELECT name FROM activities WHERE id=11000000001") == "Run, \"fast\"");
  CHECK(w.Text("SELECT description FROM activities WHERE id=11000000001") == "two\nlines");
  CHECK(w.Int("SELECT count(*) FROM streams WHERE activity_id=11000000001") == 60);
  CHECK(w.Text("SELECT start_date_local FROM activities WHERE id=11000000001") == "2024-05-12T10:00:00");
  // The CSV's numbers (Strava's own) over the file's.
  CHECK(testing::QueryReal(w.cache->db(), "SELECT distance FROM activities WHERE id=11000000001") == 180.5);
  // A manual activity: no streams, ever; the zone's local time.
  CHECK(w.Int("SELECT manual FROM activities WHERE id=11000000002") == 1);
  CHECK(w.Int("SELECT streams_state FROM activity_sync WHERE id=11000000002") == 2);
  CHECK(w.Text("SELECT start_date_local FROM activities WHERE id=11000000002") == "2024-05-13T10:00:00");
  // The row whose file failed keeps its summary.
  CHECK(testing::QueryReal(w.cache->db(), "SELECT distance FROM activities WHERE id=11000000003") == 5000);
  CHECK(w.Int("SELECT commute FROM activities WHERE id=11000000003") == 1);
  CHECK(w.Int("SELECT count(*) FROM activity_sync WHERE source='export'") == 3);

  // A listing that holds none of them deletes none of them.
  auto gone = ActivityStore(*w.cache).IdsNotListedBy(0, 99, 2000000000);
  REQUIRE(gone.ok());
  CHECK(gone->empty());
  auto window = ActivityStore(*w.cache).IdsStartingBetween(0, 0, 2000000000);
  REQUIRE(window.ok());
  CHECK(window->empty());

  // A listing from the API updates the same row, keeping the imported streams.
  Json listed = {{"id", 11000000001},
                 {"resource_state", 2},
                 {"name", "Renamed on Strava"},
                 {"sport_type", "Run"},
                 {"start_date", "2024-05-12T08:00:00Z"},
                 {"start_date_local", "2024-05-12T10:00:00Z"},
                 {"distance", 180.5},
                 {"moving_time", 59},
                 {"elapsed_time", 59}};
  REQUIRE(UpsertSummary(*w.cache, listed, 100).ok());
  CHECK(w.Int("SELECT count(*) FROM activities") == 3);
  CHECK(w.Text("SELECT name FROM activities WHERE id=11000000001") == "Renamed on Strava");
  CHECK(w.Int("SELECT count(*) FROM streams WHERE activity_id=11000000001") == 60);

  // Again, after the broken file is fixed: only it is read.
  Write(dir + "/activities/556.gpx",
        "<?xml version=\"1.0\"?><gpx version=\"1.1\"><trk><trkseg>"
        "<trkpt lat=\"52\" lon=\"13\"><time>2024-05-14T08:00:00Z</time></trkpt>"
        "<trkpt lat=\"52.001\" lon=\"13\"><time>2024-05-14T08:00:10Z</time></trkpt></trkseg></trk></gpx>");
  r = w.Import({dir});
  CHECK(r.files == 1);
  CHECK(r.failed == 0);
  CHECK(w.Int("SELECT count(*) FROM streams WHERE activity_id=11000000003") == 2);
  CHECK(w.Int("SELECT count(*) FROM activities") == 3);
}

TEST_CASE("a folder scan names what it cannot read and imports the rest", "[importer]") {
  World w;
  REQUIRE(std::filesystem::create_directories(w.Path("dev/sub")));
  Write(w.Path("dev/sub/a.fit"), Fit(1715500800));
  Write(w.Path("dev/b.fit"), Fit(1715600800).substr(0, 100));  // truncated
  Write(w.Path("dev/c.tcx"), "");
  Write(w.Path("dev/notes.txt"), "not an activity");
  ImportReport r = w.Import({w.Path("dev"), w.Path("missing.fit")});
  CHECK(r.added == 1);
  CHECK(r.failed == 3);
  std::set<std::string> failed;
  for (const auto& [where, why] : r.failures) {
    INFO(where << ": " << why);
    CHECK_FALSE(why.empty());
    failed.insert(std::filesystem::path(where).filename().string());
  }
  CHECK(failed == std::set<std::string>{"b.fit", "c.tcx", "missing.fit"});
  CHECK(w.Int("SELECT count(*) FROM import_files WHERE outcome='failed'") == 2);

  // Removed (as the message says to), a failed file is no failure any more;
  // one still there still is.
  std::filesystem::remove(w.Path("dev/c.tcx"));
  r = w.Import({w.Path("dev")});
  CHECK(r.files == 1);
  CHECK(r.failed == 1);
  CHECK(w.Text("SELECT group_concat(path) FROM import_files WHERE outcome='failed'") == w.Path("dev/b.fit"));
}

}  // namespace
}  // namespace stravafs::import
