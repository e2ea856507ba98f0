// A stream sample: one moment of an activity's recorded streams, as the
// cache's streams table holds it. The analytics read them, the formats write
// them (format/render.h), the importers make them.
#pragma once

#include <cstdint>
#include <optional>

namespace stravafs {

// One stream sample, as the cache's streams table holds it; nullopt = NULL.
struct StreamSample {
  int64_t seq = 0;
  std::optional<double> time;       // seconds since the start
  std::optional<double> distance;   // meters
  std::optional<double> lat;        // degrees
  std::optional<double> lng;        // degrees
  std::optional<double> altitude;   // meters
  std::optional<double> velocity;   // m/s (smoothed)
  std::optional<double> heartrate;  // bpm
  std::optional<double> cadence;    // rpm
  std::optional<double> watts;      // W
  std::optional<double> temp;       // degrees C
  std::optional<double> moving;     // 0/1
  std::optional<double> grade;      // percent (smoothed)
};

}  // namespace stravafs
