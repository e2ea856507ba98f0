// The pieces the three virtual tables of strava.so share (see strava.cc for
// the SQL they offer and stravafs-sqlite(7) for the full story).
//
// A Source is one cache as seen from one host connection: the config it was
// found through, a read-only Cache every scan reads from, and what the
// extension's own refresh last did. Tables declared with the same config share
// one Source, so strava_sync_status can tell what strava_activities' refresh
// did. A Source lives as long as the last table using it, and is used only
// from its host connection's callbacks, which SQLite serializes: it needs no
// lock of its own.
//
// This file is the one place in vtab/ that knows SQLite result
// codes; every module method runs its body through Guard(), so no C++
// exception ever crosses into SQLite.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "cache/db.h"  // <sqlite3ext.h> + SQLITE_EXTENSION_INIT3: the host's API
#include "config/config.h"

namespace stravafs::vtab {

class Source {
 public:
  // Opens the config's cache read-only. Errors name the file and what to do.
  static Result<std::shared_ptr<Source>> Open(Config config);
  ~Source();
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  const Config& config() const { return config_; }
  Cache& cache() { return *cache_; }

  // The automatic refresh before a scan: runs one bounded incremental sync if
  // the last successful one is older than [sync] max_age, at most once per
  // statement (see StartScan). Never fails the scan: what happened is kept
  // for strava_sync_status.
  void RefreshIfStale();
  // The refresh command: runs one now, and says why when it fails.
  Status ForceRefresh();
  // What the extension's own last refresh did: "refreshed: …", "skipped:
  // fresh", "skipped: locked", "failed: …"; "" before the first scan.
  const std::string& last_refresh() const { return last_refresh_; }
  // When (ISO 8601 UTC), formatted only when asked: every scan records.
  std::string last_refresh_at() const;

  // Cursors of the scanning tables (strava_activities, the views) open on
  // this Source. A statement opens all its cursors before it reads, so "the
  // first cursor opened while none was" marks a new statement: the first
  // xFilter after it may refresh, the rest of that statement may not.
  void CursorOpened() {
    if (open_cursors_++ == 0) refresh_checked_ = false;
  }
  // The last cursor of a statement also ends its read transaction.
  void CursorClosed() {
    if (--open_cursors_ == 0) EndRead();
  }
  // Every xFilter of a scanning table calls this before it reads: the
  // statement's refresh turn (the first xFilter), then one read transaction
  // that the rest of the statement shares, so all its cursors read one
  // snapshot, and no lookup pays for a transaction of its own (which costs
  // more than the lookup itself). The freshness check reads sync_state in
  // that same transaction; only when a refresh is due is it ended, so the
  // scan sees what the refresh stored.
  Status StartScan() {
    if (!refresh_checked_) {
      refresh_checked_ = true;
      RefreshIfStale();
    }
    return BeginRead();
  }

  // One value of sync_state, on a statement kept prepared and reset at
  // once, so the read-only connection never keeps a snapshot open between
  // scans: `athlete`'s; with 0, the first athlete's, else the app's
  // (rate_usage; before any athlete, everything).
  Result<std::optional<std::string>> State(const std::string& key, int64_t athlete = 0);
  // The athletes the cache holds, by id (kept prepared, as State).
  Result<std::vector<int64_t>> Athletes();

  // Statements prepared on the cache connection since it opened, by any
  // table of this Source: tests count them (issue 16: a statement that
  // prepares nothing new per execution).
  int64_t prepared() const { return prepared_; }
  // sqlite3_prepare_v3(..., SQLITE_PREPARE_PERSISTENT) on the cache
  // connection, counted. Errors as Cache::Check makes them.
  Status Prepare(const std::string& sql, sqlite3_stmt** out, const char* what);

 private:
  Source(Config config, std::unique_ptr<Cache> cache) : config_(std::move(config)), cache_(std::move(cache)) {}
  // Runs the sync; the Status says why it did not succeed.
  Status RunRefresh(std::string* outcome);
  void Record(std::string outcome);
  void RecordFresh(int64_t now_ms);  // "skipped: fresh", without a string built per scan
  Status BeginRead();
  void EndRead();
  // Steps one of the statements below (prepared on first use).
  int Run(sqlite3_stmt** stmt, const char* sql);

  Config config_;
  std::unique_ptr<Cache> cache_;
  std::string last_refresh_;
  int64_t last_refresh_at_ms_ = 0;
  int64_t last_failure_ms_ = 0;  // of an automatic refresh, for the back-off
  std::string last_failure_;
  int open_cursors_ = 0;
  bool refresh_checked_ = false;
  bool reading_ = false;  // BEGIN issued on the read-only connection
  int64_t prepared_ = 0;
  // Kept prepared for the connection's life (finalized before it closes):
  // every scan runs them.
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* state_ = nullptr;
  sqlite3_stmt* athletes_ = nullptr;
  // last_success + max_age as last read: the cache is fresh until then.
  int64_t fresh_until_ms_ = 0;
};

// One per host connection (the modules' client data): finds the Source for a
// config so tables declared alike share it. Owned jointly by the three
// module registrations; the last one to go deletes it.
struct Context {
  int registrations = 0;
  std::map<std::string, std::weak_ptr<Source>> sources;  // by config path

  // The Source for the CREATE VIRTUAL TABLE arguments (argv[3..]): none for
  // discovery, or config='/path'. Errors go to *err (sqlite3_mprintf'd).
  std::shared_ptr<Source> Connect(const char* module, int argc, const char* const* argv, char** err);
};

// Module method bodies run through Guard: an exception becomes an error
// message on the vtab (or SQLITE_NOMEM), never a crash through SQLite's C.
template <typename F>
int Guard(sqlite3_vtab* vtab, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  } catch (const std::exception& e) {
    if (vtab) {
      sqlite3_free(vtab->zErrMsg);
      vtab->zErrMsg = sqlite3_mprintf("internal error in strava.so: %s", e.what());
    }
    return SQLITE_ERROR;
  } catch (...) {
    return SQLITE_ERROR;
  }
}

// Sets the vtab's error message and returns SQLITE_ERROR.
int SetError(sqlite3_vtab* vtab, const std::string& message);
int SetError(sqlite3_vtab* vtab, const Status& status);

// The module tables, for sqlite3_strava_init.
extern const sqlite3_module kActivitiesModule;
extern const sqlite3_module kStreamsModule;
extern const sqlite3_module kSyncStatusModule;

// strava_<view> for each analytics view (strava_views.cc, kAnalyticsViews):
// one module, registered once per view with this as its client data.
struct ViewModule {
  Context* context;
  const char* view;
};
extern const sqlite3_module kViewModule;

// Gives a cursor's prepared statement back to the idle ones it was taken
// from, reset, so that it holds no snapshot; finalized instead when there is
// no memory to keep it (prepared again when needed).
inline void GiveBack(std::vector<sqlite3_stmt*>& idle, sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  try {
    idle.push_back(stmt);
  } catch (...) {
    sqlite3_finalize(stmt);
  }
}

}  // namespace stravafs::vtab
