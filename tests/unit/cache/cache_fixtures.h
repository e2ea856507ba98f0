// Shared by the tests of src/cache/: a cache opened for writing, Strava-shaped
// activities to store, and the check that the sizes the cache keeps for the
// mount are the bytes it renders.
#pragma once

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/iso_time.h"
#include "base/json.h"
#include "cache/db.h"
#include "format/json_file.h"
#include "format/render.h"
#include "model/activity.h"
#include "model/streams.h"
#include "sql_helpers.h"

namespace stravafs::testing {

inline std::unique_ptr<Cache> OpenCache(const std::string& path) {
  auto c = Cache::Open(path, Cache::Mode::kReadWrite);
  INFO(c.status().message());
  REQUIRE(c.ok());
  return std::move(c).value();
}

inline Json Summary(int64_t id, const std::string& start, const std::string& name = "Morning Run") {
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

inline Json Detail(const Json& summary, int laps) {
  Json j = summary;
  j["resource_state"] = 3;
  j["description"] = "Legs felt great";
  j["calories"] = 412;
  j["device_name"] = "Garmin Forerunner 255";
  Json l = Json::array();
  for (int k = 1; k <= laps; ++k)
    l.push_back({{"id", 900 + k},
                 {"name", "Lap " + std::to_string(k)},
                 {"elapsed_time", 300},
                 {"moving_time", 290.0},
                 {"start_date", "2024-05-12T11:3" + std::to_string(k) + ":00Z"},
                 {"start_date_local", "2024-05-12T13:3" + std::to_string(k) + ":00Z"},
                 {"distance", 1000},
                 {"average_speed", 3.4},
                 {"max_speed", 5},
                 {"start_index", (k - 1) * 10},
                 {"end_index", k * 10 - 1},
                 {"lap_index", k}});
  j["laps"] = l;
  return j;
}

// What the mount renders from what the cache holds, read with plain SQL.
inline std::vector<StreamSample> SamplesBySql(sqlite3* db, int64_t id) {
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
    for (auto* v : {&s.time, &s.distance, &s.lat, &s.lng, &s.altitude, &s.velocity, &s.heartrate, &s.cadence, &s.watts,
                    &s.temp, &s.moving, &s.grade}) {
      if (sqlite3_column_type(st, col) != SQLITE_NULL) *v = sqlite3_column_double(st, col);
      ++col;
    }
  }
  sqlite3_finalize(st);
  return out;
}

inline std::vector<ColumnValue> CsvValuesBySql(sqlite3* db, int64_t id) {
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
      case SQLITE_NULL:
        break;
      case SQLITE_INTEGER:
        v.kind = ColumnValue::kInt, v.i = sqlite3_column_int64(st, i);
        break;
      case SQLITE_FLOAT:
        v.kind = ColumnValue::kReal, v.d = sqlite3_column_double(st, i);
        break;
      default:
        v.kind = ColumnValue::kText;
        v.s.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, i)), sqlite3_column_bytes(st, i));
    }
  }
  sqlite3_finalize(st);
  return values;
}

// The four sizes of activity `id` are the bytes the mount renders.
inline void CheckSizes(Cache& c, int64_t id) {
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

inline constexpr const char* kGpsStreams = R"({
  "time": {"data": [0, 10, 20, 30]},
  "latlng": {"data": [[48.8566, 2.3522], [48.857, 2.353], null, [48.858, 2.354]]},
  "altitude": {"data": [35.2, 36.0, 36.4, 37.1]},
  "heartrate": {"data": [120, 131, null, 140]},
  "watts": {"data": [200, 210, 220, 230]},
  "moving": {"data": [false, true, true, true]}
})";

}  // namespace stravafs::testing
