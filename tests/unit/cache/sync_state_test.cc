// Tests for sync_state.cc: the key/value store and ReadSyncState, the typed
// reader of `stravafs status` and the mount.
#include "cache/sync_state.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../../emulator/render.h"
#include "cache/activity_store.h"
#include "cache/athlete_store.h"
#include "cache/schema.h"
#include "cache_fixtures.h"
#include "fake_transport.h"
#include "format/render.h"
#include "format/sizes.h"
#include "model/activity.h"
#include "sql_helpers.h"

namespace stravafs {
namespace {

using testing::OpenCache;
using testing::TempDir;

TEST_CASE("sync_state is a small key/value store", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    auto missing = GetState(*cache, 0, "job");
    REQUIRE(missing.ok());
    CHECK_FALSE(missing->has_value());
    REQUIRE(SetState(*cache, 0, "job", R"({"page":3})").ok());
    CHECK(**GetState(*cache, 0, "job") == R"({"page":3})");
    REQUIRE(SetState(*cache, 0, "job", R"({"page":4})").ok());
    CHECK(**GetState(*cache, 0, "job") == R"({"page":4})");
    REQUIRE(SetState(*cache, 0, "last_success", "2024-05-13T10:00:00Z").ok());
    REQUIRE(DeleteState(*cache, 0, "job").ok());
    CHECK_FALSE(GetState(*cache, 0, "job")->has_value());
    REQUIRE(DeleteState(*cache, 0, "job").ok());
  }
  auto again = OpenCache(path);
  CHECK(**GetState(*again, 0, "last_success") == "2024-05-13T10:00:00Z");
}

TEST_CASE("ReadSyncState reads every key the sync writes, typed", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  {
    // Nothing written yet: never attempted, never succeeded, nothing pending.
    auto state = ReadSyncState(*cache, 7);
    REQUIRE(state.ok());
    CHECK(state->last_attempt == "");
    CHECK(state->last_success == "");
    CHECK_FALSE(state->history_complete);
    CHECK_FALSE(state->last_error.is_object());
    CHECK_FALSE(state->last_report.is_object());
    CHECK_FALSE(state->rate_usage.is_object());
    CHECK_FALSE(state->job.is_object());
  }
  REQUIRE(SetState(*cache, 7, kStateLastAttempt, "2024-05-13T10:00:00Z").ok());
  REQUIRE(SetState(*cache, 7, kStateLastSuccess, "2024-05-12T09:30:00Z").ok());
  REQUIRE(SetState(*cache, 7, kStateHistoryComplete, "2024-05-01T07:00:00Z").ok());
  REQUIRE(SetState(*cache, 7, kStateLastError, R"({"at":"2024-05-13T10:00:00Z","message":"rate limited"})").ok());
  REQUIRE(SetState(*cache, 7, kStateLastReport, R"({"mode":"incremental","added":3,"requests":4})").ok());
  REQUIRE(
      SetState(
          *cache, kAppWide, kStateRateUsage,  // the app's, shared by its athletes
          R"({"short_limit":200,"daily_limit":2000,"short_usage":12,"daily_usage":150,"at":"2024-05-13T10:00:00Z"})")
          .ok());
  REQUIRE(SetState(*cache, 7, kStateJob, R"({"kind":"backfill","page":4})").ok());
  REQUIRE(SetState(*cache, 7, kStateZonesChecked, "2024-05-13T10:00:01Z").ok());  // not the readers'

  auto state = ReadSyncState(*cache, 7);
  REQUIRE(state.ok());
  CHECK(state->last_attempt == "2024-05-13T10:00:00Z");
  CHECK(state->last_success == "2024-05-12T09:30:00Z");
  CHECK(state->history_complete);
  CHECK(state->last_error.dump() == R"({"at":"2024-05-13T10:00:00Z","message":"rate limited"})");
  CHECK(state->last_report.dump() == R"({"mode":"incremental","added":3,"requests":4})");
  CHECK(state->rate_usage.dump() ==
        R"({"short_limit":200,"daily_limit":2000,"short_usage":12,"daily_usage":150,"at":"2024-05-13T10:00:00Z"})");
  CHECK(state->job.dump() == R"({"kind":"backfill","page":4})");

  // A finished listing deletes its job, a successful sync its error.
  REQUIRE(DeleteState(*cache, 7, kStateJob).ok());
  REQUIRE(DeleteState(*cache, 7, kStateLastError).ok());
  state = ReadSyncState(*cache, 7);
  REQUIRE(state.ok());
  CHECK_FALSE(state->job.is_object());
  CHECK_FALSE(state->last_error.is_object());
  CHECK(state->last_success == "2024-05-12T09:30:00Z");

  // Another athlete's sync has a state of its own; the app's rate usage is theirs too.
  REQUIRE(SetState(*cache, 8, kStateLastSuccess, "2024-05-14T06:00:00Z").ok());
  auto other = ReadSyncState(*cache, 8);
  REQUIRE(other.ok());
  CHECK(other->last_success == "2024-05-14T06:00:00Z");
  CHECK(other->last_attempt == "");
  CHECK_FALSE(other->history_complete);
  CHECK(other->rate_usage.dump() == state->rate_usage.dump());
  CHECK(ReadSyncState(*cache, 7)->last_success == "2024-05-12T09:30:00Z");
}

TEST_CASE("ReadSyncState: a value that is not JSON is no object; an unreadable sync_state is an error", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(SetState(*cache, 0, kStateLastError, "not {json").ok());
  REQUIRE(SetState(*cache, 0, kStateHistoryComplete, "").ok());  // shown as not complete, as `stravafs status` does
  auto state = ReadSyncState(*cache, 0);
  REQUIRE(state.ok());
  CHECK(state->last_error.is_discarded());
  CHECK_FALSE(state->history_complete);

  // A damaged or hand-edited cache without the table: an error, not "never".
  REQUIRE(cache->Exec("DROP TABLE sync_state").ok());
  auto broken = ReadSyncState(*cache, 0);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.status().kind() == ErrorKind::kCache);
  CHECK_THAT(broken.status().message(), Catch::Matchers::Contains("reading sync state failed in cache") &&
                                            Catch::Matchers::Contains("no such table: sync_state"));
}

}  // namespace
}  // namespace stravafs
