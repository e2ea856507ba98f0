// Tests for oauth.cc against FakeStrava: the authorize URL, scope checks,
// error bodies, code exchange, refresh, and TokenSource: when it refreshes,
// and that a rotated refresh token is on disk before the new access token is
// used (Strava kills the old one at once).
#include "strava/oauth.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "fake_transport.h"
#include "strava/client.h"

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

  World() { config = testing::ConfigForFake(tmp); }
  TokenStore store() const { return TokenStore(config.state_dir); }
  // Stores the fake's first tokens, issued long enough ago to expire `left_s`
  // from now (the clock moves on), for Strava as for the file.
  Tokens Authorize(int64_t left_s = 6 * 3600) {
    Tokens t = strava.IssueInitialTokens();
    clock.Advance((t.expires_at - clock.NowMs() / 1000 - left_s) * 1000);
    REQUIRE(store().Save(t).ok());
    return t;
  }
  std::string RefreshTokenOnDisk() const {
    auto t = store().Load();
    REQUIRE(t.ok());
    return t->refresh_token;
  }
};

TEST_CASE("AuthorizeUrl asks for code, the configured scope and the state", "[oauth]") {
  Config c;
  c.base_url = "https://www.strava.com";
  c.client_id = "12345";
  CHECK(AuthorizeUrl(c, "http://127.0.0.1:8123/callback", "s7Xq") ==
        "https://www.strava.com/oauth/authorize?client_id=12345"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8123%2Fcallback&response_type=code&approval_prompt=auto"
        "&scope=read%2Cactivity%3Aread_all%2Cprofile%3Aread_all&state=s7Xq");
}

TEST_CASE("MissingScopes names what stravafs cannot work without", "[oauth]") {
  using V = std::vector<std::string>;
  CHECK(MissingScopes("read,activity:read_all") == V{});
  CHECK(MissingScopes("read,activity:read_all,profile:read_all") == V{});
  CHECK(MissingScopes("activity:read_all,read") == V{});
  CHECK(MissingScopes("read") == V{"activity:read_all"});
  CHECK(MissingScopes("read,activity:read") == V{"activity:read_all"});  // public activities only
  CHECK(MissingScopes("activity:read_all") == V{"read"});
  CHECK(MissingScopes("") == V{"read", "activity:read_all"});
}

TEST_CASE("DescribeErrorBody reads Strava's error bodies", "[oauth]") {
  CHECK(DescribeErrorBody(400, testing::kBodyBadRefreshToken) ==
        "HTTP 400 Bad Request [RefreshToken refresh_token invalid]");
  CHECK(DescribeErrorBody(401, testing::kBodyMissingScope) ==
        "HTTP 401 Authorization Error [AccessToken activity:read_permission missing]");
  CHECK(DescribeErrorBody(429, testing::kBodyRateLimit) ==
        "HTTP 429 Rate Limit Exceeded [Application rate limit exceeded]");
  CHECK(DescribeErrorBody(404, "") == "HTTP 404");
  CHECK(DescribeErrorBody(502, "<html><body>Bad Gateway</body></html>") == "HTTP 502");
  CHECK(DescribeErrorBody(500, "[1,2]") == "HTTP 500");
  CHECK(DescribeErrorBody(404, R"({"message":"Record Not Found","errors":[]})") == "HTTP 404 Record Not Found");
  // Empty and non-string parts are left out; several errors are all kept.
  CHECK(DescribeErrorBody(400,
                          R"({"message":"Bad Request","errors":[{"resource":"Activity","field":"","code":"invalid"},)"
                          R"({"resource":5,"field":"x"}, 7]})") == "HTTP 400 Bad Request [Activity invalid] [x]");
}

TEST_CASE("DescribeErrorBody escapes control characters and cuts a page of text", "[oauth][bug]") {
  // Issue 15: a server's message with escape sequences reached the
  // terminal, last_error and syslog as they were.
  CHECK(DescribeErrorBody(400,
                          R"({"message":"Bad\u001b[2J\u001b]0;owned\u0007 \u009b31m","errors":[{"code":"a\nb"}]})") ==
        "HTTP 400 Bad\\x1b[2J\\x1b]0;owned\\x07 \\u009b31m [a\\x0ab]");
  CHECK(DescribeErrorBody(404, R"({"message":"Caf\u00e9 \ud83c\udfc3 ok"})") == "HTTP 404 Caf\u00e9 \U0001F3C3 ok");
  const std::string long_message =
      DescribeErrorBody(500, R"({"message":")" + std::string(600, 'x') + "\u00e9" + R"("})");
  CHECK(long_message == "HTTP 500 " + std::string(491, 'x') + "...");
}

TEST_CASE("ExchangeCode posts the code and returns the tokens", "[oauth]") {
  World w;
  w.strava.AddAuthorizationCode("code-abc");
  auto t = ExchangeCode(w.strava, w.config, "code-abc");
  REQUIRE(t.ok());
  CHECK(t->access_token == "access-1");
  CHECK(t->refresh_token == "refresh-1");
  CHECK(t->expires_at == w.clock.NowMs() / 1000 + 21600);
  CHECK(t->athlete_id == FakeStrava::kAthleteId);
  REQUIRE(w.strava.requests().size() == 1);
  const auto& r = w.strava.requests()[0];
  CHECK(r.method == "POST");
  CHECK(r.url == "https://strava.fake/oauth/token");
  CHECK(r.header("Content-Type") == "application/x-www-form-urlencoded");
  CHECK(r.form == std::map<std::string, std::string>{{"client_id", "12345"},
                                                     {"client_secret", "client-secret-xyz"},
                                                     {"code", "code-abc"},
                                                     {"grant_type", "authorization_code"}});

  // Codes are single-use.
  auto again = ExchangeCode(w.strava, w.config, "code-abc");
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().kind() == ErrorKind::kAuth);
  CHECK(again.status().message() ==
        "Strava rejected the authorization code (HTTP 400 Bad Request [AuthorizationCode code invalid]): codes are "
        "single-use and short-lived; run `stravafs auth` again");
}

TEST_CASE("Token requests: configuration, client and server errors", "[oauth]") {
  World w;
  w.strava.AddAuthorizationCode("c");
  SECTION("no client id") {
    w.config.client_id = "";
    auto t = ExchangeCode(w.strava, w.config, "c");
    CHECK(t.status().kind() == ErrorKind::kConfig);
    CHECK(t.status().message() == w.config.path + ": [strava] client_id is not set (see stravafs.conf(5))");
    CHECK(w.strava.requests().empty());
  }
  SECTION("no client secret") {
    w.config.client_secret = "";
    auto t = RefreshTokens(w.strava, w.config, "r");
    CHECK(t.status().kind() == ErrorKind::kConfig);
    CHECK_THAT(t.status().message(), Catch::Contains("$STRAVA_CLIENT_SECRET"));
    CHECK(w.strava.requests().empty());
  }
  SECTION("a wrong secret") {
    w.config.client_secret = "wrong";
    auto t = ExchangeCode(w.strava, w.config, "c");
    CHECK(t.status().kind() == ErrorKind::kAuth);
    // STRAVA_API.md names Application/client_id for either being wrong.
    CHECK(t.status().message() ==
          "Strava rejected the client id or secret (HTTP 400 Bad Request [Application client_id invalid]): check "
          "[strava] client_id and the secret in " +
              w.config.path);
  }
  SECTION("a network failure") {
    w.strava.FailNth(Endpoint::kToken, 1, Failure::Network("Connection timed out"));
    auto t = ExchangeCode(w.strava, w.config, "c");
    CHECK(t.status().kind() == ErrorKind::kNetwork);
    CHECK(t.status().message() == "cannot reach https://strava.fake/oauth/token: Connection timed out");
  }
  SECTION("a server error") {
    w.strava.FailNth(Endpoint::kToken, 1, Failure::Http(503, "<html>down</html>"));
    auto t = ExchangeCode(w.strava, w.config, "c");
    CHECK(t.status().kind() == ErrorKind::kServer);
    CHECK(t.status().message() == "token request failed: HTTP 503");
  }
  SECTION("an expires_at beyond int64, or not an integer [bug]") {
    // Issue 15: get<int64_t>() of 1e300 or of 2^64-1 was undefined or wrapped.
    for (const char* expires : {"1e300", "18446744073709551615", "-1e300", "1.5"}) {
      INFO(expires);
      w.strava.FailNth(
          Endpoint::kToken, 1,
          Failure::Body(std::string(R"({"access_token":"a","refresh_token":"r","expires_at":)") + expires + "}"));
      w.strava.AddAuthorizationCode("c");
      auto t = ExchangeCode(w.strava, w.config, "c");
      CHECK(t.status().kind() == ErrorKind::kServer);
      CHECK(t.status().message() == "Strava's token reply was not understood (no tokens in it); try again");
    }
  }
  SECTION("a reply without tokens") {
    w.strava.FailNth(Endpoint::kToken, 1, Failure::Body(R"({"token_type":"Bearer"})"));
    auto t = ExchangeCode(w.strava, w.config, "c");
    CHECK(t.status().kind() == ErrorKind::kServer);
    CHECK(t.status().message() == "Strava's token reply was not understood (no tokens in it); try again");
  }
  SECTION("garbage") {
    w.strava.FailNth(Endpoint::kToken, 1, Failure::Garbage());
    CHECK(ExchangeCode(w.strava, w.config, "c").status().kind() == ErrorKind::kServer);
  }
}

TEST_CASE("RefreshTokens with a dead refresh token says to run stravafs auth", "[oauth]") {
  World w;
  w.Authorize();
  auto t = RefreshTokens(w.strava, w.config, "refresh-0-revoked");
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().kind() == ErrorKind::kAuth);
  CHECK(t.status().message() ==
        "Strava rejected the stored refresh token (HTTP 400 Bad Request [RefreshToken refresh_token invalid]): it "
        "was revoked or replaced; run `stravafs auth` again");
  const auto& r = w.strava.requests().back();
  CHECK(r.form.at("grant_type") == "refresh_token");
  CHECK(r.form.at("refresh_token") == "refresh-0-revoked");
}

TEST_CASE("TokenSource uses the stored token while more than 5 minutes are left", "[oauth]") {
  World w;
  w.Authorize(301);
  TokenSource source(w.strava, w.config, w.clock);
  auto a = source.AccessToken();
  REQUIRE(a.ok());
  CHECK(*a == "access-1");
  CHECK(*source.AccessToken() == "access-1");
  CHECK(w.strava.requests().empty());
}

TEST_CASE("TokenSource refreshes when under 5 minutes are left", "[oauth]") {
  World w;
  Tokens first = w.Authorize(299);
  TokenSource source(w.strava, w.config, w.clock);
  auto a = source.AccessToken();
  REQUIRE(a.ok());
  CHECK(*a == "access-2");
  CHECK(w.strava.refreshes() == 1);
  REQUIRE(w.strava.requests().size() == 1);
  CHECK(w.strava.requests()[0].form.at("refresh_token") == "refresh-1");
  auto saved = w.store().Load();
  REQUIRE(saved.ok());
  CHECK(saved->access_token == "access-2");
  CHECK(saved->refresh_token == "refresh-2");
  CHECK(saved->expires_at == w.clock.NowMs() / 1000 + 21600);
  CHECK(saved->scope == first.scope);  // the token reply has no scope: kept
  CHECK(saved->athlete_id == FakeStrava::kAthleteId);
  // Valid for hours now: no second refresh.
  CHECK(*source.AccessToken() == "access-2");
  CHECK(w.strava.refreshes() == 1);
  // Six hours later it refreshes again, with the rotated token.
  w.clock.Advance(6 * 3600 * 1000);
  CHECK(*source.AccessToken() == "access-3");
  CHECK(w.strava.requests().back().form.at("refresh_token") == "refresh-2");
  CHECK(w.RefreshTokenOnDisk() == "refresh-3");
}

TEST_CASE("TokenSource with force refreshes a valid token", "[oauth]") {
  World w;
  w.Authorize();
  TokenSource source(w.strava, w.config, w.clock);
  CHECK(*source.AccessToken() == "access-1");
  // Strava (STRAVA_API.md) hands back the same token while it has over an
  // hour left; with less, a new one.
  CHECK(*source.AccessToken(true) == "access-1");
  w.clock.Advance(5 * 3600 * 1000 + 1000);
  CHECK(*source.AccessToken(true) == "access-2");
  CHECK(w.strava.refreshes() == 2);
}

TEST_CASE("TokenSource keeps a refresh token that did not rotate", "[oauth]") {
  World w;
  w.strava.RotateRefreshTokens(false);
  w.Authorize(0);
  TokenSource source(w.strava, w.config, w.clock);
  CHECK(*source.AccessToken() == "access-2");
  CHECK(w.RefreshTokenOnDisk() == "refresh-1");
}

TEST_CASE("TokenSource: a rotated refresh token is on disk before the new access token is used", "[oauth]") {
  World w;
  w.Authorize(60);  // about to expire
  // What tokens.json holds at the moment each API request arrives.
  std::vector<std::pair<std::string, std::string>> seen;  // (bearer, refresh token on disk)
  w.strava.on_request = [&](const testing::RecordedRequest& r) {
    if (r.endpoint == Endpoint::kToken) return;
    std::ifstream in(w.store().path());
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
    seen.emplace_back(r.header("Authorization").value_or(""), j.is_object() ? j.value("refresh_token", "") : "");
  };
  TokenSource source(w.strava, w.config, w.clock);
  RateLimiter limiter(0.8, 900000, 86400000);
  StravaClient client(w.strava, w.config, w.clock, source, limiter, ClientOptions{});
  auto athlete = client.Get("/athlete", [](const Json&) { return Status::Ok(); });
  REQUIRE(athlete.ok());
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].first == "Bearer access-2");
  CHECK(seen[0].second == "refresh-2");
  CHECK(w.strava.live_refresh_token() == "refresh-2");
}

TEST_CASE("TokenSource: a refresh token that cannot be saved is not used", "[oauth]") {
  World w;
  w.Authorize(3599);  // under an hour left: a refresh rotates
  TokenSource source(w.strava, w.config, w.clock);
  REQUIRE(*source.AccessToken() == "access-1");  // loaded from disk
  // Then tokens.json cannot be replaced: a folder with a file in it is there.
  const std::string tokens = w.store().path();
  std::filesystem::remove(tokens);
  std::filesystem::create_directories(tokens);
  std::ofstream(tokens + "/x") << "in the way";
  auto a = source.AccessToken(true);
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kAuth);
  CHECK_THAT(a.status().message(),
             Catch::StartsWith("a new refresh token could not be saved (Strava already replaced the old one): "));
  CHECK(w.strava.refreshes() == 1);
}

TEST_CASE("TokenSource: no refresh at all when the state folder cannot even be locked", "[oauth]") {
  World w;
  w.Authorize();
  TokenSource source(w.strava, w.config, w.clock);
  REQUIRE(*source.AccessToken() == "access-1");
  std::filesystem::remove_all(w.tmp / "state");
  std::ofstream(w.tmp / "state") << "not a directory";
  auto a = source.AccessToken(true);
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kAuth);
  CHECK_THAT(a.status().message(), Catch::StartsWith("cannot create " + (w.tmp / "state")));
  CHECK(w.strava.refreshes() == 0);  // the old refresh token is still alive
}

TEST_CASE("TokenSource: a token another process refreshed is read, not refreshed again", "[oauth][bug]") {
  // Issue 15: two syncs on different caches share tokens.json; the second to
  // refresh used the refresh token the first had just rotated, Strava refused
  // it, and it said to run `stravafs auth` although the grant was fine.
  World w;
  w.Authorize(3600);
  TokenSource first(w.strava, w.config, w.clock), second(w.strava, w.config, w.clock);
  REQUIRE(*first.AccessToken() == "access-1");
  REQUIRE(*second.AccessToken() == "access-1");  // both hold refresh-1 now
  w.clock.Advance(3600 * 1000);                  // expired for both
  REQUIRE(*first.AccessToken() == "access-2");   // rotates to refresh-2 and saves it
  auto a = second.AccessToken();
  INFO(a.status().message());
  REQUIRE(a.ok());
  CHECK(*a == "access-2");  // read from disk
  CHECK(w.strava.refreshes() == 1);
  // A forced refresh (Strava rejected the access token) after another
  // process already replaced that access token uses the replacement.
  TokenSource third(w.strava, w.config, w.clock);
  REQUIRE(*third.AccessToken() == "access-2");
  w.strava.ExpireAccessTokens();  // else Strava would hand access-2 back
  REQUIRE(*first.AccessToken(true) == "access-3");
  CHECK(*third.AccessToken(true) == "access-3");
  CHECK(w.strava.refreshes() == 2);
  CHECK(w.RefreshTokenOnDisk() == "refresh-3");
}

TEST_CASE("Tokens are bound to the server and app that issued them", "[oauth][bug]") {
  // Issue 15: a config naming another server (a database's config=, a
  // config someone handed over) got the bearer token, then the client
  // secret and the refresh token. Now the file records where the tokens
  // came from, and nothing is sent to anyone else.
  World w;
  w.Authorize(0);  // due for a refresh: the worst case
  TokenSource first(w.strava, w.config, w.clock);
  REQUIRE(*first.AccessToken() == "access-2");
  auto saved = w.store().Load();
  REQUIRE(saved.ok());
  CHECK(saved->base_url == FakeStrava::kBaseUrl);
  CHECK(saved->client_id == FakeStrava::kClientId);
  const size_t requests = w.strava.requests().size();

  for (int which = 0; which < 2; ++which) {
    Config other = w.config;
    if (which == 0) other.base_url = "https://evil.example";
    if (which == 1) other.client_id = "999";
    TokenSource source(w.strava, other, w.clock);
    auto a = source.AccessToken(true);
    REQUIRE_FALSE(a.ok());
    CHECK(a.status().kind() == ErrorKind::kAuth);
    CHECK_THAT(a.status().message(), Catch::Contains(std::string("holds tokens issued by ") + FakeStrava::kBaseUrl +
                                                     " for client_id " + FakeStrava::kClientId) &&
                                         Catch::Contains("they are never sent elsewhere"));
  }
  CHECK(w.strava.requests().size() == requests);  // no refresh, no request at all
  CHECK(w.RefreshTokenOnDisk() == "refresh-2");
}

TEST_CASE("Tokens saved before the binding are bound by their next refresh", "[oauth]") {
  World w;
  Tokens old = w.Authorize(0);
  REQUIRE(old.base_url.empty());  // as files written before stravafs recorded it
  TokenSource source(w.strava, w.config, w.clock);
  REQUIRE(*source.AccessToken() == "access-2");
  auto saved = w.store().Load();
  REQUIRE(saved.ok());
  CHECK(saved->base_url == FakeStrava::kBaseUrl);
  CHECK(saved->client_id == FakeStrava::kClientId);
}

TEST_CASE("TokenSource without tokens says to run stravafs auth", "[oauth]") {
  World w;
  TokenSource source(w.strava, w.config, w.clock);
  auto a = source.AccessToken();
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kAuth);
  CHECK_THAT(a.status().message(), Catch::EndsWith("run `stravafs auth`"));
  CHECK(w.strava.requests().empty());
}

TEST_CASE("TokenSource with a revoked refresh token: kAuth naming stravafs auth", "[oauth]") {
  World w;
  w.Authorize(0);
  w.strava.IssueInitialTokens();  // re-authorized elsewhere: ours is dead
  TokenSource source(w.strava, w.config, w.clock);
  auto a = source.AccessToken();
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kAuth);
  CHECK_THAT(a.status().message(), Catch::Contains("run `stravafs auth` again"));
  CHECK(w.RefreshTokenOnDisk() == "refresh-1");  // untouched
}

}  // namespace
}  // namespace stravafs
