// Tests for base/iso_time.cc: the calendar FormatIsoUtc writes with, against
// glibc's, and back through ParseIsoUtc.
#include "base/iso_time.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

namespace stravafs {
namespace {

// What FormatIsoUtc wrote before it had its own calendar: glibc's.
std::string ByGlibc(int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

TEST_CASE("FormatIsoUtc writes what glibc's calendar says, over every four-digit year", "[iso_time]") {
  std::vector<int64_t> epochs = {kMinIsoEpoch, kMinIsoEpoch + 1, kMaxIsoEpoch, kMaxIsoEpoch - 1, -1, 0, 1,
                                 951782400,    951868799,        951868800,    // 2000-02-29 and around
                                 -2203891200,  4107456000,       4107542399,   // 1900-03-01, 2100-02-28
                                 -62162035200, 253402214400,     1715513400};  // 0000-02-29, 9999-12-31, 2024
  std::mt19937_64 rng(16);
  std::uniform_int_distribution<int64_t> any(kMinIsoEpoch, kMaxIsoEpoch);
  for (int i = 0; i < 200000; ++i) epochs.push_back(any(rng));
  for (int64_t day = -1; day <= 1; ++day)  // every second of three days around the epoch
    for (int64_t s = 0; s < 86400; s += 37) epochs.push_back(day * 86400 + s);
  for (int64_t e : epochs) {
    INFO(e);
    const std::string want = ByGlibc(e);
    REQUIRE(FormatIsoUtc(e) == want);
    char buf[kIsoUtcLength];
    FormatIsoUtcInto(e, buf);
    REQUIRE(std::string(buf, kIsoUtcLength) == want);
    REQUIRE(ParseIsoUtc(want) == e);
  }
  CHECK(FormatIsoUtc(kMinIsoEpoch) == "0000-01-01T00:00:00Z");
  CHECK(FormatIsoUtc(kMaxIsoEpoch) == "9999-12-31T23:59:59Z");
  CHECK(FormatIsoUtc(kMaxIsoEpoch + 1) == ByGlibc(kMaxIsoEpoch + 1));  // five digits: glibc's, as before
}

}  // namespace
}  // namespace stravafs
