// Analytics: what the cache's views (stravafs-sqlite(7), ANALYTICS) need
// from an activity's streams, computed once when the streams are written,
// and the SQL of the summary tables and views themselves.
//
// Per activity, from its samples: the best average power over 15 s to 20 min,
// the best elapsed time over 400 m to a marathon, the highest heart rate, and
// two histograms, seconds per whole bpm and per whole watt. Zone boundaries
// are not applied here: they change (Strava's zones synced later, a new
// maximum heart rate, a new FTP), so the views apply them to the histograms
// at query time and every face always shows the zones in force.
//
// How samples count (the contract the views document):
// - Samples whose time is NULL, or not later than the previous kept sample's,
//   are dropped (glitches and duplicates).
// - Sample i's values hold from its time until the next sample's, for at most
//   kMaxHoldSeconds; the rest of a longer gap is a pause: 0 W in power
//   averages (time passes, no work is done) and in no zone. The last sample
//   holds for no time.
// - A NULL watts value counts as 0 W in power averages and in no power zone;
//   a NULL heart rate is in no heart-rate zone.
// - Distance efforts use samples with both time and distance; distance that
//   goes backwards (a GPS glitch) is held at the highest value so far.
//   Between samples, distance grows linearly in time. A best time is elapsed
//   time, pauses included, exactly as the window's first and last moment.
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "model/streams.h"

namespace stravafs {

inline constexpr double kMaxHoldSeconds = 10;

// The analytics views, as the mount's stats/ folder and the extension's
// strava_<view> tables show them, with the order stats/<view>.csv reads
// their rows in. One list: a view added here shows on every face.
struct AnalyticsView {
  const char* name;
  const char* order_by;
};
// Each view's first column is athlete_id (schema v11; NULL: an activity of
// no known athlete), and its rows read athlete by athlete.
inline constexpr std::array<AnalyticsView, 10> kAnalyticsViews = {{
    {"activity_facts", "athlete_id, start_date_local, id"},
    {"weekly_totals", "athlete_id, week_start, sport_group"},
    {"monthly_totals", "athlete_id, year, month, sport_group"},
    {"yearly_totals", "athlete_id, year, sport_group"},
    {"training_90d", "athlete_id, date"},
    {"zone_time", "athlete_id, activity_id"},
    {"hr_zones", "athlete_id, zone"},
    {"power_zones", "athlete_id, zone"},
    {"best_efforts", "athlete_id, start_date, activity_id"},
    {"personal_records", "athlete_id, period = 'all' DESC, period, sport_group, effort"},
}};

// Durations of the power efforts, and the distances of the time efforts; the
// column names of activity_efforts in the same order.
inline constexpr std::array<double, 5> kPowerDurations = {15, 60, 300, 600, 1200};
inline constexpr std::array<const char*, 5> kPowerColumns = {"power_15s_w", "power_1min_w", "power_5min_w",
                                                             "power_10min_w", "power_20min_w"};
inline constexpr std::array<double, 6> kEffortDistances = {400, 1000, 5000, 10000, 21097.5, 42195};
inline constexpr std::array<const char*, 6> kDistanceColumns = {
    "time_400m_s", "time_1km_s", "time_5km_s", "time_10km_s", "time_half_marathon_s", "time_marathon_s"};

struct StreamAnalytics {
  std::optional<double> max_heartrate;               // bpm, highest sample
  double heartrate_seconds = 0;                      // seconds with a heart rate (sum of hr_seconds)
  double power_seconds = 0;                          // seconds with a power value (sum of power_seconds)
  std::array<std::optional<double>, 5> best_power;   // W, per kPowerDurations; nullopt: no watts or too short
  std::array<std::optional<double>, 6> best_time;    // s, per kEffortDistances; nullopt: not that far
  std::map<int64_t, double> hr_seconds;              // floor(bpm) -> seconds
  std::map<int64_t, double> power_seconds_by_watts;  // floor(W) -> seconds
};

StreamAnalytics AnalyzeStreams(std::span<const StreamSample> samples);

// The highest average of a step function over any window of `duration`
// inside [starts.front(), end]: value[i] holds on [starts[i], starts[i+1])
// (the last one up to `end`). nullopt when the span is shorter. O(n).
std::optional<double> BestAverage(std::span<const double> starts, std::span<const double> values, double end,
                                  double duration);
// The shortest time to cover `meters`, distance growing linearly between
// (time, distance) points (both non-decreasing, time strictly increasing).
// nullopt when the total distance is shorter. O(n).
std::optional<double> BestTime(std::span<const double> times, std::span<const double> distances, double meters);

// Schema v3: the summary tables and the views (run inside the migration).
std::string AnalyticsSchemaSql();
// Schema v4: the tables personal_records and training_90d read instead of
// every activity (effort_ranks, training_days, training_day_hr_seconds), the
// triggers that keep them current on every write of activities and
// activity_efforts, their contents for the cache at hand, and the two views
// rewritten over them; and triggers that log an fs_changes row (activity 0)
// for every change of analytics_settings and athlete_zones, so the mount's
// stats/ files follow them (run inside the migration, after v3's).
std::string AnalyticsSchemaV4Sql();
// Schema v9: athlete_zones keyed by athlete_id too (the zones held go to the
// first athlete), and hr_zones reading the first athlete's.
std::string AnalyticsSchemaV9Sql();
// Schema v10: the athletes table logs its changes in fs_changes as
// analytics_settings and athlete_zones do (a profile fetched again may change
// athlete.json, an athlete's folder name and power_zones' FTP).
std::string AnalyticsSchemaV10Sql();
// Schema v11: the analytics per athlete. Every view of kAnalyticsViews gains
// athlete_id as its first column and groups by it; the zones are each
// athlete's (their Strava zones, their own maximum heart rate and FTP, or the
// settings 'max_heartrate:ID' and 'ftp:ID' before everyone's); the summary
// tables are keyed by athlete (0: no athlete known). Drops and makes again
// every analytics view, v4's summary tables, their triggers and contents.
std::string AnalyticsSchemaV11Sql();

}  // namespace stravafs
