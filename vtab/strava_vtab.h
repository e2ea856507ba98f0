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

#include "cache/db.h"  // <sqlite3ext.h> + SQLITE_EXTENSION_INIT3: the host's API
#include "config/config.h"

namespace stravafs::vtab {

class Source {
 public:
  // Opens the config's cache read-only. Errors name the file and what to do.
  static Result<std::shared_ptr<Source>> Open(Config config);

  const Config& config() const { return config_; }
  Cache& cache() { return *cache_; }

  // The automatic refresh before a scan: runs one bounded incremental sync if
  // the last successful one is older than [sync] max_age, at most once per
  // statement (see BeginScan). Never fails the scan: what happened is kept
  // for strava_sync_status.
  void RefreshIfStale();
  // The refresh command: runs one now, and says why when it fails.
  Status ForceRefresh();
  // What the extension's own last refresh did: "refreshed: …", "skipped:
  // fresh", "skipped: locked", "failed: …"; "" before the first scan.
  const std::string& last_refresh() const { return last_refresh_; }
  const std::string& last_refresh_at() const { return last_refresh_at_; }

  // Cursors of strava_activities open on this Source. A statement opens all
  // its cursors before it reads, so "the first cursor opened while none was"
  // marks a new statement: the first xFilter after it may refresh, the rest
  // of that statement may not.
  void CursorOpened() {
    if (open_cursors_++ == 0) refresh_checked_ = false;
  }
  // The last cursor of a statement also ends its read transaction.
  void CursorClosed() {
    if (--open_cursors_ == 0 && reading_) {
      sqlite3_exec(cache_->db(), "COMMIT", nullptr, nullptr, nullptr);
      reading_ = false;
    }
  }
  // Called after the refresh turn: the rest of the statement reads one
  // snapshot in one read transaction, instead of beginning one per lookup
  // (which would cost more than the lookup itself).
  Status BeginRead() {
    if (reading_) return Status::Ok();
    if (Status s = cache_->Exec("BEGIN"); !s.ok()) return s;
    reading_ = true;
    return Status::Ok();
  }
  bool TakeRefreshTurn() {
    if (refresh_checked_) return false;
    refresh_checked_ = true;
    return true;
  }

  // One value of sync_state, read on its own statement so the read-only
  // connection never keeps a snapshot open between scans.
  Result<std::optional<std::string>> State(const std::string& key);

 private:
  Source(Config config, std::unique_ptr<Cache> cache) : config_(std::move(config)), cache_(std::move(cache)) {}
  // Runs the sync; the Status says why it did not succeed.
  Status RunRefresh(std::string* outcome);
  void Record(std::string outcome);

  Config config_;
  std::unique_ptr<Cache> cache_;
  std::string last_refresh_, last_refresh_at_;
  int64_t last_failure_ms_ = 0;  // of an automatic refresh, for the back-off
  std::string last_failure_;
  int open_cursors_ = 0;
  bool refresh_checked_ = false;
  bool reading_ = false;  // BEGIN issued on the read-only connection
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

}  // namespace stravafs::vtab
