// SyncEngine: brings the cache up to date with Strava (stravafs(1), "SYNC").
//
// Listings (the first full history, --since/--until backfills, --full
// reconciles) are jobs checkpointed in sync_state: every page is stored in the
// same transaction as the job's next page number, so an interruption of any
// kind resumes where it stopped and never stores half a page. A resumed job
// steps back one page, since deletions on Strava meanwhile shift the pages.
// The incremental sync re-lists the last `lookback` before the newest
// activity; when nothing changed that costs exactly one request. The deep
// phase then fetches details and streams, newest first, one transaction per
// activity. All network I/O goes through strava/api over the StravaClient.
//
// Not thread-safe. Callers hold the cache's SyncLock while running it.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "cache/db.h"
#include "cache/sync_state.h"  // the keys it writes
#include "strava/api.h"
#include "strava/client.h"

namespace stravafs {

struct SyncOptions {
  enum class Mode { kAuto, kBackfill, kFull } mode = Mode::kAuto;
  std::optional<int64_t> since, until;  // backfill range, epoch seconds (until exclusive)
  bool deep = true;                     // details/streams per the config
  bool list = true;                     // false: no listing, only the deep work (a turn of SyncSession::RunEvery)
  int64_t deep_limit = 0;               // at most this many activities' details/streams; 0: all pending
  int64_t athlete = 0;                  // whose sync and grant; 0: the cache's first athlete, or the only grant
  const std::atomic<bool>* cancel = nullptr;
};

struct SyncReport {
  Status status;     // ok, or why the sync stopped early (the state is saved either way)
  std::string mode;  // "history", "incremental", "backfill", "full"
  int64_t list_requests = 0, pages = 0, listed = 0;
  int64_t added = 0, changed = 0, unchanged = 0, deleted = 0;
  int64_t details = 0, streams = 0, no_streams = 0, gear = 0;
  int64_t requests = 0;      // every API request, retries included
  int64_t deep_pending = 0;  // details + streams still to fetch
  int64_t resume_at_ms = 0;  // when status is kRateLimited
  int64_t started_ms = 0, finished_ms = 0;
};

// Told how the sync goes, for the progress line. Extends ClientObserver so
// one object also hears about waits and retries.
class SyncProgress : public ClientObserver {
 public:
  virtual void OnUpdate(const std::string& /*phase*/, const SyncReport& /*so_far*/) {}
  virtual void OnNote(const std::string& /*text*/) {}
};

class SyncEngine {
 public:
  SyncEngine(Cache& cache, StravaClient& client, const Config& config, Clock& clock, SyncProgress& progress)
      : cache_(cache), client_(client), config_(config), clock_(clock), progress_(progress) {}

  // Runs one sync. The report's status says why it stopped early, if it did;
  // it also lands in sync_state (last_attempt, last_success, last_error).
  SyncReport Run(const SyncOptions& options);

  // The listings that are jobs, resumable from sync_state (where they are
  // named "history", "backfill" and "full", as in the report's mode).
  enum class JobKind { kHistory, kBackfill, kFull };

 private:
  struct Job {
    JobKind kind = JobKind::kHistory;
    std::optional<int64_t> after;
    int64_t before = 0;
    int64_t page = 1;
    int64_t run = 0;
    int64_t listed = 0;
  };
  Status RunJob(Job job, bool resumed);
  // The listing options_.mode asks for, after `resumed` (a job just run to
  // its end, if any): a --full, a backfill, the history or the incremental.
  Status RunListing(const std::optional<Job>& resumed);
  Status RunIncremental();
  Status RunDeep();
  // Sets athlete_, whose sync this is: options_.athlete, else the first
  // athlete the cache holds. GET /athlete stores them when the cache does not
  // hold them yet, when `refresh`ed, or with `daily` when kStateAthleteChecked
  // is missing or a day old, and names them when nothing did (a new cache); a
  // grant found to be another athlete's is an error. A daily refresh that
  // Strava fails (a server error, the network, a malformed reply) is a note:
  // the athlete held stays, and is asked for again in a day.
  Status ResolveAthlete(bool refresh, bool daily);
  // GET /athlete/zones into athlete_zones when kStateZonesChecked is missing
  // or a day old, or when `force`d. A token without profile:read_all is not
  // an error: the views keep the zones derived from the maximum heart rate,
  // and one note says how to get Strava's.
  Status FetchZonesIfDue(bool force);
  Status SaveJob(const Job& job);
  Result<std::optional<Job>> LoadJob();
  Result<int64_t> NextRunId();
  Result<std::vector<ActivityRow>> ListPage(std::optional<int64_t> after, std::optional<int64_t> before, int64_t page);
  Result<std::vector<ActivityRow>> FetchPage(const api::ListQuery& query);  // thread-safe w.r.t. the cache
  bool Cancelled() const { return options_.cancel && options_.cancel->load(); }

  Cache& cache_;
  StravaClient& client_;
  const Config& config_;
  Clock& clock_;
  SyncProgress& progress_;
  SyncOptions options_;
  SyncReport report_;
  int64_t athlete_ = 0;  // whose sync: their activities, state, gear and zones
};

// The report as JSON (for --json, sync_state and the extension).
Json ReportToJson(const SyncReport& report);

}  // namespace stravafs
