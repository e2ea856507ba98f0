// Tests for athlete_store.cc: the athlete, gear and what the sync asks for
// next (missing gear, a missing athlete), with the counts `stravafs status`
// shows.
#include "cache/athlete_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../../emulator/render.h"
#include "cache/activity_store.h"
#include "cache/schema.h"
#include "cache/sync_state.h"
#include "cache_fixtures.h"
#include "fake_transport.h"
#include "format/render.h"
#include "format/sizes.h"
#include "model/activity.h"
#include "sql_helpers.h"
#include "upsert_summary.h"
#include "streams_of.h"

namespace stravafs {
namespace {

using testing::Detail;
using testing::OpenCache;
using testing::QueryInt;
using testing::QueryReal;
using testing::QueryText;
using testing::Summary;
using testing::TempDir;

TEST_CASE("GearOwner: whose gear of an id the cache holds", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  REQUIRE(AthleteStore(*cache).StoreGear({{"id", "b1"}, {"name", "Trusty"}}, 0).ok());
  REQUIRE(AthleteStore(*cache).StoreGear({{"id", "g2"}, {"name", "Shoes"}}, 7).ok());
  CHECK(*AthleteStore(*cache).GearOwner("b1") == std::nullopt);  // stored for no athlete
  CHECK(*AthleteStore(*cache).GearOwner("g9") == std::nullopt);  // not held
  CHECK(*AthleteStore(*cache).GearOwner("g2") == 7);
}

TEST_CASE("Gear, athlete and counts", "[cache]") {
  TempDir tmp;
  auto cache = OpenCache(tmp / "cache.db");
  Json a = Summary(1, "2024-05-01T08:00:00Z"), b = Summary(2, "2024-05-02T08:00:00Z"),
       c = Summary(3, "2024-05-03T08:00:00Z");
  a["gear_id"] = "b1";
  b["gear_id"] = "g2";
  c["gear_id"] = "b1";
  for (const Json* s : {&a, &b, &c}) REQUIRE(UpsertSummary(*cache, *s, 1).ok());
  CHECK(*AthleteStore(*cache).MissingGearIds(0) == std::vector<std::string>{"b1", "g2"});
  REQUIRE(AthleteStore(*cache)
              .StoreGear({{"id", "b1"}, {"name", "Trusty"}, {"distance", 12.5}, {"primary", true}}, 0)
              .ok());
  CHECK(*AthleteStore(*cache).MissingGearIds(0) == std::vector<std::string>{"g2"});
  CHECK(QueryText(cache->db(), "SELECT name FROM gear WHERE id='b1'") == "Trusty");
  CHECK(QueryInt(cache->db(), "SELECT primary_gear FROM gear WHERE id='b1'") == 1);
  auto bad_gear = AthleteStore(*cache).StoreGear({{"id", 5}}, 0);
  CHECK(bad_gear.kind() == ErrorKind::kServer);

  CHECK(*AthleteStore(*cache).HeldAthlete() == std::nullopt);
  CHECK(AthleteStore(*cache).StoreAthlete({{"firstname", "Ada"}}).kind() == ErrorKind::kServer);
  REQUIRE(AthleteStore(*cache)
              .StoreAthlete({{"id", 4242}, {"firstname", "Ada"}, {"premium", true}, {"weight", 60.5}})
              .ok());
  CHECK(*AthleteStore(*cache).HeldAthlete() == 4242);
  CHECK(QueryText(cache->db(), "SELECT firstname FROM athletes WHERE id=4242") == "Ada");
  CHECK(QueryReal(cache->db(), "SELECT weight FROM athletes WHERE id=4242") == 60.5);

  REQUIRE(ActivityStore(*cache).StoreDetail(Detail(a, 2)).ok());
  REQUIRE(ActivityStore(*cache).StoreStreams(2, StreamsOf(Json::parse(R"({"time": {"data": [0, 1, 2]}})"))).ok());
  auto counts = ActivityStore(*cache).Counts();
  REQUIRE(counts.ok());
  CHECK(counts->activities == 3);
  CHECK(counts->detailed == 1);
  CHECK(counts->with_streams == 1);
  CHECK(counts->stream_samples == 3);
  CHECK(counts->laps == 2);
  CHECK(counts->gear == 1);
  CHECK(counts->oldest_start == "2024-05-01T10:00:00");
  CHECK(counts->newest_start == "2024-05-03T10:00:00");
}

}  // namespace
}  // namespace stravafs
