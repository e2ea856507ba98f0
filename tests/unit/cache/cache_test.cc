// Tests for cache.cc on real SQLite files in a temp dir: opening (schema
// version, WAL, private file, refusing newer and damaged caches), the
// activity upsert (new/unchanged/changed, detail-only fields surviving an
// edit), details with laps, streams, deletions, the deep-work queue and the
// sync_state key/value store; and schema v2: after every write the mount's
// file sizes equal what fs_render makes of what the cache holds, fs_changes
// logs where the files were, and a v1 cache upgrades with nothing lost.
// Assertions read the tables with plain SQL, the way BI tools will.
#include "cache/db.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../../emulator/render.h"
#include "model/activity_page.h"
#include "fake_transport.h"
#include "format/render.h"
#include "format/sizes.h"
#include "sql_helpers.h"
#include "cache/activity_store.h"
#include "cache/athlete_store.h"
#include "cache/schema.h"
#include "cache/sync_state.h"

namespace stravafs {
namespace {

using testing::TempDir;
using testing::QueryColumn;
using testing::QueryInt;
using testing::QueryReal;
using testing::QueryText;

std::unique_ptr<Cache> OpenCache(const std::string& path) {
  auto c = Cache::Open(path, Cache::Mode::kReadWrite);
  INFO(c.status().message());
  REQUIRE(c.ok());
  return std::move(c).value();
}

Json Summary(int64_t id, const std::string& start, const std::string& name = "Morning Run") {
  Json j = Json::object();
  j["resource_state"] = 2;
  j["athlete"] = {{"id", 4242}, {"resource_state", 1}};
  j["name"] = name;
  j["distance"] = 5000.5;
  j["moving_time"] = 1500;
  j["elapsed_time"] = 1620;
  j["sport_type"] = "Run";
  j["id"] = id;
  j["start_date"] = start;
  auto epoch = ParseIsoUtc(start);
  REQUIRE(epoch.has_value());
  j["start_date_local"] = FormatIsoUtc(*epoch + 7200);
  j["timezone"] = "(GMT+01:00) Europe/Paris";
  j["utc_offset"] = 7200.0;
  j["gear_id"] = nullptr;
  j["start_latlng"] = Json::array({48.8566, 2.3522});
  return j;
}

Json Detail(const Json& summary, int laps) {
  Json j = summary;
  j["resource_state"] = 3;
  j["description"] = "Legs felt great";
  j["calories"] = 412;
  j["device_name"] = "Garmin Forerunner 255";
  Json l = Json::array();
  for (int k = 1; k <= laps; ++k)
    l.push_back({{"id", 900 + k}, {"name", "Lap " + std::to_string(k)}, {"elapsed_time", 300},
                 {"moving_time", 290.0}, {"start_date", "2024-05-12T11:3" + std::to_string(k) + ":00Z"},
                 {"start_date_local", "2024-05-12T13:3" + std::to_string(k) + ":00Z"}, {"distance", 1000},
                 {"average_speed", 3.4}, {"max_speed", 5}, {"start_index", (k - 1) * 10},
                 {"end_index", k * 10 - 1}, {"lap_index", k}});
  j["laps"] = l;
  return j;
}

struct SyncRow {
  int64_t detail_state, streams_state, listed_run;
};

SyncRow SyncState(Cache& c, int64_t id) {
  std::string where = " FROM activity_sync WHERE id=" + std::to_string(id);
  REQUIRE(QueryInt(c.db(), "SELECT count(*)" + where) == 1);
  return {QueryInt(c.db(), "SELECT detail_state" + where), QueryInt(c.db(), "SELECT streams_state" + where),
          QueryInt(c.db(), "SELECT listed_run" + where)};
}

// --- opening -------------------------------------------------------------------------

TEST_CASE("Cache::Open creates a private WAL database at schema version 7", "[cache]") {
  TempDir tmp;
  const std::string dir = tmp / "data/stravafs", path = dir + "/cache.db";
  auto cache = OpenCache(path);
  CHECK(kSchemaVersion == 7);
  CHECK(QueryInt(cache->db(), "PRAGMA user_version") == 7);
  CHECK(QueryText(cache->db(), "PRAGMA journal_mode") == "wal");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  CHECK(cache->path() == path);
  auto tables = QueryColumn(cache->db(), "SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name");
  CHECK(tables == std::vector<std::string>{
                      "activities", "activities_units", "activity_efforts", "activity_facts", "activity_hr_seconds",
                      "activity_power_seconds", "activity_sync", "analytics_settings", "athlete_zones", "athletes",
                      "best_efforts", "effort_ranks", "fs_changes", "gear", "hr_zones", "import_files", "laps",
                      "monthly_totals", "originals", "personal_records", "power_zones", "streams", "sync_state", "training_90d",
                      "training_day_hr_seconds", "training_days", "weekly_totals", "yearly_totals", "zone_bounds",
                      "zone_time"});
}

TEST_CASE("Cache::Open keeps the data of an existing cache", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(1, "2024-05-12T11:30:00Z"), 0).ok());
  }
  auto again = OpenCache(path);
  CHECK(QueryInt(again->db(), "SELECT count(*) FROM activities") == 1);
  CHECK(QueryInt(again->db(), "PRAGMA user_version") == 7);
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE(ro.ok());
  CHECK(QueryText((*ro)->db(), "SELECT name FROM activities WHERE id=1") == "Morning Run");
}

TEST_CASE("Cache::Open refuses a cache from a newer stravafs and leaves it alone", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "CREATE TABLE future(x); PRAGMA user_version = 8;", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  auto rw = Cache::Open(path, Cache::Mode::kReadWrite);
  REQUIRE_FALSE(rw.ok());
  CHECK(rw.status().kind() == ErrorKind::kCache);
  CHECK(rw.status().message() == "cache " + path +
                                     " has schema version 8, newer than this stravafs understands (7): upgrade stravafs");
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().kind() == ErrorKind::kCache);
  CHECK(ro.status().message() == "cache " + path + " has schema version 8, this stravafs reads version 7: upgrade stravafs");

  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  CHECK(QueryInt(raw, "PRAGMA user_version") == 8);
  CHECK(QueryInt(raw, "SELECT count(*) FROM sqlite_master WHERE name='activities'") == 0);
  sqlite3_close(raw);
}

TEST_CASE("Cache::Open read-only of a missing cache says to run stravafs sync", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "nowhere/cache.db";
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().kind() == ErrorKind::kCache);
  CHECK(ro.status().message() == "no cache at " + path + " yet: run `stravafs sync` or `stravafs import` first");
  CHECK_FALSE(std::filesystem::exists(tmp / "nowhere"));
}

TEST_CASE("[bug] Cache::Open refuses another program's SQLite file and leaves it untouched", "[cache][bug]") {
  // Named as [cache] path, an unrelated database got 55 schema objects and
  // WAL (issue 15).
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "CREATE TABLE t(x); CREATE INDEX t_x ON t(x)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  const std::string refusal = path +
                              " is not a stravafs cache (an SQLite database holding 2 tables, indexes or views of "
                              "another program): it was left untouched; name another file as [cache] path";
  for (auto mode : {Cache::Mode::kReadOnly, Cache::Mode::kReadWrite}) {
    auto opened = Cache::Open(path, mode);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().kind() == ErrorKind::kCache);
    CHECK(opened.status().message() == refusal);
  }
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  CHECK(QueryInt(raw, "SELECT count(*) FROM sqlite_schema") == 2);
  CHECK(QueryText(raw, "PRAGMA journal_mode") == "delete");
  CHECK(QueryInt(raw, "PRAGMA application_id") == 0);
  sqlite3_close(raw);

  // Another program's id is refused even with a schema version.
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "PRAGMA application_id = 1095779393; PRAGMA user_version = 6", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  auto other = Cache::Open(path, Cache::Mode::kReadWrite);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message() == path +
                                        " is not a stravafs cache (an SQLite database of another program, "
                                        "application_id 0x41504441): it was left untouched; name another file as "
                                        "[cache] path");
}

TEST_CASE("A cache carries stravafs's application_id; one from before it is stamped by its next writer",
          "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    CHECK(QueryInt(cache->db(), "PRAGMA application_id") == kApplicationId);
    REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(1, "2024-05-12T11:30:00Z"), 0).ok());
    REQUIRE(cache->Exec("PRAGMA application_id = 0").ok());
  }
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);  // readers read it as before
  REQUIRE(ro.ok());
  CHECK(QueryInt((*ro)->db(), "PRAGMA application_id") == 0);
  CHECK(QueryText((*ro)->db(), "SELECT name FROM activities WHERE id=1") == "Morning Run");
  auto rw = OpenCache(path);
  CHECK(QueryInt(rw->db(), "PRAGMA application_id") == kApplicationId);
  CHECK(QueryInt(rw->db(), "SELECT count(*) FROM activities") == 1);
}

TEST_CASE("Cache::Open of a file that is not SQLite says it is damaged", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  std::ofstream(path) << "this is not an SQLite database, not even close; " << std::string(200, 'x');
  auto rw = Cache::Open(path, Cache::Mode::kReadWrite);
  REQUIRE_FALSE(rw.ok());
  CHECK(rw.status().kind() == ErrorKind::kCache);
  CHECK_THAT(rw.status().message(), Catch::Contains(path));
  // [bug] Issue 15: moved without its -wal and -shm, a cache loses what the
  // WAL held and the next one is paired with the old WAL.
  CHECK(rw.status().message() == path + " is not a stravafs cache (not an SQLite database, or damaged): move it "
                                        "aside with its -wal and -shm files (mv " + path + " " + path + "-wal " +
                                        path + "-shm SOMEWHERE/) and run `stravafs sync` or `stravafs import` to "
                                        "rebuild it");
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().message() == rw.status().message());
}

TEST_CASE("Cache::Open of a cache it cannot read for another reason does not call it damaged", "[cache][bug]") {
  // Issue 15: "not a stravafs cache ... move it aside" also came for
  // SQLITE_BUSY and I/O errors, where moving the file would do harm.
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  REQUIRE(OpenCache(path));
  // A cache in rollback-journal mode (as a copy made by `sqlite3 .backup`
  // may be) that another process holds an exclusive lock on: SQLITE_BUSY
  // once the busy timeout (10 s) has passed.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "PRAGMA journal_mode=DELETE; BEGIN EXCLUSIVE; CREATE TABLE held(x);", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  INFO(ro.status().message());
  CHECK(ro.status().kind() == ErrorKind::kCache);
  CHECK_THAT(ro.status().message(), Catch::StartsWith("reading failed in cache " + path + ": "));
  CHECK_THAT(ro.status().message(), Catch::Contains("another process holds the database; try again"));
  CHECK_THAT(ro.status().message(), !Catch::Contains("damaged") && !Catch::Contains("move it aside"));
  sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
}

// --- activities --------------------------------------------------------------------------

TEST_CASE("UpsertSummary stores a new activity in typed columns", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(INT64_C(11234567890), "2024-05-12T05:30:00Z", "Café «Ride» 🚴");
  auto r = ActivityStore(*cache).UpsertSummary(s, 3);
  REQUIRE(r.ok());
  CHECK(*r == Upsert::kNew);
  sqlite3* db = cache->db();
  const std::string row = " FROM activities WHERE id=11234567890";
  CHECK(QueryText(db, "SELECT name" + row) == "Café «Ride» 🚴");
  CHECK(QueryText(db, "SELECT start_date" + row) == "2024-05-12T05:30:00Z");
  CHECK(QueryText(db, "SELECT start_date_local" + row) == "2024-05-12T07:30:00");
  CHECK(QueryText(db, "SELECT timezone" + row) == "Europe/Paris");
  CHECK(QueryReal(db, "SELECT distance" + row) == 5000.5);
  CHECK(QueryInt(db, "SELECT athlete_id" + row) == 4242);
  CHECK(QueryInt(db, "SELECT detail_level" + row) == 2);
  CHECK(QueryText(db, "SELECT typeof(gear_id)" + row) == "null");
  CHECK(QueryText(db, "SELECT typeof(distance)" + row) == "real");
  CHECK(QueryText(db, "SELECT json" + row) == s.dump());
  SyncRow sync = SyncState(*cache, INT64_C(11234567890));
  CHECK(sync.detail_state == 0);
  CHECK(sync.streams_state == 0);
  CHECK(sync.listed_run == 3);
}

TEST_CASE("UpsertSummary: unchanged only marks the activity seen", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(7, "2024-05-12T05:30:00Z");
  REQUIRE(*ActivityStore(*cache).UpsertSummary(s, 1) == Upsert::kNew);
  REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::object()).ok());
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(s, 1)).ok());
  auto r = ActivityStore(*cache).UpsertSummary(s, 4);
  REQUIRE(r.ok());
  CHECK(*r == Upsert::kUnchanged);
  SyncRow sync = SyncState(*cache, 7);
  CHECK(sync.listed_run == 4);
  CHECK(sync.detail_state == 1);  // nothing to fetch again
  CHECK(sync.streams_state == 1);
  CHECK(QueryInt(cache->db(), "SELECT detail_level FROM activities WHERE id=7") == 3);
  // An incremental listing (run 0) never lowers the run that last saw it.
  CHECK(*ActivityStore(*cache).UpsertSummary(s, 0) == Upsert::kUnchanged);
  CHECK(SyncState(*cache, 7).listed_run == 4);
}

TEST_CASE("UpsertSummary: an edit keeps detail-only fields and re-queues the detail", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(7, "2024-05-12T05:30:00Z");
  REQUIRE(*ActivityStore(*cache).UpsertSummary(s, 1) == Upsert::kNew);
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(s, 2)).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::object()).ok());

  SECTION("a new title: streams stay") {
    Json edited = s;
    edited["name"] = "Evening Run";
    auto r = ActivityStore(*cache).UpsertSummary(edited, 2);
    REQUIRE(r.ok());
    CHECK(*r == Upsert::kChanged);
    const std::string row = " FROM activities WHERE id=7";
    CHECK(QueryText(cache->db(), "SELECT name" + row) == "Evening Run");
    CHECK(QueryText(cache->db(), "SELECT description" + row) == "Legs felt great");
    CHECK(QueryReal(cache->db(), "SELECT calories" + row) == 412.0);
    CHECK(QueryText(cache->db(), "SELECT device_name" + row) == "Garmin Forerunner 255");
    CHECK(QueryInt(cache->db(), "SELECT detail_level" + row) == 3);
    Json stored = Json::parse(QueryText(cache->db(), "SELECT json" + row));
    CHECK(stored["name"] == "Evening Run");
    CHECK(stored["description"] == "Legs felt great");
    CHECK(stored["resource_state"] == 3);
    SyncRow sync = SyncState(*cache, 7);
    CHECK(sync.detail_state == 0);
    CHECK(sync.streams_state == 1);
    CHECK(sync.listed_run == 2);
    auto work = ActivityStore(*cache).PendingDeepWork(true, true, 10);
    REQUIRE(work.ok());
    REQUIRE(work->size() == 1);
    CHECK((*work)[0].id == 7);
    CHECK((*work)[0].detail);
    CHECK_FALSE((*work)[0].streams);
    // The same edit listed again is unchanged.
    CHECK(*ActivityStore(*cache).UpsertSummary(edited, 3) == Upsert::kUnchanged);
  }
  SECTION("a crop (new distance): streams are fetched again") {
    Json cropped = s;
    cropped["distance"] = 4000.0;
    REQUIRE(*ActivityStore(*cache).UpsertSummary(cropped, 2) == Upsert::kChanged);
    SyncRow sync = SyncState(*cache, 7);
    CHECK(sync.detail_state == 0);
    CHECK(sync.streams_state == 0);
    CHECK(QueryReal(cache->db(), "SELECT distance FROM activities WHERE id=7") == 4000.0);
  }
}

TEST_CASE("UpsertSummary rejects a malformed summary and stores nothing", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json bad = Summary(7, "2024-05-12T05:30:00Z");
  bad["start_date"] = "soon";
  auto r = ActivityStore(*cache).UpsertSummary(bad, 1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().kind() == ErrorKind::kServer);
  CHECK(r.status().message() == "activity 7 has no valid start_date");
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activities") == 0);
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activity_sync") == 0);
}

TEST_CASE("StoreDetail stores the detail verbatim with its laps", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(7, "2024-05-12T11:30:00Z");
  REQUIRE(ActivityStore(*cache).UpsertSummary(s, 1).ok());
  Json d = Detail(s, 3);
  REQUIRE(ActivityStore(*cache).StoreDetail(d).ok());
  sqlite3* db = cache->db();
  CHECK(QueryText(db, "SELECT json FROM activities WHERE id=7") == d.dump());
  CHECK(QueryInt(db, "SELECT detail_level FROM activities WHERE id=7") == 3);
  CHECK(QueryText(db, "SELECT description FROM activities WHERE id=7") == "Legs felt great");
  CHECK(SyncState(*cache, 7).detail_state == 1);
  CHECK(SyncState(*cache, 7).streams_state == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM laps WHERE activity_id=7") == 3);
  CHECK(QueryColumn(db, "SELECT lap_index FROM laps WHERE activity_id=7 ORDER BY lap_index") ==
        std::vector<std::string>{"1", "2", "3"});
  const std::string lap2 = " FROM laps WHERE activity_id=7 AND lap_index=2";
  CHECK(QueryInt(db, "SELECT id" + lap2) == 902);
  CHECK(QueryText(db, "SELECT name" + lap2) == "Lap 2");
  CHECK(QueryText(db, "SELECT start_date" + lap2) == "2024-05-12T11:32:00Z");
  CHECK(QueryText(db, "SELECT start_date_local" + lap2) == "2024-05-12T13:32:00");
  CHECK(QueryInt(db, "SELECT elapsed_time" + lap2) == 300);
  CHECK(QueryInt(db, "SELECT moving_time" + lap2) == 290);
  CHECK(QueryReal(db, "SELECT distance" + lap2) == 1000.0);
  CHECK(QueryReal(db, "SELECT max_speed" + lap2) == 5.0);
  CHECK(QueryInt(db, "SELECT start_index" + lap2) == 10);
  CHECK(QueryInt(db, "SELECT end_index" + lap2) == 19);
  CHECK(QueryText(db, "SELECT typeof(average_heartrate)" + lap2) == "null");

  // A fresh detail replaces the laps rather than adding to them.
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(s, 1)).ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM laps WHERE activity_id=7") == 1);

  // A detail of an activity deleted meanwhile stores nothing.
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(Summary(8, "2024-05-13T11:30:00Z"), 2)).ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM activities WHERE id=8") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM laps WHERE activity_id=8") == 0);
}

// Found reading cache.cc for the fuzz streams finding (the same wrap, and
// worse): a lap's elapsed_time of 1e300 was cast to int64 (undefined
// behaviour), and a lap id above INT64_MAX wrapped to a negative id.
TEST_CASE("StoreDetail: lap numbers beyond int64 are NULL, not wrapped or cast", "[cache][bug]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  const Json summary = Summary(7, "2024-05-12T11:30:00Z");
  REQUIRE(ActivityStore(*cache).UpsertSummary(summary, 1).ok());
  Json detail = Detail(summary, 2);
  detail["laps"][0]["elapsed_time"] = 1e300;
  detail["laps"][0]["id"] = 18446744073709551615ull;
  detail["laps"][0]["lap_index"] = 18446744073709551615ull;
  detail["laps"][1]["moving_time"] = 9223372036854775807ll;
  detail["laps"][1]["elapsed_time"] = 290.7;
  REQUIRE(ActivityStore(*cache).StoreDetail(detail).ok());
  sqlite3* db = cache->db();
  CHECK(QueryColumn(db, "SELECT lap_index FROM laps ORDER BY lap_index") == std::vector<std::string>{"1", "2"});
  CHECK(QueryColumn(db, "SELECT elapsed_time FROM laps ORDER BY lap_index") == std::vector<std::string>{"NULL", "290"});
  CHECK(QueryColumn(db, "SELECT id FROM laps ORDER BY lap_index") == std::vector<std::string>{"NULL", "902"});
  CHECK(QueryInt(db, "SELECT moving_time FROM laps WHERE lap_index=2") == INT64_MAX);
  // An athlete id beyond int64 is no id.
  CHECK_FALSE(AthleteStore(*cache).StoreAthlete(Json::parse(R"({"id":18446744073709551615})")).ok());
}

TEST_CASE("StoreStreams writes one row per sample", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  Json streams = Json::parse(R"({
    "time": {"data": [0, 1, 2, 3], "series_type": "distance", "original_size": 4, "resolution": "high"},
    "latlng": {"data": [[48.1, 2.1], null, [48.3, 2.3], [48.4, 2.4]]},
    "distance": {"data": [0, 2.5, 5.0, 7.5]},
    "heartrate": {"data": [120, null, 122, 123]},
    "moving": {"data": [false, true, true, false]},
    "velocity_smooth": {"data": [0, 2.5, 2.5, 0]},
    "grade_smooth": {"data": [0.5, -1.0]}
  })");
  REQUIRE(ActivityStore(*cache).StoreStreams(7, streams).ok());
  sqlite3* db = cache->db();
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=7") == 4);
  CHECK(QueryColumn(db, "SELECT seq FROM streams WHERE activity_id=7 ORDER BY seq") ==
        std::vector<std::string>{"0", "1", "2", "3"});
  CHECK(QueryColumn(db, "SELECT time FROM streams ORDER BY seq") == std::vector<std::string>{"0", "1", "2", "3"});
  CHECK(QueryColumn(db, "SELECT lat FROM streams ORDER BY seq") ==
        std::vector<std::string>{"48.1", "NULL", "48.3", "48.4"});
  CHECK(QueryColumn(db, "SELECT lng FROM streams ORDER BY seq") ==
        std::vector<std::string>{"2.1", "NULL", "2.3", "2.4"});
  CHECK(QueryColumn(db, "SELECT heartrate FROM streams ORDER BY seq") ==
        std::vector<std::string>{"120.0", "NULL", "122.0", "123.0"});
  CHECK(QueryColumn(db, "SELECT moving FROM streams ORDER BY seq") == std::vector<std::string>{"0", "1", "1", "0"});
  CHECK(QueryColumn(db, "SELECT distance FROM streams ORDER BY seq") ==
        std::vector<std::string>{"0.0", "2.5", "5.0", "7.5"});
  CHECK(QueryColumn(db, "SELECT velocity FROM streams ORDER BY seq") ==
        std::vector<std::string>{"0.0", "2.5", "2.5", "0.0"});
  // A shorter stream leaves the rest NULL; absent types are NULL throughout.
  CHECK(QueryColumn(db, "SELECT grade FROM streams ORDER BY seq") ==
        std::vector<std::string>{"0.5", "-1.0", "NULL", "NULL"});
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE watts IS NOT NULL OR cadence IS NOT NULL OR "
                     "temp IS NOT NULL OR altitude IS NOT NULL") == 0);
  CHECK(SyncState(*cache, 7).streams_state == 1);

  // Fetched again: replaced, not appended.
  REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::parse(R"({"time": {"data": [0, 5]}})")).ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=7") == 2);
  CHECK(QueryInt(db, "SELECT max(time) FROM streams WHERE activity_id=7") == 5);
}

// Found with the tests/fuzz streams oracle, on an input built from its
// dictionary's 18446744073709551615: nlohmann holds non-negative
// integers as uint64; one above INT64_MAX was bound through get<int64_t>(),
// which wraps, so 18446744073709551615 was stored as -1.
TEST_CASE("StoreStreams stores an integer beyond int64 as a double, not wrapped", "[cache][bug]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  // time: an INTEGER column, where an integer stays exact and a double that
  // is no int64 stays a double.
  REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::parse(R"({"time": {"data": [18446744073709551615,
    9223372036854775808, 9223372036854775807, -9223372036854775808, 120]}})")).ok());
  auto samples = ActivityStore(*cache).LoadSamples(7);
  REQUIRE(samples.ok());
  REQUIRE(samples->size() == 5);
  CHECK((*samples)[0].time == 18446744073709551615.0);
  CHECK((*samples)[1].time == 9223372036854775808.0);
  CHECK(QueryColumn(cache->db(), "SELECT typeof(time) FROM streams ORDER BY seq") ==
        std::vector<std::string>{"real", "real", "integer", "integer", "integer"});
  CHECK(QueryInt(cache->db(), "SELECT time FROM streams WHERE seq=2") == INT64_MAX);
  CHECK(QueryInt(cache->db(), "SELECT time FROM streams WHERE seq=3") == INT64_MIN);
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM streams WHERE time < 0") == 1);  // only INT64_MIN
}

TEST_CASE("MarkNoStreams takes the activity off the streams queue", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  REQUIRE(ActivityStore(*cache).MarkNoStreams(7).ok());
  CHECK(SyncState(*cache, 7).streams_state == 2);
  auto work = ActivityStore(*cache).PendingDeepWork(false, true, 10);
  REQUIRE(work.ok());
  CHECK(work->empty());
  CHECK(*ActivityStore(*cache).CountPendingDeepWork(false, true) == 0);
  CHECK(*ActivityStore(*cache).CountPendingDeepWork(true, true) == 1);  // the detail is still wanted
}

TEST_CASE("DeleteActivity removes the row, its bookkeeping, streams and laps", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s7 = Summary(7, "2024-05-12T11:30:00Z"), s8 = Summary(8, "2024-05-13T11:30:00Z");
  for (const Json* s : {&s7, &s8}) {
    REQUIRE(ActivityStore(*cache).UpsertSummary(*s, 1).ok());
    REQUIRE(ActivityStore(*cache).StoreDetail(Detail(*s, 2)).ok());
    REQUIRE(ActivityStore(*cache).StoreStreams((*s)["id"].get<int64_t>(), Json::parse(R"({"time": {"data": [0, 1, 2]}})")).ok());
  }
  REQUIRE(ActivityStore(*cache).DeleteActivity(7).ok());
  sqlite3* db = cache->db();
  CHECK(QueryInt(db, "SELECT count(*) FROM activities WHERE id=7") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE id=7") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=7") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM laps WHERE activity_id=7") == 0);
  // The other one is untouched.
  CHECK(QueryInt(db, "SELECT count(*) FROM activities WHERE id=8") == 1);
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=8") == 3);
  CHECK(QueryInt(db, "SELECT count(*) FROM laps WHERE activity_id=8") == 2);
  REQUIRE(ActivityStore(*cache).DeleteActivity(7).ok());  // twice: nothing to do, no error
}

TEST_CASE("PendingDeepWork lists newest first, within the limit", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  // Inserted out of order.
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(2, "2024-05-02T08:00:00Z"), 1).ok());
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(4, "2024-05-04T08:00:00Z"), 1).ok());
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(3, "2024-05-03T08:00:00Z"), 1).ok());
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(Summary(3, "2024-05-03T08:00:00Z"), 0)).ok());
  REQUIRE(ActivityStore(*cache).MarkNoStreams(2).ok());

  auto ids = [](const std::vector<DeepWork>& w) {
    std::vector<int64_t> out;
    for (const auto& x : w) out.push_back(x.id);
    return out;
  };
  auto all = ActivityStore(*cache).PendingDeepWork(true, true, 100);
  REQUIRE(all.ok());
  CHECK(ids(*all) == std::vector<int64_t>{4, 3, 2, 1});
  CHECK(((*all)[0].detail && (*all)[0].streams));
  CHECK((!(*all)[1].detail && (*all)[1].streams));  // 3: detail fetched
  CHECK(((*all)[2].detail && !(*all)[2].streams));  // 2: no streams on Strava
  CHECK(*ActivityStore(*cache).CountPendingDeepWork(true, true) == 3 + 3);

  auto two = ActivityStore(*cache).PendingDeepWork(true, true, 2);
  REQUIRE(two.ok());
  CHECK(ids(*two) == std::vector<int64_t>{4, 3});

  auto details_only = ActivityStore(*cache).PendingDeepWork(true, false, 100);
  REQUIRE(details_only.ok());
  CHECK(ids(*details_only) == std::vector<int64_t>{4, 2, 1});
  for (const auto& w : *details_only) CHECK_FALSE(w.streams);
  CHECK(*ActivityStore(*cache).CountPendingDeepWork(true, false) == 3);

  auto streams_only = ActivityStore(*cache).PendingDeepWork(false, true, 100);
  REQUIRE(streams_only.ok());
  CHECK(ids(*streams_only) == std::vector<int64_t>{4, 3, 1});
  for (const auto& w : *streams_only) CHECK_FALSE(w.detail);

  auto nothing = ActivityStore(*cache).PendingDeepWork(false, false, 100);
  REQUIRE(nothing.ok());
  CHECK(nothing->empty());
}

TEST_CASE("IdsNotListedBy, IdsStartingBetween and NewestStartEpoch", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  auto newest = ActivityStore(*cache).NewestStartEpoch();
  REQUIRE(newest.ok());
  CHECK_FALSE(newest->has_value());

  for (int id = 1; id <= 4; ++id)
    REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(id, "2024-05-0" + std::to_string(id) + "T08:00:00Z"), 1).ok());
  // Run 2 lists 1 and 3 (3 edited meanwhile).
  REQUIRE(*ActivityStore(*cache).UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 2) == Upsert::kUnchanged);
  REQUIRE(*ActivityStore(*cache).UpsertSummary(Summary(3, "2024-05-03T08:00:00Z", "Renamed"), 2) == Upsert::kChanged);

  auto gone = ActivityStore(*cache).IdsNotListedBy(2, *ParseIsoUtc("2024-06-01T00:00:00Z"));
  REQUIRE(gone.ok());
  std::sort(gone->begin(), gone->end());
  CHECK(*gone == std::vector<int64_t>{2, 4});
  // Only those starting before `before`.
  auto early = ActivityStore(*cache).IdsNotListedBy(2, *ParseIsoUtc("2024-05-04T08:00:00Z"));
  REQUIRE(early.ok());
  CHECK(*early == std::vector<int64_t>{2});
  CHECK(ActivityStore(*cache).IdsNotListedBy(1, *ParseIsoUtc("2024-06-01T00:00:00Z"))->empty());

  // Exclusive bounds, like Strava's after/before.
  auto between = ActivityStore(*cache).IdsStartingBetween(*ParseIsoUtc("2024-05-02T08:00:00Z"), *ParseIsoUtc("2024-05-04T08:00:00Z"));
  REQUIRE(between.ok());
  CHECK(*between == std::vector<int64_t>{3});

  newest = ActivityStore(*cache).NewestStartEpoch();
  REQUIRE(newest.ok());
  CHECK(*newest == ParseIsoUtc("2024-05-04T08:00:00Z"));
}

TEST_CASE("Gear, athlete and counts", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json a = Summary(1, "2024-05-01T08:00:00Z"), b = Summary(2, "2024-05-02T08:00:00Z"),
       c = Summary(3, "2024-05-03T08:00:00Z");
  a["gear_id"] = "b1";
  b["gear_id"] = "g2";
  c["gear_id"] = "b1";
  for (const Json* s : {&a, &b, &c}) REQUIRE(ActivityStore(*cache).UpsertSummary(*s, 1).ok());
  CHECK(*AthleteStore(*cache).MissingGearIds() == std::vector<std::string>{"b1", "g2"});
  REQUIRE(AthleteStore(*cache).StoreGear({{"id", "b1"}, {"name", "Trusty"}, {"distance", 12.5}, {"primary", true}}).ok());
  CHECK(*AthleteStore(*cache).MissingGearIds() == std::vector<std::string>{"g2"});
  CHECK(QueryText(cache->db(), "SELECT name FROM gear WHERE id='b1'") == "Trusty");
  CHECK(QueryInt(cache->db(), "SELECT primary_gear FROM gear WHERE id='b1'") == 1);
  auto bad_gear = AthleteStore(*cache).StoreGear({{"id", 5}});
  CHECK(bad_gear.kind() == ErrorKind::kServer);

  CHECK(*AthleteStore(*cache).HasAthlete() == false);
  CHECK(AthleteStore(*cache).StoreAthlete({{"firstname", "Ada"}}).kind() == ErrorKind::kServer);
  REQUIRE(AthleteStore(*cache).StoreAthlete({{"id", 4242}, {"firstname", "Ada"}, {"premium", true}, {"weight", 60.5}}).ok());
  CHECK(*AthleteStore(*cache).HasAthlete() == true);
  CHECK(QueryText(cache->db(), "SELECT firstname FROM athletes WHERE id=4242") == "Ada");
  CHECK(QueryReal(cache->db(), "SELECT weight FROM athletes WHERE id=4242") == 60.5);

  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(a, 2)).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(2, Json::parse(R"({"time": {"data": [0, 1, 2]}})")).ok());
  auto counts = ActivityStore(*cache).Counts();
  REQUIRE(counts.ok());
  CHECK(counts->activities == 3);
  CHECK(counts->detailed == 1);
  CHECK(counts->with_streams == 1);
  CHECK(counts->stream_samples == 3);
  CHECK(counts->laps == 2);
  CHECK(counts->gear == 1);
  CHECK(counts->oldest_start == "2024-05-01T10:00:00");
  CHECK(counts->newest_start == "2024-05-03T10:00:00");
}

TEST_CASE("sync_state is a small key/value store", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    auto missing = GetState(*cache, "job");
    REQUIRE(missing.ok());
    CHECK_FALSE(missing->has_value());
    REQUIRE(SetState(*cache, "job", R"({"page":3})").ok());
    CHECK(**GetState(*cache, "job") == R"({"page":3})");
    REQUIRE(SetState(*cache, "job", R"({"page":4})").ok());
    CHECK(**GetState(*cache, "job") == R"({"page":4})");
    REQUIRE(SetState(*cache, "last_success", "2024-05-13T10:00:00Z").ok());
    REQUIRE(DeleteState(*cache, "job").ok());
    CHECK_FALSE(GetState(*cache, "job")->has_value());
    REQUIRE(DeleteState(*cache, "job").ok());
  }
  auto again = OpenCache(path);
  CHECK(**GetState(*again, "last_success") == "2024-05-13T10:00:00Z");
}

TEST_CASE("Transaction rolls back unless committed", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  {
    Transaction tx(*cache);
    REQUIRE(tx.status().ok());
    REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
    REQUIRE(SetState(*cache, "job", "x").ok());
  }
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activities") == 0);
  CHECK_FALSE(GetState(*cache, "job")->has_value());
  {
    Transaction tx(*cache);
    REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
    REQUIRE(tx.Commit().ok());
  }
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activities") == 1);
}

TEST_CASE("activities_units view converts units", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
  CHECK(QueryReal(cache->db(), "SELECT distance_km FROM activities_units WHERE id=1") == Approx(5.0005));
  CHECK(QueryReal(cache->db(), "SELECT moving_time_min FROM activities_units WHERE id=1") == 25.0);
}

// --- schema v2: the mount's file sizes and the change log ----------------------------------

// What the mount renders from what the cache holds, read with plain SQL.
std::vector<StreamSample> SamplesBySql(sqlite3* db, int64_t id) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT seq, time, distance, lat, lng, altitude, velocity, heartrate, cadence, watts, "
                             "temp, moving, grade FROM streams WHERE activity_id=? ORDER BY seq",
                             -1, &st, nullptr) == SQLITE_OK);
  sqlite3_bind_int64(st, 1, id);
  std::vector<StreamSample> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    StreamSample& s = out.emplace_back();
    s.seq = sqlite3_column_int64(st, 0);
    int col = 1;
    for (auto* v : {&s.time, &s.distance, &s.lat, &s.lng, &s.altitude, &s.velocity, &s.heartrate, &s.cadence,
                    &s.watts, &s.temp, &s.moving, &s.grade}) {
      if (sqlite3_column_type(st, col) != SQLITE_NULL) *v = sqlite3_column_double(st, col);
      ++col;
    }
  }
  sqlite3_finalize(st);
  return out;
}

std::vector<ColumnValue> CsvValuesBySql(sqlite3* db, int64_t id) {
  std::string sql = "SELECT ";
  for (const ActivityColumn* c : ActivitiesCsvColumns()) sql += std::string(sql.size() > 7 ? "," : "") + c->name;
  sql += " FROM activities WHERE id=" + std::to_string(id);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  std::vector<ColumnValue> values;
  for (int i = 0; i < sqlite3_column_count(st); ++i) {
    ColumnValue& v = values.emplace_back();
    switch (sqlite3_column_type(st, i)) {
      case SQLITE_NULL: break;
      case SQLITE_INTEGER: v.kind = ColumnValue::kInt, v.i = sqlite3_column_int64(st, i); break;
      case SQLITE_FLOAT: v.kind = ColumnValue::kReal, v.d = sqlite3_column_double(st, i); break;
      default:
        v.kind = ColumnValue::kText;
        v.s.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, i)), sqlite3_column_bytes(st, i));
    }
  }
  sqlite3_finalize(st);
  return values;
}

// The four sizes of activity `id` are the bytes the mount renders.
void CheckSizes(Cache& c, int64_t id) {
  INFO("activity " << id);
  sqlite3* db = c.db();
  const std::string sync = " FROM activity_sync WHERE id=" + std::to_string(id);
  const Json activity = Json::parse(QueryText(db, "SELECT json FROM activities WHERE id=" + std::to_string(id)));
  CHECK(QueryInt(db, "SELECT json_size" + sync) == static_cast<int64_t>(RenderJsonFile(activity).size()));
  CHECK(QueryInt(db, "SELECT csv_row_size" + sync) ==
        static_cast<int64_t>(ActivityCsvRow(CsvValuesBySql(db, id)).size()));
  const std::vector<StreamSample> samples = SamplesBySql(db, id);
  if (samples.empty()) {
    CHECK(QueryText(db, "SELECT typeof(streams_csv_size)" + sync) == "null");
  } else {
    CHECK(QueryInt(db, "SELECT streams_csv_size" + sync) == static_cast<int64_t>(RenderStreamsCsv(samples).size()));
  }
  if (HasGps(samples)) {
    CHECK(QueryInt(db, "SELECT gpx_size" + sync) == static_cast<int64_t>(RenderGpx(activity, samples).size()));
  } else {
    CHECK(QueryText(db, "SELECT typeof(gpx_size)" + sync) == "null");
  }
}

const char* kGpsStreams = R"({
  "time": {"data": [0, 10, 20, 30]},
  "latlng": {"data": [[48.8566, 2.3522], [48.857, 2.353], null, [48.858, 2.354]]},
  "altitude": {"data": [35.2, 36.0, 36.4, 37.1]},
  "heartrate": {"data": [120, 131, null, 140]},
  "watts": {"data": [200, 210, 220, 230]},
  "moving": {"data": [false, true, true, true]}
})";

TEST_CASE("[bug] Schema v7 measures again the .gpx of an activity named with a carriage return",
          "[cache][bug]") {
  // XmlEscape wrote CR raw, which XML readers read as a line feed; it
  // writes &#13; now, so such a .gpx grew by 4 bytes per CR per <name>.
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(1, "2024-05-12T11:30:00Z", "Line one\r\nLine two"), 1).ok());
    REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(2, "2024-05-13T11:30:00Z", "Plain"), 1).ok());
    for (int64_t id : {1, 2}) REQUIRE(ActivityStore(*cache).StoreStreams(id, Json::parse(kGpsStreams)).ok());
    CheckSizes(*cache, 1);
    // As schema v6 measured it: the CR raw, in two <name>s.
    REQUIRE(cache->Exec("UPDATE activity_sync SET gpx_size = gpx_size - 8 WHERE id = 1; "
                        "PRAGMA user_version = 6").ok());
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  const int64_t changes = QueryInt(raw, "SELECT count(*) FROM fs_changes");
  const int64_t rev2 = QueryInt(raw, "SELECT rev FROM activity_sync WHERE id=2");
  sqlite3_close(raw);

  auto upgraded = OpenCache(path);
  sqlite3* db = upgraded->db();
  CHECK(QueryInt(db, "PRAGMA user_version") == 7);
  CheckSizes(*upgraded, 1);
  CheckSizes(*upgraded, 2);
  // A running mount is told: one change, for activity 1 only.
  CHECK(QueryInt(db, "SELECT count(*) FROM fs_changes") == changes + 1);
  CHECK(QueryInt(db, "SELECT activity_id FROM fs_changes ORDER BY seq DESC LIMIT 1") == 1);
  CHECK(QueryInt(db, "SELECT rev FROM activity_sync WHERE id=2") == rev2);
}

TEST_CASE("Every write leaves the four sizes equal to the rendered files", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  // A hostile name: quotes, commas and a newline in the CSV, escapes in the JSON, XML in the GPX.
  Json s = Summary(7, "2024-05-12T05:30:00Z", "Café \"Tempo\", <5k> & more\nline 🏃");
  s["elapsed_time"] = 1620.0;  // a float where an integer is usual: "1620.0" in the .json
  s["max_speed"] = -0.0;
  REQUIRE(*ActivityStore(*cache).UpsertSummary(s, 1) == Upsert::kNew);
  CheckSizes(*cache, 7);

  // From the listing's parser, measured as the sync does.
  auto rows = ParseActivityPage("[" + Summary(8, "2024-05-13T05:30:00Z", "Lunch \\ Ride").dump(2) + "]");
  REQUIRE(rows.ok());
  MeasureRow((*rows)[0]);
  REQUIRE((*rows)[0].json_size > 0);
  REQUIRE(*ActivityStore(*cache).UpsertRow((*rows)[0], 1) == Upsert::kNew);
  CheckSizes(*cache, 8);
  // A row of unknown size is measured by the cache.
  ActivityRow unknown = RowFromJson(Summary(9, "2024-05-14T05:30:00Z"));
  REQUIRE(unknown.json_size == -1);
  REQUIRE(unknown.csv_row_size == -1);
  REQUIRE(*ActivityStore(*cache).UpsertRow(unknown, 1) == Upsert::kNew);
  CheckSizes(*cache, 9);

  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(s, 3)).ok());
  CheckSizes(*cache, 7);
  REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::parse(kGpsStreams)).ok());
  CHECK(QueryInt(cache->db(), "SELECT gpx_size FROM activity_sync WHERE id=7") > 0);
  CheckSizes(*cache, 7);

  SECTION("a new title renames the .gpx's track too") {
    const int64_t before = QueryInt(cache->db(), "SELECT gpx_size FROM activity_sync WHERE id=7");
    Json edited = s;
    edited["name"] = "A much, much longer title than before";
    REQUIRE(*ActivityStore(*cache).UpsertSummary(edited, 2) == Upsert::kChanged);
    CheckSizes(*cache, 7);
    CHECK(QueryInt(cache->db(), "SELECT gpx_size FROM activity_sync WHERE id=7") != before);
    // A fresh detail with streams held: measured again.
    Json detail = Detail(edited, 1);
    detail["name"] = "Short";
    detail["sport_type"] = "TrailRun";
    REQUIRE(ActivityStore(*cache).StoreDetail(detail).ok());
    CheckSizes(*cache, 7);
  }
  SECTION("a crop re-queues the streams; the samples held keep their files") {
    Json cropped = s;
    cropped["distance"] = 4000.0;
    REQUIRE(*ActivityStore(*cache).UpsertSummary(cropped, 2) == Upsert::kChanged);
    CHECK(SyncState(*cache, 7).streams_state == 0);
    CheckSizes(*cache, 7);
    CHECK(QueryText(cache->db(), "SELECT typeof(gpx_size) FROM activity_sync WHERE id=7") == "integer");
  }
  SECTION("streams without a position: a .csv, no .gpx") {
    REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::parse(R"({"time": {"data": [0, 1, 2]}, "watts": {"data": [1.5, 2, 3]}})")).ok());
    CheckSizes(*cache, 7);
    CHECK(QueryText(cache->db(), "SELECT typeof(gpx_size) FROM activity_sync WHERE id=7") == "null");
  }
  SECTION("empty streams: neither") {
    REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::object()).ok());
    CheckSizes(*cache, 7);
    CHECK(QueryText(cache->db(), "SELECT typeof(streams_csv_size) FROM activity_sync WHERE id=7") == "null");
  }
  SECTION("MarkNoStreams changes no file") {
    REQUIRE(ActivityStore(*cache).MarkNoStreams(8).ok());
    CheckSizes(*cache, 8);
    REQUIRE(ActivityStore(*cache).MarkNoStreams(7).ok());
    CheckSizes(*cache, 7);
  }
}

TEST_CASE("Sizes are exact for every activity the emulator makes, summary to streams", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  emu::GenParams params;
  params.count = 120;
  params.seed = 11;
  params.end = 1767225600;
  const emu::Generated gen = emu::generate(params);
  emu::RenderCtx ctx;
  ctx.athlete_id = params.athlete_id;
  ctx.samples = 40;
  std::string page = "[";
  for (size_t i = 0; i < gen.activities.size(); ++i) page += (i ? "," : "") + emu::summary_json(gen.activities[i], ctx).dump();
  auto rows = ParseActivityPage(page + "]");
  REQUIRE(rows.ok());
  for (const ActivityRow& row : *rows) REQUIRE(*ActivityStore(*cache).UpsertRow(row, 1) == Upsert::kNew);
  const std::vector<std::string> keys = {"time", "distance", "latlng", "altitude", "velocity_smooth", "heartrate",
                                         "cadence", "watts", "temp", "moving", "grade_smooth"};
  for (size_t i = 0; i < gen.activities.size(); ++i) {
    const emu::Activity& a = gen.activities[i];
    if (i % 3 != 0) REQUIRE(ActivityStore(*cache).StoreDetail(emu::detail_json(a, ctx)).ok());
    if (!a.has_streams()) REQUIRE(ActivityStore(*cache).MarkNoStreams(a.id).ok());
    else if (i % 4 != 0) REQUIRE(ActivityStore(*cache).StoreStreams(a.id, emu::streams_json(a, ctx, keys, true)).ok());
    if (i % 5 == 0) {  // renamed on Strava
      Json edited = emu::summary_json(a, ctx);
      edited["name"] = "Renamed, \"again\" <" + std::to_string(i) + ">";
      REQUIRE(*ActivityStore(*cache).UpsertSummary(edited, 2) == Upsert::kChanged);
    }
  }
  for (const emu::Activity& a : gen.activities) CheckSizes(*cache, a.id);
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activity_sync WHERE gpx_size IS NOT NULL") > 10);
}

TEST_CASE("LoadSamples gives the samples held, in seq order", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  CHECK(ActivityStore(*cache).LoadSamples(7)->empty());
  REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::parse(kGpsStreams)).ok());
  auto samples = ActivityStore(*cache).LoadSamples(7);
  REQUIRE(samples.ok());
  REQUIRE(samples->size() == 4);
  CHECK(RenderStreamsCsv(*samples) == RenderStreamsCsv(SamplesBySql(cache->db(), 7)));
  for (size_t i = 0; i < 4; ++i) CHECK((*samples)[i].seq == static_cast<int64_t>(i));
  CHECK((*samples)[1].lat == 48.857);
  CHECK_FALSE((*samples)[2].lat.has_value());
  CHECK_FALSE((*samples)[2].heartrate.has_value());
  CHECK((*samples)[0].moving == 0.0);
  CHECK((*samples)[3].time == 30.0);
  CHECK_FALSE((*samples)[0].cadence.has_value());
  CHECK(ActivityStore(*cache).LoadSamples(8)->empty());
}

TEST_CASE("StoreStreams of an activity not held stores nothing", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(ActivityStore(*cache).StoreStreams(99, Json::parse(kGpsStreams)).ok());
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM streams") == 0);
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM fs_changes") == 0);
  // So an activity of that id, listed later, holds no streams.
  REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(99, "2024-05-12T11:30:00Z"), 1).ok());
  CheckSizes(*cache, 99);
}

struct Change {
  int64_t id;
  std::string year, month, base;  // "NULL" when NULL
};

std::vector<Change> ChangesAfter(Cache& c, int64_t seq) {
  const std::string tail = " FROM fs_changes WHERE seq > " + std::to_string(seq) + " ORDER BY seq";
  auto ids = QueryColumn(c.db(), "SELECT activity_id" + tail), years = QueryColumn(c.db(), "SELECT old_year" + tail),
       months = QueryColumn(c.db(), "SELECT old_month" + tail), bases = QueryColumn(c.db(), "SELECT old_base" + tail);
  std::vector<Change> out;
  for (size_t i = 0; i < ids.size(); ++i) out.push_back({std::stoll(ids[i]), years[i], months[i], bases[i]});
  return out;
}

int64_t LastSeq(Cache& c) { return QueryInt(c.db(), "SELECT coalesce(max(seq), 0) FROM fs_changes"); }

int64_t Rev(Cache& c, int64_t id) {
  return QueryInt(c.db(), "SELECT rev FROM activity_sync WHERE id=" + std::to_string(id));
}

TEST_CASE("activity_sync.rev is the seq of the activity's last logged write", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(7, "2024-05-12T05:30:00Z", "Morning Run");
  REQUIRE(*ActivityStore(*cache).UpsertSummary(s, 1) == Upsert::kNew);
  REQUIRE(*ActivityStore(*cache).UpsertSummary(Summary(8, "2024-05-13T05:30:00Z"), 1) == Upsert::kNew);
  CHECK(Rev(*cache, 7) == 1);
  CHECK(Rev(*cache, 8) == 2);
  // Unchanged: same version. Every change after: a larger one.
  REQUIRE(*ActivityStore(*cache).UpsertSummary(s, 2) == Upsert::kUnchanged);
  CHECK(Rev(*cache, 7) == 1);
  s["kudos_count"] = 3;  // the same size, other bytes
  REQUIRE(*ActivityStore(*cache).UpsertSummary(s, 3) == Upsert::kChanged);
  CHECK(Rev(*cache, 7) == LastSeq(*cache));
  CHECK(Rev(*cache, 7) == 3);
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(s, 1)).ok());
  CHECK(Rev(*cache, 7) == 4);
  REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::parse(kGpsStreams)).ok());
  CHECK(Rev(*cache, 7) == 5);
  REQUIRE(ActivityStore(*cache).MarkNoStreams(8).ok());  // no file changes
  CHECK(Rev(*cache, 8) == 2);
  // Pruning keeps the newest row, so versions keep growing.
  REQUIRE(ActivityStore(*cache).PruneFsChanges(1).ok());
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(Summary(8, "2024-05-13T05:30:00Z"), 1)).ok());
  CHECK(Rev(*cache, 8) == 6);
}

TEST_CASE("fs_changes logs every write with where the files were before it", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  // Starts 05:30 UTC, 07:30 local (Summary adds two hours).
  Json s = Summary(7, "2024-05-12T05:30:00Z", "Morning Run");
  const std::string base = "2024-05-12_0730_Morning-Run_7";

  REQUIRE(*ActivityStore(*cache).UpsertSummary(s, 1) == Upsert::kNew);
  auto log = ChangesAfter(*cache, 0);
  REQUIRE(log.size() == 1);
  CHECK(log[0].id == 7);
  CHECK(log[0].year == "NULL");
  CHECK(log[0].month == "NULL");
  CHECK(log[0].base == "NULL");

  int64_t seq = LastSeq(*cache);
  REQUIRE(*ActivityStore(*cache).UpsertSummary(s, 2) == Upsert::kUnchanged);
  CHECK(ChangesAfter(*cache, seq).empty());

  Json renamed = s;
  renamed["name"] = "Evening Run";
  REQUIRE(*ActivityStore(*cache).UpsertSummary(renamed, 3) == Upsert::kChanged);
  log = ChangesAfter(*cache, seq);
  REQUIRE(log.size() == 1);
  CHECK(log[0].id == 7);
  CHECK(log[0].year == "2024");
  CHECK(log[0].month == "5");
  CHECK(log[0].base == base);

  // Moved to another month: the old place is logged.
  seq = LastSeq(*cache);
  Json moved = renamed;
  moved["start_date"] = "2024-06-02T05:30:00Z";
  moved["start_date_local"] = "2024-06-02T07:30:00Z";
  REQUIRE(*ActivityStore(*cache).UpsertSummary(moved, 4) == Upsert::kChanged);
  log = ChangesAfter(*cache, seq);
  REQUIRE(log.size() == 1);
  CHECK(log[0].base == "2024-05-12_0730_Evening-Run_7");
  CHECK(log[0].month == "5");

  // Detail and streams: logged where the files are.
  const std::string now = "2024-06-02_0730_Evening-Run_7";
  seq = LastSeq(*cache);
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(moved, 1)).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(7, Json::parse(kGpsStreams)).ok());
  log = ChangesAfter(*cache, seq);
  REQUIRE(log.size() == 2);
  for (const Change& c : log) {
    CHECK(c.id == 7);
    CHECK(c.year == "2024");
    CHECK(c.month == "6");
    CHECK(c.base == now);
  }
  // MarkNoStreams changes no file; writes to activities not held log nothing.
  seq = LastSeq(*cache);
  REQUIRE(ActivityStore(*cache).MarkNoStreams(7).ok());
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(Summary(8, "2024-05-13T11:30:00Z"), 1)).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(8, Json::parse(kGpsStreams)).ok());
  REQUIRE(ActivityStore(*cache).DeleteActivity(8).ok());
  CHECK(ChangesAfter(*cache, seq).empty());

  REQUIRE(ActivityStore(*cache).DeleteActivity(7).ok());
  log = ChangesAfter(*cache, seq);
  REQUIRE(log.size() == 1);
  CHECK(log[0].id == 7);
  CHECK(log[0].base == now);
  CHECK(log[0].month == "6");
  seq = LastSeq(*cache);
  REQUIRE(ActivityStore(*cache).DeleteActivity(7).ok());
  CHECK(ChangesAfter(*cache, seq).empty());

  // A title that leaves nothing takes the sport's name, as the mount does.
  REQUIRE(*ActivityStore(*cache).UpsertSummary(Summary(9, "2024-05-12T05:30:00Z", "///"), 1) == Upsert::kNew);
  REQUIRE(ActivityStore(*cache).DeleteActivity(9).ok());
  CHECK(ChangesAfter(*cache, LastSeq(*cache) - 1)[0].base == "2024-05-12_0730_Run_9");

  // Rolled back with its transaction, like the write it logs.
  seq = LastSeq(*cache);
  {
    Transaction tx(*cache);
    REQUIRE(*ActivityStore(*cache).UpsertSummary(Summary(10, "2024-05-12T05:30:00Z"), 1) == Upsert::kNew);
  }
  CHECK(ChangesAfter(*cache, seq).empty());
}

TEST_CASE("PruneFsChanges keeps the newest rows, and seq keeps growing", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(ActivityStore(*cache).PruneFsChanges(10).ok());  // empty: nothing to do
  for (int id = 1; id <= 20; ++id)
    REQUIRE(ActivityStore(*cache).UpsertSummary(Summary(id, "2024-05-12T05:30:00Z"), 1).ok());
  const int64_t last = LastSeq(*cache);
  REQUIRE(ActivityStore(*cache).PruneFsChanges(100).ok());
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM fs_changes") == 20);
  REQUIRE(ActivityStore(*cache).PruneFsChanges(5).ok());
  CHECK(QueryColumn(cache->db(), "SELECT activity_id FROM fs_changes ORDER BY seq") ==
        std::vector<std::string>{"16", "17", "18", "19", "20"});
  CHECK(LastSeq(*cache) == last);
  REQUIRE(ActivityStore(*cache).PruneFsChanges(0).ok());
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM fs_changes") == 1);
  CHECK(LastSeq(*cache) == last);
  REQUIRE(ActivityStore(*cache).DeleteActivity(3).ok());
  CHECK(LastSeq(*cache) == last + 1);
}

// Every row of a table, every column quoted: for comparing whole tables.
std::vector<std::string> TableRows(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const int type = sqlite3_column_type(st, i);
      if (type == SQLITE_NULL) row += "NULL|";
      else if (type == SQLITE_INTEGER) row += std::to_string(sqlite3_column_int64(st, i)) + "|";
      else if (type == SQLITE_FLOAT) row += std::to_string(sqlite3_column_double(st, i)) + "|";
      else row += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)), sqlite3_column_bytes(st, i)) + "|";
    }
    rows.push_back(row);
  }
  sqlite3_finalize(st);
  return rows;
}

// Schema v1 as stravafs 0.1 created it (activities comes from ActivityColumns(),
// which v2 did not change).
std::string SchemaV1Ddl() {
  std::string sql = "CREATE TABLE activities (\n";
  for (const auto& c : ActivityColumns())
    sql += "  " + std::string(c.name) + " " + SqlType(c.type) + (std::string_view(c.name) == "id" ? " PRIMARY KEY" : "") + ",\n";
  sql += "  json TEXT NOT NULL\n);\n";
  return sql + R"SQL(
CREATE INDEX activities_start_date ON activities(start_date);
CREATE INDEX activities_start_date_local ON activities(start_date_local);
CREATE INDEX activities_sport_type ON activities(sport_type, start_date);
CREATE TABLE activity_sync (
  id INTEGER PRIMARY KEY,
  summary_hash INTEGER NOT NULL,
  detail_state INTEGER NOT NULL,
  streams_state INTEGER NOT NULL,
  listed_run INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX activity_sync_pending ON activity_sync(detail_state, streams_state);
CREATE TABLE streams (
  activity_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  time INTEGER, distance REAL, lat REAL, lng REAL, altitude REAL, velocity REAL,
  heartrate REAL, cadence REAL, watts REAL, temp REAL, moving INTEGER, grade REAL,
  PRIMARY KEY (activity_id, seq)
) WITHOUT ROWID;
CREATE TABLE laps (
  activity_id INTEGER NOT NULL,
  lap_index INTEGER NOT NULL,
  id INTEGER, name TEXT, start_date TEXT, start_date_local TEXT,
  elapsed_time INTEGER, moving_time INTEGER, distance REAL, total_elevation_gain REAL,
  average_speed REAL, max_speed REAL, average_heartrate REAL, max_heartrate REAL,
  average_cadence REAL, average_watts REAL, start_index INTEGER, end_index INTEGER,
  json TEXT NOT NULL,
  PRIMARY KEY (activity_id, lap_index)
) WITHOUT ROWID;
CREATE TABLE gear (
  id TEXT PRIMARY KEY, name TEXT, brand_name TEXT, model_name TEXT,
  distance REAL, primary_gear INTEGER, retired INTEGER, json TEXT NOT NULL
);
CREATE TABLE athletes (
  id INTEGER PRIMARY KEY, username TEXT, firstname TEXT, lastname TEXT,
  city TEXT, state TEXT, country TEXT, sex TEXT, premium INTEGER,
  created_at TEXT, weight REAL, ftp REAL, json TEXT NOT NULL
);
CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIEW activities_units AS SELECT id, name FROM activities;
PRAGMA user_version = 1;
)SQL";
}

TEST_CASE("A v1 cache upgrades to v6 with every size filled and no data lost", "[cache][sizes]") {
  TempDir tmp;
  const std::string v2_path = tmp / "v2.db", v1_path = tmp / "v1.db";
  // The data, written by this stravafs; then copied into a cache made with the v1 DDL.
  auto source = OpenCache(v2_path);
  std::vector<int64_t> ids;
  for (int i = 0; i < 6; ++i) {
    Json s = Summary(100 + i, "2024-0" + std::to_string(1 + i) + "-12T05:30:00Z", "Run \"" + std::to_string(i) + "\", ü");
    REQUIRE(ActivityStore(*source).UpsertSummary(s, 1).ok());
    if (i % 2 == 0) REQUIRE(ActivityStore(*source).StoreDetail(Detail(s, 2)).ok());
    if (i % 3 == 0) REQUIRE(ActivityStore(*source).StoreStreams(100 + i, Json::parse(kGpsStreams)).ok());
    if (i == 1) REQUIRE(ActivityStore(*source).StoreStreams(100 + i, Json::parse(R"({"time": {"data": [0, 1]}})")).ok());
    if (i == 5) REQUIRE(ActivityStore(*source).MarkNoStreams(100 + i).ok());
    ids.push_back(100 + i);
  }
  REQUIRE(AthleteStore(*source).StoreGear({{"id", "b1"}, {"name", "Trusty"}}).ok());
  REQUIRE(AthleteStore(*source).StoreAthlete({{"id", 4242}, {"firstname", "Ada"}}).ok());
  REQUIRE(SetState(*source, "history_complete", "2024-07-01T00:00:00Z").ok());

  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(v1_path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, SchemaV1Ddl().c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  const std::string copy = "ATTACH '" + v2_path + "' AS v2;"
                           "INSERT INTO activities SELECT * FROM v2.activities;"
                           "INSERT INTO activity_sync SELECT id, summary_hash, detail_state, streams_state, listed_run "
                           "FROM v2.activity_sync;"
                           "INSERT INTO streams SELECT * FROM v2.streams;"
                           "INSERT INTO streams(activity_id, seq, time) VALUES(999, 0, 1);"  // an orphan sample
                           "INSERT INTO laps SELECT * FROM v2.laps;"
                           "INSERT INTO gear SELECT * FROM v2.gear;"
                           "INSERT INTO athletes SELECT * FROM v2.athletes;"
                           "INSERT INTO sync_state SELECT * FROM v2.sync_state;"
                           "DETACH v2;";
  REQUIRE(sqlite3_exec(raw, copy.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  // Readers never migrate: they say what to do and leave the file alone.
  auto ro = Cache::Open(v1_path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().kind() == ErrorKind::kCache);
  CHECK(ro.status().message() == "cache " + v1_path + " has schema version 1: run `stravafs sync` once to upgrade it");
  REQUIRE(sqlite3_open(v1_path.c_str(), &raw) == SQLITE_OK);
  CHECK(QueryInt(raw, "PRAGMA user_version") == 1);
  CHECK(QueryInt(raw, "SELECT count(*) FROM sqlite_master WHERE name='fs_changes'") == 0);
  sqlite3_close(raw);

  auto upgraded = OpenCache(v1_path);
  sqlite3* db = upgraded->db();
  CHECK(QueryInt(db, "PRAGMA user_version") == 7);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE rev != 0") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE source IS NOT NULL") == 0);
  for (int64_t id : ids) CheckSizes(*upgraded, id);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE json_size IS NULL OR csv_row_size IS NULL") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE gpx_size IS NOT NULL") == 2);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE streams_csv_size IS NOT NULL") == 3);
  CHECK(QueryInt(db, "SELECT count(*) FROM fs_changes") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=999") == 0);
  // The same sizes as the cache that wrote them, and the same data.
  const std::string sizes = "SELECT id, json_size, csv_row_size, streams_csv_size, gpx_size FROM activity_sync ORDER BY id";
  CHECK(TableRows(db, sizes) == TableRows(source->db(), sizes));
  for (const char* sql :
       {"SELECT * FROM activities ORDER BY id", "SELECT * FROM streams ORDER BY activity_id, seq",
        "SELECT * FROM laps ORDER BY activity_id, lap_index", "SELECT * FROM gear", "SELECT * FROM athletes",
        "SELECT * FROM sync_state ORDER BY key",
        "SELECT id, summary_hash, detail_state, streams_state, listed_run FROM activity_sync ORDER BY id"}) {
    INFO(sql);
    CHECK(TableRows(db, sql) == TableRows(source->db(), sql));
  }
  // And it works as a v2 cache from then on.
  REQUIRE(*ActivityStore(*upgraded).UpsertSummary(Summary(100, "2024-01-12T05:30:00Z", "Renamed"), 2) == Upsert::kChanged);
  CheckSizes(*upgraded, 100);
  CHECK(QueryInt(db, "SELECT count(*) FROM fs_changes") == 1);
  upgraded.reset();
  auto reader = Cache::Open(v1_path, Cache::Mode::kReadOnly);
  INFO(reader.status().message());
  CHECK(reader.ok());
}

}  // namespace
}  // namespace stravafs
