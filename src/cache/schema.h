// The cache's schema (stravafs-sqlite(7)): its version, how a stravafs
// cache is told from another program's SQLite file, and the migrations that
// bring an older cache forward. Cache::Open identifies every cache and
// migrates one opened for writing; a cache from a newer stravafs is refused
// rather than damaged.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "cache/db.h"

namespace stravafs {

// Version 2 added the mount's file sizes (activity_sync's *_size columns) and
// the fs_changes log; version 3 the analytics views and the per-activity
// figures they read (analytics.h); version 4 the summary tables that make
// personal_records and training_90d fast, kept by triggers; version 5
// activity_sync.rev, the version of an activity's files for the mount;
// version 6 what `stravafs import` keeps: activity_sync.source, import_files
// and originals (cache/import_store.h); version 7 no new table or column:
// the .gpx of an activity whose name or sport holds a carriage return is
// measured again (XmlEscape writes it as &#13; now) and logged for the mount;
// version 8 none either: every .json is measured again, as stravafs writes
// its numbers itself now (format/json_file.h), and those that changed size
// are logged for the mount; version 9 several athletes in one cache:
// sync_state and athlete_zones keyed by athlete_id, gear.athlete_id;
// version 10 the index activities_athlete_local, for the mount's folder of
// each athlete, and the athletes table logs its changes in fs_changes;
// version 11 the analytics per athlete (AnalyticsSchemaV11Sql).
inline constexpr int kSchemaVersion = 11;
// PRAGMA application_id of every cache ("STRV"): sqlite3 and file(1) tell a
// stravafs cache from other SQLite files by it.
inline constexpr int32_t kApplicationId = 0x53545256;

// The schema version of a cache and whether the file carries kApplicationId.
struct CacheIdentity {
  int64_t version;
  bool stamped;
};

// The identity of the file `cache` is open on, or an error when the file is
// another program's (or cannot be read: Cache::CannotRead).
Result<CacheIdentity> Identify(Cache& cache);

// Brings a cache opened for writing to kSchemaVersion, in one transaction,
// stamping kApplicationId on a cache from before it. Refuses a cache of a
// newer version before touching it.
Status Migrate(Cache& cache);

}  // namespace stravafs
