// FakeClock: a Clock whose time only moves when a test (or a sleep) moves it.
//
// NowMs() returns a settable time. SleepFor() advances that time at once and
// records every sleep, so a test asserts "waited until the next 15-minute
// boundary" or "backed off 1 s, 2 s, 4 s" exactly, and a 14-minute wait costs
// nothing. Like the real clock, a sleep asked for while `cancel` is set
// returns false without waiting. `on_sleep` runs before each sleep, so a test
// can, say, raise the cancel flag during a rate-limit wait.
//
// Not thread-safe; one per test.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

#include "base/clock.h"

namespace stravafs::testing {

// 2024-05-13T10:03:20Z: a Monday, not on any 15-minute boundary.
inline constexpr int64_t kDefaultNowMs = INT64_C(1715594600000);

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = kDefaultNowMs) : now_ms_(now_ms) {}

  int64_t NowMs() override { return now_ms_; }

  bool SleepFor(int64_t ms, const std::atomic<bool>* cancel) override {
    if (on_sleep) on_sleep(ms);
    sleeps_.push_back(ms);
    if (cancel && cancel->load()) return false;
    now_ms_ += ms;
    return true;
  }

  void Set(int64_t now_ms) { now_ms_ = now_ms; }
  void Advance(int64_t ms) { now_ms_ += ms; }

  // Every SleepFor() asked for, in order (cancelled ones included).
  const std::vector<int64_t>& sleeps() const { return sleeps_; }
  int64_t total_slept() const { return std::accumulate(sleeps_.begin(), sleeps_.end(), int64_t{0}); }
  void ClearSleeps() { sleeps_.clear(); }

  std::function<void(int64_t ms)> on_sleep;

 private:
  int64_t now_ms_;
  std::vector<int64_t> sleeps_;
};

}  // namespace stravafs::testing
