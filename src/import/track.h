// Track: what every activity-file decoder (FIT, GPX, TCX) gives the importer.
//
// A decoder turns the bytes of one file into a Track: the recorded points as
// the device wrote them (absolute UTC times, raw units), the laps, and
// whatever summary the file states itself (a FIT session, a TCX lap's totals,
// a GPX track's name). It computes nothing it was not told: distances,
// smoothed speeds, grades, `moving` for formats without timer events and the
// summary numbers the file lacks are derived in one place, the importer
// (import/shape.h), so every format is shaped the same way Strava shapes an
// upload.
//
// Every field is optional in the sense the file allows: nullopt means the
// file did not say (or said FIT's "invalid" sentinel). Decoders never throw;
// a file they cannot read is a Status naming the reason (a truncated record,
// a bad CRC, not XML, no track points).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stravafs::import {

// One recorded point: a FIT `record`, a GPX `trkpt`, a TCX `Trackpoint`.
struct TrackPoint {
  double time = 0;                  // UTC, seconds since the Unix epoch (fractions allowed)
  std::optional<double> lat, lng;   // degrees, WGS84
  std::optional<double> altitude;   // meters (FIT: enhanced_altitude preferred)
  std::optional<double> distance;   // meters from the start, as the device counted them
  std::optional<double> speed;      // m/s as the device measured it (FIT: enhanced_speed preferred)
  std::optional<double> heartrate;  // bpm
  std::optional<double> cadence;    // rpm (spm/2 for running, as Strava stores it)
  std::optional<double> watts;      // W
  std::optional<double> temp;       // degrees C
  std::optional<bool> moving;       // false inside a timer pause (FIT timer stop..start)
};

// One lap (FIT `lap`, TCX `Lap`). Times in seconds, distances in meters.
struct TrackLap {
  double start_time = 0;               // UTC epoch seconds
  std::optional<double> elapsed_time;  // wall clock: FIT total_elapsed_time; TCX to the next lap (or last point)
  std::optional<double> moving_time;   // timer: FIT total_timer_time, TCX TotalTimeSeconds
  std::optional<double> distance;
  std::optional<double> max_speed;  // m/s
  std::optional<double> average_heartrate, max_heartrate;
  std::optional<double> average_cadence;
  std::optional<double> average_watts;
  std::optional<double> calories;      // kcal
  std::optional<double> total_ascent;  // m
};

// What the file says about the activity as a whole.
struct TrackSummary {
  std::string sport_type;              // Strava's sport_type ("Run", "Ride", ...); "" = unknown
  std::string name;                    // GPX <name>, TCX Notes; "" = none
  std::string device_name;             // FIT device_info/file_id manufacturer+product, TCX Creator Name
  std::optional<double> start_time;    // UTC epoch seconds (FIT session.start_time, TCX Id)
  std::optional<double> utc_offset;    // seconds, local minus UTC (FIT activity.local_timestamp - timestamp)
  std::optional<double> elapsed_time;  // s
  std::optional<double> moving_time;   // s (FIT session.total_timer_time)
  std::optional<double> distance;      // m
  std::optional<double> total_ascent;  // m
  std::optional<double> calories;      // kcal
  std::optional<double> average_speed, max_speed;          // m/s
  std::optional<double> average_heartrate, max_heartrate;  // bpm
  std::optional<double> average_cadence;                   // rpm
  std::optional<double> average_watts, max_watts;          // W
  std::optional<double> kilojoules;                        // kJ of work (FIT session.total_work / 1000)
};

struct Track {
  std::string format;  // "fit", "gpx" or "tcx"
  TrackSummary summary;
  std::vector<TrackPoint> points;  // in file order (decoders do not sort)
  std::vector<TrackLap> laps;
};

// Strava's sport_type for a sport name as files write it, case-insensitive:
// TCX's "Running"/"Biking"/"Other", GPX <type> words Strava and Garmin use
// ("running", "cycling", "hiking", "walking", "swimming", ...), and the
// numeric GPX types Strava's own exports write ("1" ride, "9" run, ...).
// "" when unknown. (For FIT's sport/sub_sport enums, see fit.h.)
std::string SportTypeFromName(std::string_view name);

}  // namespace stravafs::import
