// Tests for analytics.cc and the views of schema v3, on a small hand-built
// athlete whose every figure is computed by hand in the comments:
//   1 Run   2024-12-30 07:00 (Monday: ISO week 2025-W01), 10 km; heart rate and
//           distance every 10 s, with a 100 s pause, a NULL heart rate, a NULL
//           distance, distance going backwards, a sample without time and one
//           repeating a time;
//   2 Ride  2024-12-30 18:00 (the same day), power every 5 s, no heart rate, a
//           NULL watts, a 60 s pause;
//   3 Run   2024-12-29 09:00 (Sunday: 2024-W52), heart rate and distance;
//   4 Swim  2025-01-05, manual (no streams);
//   5 Yoga  2025-01-02, no distance, no streams;
//   6 Run   2025-01-03, distance only (400 m in 200 s).
// The athlete's FTP is 250 W; the highest heart rate sampled is 185 bpm.
#include "model/analytics.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "cache/db.h"
#include "cache/schema.h"
#include "cache/activity_store.h"
#include "cache/athlete_store.h"
#include "fake_transport.h"
#include "sql_helpers.h"
#include "undo_schema.h"
#include "upsert_summary.h"
#include "streams_of.h"

namespace stravafs {
namespace {

using testing::QueryColumn;
using testing::QueryInt;
using testing::QueryReal;
using testing::QueryText;
using testing::TempDir;
using testing::UndoSchemaV11Sql;
using testing::UndoSchemaV9Sql;

Json Activity(int64_t id, const std::string& local_start, const std::string& sport, double distance,
              int64_t moving_time, double elevation, int kudos, int prs) {
  Json j = Json::object();
  j["resource_state"] = 2;
  j["athlete"] = {{"id", 4242}, {"resource_state", 1}};
  j["id"] = id;
  j["name"] = sport + " " + std::to_string(id);
  j["sport_type"] = sport;
  j["type"] = sport;
  j["distance"] = distance;
  j["moving_time"] = moving_time;
  j["elapsed_time"] = moving_time + 60;
  j["total_elevation_gain"] = elevation;
  j["kudos_count"] = kudos;
  j["pr_count"] = prs;
  j["start_date"] = local_start + "Z";  // UTC+0: local == UTC
  j["start_date_local"] = local_start + "Z";
  j["timezone"] = "(GMT+00:00) Europe/London";
  j["utc_offset"] = 0.0;
  return j;
}

// Streams keyed by type from columns of optional values (nullopt = null).
using Column = std::vector<std::optional<double>>;
Json Streams(const std::vector<std::pair<std::string, Column>>& columns) {
  Json j = Json::object();
  for (const auto& [type, values] : columns) {
    Json data = Json::array();
    for (const auto& v : values) {
      if (v)
        data.push_back(*v);
      else
        data.push_back(nullptr);
    }
    j[type] = {{"data", data}, {"series_type", "time"}, {"original_size", values.size()}, {"resolution", "high"}};
  }
  return j;
}

// Activity 1: every 10 s from 0 to 1200 s at 4 m/s, then 5 m/s (4000 m at
// 1000 s, 5000 m at 1200 s); a pause until 1300 s; 5 m/s again to 10000 m at
// 2300 s. Heart rate 120 before 600 s, 150 to 1200 s, 170 from 1300 s, 185 at
// the last sample.
Json Run1Streams() {
  Column time, distance, hr;
  auto add = [&](std::optional<double> t, std::optional<double> d, std::optional<double> h) {
    time.push_back(t), distance.push_back(d), hr.push_back(h);
  };
  for (int t = 0; t <= 1200; t += 10) {
    double d = t <= 1000 ? 4.0 * t : 4000 + 5.0 * (t - 1000);
    double h = t < 600 ? 120 : 150;
    if (t == 500) d = 1900;                             // backwards: held at 1960
    add(t, t == 700 ? std::nullopt : std::optional(d),  // NULL distance
        t == 300 ? std::nullopt : std::optional(h));    // NULL heart rate: 10 s in no zone
    if (t == 50) add(std::nullopt, 50, 200);            // no time: dropped (or max HR would be 200)
    if (t == 100) add(100, 9999, 199);                  // repeats a time: dropped
  }
  for (int t = 1300; t <= 2300; t += 10) add(t, 5000 + 5.0 * (t - 1300), t == 2300 ? 185 : 170);
  return Streams({{"time", time}, {"distance", distance}, {"heartrate", hr}});
}

// Activity 2: every 5 s; 200 W to 600 s (NULL at 100 s: 0 W for 5 s), 300 W
// to 900 s, 100 W to 1500 s; the sample at 1500 s holds 10 s, then a pause
// to 1560 s; 250 W to 1800 s.
Json Ride2Streams() {
  Column time, watts;
  for (int t = 0; t <= 1500; t += 5) {
    time.push_back(t);
    watts.push_back(t == 100 ? std::nullopt : std::optional<double>(t < 600 ? 200 : t < 900 ? 300 : 100));
  }
  for (int t = 1560; t <= 1800; t += 5) time.push_back(t), watts.push_back(250);
  return Streams({{"time", time}, {"watts", watts}});
}

// Activity 3: every 10 s to 600 s at 4 m/s; 140 bpm, 180 at the last sample.
Json Run3Streams() {
  Column time, distance, hr;
  for (int t = 0; t <= 600; t += 10) time.push_back(t), distance.push_back(4.0 * t), hr.push_back(t < 600 ? 140 : 180);
  return Streams({{"time", time}, {"distance", distance}, {"heartrate", hr}});
}

// Activity 6: 2 m/s for 200 s.
Json Run6Streams() {
  Column time, distance;
  for (int t = 0; t <= 200; t += 10) time.push_back(t), distance.push_back(2.0 * t);
  return Streams({{"time", time}, {"distance", distance}});
}

std::unique_ptr<Cache> Athlete(const std::string& path) {
  auto opened = Cache::Open(path, Cache::Mode::kReadWrite);
  INFO(opened.status().message());
  REQUIRE(opened.ok());
  auto cache = std::move(opened).value();
  Transaction tx(*cache);
  REQUIRE(tx.status().ok());
  REQUIRE(AthleteStore(*cache).StoreAthlete({{"id", 4242}, {"firstname", "Ada"}, {"ftp", 250}}).ok());
  for (const Json& a : {Activity(1, "2024-12-30T07:00:00", "Run", 10000, 3000, 50, 3, 1),
                        Activity(2, "2024-12-30T18:00:00", "Ride", 40000, 4800, 300, 5, 0),
                        Activity(3, "2024-12-29T09:00:00", "Run", 5000, 1500, 20, 2, 2),
                        Activity(4, "2025-01-05T08:00:00", "Swim", 1500, 1800, 0, 0, 0),
                        Activity(5, "2025-01-02T19:00:00", "Yoga", 0, 3600, 0, 1, 0),
                        Activity(6, "2025-01-03T12:00:00", "Run", 400, 200, 0, 1, 1)})
    REQUIRE(UpsertSummary(*cache, a, 1).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(1, StreamsOf(Run1Streams())).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(2, StreamsOf(Ride2Streams())).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(3, StreamsOf(Run3Streams())).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(6, StreamsOf(Run6Streams())).ok());
  REQUIRE(ActivityStore(*cache).MarkNoStreams(4).ok());
  REQUIRE(tx.Commit().ok());
  return cache;
}

// One row of a query, every column as text ("NULL" for NULL; reals to 6 decimals).
std::vector<std::string> Row(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  std::vector<std::string> out;
  for (int i = 0; i < sqlite3_column_count(st); ++i) {
    switch (sqlite3_column_type(st, i)) {
      case SQLITE_NULL:
        out.push_back("NULL");
        break;
      case SQLITE_FLOAT: {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.6f", sqlite3_column_double(st, i));
        out.push_back(buf);
        break;
      }
      default:
        out.push_back(reinterpret_cast<const char*>(sqlite3_column_text(st, i)));
    }
  }
  CHECK(sqlite3_step(st) == SQLITE_DONE);
  sqlite3_finalize(st);
  return out;
}
using Strings = std::vector<std::string>;

// --- the algorithms -----------------------------------------------------------------

TEST_CASE("BestAverage finds windows that start or end inside a segment", "[analytics]") {
  // 100 W for 10 s, 400 W for 10 s, 100 W for 10 s: the best 20 s is 400 W for
  // 10 s and 100 W for 10 s either side, wherever it starts in [0, 10].
  std::vector<double> starts = {0, 10, 20}, values = {100, 400, 100};
  CHECK(*BestAverage(starts, values, 30, 20) == 250);
  CHECK(*BestAverage(starts, values, 30, 5) == 400);
  CHECK(*BestAverage(starts, values, 30, 30) == 200);
  CHECK_FALSE(BestAverage(starts, values, 30, 31).has_value());
  // 0 W for 10 s then 300 W for 5 s: the best 10 s ends at the end.
  CHECK(*BestAverage(std::vector<double>{0, 10}, std::vector<double>{0, 300}, 15, 10) == 150);
}

TEST_CASE("BestTime interpolates distance between samples", "[analytics]") {
  // 0 m at 0 s, 100 m at 10 s (10 m/s), 100 m at 20 s (stopped), 300 m at 30 s (20 m/s).
  std::vector<double> t = {0, 10, 20, 30}, d = {0, 100, 100, 300};
  CHECK(*BestTime(t, d, 200) == 10);  // the last segment alone
  // 50 m at 10 m/s (5 s) then the stop and the last segment: 25 s; from the
  // start, 250 m is reached at 27.5 s.
  CHECK(*BestTime(t, d, 250) == 25);
  CHECK(*BestTime(t, d, 300) == 30);
  CHECK_FALSE(BestTime(t, d, 301).has_value());
}

TEST_CASE("[bug] BestTime stays inside the track when distances are too large to subtract from", "[analytics][bug]") {
  // fuzz_streams: d[e] - 400 == d[e] at 1e300, so the search for the
  // window's start ran past the last sample (a heap read out of bounds).
  const std::vector<double> t = {0, 10, 20}, d = {0, 1e300, 1e300};
  const auto best = BestTime(t, d, 400);
  REQUIRE(best.has_value());
  CHECK(*best >= 0);
  CHECK(*best <= 10);
}

// Brute force on a one-second grid, for integer times: the best window of
// whole seconds is the best of all windows, every breakpoint being whole.
TEST_CASE("AnalyzeStreams' power efforts equal a brute force on random streams", "[analytics]") {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<StreamSample> samples;
    double t = rng() % 5;
    const int n = 2 + static_cast<int>(rng() % 300);
    for (int i = 0; i < n; ++i) {
      StreamSample& s = samples.emplace_back();
      s.seq = i;
      s.time = t;
      if (rng() % 10) s.watts = static_cast<double>(rng() % 500);
      t += 1 + (rng() % 8 == 0 ? rng() % 60 : rng() % 4);
    }
    // The power of each whole second under the hold rule.
    const int64_t t0 = static_cast<int64_t>(*samples.front().time), t1 = static_cast<int64_t>(*samples.back().time);
    std::vector<double> grid(static_cast<size_t>(t1 - t0), 0.0);
    for (size_t i = 0; i + 1 < samples.size(); ++i) {
      const double a = *samples[i].time, b = *samples[i + 1].time;
      for (double s = a; s < std::min(b, a + kMaxHoldSeconds); ++s)
        grid[static_cast<size_t>(s - t0)] = samples[i].watts.value_or(0);
    }
    const StreamAnalytics got = AnalyzeStreams(samples);
    for (size_t k = 0; k < kPowerDurations.size(); ++k) {
      const auto d = static_cast<size_t>(kPowerDurations[k]);
      INFO("round " << round << ", " << kPowerColumns[k]);
      if (grid.size() < d) {
        CHECK_FALSE(got.best_power[k].has_value());
        continue;
      }
      double sum = 0, best = 0;
      for (size_t s = 0; s < grid.size(); ++s) {
        sum += grid[s];
        if (s >= d) sum -= grid[s - d];
        if (s + 1 >= d) best = std::max(best, sum);
      }
      REQUIRE(got.best_power[k].has_value());
      CHECK(*got.best_power[k] == Approx(best / static_cast<double>(d)).margin(1e-9));
    }
  }
}

// Brute force: every window that starts or ends at a sample, found by a scan.
TEST_CASE("BestTime equals a quadratic scan on random tracks", "[analytics]") {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<double> t, d;
    double time = 0, dist = 0;
    const int n = 2 + static_cast<int>(rng() % 200);
    for (int i = 0; i < n; ++i) {
      t.push_back(time), d.push_back(dist);
      time += 1 + rng() % 20;
      dist += rng() % 4 == 0 ? 0 : static_cast<double>(rng() % 100);
    }
    auto at_distance = [&](double x, bool latest) {  // the time the track is at distance x
      for (size_t k = 0; k + 1 < t.size(); ++k) {
        if (latest ? (d[k] <= x && d[k + 1] > x) : (d[k] < x && d[k + 1] >= x))
          return t[k] + (x - d[k]) / (d[k + 1] - d[k]) * (t[k + 1] - t[k]);
      }
      return latest ? t.back() : INFINITY;
    };
    for (double meters : {50.0, 400.0, 1000.0, 5000.0}) {
      double best = INFINITY;
      for (size_t i = 0; i < t.size(); ++i) {
        if (d[i] + meters <= d.back()) best = std::min(best, at_distance(d[i] + meters, false) - t[i]);
        if (d[i] - meters >= d[0]) best = std::min(best, t[i] - at_distance(d[i] - meters, true));
      }
      INFO("round " << round << ", " << meters << " m");
      auto got = BestTime(t, d, meters);
      if (best == INFINITY) {
        CHECK_FALSE(got.has_value());
      } else {
        REQUIRE(got.has_value());
        CHECK(*got == Approx(best).margin(1e-9));
      }
    }
  }
}

// --- the tables the sync fills ------------------------------------------------------

TEST_CASE("Storing streams stores their efforts and zone seconds", "[analytics]") {
  TempDir tmp;
  auto cache = Athlete(tmp / "cache.db");
  sqlite3* db = cache->db();
  const std::string efforts =
      "SELECT max_heartrate_bpm, heartrate_s, power_s, power_15s_w, power_1min_w, power_5min_w, power_10min_w, "
      "power_20min_w, time_400m_s, time_1km_s, time_5km_s, time_10km_s, time_half_marathon_s, time_marathon_s "
      "FROM activity_efforts WHERE activity_id=";
  // Run 1: 590 s at 120 (60 samples less the NULL), 610 s at 150 (the sample
  // at 1200 s holds 10 s, then the pause), 1000 s at 170. The 5 m/s stretches
  // give 400 m in 80 s and 1 km in 200 s; 5 km is 1300-2300 s; 10 km the whole run.
  CHECK(Row(db, efforts + "1") == Strings{"185.000000", "2200.000000", "0.000000", "NULL", "NULL", "NULL", "NULL",
                                          "NULL", "80.000000", "200.000000", "1000.000000", "2300.000000", "NULL",
                                          "NULL"});
  CHECK(QueryColumn(db, "SELECT bpm || ':' || seconds FROM activity_hr_seconds WHERE activity_id=1 ORDER BY bpm") ==
        std::vector<std::string>{"120:590.0", "150:610.0", "170:1000.0"});
  // Ride 2: 20 min from 0 s: 20000 J (0-100 s) + 0 (the NULL) + 99000 (105-600 s)
  // + 90000 (600-900 s) + 30000 (900-1200 s) = 239000 J in 1200 s. 10 min:
  // 300-900 s, (60000 + 90000) / 600 = 250 W. 595 s at 200 W (119 samples),
  // 610 s at 100 W (the sample at 1500 s holds 10 s before the pause).
  CHECK(Row(db, efforts + "2") == Strings{"NULL", "0.000000", "1745.000000", "300.000000", "300.000000", "300.000000",
                                          "250.000000", "199.166667", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"});
  CHECK(QueryColumn(db,
                    "SELECT watts || ':' || seconds FROM activity_power_seconds WHERE activity_id=2 ORDER BY watts") ==
        std::vector<std::string>{"100:610.0", "200:595.0", "250:240.0", "300:300.0"});
  CHECK(Row(db, efforts + "3") == Strings{"180.000000", "600.000000", "0.000000", "NULL", "NULL", "NULL", "NULL",
                                          "NULL", "100.000000", "250.000000", "NULL", "NULL", "NULL", "NULL"});
  CHECK(Row(db, efforts + "6") == Strings{"NULL", "0.000000", "0.000000", "NULL", "NULL", "NULL", "NULL", "NULL",
                                          "200.000000", "NULL", "NULL", "NULL", "NULL", "NULL"});
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_efforts") == 4);  // activities 4 and 5 hold no streams

  // Replaced with new streams, deleted with the activity.
  REQUIRE(ActivityStore(*cache).StoreStreams(3, StreamsOf(Run6Streams())).ok());
  CHECK(QueryReal(db, "SELECT time_400m_s FROM activity_efforts WHERE activity_id=3") == 200);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_hr_seconds WHERE activity_id=3") == 0);
  REQUIRE(ActivityStore(*cache).DeleteActivity(2).ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_efforts WHERE activity_id=2") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_power_seconds") == 0);
}

// --- the views ----------------------------------------------------------------------

TEST_CASE("activity_facts: units, local date parts, ISO weeks across the new year", "[analytics]") {
  TempDir tmp;
  auto cache = Athlete(tmp / "cache.db");
  sqlite3* db = cache->db();
  const std::string cols =
      "SELECT sport_group, local_date, year, month, year_month, iso_year, iso_week, iso_week_label, week_start, "
      "weekday, distance_km, moving_time_s, moving_time_h, moving_time_hm, pace_min_per_km, pace_per_km, "
      "average_speed_kmh, elevation_gain_m, kudos_count, pr_count FROM activity_facts WHERE id=";
  CHECK(Row(db, cols + "1") == Strings{"run",       "2024-12-30", "2024",      "12",         "2024-12",
                                       "2025",      "1",          "2025-W01",  "2024-12-30", "1",
                                       "10.000000", "3000",       "0.833333",  "0:50",       "5.000000",
                                       "5:00",      "12.000000",  "50.000000", "3",          "1"});
  CHECK(Row(db, cols + "3") == Strings{"run",      "2024-12-29", "2024",      "12",         "2024-12",
                                       "2024",     "52",         "2024-W52",  "2024-12-23", "7",
                                       "5.000000", "1500",       "0.416667",  "0:25",       "5.000000",
                                       "5:00",     "12.000000",  "20.000000", "2",          "2"});
  CHECK(Row(db, cols + "2") == Strings{"ride",      "2024-12-30", "2024",       "12",         "2024-12",
                                       "2025",      "1",          "2025-W01",   "2024-12-30", "1",
                                       "40.000000", "4800",       "1.333333",   "1:20",       "2.000000",
                                       "2:00",      "30.000000",  "300.000000", "5",          "0"});
  CHECK(Row(db, cols + "4") == Strings{"swim",      "2025-01-05", "2025",     "1",        "2025-01", "2025",     "1",
                                       "2025-W01",  "2024-12-30", "7",        "1.500000", "1800",    "0.500000", "0:30",
                                       "20.000000", "20:00",      "3.000000", "0.000000", "0",       "0"});
  CHECK(Row(db, cols + "5") == Strings{"other",    "2025-01-02", "2025",     "1",        "2025-01", "2025",     "1",
                                       "2025-W01", "2024-12-30", "4",        "0.000000", "3600",    "1.000000", "1:00",
                                       "NULL",     "NULL",       "0.000000", "0.000000", "1",       "0"});
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_facts") == 6);
}

TEST_CASE("weekly, monthly and yearly totals per sport group", "[analytics]") {
  TempDir tmp;
  auto cache = Athlete(tmp / "cache.db");
  sqlite3* db = cache->db();
  const std::string measures =
      "activities, distance_km, moving_time_h, elevation_gain_m, average_speed_kmh, "
      "kudos_count, pr_count";
  // The week of 2024-12-30 is 2025-W01 and holds runs 1 and 6 (the 29th's run is in 2024-W52).
  CHECK(Row(db, "SELECT iso_week_label, week_start, " + measures +
                    " FROM weekly_totals WHERE iso_year=2025 AND iso_week=1 AND sport_group='run'") ==
        Strings{"2025-W01", "2024-12-30", "2", "10.400000", "0.888889", "50.000000", "11.700000", "4", "2"});
  CHECK(Row(db, "SELECT " + measures + " FROM weekly_totals WHERE iso_year=2024 AND iso_week=52") ==
        Strings{"1", "5.000000", "0.416667", "20.000000", "12.000000", "2", "2"});
  CHECK(QueryColumn(db, "SELECT iso_week_label || ' ' || sport_group FROM weekly_totals ORDER BY 1") ==
        std::vector<std::string>{"2024-W52 run", "2025-W01 other", "2025-W01 ride", "2025-W01 run", "2025-W01 swim"});

  CHECK(Row(db, "SELECT " + measures + " FROM monthly_totals WHERE year_month='2024-12' AND sport_group='run'") ==
        Strings{"2", "15.000000", "1.250000", "70.000000", "12.000000", "5", "3"});
  CHECK(Row(db, "SELECT " + measures + " FROM monthly_totals WHERE year=2024 AND month=12 AND sport_group='ride'") ==
        Strings{"1", "40.000000", "1.333333", "300.000000", "30.000000", "5", "0"});
  // No distance: no average speed (the hour of yoga does not slow anything down).
  CHECK(Row(db, "SELECT " + measures + " FROM monthly_totals WHERE year_month='2025-01' AND sport_group='other'") ==
        Strings{"1", "0.000000", "1.000000", "0.000000", "NULL", "1", "0"});
  CHECK(QueryInt(db, "SELECT count(*) FROM monthly_totals") == 5);

  CHECK(Row(db, "SELECT " + measures + " FROM yearly_totals WHERE year=2024 AND sport_group='run'") ==
        Strings{"2", "15.000000", "1.250000", "70.000000", "12.000000", "5", "3"});
  CHECK(Row(db, "SELECT " + measures + " FROM yearly_totals WHERE year=2025 AND sport_group='run'") ==
        Strings{"1", "0.400000", "0.055556", "0.000000", "7.200000", "1", "1"});
  CHECK(QueryInt(db, "SELECT count(*) FROM yearly_totals") == 5);
}

TEST_CASE("zone_time: default zones from the highest heart rate, Coggan zones from the FTP", "[analytics]") {
  TempDir tmp;
  auto cache = Athlete(tmp / "cache.db");
  sqlite3* db = cache->db();
  // 185 bpm: below 111, 111-129.5, 129.5-148, 148-166.5, from 166.5.
  CHECK(
      QueryColumn(
          db,
          "SELECT zone || ':' || min_bpm || '-' || ifnull(max_bpm, '') || ' ' || source FROM hr_zones ORDER BY zone") ==
      std::vector<std::string>{"1:0.0-111.0 max_heartrate", "2:111.0-129.5 max_heartrate",
                               "3:129.5-148.0 max_heartrate", "4:148.0-166.5 max_heartrate", "5:166.5- max_heartrate"});
  CHECK(QueryColumn(db, "SELECT zone || ':' || min_w || '-' || ifnull(max_w, '') FROM power_zones ORDER BY zone") ==
        std::vector<std::string>{"1:0.0-137.5", "2:137.5-187.5", "3:187.5-225.0", "4:225.0-262.5", "5:262.5-300.0",
                                 "6:300.0-375.0", "7:375.0-"});
  const std::string cols =
      "SELECT hr_z1_s, hr_z2_s, hr_z3_s, hr_z4_s, hr_z5_s, power_z1_s, power_z2_s, power_z3_s, "
      "power_z4_s, power_z5_s, power_z6_s, power_z7_s FROM zone_time WHERE activity_id=";
  const std::string n = "NULL";
  CHECK(Row(db, cols + "1") ==
        Strings{"0.000000", "590.000000", "0.000000", "610.000000", "1000.000000", n, n, n, n, n, n, n});
  // 300 W is zone 6: a zone holds its lower bound.
  CHECK(Row(db, cols + "2") == Strings{n, n, n, n, n, "610.000000", "0.000000", "595.000000", "240.000000", "0.000000",
                                       "300.000000", "0.000000"});
  CHECK(Row(db, cols + "3") ==
        Strings{"0.000000", "0.000000", "600.000000", "0.000000", "0.000000", n, n, n, n, n, n, n});
  CHECK(Row(db, cols + "6") == Strings{n, n, n, n, n, n, n, n, n, n, n, n});
  CHECK(QueryInt(db, "SELECT count(*) FROM zone_time") == 4);

  SECTION("a maximum heart rate set by hand") {
    REQUIRE(cache->Exec("INSERT INTO analytics_settings VALUES('max_heartrate', 200)").ok());
    // 120, 140, 160, 180: 120 is zone 2.
    CHECK(Row(db, "SELECT hr_z1_s, hr_z2_s, hr_z3_s, hr_z4_s, hr_z5_s FROM zone_time WHERE activity_id=1") ==
          Strings{"0.000000", "590.000000", "610.000000", "1000.000000", "0.000000"});
  }
  SECTION("Strava's zones, once synced, win") {
    REQUIRE(
        cache
            ->Exec(
                "INSERT INTO analytics_settings VALUES('max_heartrate', 200);"
                // The first athlete's; another athlete's zones are not theirs.
                "INSERT INTO athlete_zones SELECT coalesce((SELECT min(id) FROM athletes), 0), * FROM "
                "(VALUES ('heartrate', 1, 0, 130), ('heartrate', 2, 130, 145),"
                "('heartrate', 3, 145, 160), ('heartrate', 4, 160, 175), ('heartrate', 5, 175, -1));"
                "INSERT INTO athlete_zones VALUES(1 << 40, 'heartrate', 1, 0, 60), (1 << 40, 'heartrate', 2, 60, -1)")
            .ok());
    CHECK(QueryText(db, "SELECT group_concat(DISTINCT source) FROM hr_zones") == "strava");
    CHECK(QueryColumn(db, "SELECT ifnull(max_bpm, 'open') FROM hr_zones WHERE zone=5") ==
          std::vector<std::string>{"open"});
    CHECK(Row(db, "SELECT hr_z1_s, hr_z2_s, hr_z3_s, hr_z4_s, hr_z5_s FROM zone_time WHERE activity_id=1") ==
          Strings{"590.000000", "0.000000", "610.000000", "1000.000000", "0.000000"});
  }
  SECTION("no FTP: no power zones") {
    REQUIRE(cache->Exec("UPDATE athletes SET ftp = NULL").ok());
    CHECK(QueryInt(db, "SELECT count(*) FROM power_zones") == 0);
    CHECK(Row(db, "SELECT power_z1_s, power_z7_s FROM zone_time WHERE activity_id=2") == Strings{n, n});
    REQUIRE(cache->Exec("INSERT INTO analytics_settings VALUES('ftp', 200)").ok());
    // 200 W: below 110, 110-150, 150-180, 180-210, 210-240, 240-300, from 300.
    CHECK(Row(db,
              "SELECT power_z1_s, power_z2_s, power_z3_s, power_z4_s, power_z5_s, power_z6_s, power_z7_s "
              "FROM zone_time WHERE activity_id=2") ==
          Strings{"610.000000", "0.000000", "0.000000", "595.000000", "0.000000", "240.000000", "300.000000"});
  }
}

TEST_CASE("best_efforts and personal_records, over all time and per year", "[analytics]") {
  TempDir tmp;
  auto cache = Athlete(tmp / "cache.db");
  sqlite3* db = cache->db();
  CHECK(Row(db,
            "SELECT activity_id, sport_group, local_date, year, power_20min_w, time_5km_s FROM best_efforts "
            "WHERE activity_id=2") == Strings{"2", "ride", "2024-12-30", "2024", "199.166667", "NULL"});
  CHECK(Row(db,
            "SELECT time_400m_s, time_1km_s, time_5km_s, time_10km_s, time_half_marathon_s FROM best_efforts "
            "WHERE activity_id=1") == Strings{"80.000000", "200.000000", "1000.000000", "2300.000000", "NULL"});
  CHECK(QueryInt(db, "SELECT count(*) FROM best_efforts") == 4);
  CHECK(QueryColumn(db,
                    "SELECT period || ' ' || sport_group || ' ' || effort || ' ' || printf('%.3f', value) || ' ' || "
                    "unit || ' ' || activity_id || ' ' || local_date FROM personal_records ORDER BY 1") ==
        std::vector<std::string>{
            "2024 ride power_10min 250.000 W 2 2024-12-30", "2024 ride power_15s 300.000 W 2 2024-12-30",
            "2024 ride power_1min 300.000 W 2 2024-12-30", "2024 ride power_20min 199.167 W 2 2024-12-30",
            "2024 ride power_5min 300.000 W 2 2024-12-30", "2024 run time_10km 2300.000 s 1 2024-12-30",
            "2024 run time_1km 200.000 s 1 2024-12-30", "2024 run time_400m 80.000 s 1 2024-12-30",
            "2024 run time_5km 1000.000 s 1 2024-12-30", "2025 run time_400m 200.000 s 6 2025-01-03",
            "all ride power_10min 250.000 W 2 2024-12-30", "all ride power_15s 300.000 W 2 2024-12-30",
            "all ride power_1min 300.000 W 2 2024-12-30", "all ride power_20min 199.167 W 2 2024-12-30",
            "all ride power_5min 300.000 W 2 2024-12-30", "all run time_10km 2300.000 s 1 2024-12-30",
            "all run time_1km 200.000 s 1 2024-12-30", "all run time_400m 80.000 s 1 2024-12-30",
            "all run time_5km 1000.000 s 1 2024-12-30"});
}

TEST_CASE("training_90d: every day, rolling volume, load and intensity", "[analytics]") {
  TempDir tmp;
  auto cache = Athlete(tmp / "cache.db");
  sqlite3* db = cache->db();
  CHECK(QueryColumn(db, "SELECT date || ' ' || activities FROM training_90d ORDER BY date") ==
        std::vector<std::string>{"2024-12-29 1", "2024-12-30 2", "2024-12-31 0", "2025-01-01 0", "2025-01-02 1",
                                 "2025-01-03 1", "2025-01-04 0", "2025-01-05 1"});
  const std::string cols =
      "SELECT activities, distance_km, moving_time_h, load, distance_7d_km, distance_28d_km, "
      "volume_7d_h, volume_28d_h, load_7d, load_28d, intensity_7d, intensity_28d, intensity_90d "
      "FROM training_90d WHERE date=";
  // Load (Edwards): run 3 is 600 s in zone 3: 1800 / 60 = 30; run 1 is
  // (2*590 + 4*610 + 5*1000) / 60 = 8620 / 60; the ride has no heart rate.
  // Intensity: 10420 zone-seconds over 2800 s with a heart rate.
  CHECK(Row(db, cols + "'2024-12-30'") == Strings{"2", "50.000000", "2.166667", "143.666667", "55.000000", "55.000000",
                                                  "2.583333", "2.583333", "173.666667", "173.666667", "3.721429",
                                                  "3.721429", "3.721429"});
  CHECK(Row(db, cols + "'2024-12-31'") == Strings{"0", "0.000000", "0.000000", "0.000000", "55.000000", "55.000000",
                                                  "2.583333", "2.583333", "173.666667", "173.666667", "3.721429",
                                                  "3.721429", "3.721429"});
  // The last day's 7 days no longer hold the 29th: 8620 / 2200 s.
  CHECK(Row(db, cols + "'2025-01-05'") == Strings{"1", "1.500000", "0.500000", "0.000000", "51.900000", "56.900000",
                                                  "3.722222", "4.138889", "143.666667", "173.666667", "3.918182",
                                                  "3.721429", "3.721429"});
  CHECK(Row(db, cols + "'2024-12-29'") == Strings{"1", "5.000000", "0.416667", "30.000000", "5.000000", "5.000000",
                                                  "0.416667", "0.416667", "30.000000", "30.000000", "3.000000",
                                                  "3.000000", "3.000000"});
}

// The schema v3 definition of a view (AnalyticsSchemaSql), created as the
// TEMP VIEW v3_<name>: what schema v4's faster view must equal.
void CreateV3View(sqlite3* db, const std::string& name) {
  const std::string sql = AnalyticsSchemaSql(), head = "CREATE VIEW " + name + " AS";
  const size_t at = sql.find(head);
  REQUIRE(at != std::string::npos);
  const size_t end = sql.find("\nCREATE VIEW", at + head.size());
  const std::string body =
      sql.substr(at + head.size(), end == std::string::npos ? std::string::npos : end - at - head.size());
  REQUIRE(sqlite3_exec(db, ("CREATE TEMP VIEW v3_" + name + " AS" + body).c_str(), nullptr, nullptr, nullptr) ==
          SQLITE_OK);
}

const char* kPrs =
    "SELECT quote(period) || ' ' || sport_group || ' ' || effort || ' ' || quote(value) || ' ' || unit || "
    "' ' || activity_id || ' ' || local_date FROM %s ORDER BY period, sport_group, effort";
const char* kTraining =
    "SELECT printf('%%s %%d %%.9f %%.9f %%.9f %%.9f %%.9f %%.9f %%.9f %%.9f %%.9f %%.9f %%.9f %%.9f %%s %%s %%s', "
    "date, "
    "activities, distance_km, moving_time_h, load, distance_7d_km, distance_28d_km, distance_90d_km, volume_7d_h, "
    "volume_28d_h, volume_90d_h, load_7d, load_28d, load_90d, printf('%%.9f', intensity_7d), "
    "printf('%%.9f', intensity_28d), printf('%%.9f', intensity_90d)) FROM %s ORDER BY date";

std::vector<std::string> Rows(sqlite3* db, const char* format, const std::string& view) {
  char sql[2048];
  std::snprintf(sql, sizeof sql, format, view.c_str());
  return QueryColumn(db, sql);
}

// Both views against their v3 definitions, and a non-trivial answer.
void CheckAsV3(sqlite3* db) {
  const auto prs = Rows(db, kPrs, "personal_records");
  CHECK(prs.size() > 4);
  CHECK(prs == Rows(db, kPrs, "v3_personal_records"));
  const auto training = Rows(db, kTraining, "training_90d");
  CHECK(training.size() > 4);
  CHECK(training == Rows(db, kTraining, "v3_training_90d"));
}

TEST_CASE("personal_records and training_90d equal their v3 definitions through edits, deletions and settings",
          "[analytics]") {
  TempDir tmp;
  auto cache = Athlete(tmp / "cache.db");
  sqlite3* db = cache->db();
  CreateV3View(db, "personal_records");
  CreateV3View(db, "training_90d");
  CheckAsV3(db);
  // A tie: the same 400 m in 80 s a year later; the earlier one keeps the record.
  REQUIRE(UpsertSummary(*cache, Activity(7, "2025-01-04T07:00:00", "Run", 400, 80, 0, 0, 0), 2).ok());
  {
    Column time, distance;
    for (int t = 0; t <= 80; t += 10) time.push_back(t), distance.push_back(5.0 * t);
    REQUIRE(ActivityStore(*cache).StoreStreams(7, StreamsOf(Streams({{"time", time}, {"distance", distance}}))).ok());
  }
  CheckAsV3(db);
  SECTION("an edit moves an activity to another day and sport") {
    REQUIRE(UpsertSummary(*cache, Activity(1, "2025-01-04T10:00:00", "TrailRun", 10000, 3100, 50, 3, 1), 2).ok());
    CheckAsV3(db);
    REQUIRE(UpsertSummary(*cache, Activity(3, "2024-12-29T09:00:00", "Ride", 5000, 1500, 20, 2, 2), 2).ok());
    CheckAsV3(db);
  }
  SECTION("new streams replace an activity's figures") {
    REQUIRE(ActivityStore(*cache).StoreStreams(3, StreamsOf(Run1Streams())).ok());
    CheckAsV3(db);
  }
  SECTION("deletions") {
    REQUIRE(ActivityStore(*cache).DeleteActivity(1).ok());
    CheckAsV3(db);
    REQUIRE(ActivityStore(*cache).DeleteActivity(2).ok());
    REQUIRE(ActivityStore(*cache).DeleteActivity(5).ok());
    CheckAsV3(db);
  }
  SECTION("a new maximum heart rate, Strava's zones, a new FTP") {
    REQUIRE(cache->Exec("INSERT INTO analytics_settings VALUES('max_heartrate', 200)").ok());
    CheckAsV3(db);
    REQUIRE(cache
                ->Exec("INSERT INTO athlete_zones SELECT coalesce((SELECT min(id) FROM athletes), 0), * FROM "
                       "(VALUES ('heartrate', 1, 0, 130), ('heartrate', 2, 130, 145),"
                       "('heartrate', 3, 145, 160), ('heartrate', 4, 160, 175), ('heartrate', 5, 175, NULL))")
                .ok());
    CheckAsV3(db);
    REQUIRE(
        cache
            ->Exec(
                "UPDATE athlete_zones SET min = 150 WHERE zone = 4; INSERT INTO analytics_settings VALUES('ftp', 200)")
            .ok());
    CheckAsV3(db);
  }
  SECTION("no heart-rate zones at all") {
    REQUIRE(cache->Exec("DELETE FROM activity_efforts WHERE max_heartrate_bpm IS NOT NULL").ok());
    CHECK(QueryInt(db, "SELECT count(*) FROM hr_zones") == 0);
    CheckAsV3(db);
  }
}

TEST_CASE("Every change of analytics_settings and athlete_zones logs an fs_changes row for activity 0",
          "[analytics][cache]") {
  TempDir tmp;
  auto cache = Athlete(tmp / "cache.db");
  sqlite3* db = cache->db();
  const int64_t before = QueryInt(db, "SELECT max(seq) FROM fs_changes");
  const std::string logged =
      "SELECT count(*) FROM fs_changes WHERE activity_id = 0 AND old_year IS NULL AND "
      "old_month IS NULL AND old_base IS NULL AND seq > " +
      std::to_string(before);
  REQUIRE(cache->Exec("INSERT INTO analytics_settings VALUES('max_heartrate', 200)").ok());
  CHECK(QueryInt(db, logged) == 1);
  REQUIRE(cache
              ->Exec("UPDATE analytics_settings SET value = 190; INSERT OR REPLACE INTO analytics_settings "
                     "VALUES('ftp', 260)")
              .ok());
  CHECK(QueryInt(db, logged) == 3);
  REQUIRE(cache->Exec("DELETE FROM analytics_settings").ok());
  CHECK(QueryInt(db, logged) == 5);
  const Json zones = Json::parse(R"({"heart_rate":{"zones":[{"min":0,"max":150},{"min":150,"max":-1}]}})");
  REQUIRE(AthleteStore(*cache).StoreAthleteZones(zones, 4242).ok());
  CHECK(QueryInt(db, logged) == 7);
  // The same zones again (the usual daily answer) write nothing.
  REQUIRE(AthleteStore(*cache).StoreAthleteZones(zones, 4242).ok());
  CHECK(QueryInt(db, logged) == 7);
  REQUIRE(cache->Exec("UPDATE athlete_zones SET min = 140 WHERE zone = 2").ok());
  CHECK(QueryInt(db, logged) == 8);
  REQUIRE(AthleteStore(*cache).StoreAthleteZones(zones, 4242).ok());  // Strava's back: all replaced
  CHECK(QueryColumn(db, "SELECT zone || ':' || min || '-' || ifnull(max, '') FROM athlete_zones ORDER BY zone") ==
        std::vector<std::string>{"1:0.0-150.0", "2:150.0-"});
  CHECK(QueryInt(db, logged) == 8 + 2 + 2);
  // Another athlete's zones are theirs: this athlete's stay.
  const Json theirs = Json::parse(R"({"heart_rate":{"zones":[{"min":0,"max":120},{"min":120,"max":-1}]}})");
  REQUIRE(AthleteStore(*cache).StoreAthleteZones(theirs, 77).ok());
  CHECK(
      QueryColumn(db, "SELECT athlete_id || '/' || zone || ':' || min FROM athlete_zones ORDER BY athlete_id, zone") ==
      std::vector<std::string>{"77/1:0.0", "77/2:120.0", "4242/1:0.0", "4242/2:150.0"});
  REQUIRE(cache->Exec("DELETE FROM athlete_zones WHERE athlete_id = 77").ok());
  CHECK(QueryInt(db, logged) == 8 + 2 + 2 + 2 + 2);
  // The athletes' rows too (schema v10): a profile fetched again.
  REQUIRE(AthleteStore(*cache).StoreAthlete({{"id", 4242}, {"firstname", "Renamed"}, {"resource_state", 3}}).ok());
  CHECK(QueryInt(db, logged) == 8 + 2 + 2 + 2 + 2 + 1);
  // Writes of activities log their own rows, never one for activity 0 (the
  // one before `before`: the athlete's first insert).
  REQUIRE(ActivityStore(*cache).DeleteActivity(5).ok());
  CHECK(QueryInt(db, "SELECT count(*) FROM fs_changes WHERE activity_id = 0") == 1 + 17);
}

TEST_CASE("A v3 cache upgrades to v6 with its summary tables filled", "[analytics][cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  std::vector<std::string> prs, training, tables;
  const std::string summary =
      "SELECT 'd ' || day || ' ' || activities || ' ' || distance_km || ' ' || moving_time_h "
      "FROM training_days UNION ALL SELECT 'h ' || day || ' ' || bpm || ' ' || seconds "
      "FROM training_day_hr_seconds UNION ALL SELECT 'r ' || activity_id || ' ' || effort || ' ' "
      "|| value || ' ' || rank_value || ' ' || ifnull(year, 'NULL') FROM effort_ranks ORDER BY 1";
  {
    auto cache = Athlete(path);
    prs = Rows(cache->db(), kPrs, "personal_records");
    training = Rows(cache->db(), kTraining, "training_90d");
    tables = QueryColumn(cache->db(), summary);
    // Back to version 3: what schema v4 added, dropped, and v3's views.
    std::string v3 = AnalyticsSchemaSql();
    REQUIRE(cache
                ->Exec(UndoSchemaV9Sql() +
                       "DROP TABLE effort_ranks; DROP TABLE training_days; DROP TABLE training_day_hr_seconds;"
                       "DROP INDEX activities_local_date; DROP TRIGGER analytics_activity_insert; DROP TRIGGER "
                       "analytics_activity_insert_figures;"
                       "DROP TRIGGER analytics_activity_delete; DROP TRIGGER analytics_activity_day;"
                       "DROP TRIGGER analytics_activity_rank; DROP TRIGGER analytics_efforts_insert;"
                       "DROP TRIGGER analytics_efforts_delete; DROP TRIGGER analytics_efforts_update;"
                       "DROP TRIGGER analytics_settings_insert_logged; DROP TRIGGER analytics_settings_update_logged;"
                       "DROP TRIGGER analytics_settings_delete_logged; DROP TRIGGER athlete_zones_insert_logged;"
                       "DROP TRIGGER athlete_zones_update_logged; DROP TRIGGER athlete_zones_delete_logged;"
                       "DROP VIEW personal_records; DROP VIEW training_90d;"
                       "ALTER TABLE activity_sync DROP COLUMN rev; ALTER TABLE activity_sync DROP COLUMN source;"
                       "ALTER TABLE activity_sync DROP COLUMN original_size; ALTER TABLE activity_sync DROP COLUMN "
                       "original_format;"
                       "DROP TABLE import_files; DROP TABLE originals; PRAGMA user_version = 3;")
                .ok());
    for (const char* name : {"personal_records", "training_90d"}) {
      const size_t at = v3.find(std::string("CREATE VIEW ") + name + " AS");
      const size_t end = v3.find("\nCREATE VIEW", at + 12);
      REQUIRE(cache->Exec(v3.substr(at, end == std::string::npos ? std::string::npos : end - at)).ok());
    }
    CHECK(QueryInt(cache->db(), "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == 0);
  }
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().message() == "cache " + path + " has schema version 3: run `stravafs sync` once to upgrade it");
  auto upgraded = Cache::Open(path, Cache::Mode::kReadWrite);
  INFO(upgraded.status().message());
  REQUIRE(upgraded.ok());
  sqlite3* db = (*upgraded)->db();
  CHECK(QueryInt(db, "PRAGMA user_version") == kSchemaVersion);
  CHECK(QueryColumn(db, summary) == tables);
  CHECK(Rows(db, kPrs, "personal_records") == prs);
  CHECK(Rows(db, kTraining, "training_90d") == training);
  CHECK(QueryInt(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == 17);
  // And its triggers keep them from then on.
  REQUIRE(ActivityStore(**upgraded).DeleteActivity(1).ok());
  CreateV3View(db, "personal_records");
  CreateV3View(db, "training_90d");
  CheckAsV3(db);
}

TEST_CASE("A v2 cache upgrades to v6 with the figures of the streams it holds", "[analytics][cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  std::vector<std::string> before;
  const std::string all = "SELECT * FROM activity_efforts ORDER BY activity_id";
  {
    auto cache = Athlete(path);
    before = QueryColumn(cache->db(),
                         "SELECT quote(activity_id) || quote(time_5km_s) || quote(power_20min_w) || "
                         "quote(max_heartrate_bpm) FROM activity_efforts ORDER BY activity_id");
    // Back to version 2: what schema v3 added, dropped.
    REQUIRE(cache
                ->Exec(UndoSchemaV9Sql() +
                       "DROP TABLE effort_ranks; DROP TABLE training_days; DROP TABLE training_day_hr_seconds;"
                       "DROP INDEX activities_local_date; DROP TRIGGER analytics_activity_insert; DROP TRIGGER "
                       "analytics_activity_insert_figures;"
                       "DROP TRIGGER analytics_activity_delete; DROP TRIGGER analytics_activity_day;"
                       "DROP TRIGGER analytics_activity_rank;"
                       "DROP VIEW personal_records; DROP VIEW best_efforts; DROP VIEW training_90d;"
                       "DROP VIEW zone_time; DROP VIEW zone_bounds; DROP VIEW hr_zones; DROP VIEW power_zones; DROP "
                       "VIEW weekly_totals;"
                       "DROP VIEW monthly_totals; DROP VIEW yearly_totals; DROP VIEW activity_facts;"
                       "DROP TABLE activity_efforts; DROP TABLE activity_hr_seconds; DROP TABLE activity_power_seconds;"
                       "DROP TABLE athlete_zones; DROP TABLE analytics_settings; DROP INDEX activities_totals;"
                       "ALTER TABLE activity_sync DROP COLUMN rev; ALTER TABLE activity_sync DROP COLUMN source;"
                       "ALTER TABLE activity_sync DROP COLUMN original_size; ALTER TABLE activity_sync DROP COLUMN "
                       "original_format;"
                       "DROP TABLE import_files; DROP TABLE originals; PRAGMA user_version = 2;")
                .ok());
  }
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().message() == "cache " + path + " has schema version 2: run `stravafs sync` once to upgrade it");
  auto upgraded = Cache::Open(path, Cache::Mode::kReadWrite);
  REQUIRE(upgraded.ok());
  sqlite3* db = (*upgraded)->db();
  CHECK(QueryInt(db, "PRAGMA user_version") == kSchemaVersion);
  CHECK(QueryColumn(db,
                    "SELECT quote(activity_id) || quote(time_5km_s) || quote(power_20min_w) || "
                    "quote(max_heartrate_bpm) FROM activity_efforts ORDER BY activity_id") == before);
  CHECK(QueryInt(db, "SELECT count(*) FROM activity_hr_seconds") == 4);
  CHECK(Row(db, "SELECT hr_z4_s, hr_z5_s FROM zone_time WHERE activity_id=1") == Strings{"610.000000", "1000.000000"});
}

// --- several athletes (schema v11) ----------------------------------------------------

// A second athlete, 777 (FTP 300 W), beside or without the first: a run on a
// day of their own, a ride on a day the first athlete also trained
// (2024-12-30), a short run, and a swim without streams. Their highest heart
// rate is 180 bpm (Run3Streams).
void SecondAthlete(Cache& cache) {
  Transaction tx(cache);
  REQUIRE(tx.status().ok());
  REQUIRE(AthleteStore(cache).StoreAthlete({{"id", 777}, {"firstname", "Bea"}, {"ftp", 300}}).ok());
  auto of_777 = [](Json j) {
    j["athlete"]["id"] = 777;
    return j;
  };
  for (const Json& a : {of_777(Activity(11, "2025-01-04T06:00:00", "Run", 2400, 600, 10, 4, 1)),
                        of_777(Activity(12, "2024-12-30T12:00:00", "Ride", 30000, 3600, 200, 1, 0)),
                        of_777(Activity(13, "2025-02-01T08:00:00", "Run", 400, 200, 0, 0, 0)),
                        of_777(Activity(14, "2024-11-10T08:00:00", "Swim", 1000, 1500, 0, 0, 0))})
    REQUIRE(UpsertSummary(cache, a, 1).ok());
  REQUIRE(ActivityStore(cache).StoreStreams(11, StreamsOf(Run3Streams())).ok());
  REQUIRE(ActivityStore(cache).StoreStreams(12, StreamsOf(Ride2Streams())).ok());
  REQUIRE(ActivityStore(cache).StoreStreams(13, StreamsOf(Run6Streams())).ok());
  REQUIRE(ActivityStore(cache).MarkNoStreams(14).ok());
  REQUIRE(tx.Commit().ok());
}

std::unique_ptr<Cache> OpenEmpty(const std::string& path) {
  auto opened = Cache::Open(path, Cache::Mode::kReadWrite);
  INFO(opened.status().message());
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

// Every row of `sql`, a line each, every value exact (reals to 12 digits:
// sums over the same rows in another order may differ in the last bits).
std::vector<std::string> Dump(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  INFO(sql << ": " << sqlite3_errmsg(db));
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string line;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      line += i ? "|" : "";
      if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        line += "NULL";
      } else if (sqlite3_column_type(st, i) == SQLITE_FLOAT) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.12g", sqlite3_column_double(st, i));
        line += buf;
      } else {
        line += reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      }
    }
    out.push_back(line);
  }
  sqlite3_finalize(st);
  return out;
}

// A view's rows in stats/ order; of one athlete when `athlete` is set.
std::vector<std::string> ViewRows(sqlite3* db, const AnalyticsView& v, std::optional<int64_t> athlete = {}) {
  return Dump(db, std::string("SELECT * FROM ") + v.name +
                      (athlete ? " WHERE athlete_id = " + std::to_string(*athlete) : std::string()) + " ORDER BY " +
                      v.order_by);
}

// Every view's rows, and the summary tables'.
std::vector<std::string> Everything(sqlite3* db) {
  std::vector<std::string> out;
  for (const AnalyticsView& v : kAnalyticsViews) {
    out.push_back(v.name);
    for (std::string& row : ViewRows(db, v)) out.push_back(std::move(row));
  }
  for (const char* table : {"training_days", "training_day_hr_seconds", "effort_ranks"}) {
    out.push_back(table);
    for (std::string& row : Dump(db, std::string("SELECT * FROM ") + table + " ORDER BY 1, 2, 3, 4"))
      out.push_back(std::move(row));
  }
  return out;
}

// What the triggers keep must equal what schema v11 fills from scratch.
void CheckAsRebuilt(Cache& cache) {
  const auto kept = Everything(cache.db());
  REQUIRE(cache.Exec(AnalyticsSchemaV11Sql()).ok());
  CHECK(Everything(cache.db()) == kept);
}

TEST_CASE("Each athlete's analytics in a shared cache equal those of a cache of their own", "[analytics][athletes]") {
  TempDir tmp;
  auto shared = Athlete(tmp / "shared.db");
  SecondAthlete(*shared);
  auto first = Athlete(tmp / "first.db");
  auto second = OpenEmpty(tmp / "second.db");
  SecondAthlete(*second);
  for (const AnalyticsView& v : kAnalyticsViews) {
    INFO(v.name);
    const auto of_first = ViewRows(first->db(), v), of_second = ViewRows(second->db(), v);
    CHECK_FALSE(of_first.empty());
    CHECK_FALSE(of_second.empty());
    CHECK(ViewRows(shared->db(), v, 4242) == of_first);
    CHECK(ViewRows(shared->db(), v, 777) == of_second);
    CHECK(ViewRows(shared->db(), v).size() == of_first.size() + of_second.size());
  }
  // The day both trained is a row of each, with their own figures.
  CHECK(Dump(shared->db(),
             "SELECT athlete_id, activities, distance_km FROM training_90d WHERE date = '2024-12-30' "
             "ORDER BY 1") == std::vector<std::string>{"777|1|30", "4242|2|50"});
  // Each athlete's zones: from their own highest heart rate and FTP.
  CHECK(Dump(shared->db(), "SELECT athlete_id, min_bpm, source FROM hr_zones WHERE zone = 5 ORDER BY 1") ==
        std::vector<std::string>{"777|162|max_heartrate", "4242|166.5|max_heartrate"});
  CHECK(Dump(shared->db(), "SELECT athlete_id, ftp_w FROM power_zones WHERE zone = 1 ORDER BY 1") ==
        std::vector<std::string>{"777|300", "4242|250"});
  CheckAsRebuilt(*shared);

  SECTION("settings of one athlete come before everyone's") {
    REQUIRE(shared
                ->Exec("INSERT INTO analytics_settings VALUES('max_heartrate:777', 200), ('ftp', 200), "
                       "('ftp:4242', 280)")
                .ok());
    CHECK(Dump(shared->db(), "SELECT athlete_id, min_bpm FROM hr_zones WHERE zone = 5 ORDER BY 1") ==
          std::vector<std::string>{"777|180", "4242|166.5"});
    CHECK(Dump(shared->db(), "SELECT athlete_id, ftp_w FROM power_zones WHERE zone = 1 ORDER BY 1") ==
          std::vector<std::string>{"777|200", "4242|280"});
    // Strava's zones of one athlete leave the other's alone.
    REQUIRE(shared
                ->Exec("INSERT INTO athlete_zones VALUES (4242, 'heartrate', 1, 0, 130), (4242, 'heartrate', 2, 130, "
                       "145), (4242, 'heartrate', 3, 145, 160), (4242, 'heartrate', 4, 160, 175), (4242, "
                       "'heartrate', 5, 175, -1)")
                .ok());
    CHECK(Dump(shared->db(), "SELECT athlete_id, min_bpm, max_bpm, source FROM hr_zones WHERE zone = 5 ORDER BY 1") ==
          std::vector<std::string>{"777|180|NULL|max_heartrate", "4242|175|NULL|strava"});
    // Activity 1's 170 bpm from 1300 s to 2300 s is in Strava's zone 4 of 4242.
    CHECK(Dump(shared->db(), "SELECT hr_z4_s, hr_z5_s FROM zone_time WHERE activity_id = 1") ==
          std::vector<std::string>{"1000|0"});
    CheckAsRebuilt(*shared);
  }
  SECTION("an activity handed to the other athlete moves its day, its ranks and its zone seconds") {
    REQUIRE(UpsertSummary(*shared, Activity(11, "2025-01-04T06:00:00", "Run", 2400, 600, 10, 4, 1), 2).ok());
    CHECK(Dump(shared->db(), "SELECT athlete_id FROM zone_time WHERE activity_id = 11") ==
          std::vector<std::string>{"4242"});
    CHECK(Dump(shared->db(), "SELECT DISTINCT athlete_id FROM effort_ranks WHERE activity_id = 11") ==
          std::vector<std::string>{"4242"});
    CheckAsRebuilt(*shared);
  }
  SECTION("deletions and new streams") {
    REQUIRE(ActivityStore(*shared).DeleteActivity(12).ok());
    REQUIRE(ActivityStore(*shared).StoreStreams(13, StreamsOf(Run1Streams())).ok());
    CheckAsRebuilt(*shared);
    CHECK(Dump(shared->db(), "SELECT count(*) FROM training_days WHERE athlete_id = 777 AND day = '2024-12-30'") ==
          std::vector<std::string>{"0"});
  }
  SECTION("an activity of no known athlete is one of its own, NULL") {
    Json loose = Activity(21, "2025-01-04T09:00:00", "Run", 1000, 300, 0, 0, 0);
    loose.erase("athlete");
    REQUIRE(UpsertSummary(*shared, loose, 2).ok());
    REQUIRE(ActivityStore(*shared).StoreStreams(21, StreamsOf(Run3Streams())).ok());
    CHECK(Dump(shared->db(),
               "SELECT quote(athlete_id), activities FROM training_90d WHERE date = '2025-01-04' "
               "ORDER BY athlete_id") == std::vector<std::string>{"NULL|1", "777|1", "4242|0"});
    CHECK(Dump(shared->db(), "SELECT quote(athlete_id), min_bpm FROM hr_zones WHERE zone = 5 AND athlete_id IS NULL") ==
          std::vector<std::string>{"NULL|162"});
    CHECK(Dump(shared->db(), "SELECT count(*) FROM training_days WHERE athlete_id = 0") ==
          std::vector<std::string>{"1"});
    CheckAsRebuilt(*shared);
  }
}

TEST_CASE("A v10 cache upgrades to v11 with every view by athlete", "[analytics][cache][athletes]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  std::vector<std::string> before;
  {
    auto cache = Athlete(path);
    SecondAthlete(*cache);
    before = Everything(cache->db());
    REQUIRE(cache->Exec(UndoSchemaV11Sql()).ok());
    // As v10 was: no athlete in the views or the summary tables.
    sqlite3_stmt* st = nullptr;
    for (const char* sql : {"SELECT athlete_id FROM activity_facts", "SELECT athlete_id FROM training_days",
                            "SELECT athlete_id FROM personal_records"}) {
      CHECK(sqlite3_prepare_v2(cache->db(), sql, -1, &st, nullptr) == SQLITE_ERROR);
      sqlite3_finalize(st);
    }
    // 2024-12-30 is one day of both athletes.
    CHECK(QueryInt(cache->db(), "SELECT count(*) FROM training_days") == 8);
  }
  auto upgraded = Cache::Open(path, Cache::Mode::kReadWrite);
  INFO(upgraded.status().message());
  REQUIRE(upgraded.ok());
  sqlite3* db = (*upgraded)->db();
  CHECK(QueryInt(db, "PRAGMA user_version") == kSchemaVersion);
  CHECK(Everything(db) == before);
  CHECK(QueryInt(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == 17);
}

}  // namespace
}  // namespace stravafs
