// Tests for strava/client.cc against FakeStrava and FakeClock: retries with
// exact backoff, auth (refresh once on 401, scope, lapsed subscription), 404,
// 429 and the budget pacing (exact waits, no 429 provoked), and cancellation.
// Every test asserts the traffic as well as the result.
#include "strava/client.h"

#include <catch2/catch.hpp>
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
using testing::RecordedRequest;
using testing::TempDir;

constexpr int64_t kWindow = 15 * 60 * 1000;
// FakeClock starts at 10:03:20Z; its window ends at 10:15:00Z.
// Waits end 1 s past the boundary (RateLimiter::Margin for a 15-minute window).
constexpr int64_t kToBoundary = 11 * 60 * 1000 + 40 * 1000 + 1000;

class RecordingObserver : public ClientObserver {
 public:
  void OnWait(int64_t ms, const std::string& reason) override { waits.emplace_back(ms, reason); }
  void OnRetry(int attempt, int max, int64_t delay_ms, const std::string& reason) override {
    retries.push_back(std::to_string(attempt) + "/" + std::to_string(max) + " " + std::to_string(delay_ms) + " " +
                      reason);
  }
  std::vector<std::pair<int64_t, std::string>> waits;
  std::vector<std::string> retries;
};

struct World {
  TempDir tmp;
  FakeClock clock;
  FakeStrava strava{clock};
  Config config;
  ClientOptions options;
  RecordingObserver observer;
  std::atomic<bool> cancel{false};

  World() {
    config = testing::ConfigForFake(tmp);
    config.retry_base = std::chrono::milliseconds(1000);
    Tokens t = strava.IssueInitialTokens();
    REQUIRE(TokenStore(config.state_dir).Save(t).ok());
    strava.Generate(3, clock.NowMs() / 1000 - 3600);
  }

  // One Get through a fresh client (as one sync would make), so tests can
  // change options first.
  Result<Json> Get(const std::string& path, const StravaClient::Check& check = AnyJson) {
    if (!client_) {
      tokens_ = std::make_unique<TokenSource>(strava, config, clock);
      limiter_ = std::make_unique<RateLimiter>(config.budget, config.rate_window.count(), config.rate_day.count());
      client_ = std::make_unique<StravaClient>(strava, config, clock, *tokens_, *limiter_, options, &observer);
    }
    return client_->Get(path, check);
  }
  StravaClient& client() { return *client_; }
  static Status AnyJson(const Json&) { return Status::Ok(); }
  int64_t newest_id() const { return strava.IdsNewestFirst().front(); }

 private:
  std::unique_ptr<TokenSource> tokens_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<StravaClient> client_;
};

Status IsActivity(const Json& j) { return RowFromJson(j).status(); }

TEST_CASE("StravaClient: a GET carries the token in the header only", "[strava_client]") {
  World w;
  auto a = w.Get("/activities/" + std::to_string(w.newest_id()) + "?include_all_efforts=false", IsActivity);
  REQUIRE(a.ok());
  CHECK((*a)["id"] == w.newest_id());
  CHECK((*a)["resource_state"] == 3);
  REQUIRE(w.strava.requests().size() == 1);
  const RecordedRequest& r = w.strava.requests()[0];
  CHECK(r.method == "GET");
  CHECK(r.url ==
        "https://strava.fake/api/v3/activities/" + std::to_string(w.newest_id()) + "?include_all_efforts=false");
  CHECK(r.header("Authorization") == "Bearer access-1");
  CHECK(r.header("Accept") == "application/json");
  CHECK(r.url.find("access") == std::string::npos);
  CHECK(w.client().requests() == 1);
  CHECK(w.clock.sleeps().empty());
  // The limiter saw the reply's headers.
  CHECK(w.client().limiter().Usage().short_limit == 100);
  CHECK(w.client().limiter().Usage().short_usage == 1);
}

TEST_CASE("StravaClient retries transient failures with doubling backoff", "[strava_client]") {
  World w;
  struct Case {
    const char* name;
    Failure failure;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {"500", Failure::Http(500, ""), "HTTP 500"},
      {"502 with HTML", Failure::Http(502, "<html><body>502 Bad Gateway</body></html>"), "HTTP 502"},
      {"503", Failure::Http(503, R"({"message":"Service Unavailable"})"), "HTTP 503 Service Unavailable"},
      {"network", Failure::Network("Operation timed out after 30000 milliseconds"),
       "Operation timed out after 30000 milliseconds"},
      {"garbage", Failure::Garbage(), "reply was not valid JSON (malformed or truncated)"},
      {"truncated", Failure::Truncated(), "reply was not valid JSON (malformed or truncated)"},
      {"wrong shape", Failure::Body(R"({"id":"not a number"})"), "unexpected reply: activity has no integer id"},
      // Issue 15: nlohmann parsed it, then a recursive dump overflowed the stack.
      {"too deep", Failure::Body(R"({"id":1,"x":)" + std::string(100000, '[') + std::string(100000, ']') + "}"),
       "reply was not valid JSON (nested deeper than 128 levels)"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const std::string path = "/activities/" + std::to_string(w.newest_id());
      w.strava.FailNth(Endpoint::kDetail, 1, c.failure, 3);
      auto a = w.Get(path, IsActivity);
      INFO(a.status().message());
      REQUIRE(a.ok());
      CHECK((*a)["id"] == w.newest_id());
      CHECK(w.strava.Count(Endpoint::kDetail) == 4);
      CHECK(w.client().requests() == 4);
      CHECK(w.clock.sleeps() == std::vector<int64_t>{1000, 2000, 4000});
      CHECK(w.observer.retries == std::vector<std::string>{"1/5 1000 " + std::string(c.problem),
                                                           "2/5 2000 " + std::string(c.problem),
                                                           "3/5 4000 " + std::string(c.problem)});
    }
  }
}

TEST_CASE("StravaClient gives up after max_attempts naming the last problem", "[strava_client]") {
  World w;
  SECTION("5xx") {
    w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Http(500), 1);
    w.strava.FailNth(Endpoint::kAthlete, 2, Failure::Http(503), 10);
    auto a = w.Get("/athlete");
    REQUIRE_FALSE(a.ok());
    CHECK(a.status().kind() == ErrorKind::kServer);
    CHECK(a.status().message() ==
          "GET /athlete failed 5 times; last: HTTP 503. Nothing was stored; run the sync again to resume");
    CHECK(w.strava.Count(Endpoint::kAthlete) == 5);
    CHECK(w.clock.sleeps() == std::vector<int64_t>{1000, 2000, 4000, 8000});
  }
  SECTION("network") {
    w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Network("Could not connect"), 10);
    auto a = w.Get("/athlete");
    REQUIRE_FALSE(a.ok());
    CHECK(a.status().kind() == ErrorKind::kNetwork);
    CHECK(a.status().message() ==
          "GET /athlete failed 5 times; last: Could not connect. Nothing was stored; run the sync again to resume");
  }
  SECTION("max_attempts = 2 and a larger retry_base") {
    w.options.max_attempts = 2;
    w.config.retry_base = std::chrono::milliseconds(250);
    w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Truncated(), 10);
    auto a = w.Get("/athlete");
    REQUIRE_FALSE(a.ok());
    CHECK(a.status().kind() == ErrorKind::kServer);
    CHECK_THAT(a.status().message(), Catch::StartsWith("GET /athlete failed 2 times; last: reply was not valid JSON"));
    CHECK(w.strava.Count(Endpoint::kAthlete) == 2);
    CHECK(w.clock.sleeps() == std::vector<int64_t>{250});
  }
  SECTION("the backoff is capped at 60 s") {
    w.options.max_attempts = 6;
    w.config.retry_base = std::chrono::milliseconds(20000);
    w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Http(502), 10);
    CHECK_FALSE(w.Get("/athlete").ok());
    CHECK(w.clock.sleeps() == std::vector<int64_t>{20000, 40000, 60000, 60000, 60000});
  }
}

TEST_CASE("StravaClient: 401 refreshes once, then succeeds", "[strava_client]") {
  World w;
  w.strava.ExpireAccessTokens();  // revoked or expired early: a real 401 from the fake
  auto a = w.Get("/athlete");
  INFO(a.status().message());
  REQUIRE(a.ok());
  CHECK((*a)["id"] == FakeStrava::kAthleteId);
  auto api = w.strava.Requests(Endpoint::kAthlete);
  REQUIRE(api.size() == 2);
  CHECK(api[0].status == 401);
  CHECK(api[0].header("Authorization") == "Bearer access-1");
  CHECK(api[1].status == 200);
  CHECK(api[1].header("Authorization") == "Bearer access-2");
  CHECK(w.strava.Count(Endpoint::kToken) == 1);
  CHECK(w.clock.sleeps().empty());
  CHECK(TokenStore(w.config.state_dir).Load()->refresh_token == "refresh-2");
}

// DESIGN.md: "5xx and timeouts retry with backoff". The token refresh (every
// 6 hours, so in the middle of any long sync) goes through TokenSource, which
// the client calls outside its retry loop: one 502 from /oauth/token ends the
// whole sync.
TEST_CASE("StravaClient retries a token refresh that failed with a 5xx or a timeout", "[strava_client][bug]") {
  World w;
  w.clock.Advance(6 * 3600 * 1000);  // the stored access token has expired
  w.strava.FailNth(Endpoint::kToken, 1, Failure::Http(502, "<html>Bad Gateway</html>"));
  w.strava.FailNth(Endpoint::kToken, 2, Failure::Network("Operation timed out"));
  auto a = w.Get("/athlete");
  INFO(a.status().message());
  CHECK(a.ok());
  CHECK(w.strava.Count(Endpoint::kToken) == 3);
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
}

TEST_CASE("StravaClient: 401 after the refresh too is kAuth", "[strava_client]") {
  World w;
  w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Http(401, testing::kBodyInvalidToken), 5);
  auto a = w.Get("/athlete");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kAuth);
  CHECK(a.status().message() ==
        "Strava rejects the access token even after a refresh (HTTP 401 Authorization Error [Athlete access_token "
        "invalid]): run `stravafs auth` again");
  CHECK(w.strava.Count(Endpoint::kAthlete) == 2);
  CHECK(w.strava.Count(Endpoint::kToken) == 1);
}

TEST_CASE("StravaClient: 401 for a missing scope is kScope without a refresh", "[strava_client]") {
  World w;
  w.strava.FailNth(Endpoint::kList, 1, Failure::Http(401, testing::kBodyMissingScope));
  auto a = w.Get("/athlete/activities?per_page=200&page=1");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kScope);
  CHECK_THAT(a.status().message(), Catch::Contains("activity:read_all"));
  CHECK_THAT(a.status().message(), Catch::Contains("run `stravafs auth`"));
  CHECK(w.strava.Count(Endpoint::kList) == 1);
  CHECK(w.strava.Count(Endpoint::kToken) == 0);
}

TEST_CASE("StravaClient: a failed refresh after 401 is returned as is", "[strava_client]") {
  World w;
  w.strava.ExpireAccessTokens();
  w.strava.IssueInitialTokens();  // our refresh token is dead too
  auto a = w.Get("/athlete");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kAuth);
  CHECK_THAT(a.status().message(), Catch::StartsWith("Strava rejected the stored refresh token"));
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
}

TEST_CASE("StravaClient: 403 Inactive says the subscription lapsed", "[strava_client]") {
  World w;
  w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Http(403, testing::kBodyInactive), 5);
  auto a = w.Get("/athlete");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kAuth);
  CHECK_THAT(a.status().message(), Catch::Contains("paid Strava subscription"));
  CHECK_THAT(a.status().message(), Catch::Contains("stravafs import"));
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
  CHECK(w.clock.sleeps().empty());
}

TEST_CASE("StravaClient: another 403 is kScope naming the call", "[strava_client]") {
  World w;
  w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Http(403, R"({"message":"Forbidden","errors":[]})"));
  auto a = w.Get("/athlete");
  CHECK(a.status().kind() == ErrorKind::kScope);
  CHECK(a.status().message() ==
        "Strava refused GET /athlete (HTTP 403 Forbidden): the stored authorization may "
        "lack a scope it needs; run `stravafs auth` and leave every box ticked");
}

TEST_CASE("StravaClient: 404 is kNotFound and not retried", "[strava_client]") {
  World w;
  auto a = w.Get("/activities/1", IsActivity);
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kNotFound);
  CHECK(a.status().message() == "GET /activities/1: not found");
  CHECK(w.strava.Count(Endpoint::kDetail) == 1);
  CHECK(w.clock.sleeps().empty());
  // An empty 404 body too.
  w.strava.FailNth(Endpoint::kGear, 1, Failure::Http(404, ""));
  CHECK(w.Get("/gear/b1").status().kind() == ErrorKind::kNotFound);
}

TEST_CASE("StravaClient: another 4xx is a plain error, not retried", "[strava_client]") {
  World w;
  auto a = w.Get("/athlete/activities?before=soon");  // the fake, like Strava, refuses it
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kGeneric);
  CHECK(a.status().message() ==
        "GET /athlete/activities?before=soon failed: HTTP 400 Bad Request [Application before invalid]");
  CHECK(w.strava.Count(Endpoint::kList) == 1);
}

TEST_CASE("StravaClient: 429 waits until the next window, then succeeds", "[strava_client]") {
  World w;
  w.strava.limits = {20, 2000, 10, 1000};
  w.strava.AddUsage(10, 10);  // other apps spent the window
  const int64_t start = w.clock.NowMs();
  auto a = w.Get("/athlete");
  INFO(a.status().message());
  REQUIRE(a.ok());
  CHECK(w.strava.rejected() == 1);
  auto api = w.strava.Requests(Endpoint::kAthlete);
  REQUIRE(api.size() == 2);
  CHECK(api[0].status == 429);
  CHECK(api[1].status == 200);
  CHECK(api[1].at_ms == start + kToBoundary);  // 10:15:01, just past the boundary
  CHECK(w.clock.sleeps() == std::vector<int64_t>{kToBoundary});
  REQUIRE(w.observer.waits.size() == 1);
  CHECK(w.observer.waits[0].first == kToBoundary);
  CHECK(w.observer.waits[0].second == "Strava answered 429 Rate Limit Exceeded (other apps share this limit)");
}

TEST_CASE("StravaClient: 429 with the daily limit spent stops without waiting", "[strava_client]") {
  World w;
  w.strava.limits = {200, 2000, 100, 1000};
  w.strava.AddUsage(0, 1000);
  auto a = w.Get("/athlete");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kRateLimited);
  CHECK(a.status().message() ==
        "Strava's daily rate limit is spent (1001 of 1000 requests today, shared with your other apps); resumes "
        "after 00:00:00 UTC");
  CHECK(w.client().resume_at_ms() == INT64_C(1715644800000));  // 2024-05-14T00:00:00Z
  CHECK(w.clock.sleeps().empty());
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
}

TEST_CASE("StravaClient paces itself inside the budget and never provokes a 429", "[strava_client]") {
  World w;
  w.strava.limits = {10, 100000, 10, 100000};
  const int64_t start = w.clock.NowMs();
  for (int i = 0; i < 20; ++i) {
    auto a = w.Get("/athlete");
    INFO(i << ": " << a.status().message());
    REQUIRE(a.ok());
  }
  CHECK(w.strava.rejected() == 0);
  auto api = w.strava.Requests(Endpoint::kAthlete);
  REQUIRE(api.size() == 20);
  // 8 per window (80% of 10): the 9th waits for 10:15:00, the 17th for 10:30:00.
  for (int i = 0; i < 20; ++i) {
    INFO(i);
    CHECK(api[i].status == 200);
    int64_t expected = i < 8 ? start : i < 16 ? start + kToBoundary : start + kToBoundary + kWindow;
    CHECK(api[i].at_ms == expected);
  }
  CHECK(w.clock.sleeps() == std::vector<int64_t>{kToBoundary, kWindow});
  REQUIRE(w.observer.waits.size() == 2);
  CHECK(w.observer.waits[0].second == "15-minute rate limit budget spent: 8 of 10 requests used, budget 80%");
}

TEST_CASE("StravaClient reads the rate headers in Strava's casing and in lowercase", "[strava_client]") {
  for (auto header_case : {FakeStrava::HeaderCase::kStrava, FakeStrava::HeaderCase::kLower}) {
    World w;
    w.strava.header_case = header_case;
    w.strava.limits = {10, 100000, 10, 100000};
    for (int i = 0; i < 9; ++i) REQUIRE(w.Get("/athlete").ok());
    CHECK(w.strava.rejected() == 0);
    CHECK(w.clock.sleeps() == std::vector<int64_t>{kToBoundary});
  }
}

TEST_CASE("StravaClient: wait_for_window=false makes a spent window kRateLimited", "[strava_client]") {
  World w;
  w.options.wait_for_window = false;
  w.strava.limits = {10, 100000, 10, 100000};
  for (int i = 0; i < 8; ++i) REQUIRE(w.Get("/athlete").ok());
  auto a = w.Get("/athlete");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kRateLimited);
  CHECK(a.status().message() ==
        "15-minute rate limit budget spent: 8 of 10 requests used, budget 80%; next window at 10:15:00 UTC");
  CHECK(w.client().resume_at_ms() == w.clock.NowMs() + kToBoundary);
  CHECK(w.clock.sleeps().empty());
  CHECK(w.strava.Count(Endpoint::kAthlete) == 8);
}

TEST_CASE("StravaClient: wait_for_window=false makes a 429 kRateLimited", "[strava_client]") {
  World w;
  w.options.wait_for_window = false;
  w.strava.limits = {10, 100000, 10, 100000};
  w.strava.AddUsage(10, 10);
  auto a = w.Get("/athlete");
  CHECK(a.status().kind() == ErrorKind::kRateLimited);
  CHECK(a.status().message() ==
        "Strava answered 429 Rate Limit Exceeded (other apps share this limit); next window at 10:15:00 UTC");
  CHECK(w.client().resume_at_ms() == w.clock.NowMs() + kToBoundary);
  CHECK(w.clock.sleeps().empty());
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
}

TEST_CASE("StravaClient: the daily budget stops with a resume time", "[strava_client]") {
  World w;
  w.strava.limits = {100, 10, 100, 10};  // 80% of 10: 8 a day
  for (int i = 0; i < 8; ++i) REQUIRE(w.Get("/athlete").ok());
  auto a = w.Get("/athlete");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kRateLimited);
  CHECK(a.status().message() ==
        "daily rate limit budget spent: 8 of 10 requests used today, budget 80%; resumes after 00:00:00 UTC");
  CHECK(w.client().resume_at_ms() == INT64_C(1715644800000));
  CHECK(w.strava.Count(Endpoint::kAthlete) == 8);
  CHECK(w.strava.rejected() == 0);
}

TEST_CASE("StravaClient: cancellation", "[strava_client]") {
  World w;
  w.options.cancel = &w.cancel;
  SECTION("before the request") {
    w.cancel = true;
    auto a = w.Get("/athlete");
    CHECK(a.status().kind() == ErrorKind::kInterrupted);
    CHECK(a.status().message() == "interrupted; run the sync again to resume");
    CHECK(w.strava.requests().empty());
  }
  SECTION("during a backoff") {
    w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Http(500), 10);
    w.clock.on_sleep = [&](int64_t) { w.cancel = true; };
    auto a = w.Get("/athlete");
    CHECK(a.status().kind() == ErrorKind::kInterrupted);
    CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
  }
  SECTION("during a rate-limit wait") {
    w.strava.limits = {10, 100000, 10, 100000};
    for (int i = 0; i < 8; ++i) REQUIRE(w.Get("/athlete").ok());
    w.clock.on_sleep = [&](int64_t) { w.cancel = true; };
    auto a = w.Get("/athlete");
    CHECK(a.status().kind() == ErrorKind::kInterrupted);
    CHECK(w.strava.Count(Endpoint::kAthlete) == 8);
    CHECK(w.clock.sleeps() == std::vector<int64_t>{kToBoundary});
  }
}

// The sync tests trust FakeStrava to list the way STRAVA_API.md says Strava
// does; this pins that model, through the client.
TEST_CASE("StravaClient over FakeStrava: listing order, strict bounds, paging", "[strava_client]") {
  World w;
  for (int64_t id : w.strava.IdsNewestFirst()) w.strava.Delete(id);
  w.strava.Generate(7, 1715000000, 1000, 100);  // ids 100..106, 106 the newest at 1715000000
  auto ids = [&](const std::string& query) {
    auto page = w.Get("/athlete/activities?" + query);
    INFO(query << ": " << page.status().message());
    REQUIRE(page.ok());
    std::vector<int64_t> out;
    for (const auto& a : *page) out.push_back(a["id"].get<int64_t>());
    return out;
  };
  using V = std::vector<int64_t>;
  CHECK(ids("per_page=3&page=1") == V{106, 105, 104});  // no after: newest first
  CHECK(ids("per_page=3&page=3") == V{100});
  CHECK(ids("per_page=3&page=4") == V{});                                // past the end: []
  CHECK(ids("per_page=200&after=1714996000") == V{103, 104, 105, 106});  // only after: oldest first, bound exclusive
  CHECK(ids("per_page=200&before=1714997000") == V{102, 101, 100});      // bound exclusive
  CHECK(ids("per_page=200&after=1714995000&before=1714999000") == V{104, 103, 102});  // both: newest first
  CHECK(ids("page=1").size() == 7);                                                   // per_page defaults to 30
  CHECK(ids("page=0&per_page=3") == V{106, 105, 104});                                // page below 1: the first
  // per_page above 200 is 200, below 1 the default (as the emulator has it).
  w.strava.Generate(250, 1714000000, 60, 1000);
  CHECK(ids("per_page=500").size() == 200);
  CHECK(ids("per_page=0").size() == 30);
  // Milliseconds instead of seconds: 400, as on Strava.
  auto ms = w.Get("/athlete/activities?after=1714996000000");
  CHECK(ms.status().kind() == ErrorKind::kGeneric);
  CHECK_THAT(ms.status().message(), Catch::Contains("[Application after invalid]"));
}

TEST_CASE("StravaClient: the base URL is the config's", "[strava_client]") {
  World w;
  w.config.base_url = "https://elsewhere.example";
  auto a = w.Get("/athlete");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kNetwork);
  REQUIRE_FALSE(w.strava.requests().empty());
  CHECK(w.strava.requests()[0].url == "https://elsewhere.example/api/v3/athlete");
}

}  // namespace
}  // namespace stravafs
