// Pins kStreamTypes (model/streams.h), the one list of stream types and
// columns, against the places that still spell it out or show it: the
// cache's CREATE TABLE (kept literal as migration history), the default
// [sync] streams, the <name>.csv header and strava_streams' declared columns.
// A column added in one place only fails here.
#include "model/streams.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "base/stream_types.h"
#include "cache/cache_fixtures.h"
#include "config/config.h"
#include "fake_transport.h"
#include "format/render.h"

namespace stravafs {
namespace {

using testing::OpenCache;
using testing::TempDir;

// "name TYPE" of each column.
using Columns = std::vector<std::string>;

// The columns after seq.
const Columns kExpected = {"time INTEGER",  "distance REAL", "lat REAL",       "lng REAL",
                           "altitude REAL", "velocity REAL", "heartrate REAL", "cadence REAL",
                           "watts REAL",    "temp REAL",     "moving INTEGER", "grade REAL"};

Columns TableColumns() {
  Columns out;
  for (const StreamColumn& c : kStreamColumns) out.push_back(std::string(c.name) + " " + std::string(c.sql_type));
  return out;
}

// PRAGMA table_xinfo of `table` on `db`: "name TYPE" of each column, and
// "name HIDDEN" for a virtual table's hidden one.
Columns Declared(sqlite3* db, const std::string& table) {
  Columns out;
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, ("PRAGMA table_xinfo(" + table + ")").c_str(), -1, &st, nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    const std::string type = reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
    out.push_back(name + " " + (sqlite3_column_int(st, 6) ? "HIDDEN" : type));
  }
  sqlite3_finalize(st);
  return out;
}

TEST_CASE("kStreamTypes: the Strava types and their columns, in order", "[model][streams]") {
  std::vector<std::string> strava;
  for (const StreamType& t : kStreamTypes) strava.emplace_back(t.strava);
  CHECK(strava == std::vector<std::string>{"time", "distance", "latlng", "altitude", "velocity_smooth", "heartrate",
                                           "cadence", "watts", "temp", "moving", "grade_smooth"});
  CHECK(std::ranges::equal(strava, kStravaStreamTypes));
  CHECK(TableColumns() == kExpected);

  // Each column reads its own StreamSample member.
  StreamSample s;
  double v = 1;
  for (const StreamColumn& c : kStreamColumns) s.*c.member = v++;
  CHECK(s.time == 1);
  CHECK(s.lat == 3);
  CHECK(s.lng == 4);
  CHECK(s.velocity == 6);
  CHECK(s.grade == 12);
}

TEST_CASE("kStreamTypes matches the cache's streams table", "[model][streams]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Columns want = {"activity_id INTEGER", "seq INTEGER"};
  want.insert(want.end(), kExpected.begin(), kExpected.end());
  CHECK(Declared(cache->db(), "streams") == want);
  CHECK(TableColumns() == Columns(want.begin() + 2, want.end()));
}

TEST_CASE("kStreamTypes matches the default [sync] streams", "[model][streams]") {
  // The default asks for every type; its order (the order of the API request)
  // is its own.
  std::vector<std::string> defaults = Config{}.streams;
  std::ranges::sort(defaults);
  std::vector<std::string> all(kStravaStreamTypes.begin(), kStravaStreamTypes.end());
  std::ranges::sort(all);
  CHECK(defaults == all);
}

TEST_CASE("kStreamTypes matches the <name>.csv header", "[model][streams]") {
  CHECK(StreamsCsvHeader() ==
        "seq,time,distance,lat,lng,altitude,velocity,heartrate,cadence,watts,temp,moving,grade\r\n");
  std::string header = "seq";
  for (const StreamColumn& c : kStreamColumns) header += "," + std::string(c.name);
  CHECK(StreamsCsvHeader() == header + "\r\n");

  StreamSample s;
  s.seq = 7;
  s.time = 1;
  s.lat = 48.5;
  s.moving = 1;
  s.grade = -0.5;
  CHECK(StreamCsvRow(s) == "7,1,,48.5,,,,,,,,1,-0.5\r\n");
}

TEST_CASE("kStreamTypes matches strava_streams' columns", "[model][streams]") {
  TempDir tmp;
  { auto cache = OpenCache(tmp / "cache.db"); }
  const std::string conf = tmp / "stravafs.conf";
  std::ofstream(conf) << "[cache]\npath = " << (tmp / "cache.db") << "\n";
  REQUIRE(chmod(conf.c_str(), 0600) == 0);

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK);
  REQUIRE(sqlite3_enable_load_extension(db, 1) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_load_extension(db, STRAVA_EXT, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  REQUIRE(rc == SQLITE_OK);
  const std::string create = "CREATE VIRTUAL TABLE temp.s USING strava_streams(config='" + conf + "')";
  rc = sqlite3_exec(db, create.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  REQUIRE(rc == SQLITE_OK);

  Columns want = {"seq INTEGER"};
  want.insert(want.end(), kExpected.begin(), kExpected.end());
  want.push_back("activity_id HIDDEN");
  CHECK(Declared(db, "s") == want);
  sqlite3_close(db);
}

}  // namespace
}  // namespace stravafs
