// RateLimiter: keeps a sync inside its share of Strava's rate limits.
//
// Strava sends the limits and the usage with every reply ("15-min,daily" in
// X-RateLimit-* and X-ReadRateLimit-*). The limiter remembers the latest
// figures, counts the requests sent since, and before each request says go,
// wait until the next window (the short window is spent), or stop (the daily
// one is). A budget < 1 leaves the rest of each window to other apps. Windows
// are aligned on the epoch clock (Strava's :00/:15/:30/:45 and midnight UTC).
//
// Not thread-safe; one per sync.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "strava/http.h"

namespace stravafs {

struct RateUsage {
  int64_t short_limit = 0, daily_limit = 0;  // 0 = unknown
  int64_t short_usage = 0, daily_usage = 0;
};

// Parses "200,2000"-style pairs; nullopt for missing or malformed (",").
std::optional<std::pair<int64_t, int64_t>> ParseRatePair(const std::string& value);

class RateLimiter {
 public:
  RateLimiter(double budget, int64_t window_ms, int64_t day_ms)
      : budget_(budget), window_ms_(window_ms), day_ms_(day_ms) {}

  struct Decision {
    enum Kind { kGo, kWait, kStop } kind = kGo;
    int64_t until_ms = 0;  // kWait: when to ask again; kStop: when the daily window resets
    std::string reason;    // for people: which limit, usage, budget
  };

  // What to do before sending a request at `now_ms`.
  Decision Before(int64_t now_ms);
  // Counts a request sent at `now_ms`.
  void Sent(int64_t now_ms);
  // Takes the figures of a reply received at `now_ms` (any status).
  void Observe(const HttpResponse& response, int64_t now_ms);
  // After a 429 at `now_ms`: wait for the next window, or stop if the day is spent.
  Decision OnRejected(int64_t now_ms);

  // The tighter of the overall and read limits, as last seen.
  RateUsage Usage() const;
  // kWait decisions end this long after the boundary: clocks differ, and a
  // request that lands a hair early counts in the spent window and earns a 429.
  int64_t Margin() const { return std::min<int64_t>(1000, window_ms_ / 100); }
  int64_t NextWindowMs(int64_t now_ms) const { return (now_ms / window_ms_ + 1) * window_ms_; }
  int64_t NextDayMs(int64_t now_ms) const { return (now_ms / day_ms_ + 1) * day_ms_; }

 private:
  struct Pair {
    int64_t short_limit = 0, daily_limit = 0, short_usage = 0, daily_usage = 0;
  };
  void Roll(int64_t now_ms);

  int64_t Allowed(int64_t limit) const;

  double budget_;
  int64_t window_ms_, day_ms_;
  Pair overall_, read_;
  int64_t window_index_ = -1, day_index_ = -1;  // the windows the usage figures belong to
};

}  // namespace stravafs
