// export_writer.h - writes the generated athlete as a Strava bulk export
// folder ("Download your data"), so that tests, the demo and the benchmarks
// can import exactly the athlete the emulator serves over the API:
//
//   DIR/activities.csv          one row per activity, Strava's header (English,
//                               German, or the pre-2019 short one)
//   DIR/activities/<n>.fit.gz   the activity's streams as a FIT file (or
//   DIR/activities/<n>.gpx[.gz] GPX 1.1 as Strava writes it, or Garmin TCX v2);
//   DIR/activities/<n>.tcx.gz   <n> is the upload id, not the activity id
//   DIR/profile.csv, bikes.csv, shoes.csv
//
// Every file holds what the API serves for the same arguments: the rows come
// from the same generate() output, the files from make_streams(a, samples)
// and laps_json(). Hidden activities (--hidden-every) are left out, as the
// API never shows them; only_me activities are in (it is the owner's export).
// Files are written one at a time and streamed through zlib, so memory stays
// flat in the number of activities. The output depends only on the inputs
// (no clock; gzip headers carry mtime 0): same arguments, same bytes.
// README.md ("Bulk export") documents the layout, the format rotation and
// where the header names come from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "generator.h"

namespace emu {

struct ExportOptions {
  std::string dir;    // created (with activities/) if missing
  int samples = 200;  // --samples, as for the API's streams
  int64_t athlete_id = 3141592653LL;
  int athlete = 0;          // its number under the app (0 = the first), for the profile's names
  int64_t end = 0;          // --end, for the profile's dates
  bool german = false;      // --export-lang de
  bool old_header = false;  // --export-old-header: id,date,name,type,...
};

struct ExportStats {
  int64_t activities = 0;  // rows in activities.csv
  int64_t fit = 0, gpx = 0, tcx = 0, manual = 0;
  uint64_t bytes = 0;  // everything written, after compression
};

// Writes the export of `activities` (generate() order: ascending start).
// Returns false with `err` set when a file cannot be written.
bool write_export(const std::vector<Activity> &activities, const ExportOptions &opt, ExportStats &stats,
                  std::string &err);

}  // namespace emu
