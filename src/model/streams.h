// A stream sample: one moment of an activity's recorded streams, as the
// cache's streams table holds it. The analytics read them, the formats write
// them (format/render.h), the importers make them.
//
// kStreamTypes is the one list of stream types and their columns: the cache
// store (cache/activity_store), the <name>.csv (format/render) and the
// strava_streams table (vtab/) iterate it. Its Strava names are also
// kStravaStreamTypes in base/stream_types.h, because config, below model,
// checks [sync] streams against them: a static_assert below keeps the two
// equal. The cache's CREATE TABLE in cache/schema.cc stays literal
// (migrations are history); tests/unit/model/streams_test.cc pins this table
// against it, the default [sync] streams, the CSV header and strava_streams'
// columns.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/stream_types.h"

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

using StreamMember = std::optional<double> StreamSample::*;

// One column of the streams: in the cache's streams table, the <name>.csv and
// strava_streams alike, after seq.
struct StreamColumn {
  std::string_view name;      // "velocity"
  StreamMember member;        // &StreamSample::velocity
  std::string_view sql_type;  // as the cache and strava_streams declare it
};

// One Strava stream type and the column(s) it fills: latlng, a [lat, lng]
// pair per sample, fills two.
struct StreamType {
  std::string_view strava;  // "velocity_smooth"
  StreamColumn column;
  std::optional<StreamColumn> second = std::nullopt;  // latlng's lng
};

inline constexpr std::array<StreamType, 11> kStreamTypes = {{
    {"time", {"time", &StreamSample::time, "INTEGER"}},
    {"distance", {"distance", &StreamSample::distance, "REAL"}},
    {"latlng", {"lat", &StreamSample::lat, "REAL"}, StreamColumn{"lng", &StreamSample::lng, "REAL"}},
    {"altitude", {"altitude", &StreamSample::altitude, "REAL"}},
    {"velocity_smooth", {"velocity", &StreamSample::velocity, "REAL"}},
    {"heartrate", {"heartrate", &StreamSample::heartrate, "REAL"}},
    {"cadence", {"cadence", &StreamSample::cadence, "REAL"}},
    {"watts", {"watts", &StreamSample::watts, "REAL"}},
    {"temp", {"temp", &StreamSample::temp, "REAL"}},
    {"moving", {"moving", &StreamSample::moving, "INTEGER"}},
    {"grade_smooth", {"grade", &StreamSample::grade, "REAL"}},
}};

static_assert(std::ranges::equal(kStreamTypes, kStravaStreamTypes, {}, &StreamType::strava),
              "kStreamTypes and kStravaStreamTypes (base/stream_types.h) name the same types in the same order");

// The columns after seq, in order: kStreamTypes with latlng's two flattened.
inline constexpr size_t kStreamColumnCount =
    kStreamTypes.size() + std::ranges::count_if(kStreamTypes, [](const StreamType& t) { return t.second.has_value(); });
inline constexpr std::array<StreamColumn, kStreamColumnCount> kStreamColumns = [] {
  std::array<StreamColumn, kStreamColumnCount> out{};
  size_t i = 0;
  for (const StreamType& t : kStreamTypes) {
    out[i++] = t.column;
    if (t.second) out[i++] = *t.second;
  }
  return out;
}();

// The index in kStreamColumns of the column named `name`; kStreamColumnCount
// if there is none.
constexpr size_t StreamColumnIndex(std::string_view name) {
  for (size_t i = 0; i < kStreamColumnCount; ++i)
    if (kStreamColumns[i].name == name) return i;
  return kStreamColumnCount;
}

// An activity's streams on their way into the cache, as a streams reply
// (api::ParseStreams) and a shaped file (import::ShapeTrack) give them to
// ActivityStore::StoreStreams: per column of kStreamColumns, one value per
// sample, NaN where the sample has none (JSON has no NaN, so no value is
// one). An empty column: its type was not sent.
struct StreamSet {
  std::array<std::vector<double>, kStreamColumnCount> columns;

  // The column named `name` (a StreamColumn::name; another is
  // std::out_of_range).
  std::vector<double>& operator[](std::string_view name) { return columns.at(StreamColumnIndex(name)); }
  const std::vector<double>& operator[](std::string_view name) const { return columns.at(StreamColumnIndex(name)); }
  // How many samples: the longest column's length.
  size_t size() const {
    size_t n = 0;
    for (const auto& c : columns) n = std::max(n, c.size());
    return n;
  }
};

}  // namespace stravafs
