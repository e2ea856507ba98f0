// generator.h - the deterministic fake athlete: the compact Activity record
// the emulator keeps in memory, the gear list, and the generator that fills
// them from (N, seed, end date). Output depends only on those inputs (raw
// std::mt19937_64 words, no std::*_distribution, no clock), so two runs with
// the same arguments produce byte-identical data.
// Functions here are pure; a Rng object is not thread-safe (use one per job).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace emu {

using ojson = nlohmann::ordered_json;

// Thin wrapper deriving values from raw mt19937_64 words (portable).
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t next() { return g_(); }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0,1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * unit(); }
  int64_t range(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return unit() < p; }

 private:
  std::mt19937_64 g_;
};

// SplitMix64 finalizer: a bijection on 64-bit words.
uint64_t mix64(uint64_t x);

// Bits of Activity::omit_mask / null_mask, one per optional key.
enum OptKey : unsigned {
  kWorkoutType,
  kAvgCadence,
  kAvgHr,
  kMaxHr,
  kAvgWatts,
  kWeightedWatts,
  kKilojoules,
  kDeviceWatts,
  kElevHigh,
  kElevLow,
  kAvgTemp,
  kSufferScore,
  kOptKeyCount
};

struct Activity {
  int64_t id = 0;
  int64_t start = 0;     // start_date, UTC epoch seconds (sort key)
  int zone = 0;          // index into zones(), or -1 when only label/offset are known
  std::string timezone;  // "(GMT+01:00) Europe/Berlin"
  int utc_offset = 0;    // seconds in force at start
  std::string name;
  std::string sport_type;
  std::string type;  // deprecated type
  std::optional<std::string> description;
  double distance = 0;
  int64_t moving_time = 0, elapsed_time = 0;
  double elev_gain = 0;
  double base_alt = 0;  // lowest altitude of the track
  bool manual = false, trainer = false, commute = false, is_private = false, flagged = false;
  bool gps = false;          // has a GPS track (ignored when manual)
  bool latlng_null = false;  // old-style record: start_latlng/end_latlng null when no GPS
  bool int_numbers = false;  // integral floats written as JSON integers
  bool hidden = false;       // --hidden-every: never listed, 404 everywhere
  std::string visibility = "everyone";
  std::optional<std::string> gear_id;
  int workout_type = -1;  // -1: none
  double max_speed = 0;
  bool has_hr = false;
  double avg_hr = 0, max_hr = 0;
  bool hr_opt_out = false;
  double avg_cadence = -1;  // <0: none
  bool has_power = false, device_watts = false;
  double avg_watts = 0, weighted_watts = 0, kilojoules = 0;
  bool has_temp = false;
  int avg_temp = 0;
  double suffer_score = -1;
  int achievement_count = 0, kudos_count = 0, comment_count = 0, athlete_count = 1;
  int photo_count = 0, pr_count = 0;
  double calories = 0;
  std::string device_name;  // empty: absent
  std::string external_id;  // meaningful unless manual
  int64_t upload_id = 0;
  double lat0 = 0, lng0 = 0;  // track start
  uint32_t omit_mask = 0;     // optional key without data: left out ...
  uint32_t null_mask = 0;     // ... or written as null
  uint64_t seed = 0;          // streams, laps, efforts
  ojson extra;                // fields set through the control API (null or object)

  bool has_streams() const { return !manual; }
  bool has_gps() const { return gps && !manual; }
};

struct Gear {
  std::string id, name, nickname, brand, model, description;
  bool bike = false, primary = false, retired = false;
  int frame_type = 0;
};

struct GenParams {
  int64_t count = 50;
  uint64_t seed = 1;
  int64_t end = 0;  // epoch second: all starts are before this
  int64_t athlete_id = 3141592653LL;
  int64_t hidden_every = 0;
  int64_t first_id = 11000000000LL;  // ids start at most 1,000,000 above it
  int number = 0;                    // the athlete's number under the app (0 = the first): their gear ids
};

struct Generated {
  std::vector<Activity> activities;  // ascending start, ascending id
  int64_t next_id = 0;               // first id free for created activities
  int64_t avg_spacing = 0;
};

// The first athlete's gear. Every athlete has the same bikes and shoes, but
// as at Strava, under ids of their own: athlete number k's are the first's
// moved up by k million (b12345, b1012345, b2012345, ...).
const std::vector<Gear> &gear_list();
std::vector<Gear> gear_list(int number);
std::string gear_id_for(const std::string &first_athletes_id, int number);
// The first athlete's id of any athlete's gear id.
std::string first_gear_id(const std::string &id);
// Deprecated `type` for a sport_type.
std::string type_for_sport(const std::string &sport_type);
bool is_foot_sport(const std::string &sport_type);
bool is_ride_type(const std::string &type);

Generated generate(const GenParams &p);

// A fresh activity for the control API: generated like the others from
// (seed, id), starting at `start` (UTC) unless fields override it.
Activity generate_one(uint64_t seed, int64_t id, int64_t start, int64_t index_for_hidden, int64_t hidden_every);

}  // namespace emu
