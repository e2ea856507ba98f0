#include "base/clock.h"

#include <algorithm>
#include <thread>

namespace stravafs {

namespace {

class RealClock final : public Clock {
 public:
  int64_t NowMs() override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
  bool SleepFor(int64_t ms, const std::atomic<bool>* cancel) override {
    // Short slices so a signal is noticed within 100 ms.
    while (ms > 0) {
      if (cancel && cancel->load()) return false;
      int64_t slice = std::min<int64_t>(ms, 100);
      std::this_thread::sleep_for(std::chrono::milliseconds(slice));
      ms -= slice;
    }
    return !(cancel && cancel->load());
  }
};

}  // namespace

Clock& SystemClock() {
  static RealClock clock;
  return clock;
}

}  // namespace stravafs
