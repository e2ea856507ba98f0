// Cache: the SQLite database every face reads (schema in stravafs-sqlite(7)).
//
// Owns one sqlite3 connection. WAL mode, so readers (mount, extension, BI
// tools) never block the sync and always see whole transactions. The schema
// is versioned with PRAGMA user_version and migrated forward on open; a cache
// from a newer stravafs is refused rather than damaged.
//
// This is the one place that knows SQLite result codes: every failure comes
// back as a Status naming the cache path and what failed.
//
// Not thread-safe: one Cache per thread.
#pragma once

// Built into the loadable extension (vtab/), every SQLite call must go
// through the host's API table, never a second copy of SQLite.
#ifdef STRAVAFS_SQLITE_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/activity.h"
#include "format/render.h"
#include "base/status.h"

namespace stravafs {

// Version 2 added the mount's file sizes (activity_sync's *_size columns) and
// the fs_changes log; version 3 the analytics views and the per-activity
// figures they read (analytics.h); version 4 the summary tables that make
// personal_records and training_90d fast, kept by triggers; version 5
// activity_sync.rev, the version of an activity's files for the mount;
// version 6 what `stravafs import` keeps: activity_sync.source, import_files
// and originals (cache/import_store.h).
inline constexpr int kSchemaVersion = 7;
// PRAGMA application_id of every cache ("STRV"): sqlite3 and file(1) tell a
// stravafs cache from other SQLite files by it.
inline constexpr int32_t kApplicationId = 0x53545256;

// A prepared statement; resets itself for reuse.
//
// A statement that could not be prepared (a table dropped from the cache, a
// damaged schema) is a Stmt too, holding no sqlite3_stmt: binding does
// nothing, Step() gives no row and leaves the preparation's error in rc(),
// columns read as NULL. So a caller that checks rc() reports the error, and
// none dereferences a null pointer (issue 15: a cache without `activities`
// or `sync_state` crashed status, sync and the mount daemon).
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  // For the statement standing in for one that failed to prepare with `rc`.
  void MarkFailed(int rc) { failed_rc_ = rc_ = rc; }
  Stmt& Bind(int i, int64_t v) { if (s_) sqlite3_bind_int64(s_, i, v); return *this; }
  Stmt& Bind(int i, double v) { if (s_) sqlite3_bind_double(s_, i, v); return *this; }
  Stmt& Bind(int i, const std::string& v) {
    if (s_) sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindNull(int i) { if (s_) sqlite3_bind_null(s_, i); return *this; }
  Stmt& BindBlob(int i, std::string_view v) {
    if (s_) sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT);
    return *this;
  }
  // Steps once: true while a row is available; errors are left in `rc`.
  bool Step() {
    rc_ = s_ ? sqlite3_step(s_) : failed_rc_;
    return rc_ == SQLITE_ROW;
  }
  int rc() const { return rc_; }
  bool prepared() const { return s_ != nullptr; }
  int64_t Int(int col) const { return s_ ? sqlite3_column_int64(s_, col) : 0; }
  double Real(int col) const { return s_ ? sqlite3_column_double(s_, col) : 0; }
  bool IsNull(int col) const { return Type(col) == SQLITE_NULL; }
  int Type(int col) const { return s_ ? sqlite3_column_type(s_, col) : SQLITE_NULL; }  // SQLITE_INTEGER, ...
  int Columns() const { return s_ ? sqlite3_column_count(s_) : 0; }
  std::string Name(int col) const {
    const char* p = s_ ? sqlite3_column_name(s_, col) : nullptr;
    return p ? p : "";
  }
  std::string Text(int col) const {
    const auto* p = s_ ? sqlite3_column_text(s_, col) : nullptr;
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, col)) : "";
  }
  void Reset() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }

 private:
  sqlite3_stmt* s_;
  int rc_ = SQLITE_OK;
  int failed_rc_ = SQLITE_OK;
};

// What UpsertSummary found.
enum class Upsert { kNew, kChanged, kUnchanged };

// Work the deep fetch still has to do for one activity.
struct DeepWork {
  int64_t id = 0;
  bool detail = false;
  bool streams = false;
};

struct CacheCounts {
  int64_t activities = 0, detailed = 0, with_streams = 0, stream_samples = 0, laps = 0, gear = 0;
  std::string oldest_start, newest_start;  // start_date_local, "" when empty
};

// Storing streams also stores, in the same transaction, the figures the
// analytics views read (analytics.h); deleting an activity deletes them.
//
// Every write of an activity (its row, detail or streams; a deletion) keeps
// the sizes of the files the mount shows for it exact in activity_sync
// (json_size, csv_row_size, streams_csv_size, gpx_size: format/sizes.h) and logs
// one fs_changes row: the activity and where its files were before the write
// (year, month, base name; NULL for a new activity), so the mount knows what
// to invalidate. A listing that finds a summary unchanged writes nothing.
class Cache {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Opens (creating in read-write mode, with a 0700 directory and a 0600 file)
  // and migrates. Read-only opening a missing cache is a kCache error that
  // says to run `stravafs sync` or `stravafs import` first; so is read-only opening a cache of an
  // older schema, which only a read-write open migrates.
  static Result<std::unique_ptr<Cache>> Open(const std::string& path, Mode mode);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* db() const { return db_; }

  // Runs SQL without results.
  Status Exec(const std::string& sql);
  // A cached prepared statement, reset and ready (callers Reset() it after
  // reading a row they stop at: an unfinished statement holds a read
  // transaction open). Never null: when the SQL cannot be prepared (a table
  // missing from a damaged or hand-edited cache) it is an unprepared Stmt
  // whose Step() fails with the preparation's error (see Stmt).
  Stmt* Prepare(const std::string& sql);
  // Resets every prepared statement: one stepped part way would otherwise
  // keep its read transaction (an old snapshot) open past COMMIT.
  void ResetStatements();
  Status Check(int rc, const char* what) const;
  // The error for a first read of the cache (PRAGMA user_version) that
  // failed in `stmt`. Damage only when SQLite says so; busy and I/O errors
  // as such.
  Status CannotRead(const Stmt& stmt) const;
  // The schema version and whether the file carries kApplicationId, or an
  // error when the file is another program's.
  struct Identity {
    int64_t version;
    bool stamped;
  };
  Result<Identity> Identify();

  Status Begin();   // BEGIN IMMEDIATE: the writer takes the lock up front
  Status Commit();
  void Rollback();

  // --- activities ---
  // Stores a summary from a listing. Unchanged summaries are only marked as
  // seen by `run`. A changed one keeps whatever detail is held (summary keys
  // overlay the stored JSON) and is queued for a fresh detail fetch.
  Result<Upsert> UpsertSummary(const Json& summary, int64_t run);
  // The same for a row made by ParseActivityPage (already validated).
  Result<Upsert> UpsertRow(const ActivityRow& row, int64_t run);
  // Stores a detailed activity (and its laps) and marks its detail fetched.
  Status StoreDetail(const Json& detail);
  // Stores streams keyed by type (key_by_type=true), replacing any held.
  Status StoreStreams(int64_t id, const Json& by_type);
  Status MarkNoStreams(int64_t id);
  Status DeleteActivity(int64_t id);
  // The stream samples held for an activity, ordered by seq; empty when none.
  Result<std::vector<StreamSample>> LoadSamples(int64_t id);
  Status StoreAthlete(const Json& athlete);
  Status StoreGear(const Json& gear);
  // Replaces athlete_zones with a GET /athlete/zones reply (checked by
  // CheckZones): heart_rate zones as kind 'heartrate', power zones as
  // 'power', numbered from 1; Strava's open top (max -1) as NULL. Writes
  // nothing when the table already holds exactly those zones.
  Status StoreAthleteZones(const Json& zones);

  Result<std::optional<int64_t>> NewestStartEpoch();
  // Ids from Strava's API (not imported: an import is never undone by a
  // listing) whose start_date lies in (after, before) (epoch seconds, exclusive).
  Result<std::vector<int64_t>> IdsStartingBetween(int64_t after, int64_t before);
  // Ids from Strava's API not seen by listing `run` that start before `before`.
  Result<std::vector<int64_t>> IdsNotListedBy(int64_t run, int64_t before);
  // Newest first, at most `limit`.
  Result<std::vector<DeepWork>> PendingDeepWork(bool details, bool streams, int limit);
  Result<int64_t> CountPendingDeepWork(bool details, bool streams);
  Result<std::vector<std::string>> MissingGearIds();
  Result<bool> HasAthlete();
  Result<CacheCounts> Counts();

  // --- fs_changes ---
  // Logs that the files of activity `id` changed in place (a file added
  // beside them), so the mount shows the new version.
  Status TouchActivity(int64_t id);
  // Deletes all but the newest `keep` rows. The newest row always stays (as
  // if keep were 1), so seq keeps growing and a reader that remembers the
  // last seq it saw never mistakes new rows for old ones.
  Status PruneFsChanges(int64_t keep);

 private:
  Cache(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  Status Migrate();
  // Schema v1 -> v2: the size columns, filled for every activity held, and fs_changes.
  Status MigrateToV2();
  // Schema v2 -> v3: the analytics tables and views, filled for every
  // activity whose streams are held.
  Status MigrateToV3();
  // Schema v4 -> v5: activity_sync.rev, the version of an activity's files.
  Status MigrateToV5();
  // Schema v5 -> v6: where each activity came from, and the import's bookkeeping.
  Status MigrateToV6();
  Status MigrateToV7();
  // Writes `row` (its json, columns and sizes) with the given bookkeeping.
  // `gps`: the activity holds samples with a position, so its .gpx, which
  // shows the name, sport and start, is measured again.
  Status WriteActivityRow(const ActivityRow& row, uint64_t summary_hash, int64_t run, bool detail_fetched,
                          bool keep_streams_state, bool gps);
  // Measures the .csv and .gpx of an activity from the samples held and its
  // stored JSON, into activity_sync.
  Status WriteStreamSizes(int64_t id);
  Status WriteStreamSizes(int64_t id, const std::vector<StreamSample>& samples);
  // Replaces the stream-derived figures of activity `id` (activity_efforts,
  // activity_hr_seconds, activity_power_seconds) with those of `samples`;
  // none when empty.
  Status WriteStreamAnalytics(int64_t id, const std::vector<StreamSample>& samples);

  // Where an activity's files are in the mount.
  struct Location {
    int year = 0, month = 0;
    std::string base;  // ActivityBaseName
  };
  // Where the files of activity `id` are now; nullopt when it is not held (or
  // its start_date_local is not a date, so it has no files).
  Result<std::optional<Location>> LocationOf(int64_t id);
  // Appends to fs_changes; `old` is where the files were before the write.
  Status LogFsChange(int64_t id, const std::optional<Location>& old);

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Stmt>> stmts_;  // before db_ closes
  Stmt failed_{nullptr};  // what Prepare returns for any statement that failed (none kept in stmts_)
};

// RAII transaction: rolls back unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Cache& cache) : cache_(cache) { status_ = cache_.Begin(); }
  ~Transaction() { if (status_.ok() && !done_) cache_.Rollback(); }
  const Status& status() const { return status_; }
  Status Commit() {
    done_ = true;
    return cache_.Commit();
  }

 private:
  Cache& cache_;
  Status status_;
  bool done_ = false;
};

}  // namespace stravafs
