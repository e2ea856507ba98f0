// Tests for cache.cc on real SQLite files in a temp dir: opening (schema
// version, WAL, private file, refusing newer and damaged caches), the
// activity upsert (new/unchanged/changed, detail-only fields surviving an
// edit), details with laps, streams, deletions, the deep-work queue and the
// sync_state key/value store. Assertions read the tables with plain SQL, the
// way BI tools will.
#include "cache.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fake_transport.h"
#include "sql_helpers.h"

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

TEST_CASE("Cache::Open creates a private WAL database at schema version 1", "[cache]") {
  TempDir tmp;
  const std::string dir = tmp / "data/stravafs", path = dir + "/cache.db";
  auto cache = OpenCache(path);
  CHECK(kSchemaVersion == 1);
  CHECK(QueryInt(cache->db(), "PRAGMA user_version") == 1);
  CHECK(QueryText(cache->db(), "PRAGMA journal_mode") == "wal");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  CHECK(cache->path() == path);
  auto tables = QueryColumn(cache->db(), "SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name");
  CHECK(tables == std::vector<std::string>{"activities", "activities_units", "activity_sync", "athletes", "gear",
                                           "laps", "streams", "sync_state"});
}

TEST_CASE("Cache::Open keeps the data of an existing cache", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    REQUIRE(cache->UpsertSummary(Summary(1, "2024-05-12T11:30:00Z"), 0).ok());
  }
  auto again = OpenCache(path);
  CHECK(QueryInt(again->db(), "SELECT count(*) FROM activities") == 1);
  CHECK(QueryInt(again->db(), "PRAGMA user_version") == 1);
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE(ro.ok());
  CHECK(QueryText((*ro)->db(), "SELECT name FROM activities WHERE id=1") == "Morning Run");
}

TEST_CASE("Cache::Open refuses a cache from a newer stravafs and leaves it alone", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "CREATE TABLE future(x); PRAGMA user_version = 2;", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  auto rw = Cache::Open(path, Cache::Mode::kReadWrite);
  REQUIRE_FALSE(rw.ok());
  CHECK(rw.status().kind() == ErrorKind::kCache);
  CHECK(rw.status().message() == "cache " + path +
                                     " has schema version 2, newer than this stravafs understands (1): upgrade stravafs");
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().kind() == ErrorKind::kCache);
  CHECK(ro.status().message() == "cache " + path + " has schema version 2, this stravafs reads version 1: upgrade stravafs");

  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  CHECK(QueryInt(raw, "PRAGMA user_version") == 2);
  CHECK(QueryInt(raw, "SELECT count(*) FROM sqlite_master WHERE name='activities'") == 0);
  sqlite3_close(raw);
}

TEST_CASE("Cache::Open read-only of a missing cache says to run stravafs sync", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "nowhere/cache.db";
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().kind() == ErrorKind::kCache);
  CHECK(ro.status().message() == "no cache at " + path + " yet: run `stravafs sync` first");
  CHECK_FALSE(std::filesystem::exists(tmp / "nowhere"));
}

TEST_CASE("Cache::Open read-only of an old empty file asks for a migrating sync", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "CREATE TABLE t(x)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().message() == "cache " + path +
                                     " has schema version 0, this stravafs reads version 1: run `stravafs sync` once to migrate it");
}

TEST_CASE("Cache::Open of a file that is not SQLite says it is damaged", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  std::ofstream(path) << "this is not an SQLite database, not even close; " << std::string(200, 'x');
  auto rw = Cache::Open(path, Cache::Mode::kReadWrite);
  REQUIRE_FALSE(rw.ok());
  CHECK(rw.status().kind() == ErrorKind::kCache);
  CHECK_THAT(rw.status().message(), Catch::Contains(path));
  CHECK_THAT(rw.status().message(), Catch::Contains("move it aside and run `stravafs sync` to rebuild it"));
}

// --- activities --------------------------------------------------------------------------

TEST_CASE("UpsertSummary stores a new activity in typed columns", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(INT64_C(11234567890), "2024-05-12T05:30:00Z", "Café «Ride» 🚴");
  auto r = cache->UpsertSummary(s, 3);
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
  REQUIRE(*cache->UpsertSummary(s, 1) == Upsert::kNew);
  REQUIRE(cache->StoreStreams(7, Json::object()).ok());
  REQUIRE(cache->StoreDetail(Detail(s, 1)).ok());
  auto r = cache->UpsertSummary(s, 4);
  REQUIRE(r.ok());
  CHECK(*r == Upsert::kUnchanged);
  SyncRow sync = SyncState(*cache, 7);
  CHECK(sync.listed_run == 4);
  CHECK(sync.detail_state == 1);  // nothing to fetch again
  CHECK(sync.streams_state == 1);
  CHECK(QueryInt(cache->db(), "SELECT detail_level FROM activities WHERE id=7") == 3);
  // An incremental listing (run 0) never lowers the run that last saw it.
  CHECK(*cache->UpsertSummary(s, 0) == Upsert::kUnchanged);
  CHECK(SyncState(*cache, 7).listed_run == 4);
}

TEST_CASE("UpsertSummary: an edit keeps detail-only fields and re-queues the detail", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(7, "2024-05-12T05:30:00Z");
  REQUIRE(*cache->UpsertSummary(s, 1) == Upsert::kNew);
  REQUIRE(cache->StoreDetail(Detail(s, 2)).ok());
  REQUIRE(cache->StoreStreams(7, Json::object()).ok());

  SECTION("a new title: streams stay") {
    Json edited = s;
    edited["name"] = "Evening Run";
    auto r = cache->UpsertSummary(edited, 2);
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
    auto work = cache->PendingDeepWork(true, true, 10);
    REQUIRE(work.ok());
    REQUIRE(work->size() == 1);
    CHECK((*work)[0].id == 7);
    CHECK((*work)[0].detail);
    CHECK_FALSE((*work)[0].streams);
    // The same edit listed again is unchanged.
    CHECK(*cache->UpsertSummary(edited, 3) == Upsert::kUnchanged);
  }
  SECTION("a crop (new distance): streams are fetched again") {
    Json cropped = s;
    cropped["distance"] = 4000.0;
    REQUIRE(*cache->UpsertSummary(cropped, 2) == Upsert::kChanged);
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
  auto r = cache->UpsertSummary(bad, 1);
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
  REQUIRE(cache->UpsertSummary(s, 1).ok());
  Json d = Detail(s, 3);
  REQUIRE(cache->StoreDetail(d).ok());
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
  REQUIRE(cache->StoreDetail(Detail(s, 1)).ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM laps WHERE activity_id=7") == 1);

  // A detail of an activity deleted meanwhile stores nothing.
  REQUIRE(cache->StoreDetail(Detail(Summary(8, "2024-05-13T11:30:00Z"), 2)).ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM activities WHERE id=8") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM laps WHERE activity_id=8") == 0);
}

TEST_CASE("StoreStreams writes one row per sample", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(cache->UpsertSummary(Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  Json streams = Json::parse(R"({
    "time": {"data": [0, 1, 2, 3], "series_type": "distance", "original_size": 4, "resolution": "high"},
    "latlng": {"data": [[48.1, 2.1], null, [48.3, 2.3], [48.4, 2.4]]},
    "distance": {"data": [0, 2.5, 5.0, 7.5]},
    "heartrate": {"data": [120, null, 122, 123]},
    "moving": {"data": [false, true, true, false]},
    "velocity_smooth": {"data": [0, 2.5, 2.5, 0]},
    "grade_smooth": {"data": [0.5, -1.0]}
  })");
  REQUIRE(cache->StoreStreams(7, streams).ok());
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
  REQUIRE(cache->StoreStreams(7, Json::parse(R"({"time": {"data": [0, 5]}})")).ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=7") == 2);
  CHECK(QueryInt(db, "SELECT max(time) FROM streams WHERE activity_id=7") == 5);
}

TEST_CASE("MarkNoStreams takes the activity off the streams queue", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(cache->UpsertSummary(Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  REQUIRE(cache->MarkNoStreams(7).ok());
  CHECK(SyncState(*cache, 7).streams_state == 2);
  auto work = cache->PendingDeepWork(false, true, 10);
  REQUIRE(work.ok());
  CHECK(work->empty());
  CHECK(*cache->CountPendingDeepWork(false, true) == 0);
  CHECK(*cache->CountPendingDeepWork(true, true) == 1);  // the detail is still wanted
}

TEST_CASE("DeleteActivity removes the row, its bookkeeping, streams and laps", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s7 = Summary(7, "2024-05-12T11:30:00Z"), s8 = Summary(8, "2024-05-13T11:30:00Z");
  for (const Json* s : {&s7, &s8}) {
    REQUIRE(cache->UpsertSummary(*s, 1).ok());
    REQUIRE(cache->StoreDetail(Detail(*s, 2)).ok());
    REQUIRE(cache->StoreStreams((*s)["id"].get<int64_t>(), Json::parse(R"({"time": {"data": [0, 1, 2]}})")).ok());
  }
  REQUIRE(cache->DeleteActivity(7).ok());
  sqlite3* db = cache->db();
  CHECK(QueryInt(db, "SELECT count(*) FROM activities WHERE id=7") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE id=7") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=7") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM laps WHERE activity_id=7") == 0);
  // The other one is untouched.
  CHECK(QueryInt(db, "SELECT count(*) FROM activities WHERE id=8") == 1);
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=8") == 3);
  CHECK(QueryInt(db, "SELECT count(*) FROM laps WHERE activity_id=8") == 2);
  REQUIRE(cache->DeleteActivity(7).ok());  // twice: nothing to do, no error
}

TEST_CASE("PendingDeepWork lists newest first, within the limit", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  // Inserted out of order.
  REQUIRE(cache->UpsertSummary(Summary(2, "2024-05-02T08:00:00Z"), 1).ok());
  REQUIRE(cache->UpsertSummary(Summary(4, "2024-05-04T08:00:00Z"), 1).ok());
  REQUIRE(cache->UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
  REQUIRE(cache->UpsertSummary(Summary(3, "2024-05-03T08:00:00Z"), 1).ok());
  REQUIRE(cache->StoreDetail(Detail(Summary(3, "2024-05-03T08:00:00Z"), 0)).ok());
  REQUIRE(cache->MarkNoStreams(2).ok());

  auto ids = [](const std::vector<DeepWork>& w) {
    std::vector<int64_t> out;
    for (const auto& x : w) out.push_back(x.id);
    return out;
  };
  auto all = cache->PendingDeepWork(true, true, 100);
  REQUIRE(all.ok());
  CHECK(ids(*all) == std::vector<int64_t>{4, 3, 2, 1});
  CHECK(((*all)[0].detail && (*all)[0].streams));
  CHECK((!(*all)[1].detail && (*all)[1].streams));  // 3: detail fetched
  CHECK(((*all)[2].detail && !(*all)[2].streams));  // 2: no streams on Strava
  CHECK(*cache->CountPendingDeepWork(true, true) == 3 + 3);

  auto two = cache->PendingDeepWork(true, true, 2);
  REQUIRE(two.ok());
  CHECK(ids(*two) == std::vector<int64_t>{4, 3});

  auto details_only = cache->PendingDeepWork(true, false, 100);
  REQUIRE(details_only.ok());
  CHECK(ids(*details_only) == std::vector<int64_t>{4, 2, 1});
  for (const auto& w : *details_only) CHECK_FALSE(w.streams);
  CHECK(*cache->CountPendingDeepWork(true, false) == 3);

  auto streams_only = cache->PendingDeepWork(false, true, 100);
  REQUIRE(streams_only.ok());
  CHECK(ids(*streams_only) == std::vector<int64_t>{4, 3, 1});
  for (const auto& w : *streams_only) CHECK_FALSE(w.detail);

  auto nothing = cache->PendingDeepWork(false, false, 100);
  REQUIRE(nothing.ok());
  CHECK(nothing->empty());
}

TEST_CASE("IdsNotListedBy, IdsStartingBetween and NewestStartEpoch", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  auto newest = cache->NewestStartEpoch();
  REQUIRE(newest.ok());
  CHECK_FALSE(newest->has_value());

  for (int id = 1; id <= 4; ++id)
    REQUIRE(cache->UpsertSummary(Summary(id, "2024-05-0" + std::to_string(id) + "T08:00:00Z"), 1).ok());
  // Run 2 lists 1 and 3 (3 edited meanwhile).
  REQUIRE(*cache->UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 2) == Upsert::kUnchanged);
  REQUIRE(*cache->UpsertSummary(Summary(3, "2024-05-03T08:00:00Z", "Renamed"), 2) == Upsert::kChanged);

  auto gone = cache->IdsNotListedBy(2, *ParseIsoUtc("2024-06-01T00:00:00Z"));
  REQUIRE(gone.ok());
  std::sort(gone->begin(), gone->end());
  CHECK(*gone == std::vector<int64_t>{2, 4});
  // Only those starting before `before`.
  auto early = cache->IdsNotListedBy(2, *ParseIsoUtc("2024-05-04T08:00:00Z"));
  REQUIRE(early.ok());
  CHECK(*early == std::vector<int64_t>{2});
  CHECK(cache->IdsNotListedBy(1, *ParseIsoUtc("2024-06-01T00:00:00Z"))->empty());

  // Exclusive bounds, like Strava's after/before.
  auto between = cache->IdsStartingBetween(*ParseIsoUtc("2024-05-02T08:00:00Z"), *ParseIsoUtc("2024-05-04T08:00:00Z"));
  REQUIRE(between.ok());
  CHECK(*between == std::vector<int64_t>{3});

  newest = cache->NewestStartEpoch();
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
  for (const Json* s : {&a, &b, &c}) REQUIRE(cache->UpsertSummary(*s, 1).ok());
  CHECK(*cache->MissingGearIds() == std::vector<std::string>{"b1", "g2"});
  REQUIRE(cache->StoreGear({{"id", "b1"}, {"name", "Trusty"}, {"distance", 12.5}, {"primary", true}}).ok());
  CHECK(*cache->MissingGearIds() == std::vector<std::string>{"g2"});
  CHECK(QueryText(cache->db(), "SELECT name FROM gear WHERE id='b1'") == "Trusty");
  CHECK(QueryInt(cache->db(), "SELECT primary_gear FROM gear WHERE id='b1'") == 1);
  auto bad_gear = cache->StoreGear({{"id", 5}});
  CHECK(bad_gear.kind() == ErrorKind::kServer);

  CHECK(*cache->HasAthlete() == false);
  CHECK(cache->StoreAthlete({{"firstname", "Ada"}}).kind() == ErrorKind::kServer);
  REQUIRE(cache->StoreAthlete({{"id", 4242}, {"firstname", "Ada"}, {"premium", true}, {"weight", 60.5}}).ok());
  CHECK(*cache->HasAthlete() == true);
  CHECK(QueryText(cache->db(), "SELECT firstname FROM athletes WHERE id=4242") == "Ada");
  CHECK(QueryReal(cache->db(), "SELECT weight FROM athletes WHERE id=4242") == 60.5);

  REQUIRE(cache->StoreDetail(Detail(a, 2)).ok());
  REQUIRE(cache->StoreStreams(2, Json::parse(R"({"time": {"data": [0, 1, 2]}})")).ok());
  auto counts = cache->Counts();
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
    auto missing = cache->GetState("job");
    REQUIRE(missing.ok());
    CHECK_FALSE(missing->has_value());
    REQUIRE(cache->SetState("job", R"({"page":3})").ok());
    CHECK(**cache->GetState("job") == R"({"page":3})");
    REQUIRE(cache->SetState("job", R"({"page":4})").ok());
    CHECK(**cache->GetState("job") == R"({"page":4})");
    REQUIRE(cache->SetState("last_success", "2024-05-13T10:00:00Z").ok());
    REQUIRE(cache->DeleteState("job").ok());
    CHECK_FALSE(cache->GetState("job")->has_value());
    REQUIRE(cache->DeleteState("job").ok());
  }
  auto again = OpenCache(path);
  CHECK(**again->GetState("last_success") == "2024-05-13T10:00:00Z");
}

TEST_CASE("Transaction rolls back unless committed", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  {
    Transaction tx(*cache);
    REQUIRE(tx.status().ok());
    REQUIRE(cache->UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
    REQUIRE(cache->SetState("job", "x").ok());
  }
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activities") == 0);
  CHECK_FALSE(cache->GetState("job")->has_value());
  {
    Transaction tx(*cache);
    REQUIRE(cache->UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
    REQUIRE(tx.Commit().ok());
  }
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activities") == 1);
}

TEST_CASE("activities_units view converts units", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(cache->UpsertSummary(Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
  CHECK(QueryReal(cache->db(), "SELECT distance_km FROM activities_units WHERE id=1") == Approx(5.0005));
  CHECK(QueryReal(cache->db(), "SELECT moving_time_min FROM activities_units WHERE id=1") == 25.0);
}

}  // namespace
}  // namespace stravafs
