// Oracles shared by the import fuzz targets (fuzz_fit, fuzz_xml_track): what
// every Track a decoder returns must satisfy (import/track.h), and a field by
// field comparison of two Tracks.
#pragma once

#include <cmath>
#include <cstring>
#include <optional>
#include <string>

#include "fuzz_check.h"
#include "import/track.h"

namespace fuzz {

// Equal as stored: both absent, or the same bits (so NaN equals NaN and
// -0 differs from 0; a decoder run twice must give the very same values).
inline bool SameValue(const std::optional<double>& a, const std::optional<double>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::memcmp(&*a, &*b, sizeof(double)) == 0;
}

inline std::string ShowValue(const std::optional<double>& v) {
  if (!v) return "none";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", *v);
  return buf;
}

// Every optional number of a point, lap and summary, with its name.
template <typename F>
void ForEachValue(const stravafs::import::TrackPoint& p, F&& f) {
  f("lat", p.lat);
  f("lng", p.lng);
  f("altitude", p.altitude);
  f("distance", p.distance);
  f("speed", p.speed);
  f("heartrate", p.heartrate);
  f("cadence", p.cadence);
  f("watts", p.watts);
  f("temp", p.temp);
}
template <typename F>
void ForEachValue(const stravafs::import::TrackLap& l, F&& f) {
  f("elapsed_time", l.elapsed_time);
  f("moving_time", l.moving_time);
  f("distance", l.distance);
  f("max_speed", l.max_speed);
  f("average_heartrate", l.average_heartrate);
  f("max_heartrate", l.max_heartrate);
  f("average_cadence", l.average_cadence);
  f("average_watts", l.average_watts);
  f("calories", l.calories);
  f("total_ascent", l.total_ascent);
}
template <typename F>
void ForEachValue(const stravafs::import::TrackSummary& s, F&& f) {
  f("start_time", s.start_time);
  f("utc_offset", s.utc_offset);
  f("elapsed_time", s.elapsed_time);
  f("moving_time", s.moving_time);
  f("distance", s.distance);
  f("total_ascent", s.total_ascent);
  f("calories", s.calories);
  f("average_speed", s.average_speed);
  f("max_speed", s.max_speed);
  f("average_heartrate", s.average_heartrate);
  f("max_heartrate", s.max_heartrate);
  f("average_cadence", s.average_cadence);
  f("average_watts", s.average_watts);
  f("max_watts", s.max_watts);
  f("kilojoules", s.kilojoules);
}

// "" when the two Tracks are equal in every field, else the first difference.
inline std::string DiffTracks(const stravafs::import::Track& a, const stravafs::import::Track& b) {
  using namespace stravafs::import;
  if (a.format != b.format) return "format " + a.format + " / " + b.format;
  if (a.summary.sport_type != b.summary.sport_type)
    return "sport_type " + a.summary.sport_type + " / " + b.summary.sport_type;
  if (a.summary.name != b.summary.name) return "name " + Show(a.summary.name) + " / " + Show(b.summary.name);
  if (a.summary.device_name != b.summary.device_name)
    return "device_name " + Show(a.summary.device_name) + " / " + Show(b.summary.device_name);
  std::string diff;
  const auto compare = [&diff](const std::string& where, auto&& x, auto&& y) {
    std::vector<std::pair<const char*, std::optional<double>>> xs, ys;
    ForEachValue(x, [&](const char* n, const std::optional<double>& v) { xs.emplace_back(n, v); });
    ForEachValue(y, [&](const char* n, const std::optional<double>& v) { ys.emplace_back(n, v); });
    for (size_t i = 0; i < xs.size() && diff.empty(); ++i) {
      if (!SameValue(xs[i].second, ys[i].second))
        diff = where + "." + xs[i].first + " " + ShowValue(xs[i].second) + " / " + ShowValue(ys[i].second);
    }
  };
  compare("summary", a.summary, b.summary);
  if (!diff.empty()) return diff;
  if (a.points.size() != b.points.size())
    return "points " + std::to_string(a.points.size()) + " / " + std::to_string(b.points.size());
  for (size_t i = 0; i < a.points.size() && diff.empty(); ++i) {
    const TrackPoint &p = a.points[i], &q = b.points[i];
    if (!SameValue(p.time, q.time))
      return "point " + std::to_string(i) + ".time " + ShowValue(p.time) + " / " + ShowValue(q.time);
    if (p.moving != q.moving) return "point " + std::to_string(i) + ".moving";
    compare("point " + std::to_string(i), p, q);
  }
  if (!diff.empty()) return diff;
  if (a.laps.size() != b.laps.size())
    return "laps " + std::to_string(a.laps.size()) + " / " + std::to_string(b.laps.size());
  for (size_t i = 0; i < a.laps.size() && diff.empty(); ++i) {
    if (!SameValue(a.laps[i].start_time, b.laps[i].start_time)) return "lap " + std::to_string(i) + ".start_time";
    compare("lap " + std::to_string(i), a.laps[i], b.laps[i]);
  }
  return diff;
}

// What track.h promises of any Track a decoder returns: the format named,
// every time finite, positions in range with lat and lng together, and no
// value that is NaN or infinite (an absent value is nullopt, never NaN).
// GPX and TCX refuse a file without points (need_points); a FIT without
// records is a valid file.
inline void CheckTrackSane(const stravafs::import::Track& t, const char* format, bool need_points) {
  using namespace stravafs::import;
  FUZZ_CHECK(t.format == format, t.format);
  FUZZ_CHECK(!need_points || !t.points.empty(), "a decoded track without points");
  const auto finite = [](const std::string& where) {
    return [where](const char* name, const std::optional<double>& v) {
      FUZZ_CHECK(!v || std::isfinite(*v), where + "." + name + " " + ShowValue(v));
    };
  };
  for (size_t i = 0; i < t.points.size(); ++i) {
    const TrackPoint& p = t.points[i];
    const std::string where = "point " + std::to_string(i);
    FUZZ_CHECK(std::isfinite(p.time), where + ".time " + ShowValue(p.time));
    FUZZ_CHECK(p.lat.has_value() == p.lng.has_value(), where + ": lat without lng or lng without lat");
    FUZZ_CHECK(!p.lat || (*p.lat >= -90 && *p.lat <= 90), where + ".lat " + ShowValue(p.lat));
    FUZZ_CHECK(!p.lng || (*p.lng >= -180 && *p.lng <= 180), where + ".lng " + ShowValue(p.lng));
    ForEachValue(p, finite(where));
  }
  for (size_t i = 0; i < t.laps.size(); ++i) {
    FUZZ_CHECK(std::isfinite(t.laps[i].start_time), "lap " + std::to_string(i) + ".start_time");
    ForEachValue(t.laps[i], finite("lap " + std::to_string(i)));
  }
  ForEachValue(t.summary, finite("summary"));
}

}  // namespace fuzz
