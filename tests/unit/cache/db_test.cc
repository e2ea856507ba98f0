// Tests for db.cc on real SQLite files in a temp dir: opening (a private
// WAL database, the data of an existing cache kept, refusing damaged and
// unreadable files with the right advice) and transactions.
#include "cache/db.h"

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
#include "cache/sync_state.h"
#include "cache_fixtures.h"
#include "fake_transport.h"
#include "format/render.h"
#include "format/sizes.h"
#include "model/activity.h"
#include "sql_helpers.h"
#include "upsert_summary.h"

namespace stravafs {
namespace {

using testing::OpenCache;
using testing::QueryColumn;
using testing::QueryInt;
using testing::QueryText;
using testing::Summary;
using testing::TempDir;

TEST_CASE("Cache::Open creates a private WAL database at schema version 11", "[cache]") {
  TempDir tmp;
  const std::string dir = tmp / "data/stravafs", path = dir + "/cache.db";
  auto cache = OpenCache(path);
  CHECK(kSchemaVersion == 11);
  CHECK(QueryInt(cache->db(), "PRAGMA user_version") == kSchemaVersion);
  CHECK(QueryText(cache->db(), "PRAGMA journal_mode") == "wal");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  CHECK(cache->path() == path);
  auto tables = QueryColumn(cache->db(), "SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name");
  CHECK(tables == std::vector<std::string>{"activities",
                                           "activities_units",
                                           "activity_efforts",
                                           "activity_facts",
                                           "activity_hr_seconds",
                                           "activity_power_seconds",
                                           "activity_sync",
                                           "analytics_athletes",
                                           "analytics_settings",
                                           "athlete_zones",
                                           "athletes",
                                           "best_efforts",
                                           "effort_ranks",
                                           "fs_changes",
                                           "gear",
                                           "hr_zones",
                                           "import_files",
                                           "laps",
                                           "monthly_totals",
                                           "originals",
                                           "personal_records",
                                           "power_zones",
                                           "streams",
                                           "sync_state",
                                           "training_90d",
                                           "training_day_hr_seconds",
                                           "training_days",
                                           "weekly_totals",
                                           "yearly_totals",
                                           "zone_bounds",
                                           "zone_time"});
}

TEST_CASE("Cache::Open keeps the data of an existing cache", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  {
    auto cache = OpenCache(path);
    REQUIRE(UpsertSummary(*cache, Summary(1, "2024-05-12T11:30:00Z"), 0).ok());
  }
  auto again = OpenCache(path);
  CHECK(QueryInt(again->db(), "SELECT count(*) FROM activities") == 1);
  CHECK(QueryInt(again->db(), "PRAGMA user_version") == kSchemaVersion);
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE(ro.ok());
  CHECK(QueryText((*ro)->db(), "SELECT name FROM activities WHERE id=1") == "Morning Run");
}

TEST_CASE("Cache::Open read-only of a missing cache says to run stravafs sync", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "nowhere/cache.db";
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().kind() == ErrorKind::kCache);
  CHECK(ro.status().message() == "no cache at " + path + " yet: run `stravafs sync` or `stravafs import` first");
  CHECK_FALSE(std::filesystem::exists(tmp / "nowhere"));
}

TEST_CASE("Cache::Open of a file that is not SQLite says it is damaged", "[cache]") {
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  std::ofstream(path) << "this is not an SQLite database, not even close; " << std::string(200, 'x');
  auto rw = Cache::Open(path, Cache::Mode::kReadWrite);
  REQUIRE_FALSE(rw.ok());
  CHECK(rw.status().kind() == ErrorKind::kCache);
  CHECK_THAT(rw.status().message(), Catch::Contains(path));
  // [bug] Issue 15: moved without its -wal and -shm, a cache loses what the
  // WAL held and the next one is paired with the old WAL.
  CHECK(rw.status().message() == path +
                                     " is not a stravafs cache (not an SQLite database, or damaged): move it "
                                     "aside with its -wal and -shm files (mv " +
                                     path + " " + path + "-wal " + path +
                                     "-shm SOMEWHERE/) and run `stravafs sync` or `stravafs import` to "
                                     "rebuild it");
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  CHECK(ro.status().message() == rw.status().message());
}

TEST_CASE("Cache::Open of a cache it cannot read for another reason does not call it damaged", "[cache][bug]") {
  // Issue 15: "not a stravafs cache ... move it aside" also came for
  // SQLITE_BUSY and I/O errors, where moving the file would do harm.
  TempDir tmp;
  const std::string path = tmp / "cache.db";
  REQUIRE(OpenCache(path));
  // A cache in rollback-journal mode (as a copy made by `sqlite3 .backup`
  // may be) that another process holds an exclusive lock on: SQLITE_BUSY
  // once the busy timeout (10 s) has passed.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "PRAGMA journal_mode=DELETE; BEGIN EXCLUSIVE; CREATE TABLE held(x);", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  auto ro = Cache::Open(path, Cache::Mode::kReadOnly);
  REQUIRE_FALSE(ro.ok());
  INFO(ro.status().message());
  CHECK(ro.status().kind() == ErrorKind::kCache);
  CHECK_THAT(ro.status().message(), Catch::StartsWith("reading failed in cache " + path + ": "));
  CHECK_THAT(ro.status().message(), Catch::Contains("another process holds the database; try again"));
  CHECK_THAT(ro.status().message(), !Catch::Contains("damaged") && !Catch::Contains("move it aside"));
  sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
}

TEST_CASE("Transaction rolls back unless committed", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  {
    Transaction tx(*cache);
    REQUIRE(tx.status().ok());
    REQUIRE(UpsertSummary(*cache, Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
    REQUIRE(SetState(*cache, 0, "job", "x").ok());
  }
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activities") == 0);
  CHECK_FALSE(GetState(*cache, 0, "job")->has_value());
  {
    Transaction tx(*cache);
    REQUIRE(UpsertSummary(*cache, Summary(1, "2024-05-01T08:00:00Z"), 1).ok());
    REQUIRE(tx.Commit().ok());
  }
  CHECK(QueryInt(cache->db(), "SELECT count(*) FROM activities") == 1);
}

}  // namespace
}  // namespace stravafs
