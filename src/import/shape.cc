#include "import/shape.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace stravafs::import {

namespace {

constexpr double kEarthRadius = 6371008.8;  // m, the mean radius
constexpr double kMovingSpeed = 0.5;        // m/s: slower than this is standing (Strava's is similar)
constexpr double kGradeWindow = 50;         // m of distance a grade is measured over
constexpr double kClimbThreshold = 2;       // m: altitude noise below this is not climbing
constexpr size_t kSummaryPoints = 500;

double Haversine(double lat1, double lng1, double lat2, double lng2) {
  constexpr double kRad = M_PI / 180;
  const double dlat = (lat2 - lat1) * kRad, dlng = (lng2 - lng1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlng / 2) * std::sin(dlng / 2);
  return 2 * kEarthRadius * std::asin(std::min(1.0, std::sqrt(a)));
}

double Round(double v, double unit) { return std::round(v / unit) * unit; }

// Mean and max over the values present, nullopt when none.
struct Stat {
  double sum = 0, max = -INFINITY;
  size_t n = 0;
  void Add(const std::optional<double>& v) {
    if (!v) return;
    sum += *v;
    max = std::max(max, *v);
    ++n;
  }
  std::optional<double> Mean() const { return n ? std::optional<double>(sum / static_cast<double>(n)) : std::nullopt; }
  std::optional<double> Max() const { return n ? std::optional<double>(max) : std::nullopt; }
};

// The value rounded, or NaN (StreamSet's "no value").
double Rounded(const std::optional<double>& v, double step) { return v ? Round(*v, step) : NAN; }
double Whole(const std::optional<double>& v) { return v ? static_cast<double>(std::llround(*v)) : NAN; }

}  // namespace

std::string EncodePolyline(const std::vector<std::pair<double, double>>& points) {
  std::string out;
  int64_t plat = 0, plng = 0;
  auto put = [&out](int64_t v) {
    uint64_t u = static_cast<uint64_t>(v) << 1;
    if (v < 0) u = ~u;
    while (u >= 0x20) {
      out += static_cast<char>((0x20 | (u & 0x1f)) + 63);
      u >>= 5;
    }
    out += static_cast<char>(u + 63);
  };
  for (const auto& [lat, lng] : points) {
    const int64_t ilat = std::llround(lat * 1e5), ilng = std::llround(lng * 1e5);
    put(ilat - plat);
    put(ilng - plng);
    plat = ilat;
    plng = ilng;
  }
  return out;
}

Shaped ShapeTrack(const Track& track) {
  Shaped out;
  std::vector<const TrackPoint*> pts;
  pts.reserve(track.points.size());
  for (const TrackPoint& p : track.points)
    if (std::isfinite(p.time)) pts.push_back(&p);
  std::stable_sort(pts.begin(), pts.end(), [](const TrackPoint* a, const TrackPoint* b) { return a->time < b->time; });
  const size_t n = pts.size();
  out.samples = n;
  if (n == 0) return out;
  const double t0 = pts.front()->time;

  auto count = [&](auto member) {
    return static_cast<size_t>(
        std::count_if(pts.begin(), pts.end(), [&](const TrackPoint* p) { return (p->*member).has_value(); }));
  };
  const bool gps = std::any_of(pts.begin(), pts.end(), [](const TrackPoint* p) { return p->lat && p->lng; });
  const bool device_distance = count(&TrackPoint::distance) > 0;
  const bool device_speed = count(&TrackPoint::speed) > 0;
  const bool altitude = count(&TrackPoint::altitude) > 0;

  // Distance: the device's, carried over gaps; else great-circle steps.
  std::vector<std::optional<double>> dist(n);
  if (device_distance) {
    double last = 0;
    for (size_t i = 0; i < n; ++i) {
      if (pts[i]->distance) last = std::max(last, *pts[i]->distance);
      dist[i] = last;
    }
  } else if (gps) {
    double total = 0;
    const TrackPoint* prev = nullptr;
    for (size_t i = 0; i < n; ++i) {
      const TrackPoint* p = pts[i];
      if (p->lat && p->lng) {
        if (prev) total += Haversine(*prev->lat, *prev->lng, *p->lat, *p->lng);
        prev = p;
      }
      dist[i] = total;
    }
  }
  const bool has_distance = device_distance || gps;

  // Speed: the device's; else distance over time across up to 2 samples each side.
  std::vector<std::optional<double>> speed(n);
  for (size_t i = 0; i < n; ++i) {
    if (device_speed) {
      speed[i] = pts[i]->speed;
    } else if (has_distance) {
      const size_t a = i >= 2 ? i - 2 : 0, b = std::min(n - 1, i + 2);
      const double dt = pts[b]->time - pts[a]->time;
      speed[i] = dt > 0 ? (*dist[b] - *dist[a]) / dt : 0.0;
    }
  }

  // Moving: FIT's timer where the file has one, else the speed threshold.
  std::vector<bool> moving(n, true);
  for (size_t i = 0; i < n; ++i) {
    if (pts[i]->moving)
      moving[i] = *pts[i]->moving;
    else if (speed[i])
      moving[i] = *speed[i] >= kMovingSpeed;
  }

  // Grade: climb over the last kGradeWindow meters, in percent.
  std::vector<std::optional<double>> grade(n);
  if (altitude && has_distance) {
    size_t j = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!pts[i]->altitude) continue;
      // j: the last point with an altitude at least kGradeWindow behind i
      // (the first point, while the track is shorter than that).
      while (j + 1 < i && (!pts[j]->altitude || *dist[i] - *dist[j + 1] >= kGradeWindow)) ++j;
      const double run = *dist[i] - *dist[j];
      grade[i] = run > 1 && pts[j]->altitude ? Round((*pts[i]->altitude - *pts[j]->altitude) / run * 100, 0.1) : 0.0;
    }
  }

  const bool any_hr = count(&TrackPoint::heartrate) > 0, any_cad = count(&TrackPoint::cadence) > 0,
             any_watts = count(&TrackPoint::watts) > 0, any_temp = count(&TrackPoint::temp) > 0;
  // The streams of the types the points give: a column each, one value a
  // point (NaN where a point has none).
  StreamSet& st = out.streams;
  const auto column = [&](std::string_view name, bool present) -> std::vector<double>* {
    if (!present) return nullptr;
    st[name].reserve(n);
    return &st[name];
  };
  std::vector<double>* const time = column("time", true);
  std::vector<double>* const lat = column("lat", gps);
  std::vector<double>* const lng = column("lng", gps);
  std::vector<double>* const distance = column("distance", has_distance);
  std::vector<double>* const alt = column("altitude", altitude);
  std::vector<double>* const velocity = column("velocity", device_speed || has_distance);
  std::vector<double>* const hr = column("heartrate", any_hr);
  std::vector<double>* const cad = column("cadence", any_cad);
  std::vector<double>* const watts = column("watts", any_watts);
  std::vector<double>* const temp = column("temp", any_temp);
  std::vector<double>* const mov = column("moving", true);
  std::vector<double>* const grd = column("grade", altitude && has_distance);
  Stat s_hr, s_cad, s_watts, s_temp, s_speed, s_alt;
  double moving_time = 0, work = 0, gain = 0;
  std::optional<double> climb_ref;
  std::vector<std::pair<double, double>> track_points;
  for (size_t i = 0; i < n; ++i) {
    const TrackPoint& p = *pts[i];
    const double dt = i > 0 ? p.time - pts[i - 1]->time : 0;
    time->push_back(static_cast<double>(std::llround(p.time - t0)));
    if (gps) {
      if (p.lat && p.lng) {
        lat->push_back(Round(*p.lat, 1e-7));
        lng->push_back(Round(*p.lng, 1e-7));
        track_points.emplace_back(*p.lat, *p.lng);
      } else {
        lat->push_back(NAN);
        lng->push_back(NAN);
      }
    }
    if (distance) distance->push_back(Round(*dist[i], 0.01));
    if (alt) alt->push_back(Rounded(p.altitude, 0.01));
    if (velocity) velocity->push_back(Rounded(speed[i], 0.001));
    if (hr) hr->push_back(Whole(p.heartrate));
    if (cad) cad->push_back(Whole(p.cadence));
    if (watts) watts->push_back(Whole(p.watts));
    if (temp) temp->push_back(Whole(p.temp));
    mov->push_back(moving[i] ? 1 : 0);
    if (grd) grd->push_back(grade[i].value_or(0.0));

    if (i > 0 && moving[i]) moving_time += dt;
    if (moving[i]) {
      s_hr.Add(p.heartrate);
      s_cad.Add(p.cadence);
    }
    s_watts.Add(p.watts);
    if (p.watts && i > 0) work += *p.watts * dt;
    s_temp.Add(p.temp);
    s_speed.Add(speed[i]);
    s_alt.Add(p.altitude);
    if (p.altitude) {
      if (!climb_ref || *p.altitude < *climb_ref) {
        climb_ref = p.altitude;
      } else if (*p.altitude - *climb_ref >= kClimbThreshold) {
        gain += *p.altitude - *climb_ref;
        climb_ref = p.altitude;
      }
    }
  }
  PointSummary& sum = out.summary;
  sum.start_time = t0;
  sum.elapsed_time = std::round(pts.back()->time - t0);
  sum.moving_time = std::round(moving_time);
  if (has_distance) sum.distance = Round(*dist[n - 1], 0.1);
  if (altitude) {
    sum.total_elevation_gain = Round(gain, 0.1);
    sum.elev_high = s_alt.Max();
    double low = INFINITY;
    for (const TrackPoint* p : pts)
      if (p->altitude) low = std::min(low, *p->altitude);
    sum.elev_low = low;
  }
  if (sum.distance && *sum.moving_time > 0) sum.average_speed = Round(*sum.distance / *sum.moving_time, 0.001);
  sum.max_speed = s_speed.Max();
  sum.average_heartrate = s_hr.Mean();
  sum.max_heartrate = s_hr.Max();
  sum.average_cadence = s_cad.Mean();
  sum.average_watts = s_watts.Mean();
  sum.max_watts = s_watts.Max();
  if (s_watts.n) sum.kilojoules = Round(work / 1000, 0.1);
  sum.average_temp = s_temp.Mean();
  if (!track_points.empty()) {
    sum.start_latlng = track_points.front();
    sum.end_latlng = track_points.back();
    sum.polyline = EncodePolyline(track_points);
    const size_t step = (track_points.size() + kSummaryPoints - 1) / kSummaryPoints;
    std::vector<std::pair<double, double>> few;
    for (size_t i = 0; i < track_points.size(); i += step) few.push_back(track_points[i]);
    if (few.back() != track_points.back()) few.push_back(track_points.back());
    sum.summary_polyline = EncodePolyline(few);
  }
  return out;
}

Json LapsJson(const Track& track, double utc_offset) {
  Json laps = Json::array();
  if (track.laps.empty()) return laps;
  std::vector<double> times;
  times.reserve(track.points.size());
  for (const TrackPoint& p : track.points)
    if (std::isfinite(p.time)) times.push_back(p.time);
  std::stable_sort(times.begin(), times.end());
  int index = 0;
  for (size_t k = 0; k < track.laps.size(); ++k) {
    const TrackLap& lap = track.laps[k];
    if (!std::isfinite(lap.start_time)) continue;
    const double end =
        k + 1 < track.laps.size() ? track.laps[k + 1].start_time : lap.start_time + lap.elapsed_time.value_or(INFINITY);
    const auto first = std::lower_bound(times.begin(), times.end(), lap.start_time);
    // A point at the next lap's start is that lap's; one at the last lap's
    // end is still the last lap's (the API's last lap ends on the last
    // sample), so that lap's end is inclusive.
    const bool last_lap = k + 1 == track.laps.size();
    auto last = last_lap ? std::upper_bound(times.begin(), times.end(), end)
                         : std::lower_bound(times.begin(), times.end(), end);
    Json j = Json::object();
    j["name"] = "Lap " + std::to_string(index + 1);
    j["lap_index"] = ++index;
    const int64_t start = static_cast<int64_t>(std::floor(lap.start_time));
    j["start_date"] = FormatIsoUtc(start);
    j["start_date_local"] = FormatIsoUtc(start + static_cast<int64_t>(std::llround(utc_offset)));
    if (lap.elapsed_time) j["elapsed_time"] = static_cast<int64_t>(std::llround(*lap.elapsed_time));
    if (lap.moving_time || lap.elapsed_time)
      j["moving_time"] = static_cast<int64_t>(std::llround(lap.moving_time.value_or(*lap.elapsed_time)));
    if (lap.distance) j["distance"] = *lap.distance;
    if (lap.total_ascent) j["total_elevation_gain"] = *lap.total_ascent;
    if (lap.distance && lap.moving_time.value_or(lap.elapsed_time.value_or(0)) > 0)
      j["average_speed"] = Round(*lap.distance / lap.moving_time.value_or(*lap.elapsed_time), 0.001);
    if (lap.max_speed) j["max_speed"] = *lap.max_speed;
    if (lap.average_heartrate) j["average_heartrate"] = *lap.average_heartrate;
    if (lap.max_heartrate) j["max_heartrate"] = *lap.max_heartrate;
    if (lap.average_cadence) j["average_cadence"] = *lap.average_cadence;
    if (lap.average_watts) j["average_watts"] = *lap.average_watts;
    if (lap.calories) j["calories"] = *lap.calories;
    if (first != times.end()) {
      j["start_index"] = first - times.begin();
      if (last != times.begin()) --last;
      j["end_index"] = std::max(first, last) - times.begin();
    }
    laps.push_back(std::move(j));
  }
  return laps;
}

}  // namespace stravafs::import
