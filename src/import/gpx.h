// GPX decoder: one GPX 1.0 or 1.1 file to a Track (see track.h).
//
// What is read (elements matched by local name, so any namespace or prefix,
// at exactly these paths from the root; a trk nested anywhere else is not
// the file's track):
// - every gpx/trk/trkseg/trkpt, in file order, all tracks and segments
//   concatenated: `lat`/`lon` attributes, `ele`, `time`;
// - sensor values anywhere inside a trkpt (GPX 1.1 puts them in
//   <extensions>, GPX 1.0 directly in the point), case-insensitive:
//   hr/heartrate, cad/cadence, atemp/temp/temperature (Garmin
//   TrackPointExtension v1/v2, cluetrust gpxdata, GpxExtensions v3),
//   power/PowerInWatts/watts (Strava's <power>, Garmin PowerExtension),
//   speed (GPX 1.0, TrackPointExtension v2; m/s) and distance (gpxdata; m).
//   Values are kept as the file writes them (cadence unchanged);
// - gpx/trk/name → summary.name (metadata/name if no track has one), gpx/trk/type →
//   summary.sport_type through SportTypeFromName;
// - summary.start_time: metadata/time (GPX 1.0: gpx/time) when it is not
//   later than the first point, else the first point's time. Writers such as
//   gpsbabel put the file's creation time there, which is after the activity
//   and would break matching by start time.
// Routes (rte) and waypoints (wpt) are not activities and are ignored.
//
// Refused, with a message naming the reason and the line:
// - a track point without a time ("GPX: track point without time"): Strava
//   refuses such uploads too, and the importer cannot order or time a
//   stream without them. There is no exception for partly timed tracks;
// - a track point with an unreadable or out-of-range lat or lon, or only one
//   of them (a point with neither is kept, without a position: some writers
//   emit those for indoor streams), a time or number that does not parse
//   (blank values and "NaN" count as absent, not as errors);
// - no track points at all ("GPX: no track points"), e.g. a route-only file;
// - a root element other than <gpx>, malformed XML, any DOCTYPE.
#pragma once

#include <string_view>

#include "base/status.h"
#include "import/track.h"

namespace stravafs::import {

Result<Track> DecodeGpx(std::string_view bytes);

}  // namespace stravafs::import
