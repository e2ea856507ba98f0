// Tests for strava/api.cc: each typed call's request (path and query, as the
// fake Strava records it), what it returns, and the shape checks that make a
// wrong reply a retried malformed one. FakeStrava and FakeClock, as in
// client_test.cc.
#include "strava/api.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "fake_transport.h"

namespace stravafs {
namespace {

using testing::Endpoint;
using testing::Failure;
using testing::FakeClock;
using testing::FakeStrava;
using testing::TempDir;

struct World {
  TempDir tmp;
  FakeClock clock;
  FakeStrava strava{clock};
  Config config;
  std::unique_ptr<TokenSource> tokens;
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<StravaClient> client;

  World() {
    config = testing::ConfigForFake(tmp);
    config.retry_base = std::chrono::milliseconds(1000);
    REQUIRE(TokenStore(config.state_dir).Save(strava.IssueInitialTokens()).ok());
    strava.Generate(5, clock.NowMs() / 1000 - 3600, 86400, 100);  // ids 100..104, 104 the newest
    tokens = std::make_unique<TokenSource>(strava, config, clock);
    limiter = std::make_unique<RateLimiter>(config.budget, config.rate_window.count(), config.rate_day.count());
    ClientOptions options;
    options.max_attempts = 2;
    client = std::make_unique<StravaClient>(strava, config, clock, *tokens, *limiter, options);
  }
  // The query the fake received on its only request of `e`.
  std::map<std::string, std::string> OnlyQuery(Endpoint e) const {
    auto r = strava.Requests(e);
    REQUIRE(r.size() == 1);
    return r[0].query;
  }
};

TEST_CASE("api::ListPath writes the listing's query", "[api]") {
  CHECK(api::ListPath({}) == "/athlete/activities?per_page=200&page=1");
  CHECK(api::ListPath({std::nullopt, 1715000000, 3, 50}) == "/athlete/activities?per_page=50&page=3&before=1715000000");
  CHECK(api::ListPath({1714000000, 1715000000, 1, 200}) ==
        "/athlete/activities?per_page=200&page=1&after=1714000000&before=1715000000");
}

TEST_CASE("api::ListActivities returns a page as rows, newest first", "[api]") {
  World w;
  auto rows = api::ListActivities(*w.client, {std::nullopt, std::nullopt, 1, 3});
  REQUIRE(rows.ok());
  std::vector<int64_t> ids;
  for (const auto& r : *rows) ids.push_back(r.id);
  CHECK(ids == std::vector<int64_t>{104, 103, 102});
  CHECK(w.OnlyQuery(Endpoint::kList) == std::map<std::string, std::string>{{"page", "1"}, {"per_page", "3"}});
}

TEST_CASE("api::GetActivity asks for one activity and refuses the detail of another", "[api]") {
  World w;
  auto a = api::GetActivity(*w.client, 102);
  REQUIRE(a.ok());
  CHECK(a->row.id == 102);
  CHECK(w.OnlyQuery(Endpoint::kDetail) == std::map<std::string, std::string>{{"include_all_efforts", "false"}});
  w.strava.ClearRequests();
  // A server that answers with another activity is malformed: retried, then an error.
  w.strava.FailNth(Endpoint::kDetail, 1, Failure::Body(w.strava.DetailJson(103).dump()), 2);
  auto other = api::GetActivity(*w.client, 102);
  REQUIRE_FALSE(other.ok());
  CHECK_THAT(other.status().message(), Catch::Contains("detail of another activity"));
  CHECK(w.strava.Requests(Endpoint::kDetail).size() == 2);
  CHECK(api::GetActivity(*w.client, 999).status().kind() == ErrorKind::kNotFound);
}

TEST_CASE("api::GetStreams asks for the types, keyed by type, and returns their columns", "[api]") {
  World w;
  auto s = api::GetStreams(*w.client, 101, {"time", "heartrate"});
  REQUIRE(s.ok());
  CHECK(w.OnlyQuery(Endpoint::kStreams) ==
        std::map<std::string, std::string>{{"key_by_type", "true"}, {"keys", "time,heartrate"}});
  CHECK((*s)["time"].size() == w.strava.StreamPoints(101));
  CHECK((*s)["distance"].empty());
  // The older array form reads the same.
  w.strava.ClearRequests();
  w.strava.FailNth(Endpoint::kStreams, 1,
                   Failure::Body(R"([{"type":"time","data":[0,1,2]},{"type":"distance","data":[0,5,9]}])"));
  auto old = api::GetStreams(*w.client, 101, {"time", "distance"});
  REQUIRE(old.ok());
  CHECK((*old)["distance"] == std::vector<double>{0, 5, 9});
  CHECK((*old)["time"] == std::vector<double>{0, 1, 2});
}

TEST_CASE("api::GetAthlete and api::GetGear check for their ids", "[api]") {
  World w;
  auto a = api::GetAthlete(*w.client);
  REQUIRE(a.ok());
  CHECK((*a)["id"] == FakeStrava::kAthleteId);
  w.strava.AddGear("b1", "Road bike");
  auto g = api::GetGear(*w.client, "b1");
  REQUIRE(g.ok());
  CHECK((*g)["id"] == "b1");
  w.strava.FailNth(Endpoint::kGear, 1, Failure::Body(R"({"name":"no id"})"), 2);
  CHECK_THAT(api::GetGear(*w.client, "b1").status().message(), Catch::Contains("gear reply has no id"));
}

TEST_CASE("api::CheckZones takes ascending zones with one open top, and nothing else", "[api]") {
  auto zones = [](const char* hr) { return Json::parse(std::string(R"({"heart_rate":{"zones":)") + hr + "}}"); };
  CHECK(api::CheckZones(zones(R"([{"min":0,"max":130},{"min":130,"max":-1}])")).ok());
  CHECK(api::CheckZones(Json::parse(R"({"power":{"zones":[{"min":0,"max":150}]},"heart_rate":null})")).ok());
  CHECK(api::CheckZones(zones(R"([{"min":130,"max":-1},{"min":150,"max":160}])")).message() ==
        "heart_rate zones: bounds out of order");
  CHECK(api::CheckZones(zones(R"([{"min":130,"max":120}])")).message() == "heart_rate zones: bounds out of order");
  CHECK(api::CheckZones(zones(R"([{"min":"0","max":130}])")).message() ==
        "heart_rate zones: a zone without numeric min and max");
  CHECK(api::CheckZones(Json::parse(R"({"heart_rate":{}})")).message() == "heart_rate zones have no zones array");
  CHECK(api::CheckZones(Json::parse("{}")).message() == "zones reply has neither heart_rate nor power zones");
  CHECK(api::CheckZones(Json::parse("[]")).message() == "zones reply is not an object");
}

TEST_CASE("api::ParseStreams wants a data array in every stream", "[api]") {
  CHECK(api::ParseStreams(R"({"time":{"data":[0,1]}})").ok());
  CHECK(api::ParseStreams(R"([{"type":"time","data":[0,1]}])").ok());
  CHECK(api::ParseStreams(R"({"time":{"data":{}}})").status().message() ==
        "unexpected reply: stream time has no data array");
  CHECK(api::ParseStreams(R"({"velocity_smooth":[1,2]})").status().message() ==
        "unexpected reply: stream velocity_smooth has no data array");
  CHECK(api::ParseStreams("3").status().message() == "unexpected reply: streams reply is not an object");
  CHECK(api::ParseStreams(R"({"time":{"data":[0,1]})").status().message().starts_with("reply is not valid JSON"));
}

TEST_CASE("api::ParseStreams: both shapes, every column, NaN for no value", "[api]") {
  const std::string keyed = R"({"time":{"data":[0,1,2]},"latlng":{"data":[[52.5,13.4],null,[1,"x"]]},
    "moving":{"data":[true,false,"yes"]},"heartrate":{"data":[120,null]},"unknown":{"data":[9]},
    "watts":{"data":[18446744073709551615]}})";
  auto s = api::ParseStreams(keyed);
  INFO(s.status().message());
  REQUIRE(s.ok());
  CHECK(s->size() == 3);
  CHECK((*s)["time"] == std::vector<double>{0, 1, 2});
  CHECK((*s)["lat"][0] == 52.5);
  CHECK((*s)["lng"][0] == 13.4);
  CHECK((std::isnan((*s)["lat"][1]) && std::isnan((*s)["lng"][1])));
  CHECK((std::isnan((*s)["lat"][2]) && std::isnan((*s)["lng"][2])));  // a pair of numbers, or nothing
  CHECK((*s)["moving"][0] == 1);
  CHECK((*s)["moving"][1] == 0);
  CHECK(std::isnan((*s)["moving"][2]));
  CHECK((*s)["heartrate"].size() == 2);
  CHECK(std::isnan((*s)["heartrate"][1]));
  CHECK((*s)["watts"] == std::vector<double>{18446744073709551615.0});
  CHECK((*s)["distance"].empty());

  // The older shape, a repeated type's last stream counting; an entry
  // without a type is no stream. A number too large for simdjson.
  auto a = api::ParseStreams(R"([{"type":"time","data":[5]},{"data":[1]},{"type":"time","data":[0,1]},
    {"type":"distance","data":[0.5,123456789012345678901234567890]}])");
  INFO(a.status().message());
  REQUIRE(a.ok());
  CHECK((*a)["time"] == std::vector<double>{0, 1});
  // A key given twice in a stream: the last counts, as in nlohmann's parse
  // (found by the streams fuzzer).
  auto twice = api::ParseStreams(R"([{"type":"heartrate","type":"time","data":[5],"data":[0,1,2]}])");
  REQUIRE(twice.ok());
  CHECK((*twice)["time"] == std::vector<double>{0, 1, 2});
  CHECK((*twice)["heartrate"].empty());
  CHECK((*a)["distance"][0] == 0.5);
  CHECK((*a)["distance"][1] == 123456789012345678901234567890.0);  // beyond 64 bits: read as nlohmann reads it
  CHECK(a->size() == 2);
}

}  // namespace
}  // namespace stravafs
