#include "mount/stats.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fake_transport.h"
#include "model/analytics.h"
#include "sql_helpers.h"

using namespace stravafs;

namespace {

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("stats files: the views in a fixed order, then the charts", "[fs_stats]") {
  std::vector<std::string> names;
  for (const StatsFile& f : StatsFiles()) names.push_back(f.name);
  CHECK(names == std::vector<std::string>{"activity_facts.csv", "weekly_totals.csv", "monthly_totals.csv",
                                          "yearly_totals.csv", "training_90d.csv", "zone_time.csv", "hr_zones.csv",
                                          "power_zones.csv", "best_efforts.csv", "personal_records.csv",
                                          "weekly_distance.svg", "calendar.svg"});
  CHECK(StatsFileIndex("monthly_totals.csv") == 2u);
  CHECK(StatsFileIndex("calendar.svg") == 11u);
  CHECK_FALSE(StatsFileIndex("activities.csv"));
  CHECK_FALSE(StatsFileIndex("../monthly_totals.csv"));
}

TEST_CASE("every analytics view the faces list is a view of the cache", "[fs_stats]") {
  testing::TempDir tmp;
  auto cache = Cache::Open(tmp.path() + "/cache.db", Cache::Mode::kReadWrite);
  REQUIRE(cache.ok());
  for (const AnalyticsView& view : kAnalyticsViews) {
    INFO(view.name);
    CHECK(testing::QueryInt((*cache)->db(), std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'view' AND "
                                                        "name = '") +
                                                view.name + "'") == 1);
    // Its stats/ file reads it in its order.
    auto reader = StatsFileIndex(std::string(view.name) + ".csv");
    REQUIRE(reader);
    CHECK(RenderStatsFile(**cache, *reader).ok());
  }
}

TEST_CASE("weekly distance chart: stacked bars on a nice axis", "[fs_stats]") {
  std::vector<WeekBar> weeks = {
      {"2025-W52", {10, 30, 0, 0}}, {"2026-W01", {0, 0, 0, 0}}, {"2026-W02", {12.5, 0, 1.5, 2}}};
  const std::string svg = WeeklyDistanceSvg(weeks);
  CHECK(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 0) == 0);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  CHECK(svg.find("Weekly distance by sport, 2025-W52 to 2026-W02") != std::string::npos);
  // The highest week is 40 km: steps of 10 km up to 40, so the plot's 288 px
  // hold 40 km and the ride on top of 10 km of running spans 216 px.
  CHECK(svg.find(">40</text>") != std::string::npos);
  CHECK(svg.find(">50</text>") == std::string::npos);
  CHECK(svg.find("height=\"216.0\" fill=\"#2e86ab\"><title>2025-W52 ride: 30.0 km</title>") != std::string::npos);
  CHECK(svg.find("<title>2026-W02 swim: 1.5 km</title>") != std::string::npos);
  // One rect per non-zero (week, sport) plus the background and the legend's four.
  CHECK(Count(svg, "<rect ") == 5 + 1 + 4);
  CHECK(Count(svg, "<title>") == 5);
}

TEST_CASE("calendar chart: a square per day, shaded by moving time", "[fs_stats]") {
  std::vector<DayCell> days;
  const char* dates[] = {"2026-01-26", "2026-01-27", "2026-01-28", "2026-01-29", "2026-01-30",
                         "2026-01-31", "2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04",
                         "2026-02-05", "2026-02-06", "2026-02-07", "2026-02-08"};
  for (const char* d : dates) days.push_back(DayCell{d, 0, 0, 0});
  days[2] = DayCell{"2026-01-28", 2, 54.14, 2.05};
  days[8] = DayCell{"2026-02-03", 1, 5, 0.25};
  const std::string svg = CalendarSvg(days);
  CHECK(svg.find("Moving time per day, 2026-01-26 to 2026-02-08") != std::string::npos);
  CHECK(svg.find("fill=\"#196127\"><title>2026-01-28: 2 activities, 54.1 km, 2:03</title>") != std::string::npos);
  CHECK(svg.find("fill=\"#c6e48b\"><title>2026-02-03: 1 activity, 5.0 km, 0:15</title>") != std::string::npos);
  CHECK(Count(svg, "fill=\"#ebedf0\"><title>") == 12);
  // February's label over the column of the 1st (the second week, a Sunday).
  CHECK(svg.find("<text x=\"36\" y=\"46\" font-size=\"9\">Feb</text>") != std::string::npos);
  CHECK(Count(svg, "<title>") == 14);
}
