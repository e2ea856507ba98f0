// render.h - turns the compact Activity record into Strava-shaped JSON:
// summary (resource_state 2) and detailed (3) activities, laps, splits,
// best efforts, streams (both shapes), encoded polylines, the athlete,
// zones, gear and stats. Streams are re-derived on demand from the
// activity's seed (deterministic), never stored.
// All functions are pure (inputs are passed in): thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "generator.h"

namespace emu {

struct RenderCtx {
  int64_t athlete_id = 0;
  int samples = 200;                                             // max stream samples
  const std::map<std::string, double> *gear_distance = nullptr;  // for detail "gear"
  const std::vector<Gear> *gear = nullptr;                       // the athlete's gear; nullptr: gear_list()
};

struct Streams {
  size_t n = 0;
  std::vector<int64_t> time;
  std::vector<double> distance;
  std::vector<std::pair<double, double>> latlng;  // empty without GPS
  std::vector<double> altitude;                   // empty without altitude
  std::vector<double> velocity;
  std::vector<int> heartrate;             // empty without HR
  std::vector<bool> hr_null;              // dropouts (written as null)
  std::vector<int> cadence, watts, temp;  // empty when absent
  std::vector<bool> moving;
  std::vector<double> grade;  // with altitude only
};

Streams make_streams(const Activity &a, int samples);
std::string encode_polyline(const std::vector<std::pair<double, double>> &pts);

ojson summary_json(const Activity &a, const RenderCtx &ctx);
ojson detail_json(const Activity &a, const RenderCtx &ctx);
ojson laps_json(const Activity &a, const RenderCtx &ctx);
// keys: requested stream types (unknown/unavailable ones are left out).
ojson streams_json(const Activity &a, const RenderCtx &ctx, const std::vector<std::string> &keys, bool key_by_type);

// gear: the athlete's bikes and shoes; nullptr: gear_list(). number: the
// athlete's place under the app (0 = the first), which picks the names.
ojson athlete_json(int64_t id, int64_t end, bool detailed, const std::map<std::string, double> &gear_distance,
                   const std::vector<Gear> *gear = nullptr, int number = 0);
ojson zones_json();
ojson gear_json(const Gear &g, double distance);

// Strava error body {"message":…,"errors":[{"resource","field","code"}]}.
ojson error_json(const std::string &message, const std::string &resource = "", const std::string &field = "",
                 const std::string &code = "");

}  // namespace emu
