// render.cc - Strava-shaped JSON from Activity records (see render.h).
// Pure functions: thread-safe.
#include "render.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "timeutil.h"

namespace emu {

namespace {

double round_to(double v, double unit) {
  const double inv = std::round(1.0 / unit);  // 10, 100: exact decimal results
  return std::round(v * inv) / inv;
}
double r1(double v) { return round_to(v, 0.1); }
double r3(double v) { return std::round(v * 1000.0) / 1000.0; }
double r6(double v) { return std::round(v * 1e6) / 1e6; }

// A float, written as a JSON integer when the record has that quirk.
ojson num(double v, bool as_int) {
  if (as_int && std::floor(v) == v && std::fabs(v) < 1e15) return static_cast<int64_t>(v);
  return v;
}

void opt(ojson &o, const char *key, const Activity &a, OptKey k, bool has, ojson value) {
  if (has)
    o[key] = std::move(value);
  else if (a.null_mask & (1u << k))
    o[key] = nullptr;
}

ojson ref(int64_t id, int state) {
  ojson o = ojson::object();
  o["id"] = id;
  o["resource_state"] = state;
  return o;
}

std::string hex_of(uint64_t a, uint64_t b, uint64_t c, size_t len) {
  static const char *hx = "0123456789abcdef";
  std::string s;
  for (uint64_t w : {a, b, c})
    for (int i = 60; i >= 0; i -= 4) s += hx[(w >> i) & 15];
  return s.substr(0, len);
}

// Keys that only the detailed representation carries (control-API extras
// with these names are not copied into summaries).
bool detail_only_key(const std::string &k) {
  static const char *keys[] = {"description",
                               "calories",
                               "laps",
                               "splits_metric",
                               "splits_standard",
                               "best_efforts",
                               "segment_efforts",
                               "gear",
                               "photos",
                               "device_name",
                               "embed_token",
                               "hide_from_home",
                               "available_zones",
                               "similar_activities"};
  for (const char *x : keys)
    if (k == x) return true;
  return false;
}

void merge_extra(ojson &o, const Activity &a, bool detailed) {
  if (!a.extra.is_object()) return;
  for (auto it = a.extra.begin(); it != a.extra.end(); ++it)
    if (detailed || !detail_only_key(it.key())) o[it.key()] = it.value();
}

ojson latlng_json(const Activity &a, const Streams &s, bool end) {
  if (!a.has_gps() || s.latlng.empty()) return a.latlng_null ? ojson(nullptr) : ojson::array();
  const auto &p = end ? s.latlng.back() : s.latlng.front();
  return ojson::array({round_to(p.first, 0.01), round_to(p.second, 0.01)});
}

std::vector<std::pair<double, double>> simplified(const std::vector<std::pair<double, double>> &pts) {
  if (pts.size() <= 50) return pts;
  const size_t step = (pts.size() + 49) / 50;
  std::vector<std::pair<double, double>> out;
  for (size_t i = 0; i < pts.size(); i += step) out.push_back(pts[i]);
  if (out.back() != pts.back()) out.push_back(pts.back());
  return out;
}

// Index ranges [b_k, b_{k+1}] cut where the distance crosses multiples of unit.
std::vector<size_t> cut_by_distance(const Streams &s, double unit, bool keep_partial) {
  std::vector<size_t> b = {0};
  if (s.n < 2) return {0, 0};
  for (int k = 1;; ++k) {
    const double target = unit * k;
    auto it = std::lower_bound(s.distance.begin(), s.distance.end(), target);
    if (it == s.distance.end()) break;
    size_t i = static_cast<size_t>(it - s.distance.begin());
    if (i <= b.back()) continue;
    if (i >= s.n - 1) break;
    b.push_back(i);
  }
  if (keep_partial || b.size() == 1)
    b.push_back(s.n - 1);
  else if (s.distance.back() - s.distance[b.back()] > 0.5)
    b.push_back(s.n - 1);
  else
    b.back() = s.n - 1;
  return b;
}

struct RangeStats {
  int64_t elapsed = 0, moving = 0;
  double distance = 0, gain = 0, max_speed = 0, alt_diff = 0;
  double hr = -1, max_hr = -1, cadence = -1, watts = -1;
};

RangeStats range_stats(const Streams &s, size_t from, size_t to) {
  RangeStats r;
  r.elapsed = s.time[to] - s.time[from];
  r.distance = s.distance[to] - s.distance[from];
  double hs = 0, cs = 0, ws = 0;
  int hn = 0, cn = 0, wn = 0;
  for (size_t i = from; i <= to; ++i) {
    if (i > from) {
      if (s.moving[i]) r.moving += s.time[i] - s.time[i - 1];
      if (!s.altitude.empty()) r.gain += std::max(0.0, s.altitude[i] - s.altitude[i - 1]);
    }
    r.max_speed = std::max(r.max_speed, s.velocity[i]);
    if (!s.heartrate.empty() && !s.hr_null[i]) {
      hs += s.heartrate[i], ++hn;
      r.max_hr = std::max(r.max_hr, static_cast<double>(s.heartrate[i]));
    }
    if (!s.cadence.empty() && s.moving[i]) cs += s.cadence[i], ++cn;
    if (!s.watts.empty() && s.moving[i]) ws += s.watts[i], ++wn;
  }
  if (!s.altitude.empty()) r.alt_diff = s.altitude[to] - s.altitude[from];
  if (hn) r.hr = r1(hs / hn);
  if (cn) r.cadence = r1(cs / cn);
  if (wn) r.watts = r1(ws / wn);
  return r;
}

double speed(double dist, int64_t t) { return t > 0 ? r3(dist / static_cast<double>(t)) : 0.0; }

ojson laps_from(const Activity &a, const RenderCtx &ctx, const Streams &s) {
  ojson laps = ojson::array();
  const int64_t local = a.start + a.utc_offset;
  auto lap = [&](int k, size_t from, size_t to, const RangeStats &st) {
    ojson l = ojson::object();
    l["id"] = a.id * 100 + k;
    l["resource_state"] = 2;
    l["name"] = "Lap " + std::to_string(k);
    l["activity"] = ref(a.id, 1);
    l["athlete"] = ref(ctx.athlete_id, 1);
    l["elapsed_time"] = st.elapsed;
    l["moving_time"] = st.moving;
    const int64_t off = s.n ? s.time[from] : 0;
    l["start_date"] = iso_z(a.start + off);
    l["start_date_local"] = iso_z(local + off);
    l["distance"] = r1(st.distance);
    l["start_index"] = from;
    l["end_index"] = to;
    l["total_elevation_gain"] = num(r1(st.gain), a.int_numbers);
    l["average_speed"] = speed(st.distance, st.moving);
    l["max_speed"] = num(r3(st.max_speed), a.int_numbers || a.manual);
    if (st.cadence >= 0) l["average_cadence"] = st.cadence;
    if (a.has_power) {
      l["device_watts"] = a.device_watts;
      l["average_watts"] = st.watts >= 0 ? st.watts : a.avg_watts;
    }
    if (st.hr >= 0) {
      l["average_heartrate"] = st.hr;
      l["max_heartrate"] = st.max_hr;
    }
    l["lap_index"] = k;
    l["split"] = k;
    return l;
  };
  if (s.n == 0) {  // manual: one lap with the totals
    RangeStats st;
    st.elapsed = a.elapsed_time;
    st.moving = a.moving_time;
    st.distance = a.distance;
    st.gain = a.elev_gain;
    laps.push_back(lap(1, 0, 0, st));
    return laps;
  }
  double unit = 0;
  if (a.distance > 0) {
    if (is_foot_sport(a.sport_type))
      unit = 1000;
    else if (a.sport_type == "Swim")
      unit = 100;
    else if ((a.seed >> 7) & 1)
      unit = 10000;
  }
  std::vector<size_t> b = unit > 0 ? cut_by_distance(s, unit, true) : std::vector<size_t>{0, s.n - 1};
  for (size_t k = 0; k + 1 < b.size(); ++k) {
    const size_t from = b[k];
    const size_t to = k + 2 < b.size() ? b[k + 1] - 1 : b[k + 1];
    RangeStats st = range_stats(s, from, b[k + 1]);
    laps.push_back(lap(static_cast<int>(k + 1), from, std::max(from, to), st));
  }
  return laps;
}

ojson splits_from(const Activity &a, const Streams &s, double unit) {
  ojson out = ojson::array();
  std::vector<size_t> b = cut_by_distance(s, unit, false);
  for (size_t k = 0; k + 1 < b.size(); ++k) {
    RangeStats st = range_stats(s, b[k], b[k + 1]);
    ojson o = ojson::object();
    o["distance"] = r1(st.distance);
    o["elapsed_time"] = st.elapsed;
    o["elevation_difference"] = num(r1(st.alt_diff), a.int_numbers);
    o["moving_time"] = st.moving;
    o["split"] = k + 1;
    o["average_speed"] = speed(st.distance, st.moving);
    o["average_grade_adjusted_speed"] =
        st.moving > 0 ? ojson(speed(st.distance + std::max(0.0, st.alt_diff) * 4, st.moving)) : ojson(nullptr);
    if (st.hr >= 0) o["average_heartrate"] = st.hr;
    o["pace_zone"] = static_cast<int>((a.seed >> (k % 60)) % 6);
    out.push_back(std::move(o));
  }
  return out;
}

ojson best_efforts_from(const Activity &a, const RenderCtx &ctx, const Streams &s) {
  static const std::pair<const char *, double> targets[] = {{"400m", 400},
                                                            {"1/2 mile", 804.67},
                                                            {"1K", 1000},
                                                            {"1 mile", 1609.34},
                                                            {"2 mile", 3218.69},
                                                            {"5K", 5000},
                                                            {"10K", 10000},
                                                            {"15K", 15000},
                                                            {"10 mile", 16093.4},
                                                            {"20K", 20000},
                                                            {"Half-Marathon", 21097.5},
                                                            {"30K", 30000},
                                                            {"Marathon", 42195}};
  ojson out = ojson::array();
  const int64_t local = a.start + a.utc_offset;
  int k = 0;
  for (const auto &[label, target] : targets) {
    if (s.n < 2 || s.distance.back() < target) break;
    double best = 1e18;
    size_t bi = 0, bj = 0;
    size_t j = 0;
    for (size_t i = 0; i < s.n; ++i) {
      if (j < i) j = i;
      while (j < s.n && s.distance[j] - s.distance[i] < target) ++j;
      if (j >= s.n) break;
      const double dd = s.distance[j] - s.distance[i];
      const double t = static_cast<double>(s.time[j] - s.time[i]) * target / dd;
      if (t < best) best = t, bi = i, bj = j;
    }
    if (best >= 1e18) break;
    ++k;
    ojson e = ojson::object();
    e["id"] = a.id * 100 + 50 + k;
    e["resource_state"] = 2;
    e["name"] = label;
    e["activity"] = ref(a.id, 1);
    e["athlete"] = ref(ctx.athlete_id, 1);
    const int64_t secs = std::max<int64_t>(1, std::llround(best));
    e["elapsed_time"] = secs;
    e["moving_time"] = secs;
    e["start_date"] = iso_z(a.start + s.time[bi]);
    e["start_date_local"] = iso_z(local + s.time[bi]);
    e["distance"] = target;
    e["start_index"] = bi;
    e["end_index"] = bj;
    const uint64_t pr = (a.seed >> (3 * k)) & 7;
    e["pr_rank"] = pr < 3 ? ojson(pr + 1) : ojson(nullptr);
    e["achievements"] = ojson::array();
    out.push_back(std::move(e));
  }
  return out;
}

const char *const kStreamKeys[] = {"time",    "distance", "latlng", "altitude", "velocity_smooth", "heartrate",
                                   "cadence", "watts",    "temp",   "moving",   "grade_smooth"};

bool stream_data(const Streams &s, const std::string &key, ojson &data) {
  data = ojson::array();
  if (s.n == 0) return false;
  if (key == "time") {
    for (auto v : s.time) data.push_back(v);
  } else if (key == "distance") {
    for (auto v : s.distance) data.push_back(v);
  } else if (key == "latlng") {
    if (s.latlng.empty()) return false;
    for (auto &p : s.latlng) data.push_back(ojson::array({p.first, p.second}));
  } else if (key == "altitude") {
    if (s.altitude.empty()) return false;
    for (auto v : s.altitude) data.push_back(v);
  } else if (key == "velocity_smooth") {
    for (auto v : s.velocity) data.push_back(v);
  } else if (key == "heartrate") {
    if (s.heartrate.empty()) return false;
    for (size_t i = 0; i < s.n; ++i) data.push_back(s.hr_null[i] ? ojson(nullptr) : ojson(s.heartrate[i]));
  } else if (key == "cadence") {
    if (s.cadence.empty()) return false;
    for (auto v : s.cadence) data.push_back(v);
  } else if (key == "watts") {
    if (s.watts.empty()) return false;
    for (auto v : s.watts) data.push_back(v);
  } else if (key == "temp") {
    if (s.temp.empty()) return false;
    for (auto v : s.temp) data.push_back(v);
  } else if (key == "moving") {
    for (size_t i = 0; i < s.n; ++i) data.push_back(static_cast<bool>(s.moving[i]));
  } else if (key == "grade_smooth") {
    if (s.grade.empty()) return false;
    for (auto v : s.grade) data.push_back(v);
  } else {
    return false;
  }
  return true;
}

}  // namespace

Streams make_streams(const Activity &a, int samples) {
  Streams s;
  if (!a.has_streams()) return s;
  Rng r(a.seed);
  const int64_t elapsed = std::max<int64_t>(1, a.elapsed_time);
  const size_t n = static_cast<size_t>(std::max<int64_t>(2, std::min<int64_t>(std::max(samples, 2), elapsed + 1)));
  s.n = n;
  s.time.resize(n);
  for (size_t i = 0; i < n; ++i) s.time[i] = static_cast<int64_t>(i) * elapsed / static_cast<int64_t>(n - 1);
  // A pause block covering elapsed - moving seconds.
  s.moving.assign(n, true);
  int64_t pause = std::max<int64_t>(0, elapsed - a.moving_time);
  if (pause > 0) {
    size_t k = 1 + static_cast<size_t>(static_cast<double>(n - 2) * r.uniform(0.3, 0.6));
    while (pause > 0 && k < n) {
      s.moving[k] = false;
      pause -= s.time[k] - s.time[k - 1];
      ++k;
    }
  }
  // Distance: a wavy speed profile normalised to the activity distance.
  std::vector<double> inc(n, 0.0);
  const double ph = r.uniform(0, 6.283), amp = r.uniform(0.05, 0.2);
  double sum = 0;
  for (size_t i = 1; i < n; ++i) {
    if (!s.moving[i]) continue;
    const double f = static_cast<double>(i) / static_cast<double>(n);
    const double w = 1 + amp * std::sin(ph + 9 * f) + r.uniform(-0.08, 0.08);
    inc[i] = w * static_cast<double>(s.time[i] - s.time[i - 1]);
    sum += inc[i];
  }
  const double scale = sum > 0 ? a.distance / sum : 0;
  s.distance.resize(n);
  double cum = 0;
  for (size_t i = 0; i < n; ++i) {
    inc[i] *= scale;
    cum += inc[i];
    s.distance[i] = r1(cum);
  }
  if (a.distance > 0) s.distance[n - 1] = r1(a.distance);
  s.velocity.resize(n);
  for (size_t i = 0; i < n; ++i) {
    double v = 0;
    int c = 0;
    for (size_t j = i > 0 ? i - 1 : 0; j <= std::min(n - 1, i + 1); ++j) {
      if (j == 0) continue;
      const double dt = static_cast<double>(s.time[j] - s.time[j - 1]);
      v += dt > 0 ? inc[j] / dt : 0;
      ++c;
    }
    v = c ? v / c : 0;
    if (!s.moving[i]) v = 0;
    if (a.max_speed > 0) v = std::min(v, a.max_speed);
    s.velocity[i] = r3(v);
  }
  // GPS track: a noisy loop whose length matches the distance.
  if (a.has_gps()) {
    s.latlng.resize(n);
    double lat = a.lat0, lng = a.lng0;
    double h = r.uniform(0, 2 * std::numbers::pi), noise = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) {
        noise += r.uniform(-0.15, 0.15);
        const double frac = a.distance > 0 ? s.distance[i] / a.distance : 0;
        const double hd = h + 2 * std::numbers::pi * frac + noise;
        lat += inc[i] * std::cos(hd) / 111320.0;
        lng += inc[i] * std::sin(hd) / (111320.0 * std::cos(lat * std::numbers::pi / 180));
      }
      s.latlng[i] = {r6(lat), r6(lng)};
    }
  }
  // Altitude whose positive differences add up to the elevation gain.
  if (a.has_gps() || a.sport_type == "VirtualRide") {
    s.altitude.resize(n);
    std::vector<double> f(n);
    const double p1 = r.uniform(0, 6.283), p2 = r.uniform(0, 6.283), p3 = r.uniform(0, 6.283);
    for (size_t i = 0; i < n; ++i) {
      const double x = static_cast<double>(i) / static_cast<double>(n - 1);
      f[i] = std::sin(2 * std::numbers::pi * x + p1) + 0.5 * std::sin(6 * std::numbers::pi * x + p2) +
             0.25 * std::sin(14 * std::numbers::pi * x + p3);
    }
    double gain = 0, lo = f[0];
    for (size_t i = 1; i < n; ++i) gain += std::max(0.0, f[i] - f[i - 1]), lo = std::min(lo, f[i]);
    lo = std::min(lo, f[0]);
    const double k = gain > 0 && a.elev_gain > 0 ? a.elev_gain / gain : 0;
    for (size_t i = 0; i < n; ++i) s.altitude[i] = r1(a.base_alt + k * (f[i] - lo));
    s.grade.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const size_t i0 = i > 0 ? i - 1 : i, i1 = std::min(n - 1, i + 1);
      const double dd = s.distance[i1] - s.distance[i0];
      const double g = dd > 1 ? 100 * (s.altitude[i1] - s.altitude[i0]) / dd : 0;
      s.grade[i] = r1(std::clamp(g, -35.0, 35.0));
    }
  }
  if (a.has_hr) {
    s.heartrate.resize(n);
    s.hr_null.assign(n, false);
    double drift = 0;
    for (size_t i = 0; i < n; ++i) {
      drift += r.uniform(-2, 2);
      drift = std::clamp(drift, -12.0, 12.0);
      const double warm = i < n / 10 ? -15.0 * static_cast<double>(n / 10 - i) / static_cast<double>(n / 10 + 1) : 0;
      s.heartrate[i] = static_cast<int>(std::clamp(std::round(a.avg_hr + drift + warm), 60.0, a.max_hr));
    }
    s.heartrate[n / 2 + (n > 4 ? 1 : 0)] = static_cast<int>(a.max_hr);
    if ((a.seed & 3) == 0 && n > 10) {  // sensor dropouts
      const int drops = 1 + static_cast<int>(r.range(0, 2));
      for (int d = 0; d < drops; ++d) s.hr_null[static_cast<size_t>(r.range(1, static_cast<int64_t>(n) - 2))] = true;
      s.hr_null[n / 2 + (n > 4 ? 1 : 0)] = false;
    }
  }
  if (a.avg_cadence > 0) {
    s.cadence.resize(n);
    for (size_t i = 0; i < n; ++i)
      s.cadence[i] = s.moving[i] ? static_cast<int>(std::round(a.avg_cadence + r.uniform(-6, 6))) : 0;
  }
  if (a.has_power && a.device_watts) {
    s.watts.resize(n);
    for (size_t i = 0; i < n; ++i)
      s.watts[i] = s.moving[i] ? std::max(0, static_cast<int>(std::round(a.avg_watts * r.uniform(0.6, 1.4)))) : 0;
  }
  if (a.has_temp) {
    s.temp.resize(n);
    double t = a.avg_temp;
    for (size_t i = 0; i < n; ++i) {
      if (r.chance(0.05)) t += r.chance(0.5) ? 1 : -1;
      t = std::clamp(t, a.avg_temp - 3.0, a.avg_temp + 3.0);
      s.temp[i] = static_cast<int>(t);
    }
  }
  return s;
}

std::string encode_polyline(const std::vector<std::pair<double, double>> &pts) {
  std::string out;
  int64_t plat = 0, plng = 0;
  auto enc = [&out](int64_t v) {
    uint64_t u = static_cast<uint64_t>(v) << 1;
    if (v < 0) u = ~u;
    while (u >= 0x20) {
      out += static_cast<char>((0x20 | (u & 0x1f)) + 63);
      u >>= 5;
    }
    out += static_cast<char>(u + 63);
  };
  for (const auto &[lat, lng] : pts) {
    const int64_t ilat = std::llround(lat * 1e5), ilng = std::llround(lng * 1e5);
    enc(ilat - plat);
    enc(ilng - plng);
    plat = ilat, plng = ilng;
  }
  return out;
}

static ojson summary_from(const Activity &a, const RenderCtx &ctx, const Streams &s, bool detailed) {
  ojson o = ojson::object();
  const bool gps = a.has_gps() && !s.latlng.empty();
  o["resource_state"] = detailed ? 3 : 2;
  o["athlete"] = ref(ctx.athlete_id, 1);
  o["name"] = a.name;
  o["distance"] = num(a.distance, a.int_numbers);
  o["moving_time"] = a.moving_time;
  o["elapsed_time"] = a.elapsed_time;
  o["total_elevation_gain"] = num(a.elev_gain, a.int_numbers || a.manual);
  o["type"] = a.type;
  o["sport_type"] = a.sport_type;
  opt(o, "workout_type", a, kWorkoutType, a.workout_type >= 0, a.workout_type);
  o["id"] = a.id;
  o["external_id"] = a.manual ? ojson(nullptr) : ojson(a.external_id);
  o["upload_id"] = a.manual ? ojson(nullptr) : ojson(a.upload_id);
  if (!a.manual) o["upload_id_str"] = std::to_string(a.upload_id);
  o["start_date"] = iso_z(a.start);
  o["start_date_local"] = iso_z(a.start + a.utc_offset);
  o["timezone"] = a.timezone;
  o["utc_offset"] = static_cast<double>(a.utc_offset);
  o["location_city"] = nullptr;
  o["location_state"] = nullptr;
  o["location_country"] = a.zone >= 0 ? ojson(zones()[static_cast<size_t>(a.zone)].country) : ojson(nullptr);
  o["achievement_count"] = a.achievement_count;
  o["kudos_count"] = a.kudos_count;
  o["comment_count"] = a.comment_count;
  o["athlete_count"] = a.athlete_count;
  o["photo_count"] = a.photo_count;
  ojson map = ojson::object();
  map["id"] = "a" + std::to_string(a.id);
  if (detailed) map["polyline"] = gps ? encode_polyline(s.latlng) : "";
  map["summary_polyline"] = gps ? encode_polyline(simplified(s.latlng)) : "";
  map["resource_state"] = detailed ? 3 : 2;
  o["map"] = std::move(map);
  o["trainer"] = a.trainer;
  o["commute"] = a.commute;
  o["manual"] = a.manual;
  o["private"] = a.is_private;
  o["visibility"] = a.visibility;
  o["flagged"] = a.flagged;
  o["gear_id"] = a.gear_id ? ojson(*a.gear_id) : ojson(nullptr);
  o["start_latlng"] = latlng_json(a, s, false);
  o["end_latlng"] = latlng_json(a, s, true);
  o["average_speed"] = speed(a.distance, a.moving_time);
  o["max_speed"] = num(a.max_speed, a.int_numbers || a.manual);
  opt(o, "average_cadence", a, kAvgCadence, a.avg_cadence > 0, a.avg_cadence);
  opt(o, "average_temp", a, kAvgTemp, a.has_temp, a.avg_temp);
  opt(o, "average_watts", a, kAvgWatts, a.has_power, a.avg_watts);
  opt(o, "weighted_average_watts", a, kWeightedWatts, a.has_power && a.device_watts,
      static_cast<int64_t>(a.weighted_watts));
  opt(o, "kilojoules", a, kKilojoules, a.has_power, a.kilojoules);
  opt(o, "device_watts", a, kDeviceWatts, a.has_power, a.device_watts);
  o["has_heartrate"] = a.has_hr;
  opt(o, "average_heartrate", a, kAvgHr, a.has_hr, a.avg_hr);
  opt(o, "max_heartrate", a, kMaxHr, a.has_hr, a.max_hr);
  o["heartrate_opt_out"] = a.hr_opt_out;
  o["display_hide_heartrate_option"] = a.has_hr;
  const bool alt = !s.altitude.empty();
  double hi = 0, lo = 0;
  if (alt) {
    hi = *std::max_element(s.altitude.begin(), s.altitude.end());
    lo = *std::min_element(s.altitude.begin(), s.altitude.end());
  }
  opt(o, "elev_high", a, kElevHigh, alt, num(hi, a.int_numbers));
  opt(o, "elev_low", a, kElevLow, alt, num(lo, a.int_numbers));
  o["pr_count"] = a.pr_count;
  o["total_photo_count"] = a.photo_count;
  o["has_kudoed"] = false;
  opt(o, "suffer_score", a, kSufferScore, a.suffer_score >= 0, a.suffer_score);
  return o;
}

ojson summary_json(const Activity &a, const RenderCtx &ctx) {
  const Streams s = a.has_gps() || a.sport_type == "VirtualRide" ? make_streams(a, ctx.samples) : Streams{};
  ojson o = summary_from(a, ctx, s, false);
  merge_extra(o, a, false);
  return o;
}

ojson detail_json(const Activity &a, const RenderCtx &ctx) {
  const Streams s = make_streams(a, ctx.samples);
  ojson o = summary_from(a, ctx, s, true);
  o["description"] = a.description ? ojson(*a.description) : ojson(nullptr);
  o["calories"] = a.calories;
  o["segment_efforts"] = ojson::array();
  if (s.n > 0 && a.distance > 0 && is_foot_sport(a.sport_type)) {
    o["splits_metric"] = splits_from(a, s, 1000);
    o["splits_standard"] = splits_from(a, s, 1609.34);
  }
  o["laps"] = laps_from(a, ctx, s);
  if (a.type == "Run" && s.n > 0) o["best_efforts"] = best_efforts_from(a, ctx, s);
  if (a.gear_id) {
    for (const Gear &g : ctx.gear ? *ctx.gear : gear_list()) {
      if (g.id != *a.gear_id) continue;
      double d = 0;
      if (ctx.gear_distance) {
        auto it = ctx.gear_distance->find(g.id);
        if (it != ctx.gear_distance->end()) d = it->second;
      }
      ojson gj = ojson::object();
      gj["id"] = g.id;
      gj["primary"] = g.primary;
      gj["name"] = g.name;
      gj["nickname"] = g.nickname;
      gj["resource_state"] = 2;
      gj["retired"] = g.retired;
      gj["distance"] = std::round(d);
      gj["converted_distance"] = r1(d / 1000);
      o["gear"] = std::move(gj);
    }
  }
  ojson photos = ojson::object();
  photos["primary"] = nullptr;
  photos["count"] = 0;
  o["photos"] = std::move(photos);
  if (!a.manual && !a.device_name.empty()) o["device_name"] = a.device_name;
  o["embed_token"] = hex_of(mix64(a.seed ^ 1), mix64(a.seed ^ 2), mix64(a.seed ^ 3), 40);
  o["hide_from_home"] = false;
  o["available_zones"] = ojson::array();
  merge_extra(o, a, true);
  return o;
}

ojson laps_json(const Activity &a, const RenderCtx &ctx) {
  const Streams s = make_streams(a, ctx.samples);
  return laps_from(a, ctx, s);
}

ojson streams_json(const Activity &a, const RenderCtx &ctx, const std::vector<std::string> &keys, bool key_by_type) {
  const Streams s = make_streams(a, ctx.samples);
  ojson out = key_by_type ? ojson::object() : ojson::array();
  const char *series = a.distance > 0 ? "distance" : "time";
  for (const char *k : kStreamKeys) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) continue;
    ojson data;
    if (!stream_data(s, k, data)) continue;
    ojson o = ojson::object();
    if (!key_by_type) o["type"] = k;
    o["data"] = std::move(data);
    o["series_type"] = series;
    o["original_size"] = s.n;
    o["resolution"] = "high";
    if (key_by_type)
      out[k] = std::move(o);
    else
      out.push_back(std::move(o));
  }
  return out;
}

namespace {

// The athletes of one app (a family, a club), by number; an app serves at
// most 10. Past the table, names repeat with the number appended.
struct Person {
  const char *first, *last, *username, *sex;
};
constexpr Person kPeople[] = {
    {"Zoë", "Ångström-O'Brien", "zoe_emulated", "F"},   {"Malik", "Haddad", "malik_emulated", "M"},
    {"Ines", "García Núñez", "ines_emulated", "F"},     {"Kenji", "Watanabe", "kenji_emulated", "M"},
    {"Saoirse", "Ní Bhriain", "saoirse_emulated", "F"}, {"Ólafur", "Jónsson", "olafur_emulated", "M"},
    {"Thảo", "Nguyễn", "thao_emulated", "F"},           {"Dmitri", "Волков", "dmitri_emulated", "M"},
    {"Amara", "Okafor", "amara_emulated", "F"},         {"Lukas", "Müller", "lukas_emulated", "M"},
};

}  // namespace

ojson athlete_json(int64_t id, int64_t end, bool detailed, const std::map<std::string, double> &gd,
                   const std::vector<Gear> *gear, int number) {
  constexpr int kCount = static_cast<int>(sizeof kPeople / sizeof kPeople[0]);
  const Person &p = kPeople[number % kCount];
  const std::string suffix = number < kCount ? "" : " " + std::to_string(number);
  ojson o = ojson::object();
  o["id"] = id;
  o["username"] = p.username + (number < kCount ? "" : std::to_string(number));
  o["resource_state"] = detailed ? 3 : 2;
  o["firstname"] = p.first + suffix;
  o["lastname"] = p.last + suffix;
  o["bio"] = "Läuft & fährt 🏃‍♀️🚴 — test athlete";
  o["city"] = "Berlin";
  o["state"] = "Berlin";
  o["country"] = "Germany";
  o["sex"] = p.sex;
  o["premium"] = true;
  o["summit"] = true;
  o["created_at"] = "2014-03-15T08:12:44Z";
  o["updated_at"] = iso_z(end - 86400 * 2 + 3600 * 18);
  o["badge_type_id"] = 1;
  o["weight"] = 61.5;
  o["profile_medium"] = "https://dgalywyr863hv.cloudfront.net/pictures/athletes/" + std::to_string(id) + "/medium.jpg";
  o["profile"] = "https://dgalywyr863hv.cloudfront.net/pictures/athletes/" + std::to_string(id) + "/large.jpg";
  o["friend"] = nullptr;
  o["follower"] = nullptr;
  if (!detailed) return o;
  o["blocked"] = false;
  o["can_follow"] = true;
  o["follower_count"] = 124;
  o["friend_count"] = 98;
  o["mutual_friend_count"] = 0;
  o["athlete_type"] = 0;
  o["date_preference"] = "%d.%m.%Y";
  o["measurement_preference"] = "meters";
  o["clubs"] = ojson::array();
  o["ftp"] = 250;
  ojson bikes = ojson::array(), shoes = ojson::array();
  for (const Gear &g : gear ? *gear : gear_list()) {
    ojson j = ojson::object();
    auto it = gd.find(g.id);
    const double d = it == gd.end() ? 0 : it->second;
    j["id"] = g.id;
    j["primary"] = g.primary;
    j["name"] = g.name;
    j["nickname"] = g.nickname;
    j["resource_state"] = 2;
    j["retired"] = g.retired;
    j["distance"] = std::round(d);
    j["converted_distance"] = r1(d / 1000);
    (g.bike ? bikes : shoes).push_back(std::move(j));
  }
  o["bikes"] = std::move(bikes);
  o["shoes"] = std::move(shoes);
  return o;
}

ojson zones_json() {
  auto zl = [](std::initializer_list<std::pair<int, int>> z) {
    ojson a = ojson::array();
    for (auto [mn, mx] : z) {
      ojson o = ojson::object();
      o["min"] = mn;
      o["max"] = mx;
      a.push_back(std::move(o));
    }
    return a;
  };
  ojson o = ojson::object();
  o["heart_rate"] = ojson::object();
  o["heart_rate"]["custom_zones"] = false;
  o["heart_rate"]["zones"] = zl({{0, 124}, {124, 154}, {154, 169}, {169, 184}, {184, -1}});
  o["power"] = ojson::object();
  o["power"]["zones"] = zl({{0, 138}, {138, 188}, {188, 225}, {225, 263}, {263, 300}, {300, 375}, {375, -1}});
  return o;
}

ojson gear_json(const Gear &g, double distance) {
  ojson o = ojson::object();
  o["id"] = g.id;
  o["primary"] = g.primary;
  o["name"] = g.name;
  o["nickname"] = g.nickname;
  o["resource_state"] = 3;
  o["retired"] = g.retired;
  o["distance"] = std::round(distance);
  o["converted_distance"] = r1(distance / 1000);
  o["brand_name"] = g.brand;
  o["model_name"] = g.model;
  if (g.bike) {
    o["frame_type"] = g.frame_type;
    o["weight"] = 8.2;
  }
  o["description"] = g.description;
  return o;
}

ojson error_json(const std::string &message, const std::string &resource, const std::string &field,
                 const std::string &code) {
  ojson o = ojson::object();
  o["message"] = message;
  o["errors"] = ojson::array();
  if (!resource.empty() || !field.empty() || !code.empty()) {
    ojson e = ojson::object();
    e["resource"] = resource;
    e["field"] = field;
    e["code"] = code;
    o["errors"].push_back(std::move(e));
  }
  return o;
}

}  // namespace emu
