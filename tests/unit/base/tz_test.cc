// Tests for base/tz.cc against the system's zoneinfo, which the CI machine
// has (tzdata): offsets either side of DST changes and the hemispheres.
#include "base/tz.h"

#include <catch2/catch.hpp>

#include "model/activity.h"

namespace stravafs {
namespace {

int64_t At(const char* iso) {
  auto t = ParseIsoUtc(iso);
  REQUIRE(t.has_value());
  return *t;
}

TEST_CASE("TimeZone: offsets across daylight saving time", "[tz]") {
  auto berlin = TimeZone::Load("Europe/Berlin");
  INFO(berlin.status().message());
  REQUIRE(berlin.ok());
  CHECK(berlin->name() == "Europe/Berlin");
  CHECK(berlin->OffsetAt(At("2024-01-15T12:00:00Z")) == 3600);
  CHECK_FALSE(berlin->IsDstAt(At("2024-01-15T12:00:00Z")));
  CHECK(berlin->OffsetAt(At("2024-07-15T12:00:00Z")) == 7200);
  CHECK(berlin->IsDstAt(At("2024-07-15T12:00:00Z")));
  // 2024-03-31 01:00 UTC is the spring change: one second before and at it.
  CHECK(berlin->OffsetAt(At("2024-03-31T00:59:59Z")) == 3600);
  CHECK(berlin->OffsetAt(At("2024-03-31T01:00:00Z")) == 7200);

  auto sydney = TimeZone::Load("Australia/Sydney");
  REQUIRE(sydney.ok());
  CHECK(sydney->OffsetAt(At("2024-01-15T12:00:00Z")) == 11 * 3600);
  CHECK(sydney->OffsetAt(At("2024-07-15T12:00:00Z")) == 10 * 3600);
  auto kolkata = TimeZone::Load("Asia/Kolkata");
  REQUIRE(kolkata.ok());
  CHECK(kolkata->OffsetAt(At("2024-07-15T12:00:00Z")) == 5 * 3600 + 1800);
  auto ny = TimeZone::Load("America/New_York");
  REQUIRE(ny.ok());
  CHECK(ny->OffsetAt(At("1990-07-15T12:00:00Z")) == -4 * 3600);
}

TEST_CASE("TimeZone: unknown names and hostile ones are errors", "[tz]") {
  for (const char* bad : {"Mars/Olympus", "../../etc/passwd", "/etc/passwd", "Europe/../../../etc/passwd"}) {
    INFO(bad);
    auto z = TimeZone::Load(bad);
    REQUIRE_FALSE(z.ok());
    CHECK(z.status().kind() == ErrorKind::kConfig);
  }
  CHECK_FALSE(TimeZone::Parse("x", "not a zone file").ok());
  CHECK_FALSE(TimeZone::Parse("x", std::string("TZif2") + std::string(100, '\0')).ok());
  CHECK(TimeZone::Load("UTC")->OffsetAt(0) == 0);
  CHECK(TimeZone::Utc().name() == "UTC");
}

}  // namespace
}  // namespace stravafs
