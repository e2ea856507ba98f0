// The Strava stream types stravafs stores, by the name Strava's API and
// [sync] streams give them, in the order of the cache's streams columns.
//
// Only the names live here, below config, so that config can check
// [sync] streams against them: config sits below model and cannot include
// model/streams.h. The table itself (each type's cache column and
// StreamSample member) is kStreamTypes in model/streams.h, which checks at
// compile time that its Strava names are these, in this order.
#pragma once

#include <array>
#include <string_view>

namespace stravafs {

inline constexpr std::array<std::string_view, 11> kStravaStreamTypes = {
    "time",    "distance", "latlng", "altitude", "velocity_smooth", "heartrate",
    "cadence", "watts",    "temp",   "moving",   "grade_smooth"};

}  // namespace stravafs
