// Tests for sync_session.cc: the wording every face uses for a sync's outcome.
// (The session's wiring is what every sync_engine_test World::Sync runs.)
#include "sync/sync_session.h"

#include <catch2/catch.hpp>

namespace stravafs {
namespace {

TEST_CASE("SyncSession: a sync's changes read the same in the CLI, the mount and the extension", "[sync_session]") {
  SyncReport r;
  CHECK(DescribeChanges(r) == "0 new, 0 changed, 0 deleted");
  r.added = 3;
  r.changed = 1;
  r.deleted = 12;
  r.unchanged = 40;  // not a change
  CHECK(DescribeChanges(r) == "3 new, 1 changed, 12 deleted");
}

TEST_CASE("SyncSession: counts of requests are plural except for one", "[sync_session]") {
  CHECK(Plural(0, "request") == "0 requests");
  CHECK(Plural(1, "request") == "1 request");
  CHECK(Plural(2, "request") == "2 requests");
}

}  // namespace
}  // namespace stravafs
