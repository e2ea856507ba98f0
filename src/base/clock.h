// Clock: wall time and waiting, behind an interface so tests control time.
//
// The rate limiter and the retry backoff ask the clock; a fake clock makes a
// "wait 14 minutes" test take no time. SleepFor returns early (false) when
// `cancel` becomes true, so Ctrl-C never waits out a rate-limit window.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace stravafs {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() = 0;
  // Sleeps `ms`; false if cancelled first.
  virtual bool SleepFor(int64_t ms, const std::atomic<bool>* cancel) = 0;
};

// The real clock. Stateless and thread-safe.
Clock& SystemClock();

}  // namespace stravafs
