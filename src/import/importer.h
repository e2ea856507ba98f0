// The importer: an athlete's own files into the cache, the second source
// beside Strava's API (`stravafs import`, and [import] folders on every sync).
//
// Accepts, for each path given:
// - a Strava bulk export, as its .zip (read entry by entry, never extracted)
//   or its extracted folder (a folder holding activities.csv);
// - any other folder, scanned recursively for .fit, .gpx, .tcx (each also
//   .gz) and export .zip files;
// - a single such file.
//
// What an activity becomes (stravafs(1) IMPORT documents it for users):
// - An export row keeps its Strava Activity ID, so a later API sync updates
//   the same row. Its summary numbers are the CSV's (Strava's own); its file
//   gives the streams, laps, start position, device and, for FIT, the local
//   time. A row whose file fails still gets its summary.
// - A file outside an export is matched to an activity held that starts
//   within 60 s with a compatible sport, and adds to it what it lacks
//   (streams, the original); otherwise it becomes a new activity whose id is
//   kFileIdBase + the low 52 bits of its content's fingerprint: stable,
//   beyond any Strava id, and exact in JavaScript and jq.
// - Import never overwrites what the API gave: on an activity synced from
//   Strava it only fills what is missing.
// - The same content under any name adds nothing; a file seen before with the
//   same size and mtime is not read again.
//
// Bad input: a damaged file is named with its reason and the rest imports.
// Activities commit in small batches, each with the record of the files that
// made them, so kill -9 loses at most the batch in flight and the next run
// completes it. Nothing is ever written outside the cache.
//
// Not thread-safe: one import per Cache, under the sync lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/tz.h"
#include "cache/db.h"
#include "config/config.h"
#include "model/activity.h"

namespace stravafs::import {

// The first id of activities made from files outside an export (2^52).
inline constexpr int64_t kFileIdBase = int64_t{1} << 52;
int64_t FileActivityId(uint64_t content_fingerprint);

struct ImportOptions {
  TimeZone zone = TimeZone::Utc();  // local time for files that carry none
  bool originals = true;            // keep each original file in the cache
  // Whose loose FIT, GPX and TCX files are (an export's are its profile's):
  // 0, the only athlete the cache holds; with several, each such file fails
  // and says to name one.
  int64_t athlete = 0;
  const std::atomic<bool>* cancel = nullptr;
  uint64_t max_file_bytes = uint64_t{256} << 20;  // decompressed bound per file (bombs)
  int batch = 64;                                 // activities per transaction
};

struct ImportProgress {
  int64_t files_done = 0, files_total = 0;
  int64_t activities = 0;  // added or updated so far
};

class ImportObserver {
 public:
  virtual ~ImportObserver() = default;
  virtual void OnProgress(const ImportProgress&) {}
  // A file that could not be imported, or a warning about a CSV row.
  virtual void OnProblem(const std::string& /*where*/, const std::string& /*reason*/) {}
};

struct ImportReport {
  int64_t files = 0;                                          // activity files read
  int64_t unchanged = 0;                                      // passed over: read before, same size and mtime
  int64_t added = 0;                                          // activities new to the cache
  int64_t updated = 0;                                        // activities whose data changed
  int64_t attached = 0;                                       // files that added to an activity already held
  int64_t duplicates = 0;                                     // files whose content was imported before
  int64_t failed = 0;                                         // files that could not be read
  int64_t rows = 0;                                           // activities.csv rows read
  int64_t warnings = 0;                                       // rows or cells of activities.csv that were not usable
  std::vector<std::pair<std::string, std::string>> failures;  // the first 100: where, why
  Status status;  // what stopped the run (cache failure, Ctrl-C, a missing path)
  int64_t started_ms = 0, finished_ms = 0;
};
Json ImportReportToJson(const ImportReport& report);

// Imports `paths` into `cache`. The caller holds the sync lock.
// The athlete `[import] athlete` names, for ImportOptions::athlete of the
// imports `stravafs sync` and the mount run: 0 when it is empty; an error
// names the file and the key.
Result<int64_t> ConfiguredOwner(Cache& cache, const Config& config);

ImportReport RunImport(Cache& cache, const std::vector<std::string>& paths, const ImportOptions& options,
                       ImportObserver* observer);

}  // namespace stravafs::import
