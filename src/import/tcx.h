// TCX decoder: one Garmin Training Center (TCX v2) file to a Track (see
// track.h). Elements are matched by local name, so the ns3:/ax: prefixes of
// the Garmin ActivityExtension v2 (TPX, LX) and their absence read the same.
//
// What is read, from the first Activities/Activity only (a TCX may hold
// several; later ones and Courses are ignored; a MultiSportSession gives its
// first leg):
// - Activity `Sport` attribute → summary.sport_type (SportTypeFromName:
//   "Running" Run, "Biking" Ride, "Other" unknown);
// - Activity/Id → summary.start_time (when Id is not a timestamp: the first
//   lap's StartTime, else the first point's time);
// - Activity/Notes → summary.name; Activity/Creator/Name → device_name;
// - each Lap → Track.laps: StartTime attribute, TotalTimeSeconds
//   (moving_time: the timer time Garmin writes there; elapsed_time runs to
//   the next lap's StartTime, the last lap's to its last point, and is never
//   less than TotalTimeSeconds), DistanceMeters, MaximumSpeed, Calories,
//   AverageHeartRateBpm/Value, MaximumHeartRateBpm/Value, Cadence
//   (average_cadence; LX AvgRunCadence when Cadence is absent), LX AvgWatts.
//   LX AvgSpeed and MaxWatts are not kept: TrackLap has no field for them;
// - the summary totals the laps state: distance, elapsed_time, moving_time
//   and calories summed when every lap gives them, max_speed and max_heartrate the largest
//   any lap gives;
// - each Trackpoint, in file order, across laps → Track.points: Time,
//   Position/LatitudeDegrees+LongitudeDegrees (both or neither),
//   AltitudeMeters, DistanceMeters, HeartRateBpm/Value, Cadence, TPX Speed
//   (m/s), TPX Watts, TPX RunCadence (Garmin writes it per leg, i.e. spm/2,
//   which is how track.h wants running cadence; used when Cadence is absent).
//   Trackpoints with only a Time (Garmin writes them at pauses) are kept.
//
// Refused, with a message naming the reason and the line: a Trackpoint
// without Time ("TCX: track point without time"), a Lap without a readable
// StartTime, numbers or times that do not parse (blank values and "NaN" count
// as absent), no Activity ("TCX: no activity"), an Activity without
// trackpoints ("TCX: no track points"), a root other than
// <TrainingCenterDatabase>, malformed XML, any DOCTYPE.
#pragma once

#include <string_view>

#include "base/status.h"
#include "import/track.h"

namespace stravafs::import {

Result<Track> DecodeTcx(std::string_view bytes);

}  // namespace stravafs::import
