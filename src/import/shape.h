// Shaping a decoded Track the way Strava shapes an upload: the streams of
// GET /activities/{id}/streams (one sample per recorded point), the summary
// numbers the file did not state, and the laps as the API writes them.
//
// This is the one place where FIT, GPX and TCX become alike, so every format
// gives the same streams for the same recording: time from the first point,
// the device's distance (else the sum of great-circle steps), the device's
// speed (else distance over time across a short window), moving (FIT's timer,
// else a speed threshold), and grade over the last ~50 m of climb.
// Pure functions: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "import/track.h"
#include "model/activity.h"
#include "model/streams.h"

namespace stravafs::import {

// What the points say about the activity as a whole.
struct PointSummary {
  std::optional<double> start_time;                 // UTC epoch s of the first point
  std::optional<double> elapsed_time, moving_time;  // s
  std::optional<double> distance;                   // m
  std::optional<double> total_elevation_gain;       // m
  std::optional<double> elev_high, elev_low;        // m
  std::optional<double> average_speed, max_speed;   // m/s
  std::optional<double> average_heartrate, max_heartrate;
  std::optional<double> average_cadence;
  std::optional<double> average_watts, max_watts, kilojoules;
  std::optional<double> average_temp;
  std::optional<std::pair<double, double>> start_latlng, end_latlng;
  std::string summary_polyline;  // Google's encoding, at most ~500 points
  std::string polyline;          // every point
};

struct Shaped {
  StreamSet streams;  // one value a point; no column without points
  PointSummary summary;
  size_t samples = 0;
};

// The streams and point summary of `track` (its points sorted by time,
// stably: a file's order is kept among equal times).
Shaped ShapeTrack(const Track& track);

// Google's encoded polyline of (lat, lng) pairs at 1e-5 degrees.
std::string EncodePolyline(const std::vector<std::pair<double, double>>& points);

// The laps as GET /activities/{id} gives them (start_index/end_index into
// the streams of ShapeTrack), given the activity's start and UTC offset.
Json LapsJson(const Track& track, double utc_offset);

}  // namespace stravafs::import
