// Tests for rate_limiter.cc: parsing Strava's "15-min,daily" pairs, reading
// the headers in any case, the budget, which of the overall and read limits
// binds, window and day roll-over, and what a 429 means.
#include "strava/rate_limiter.h"

#include <catch2/catch.hpp>
#include <string>

namespace stravafs {
namespace {

constexpr int64_t kWindow = 15 * 60 * 1000;
constexpr int64_t kDay = 24 * 3600 * 1000;
// 2024-05-13T10:03:20Z; its window ends at 10:15:00, its day at midnight.
constexpr int64_t kNow = INT64_C(1715594600000);
constexpr int64_t kNextWindow = INT64_C(1715595300000);  // 2024-05-13T10:15:00Z
constexpr int64_t kNextDay = INT64_C(1715644800000);     // 2024-05-14T00:00:00Z

HttpResponse Reply(const std::string& limit, const std::string& usage, const std::string& read_limit,
                   const std::string& read_usage) {
  HttpResponse r;
  r.status = 200;
  r.headers = {{"X-RateLimit-Limit", limit},
               {"X-RateLimit-Usage", usage},
               {"X-ReadRateLimit-Limit", read_limit},
               {"X-ReadRateLimit-Usage", read_usage}};
  return r;
}

TEST_CASE("ParseRatePair", "[rate_limiter]") {
  using P = std::pair<int64_t, int64_t>;
  CHECK(ParseRatePair("200,2000") == P{200, 2000});
  CHECK(ParseRatePair(" 8 , 151 ") == P{8, 151});
  CHECK(ParseRatePair("0,0") == P{0, 0});
  CHECK(ParseRatePair("30000,3000000") == P{30000, 3000000});
  for (const char* bad : {",", "", "a,b", "-1,5", "5,-1", "200", "1,", ",1", "1,2,3", "1.5,2", "0x10,2", "1 0,2"}) {
    INFO('"' << bad << '"');
    CHECK_FALSE(ParseRatePair(bad).has_value());
  }
}

TEST_CASE("NextWindowMs and NextDayMs are aligned on the clock", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  CHECK(limiter.NextWindowMs(kNow) == kNextWindow);
  CHECK(limiter.NextWindowMs(kNextWindow) == kNextWindow + kWindow);  // on a boundary: the next one
  CHECK(limiter.NextWindowMs(kNextWindow - 1) == kNextWindow);
  CHECK(limiter.NextDayMs(kNow) == kNextDay);
  RateLimiter emulator(0.8, 60000, 600000);  // the emulator's short windows
  CHECK(emulator.NextWindowMs(kNow) == kNow - kNow % 60000 + 60000);
  CHECK(emulator.NextDayMs(kNow) == kNow - kNow % 600000 + 600000);
}

TEST_CASE("Observe reads the headers in any case", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  CHECK(limiter.Usage().short_limit == 0);  // nothing known yet
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kGo);
  HttpResponse r;
  r.headers = {{"x-ratelimit-limit", "200,2000"},
               {"X-Ratelimit-Usage", "8,151"},
               {"X-READRATELIMIT-LIMIT", "100,1000"},
               {"x-readratelimit-usage", "7,150"}};
  limiter.Observe(r, kNow);
  RateUsage u = limiter.Usage();
  // The read limit leaves less room (93 < 192, 850 < 1849): it binds.
  CHECK(u.short_limit == 100);
  CHECK(u.short_usage == 7);
  CHECK(u.daily_limit == 1000);
  CHECK(u.daily_usage == 150);
}

TEST_CASE("Observe ignores \",\" and missing headers", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  limiter.Observe(Reply("100,1000", "5,50", "100,1000", "5,50"), kNow);
  limiter.Observe(Reply(",", ",", ",", ","), kNow);
  HttpResponse none;
  limiter.Observe(none, kNow);
  RateUsage u = limiter.Usage();
  CHECK(u.short_limit == 100);
  CHECK(u.short_usage == 5);
  CHECK(u.daily_usage == 50);
}

TEST_CASE("Sent counts requests between replies", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  limiter.Observe(Reply("200,2000", "10,100", "100,1000", "10,100"), kNow);
  for (int i = 0; i < 3; ++i) limiter.Sent(kNow);
  CHECK(limiter.Usage().short_usage == 13);
  CHECK(limiter.Usage().daily_usage == 103);
}

TEST_CASE("A budget of 80% of 100 waits at 80 until the next window", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  limiter.Observe(Reply("200,2000", "79,79", "100,1000", "79,79"), kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kGo);
  limiter.Sent(kNow);  // the 80th
  auto d = limiter.Before(kNow);
  CHECK(d.kind == RateLimiter::Decision::kWait);
  CHECK(d.until_ms == kNextWindow + 1000);  // 1 s past the boundary
  CHECK(d.reason == "15-minute read rate limit budget spent: 80 of 100 requests used, budget 80%");
  // Still spent one millisecond before the boundary; free again on it.
  CHECK(limiter.Before(kNextWindow - 1).kind == RateLimiter::Decision::kWait);
  CHECK(limiter.Before(kNextWindow).kind == RateLimiter::Decision::kGo);
}

TEST_CASE("The budget rounds down: 85% of 10 is 8", "[rate_limiter]") {
  RateLimiter limiter(0.85, kWindow, kDay);
  limiter.Observe(Reply("10,1000", "7,7", "10,1000", "7,7"), kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kGo);
  limiter.Sent(kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kWait);
}

TEST_CASE("A budget of 100% uses the whole window", "[rate_limiter]") {
  RateLimiter limiter(1.0, kWindow, kDay);
  limiter.Observe(Reply("100,1000", "99,99", "100,1000", "99,99"), kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kGo);
  limiter.Sent(kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kWait);
}

TEST_CASE("A tiny budget still allows one request per window", "[rate_limiter]") {
  RateLimiter limiter(0.01, kWindow, kDay);
  limiter.Observe(Reply("10,1000", "0,0", "10,1000", "0,0"), kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kGo);
  limiter.Sent(kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kWait);
}

// budget = 29% parses to 0.29, and 0.29 * 100 is 28.999999999999996 in
// doubles: floor() then allows 28 requests, not 29.
TEST_CASE("A budget of 29% of 100 allows 29 requests (no floating-point floor loss)", "[rate_limiter][bug]") {
  RateLimiter limiter(29 / 100.0, kWindow, kDay);
  limiter.Observe(Reply("100,1000", "28,28", "100,1000", "28,28"), kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kGo);
}

TEST_CASE("The tighter of the overall and read limits binds", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  SECTION("read binds") {
    // overall: 100 left; read: 15 left and 85 >= 80% of 100.
    limiter.Observe(Reply("200,2000", "100,100", "100,1000", "85,85"), kNow);
    auto d = limiter.Before(kNow);
    CHECK(d.kind == RateLimiter::Decision::kWait);
    CHECK(d.reason == "15-minute read rate limit budget spent: 85 of 100 requests used, budget 80%");
  }
  SECTION("overall binds (other apps uploading)") {
    // overall: 30 left and 170 >= 80% of 200; read: 40 left, 60 < 80.
    limiter.Observe(Reply("200,2000", "170,170", "100,1000", "60,60"), kNow);
    auto d = limiter.Before(kNow);
    CHECK(d.kind == RateLimiter::Decision::kWait);
    CHECK(d.reason == "15-minute rate limit budget spent: 170 of 200 requests used, budget 80%");
  }
  SECTION("neither is spent") {
    limiter.Observe(Reply("200,2000", "150,150", "100,1000", "60,60"), kNow);
    CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kGo);
  }
}

// Each limit has its own budget. Here the overall window is past its budget
// (165 >= 160) but the read limit has less raw room (30 < 35), so Usage()
// picks read (70 < 80) and Before() says go.
TEST_CASE("Each limit is held to its own budget, not only the one with less room", "[rate_limiter][bug]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  limiter.Observe(Reply("200,2000", "165,165", "100,1000", "70,70"), kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kWait);
}

TEST_CASE("A new window resets the short usage, not the daily one", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  limiter.Observe(Reply("100,1000", "80,500", "100,1000", "80,500"), kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kWait);
  CHECK(limiter.Before(kNextWindow).kind == RateLimiter::Decision::kGo);
  RateUsage u = limiter.Usage();
  CHECK(u.short_usage == 0);
  CHECK(u.daily_usage == 500);
  CHECK(u.short_limit == 100);  // limits are remembered
  limiter.Sent(kNextWindow);
  CHECK(limiter.Usage().short_usage == 1);
  CHECK(limiter.Usage().daily_usage == 501);
}

TEST_CASE("A spent daily budget stops until the next day", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  limiter.Observe(Reply("200,2000", "3,799", "100,1000", "3,799"), kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kGo);
  limiter.Sent(kNow);
  auto d = limiter.Before(kNow);
  CHECK(d.kind == RateLimiter::Decision::kStop);
  CHECK(d.until_ms == kNextDay);
  CHECK(d.reason == "daily read rate limit budget spent: 800 of 1000 requests used today, budget 80%");
  // The daily stop wins over a spent short window.
  limiter.Observe(Reply("200,2000", "100,900", "100,1000", "100,900"), kNow);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kStop);
  // A new day: go again.
  CHECK(limiter.Before(kNextDay).kind == RateLimiter::Decision::kGo);
  CHECK(limiter.Usage().daily_usage == 0);
}

TEST_CASE("OnRejected waits for the next window", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  // Other apps spent the window; our view was stale.
  limiter.Observe(Reply("200,2000", "201,500", "100,1000", "101,500"), kNow);
  auto d = limiter.OnRejected(kNow);
  CHECK(d.kind == RateLimiter::Decision::kWait);
  CHECK(d.until_ms == kNextWindow + 1000);  // 1 s past the boundary
  CHECK(d.reason == "Strava answered 429 Rate Limit Exceeded (other apps share this limit)");
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kWait);
  CHECK(limiter.Before(kNextWindow).kind == RateLimiter::Decision::kGo);
}

TEST_CASE("OnRejected with the short usage below our view still blocks the window", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  limiter.Observe(Reply("200,2000", "10,500", "100,1000", "10,500"), kNow);
  REQUIRE(limiter.Before(kNow).kind == RateLimiter::Decision::kGo);
  auto d = limiter.OnRejected(kNow);
  CHECK(d.kind == RateLimiter::Decision::kWait);
  CHECK(limiter.Before(kNow).kind == RateLimiter::Decision::kWait);
}

TEST_CASE("OnRejected with no figures known waits for the next window", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  auto d = limiter.OnRejected(kNow);
  CHECK(d.kind == RateLimiter::Decision::kWait);
  CHECK(d.until_ms == kNextWindow + 1000);  // 1 s past the boundary
}

TEST_CASE("OnRejected stops when the daily limit itself is spent", "[rate_limiter]") {
  RateLimiter limiter(0.8, kWindow, kDay);
  limiter.Observe(Reply("200,2000", "40,1000", "100,1000", "40,1000"), kNow);
  auto d = limiter.OnRejected(kNow);
  CHECK(d.kind == RateLimiter::Decision::kStop);
  CHECK(d.until_ms == kNextDay);
  CHECK(d.reason == "Strava's daily rate limit is spent (1000 of 1000 requests today, shared with your other apps)");
}

}  // namespace
}  // namespace stravafs
