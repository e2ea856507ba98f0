// Tests for schema.cc: the schema version and application_id a cache
// carries, refusing newer caches and other programs' files, the views, and
// the migrations: a v1 cache upgrades with every size filled and nothing
// lost, and v7 measures again the .gpx of a name with a carriage return.
#include "cache/schema.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../../emulator/render.h"
#include "cache/activity_store.h"
#include "cache/athlete_store.h"
#include "cache/sync_state.h"
#include "cache_fixtures.h"
#include "fake_transport.h"
#include "format/json_file.h"
#include "format/render.h"
#include "format/sizes.h"
#include "model/activity.h"
#include "sql_helpers.h"
#include "undo_schema.h"
#include "upsert_summary.h"
#include "streams_of.h"

namespace stravafs {
namespace {

using testing::CheckSizes;
using testing::Detail;
using testing::kGpsStreams;
using testing::OpenCache;
using testing::QueryInt;
using testing::QueryReal;
using testing::QueryText;
using testing::Summary;
using testing::TempDir;
using testing::UndoSchemaV9Sql;

TEST_CASE("Cache::Open refuses a cache from a newer stravafs and leaves it alone", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw,
                       ("CREATE TABLE future(x); PRAGMA user_version = " + std::to_string(kSchemaVersion + 1)).c_str(),
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  auto rw = Cache::Open(path, Cache::Mode::kReadWrite);
  REQUIRE_FALSE(rw.ok());
  CHECK(rw.status().kind() == ErrorKind::kCache);
  CHECK(rw.status().message() == "cache " + path + " has schema version " + std::to_string(kSchemaVersion + 1) +
                                     ", newer than this stravafs understands (" + std::to_string(kSchemaVersion) +
                                     "): upgrade stravafs");
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().kind() == ErrorKind::kCache);
  CHECK(ro.status().message() == "cache " + path + " has schema version " + std::to_string(kSchemaVersion + 1) +
                                     ", this stravafs reads version " + std::to_string(kSchemaVersion) +
                                     ": upgrade stravafs");

  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  CHECK(QueryInt(raw, "PRAGMA user_version") == kSchemaVersion + 1);
  CHECK(QueryInt(raw, "SELECT count(*) FROM sqlite_master WHERE name='activities'") == 0);
  sqlite3_close(raw);
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
  REQUIRE(sqlite3_exec(raw, "PRAGMA application_id = 1095779393; PRAGMA user_version = 6", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(raw);
  auto other = Cache::Open(path, Cache::Mode::kReadWrite);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message() == path +
                                        " is not a stravafs cache (an SQLite database of another program, "
                                        "application_id 0x41504441): it was left untouched; name another file as "
                                        "[cache] path");
}

TEST_CASE("A cache carries stravafs's application_id; one from before it is stamped by its next writer", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    CHECK(QueryInt(cache->db(), "PRAGMA application_id") == kApplicationId);
    REQUIRE(UpsertSummary(*cache, Summary(1, "2024-05-12T11:30:00Z"), 0).ok());
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

TEST_CASE("activities_units view converts units", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(UpsertSummary(*cache, Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
  CHECK(QueryReal(cache->db(), "SELECT distance_km FROM activities_units WHERE id=1") == Approx(5.0005));
  CHECK(QueryReal(cache->db(), "SELECT moving_time_min FROM activities_units WHERE id=1") == 25.0);
}

TEST_CASE("[bug] Schema v7 measures again the .gpx of an activity named with a carriage return", "[cache][bug]") {
  // XmlEscape wrote CR raw, which XML readers read as a line feed; it
  // writes &#13; now, so such a .gpx grew by 4 bytes per CR per <name>.
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    REQUIRE(UpsertSummary(*cache, Summary(1, "2024-05-12T11:30:00Z", "Line one\r\nLine two"), 1).ok());
    REQUIRE(UpsertSummary(*cache, Summary(2, "2024-05-13T11:30:00Z", "Plain"), 1).ok());
    for (int64_t id : {1, 2}) REQUIRE(ActivityStore(*cache).StoreStreams(id, StreamsOf(Json::parse(kGpsStreams))).ok());
    CheckSizes(*cache, 1);
    // As schema v6 measured it: the CR raw, in two <name>s.
    REQUIRE(cache
                ->Exec(UndoSchemaV9Sql() + "UPDATE activity_sync SET gpx_size = gpx_size - 8 WHERE id = 1; "
                                           "PRAGMA user_version = 6")
                .ok());
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  const int64_t changes = QueryInt(raw, "SELECT count(*) FROM fs_changes");
  const int64_t rev2 = QueryInt(raw, "SELECT rev FROM activity_sync WHERE id=2");
  sqlite3_close(raw);

  auto upgraded = OpenCache(path);
  sqlite3* db = upgraded->db();
  CHECK(QueryInt(db, "PRAGMA user_version") == kSchemaVersion);
  CheckSizes(*upgraded, 1);
  CheckSizes(*upgraded, 2);
  // A running mount is told: one change, for activity 1 only.
  CHECK(QueryInt(db, "SELECT count(*) FROM fs_changes") == changes + 1);
  CHECK(QueryInt(db, "SELECT activity_id FROM fs_changes ORDER BY seq DESC LIMIT 1") == 1);
  CHECK(QueryInt(db, "SELECT rev FROM activity_sync WHERE id=2") == rev2);
}

TEST_CASE("Schema v9 gives what a v8 cache held to its athlete, and the app's rate usage to no athlete",
          "[cache][athletes]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  const Json zones = Json::parse(R"({"heart_rate":{"zones":[{"min":0,"max":150},{"min":150,"max":-1}]}})");
  {
    auto cache = OpenCache(path);
    REQUIRE(UpsertSummary(*cache, Summary(1, "2024-05-12T11:30:00Z"), 1).ok());
    REQUIRE(AthleteStore(*cache).StoreAthlete({{"id", 4242}, {"firstname", "Ada"}}).ok());
    REQUIRE(AthleteStore(*cache).StoreGear({{"id", "b1"}, {"name", "Trusty"}}, 0).ok());
    REQUIRE(AthleteStore(*cache).StoreAthleteZones(zones, 0).ok());
    for (const char* key : {kStateHistoryComplete, kStateLastSuccess, kStateRateUsage, kStateRunCounter})
      REQUIRE(SetState(*cache, 0, key, "1").ok());
    REQUIRE(cache->Exec(UndoSchemaV9Sql()).ok());
    CHECK(QueryInt(cache->db(), "SELECT count(*) FROM pragma_table_info('sync_state') WHERE name = 'athlete_id'") == 0);
  }
  auto upgraded = OpenCache(path);
  sqlite3* db = upgraded->db();
  CHECK(QueryInt(db, "PRAGMA user_version") == kSchemaVersion);
  CHECK(testing::QueryColumn(db, "SELECT athlete_id || ' ' || key FROM sync_state ORDER BY 1") ==
        std::vector<std::string>{"0 rate_usage", "4242 history_complete", "4242 last_success", "4242 run_counter"});
  CHECK(QueryInt(db, "SELECT athlete_id FROM gear WHERE id = 'b1'") == 4242);
  CHECK(testing::QueryColumn(db, "SELECT athlete_id || ' ' || zone FROM athlete_zones ORDER BY zone") ==
        std::vector<std::string>{"4242 1", "4242 2"});
  CHECK(QueryText(db, "SELECT group_concat(source) FROM hr_zones") == "strava,strava");
  // The zones' triggers came back with the new table: a change is logged for the mount.
  const int64_t logged = QueryInt(db, "SELECT count(*) FROM fs_changes WHERE activity_id = 0");
  REQUIRE(upgraded->Exec("UPDATE athlete_zones SET min = 140 WHERE zone = 2").ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM fs_changes WHERE activity_id = 0") == logged + 1);
  CHECK(QueryText(db, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("[bug] Schema v8 measures again the .json whose numbers stravafs now writes shorter", "[cache][bug]") {
  // nlohmann's Grisu2 wrote 0.00070936797 as 0.0007093679699999999; the
  // .json writer of format/json_file.h writes the shortest form.
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    Json odd = Summary(1, "2024-05-12T11:30:00Z", "Odd grade");
    odd["average_grade"] = 0.00070936797;
    REQUIRE(UpsertSummary(*cache, odd, 1).ok());
    REQUIRE(UpsertSummary(*cache, Summary(2, "2024-05-13T11:30:00Z", "Plain"), 1).ok());
    CheckSizes(*cache, 1);
    // As schema v7 measured it: nlohmann's dump(2), 8 bytes longer.
    CHECK(Json(0.00070936797).dump() == "0.0007093679699999999");
    CHECK(FormatJsonDouble(0.00070936797) == "0.00070936797");
    REQUIRE(cache
                ->Exec(UndoSchemaV9Sql() +
                       "UPDATE activity_sync SET json_size = json_size + 8 WHERE id = 1; PRAGMA user_version = 7")
                .ok());
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  const int64_t changes = QueryInt(raw, "SELECT count(*) FROM fs_changes");
  const int64_t rev2 = QueryInt(raw, "SELECT rev FROM activity_sync WHERE id=2");
  sqlite3_close(raw);

  auto upgraded = OpenCache(path);
  sqlite3* db = upgraded->db();
  CHECK(QueryInt(db, "PRAGMA user_version") == kSchemaVersion);
  CheckSizes(*upgraded, 1);
  CheckSizes(*upgraded, 2);
  // A running mount is told: one change, for activity 1 only.
  CHECK(QueryInt(db, "SELECT count(*) FROM fs_changes") == changes + 1);
  CHECK(QueryInt(db, "SELECT activity_id FROM fs_changes ORDER BY seq DESC LIMIT 1") == 1);
  CHECK(QueryInt(db, "SELECT rev FROM activity_sync WHERE id=2") == rev2);
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
      if (type == SQLITE_NULL)
        row += "NULL|";
      else if (type == SQLITE_INTEGER)
        row += std::to_string(sqlite3_column_int64(st, i)) + "|";
      else if (type == SQLITE_FLOAT)
        row += std::to_string(sqlite3_column_double(st, i)) + "|";
      else
        row +=
            std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)), sqlite3_column_bytes(st, i)) + "|";
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
    sql += "  " + std::string(c.name) + " " + SqlType(c.type) +
           (std::string_view(c.name) == "id" ? " PRIMARY KEY" : "") + ",\n";
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
    Json s =
        Summary(100 + i, "2024-0" + std::to_string(1 + i) + "-12T05:30:00Z", "Run \"" + std::to_string(i) + "\", ü");
    REQUIRE(UpsertSummary(*source, s, 1).ok());
    if (i % 2 == 0) REQUIRE(ActivityStore(*source).StoreDetail(Detail(s, 2)).ok());
    if (i % 3 == 0) REQUIRE(ActivityStore(*source).StoreStreams(100 + i, StreamsOf(Json::parse(kGpsStreams))).ok());
    if (i == 1)
      REQUIRE(
          ActivityStore(*source).StoreStreams(100 + i, StreamsOf(Json::parse(R"({"time": {"data": [0, 1]}})"))).ok());
    if (i == 5) REQUIRE(ActivityStore(*source).MarkNoStreams(100 + i).ok());
    ids.push_back(100 + i);
  }
  // As v9 makes them of what a cache held: the first athlete's.
  REQUIRE(AthleteStore(*source).StoreGear({{"id", "b1"}, {"name", "Trusty"}}, 4242).ok());
  REQUIRE(AthleteStore(*source).StoreAthlete({{"id", 4242}, {"firstname", "Ada"}}).ok());
  REQUIRE(SetState(*source, 4242, "history_complete", "2024-07-01T00:00:00Z").ok());

  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(v1_path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, SchemaV1Ddl().c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  const std::string copy = "ATTACH '" + v2_path +
                           "' AS v2;"
                           "INSERT INTO activities SELECT * FROM v2.activities;"
                           "INSERT INTO activity_sync SELECT id, summary_hash, detail_state, streams_state, listed_run "
                           "FROM v2.activity_sync;"
                           "INSERT INTO streams SELECT * FROM v2.streams;"
                           "INSERT INTO streams(activity_id, seq, time) VALUES(999, 0, 1);"  // an orphan sample
                           "INSERT INTO laps SELECT * FROM v2.laps;"
                           "INSERT INTO gear SELECT id, name, brand_name, model_name, distance, primary_gear, "
                           "retired, json FROM v2.gear;"
                           "INSERT INTO athletes SELECT * FROM v2.athletes;"
                           "INSERT INTO sync_state SELECT key, value FROM v2.sync_state;"
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
  CHECK(QueryInt(db, "PRAGMA user_version") == kSchemaVersion);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE rev != 0") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE source IS NOT NULL") == 0);
  for (int64_t id : ids) CheckSizes(*upgraded, id);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE json_size IS NULL OR csv_row_size IS NULL") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE gpx_size IS NOT NULL") == 2);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_sync WHERE streams_csv_size IS NOT NULL") == 3);
  CHECK(QueryInt(db, "SELECT count(*) FROM fs_changes") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM streams WHERE activity_id=999") == 0);
  // The same sizes as the cache that wrote them, and the same data.
  const std::string sizes =
      "SELECT id, json_size, csv_row_size, streams_csv_size, gpx_size FROM activity_sync ORDER BY id";
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
  REQUIRE(*UpsertSummary(*upgraded, Summary(100, "2024-01-12T05:30:00Z", "Renamed"), 2) == Upsert::kChanged);
  CheckSizes(*upgraded, 100);
  CHECK(QueryInt(db, "SELECT count(*) FROM fs_changes") == 1);
  upgraded.reset();
  auto reader = Cache::Open(v1_path, Cache::Mode::kReadOnly);
  INFO(reader.status().message());
  CHECK(reader.ok());
}

}  // namespace
}  // namespace stravafs
