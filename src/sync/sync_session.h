// SyncSession: everything one sync needs besides the cache, built once.
//
// The CLI (`stravafs sync`), the mount's background sync and the extension's
// refresh all run the same SyncEngine over the same collaborators: a
// transport, the token source, one rate limiter and a StravaClient. This is
// where that wiring is written; callers say only how patient the client may
// be (ClientOptions) and who watches (SyncProgress).
//
// Not thread-safe, like the engine it runs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "cache/db.h"
#include "config/config.h"
#include "strava/client.h"
#include "strava/http.h"
#include "strava/oauth.h"
#include "strava/rate_limiter.h"
#include "sync/sync_engine.h"

namespace stravafs {

class SyncSession {
 public:
  // Over libcurl and the system clock. `client.cancel` is ignored: Run
  // takes it from SyncOptions::cancel.
  SyncSession(const Config& config, ClientOptions client);
  // Over a transport and a clock of the caller's (tests: a fake Strava).
  SyncSession(const Config& config, ClientOptions client, Clock& clock, Transport& transport);
  SyncSession(const SyncSession&) = delete;
  SyncSession& operator=(const SyncSession&) = delete;

  // The limiter every request of this session goes through (a progress line
  // shows its usage).
  const RateLimiter& limiter() const { return limiter_; }

  // Runs one sync of `cache` (whose SyncLock the caller holds).
  SyncReport Run(Cache& cache, const SyncOptions& options, SyncProgress& progress);

  // Syncs each of `athletes` (ids of their grants), sharing this session's
  // rate limiter: first every athlete's listing (the cheap incremental sync,
  // or the history listing of a new athlete), then their details and streams
  // in turns of kDeepTurn activities each, round-robin, so no athlete's long
  // backlog starves the others. An athlete's own failure (their grant
  // refused, a scope missing, Strava failing on their data) stops only them;
  // what stops every athlete (the rate limit, an interrupt, the network, the
  // cache) ends the run. One report per athlete, in the order given; an
  // athlete the run did not reach has an empty status and mode.
  std::vector<SyncReport> RunEvery(Cache& cache, const std::vector<int64_t>& athletes, const SyncOptions& options,
                                   SyncProgress& progress);
  static constexpr int64_t kDeepTurn = 5;

  // What the mount's and the extension's refreshes run: with two or more
  // grants here whose athletes are known, RunEvery over them, else Run. One
  // report, the athletes' summed; its status the first failure.
  SyncReport RunEveryone(Cache& cache, const SyncOptions& options, SyncProgress& progress);

 private:
  const Config& config_;
  ClientOptions client_options_;
  Clock& clock_;
  std::unique_ptr<Transport> owned_;  // the libcurl transport, when it is ours
  Transport& transport_;
  TokenSource tokens_;
  RateLimiter limiter_;
};

// What a sync changed, as every face says it: "3 new, 1 changed, 0 deleted".
std::string DescribeChanges(const SyncReport& report);
// "1 request", "2 requests".
std::string Plural(int64_t n, const char* what);

}  // namespace stravafs
