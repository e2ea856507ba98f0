// Tests for activity_store.cc on real SQLite files in a temp dir: the
// activity upsert (new/unchanged/changed, detail-only fields surviving an
// edit), details with laps, streams, deletions and the deep-work queue; and
// after every write the mount's file sizes equal what fs_render makes of
// what the cache holds, and fs_changes logs where the files were.
// Assertions read the tables with plain SQL, the way BI tools will.
#include "cache/activity_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../../emulator/render.h"
#include "cache/athlete_store.h"
#include "cache/schema.h"
#include "cache/sync_state.h"
#include "cache_fixtures.h"
#include "fake_transport.h"
#include "format/render.h"
#include "format/sizes.h"
#include "model/activity.h"
#include "sql_helpers.h"
#include "upsert_summary.h"
#include "streams_of.h"

namespace stravafs {
namespace {

using testing::CheckSizes;
using testing::Detail;
using testing::kGpsStreams;
using testing::OpenCache;
using testing::QueryColumn;
using testing::QueryInt;
using testing::QueryReal;
using testing::QueryText;
using testing::SamplesBySql;
using testing::Summary;
using testing::TempDir;

struct SyncRow {
  int64_t detail_state, streams_state, listed_run;
};

SyncRow SyncRowOf(Cache& c, int64_t id) {
  std::string where = " FROM activity_sync WHERE id=" + std::to_string(id);
  REQUIRE(QueryInt(c.db(), "SELECT count(*)" + where) == 1);
  return {QueryInt(c.db(), "SELECT detail_state" + where), QueryInt(c.db(), "SELECT streams_state" + where),
          QueryInt(c.db(), "SELECT listed_run" + where)};
}

TEST_CASE("UpsertSummary stores a new activity in typed columns", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(INT64_C(11234567890), "2024-05-12T05:30:00Z", "Café «Ride» 🚴");
  auto r = UpsertSummary(*cache, s, 3);
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
  SyncRow sync = SyncRowOf(*cache, INT64_C(11234567890));
  CHECK(sync.detail_state == 0);
  CHECK(sync.streams_state == 0);
  CHECK(sync.listed_run == 3);
}

TEST_CASE("UpsertSummary: unchanged only marks the activity seen", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(7, "2024-05-12T05:30:00Z");
  REQUIRE(*UpsertSummary(*cache, s, 1) == Upsert::kNew);
  REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(Json::object())).ok());
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(s, 1)).ok());
  auto r = UpsertSummary(*cache, s, 4);
  REQUIRE(r.ok());
  CHECK(*r == Upsert::kUnchanged);
  SyncRow sync = SyncRowOf(*cache, 7);
  CHECK(sync.listed_run == 4);
  CHECK(sync.detail_state == 1);  // nothing to fetch again
  CHECK(sync.streams_state == 1);
  CHECK(QueryInt(cache->db(), "SELECT detail_level FROM activities WHERE id=7") == 3);
  // An incremental listing (run 0) never lowers the run that last saw it.
  CHECK(*UpsertSummary(*cache, s, 0) == Upsert::kUnchanged);
  CHECK(SyncRowOf(*cache, 7).listed_run == 4);
}

TEST_CASE("UpsertSummary: an edit keeps detail-only fields and re-queues the detail", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s = Summary(7, "2024-05-12T05:30:00Z");
  REQUIRE(*UpsertSummary(*cache, s, 1) == Upsert::kNew);
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(s, 2)).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(Json::object())).ok());

  SECTION("a new title: streams stay") {
    Json edited = s;
    edited["name"] = "Evening Run";
    auto r = UpsertSummary(*cache, edited, 2);
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
    SyncRow sync = SyncRowOf(*cache, 7);
    CHECK(sync.detail_state == 0);
    CHECK(sync.streams_state == 1);
    CHECK(sync.listed_run == 2);
    auto work = ActivityStore(*cache).PendingDeepWork(0, true, true, 10);
    REQUIRE(work.ok());
    REQUIRE(work->size() == 1);
    CHECK((*work)[0].id == 7);
    CHECK((*work)[0].detail);
    CHECK_FALSE((*work)[0].streams);
    // The same edit listed again is unchanged.
    CHECK(*UpsertSummary(*cache, edited, 3) == Upsert::kUnchanged);
  }
  SECTION("a crop (new distance): streams are fetched again") {
    Json cropped = s;
    cropped["distance"] = 4000.0;
    REQUIRE(*UpsertSummary(*cache, cropped, 2) == Upsert::kChanged);
    SyncRow sync = SyncRowOf(*cache, 7);
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
  auto r = UpsertSummary(*cache, bad, 1);
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
  REQUIRE(UpsertSummary(*cache, s, 1).ok());
  Json d = Detail(s, 3);
  REQUIRE(ActivityStore(*cache).StoreDetail(d).ok());
  sqlite3* db = cache->db();
  CHECK(QueryText(db, "SELECT json FROM activities WHERE id=7") == d.dump());
  CHECK(QueryInt(db, "SELECT detail_level FROM activities WHERE id=7") == 3);
  CHECK(QueryText(db, "SELECT description FROM activities WHERE id=7") == "Legs felt great");
  CHECK(SyncRowOf(*cache, 7).detail_state == 1);
  CHECK(SyncRowOf(*cache, 7).streams_state == 0);
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
  REQUIRE(UpsertSummary(*cache, summary, 1).ok());
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
  REQUIRE(UpsertSummary(*cache, Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  Json streams = Json::parse(R"({
    "time": {"data": [0, 1, 2, 3], "series_type": "distance", "original_size": 4, "resolution": "high"},
    "latlng": {"data": [[48.1, 2.1], null, [48.3, 2.3], [48.4, 2.4]]},
    "distance": {"data": [0, 2.5, 5.0, 7.5]},
    "heartrate": {"data": [120, null, 122, 123]},
    "moving": {"data": [false, true, true, false]},
    "velocity_smooth": {"data": [0, 2.5, 2.5, 0]},
    "grade_smooth": {"data": [0.5, -1.0]}
  })");
  REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(streams)).ok());
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
  CHECK(QueryInt(db,
                 "SELECT count(*) FROM streams WHERE watts IS NOT NULL OR cadence IS NOT NULL OR "
                 "temp IS NOT NULL OR altitude IS NOT NULL") == 0);
  CHECK(SyncRowOf(*cache, 7).streams_state == 1);

  // Fetched again: replaced, not appended.
  REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(Json::parse(R"({"time": {"data": [0, 5]}})"))).ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=7") == 2);
  CHECK(QueryInt(db, "SELECT max(time) FROM streams WHERE activity_id=7") == 5);
}

// Found with the tests/fuzz streams oracle, on an input built from its
// dictionary's 18446744073709551615: nlohmann holds non-negative
// integers as uint64; one above INT64_MAX was bound through get<int64_t>(),
// which wraps, so 18446744073709551615 was stored as -1. Stream values are
// doubles now (StreamSet), and stay so.
TEST_CASE("StoreStreams stores an integer beyond int64 as a double, not wrapped", "[cache][bug]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(UpsertSummary(*cache, Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  // time: an INTEGER column, where SQLite keeps a whole double of at most
  // 2^51 as an integer, and a larger one as a double.
  REQUIRE(ActivityStore(*cache)
              .StoreStreams(7, StreamsOf(Json::parse(R"({"time": {"data": [18446744073709551615,
    9223372036854775808, 9223372036854775807, -9223372036854775808, 120]}})")))
              .ok());
  auto samples = ActivityStore(*cache).LoadSamples(7);
  REQUIRE(samples.ok());
  REQUIRE(samples->size() == 5);
  CHECK((*samples)[0].time == 18446744073709551615.0);
  CHECK((*samples)[1].time == 9223372036854775808.0);
  CHECK((*samples)[3].time == -9223372036854775808.0);
  CHECK(QueryColumn(cache->db(), "SELECT typeof(time) FROM streams ORDER BY seq") ==
        std::vector<std::string>{"real", "real", "real", "real", "integer"});
  CHECK(QueryInt(cache->db(), "SELECT time FROM streams WHERE seq=4") == 120);
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM streams WHERE time < 0") == 1);  // only INT64_MIN
}

TEST_CASE("MarkNoStreams takes the activity off the streams queue", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(UpsertSummary(*cache, Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  REQUIRE(ActivityStore(*cache).MarkNoStreams(7).ok());
  CHECK(SyncRowOf(*cache, 7).streams_state == 2);
  auto work = ActivityStore(*cache).PendingDeepWork(0, false, true, 10);
  REQUIRE(work.ok());
  CHECK(work->empty());
  CHECK(*ActivityStore(*cache).CountPendingDeepWork(0, false, true) == 0);
  CHECK(*ActivityStore(*cache).CountPendingDeepWork(0, true, true) == 1);  // the detail is still wanted
}

TEST_CASE("DeleteActivity removes the row, its bookkeeping, streams and laps", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json s7 = Summary(7, "2024-05-12T11:30:00Z"), s8 = Summary(8, "2024-05-13T11:30:00Z");
  for (const Json* s : {&s7, &s8}) {
    REQUIRE(UpsertSummary(*cache, *s, 1).ok());
    REQUIRE(ActivityStore(*cache).StoreDetail(Detail(*s, 2)).ok());
    REQUIRE(ActivityStore(*cache)
                .StoreStreams((*s)["id"].get<int64_t>(), StreamsOf(Json::parse(R"({"time": {"data": [0, 1, 2]}})")))
                .ok());
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
  REQUIRE(UpsertSummary(*cache, Summary(2, "2024-05-02T08:00:00Z"), 1).ok());
  REQUIRE(UpsertSummary(*cache, Summary(4, "2024-05-04T08:00:00Z"), 1).ok());
  REQUIRE(UpsertSummary(*cache, Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
  REQUIRE(UpsertSummary(*cache, Summary(3, "2024-05-03T08:00:00Z"), 1).ok());
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(Summary(3, "2024-05-03T08:00:00Z"), 0)).ok());
  REQUIRE(ActivityStore(*cache).MarkNoStreams(2).ok());

  auto ids = [](const std::vector<DeepWork>& w) {
    std::vector<int64_t> out;
    for (const auto& x : w) out.push_back(x.id);
    return out;
  };
  auto all = ActivityStore(*cache).PendingDeepWork(0, true, true, 100);
  REQUIRE(all.ok());
  CHECK(ids(*all) == std::vector<int64_t>{4, 3, 2, 1});
  CHECK(((*all)[0].detail && (*all)[0].streams));
  CHECK((!(*all)[1].detail && (*all)[1].streams));  // 3: detail fetched
  CHECK(((*all)[2].detail && !(*all)[2].streams));  // 2: no streams on Strava
  CHECK(*ActivityStore(*cache).CountPendingDeepWork(0, true, true) == 3 + 3);

  auto two = ActivityStore(*cache).PendingDeepWork(0, true, true, 2);
  REQUIRE(two.ok());
  CHECK(ids(*two) == std::vector<int64_t>{4, 3});

  auto details_only = ActivityStore(*cache).PendingDeepWork(0, true, false, 100);
  REQUIRE(details_only.ok());
  CHECK(ids(*details_only) == std::vector<int64_t>{4, 2, 1});
  for (const auto& w : *details_only) CHECK_FALSE(w.streams);
  CHECK(*ActivityStore(*cache).CountPendingDeepWork(0, true, false) == 3);

  auto streams_only = ActivityStore(*cache).PendingDeepWork(0, false, true, 100);
  REQUIRE(streams_only.ok());
  CHECK(ids(*streams_only) == std::vector<int64_t>{4, 3, 1});
  for (const auto& w : *streams_only) CHECK_FALSE(w.detail);

  auto nothing = ActivityStore(*cache).PendingDeepWork(0, false, false, 100);
  REQUIRE(nothing.ok());
  CHECK(nothing->empty());
}

TEST_CASE("IdsNotListedBy, IdsStartingBetween and NewestStartEpoch", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  auto newest = ActivityStore(*cache).NewestStartEpoch(0);
  REQUIRE(newest.ok());
  CHECK_FALSE(newest->has_value());

  for (int id = 1; id <= 4; ++id)
    REQUIRE(UpsertSummary(*cache, Summary(id, "2024-05-0" + std::to_string(id) + "T08:00:00Z"), 1).ok());
  // Run 2 lists 1 and 3 (3 edited meanwhile).
  REQUIRE(*UpsertSummary(*cache, Summary(1, "2024-05-01T08:00:00Z"), 2) == Upsert::kUnchanged);
  REQUIRE(*UpsertSummary(*cache, Summary(3, "2024-05-03T08:00:00Z", "Renamed"), 2) == Upsert::kChanged);

  auto gone = ActivityStore(*cache).IdsNotListedBy(0, 2, *ParseIsoUtc("2024-06-01T00:00:00Z"));
  REQUIRE(gone.ok());
  std::sort(gone->begin(), gone->end());
  CHECK(*gone == std::vector<int64_t>{2, 4});
  // Only those starting before `before`.
  auto early = ActivityStore(*cache).IdsNotListedBy(0, 2, *ParseIsoUtc("2024-05-04T08:00:00Z"));
  REQUIRE(early.ok());
  CHECK(*early == std::vector<int64_t>{2});
  CHECK(ActivityStore(*cache).IdsNotListedBy(0, 1, *ParseIsoUtc("2024-06-01T00:00:00Z"))->empty());

  // Exclusive bounds, like Strava's after/before.
  auto between = ActivityStore(*cache).IdsStartingBetween(0, *ParseIsoUtc("2024-05-02T08:00:00Z"),
                                                          *ParseIsoUtc("2024-05-04T08:00:00Z"));
  REQUIRE(between.ok());
  CHECK(*between == std::vector<int64_t>{3});

  newest = ActivityStore(*cache).NewestStartEpoch(0);
  REQUIRE(newest.ok());
  CHECK(*newest == ParseIsoUtc("2024-05-04T08:00:00Z"));
}

TEST_CASE("Every write leaves the four sizes equal to the rendered files", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  // A hostile name: quotes, commas and a newline in the CSV, escapes in the JSON, XML in the GPX.
  Json s = Summary(7, "2024-05-12T05:30:00Z", "Café \"Tempo\", <5k> & more\nline 🏃");
  s["elapsed_time"] = 1620.0;  // a float where an integer is usual: "1620.0" in the .json
  s["max_speed"] = -0.0;
  REQUIRE(*UpsertSummary(*cache, s, 1) == Upsert::kNew);
  CheckSizes(*cache, 7);

  // From the listing's parser, measured as the sync does.
  auto rows = ParseActivityPage("[" + Summary(8, "2024-05-13T05:30:00Z", "Lunch \\ Ride").dump(2) + "]");
  REQUIRE(rows.ok());
  MeasureRow((*rows)[0]);
  REQUIRE((*rows)[0].json_size > 0);
  REQUIRE(*ActivityStore(*cache).UpsertRow((*rows)[0], 1) == Upsert::kNew);
  CheckSizes(*cache, 8);
  // A row of unknown size is measured by the cache.
  ActivityRow unknown = *RowFromJson(Summary(9, "2024-05-14T05:30:00Z"));
  REQUIRE(unknown.json_size == -1);
  REQUIRE(unknown.csv_row_size == -1);
  REQUIRE(*ActivityStore(*cache).UpsertRow(unknown, 1) == Upsert::kNew);
  CheckSizes(*cache, 9);

  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(s, 3)).ok());
  CheckSizes(*cache, 7);
  REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(Json::parse(kGpsStreams))).ok());
  CHECK(QueryInt(cache->db(), "SELECT gpx_size FROM activity_sync WHERE id=7") > 0);
  CheckSizes(*cache, 7);

  SECTION("a new title renames the .gpx's track too") {
    const int64_t before = QueryInt(cache->db(), "SELECT gpx_size FROM activity_sync WHERE id=7");
    Json edited = s;
    edited["name"] = "A much, much longer title than before";
    REQUIRE(*UpsertSummary(*cache, edited, 2) == Upsert::kChanged);
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
    REQUIRE(*UpsertSummary(*cache, cropped, 2) == Upsert::kChanged);
    CHECK(SyncRowOf(*cache, 7).streams_state == 0);
    CheckSizes(*cache, 7);
    CHECK(QueryText(cache->db(), "SELECT typeof(gpx_size) FROM activity_sync WHERE id=7") == "integer");
  }
  SECTION("streams without a position: a .csv, no .gpx") {
    REQUIRE(
        ActivityStore(*cache)
            .StoreStreams(7, StreamsOf(Json::parse(R"({"time": {"data": [0, 1, 2]}, "watts": {"data": [1.5, 2, 3]}})")))
            .ok());
    CheckSizes(*cache, 7);
    CHECK(QueryText(cache->db(), "SELECT typeof(gpx_size) FROM activity_sync WHERE id=7") == "null");
  }
  SECTION("empty streams: neither") {
    REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(Json::object())).ok());
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
  for (size_t i = 0; i < gen.activities.size(); ++i)
    page += (i ? "," : "") + emu::summary_json(gen.activities[i], ctx).dump();
  auto rows = ParseActivityPage(page + "]");
  REQUIRE(rows.ok());
  for (const ActivityRow& row : *rows) REQUIRE(*ActivityStore(*cache).UpsertRow(row, 1) == Upsert::kNew);
  const std::vector<std::string> keys = {"time",    "distance", "latlng", "altitude", "velocity_smooth", "heartrate",
                                         "cadence", "watts",    "temp",   "moving",   "grade_smooth"};
  for (size_t i = 0; i < gen.activities.size(); ++i) {
    const emu::Activity& a = gen.activities[i];
    if (i % 3 != 0) REQUIRE(ActivityStore(*cache).StoreDetail(emu::detail_json(a, ctx)).ok());
    if (!a.has_streams())
      REQUIRE(ActivityStore(*cache).MarkNoStreams(a.id).ok());
    else if (i % 4 != 0)
      REQUIRE(ActivityStore(*cache).StoreStreams(a.id, StreamsOf(emu::streams_json(a, ctx, keys, true))).ok());
    if (i % 5 == 0) {  // renamed on Strava
      Json edited = emu::summary_json(a, ctx);
      edited["name"] = "Renamed, \"again\" <" + std::to_string(i) + ">";
      REQUIRE(*UpsertSummary(*cache, edited, 2) == Upsert::kChanged);
    }
  }
  for (const emu::Activity& a : gen.activities) CheckSizes(*cache, a.id);
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activity_sync WHERE gpx_size IS NOT NULL") > 10);
}

TEST_CASE("LoadSamples gives the samples held, in seq order", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(UpsertSummary(*cache, Summary(7, "2024-05-12T11:30:00Z"), 1).ok());
  CHECK(ActivityStore(*cache).LoadSamples(7)->empty());
  REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(Json::parse(kGpsStreams))).ok());
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
  REQUIRE(ActivityStore(*cache).StoreStreams(99, StreamsOf(Json::parse(kGpsStreams))).ok());
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM streams") == 0);
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM fs_changes") == 0);
  // So an activity of that id, listed later, holds no streams.
  REQUIRE(UpsertSummary(*cache, Summary(99, "2024-05-12T11:30:00Z"), 1).ok());
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
  REQUIRE(*UpsertSummary(*cache, s, 1) == Upsert::kNew);
  REQUIRE(*UpsertSummary(*cache, Summary(8, "2024-05-13T05:30:00Z"), 1) == Upsert::kNew);
  CHECK(Rev(*cache, 7) == 1);
  CHECK(Rev(*cache, 8) == 2);
  // Unchanged: same version. Every change after: a larger one.
  REQUIRE(*UpsertSummary(*cache, s, 2) == Upsert::kUnchanged);
  CHECK(Rev(*cache, 7) == 1);
  s["kudos_count"] = 3;  // the same size, other bytes
  REQUIRE(*UpsertSummary(*cache, s, 3) == Upsert::kChanged);
  CHECK(Rev(*cache, 7) == LastSeq(*cache));
  CHECK(Rev(*cache, 7) == 3);
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(s, 1)).ok());
  CHECK(Rev(*cache, 7) == 4);
  REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(Json::parse(kGpsStreams))).ok());
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

  REQUIRE(*UpsertSummary(*cache, s, 1) == Upsert::kNew);
  auto log = ChangesAfter(*cache, 0);
  REQUIRE(log.size() == 1);
  CHECK(log[0].id == 7);
  CHECK(log[0].year == "NULL");
  CHECK(log[0].month == "NULL");
  CHECK(log[0].base == "NULL");

  int64_t seq = LastSeq(*cache);
  REQUIRE(*UpsertSummary(*cache, s, 2) == Upsert::kUnchanged);
  CHECK(ChangesAfter(*cache, seq).empty());

  Json renamed = s;
  renamed["name"] = "Evening Run";
  REQUIRE(*UpsertSummary(*cache, renamed, 3) == Upsert::kChanged);
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
  REQUIRE(*UpsertSummary(*cache, moved, 4) == Upsert::kChanged);
  log = ChangesAfter(*cache, seq);
  REQUIRE(log.size() == 1);
  CHECK(log[0].base == "2024-05-12_0730_Evening-Run_7");
  CHECK(log[0].month == "5");

  // Detail and streams: logged where the files are.
  const std::string now = "2024-06-02_0730_Evening-Run_7";
  seq = LastSeq(*cache);
  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(moved, 1)).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(Json::parse(kGpsStreams))).ok());
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
  REQUIRE(ActivityStore(*cache).StoreStreams(8, StreamsOf(Json::parse(kGpsStreams))).ok());
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
  REQUIRE(*UpsertSummary(*cache, Summary(9, "2024-05-12T05:30:00Z", "///"), 1) == Upsert::kNew);
  REQUIRE(ActivityStore(*cache).DeleteActivity(9).ok());
  CHECK(ChangesAfter(*cache, LastSeq(*cache) - 1)[0].base == "2024-05-12_0730_Run_9");

  // Rolled back with its transaction, like the write it logs.
  seq = LastSeq(*cache);
  {
    Transaction tx(*cache);
    REQUIRE(*UpsertSummary(*cache, Summary(10, "2024-05-12T05:30:00Z"), 1) == Upsert::kNew);
  }
  CHECK(ChangesAfter(*cache, seq).empty());
}

TEST_CASE("PruneFsChanges keeps the newest rows, and seq keeps growing", "[cache][sizes]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(ActivityStore(*cache).PruneFsChanges(10).ok());  // empty: nothing to do
  for (int id = 1; id <= 20; ++id) REQUIRE(UpsertSummary(*cache, Summary(id, "2024-05-12T05:30:00Z"), 1).ok());
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

}  // namespace
}  // namespace stravafs
