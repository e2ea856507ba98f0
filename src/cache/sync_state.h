// sync_state: the small key/value facts the sync keeps in the cache
// (cursors, the last attempt, success and error, the last report, rate usage).
//
// The sync writes them; `stravafs status`, the mount ("since last sync") and
// the extension read them, so the keys live here, below all of those, and not
// in the sync engine. ReadSyncState gives readers the facts typed, in one
// call, instead of key by key.
//
// Free functions over a Cache: not thread-safe, as the Cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/json.h"
#include "base/status.h"
#include "cache/db.h"

namespace stravafs {

// Every key belongs to one athlete (sync_state.athlete_id): each athlete's
// sync resumes, succeeds and fails on its own. The app's own facts (the rate
// usage, which all its athletes share) are kept under kAppWide.
inline constexpr int64_t kAppWide = 0;

// Keys of sync_state the sync engine writes (read by `stravafs status`, the
// mount and the extension).
inline constexpr const char* kStateJob = "job";
inline constexpr const char* kStateHistoryComplete = "history_complete";
inline constexpr const char* kStateLastAttempt = "last_attempt";
inline constexpr const char* kStateLastSuccess = "last_success";
inline constexpr const char* kStateLastError = "last_error";
inline constexpr const char* kStateLastReport = "last_report";
inline constexpr const char* kStateRateUsage = "rate_usage";  // kAppWide's
// The number of the last listing run (activity_sync.listed_run), for --full's
// "not listed by this run" deletions.
inline constexpr const char* kStateRunCounter = "run_counter";
// When GET /athlete/zones was last answered (stored, or refused for a
// missing scope); `stravafs auth` deletes it so a new grant is used at once.
inline constexpr const char* kStateZonesChecked = "zones_checked";
// How long athlete_zones is trusted: zones change rarely (a new maximum heart
// rate, an edit on strava.com), so one request a day keeps them current
// without costing the one-request no-change sync anything most of the day.
inline constexpr int64_t kZonesMaxAgeS = 86400;
// When GET /athlete last stored the athlete's profile. Asked again as the
// zones are, once a day, so that a name, weight or FTP changed at Strava
// reaches athlete.json, the mount's folder names and power_zones.
inline constexpr const char* kStateAthleteChecked = "athlete_checked";

// The value of `athlete`'s `key`; nullopt when it is not set.
Result<std::optional<std::string>> GetState(Cache& cache, int64_t athlete, const std::string& key);
Status SetState(Cache& cache, int64_t athlete, const std::string& key, const std::string& value);
Status DeleteState(Cache& cache, int64_t athlete, const std::string& key);

// What the readers of sync_state show. Text is "" and JSON not an object
// (discarded) when the key is not set.
struct SyncState {
  std::string last_attempt;       // UTC, ISO 8601
  std::string last_success;       // UTC, ISO 8601
  bool history_complete = false;  // the first full listing has finished
  Json last_error;                // {"at", "message"}
  Json last_report;               // ReportToJson of the last sync, and when it may resume
  Json rate_usage;                // {"short_limit", "short_usage", "daily_limit", "daily_usage", ...}
  Json job;                       // an interrupted listing: {"kind", "page", ...}
};

// Reads every key above of `athlete` (and the app's rate usage) in one go. A sync_state that cannot be read (a
// damaged cache, a table missing) is an error, not a state never set.
Result<SyncState> ReadSyncState(Cache& cache, int64_t athlete);

}  // namespace stravafs
