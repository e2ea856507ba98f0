#include "model/analytics.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace stravafs {

// Above this a heart rate (bpm) or power (W) reading is a sensor fault.
constexpr double kMaxReading = 1e6;

std::optional<double> BestAverage(std::span<const double> starts, std::span<const double> values, double end,
                                  double duration) {
  const size_t n = starts.size();
  if (n == 0 || values.size() != n || end - starts[0] < duration || duration <= 0) return std::nullopt;
  // Breakpoints b[0..n] (b[n] = end) and the integral from b[0] to each.
  std::vector<double> b(starts.begin(), starts.end());
  b.push_back(end);
  std::vector<double> c(n + 1, 0);
  for (size_t i = 0; i < n; ++i) c[i + 1] = c[i] + values[i] * (b[i + 1] - b[i]);
  auto integral_at = [&](size_t j, double x) { return j == n ? c[n] : c[j] + values[j] * (x - b[j]); };
  // The window's integral is linear in its start between the moments where
  // its start or its end crosses a breakpoint: the best window starts or ends
  // at one. Both pointers only move forward.
  double best = -INFINITY;
  size_t j = 0;
  for (size_t i = 0; i < n && b[i] + duration <= end; ++i) {
    const double x = b[i] + duration;
    while (j < n && b[j + 1] <= x) ++j;
    best = std::max(best, (integral_at(j, x) - c[i]) / duration);
  }
  j = 0;
  for (size_t k = 1; k <= n; ++k) {
    const double x = b[k] - duration;
    if (x < b[0]) continue;
    while (j < n && b[j + 1] <= x) ++j;
    best = std::max(best, (c[k] - integral_at(j, x)) / duration);
  }
  return best;
}

std::optional<double> BestTime(std::span<const double> t, std::span<const double> d, double meters) {
  const size_t n = t.size();
  if (n < 2 || d.size() != n || meters <= 0 || d[n - 1] - d[0] < meters) return std::nullopt;
  // The window's duration is linear in its start distance between the
  // distances where its start or its end passes a sample: the best window
  // starts or ends at a sample. Both pointers only move forward.
  double best = INFINITY;
  size_t j = 0;
  for (size_t i = 0; i < n; ++i) {  // windows starting at sample i
    const double target = d[i] + meters;
    j = std::max(j, i);
    while (j < n && d[j] < target) ++j;
    if (j == n) break;
    const double end = d[j] == target ? t[j] : t[j - 1] + (target - d[j - 1]) / (d[j] - d[j - 1]) * (t[j] - t[j - 1]);
    best = std::min(best, end - t[i]);
  }
  size_t k = 0;
  for (size_t e = 1; e < n; ++e) {  // windows ending at sample e
    const double target = d[e] - meters;
    if (target < d[0]) continue;
    // The last sample at or before target, and before e: target < d[e] but
    // for rounding (d[e] - meters == d[e] when d[e] is huge).
    while (k + 1 < e && d[k + 1] <= target) ++k;
    const double start = t[k] + (target - d[k]) / (d[k + 1] - d[k]) * (t[k + 1] - t[k]);
    best = std::min(best, t[e] - start);
  }
  return best;
}

StreamAnalytics AnalyzeStreams(std::span<const StreamSample> samples) {
  StreamAnalytics out;
  std::vector<const StreamSample*> kept;
  kept.reserve(samples.size());
  for (const StreamSample& s : samples) {
    if (!s.time || !std::isfinite(*s.time)) continue;
    if (!kept.empty() && *s.time <= *kept.back()->time) continue;
    kept.push_back(&s);
  }
  bool any_watts = false;
  std::vector<double> starts, values;
  starts.reserve(kept.size() * 2);
  values.reserve(kept.size() * 2);
  for (size_t i = 0; i < kept.size(); ++i) {
    const StreamSample& s = *kept[i];
    if (s.heartrate && std::isfinite(*s.heartrate))
      out.max_heartrate = std::max(out.max_heartrate.value_or(*s.heartrate), *s.heartrate);
    const bool has_watts = s.watts && std::isfinite(*s.watts);
    any_watts = any_watts || has_watts;
    if (i + 1 == kept.size()) break;
    const double t = *s.time, dt = *kept[i + 1]->time - t, hold = std::min(dt, kMaxHoldSeconds);
    const double w = has_watts ? std::max(*s.watts, 0.0) : 0.0;
    starts.push_back(t);
    values.push_back(w);
    if (hold < dt) {
      starts.push_back(t + hold);
      values.push_back(0);
    }
    // Histograms count plausible readings only: a garbage sample of 1e19 bpm
    // or watts has no whole-number bin (and casting it would be undefined).
    if (s.heartrate && *s.heartrate >= 0 && *s.heartrate < kMaxReading) {
      out.hr_seconds[static_cast<int64_t>(std::floor(*s.heartrate))] += hold;
      out.heartrate_seconds += hold;
    }
    if (has_watts && w < kMaxReading) {
      out.power_seconds_by_watts[static_cast<int64_t>(std::floor(w))] += hold;
      out.power_seconds += hold;
    }
  }
  if (any_watts && kept.size() >= 2) {
    const double end = *kept.back()->time;
    for (size_t k = 0; k < kPowerDurations.size(); ++k)
      out.best_power[k] = BestAverage(starts, values, end, kPowerDurations[k]);
  }

  std::vector<double> times, distances;
  for (const StreamSample* s : kept) {
    if (!s->distance || !std::isfinite(*s->distance)) continue;
    times.push_back(*s->time);
    distances.push_back(distances.empty() ? *s->distance : std::max(distances.back(), *s->distance));
  }
  for (size_t k = 0; k < kEffortDistances.size(); ++k)
    out.best_time[k] = BestTime(times, distances, kEffortDistances[k]);
  return out;
}

namespace {

// The ISO 8601 week of the local date `d` (an SQL expression): its Monday,
// and the Thursday that decides its year.
constexpr const char* kFactsView = R"SQL(
CREATE VIEW activity_facts AS
SELECT id, name, sport_type,
       CASE WHEN sport_type IN ('Run', 'TrailRun', 'VirtualRun') THEN 'run'
            WHEN sport_type IN ('Ride', 'GravelRide', 'MountainBikeRide', 'VirtualRide', 'EBikeRide',
                                'EMountainBikeRide', 'Velomobile', 'Handcycle') THEN 'ride'
            WHEN sport_type = 'Swim' THEN 'swim'
            ELSE 'other' END AS sport_group,
       start_date, start_date_local,
       date(start_date_local) AS local_date,
       CAST(strftime('%Y', start_date_local) AS INTEGER) AS year,
       CAST(strftime('%m', start_date_local) AS INTEGER) AS month,
       strftime('%Y-%m', start_date_local) AS year_month,
       CAST(strftime('%Y', week_start, '+3 days') AS INTEGER) AS iso_year,
       (CAST(strftime('%j', week_start, '+3 days') AS INTEGER) - 1) / 7 + 1 AS iso_week,
       printf('%04d-W%02d', CAST(strftime('%Y', week_start, '+3 days') AS INTEGER),
              (CAST(strftime('%j', week_start, '+3 days') AS INTEGER) - 1) / 7 + 1) AS iso_week_label,
       week_start,
       (CAST(strftime('%w', start_date_local) AS INTEGER) + 6) % 7 + 1 AS weekday,
       distance / 1000.0 AS distance_km,
       moving_time AS moving_time_s,
       moving_time / 3600.0 AS moving_time_h,
       printf('%d:%02d', moving_time / 3600, moving_time % 3600 / 60) AS moving_time_hm,
       elapsed_time AS elapsed_time_s,
       elapsed_time / 3600.0 AS elapsed_time_h,
       CASE WHEN distance > 0 THEN moving_time / 60.0 / (distance / 1000.0) END AS pace_min_per_km,
       CASE WHEN distance > 0 THEN printf('%d:%02d', CAST(round(moving_time / (distance / 1000.0)) AS INTEGER) / 60,
                                          CAST(round(moving_time / (distance / 1000.0)) AS INTEGER) % 60) END
         AS pace_per_km,
       CASE WHEN moving_time > 0 THEN distance / moving_time * 3.6 END AS average_speed_kmh,
       max_speed * 3.6 AS max_speed_kmh,
       total_elevation_gain AS elevation_gain_m,
       average_heartrate AS average_heartrate_bpm,
       max_heartrate AS max_heartrate_bpm,
       average_watts AS average_power_w,
       kilojoules AS energy_kj,
       suffer_score,
       kudos_count, pr_count, achievement_count,
       commute, trainer, manual
FROM (SELECT *, date(start_date_local, '-' || ((CAST(strftime('%w', start_date_local) AS INTEGER) + 6) % 7) || ' days')
                  AS week_start
      FROM activities);
)SQL";

// The measures every *_totals view shows, over a group of activity_facts rows.
constexpr const char* kTotals = R"SQL(
       count(*) AS activities,
       total(distance_km) AS distance_km,
       total(moving_time_h) AS moving_time_h,
       total(elevation_gain_m) AS elevation_gain_m,
       sum(CASE WHEN distance_km > 0 THEN distance_km END) * 3600.0 /
         nullif(sum(CASE WHEN distance_km > 0 THEN moving_time_s END), 0) AS average_speed_kmh,
       coalesce(sum(kudos_count), 0) AS kudos_count,
       coalesce(sum(pr_count), 0) AS pr_count
)SQL";

constexpr const char* kTablesAndZones = R"SQL(
-- Settings the analytics read; stravafs never writes them (a person does, with sqlite3).
CREATE TABLE analytics_settings (key TEXT PRIMARY KEY, value REAL NOT NULL);

-- The athlete's zones from Strava's /athlete/zones, one row per zone.
CREATE TABLE athlete_zones (
  kind TEXT NOT NULL,        -- 'heartrate' (or 'power')
  zone INTEGER NOT NULL,     -- 1, 2, ...
  min REAL NOT NULL,
  max REAL,                  -- NULL: open top (Strava's -1)
  PRIMARY KEY (kind, zone)
) WITHOUT ROWID;

-- Per activity with streams, computed from its samples whenever they are
-- written (analytics.h says how samples count).
CREATE TABLE activity_efforts (
  activity_id INTEGER PRIMARY KEY,
  max_heartrate_bpm REAL, heartrate_s REAL NOT NULL, power_s REAL NOT NULL,
  power_15s_w REAL, power_1min_w REAL, power_5min_w REAL, power_10min_w REAL, power_20min_w REAL,
  time_400m_s REAL, time_1km_s REAL, time_5km_s REAL, time_10km_s REAL,
  time_half_marathon_s REAL, time_marathon_s REAL
);
-- The observed maximum heart rate, which the default zones use, in one step.
CREATE INDEX activity_efforts_max_heartrate ON activity_efforts(max_heartrate_bpm);
CREATE TABLE activity_hr_seconds (
  activity_id INTEGER NOT NULL, bpm INTEGER NOT NULL, seconds REAL NOT NULL,
  PRIMARY KEY (activity_id, bpm)
) WITHOUT ROWID;
CREATE TABLE activity_power_seconds (
  activity_id INTEGER NOT NULL, watts INTEGER NOT NULL, seconds REAL NOT NULL,
  PRIMARY KEY (activity_id, watts)
) WITHOUT ROWID;

-- monthly_totals and yearly_totals read this index alone, never the wide rows.
CREATE INDEX activities_totals ON activities(start_date_local, sport_type, distance, moving_time,
                                             total_elevation_gain, kudos_count, pr_count);

)SQL";

// Strava's heart-rate zones where held (those `whose` picks), else shares of
// the maximum heart rate.
std::string HrZonesView(const std::string& whose) {
  return R"SQL(
CREATE VIEW hr_zones AS
WITH strava AS (SELECT zone, min AS min_bpm, CASE WHEN max < 0 THEN NULL ELSE max END AS max_bpm
                FROM athlete_zones WHERE kind = 'heartrate')SQL" +
         whose + R"SQL(),
     hrmax(bpm) AS (SELECT coalesce((SELECT value FROM analytics_settings WHERE key = 'max_heartrate'),
                                    (SELECT max(max_heartrate_bpm) FROM activity_efforts))),
     share(zone, lo, hi) AS (VALUES (1, 0.0, 0.6), (2, 0.6, 0.7), (3, 0.7, 0.8), (4, 0.8, 0.9), (5, 0.9, NULL))
SELECT zone, min_bpm, max_bpm, 'strava' AS source FROM strava
UNION ALL
SELECT zone, lo * bpm, hi * bpm, 'max_heartrate' FROM share, hrmax
WHERE bpm IS NOT NULL AND NOT EXISTS (SELECT 1 FROM strava);
)SQL";
}

// The zones of a view as columns of one row: <prefix>_z<k>_min and _max
// for zones 1 to `zones`, from the view's min_<unit> and max_<unit> (open
// tops as 1e9).
std::string ZoneColumns(const std::string& prefix, const std::string& unit, int zones) {
  std::string sql;
  for (int k = 1; k <= zones; ++k) {
    const std::string z = std::to_string(k), col = prefix + "_z" + z;
    sql += "       max(CASE zone WHEN " + z + " THEN min_" + unit + " END) AS " + col + "_min, max(CASE zone WHEN " +
           z + " THEN coalesce(max_" + unit + ", 1e9) END) AS " + col + "_max" + (k < zones ? ",\n" : "\n");
  }
  return sql;
}

std::string ZoneBoundsV3() {
  return "-- One row: the zones in force as columns (open tops as 1e9), read once per\n"
         "-- statement, so zone_time reads only each activity's own histogram rows.\n"
         "CREATE VIEW zone_bounds AS\nSELECT * FROM\n  (SELECT\n" +
         ZoneColumns("hr", "bpm", 5) + "   FROM hr_zones),\n  (SELECT\n" + ZoneColumns("power", "w", 7) +
         "   FROM power_zones);\n\n";
}

std::string ZonesFromPower() {
  return R"SQL(
CREATE VIEW power_zones AS
WITH ftp(w) AS (SELECT coalesce((SELECT value FROM analytics_settings WHERE key = 'ftp'),
                                (SELECT ftp FROM athletes WHERE ftp > 0 ORDER BY id LIMIT 1))),
     share(zone, lo, hi) AS (VALUES (1, 0.0, 0.55), (2, 0.55, 0.75), (3, 0.75, 0.9), (4, 0.9, 1.05),
                                    (5, 1.05, 1.2), (6, 1.2, 1.5), (7, 1.5, NULL))
SELECT zone, lo * w AS min_w, hi * w AS max_w, w AS ftp_w FROM share, ftp WHERE w > 0;

)SQL" + ZoneBoundsV3() +
         R"SQL(CREATE VIEW zone_time AS
SELECT e.activity_id,
       CASE WHEN e.heartrate_s > 0 AND b.hr_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_hr_seconds
          WHERE activity_id = e.activity_id AND bpm >= b.hr_z1_min AND bpm < b.hr_z1_max) END AS hr_z1_s,
       CASE WHEN e.heartrate_s > 0 AND b.hr_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_hr_seconds
          WHERE activity_id = e.activity_id AND bpm >= b.hr_z2_min AND bpm < b.hr_z2_max) END AS hr_z2_s,
       CASE WHEN e.heartrate_s > 0 AND b.hr_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_hr_seconds
          WHERE activity_id = e.activity_id AND bpm >= b.hr_z3_min AND bpm < b.hr_z3_max) END AS hr_z3_s,
       CASE WHEN e.heartrate_s > 0 AND b.hr_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_hr_seconds
          WHERE activity_id = e.activity_id AND bpm >= b.hr_z4_min AND bpm < b.hr_z4_max) END AS hr_z4_s,
       CASE WHEN e.heartrate_s > 0 AND b.hr_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_hr_seconds
          WHERE activity_id = e.activity_id AND bpm >= b.hr_z5_min AND bpm < b.hr_z5_max) END AS hr_z5_s,
       CASE WHEN e.power_s > 0 AND b.power_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_power_seconds
          WHERE activity_id = e.activity_id AND watts >= b.power_z1_min AND watts < b.power_z1_max) END AS power_z1_s,
       CASE WHEN e.power_s > 0 AND b.power_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_power_seconds
          WHERE activity_id = e.activity_id AND watts >= b.power_z2_min AND watts < b.power_z2_max) END AS power_z2_s,
       CASE WHEN e.power_s > 0 AND b.power_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_power_seconds
          WHERE activity_id = e.activity_id AND watts >= b.power_z3_min AND watts < b.power_z3_max) END AS power_z3_s,
       CASE WHEN e.power_s > 0 AND b.power_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_power_seconds
          WHERE activity_id = e.activity_id AND watts >= b.power_z4_min AND watts < b.power_z4_max) END AS power_z4_s,
       CASE WHEN e.power_s > 0 AND b.power_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_power_seconds
          WHERE activity_id = e.activity_id AND watts >= b.power_z5_min AND watts < b.power_z5_max) END AS power_z5_s,
       CASE WHEN e.power_s > 0 AND b.power_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_power_seconds
          WHERE activity_id = e.activity_id AND watts >= b.power_z6_min AND watts < b.power_z6_max) END AS power_z6_s,
       CASE WHEN e.power_s > 0 AND b.power_z1_min IS NOT NULL THEN
         (SELECT total(seconds) FROM activity_power_seconds
          WHERE activity_id = e.activity_id AND watts >= b.power_z7_min AND watts < b.power_z7_max) END AS power_z7_s
FROM activity_efforts e, zone_bounds b;
)SQL";
}

// The end of training_90d: rolling 7, 28 and 90-day sums over `filled` (one
// row per day, and per athlete from schema v11: `athlete` names its column,
// empty before) and the intensities.
std::string TrainingRolling(const std::string& athlete) {
  const std::string key = athlete.empty() ? "" : athlete + ", ";
  const std::string by = athlete.empty() ? "" : "PARTITION BY " + athlete + " ";
  const std::string shown = athlete.empty() ? "" : "nullif(" + athlete + ", 0) AS athlete_id, ";
  return "rolling AS (\n  SELECT " + key + R"SQL(day, activities, distance_km, moving_time_h, load,
         sum(distance_km) OVER w7 AS distance_7d_km, sum(distance_km) OVER w28 AS distance_28d_km,
         sum(distance_km) OVER w90 AS distance_90d_km,
         sum(moving_time_h) OVER w7 AS volume_7d_h, sum(moving_time_h) OVER w28 AS volume_28d_h,
         sum(moving_time_h) OVER w90 AS volume_90d_h,
         sum(load) OVER w7 AS load_7d, sum(load) OVER w28 AS load_28d, sum(load) OVER w90 AS load_90d,
         sum(hr_h) OVER w7 AS hr_7d_h, sum(hr_h) OVER w28 AS hr_28d_h, sum(hr_h) OVER w90 AS hr_90d_h
  FROM filled
  WINDOW w7 AS ()SQL" +
         by + R"SQL(ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW),
         w28 AS ()SQL" +
         by + R"SQL(ORDER BY day ROWS BETWEEN 27 PRECEDING AND CURRENT ROW),
         w90 AS ()SQL" +
         by + R"SQL(ORDER BY day ROWS BETWEEN 89 PRECEDING AND CURRENT ROW)
)
SELECT )SQL" +
         shown + R"SQL(day AS date, activities, distance_km, moving_time_h, load,
       distance_7d_km, distance_28d_km, distance_90d_km, volume_7d_h, volume_28d_h, volume_90d_h,
       load_7d, load_28d, load_90d,
       load_7d / 60.0 / nullif(hr_7d_h, 0) AS intensity_7d,
       load_28d / 60.0 / nullif(hr_28d_h, 0) AS intensity_28d,
       load_90d / 60.0 / nullif(hr_90d_h, 0) AS intensity_90d
FROM rolling;
)SQL";
}

constexpr const char* kEffortViews = R"SQL(
CREATE VIEW best_efforts AS
SELECT e.activity_id, f.name, f.sport_type, f.sport_group, f.start_date, f.local_date, f.year,
       e.power_15s_w, e.power_1min_w, e.power_5min_w, e.power_10min_w, e.power_20min_w,
       e.time_400m_s, e.time_1km_s, e.time_5km_s, e.time_10km_s, e.time_half_marathon_s, e.time_marathon_s
FROM activity_efforts e JOIN activity_facts f ON f.id = e.activity_id;

CREATE VIEW personal_records AS
WITH e(activity_id, sport_group, year, start_date, local_date, effort, unit, value, sign) AS (
  SELECT activity_id, sport_group, year, start_date, local_date, 'power_15s', 'W', power_15s_w, -1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'power_1min', 'W', power_1min_w, -1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'power_5min', 'W', power_5min_w, -1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'power_10min', 'W', power_10min_w, -1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'power_20min', 'W', power_20min_w, -1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'time_400m', 's', time_400m_s, 1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'time_1km', 's', time_1km_s, 1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'time_5km', 's', time_5km_s, 1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'time_10km', 's', time_10km_s, 1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'time_half_marathon', 's', time_half_marathon_s, 1 FROM best_efforts
  UNION ALL SELECT activity_id, sport_group, year, start_date, local_date, 'time_marathon', 's', time_marathon_s, 1 FROM best_efforts
),
periods AS (
  SELECT 'all' AS period, * FROM e WHERE value IS NOT NULL
  UNION ALL SELECT CAST(year AS TEXT), * FROM e WHERE value IS NOT NULL
),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY period, sport_group, effort ORDER BY value * sign, start_date, activity_id) AS rank
  FROM periods
)
SELECT period, sport_group, effort, value, unit, activity_id, local_date FROM ranked WHERE rank = 1;

CREATE VIEW training_90d AS
WITH RECURSIVE
per_activity AS (
  SELECT f.local_date AS day, f.distance_km, f.moving_time_h,
         (z.hr_z1_s + 2 * z.hr_z2_s + 3 * z.hr_z3_s + 4 * z.hr_z4_s + 5 * z.hr_z5_s) / 60.0 AS load,
         (z.hr_z1_s + z.hr_z2_s + z.hr_z3_s + z.hr_z4_s + z.hr_z5_s) / 3600.0 AS hr_h
  FROM activity_facts f LEFT JOIN zone_time z ON z.activity_id = f.id
  WHERE f.local_date IS NOT NULL
),
daily AS (
  SELECT day, count(*) AS activities, total(distance_km) AS distance_km, total(moving_time_h) AS moving_time_h,
         total(load) AS load, total(hr_h) AS hr_h
  FROM per_activity GROUP BY day
),
calendar(day) AS (
  SELECT min(day) FROM daily
  UNION ALL SELECT date(day, '+1 day') FROM calendar WHERE day < (SELECT max(day) FROM daily)
),
filled AS (
  SELECT c.day, coalesce(d.activities, 0) AS activities, coalesce(d.distance_km, 0.0) AS distance_km,
         coalesce(d.moving_time_h, 0.0) AS moving_time_h, coalesce(d.load, 0.0) AS load, coalesce(d.hr_h, 0.0) AS hr_h
  FROM calendar c LEFT JOIN daily d ON d.day = c.day
  WHERE c.day IS NOT NULL
),
)SQL";

// --- schema v4: what personal_records and training_90d read, kept current by triggers ---

// What personal_records ranks over, in schema v4 and v11 alike: kEfforts,
// and every sport_group activity_facts gives.
constexpr const char* kRecordKeys = R"SQL(
efforts(effort) AS (VALUES ('power_15s'), ('power_1min'), ('power_5min'), ('power_10min'), ('power_20min'),
                           ('time_400m'), ('time_1km'), ('time_5km'), ('time_10km'), ('time_half_marathon'),
                           ('time_marathon')),
-- A group missing here would have no records (analytics_test.cc compares
-- with the v3 ranking).
sport_groups(sport_group) AS (VALUES ('run'), ('ride'), ('swim'), ('other')),
)SQL";

// The efforts personal_records ranks: name, unit, best_efforts column, and
// the sign that makes lower better.
struct Effort {
  const char* name;
  const char* unit;
  const char* column;
  int sign;
};
constexpr Effort kEfforts[] = {
    {"power_15s", "W", "power_15s_w", -1},       {"power_1min", "W", "power_1min_w", -1},
    {"power_5min", "W", "power_5min_w", -1},     {"power_10min", "W", "power_10min_w", -1},
    {"power_20min", "W", "power_20min_w", -1},   {"time_400m", "s", "time_400m_s", 1},
    {"time_1km", "s", "time_1km_s", 1},          {"time_5km", "s", "time_5km_s", 1},
    {"time_10km", "s", "time_10km_s", 1},        {"time_half_marathon", "s", "time_half_marathon_s", 1},
    {"time_marathon", "s", "time_marathon_s", 1}};

// Schema v4's summary tables hold one athlete's days and ranks; v11's hold
// them per athlete, keyed by the athlete's id (0: activities of no known
// athlete). `who` is the athlete's key as an SQL expression, empty in v4.
std::string KeyColumn(const std::string& who) { return who.empty() ? "" : "athlete_id, "; }
std::string KeyValue(const std::string& who) { return who.empty() ? "" : who + ", "; }
std::string KeyIs(const std::string& who) { return who.empty() ? "" : "athlete_id = " + who + " AND "; }
// The activities of `who` (the expression activities_local_date indexes).
std::string ActivitiesOf(const std::string& who, const std::string& table = "") {
  return who.empty() ? "" : "ifnull(" + table + "athlete_id, 0) = " + who + " AND ";
}

// Inserts the effort_ranks rows of the best_efforts rows matching `where`
// (one activity in the triggers, all of them in the migration).
std::string InsertEffortRanks(const std::string& where, bool by_athlete) {
  const std::string who = by_athlete ? "ifnull(athlete_id, 0)" : "";
  std::string sql = "INSERT INTO effort_ranks(" + KeyColumn(who) +
                    "activity_id, effort, unit, value, rank_value, sport_group, year, start_date, "
                    "local_date)\nSELECT " +
                    KeyValue(who) +
                    "activity_id, effort, unit, value, value * sign, sport_group, year, start_date, local_date "
                    "FROM (\n";
  bool first = true;
  for (const Effort& e : kEfforts) {
    sql += std::string(first ? "  " : "  UNION ALL ") + "SELECT " + KeyColumn(who) +
           "activity_id, sport_group, year, start_date, local_date, '" + e.name + "' AS effort, '" + e.unit +
           "' AS unit, " + e.column + " AS value, " + std::to_string(e.sign) + " AS sign FROM best_efforts WHERE " +
           where + "\n";
    first = false;
  }
  return sql + ") WHERE value IS NOT NULL;\n";
}

std::string RefreshEffortRanks(const std::string& id, bool by_athlete) {
  return "DELETE FROM effort_ranks WHERE activity_id = " + id + ";\n" +
         InsertEffortRanks("activity_id = " + id, by_athlete);
}

// Recomputes the heart-rate histogram of `who`'s local date `day` (an SQL
// expression) from the activities of that date whose efforts are held.
std::string RefreshDayHr(const std::string& day, const std::string& who) {
  return "DELETE FROM training_day_hr_seconds WHERE " + KeyIs(who) + "day = " + day +
         ";\n"
         "INSERT INTO training_day_hr_seconds(" +
         KeyColumn(who) +
         "day, bpm, seconds)\n"
         "SELECT " +
         KeyValue(who) +
         "date(a.start_date_local), h.bpm, total(h.seconds) FROM activities a\n"
         "JOIN activity_efforts e ON e.activity_id = a.id JOIN activity_hr_seconds h ON h.activity_id = a.id\n"
         "WHERE " +
         ActivitiesOf(who, "a.") + "date(a.start_date_local) = " + day + " GROUP BY h.bpm;\n";
}

// Recomputes the training_days row of `who`'s `day`.
std::string RefreshDayTotals(const std::string& day, const std::string& who) {
  return "DELETE FROM training_days WHERE " + KeyIs(who) + "day = " + day +
         ";\n"
         "INSERT INTO training_days(" +
         KeyColumn(who) +
         "day, activities, distance_km, moving_time_h)\n"
         "SELECT " +
         KeyValue(who) +
         "date(start_date_local), count(*), total(distance / 1000.0), total(moving_time / 3600.0)\n"
         "FROM activities WHERE " +
         ActivitiesOf(who) + "date(start_date_local) = " + day + " GROUP BY " + (who.empty() ? "1" : "2") + ";\n";
}

// Recomputes the training_days row of `who`'s `day` and its histogram.
std::string RefreshDay(const std::string& day, const std::string& who) {
  return RefreshDayTotals(day, who) + RefreshDayHr(day, who);
}

std::string DayOf(const std::string& id) {
  return "(SELECT date(start_date_local) FROM activities WHERE id = " + id + ")";
}
std::string AthleteOf(const std::string& id, bool by_athlete) {
  return by_athlete ? "(SELECT ifnull(athlete_id, 0) FROM activities WHERE id = " + id + ")" : "";
}
// The key of the athlete of a trigger's OLD or NEW row of activities.
std::string RowAthlete(const std::string& row, bool by_athlete) {
  return by_athlete ? "ifnull(" + row + ".athlete_id, 0)" : "";
}

std::string Trigger(const std::string& name, const std::string& when, const std::string& body) {
  return "CREATE TRIGGER " + name + " " + when + "\nBEGIN\n" + body + "END;\n";
}

// Triggers that log an fs_changes row (activity 0) for every change of `table`.
std::string LoggedChanges(const std::string& table) {
  std::string sql;
  for (auto [op, name] : {std::pair{"INSERT", "insert"}, std::pair{"UPDATE", "update"}, std::pair{"DELETE", "delete"}})
    sql += Trigger(table + "_" + name + "_logged", std::string("AFTER ") + op + " ON " + table,
                   "INSERT INTO fs_changes(activity_id) VALUES(0);\n");
  return sql;
}

constexpr const char* kV4Tables = R"SQL(
-- personal_records reads this instead of ranking every best effort: one row
-- per activity and effort it has a value for, with what the ranking needs
-- (rank_value: value * sign, lower is better), kept by the triggers below.
CREATE TABLE effort_ranks (
  activity_id INTEGER NOT NULL, effort TEXT NOT NULL, unit TEXT NOT NULL, value REAL NOT NULL,
  rank_value REAL NOT NULL, sport_group TEXT, year INTEGER, start_date TEXT, local_date TEXT
);
-- Each period's best is the first entry of its (year, effort, sport_group).
CREATE INDEX effort_ranks_best ON effort_ranks(year, effort, sport_group, rank_value, start_date, activity_id);
CREATE INDEX effort_ranks_activity ON effort_ranks(activity_id);

-- training_90d reads these instead of every activity and its zone seconds:
-- per local date, the activities' count and sums, and the seconds per whole
-- bpm of those whose streams are held. Zones are applied when the view is
-- read, so nothing here depends on analytics_settings or athlete_zones.
CREATE TABLE training_days (
  day TEXT PRIMARY KEY, activities INTEGER NOT NULL, distance_km REAL NOT NULL, moving_time_h REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE training_day_hr_seconds (
  day TEXT NOT NULL, bpm INTEGER NOT NULL, seconds REAL NOT NULL,
  PRIMARY KEY (day, bpm)
) WITHOUT ROWID;
-- The triggers find a date's activities through this.
CREATE INDEX activities_local_date ON activities(date(start_date_local));
)SQL";

// training_90d's seconds of a calendar day c in each heart-rate zone of
// zone_bounds b, z1 to z5 (`key`: the athlete's condition, from v11).
std::string DayZoneSeconds(const std::string& key) {
  std::string sql;
  for (int k = 1; k <= 5; ++k) {
    const std::string z = std::to_string(k);
    sql += "         (SELECT total(seconds) FROM training_day_hr_seconds\n          WHERE " + key +
           "day = c.day AND b.hr_z1_min IS NOT NULL AND bpm >= b.hr_z" + z + "_min AND bpm < b.hr_z" + z +
           "_max) AS z" + z + (k < 5 ? ",\n" : "\n");
  }
  return sql;
}

std::string V4ViewsSql() {
  return R"SQL(
DROP VIEW personal_records;
CREATE VIEW personal_records AS
WITH RECURSIVE
)SQL" + std::string(kRecordKeys) +
         R"SQL(years(year) AS (
  SELECT min(year) FROM effort_ranks WHERE year IS NOT NULL
  UNION ALL SELECT year + 1 FROM years WHERE year < (SELECT max(year) FROM effort_ranks)
),
-- Every year from the first to the last, and NULL (a local date that is not one).
periods(year) AS (SELECT year FROM years WHERE year IS NOT NULL UNION ALL SELECT NULL),
yearly AS (
  SELECT r.* FROM periods y, efforts e, sport_groups g
  JOIN effort_ranks r ON r.rowid = (SELECT rowid FROM effort_ranks
                                    WHERE year IS y.year AND effort = e.effort AND sport_group = g.sport_group
                                    ORDER BY rank_value, start_date, activity_id LIMIT 1)
),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY sport_group, effort ORDER BY rank_value, start_date, activity_id) AS rank
  FROM yearly
)
SELECT 'all' AS period, sport_group, effort, value, unit, activity_id, local_date FROM ranked WHERE rank = 1
UNION ALL
SELECT CAST(year AS TEXT), sport_group, effort, value, unit, activity_id, local_date FROM yearly;

DROP VIEW training_90d;
CREATE VIEW training_90d AS
WITH RECURSIVE
calendar(day) AS (
  SELECT min(day) FROM training_days
  UNION ALL SELECT date(day, '+1 day') FROM calendar WHERE day < (SELECT max(day) FROM training_days)
),
zoned AS (
  SELECT c.day, coalesce(d.activities, 0) AS activities, coalesce(d.distance_km, 0.0) AS distance_km,
         coalesce(d.moving_time_h, 0.0) AS moving_time_h,
)SQL" + DayZoneSeconds("") +
         R"SQL(  FROM calendar c CROSS JOIN zone_bounds b LEFT JOIN training_days d ON d.day = c.day
  WHERE c.day IS NOT NULL
  LIMIT -1 OFFSET 0  -- never flattened into its readers, which would compute each zone's seconds 4 times
),
filled AS (
  SELECT day, activities, distance_km, moving_time_h, (z1 + 2 * z2 + 3 * z3 + 4 * z4 + 5 * z5) / 60.0 AS load,
         (z1 + z2 + z3 + z4 + z5) / 3600.0 AS hr_h
  FROM zoned
),
)SQL";
}

std::string TotalsView(const std::string& name, const std::string& keys) {
  return "CREATE VIEW " + name + " AS\nSELECT " + keys + ", sport_group," + kTotals +
         "FROM activity_facts WHERE local_date IS NOT NULL\nGROUP BY " + keys + ", sport_group;\n";
}

// --- schema v11: the analytics per athlete ---

// What v11 makes again: every analytics view, v4's summary tables and
// triggers, and the indexes whose first column becomes the athlete.
constexpr const char* kV11Drops = R"SQL(
DROP VIEW IF EXISTS training_90d; DROP VIEW IF EXISTS personal_records; DROP VIEW IF EXISTS best_efforts;
DROP VIEW IF EXISTS zone_time; DROP VIEW IF EXISTS zone_bounds; DROP VIEW IF EXISTS power_zones;
DROP VIEW IF EXISTS hr_zones; DROP VIEW IF EXISTS weekly_totals; DROP VIEW IF EXISTS monthly_totals;
DROP VIEW IF EXISTS yearly_totals; DROP VIEW IF EXISTS activity_facts; DROP VIEW IF EXISTS analytics_athletes;
DROP TRIGGER IF EXISTS analytics_activity_insert; DROP TRIGGER IF EXISTS analytics_activity_insert_figures;
DROP TRIGGER IF EXISTS analytics_activity_delete; DROP TRIGGER IF EXISTS analytics_activity_day;
DROP TRIGGER IF EXISTS analytics_activity_rank; DROP TRIGGER IF EXISTS analytics_efforts_insert;
DROP TRIGGER IF EXISTS analytics_efforts_delete; DROP TRIGGER IF EXISTS analytics_efforts_update;
DROP TABLE IF EXISTS effort_ranks; DROP TABLE IF EXISTS training_days; DROP TABLE IF EXISTS training_day_hr_seconds;
DROP INDEX IF EXISTS activities_local_date; DROP INDEX IF EXISTS activities_totals;
)SQL";

constexpr const char* kV11Tables = R"SQL(
-- monthly_totals and yearly_totals read this index alone, never the wide rows.
CREATE INDEX activities_totals ON activities(athlete_id, start_date_local, sport_type, distance, moving_time,
                                             total_elevation_gain, kudos_count, pr_count);

-- personal_records reads this instead of ranking every best effort: one row
-- per activity and effort it has a value for, with what the ranking needs
-- (rank_value: value * sign, lower is better), kept by the triggers below.
-- athlete_id here and in the two tables below is 0 for activities of no
-- known athlete (the views show NULL).
CREATE TABLE effort_ranks (
  athlete_id INTEGER NOT NULL, activity_id INTEGER NOT NULL, effort TEXT NOT NULL, unit TEXT NOT NULL,
  value REAL NOT NULL, rank_value REAL NOT NULL, sport_group TEXT, year INTEGER, start_date TEXT, local_date TEXT
);
-- Each period's best is the first entry of its (athlete_id, year, effort, sport_group).
CREATE INDEX effort_ranks_best ON effort_ranks(athlete_id, year, effort, sport_group, rank_value, start_date,
                                               activity_id);
CREATE INDEX effort_ranks_activity ON effort_ranks(activity_id);

-- training_90d reads these instead of every activity and its zone seconds:
-- per athlete and local date, the activities' count and sums, and the
-- seconds per whole bpm of those whose streams are held. Zones are applied
-- when the view is read, so nothing here depends on analytics_settings or
-- athlete_zones.
CREATE TABLE training_days (
  athlete_id INTEGER NOT NULL, day TEXT NOT NULL,
  activities INTEGER NOT NULL, distance_km REAL NOT NULL, moving_time_h REAL NOT NULL,
  PRIMARY KEY (athlete_id, day)
) WITHOUT ROWID;
CREATE TABLE training_day_hr_seconds (
  athlete_id INTEGER NOT NULL, day TEXT NOT NULL, bpm INTEGER NOT NULL, seconds REAL NOT NULL,
  PRIMARY KEY (athlete_id, day, bpm)
) WITHOUT ROWID;
-- The triggers find an athlete's activities of a date through this.
CREATE INDEX activities_local_date ON activities(ifnull(athlete_id, 0), date(start_date_local));
)SQL";

// The summary tables filled for what the cache holds.
constexpr const char* kV11Fill = R"SQL(
INSERT INTO training_days(athlete_id, day, activities, distance_km, moving_time_h)
SELECT ifnull(athlete_id, 0), date(start_date_local), count(*), total(distance / 1000.0), total(moving_time / 3600.0)
FROM activities WHERE date(start_date_local) IS NOT NULL GROUP BY 1, 2;
INSERT INTO training_day_hr_seconds(athlete_id, day, bpm, seconds)
SELECT ifnull(a.athlete_id, 0), date(a.start_date_local), h.bpm, total(h.seconds) FROM activities a
JOIN activity_efforts e ON e.activity_id = a.id JOIN activity_hr_seconds h ON h.activity_id = a.id
WHERE date(a.start_date_local) IS NOT NULL GROUP BY 1, 2, 3;
)SQL";

// The zones: per athlete, in columns, and what zone_time and training_90d
// read them through.
std::string V11ZonesSql() {
  return R"SQL(
-- Whom the analytics show, as the key of the summary tables: every athlete
-- held and every athlete of an activity, and 0 for activities of no known
-- athlete. The activities' athletes come one index seek each.
CREATE VIEW analytics_athletes AS
WITH RECURSIVE seen(athlete) AS (
  SELECT min(athlete_id) FROM activities
  UNION ALL SELECT (SELECT min(athlete_id) FROM activities WHERE athlete_id > seen.athlete) FROM seen
  WHERE seen.athlete IS NOT NULL
)
SELECT athlete FROM seen WHERE athlete IS NOT NULL
UNION SELECT id FROM athletes
UNION SELECT 0 WHERE EXISTS (SELECT 1 FROM activities WHERE athlete_id IS NULL);

-- Strava's heart-rate zones where held, else shares of the maximum heart
-- rate: the setting of the athlete, else the setting of everyone, else the
-- highest the athlete's streams show (one seek down the index, the first
-- of the athlete's activities met).
CREATE VIEW hr_zones AS
WITH strava AS (SELECT athlete_id AS athlete, zone, min AS min_bpm, CASE WHEN max < 0 THEN NULL ELSE max END AS max_bpm
                FROM athlete_zones WHERE kind = 'heartrate'),
     hrmax(athlete, bpm) AS (
       SELECT w.athlete,
              coalesce((SELECT value FROM analytics_settings WHERE key = 'max_heartrate:' || w.athlete),
                       (SELECT value FROM analytics_settings WHERE key = 'max_heartrate'),
                       (SELECT e.max_heartrate_bpm FROM activity_efforts e CROSS JOIN activities a
                        WHERE a.id = e.activity_id AND e.max_heartrate_bpm IS NOT NULL
                          AND ifnull(a.athlete_id, 0) = w.athlete
                        ORDER BY e.max_heartrate_bpm DESC LIMIT 1))
       FROM analytics_athletes w WHERE NOT EXISTS (SELECT 1 FROM strava s WHERE s.athlete = w.athlete)),
     share(zone, lo, hi) AS (VALUES (1, 0.0, 0.6), (2, 0.6, 0.7), (3, 0.7, 0.8), (4, 0.8, 0.9), (5, 0.9, NULL))
SELECT nullif(athlete, 0) AS athlete_id, zone, min_bpm, max_bpm, 'strava' AS source FROM strava
UNION ALL
SELECT nullif(athlete, 0), zone, lo * bpm, hi * bpm, 'max_heartrate' FROM hrmax, share WHERE bpm IS NOT NULL;

-- Shares of the FTP: the setting of the athlete, else of everyone, else the
-- athlete's own.
CREATE VIEW power_zones AS
WITH ftp(athlete, w) AS (
       SELECT w.athlete,
              coalesce((SELECT value FROM analytics_settings WHERE key = 'ftp:' || w.athlete),
                       (SELECT value FROM analytics_settings WHERE key = 'ftp'),
                       (SELECT ftp FROM athletes WHERE id = w.athlete AND ftp > 0))
       FROM analytics_athletes w),
     share(zone, lo, hi) AS (VALUES (1, 0.0, 0.55), (2, 0.55, 0.75), (3, 0.75, 0.9), (4, 0.9, 1.05),
                                    (5, 1.05, 1.2), (6, 1.2, 1.5), (7, 1.5, NULL))
SELECT nullif(athlete, 0) AS athlete_id, zone, lo * w AS min_w, hi * w AS max_w, w AS ftp_w FROM ftp, share
WHERE w > 0;

-- A row per athlete (the key of the summary tables): the zones in force as
-- columns (open tops as 1e9), read once per statement, so zone_time reads
-- only each activity's own histogram rows.
CREATE VIEW zone_bounds AS
SELECT w.athlete, h.*, p.* FROM analytics_athletes w
LEFT JOIN
  (SELECT ifnull(athlete_id, 0) AS hr_athlete,
)SQL" + ZoneColumns("hr", "bpm", 5) +
         R"SQL(   FROM hr_zones GROUP BY 1) h ON h.hr_athlete = w.athlete
LEFT JOIN
  (SELECT ifnull(athlete_id, 0) AS power_athlete,
)SQL" + ZoneColumns("power", "w", 7) +
         R"SQL(   FROM power_zones GROUP BY 1) p ON p.power_athlete = w.athlete;
)SQL";
}

std::string V11EffortsSql() {
  return R"SQL(
CREATE VIEW best_efforts AS
SELECT f.athlete_id, e.activity_id, f.name, f.sport_type, f.sport_group, f.start_date, f.local_date, f.year,
       e.power_15s_w, e.power_1min_w, e.power_5min_w, e.power_10min_w, e.power_20min_w,
       e.time_400m_s, e.time_1km_s, e.time_5km_s, e.time_10km_s, e.time_half_marathon_s, e.time_marathon_s
FROM activity_efforts e JOIN activity_facts f ON f.id = e.activity_id;

CREATE VIEW personal_records AS
WITH RECURSIVE
)SQL" + std::string(kRecordKeys) +
         R"SQL(-- The athletes with ranks, one index seek each.
ranked_athletes(athlete) AS (
  SELECT min(athlete_id) FROM effort_ranks
  UNION ALL SELECT (SELECT min(athlete_id) FROM effort_ranks WHERE athlete_id > r.athlete) FROM ranked_athletes r
  WHERE r.athlete IS NOT NULL
),
-- Each athlete's first and last year, one index seek each.
spans(athlete, first, last) AS (
  SELECT athlete, (SELECT min(year) FROM effort_ranks WHERE athlete_id = r.athlete AND year IS NOT NULL),
         (SELECT max(year) FROM effort_ranks WHERE athlete_id = r.athlete)
  FROM ranked_athletes r WHERE r.athlete IS NOT NULL
),
years(athlete, year, last) AS (
  SELECT athlete, first, last FROM spans WHERE first IS NOT NULL
  UNION ALL SELECT athlete, year + 1, last FROM years WHERE year < last
),
-- Every year of the athlete's from the first to the last, and NULL (a local
-- date that is not one).
periods(athlete, year) AS (SELECT athlete, year FROM years UNION ALL SELECT athlete, NULL FROM spans),
yearly AS (
  SELECT r.* FROM periods y, efforts e, sport_groups g
  JOIN effort_ranks r ON r.rowid = (SELECT rowid FROM effort_ranks
                                    WHERE athlete_id = y.athlete AND year IS y.year AND effort = e.effort
                                      AND sport_group = g.sport_group
                                    ORDER BY rank_value, start_date, activity_id LIMIT 1)
),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY athlete_id, sport_group, effort
                               ORDER BY rank_value, start_date, activity_id) AS rank
  FROM yearly
)
SELECT nullif(athlete_id, 0) AS athlete_id, 'all' AS period, sport_group, effort, value, unit, activity_id, local_date
FROM ranked WHERE rank = 1
UNION ALL
SELECT nullif(athlete_id, 0), CAST(year AS TEXT), sport_group, effort, value, unit, activity_id, local_date FROM yearly;

CREATE VIEW training_90d AS
WITH RECURSIVE
spans(athlete, first, last) AS (SELECT athlete_id, min(day), max(day) FROM training_days GROUP BY athlete_id),
calendar(athlete, day, last) AS (
  SELECT athlete, first, last FROM spans
  UNION ALL SELECT athlete, date(day, '+1 day'), last FROM calendar WHERE day < last
),
zoned AS (
  SELECT c.athlete, c.day, coalesce(d.activities, 0) AS activities, coalesce(d.distance_km, 0.0) AS distance_km,
         coalesce(d.moving_time_h, 0.0) AS moving_time_h,
)SQL" + DayZoneSeconds("athlete_id = c.athlete AND ") +
         R"SQL(  FROM calendar c LEFT JOIN zone_bounds b ON b.athlete = c.athlete
  LEFT JOIN training_days d ON d.athlete_id = c.athlete AND d.day = c.day
  WHERE c.day IS NOT NULL
  LIMIT -1 OFFSET 0  -- never flattened into its readers, which would compute each zone's seconds 4 times
),
filled AS (
  SELECT athlete, day, activities, distance_km, moving_time_h,
         (z1 + 2 * z2 + 3 * z3 + 4 * z4 + 5 * z5) / 60.0 AS load, (z1 + z2 + z3 + z4 + z5) / 3600.0 AS hr_h
  FROM zoned
),
)SQL";
}

// zone_time of v3 with the athlete: each activity's seconds in the zones of
// its own athlete.
std::string ZoneTimeV11() {
  const std::string v3 = ZonesFromPower();
  const size_t at = v3.find("CREATE VIEW zone_time AS");
  std::string sql = v3.substr(at);
  const std::string head = "SELECT e.activity_id,", from = "FROM activity_efforts e, zone_bounds b;";
  sql.replace(sql.find(head), head.size(), "SELECT a.athlete_id, e.activity_id,");
  sql.replace(sql.find(from), from.size(),
              "FROM activity_efforts e JOIN activities a ON a.id = e.activity_id\n"
              "JOIN zone_bounds b ON b.athlete = ifnull(a.athlete_id, 0);");
  return sql;
}

// activity_facts of v3 with the athlete in front.
std::string FactsViewV11() {
  std::string sql = kFactsView;
  const std::string head = "SELECT id, name,";
  return sql.replace(sql.find(head), head.size(), "SELECT athlete_id, id, name,");
}

// The triggers that keep the summary tables current on every write of
// activities and activity_efforts (schema v4, and per athlete from v11).
std::string SummaryTriggers(bool by_athlete) {
  const std::string changed_athlete = by_athlete ? " OR OLD.athlete_id IS NOT NEW.athlete_id" : "";
  const std::string changed_day =
      "OLD.start_date_local IS NOT NEW.start_date_local OR OLD.distance IS NOT NEW.distance "
      "OR OLD.moving_time IS NOT NEW.moving_time" +
      changed_athlete;
  const std::string changed_rank =
      "OLD.sport_type IS NOT NEW.sport_type OR OLD.start_date IS NOT NEW.start_date "
      "OR OLD.start_date_local IS NOT NEW.start_date_local" +
      changed_athlete;
  const std::string old_who = RowAthlete("OLD", by_athlete), new_who = RowAthlete("NEW", by_athlete);
  std::string sql;
  // activity_efforts' row is written after its histogram rows and deleted
  // with or before them (ActivityStore::WriteStreamAnalytics, DeleteActivity), so a
  // day is recomputed when the activity's figures are complete or gone.
  // A new activity has no figures yet (they come with its streams), so its
  // day's histogram and its ranks change only if some were left behind: the
  // sync's hot path, a listing of new summaries, recomputes only its day's totals.
  sql += Trigger("analytics_activity_insert", "AFTER INSERT ON activities",
                 RefreshDayTotals("date(NEW.start_date_local)", new_who));
  sql += Trigger("analytics_activity_insert_figures",
                 "AFTER INSERT ON activities WHEN EXISTS (SELECT 1 FROM activity_efforts WHERE activity_id = NEW.id)",
                 RefreshDayHr("date(NEW.start_date_local)", new_who) + RefreshEffortRanks("NEW.id", by_athlete));
  sql += Trigger(
      "analytics_activity_delete", "AFTER DELETE ON activities",
      RefreshDay("date(OLD.start_date_local)", old_who) + "DELETE FROM effort_ranks WHERE activity_id = OLD.id;\n");
  sql += Trigger("analytics_activity_day", "AFTER UPDATE ON activities WHEN " + changed_day,
                 RefreshDay("date(OLD.start_date_local)", old_who) + RefreshDay("date(NEW.start_date_local)", new_who));
  sql += Trigger("analytics_activity_rank", "AFTER UPDATE ON activities WHEN " + changed_rank,
                 RefreshEffortRanks("NEW.id", by_athlete));
  sql += Trigger("analytics_efforts_insert", "AFTER INSERT ON activity_efforts",
                 RefreshDayHr(DayOf("NEW.activity_id"), AthleteOf("NEW.activity_id", by_athlete)) +
                     RefreshEffortRanks("NEW.activity_id", by_athlete));
  sql += Trigger("analytics_efforts_delete", "AFTER DELETE ON activity_efforts",
                 RefreshDayHr(DayOf("OLD.activity_id"), AthleteOf("OLD.activity_id", by_athlete)) +
                     "DELETE FROM effort_ranks WHERE activity_id = OLD.activity_id;\n");
  sql += Trigger("analytics_efforts_update", "AFTER UPDATE ON activity_efforts",
                 RefreshDayHr(DayOf("OLD.activity_id"), AthleteOf("OLD.activity_id", by_athlete)) +
                     RefreshDayHr(DayOf("NEW.activity_id"), AthleteOf("NEW.activity_id", by_athlete)) +
                     "DELETE FROM effort_ranks WHERE activity_id = OLD.activity_id;\n" +
                     RefreshEffortRanks("NEW.activity_id", by_athlete));
  return sql;
}

}  // namespace

std::string AnalyticsSchemaV4Sql() {
  std::string sql = std::string(kV4Tables) + SummaryTriggers(false);
  // Filled for what the cache holds.
  sql += R"SQL(
INSERT INTO training_days(day, activities, distance_km, moving_time_h)
SELECT date(start_date_local), count(*), total(distance / 1000.0), total(moving_time / 3600.0)
FROM activities WHERE date(start_date_local) IS NOT NULL GROUP BY 1;
INSERT INTO training_day_hr_seconds(day, bpm, seconds)
SELECT date(a.start_date_local), h.bpm, total(h.seconds) FROM activities a
JOIN activity_efforts e ON e.activity_id = a.id JOIN activity_hr_seconds h ON h.activity_id = a.id
WHERE date(a.start_date_local) IS NOT NULL GROUP BY 1, 2;
)SQL";
  sql += InsertEffortRanks("1", false);
  // The mount shows the views in stats/ and forgets what it rendered when
  // fs_changes grows; these two tables change the views without any activity
  // being written (a person's sqlite3, the daily zones), so their every
  // change logs a row too: activity 0, no old place, which stands for no
  // activity and so invalidates only the root's files and stats/.
  for (const char* table : {"analytics_settings", "athlete_zones"}) sql += LoggedChanges(table);
  return sql + V4ViewsSql() + TrainingRolling("");
}

std::string AnalyticsSchemaV9Sql() {
  // Rebuilt, since its key gains a column. legacy_alter_table keeps SQLite
  // from checking the views that name athlete_zones while it is missing, and
  // hr_zones is made again over the new table. The triggers went with the
  // old table.
  std::string sql = R"SQL(
CREATE TABLE athlete_zones_v9 (
  athlete_id INTEGER NOT NULL,  -- whose zones
  kind TEXT NOT NULL,           -- 'heartrate' (or 'power')
  zone INTEGER NOT NULL,        -- 1, 2, ...
  min REAL NOT NULL,
  max REAL,                     -- NULL: open top (Strava's -1)
  PRIMARY KEY (athlete_id, kind, zone)
) WITHOUT ROWID;
INSERT INTO athlete_zones_v9 SELECT coalesce((SELECT min(id) FROM athletes), 0), kind, zone, min, max FROM athlete_zones;
PRAGMA legacy_alter_table = ON;
DROP TABLE athlete_zones;
ALTER TABLE athlete_zones_v9 RENAME TO athlete_zones;
PRAGMA legacy_alter_table = OFF;
DROP VIEW hr_zones;
)SQL";
  // The first athlete's zones, as power_zones reads the first athlete's ftp.
  sql += HrZonesView(" AND athlete_id = coalesce((SELECT min(id) FROM athletes), 0)");
  return sql + LoggedChanges("athlete_zones");
}

std::string AnalyticsSchemaV10Sql() { return LoggedChanges("athletes"); }

std::string AnalyticsSchemaV11Sql() {
  std::string sql =
      std::string(kV11Drops) + kV11Tables + SummaryTriggers(true) + V11ZonesSql() + FactsViewV11() + ZoneTimeV11();
  for (auto [name, keys] : {std::pair{"weekly_totals", "iso_year, iso_week, iso_week_label, week_start"},
                            std::pair{"monthly_totals", "year, month, year_month"}, std::pair{"yearly_totals", "year"}})
    sql += TotalsView(name, std::string("athlete_id, ") + keys);
  // Filled last: effort_ranks' rows come through best_efforts.
  return sql + V11EffortsSql() + TrainingRolling("athlete") + kV11Fill + InsertEffortRanks("1", true);
}

std::string AnalyticsSchemaSql() {
  return std::string(kTablesAndZones) + HrZonesView("") + ZonesFromPower() + kFactsView +
         TotalsView("weekly_totals", "iso_year, iso_week, iso_week_label, week_start") +
         TotalsView("monthly_totals", "year, month, year_month") + TotalsView("yearly_totals", "year") + kEffortViews +
         TrainingRolling("");
}

}  // namespace stravafs
