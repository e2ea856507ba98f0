// StravaClient: GET calls to the Strava API with pacing, retries and auth.
//
// Every request first asks the RateLimiter (wait for the next window, or stop
// when the daily budget is spent), carries the access token in the
// Authorization header only, and classifies the reply:
//   200 + JSON that passes the caller's check → the JSON;
//   5xx, network errors, timeouts, malformed or truncated JSON → retried with
//     exponential backoff (retry_base, doubled, at most max_attempts);
//   401 → one forced token refresh, then an auth error; a missing scope
//     (activity:read_permission, profile:read_permission) → kScope, at once;
//   403 Inactive → the app's subscription lapsed (kAuth); another 403 → kScope;
//   404 → kNotFound;
//   429 → wait for the next window, or kRateLimited when the day is spent.
// Nothing it returns has failed the caller's shape check, so garbage never
// reaches the cache. Not thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "model/activity.h"
#include "base/clock.h"
#include "config/config.h"
#include "strava/http.h"
#include "strava/oauth.h"
#include "strava/rate_limiter.h"

namespace stravafs {

// Told about waits and retries, for progress display. May be left default.
class ClientObserver {
 public:
  virtual ~ClientObserver() = default;
  virtual void OnWait(int64_t /*ms*/, const std::string& /*reason*/) {}
  virtual void OnRetry(int /*attempt*/, int /*max*/, int64_t /*delay_ms*/, const std::string& /*reason*/) {}
};

struct ClientOptions {
  int max_attempts = 5;
  bool wait_for_window = true;  // false: a spent 15-minute window is kRateLimited, not a wait
  const std::atomic<bool>* cancel = nullptr;
};

class StravaClient {
 public:
  using Check = std::function<Status(const Json&)>;

  StravaClient(Transport& transport, const Config& config, Clock& clock, TokenSource& tokens, RateLimiter& limiter,
               ClientOptions options, ClientObserver* observer = nullptr)
      : transport_(transport),
        config_(config),
        clock_(clock),
        tokens_(tokens),
        limiter_(limiter),
        options_(options),
        observer_(observer) {}

  // GET {base_url}/api/v3{path_and_query}; `check` validates the parsed body.
  Result<Json> Get(const std::string& path_and_query, const Check& check);
  // The same for callers that parse the body themselves: `accept` parses and
  // keeps what it needs, or returns why the body is unusable (then retried).
  Status GetWith(const std::string& path_and_query, const std::function<Status(const std::string&)>& accept);

  int64_t requests() const { return requests_; }
  // When a kRateLimited result says the sync can resume (epoch ms).
  int64_t resume_at_ms() const { return resume_at_ms_; }
  RateLimiter& limiter() { return limiter_; }

 private:
  Transport& transport_;
  const Config& config_;
  Clock& clock_;
  TokenSource& tokens_;
  RateLimiter& limiter_;
  ClientOptions options_;
  ClientObserver* observer_;
  int64_t requests_ = 0;
  int64_t resume_at_ms_ = 0;
};

}  // namespace stravafs
