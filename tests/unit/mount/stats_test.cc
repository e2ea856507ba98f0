#include "mount/stats.h"

#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "cache/athlete_store.h"
#include "fake_transport.h"
#include "model/analytics.h"
#include "sql_helpers.h"
#include "upsert_summary.h"

using namespace stravafs;

namespace {

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

// A file's CRLF lines.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find("\r\n", at);
    REQUIRE(end != std::string::npos);
    out.push_back(text.substr(at, end - at));
    at = end + 2;
  }
  return out;
}

// A line without its first field (an athlete id: digits or nothing), and that field.
std::pair<std::string, std::string> SplitFirst(const std::string& line) {
  const size_t comma = line.find(',');
  REQUIRE(comma != std::string::npos);
  return {line.substr(0, comma), line.substr(comma + 1)};
}

// A run of `athlete` (0: of no known athlete, as a loose file imported first).
Json Run(int64_t id, int64_t athlete, const std::string& start_utc, double km) {
  Json j = {{"resource_state", 2},
            {"id", id},
            {"name", "Run"},
            {"sport_type", "Run"},
            {"type", "Run"},
            {"distance", km * 1000},
            {"moving_time", 1800 + id % 600},
            {"elapsed_time", 2000},
            {"start_date", start_utc},
            {"start_date_local", start_utc},
            {"timezone", "(GMT+00:00) UTC"},
            {"utc_offset", 0.0}};
  if (athlete != 0) j["athlete"] = {{"id", athlete}, {"resource_state", 1}};
  return j;
}

// The activities a calendar.svg counts, from its tooltips.
int CalendarActivities(const std::string& svg) {
  static const std::regex kTitle(": (\\d+) activit");
  int n = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), kTitle); it != std::sregex_iterator(); ++it)
    n += std::stoi((*it)[1]);
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
    CHECK(RenderStatsFile(**cache, *reader, kSingleLayoutStats).ok());
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

TEST_CASE("stats files of a scope: everyone's with athlete_id, one athlete's without", "[fs_stats]") {
  testing::TempDir tmp;
  auto opened = Cache::Open(tmp.path() + "/cache.db", Cache::Mode::kReadWrite);
  REQUIRE(opened.ok());
  Cache& cache = **opened;
  constexpr int64_t kAna = 7, kBo = 9;
  REQUIRE(AthleteStore(cache).StoreAthlete({{"id", kAna}, {"firstname", "Ana"}, {"resource_state", 3}}).ok());
  REQUIRE(AthleteStore(cache).StoreAthlete({{"id", kBo}, {"firstname", "Bo"}, {"resource_state", 3}}).ok());
  // Ana runs in 2023 and 2025, Bo in 2025 only, later than Ana's last: her
  // charts end at her newest run, not at his. One run of no known athlete.
  for (const Json& run : {Run(101, kAna, "2023-11-06T07:00:00Z", 5), Run(102, kAna, "2025-01-06T07:00:00Z", 10),
                          Run(103, kAna, "2025-01-08T07:00:00Z", 12.5), Run(201, kBo, "2025-01-07T18:00:00Z", 21.1),
                          Run(202, kBo, "2025-02-01T08:00:00Z", 3), Run(301, 0, "2025-01-09T07:00:00Z", 1)})
    REQUIRE(UpsertSummary(cache, run, 1).ok());

  for (size_t i = 0; i < StatsFiles().size(); ++i) {
    const std::string& name = StatsFiles()[i].name;
    INFO(name);
    auto render = [&](const StatsScope& scope) {
      auto bytes = RenderStatsFile(cache, i, scope);
      INFO(bytes.status().message());
      REQUIRE(bytes.ok());
      // Measured without holding it: the same size.
      auto size = MeasureStatsFile(cache, i, scope);
      REQUIRE(size.ok());
      CHECK(*size == bytes->size());
      // Kept while measured when within the limit, else counted only.
      std::string kept;
      REQUIRE(MeasureStatsFile(cache, i, scope, &kept, bytes->size()).ok());
      CHECK(kept == *bytes);
      std::string over;
      auto counted = MeasureStatsFile(cache, i, scope, &over, bytes->size() - 1);
      REQUIRE(counted.ok());
      CHECK(*counted == bytes->size());
      CHECK(over.empty());
      return *bytes;
    };
    const std::string all = render({0, true}), single = render(kSingleLayoutStats), ana = render({kAna, false}),
                      bo = render({kBo, false});
    if (!StatsCsvReader::Csv(i)) {  // a chart: the activities of its scope, up to their newest
      CHECK(all == single);
      if (name == "calendar.svg") {
        CHECK(CalendarActivities(all) == 5);  // all but 2023-11-06: 53 weeks up to 2025-02-02
        CHECK(CalendarActivities(ana) == 2);  // her 53 weeks end on 2025-01-12
        CHECK(CalendarActivities(bo) == 2);
        CHECK(ana.find("to 2025-01-12</text>") != std::string::npos);
        CHECK(bo.find("to 2025-02-02</text>") != std::string::npos);
      } else {
        CHECK(ana.find("<title>2025-W02 run: 22.5 km</title>") != std::string::npos);
        CHECK(ana.find("2025-W05") == std::string::npos);
        CHECK(bo.find("<title>2025-W02 run: 21.1 km</title>") != std::string::npos);
        CHECK(all.find("<title>2025-W02 run: 44.6 km</title>") != std::string::npos);
      }
      continue;
    }
    // Everyone's: the view's columns and rows, athlete_id first.
    const std::string view = name.substr(0, name.size() - 4);
    const auto all_lines = Lines(all);
    REQUIRE(!all_lines.empty());
    CHECK(SplitFirst(all_lines[0]).first == "athlete_id");
    CHECK(static_cast<int64_t>(all_lines.size()) - 1 == testing::QueryInt(cache.db(), "SELECT count(*) FROM " + view));
    // The single layout's: the same lines without athlete_id.
    std::vector<std::string> without;
    for (const std::string& line : all_lines) without.push_back(SplitFirst(line).second);
    CHECK(Lines(single) == without);
    // One athlete's: exactly their lines of everyone's, in the same order, without athlete_id.
    for (auto [athlete, bytes] : {std::pair{kAna, ana}, std::pair{kBo, bo}}) {
      std::vector<std::string> theirs = {without[0]};
      for (size_t l = 1; l < all_lines.size(); ++l)
        if (SplitFirst(all_lines[l]).first == std::to_string(athlete)) theirs.push_back(without[l]);
      CHECK(Lines(bytes) == theirs);
      CHECK(static_cast<int64_t>(theirs.size()) - 1 ==
            testing::QueryInt(cache.db(),
                              "SELECT count(*) FROM " + view + " WHERE athlete_id = " + std::to_string(athlete)));
    }
    if (view == "activity_facts") {
      CHECK(Lines(ana).size() == 1 + 3);
      CHECK(Lines(bo).size() == 1 + 2);
      CHECK(all_lines.size() == 1 + 6);  // the run of nobody held too, with an empty athlete_id
    }
  }
}
