// fit.h - the FIT activity-file decoder (Garmin's Flexible and Interoperable
// Data Transfer protocol), written here because Garmin's SDK may not be
// redistributed and Debian packages no FIT library.
//
// Contract:
// - DecodeFit reads the whole byte string and returns a Track (format "fit"):
//   one TrackPoint per `record` message that has a time, in file order;
//   laps from `lap`; the summary from `session`, `activity`, `file_id` and
//   `device_info`; `moving` from timer events (left unset when the file has
//   none). Values are converted to the units of track.h and FIT's "invalid"
//   sentinels become nullopt; so does a position whose latitude is beyond
//   +-90 or longitude beyond +-180 degrees.
// - It handles normal and compressed-timestamp record headers, little- and
//   big-endian definitions, developer fields and unknown messages/fields
//   (skipped by size), field arrays (first element), enhanced_speed and
//   enhanced_altitude (preferred), and chained files (several
//   header+data+CRC blocks decoded as one activity).
// - Header CRC (when nonzero) and every file CRC are checked. Any malformed
//   input (truncation, undefined local message type, a zero-sized field, a
//   data size past the end of the input) is an error Status naming the byte
//   offset; never an exception, a crash or an allocation larger than a small
//   multiple of the input.
// - Thread-safe: no shared state.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "import/track.h"

namespace stravafs::import {

// Decodes a FIT file (already decompressed) into a Track.
Result<Track> DecodeFit(std::string_view bytes);

// Strava's sport_type for a FIT `sport` / `sub_sport` pair (FIT profile
// enums): running -> "Run" (trail -> "TrailRun", virtual_activity ->
// "VirtualRun"), cycling -> "Ride" (mountain -> "MountainBikeRide", gravel
// -> "GravelRide", indoor/virtual -> "VirtualRide", e-bike -> "EBikeRide"),
// swimming -> "Swim", ... Unknown or generic -> "Workout".
std::string SportTypeFromFit(int sport, int sub_sport);

// A readable name for a FIT manufacturer/product pair, as Strava shows a
// device: "Garmin Forerunner 945" for products we know, "Garmin 3113" for
// other Garmin products, "Wahoo 31", "manufacturer 999 product 5".
// `product_name` (the file's own product_name string, may be empty) wins
// over the numeric product when present. -1 means "not in the file"; ""
// when neither is known.
std::string FitDeviceName(int manufacturer, int product, std::string_view product_name = {});

}  // namespace stravafs::import
