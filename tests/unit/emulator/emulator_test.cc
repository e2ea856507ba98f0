// Tests of the strava-emulator's several athletes under one app, through its
// HTTP interface: an emu::Server on a free 127.0.0.1 port, served by a thread
// of the test, spoken to with cpp-httplib's client as stravafs and the
// integration tests speak to the strava-emulator. Each token answers for the
// athlete who approved it; athlete 0 stays what it is without the others; the
// rate limits are the app's. The emulator runs on a fixed clock, so no
// rate-limit window rolls over during a test.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../../emulator/server.h"
#include "../../emulator/timeutil.h"

namespace {

using emu::ojson;

const int64_t kEnd = *emu::parse_iso("2026-11-01");
const int64_t kNow = kEnd + 3600;
const int64_t kFirst = 3141592653LL;  // --athlete-id's default
const char *kAllScopes = "read,activity:read_all,profile:read_all";

emu::Config Athletes(int64_t first, std::vector<int64_t> others) {
  emu::Config c;
  c.activities = first;
  c.other_athletes = std::move(others);
  c.end = kEnd;
  c.hidden_every = 7;
  c.limits.limit_s = c.limits.limit_d = c.limits.read_s = c.limits.read_d = 1000000;
  c.clock = [] { return kNow; };
  return c;
}

struct Reply {
  int status = 0;
  std::string body;
  httplib::Headers headers;
  ojson json() const { return body.empty() ? ojson() : ojson::parse(body); }
};

// The strava-emulator in-process, listening until the end of the test.
class LiveEmulator {
 public:
  explicit LiveEmulator(const emu::Config &cfg) : server_(cfg) {
    port_ = server_.bind();
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen(); });
    // Answered once the server is listening, so stop() will find it running.
    if (!httplib::Client("127.0.0.1", port_).Get("/_emulator/config")) {
      server_.stop();
      thread_.join();
      FAIL("the emulator does not answer");
    }
  }
  ~LiveEmulator() {
    server_.stop();
    thread_.join();
  }

  Reply Call(const std::string &method, const std::string &path, const std::string &body = "",
             const std::string &token = "", const std::string &content_type = "application/json") {
    httplib::Client cli("127.0.0.1", port_);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    httplib::Result r = method == "GET"     ? cli.Get(path, h)
                        : method == "POST"  ? cli.Post(path, h, body, content_type)
                        : method == "PATCH" ? cli.Patch(path, h, body, content_type)
                                            : cli.Delete(path, h);
    REQUIRE(r);
    return Reply{r->status, r->body, r->headers};
  }
  Reply Api(const std::string &token, const std::string &path) { return Call("GET", "/api/v3" + path, "", token); }

  // The token reply of a code minted for `athlete` (by id; 0: no athlete given).
  ojson Grant(int64_t athlete, const std::string &scope = kAllScopes) {
    ojson ask = {{"scope", scope}};
    if (athlete) ask["athlete"] = athlete;
    const Reply code = Call("POST", "/_emulator/code", ask.dump());
    REQUIRE(code.status == 200);
    return Exchange(code.json()["code"].get<std::string>());
  }
  ojson Exchange(const std::string &code) {
    const Reply t = Call("POST", "/oauth/token",
                         "client_id=12345&client_secret=emulator-secret&grant_type=authorization_code&code=" + code, "",
                         "application/x-www-form-urlencoded");
    REQUIRE(t.status == 200);
    return t.json();
  }
  std::string Token(int64_t athlete) { return Grant(athlete)["access_token"].get<std::string>(); }

  // Every activity the token lists, page by page, newest first.
  std::vector<int64_t> Listed(const std::string &token) {
    std::vector<int64_t> ids;
    for (int page = 1;; ++page) {
      const Reply r = Api(token, "/athlete/activities?per_page=200&page=" + std::to_string(page));
      REQUIRE(r.status == 200);
      const ojson list = r.json();
      if (list.empty()) return ids;
      for (const ojson &a : list) ids.push_back(a["id"].get<int64_t>());
    }
  }
  // The control API's listing of one athlete (none: the default).
  std::vector<int64_t> Controlled(int64_t athlete = 0) {
    const Reply r = Call("GET", "/_emulator/activities?form=summary" +
                                    (athlete ? "&athlete=" + std::to_string(athlete) : std::string()));
    REQUIRE(r.status == 200);
    std::vector<int64_t> ids;
    for (const ojson &a : r.json()) ids.push_back(a["id"].get<int64_t>());
    return ids;
  }

 private:
  emu::Server server_;
  int port_ = 0;
  std::thread thread_;
};

std::set<int64_t> Sorted(const std::vector<int64_t> &ids) { return {ids.begin(), ids.end()}; }

// A 404 as for an unknown id: Strava's Record Not Found, or (every third) no body.
void CheckNotFound(const Reply &r) {
  CHECK(r.status == 404);
  if (!r.body.empty()) CHECK(r.json()["message"] == "Record Not Found");
}

TEST_CASE("Three athletes: each token lists only its own athlete's activities, ids disjoint", "[emulator]") {
  LiveEmulator emu(Athletes(120, {40, 60}));
  const ojson config = emu.Call("GET", "/_emulator/config").json();
  REQUIRE(config["athletes"].size() == 3);
  std::set<int64_t> all;
  std::set<std::string> names;
  size_t total = 0;
  for (int k = 0; k < 3; ++k) {
    const int64_t id = config["athletes"][static_cast<size_t>(k)]["id"].get<int64_t>();
    CHECK(id == kFirst + k);
    CHECK(config["athletes"][static_cast<size_t>(k)]["activities"] == std::vector<int>{120, 40, 60}[k]);
    const ojson grant = emu.Grant(id);
    CHECK(grant["athlete"]["id"] == id);
    names.insert(grant["athlete"]["firstname"].get<std::string>() + " " +
                 grant["athlete"]["lastname"].get<std::string>());
    const std::string token = grant["access_token"].get<std::string>();
    CHECK(emu.Api(token, "/athlete").json()["id"] == id);
    CHECK(emu.Api(token, "/athletes/" + std::to_string(id) + "/stats").status == 200);

    const std::vector<int64_t> listed = emu.Listed(token);
    CHECK(Sorted(listed) == Sorted(emu.Controlled(id)));  // the hidden ones are in neither
    const ojson first = emu.Api(token, "/athlete/activities?per_page=1").json();
    CHECK(first[0]["athlete"]["id"] == id);
    total += listed.size();
    all.insert(listed.begin(), listed.end());
  }
  CHECK(names.size() == 3);
  CHECK(all.size() == total);  // no id in two athletes' histories
  // No athlete given: athlete 0, as with one athlete.
  CHECK(emu.Grant(0)["athlete"]["id"] == kFirst);
  CHECK(Sorted(emu.Controlled()) == Sorted(emu.Controlled(kFirst)));
}

TEST_CASE("Another athlete's activity answers 404 as an unknown one, on every endpoint", "[emulator]") {
  LiveEmulator emu(Athletes(30, {30}));
  const std::string zoe = emu.Token(kFirst), malik = emu.Token(kFirst + 1);
  for (const int64_t id : emu.Controlled(kFirst + 1)) {
    CHECK(emu.Api(malik, "/activities/" + std::to_string(id)).status == 200);
    for (const char *what : {"", "/laps", "/streams?keys=time"})
      CheckNotFound(emu.Api(zoe, "/activities/" + std::to_string(id) + what));
  }
  CheckNotFound(emu.Api(zoe, "/athletes/" + std::to_string(kFirst + 1) + "/stats"));
  CHECK(emu.Api(malik, "/athletes/" + std::to_string(kFirst + 1) + "/stats").status == 200);
  // Gear ids are global, as at Strava: each athlete's bikes under ids of their own.
  CHECK(emu.Api(malik, "/gear/b1012345").status == 200);
  CHECK(emu.Api(malik, "/gear/b1012345").json()["name"] == emu.Api(zoe, "/gear/b12345").json()["name"]);
  CheckNotFound(emu.Api(malik, "/gear/b12345"));
  CheckNotFound(emu.Api(zoe, "/gear/b1012345"));
  const ojson profile = emu.Api(malik, "/athlete").json();
  REQUIRE(profile["bikes"].size() == 3);
  CHECK(profile["bikes"][0]["id"] == "b1012345");
  for (const int64_t id : emu.Controlled(kFirst + 1)) {
    const ojson a = emu.Api(malik, "/activities/" + std::to_string(id)).json();
    if (a["gear_id"].is_string()) CHECK(a["gear_id"].get<std::string>().substr(1, 2) == "10");
  }
}

TEST_CASE("Athlete 0 is the same with and without more athletes", "[emulator]") {
  LiveEmulator alone(Athletes(300, {})), family(Athletes(300, {50, 50}));
  for (const char *form : {"", "?form=summary"})
    CHECK(alone.Call("GET", std::string("/_emulator/activities") + form).body ==
          family.Call("GET", std::string("/_emulator/activities") + form).body);
  const std::string a = alone.Token(0), f = family.Token(0);
  for (const char *path : {"/athlete", "/athlete/zones", "/athlete/activities?per_page=200&page=1",
                           "/athlete/activities?per_page=200&page=2", "/athlete/activities?after=0&per_page=50",
                           "/gear/g67890", "/athletes/3141592653/stats"})
    CHECK(alone.Api(a, path).body == family.Api(f, path).body);
  const std::vector<int64_t> ids = alone.Controlled();
  for (size_t i = 0; i < ids.size(); i += 25) {
    const std::string p = "/activities/" + std::to_string(ids[i]);
    CHECK(alone.Api(a, p).body == family.Api(f, p).body);
    CHECK(alone.Api(a, p + "/streams?keys=time,latlng,heartrate&key_by_type=true").body ==
          family.Api(f, p + "/streams?keys=time,latlng,heartrate&key_by_type=true").body);
  }
}

TEST_CASE("Deauthorize revokes the token's grant only; the control call one athlete's grants", "[emulator]") {
  LiveEmulator emu(Athletes(10, {10, 10}));
  const std::string zoe = emu.Token(kFirst), malik = emu.Token(kFirst + 1), ines1 = emu.Token(kFirst + 2),
                    ines2 = emu.Token(kFirst + 2);
  CHECK(emu.Call("POST", "/oauth/deauthorize", "", malik).status == 200);
  CHECK(emu.Api(malik, "/athlete").status == 401);
  for (const std::string &t : {zoe, ines1, ines2}) CHECK(emu.Api(t, "/athlete").status == 200);

  const Reply revoked = emu.Call("POST", "/_emulator/revoke", ojson{{"athlete", kFirst + 2}}.dump());
  REQUIRE(revoked.status == 200);
  CHECK(revoked.json()["revoked"] == 2);
  CHECK(emu.Api(ines1, "/athlete").status == 401);
  CHECK(emu.Api(ines2, "/athlete").status == 401);
  CHECK(emu.Api(zoe, "/athlete").status == 200);
  CHECK(emu.Call("POST", "/_emulator/revoke", "{}").status == 400);
  CHECK(emu.Call("POST", "/_emulator/revoke", ojson{{"athlete", kFirst + 3}}.dump()).status == 400);
}

TEST_CASE("Rate limits are the app's: every athlete's requests count in one usage", "[emulator]") {
  LiveEmulator emu(Athletes(10, {10, 10}));
  const std::vector<std::string> tokens = {emu.Token(kFirst), emu.Token(kFirst + 1), emu.Token(kFirst + 2)};
  for (int i = 0; i < 6; ++i) {
    const Reply r = emu.Api(tokens[static_cast<size_t>(i % 3)], "/athlete");
    CHECK(r.status == 200);
    CHECK(r.headers.find("X-RateLimit-Limit") != r.headers.end());
    CHECK(httplib::detail::get_header_value(r.headers, "X-RateLimit-Usage", 0, "") ==
          std::to_string(i + 1) + "," + std::to_string(i + 1));
  }
  ojson counters = emu.Call("GET", "/_emulator/counters").json();
  CHECK(counters["by_athlete"] ==
        ojson({{std::to_string(kFirst), 2}, {std::to_string(kFirst + 1), 2}, {std::to_string(kFirst + 2), 2}}));

  // Athlete 0 spends the short window; the others are over the limit as well.
  REQUIRE(emu.Call("POST", "/_emulator/ratelimit", R"({"limit":[8,1000]})").status == 200);
  CHECK(emu.Api(tokens[0], "/athlete").status == 200);
  CHECK(emu.Api(tokens[0], "/athlete").status == 200);
  CHECK(emu.Api(tokens[1], "/athlete").status == 429);
  CHECK(emu.Api(tokens[2], "/athlete/activities").status == 429);
  const ojson rl = emu.Call("GET", "/_emulator/ratelimit").json();
  CHECK(rl["usage"] == ojson::array({8, 10}));
  counters = emu.Call("GET", "/_emulator/counters").json();
  CHECK(counters["rejected"] == 2);
  CHECK(counters["by_athlete"][std::to_string(kFirst + 1)] == 3);
}

TEST_CASE("The browser flow approves as the athlete signed in at strava.com", "[emulator]") {
  LiveEmulator emu(Athletes(10, {10}));
  auto authorize = [&emu] {
    const Reply r = emu.Call("GET",
                             "/oauth/authorize?client_id=12345&response_type=code&scope=read,activity:read"
                             "&redirect_uri=http://127.0.0.1:9/cb&state=s");
    REQUIRE(r.status == 302);
    const std::string loc = httplib::detail::get_header_value(r.headers, "Location", 0, "");
    const size_t at = loc.find("code=") + 5;
    return emu.Exchange(loc.substr(at, loc.find('&', at) - at))["athlete"]["id"].get<int64_t>();
  };
  CHECK(authorize() == kFirst);
  const Reply login = emu.Call("POST", "/_emulator/login", ojson{{"athlete", kFirst + 1}}.dump());
  REQUIRE(login.status == 200);
  CHECK(login.json()["athlete"] == kFirst + 1);
  CHECK(authorize() == kFirst + 1);
  CHECK(emu.Call("POST", "/_emulator/login", ojson{{"athlete", 42}}.dump()).status == 400);
  CHECK(authorize() == kFirst + 1);
}

TEST_CASE("Control calls create for one athlete and find any activity by its id", "[emulator]") {
  LiveEmulator emu(Athletes(20, {20}));
  const int64_t malik = kFirst + 1;
  const Reply made = emu.Call("POST", "/_emulator/activities?athlete=" + std::to_string(malik),
                              R"({"name":"Club ride","sport_type":"Ride"})");
  REQUIRE(made.status == 201);
  const int64_t id = made.json()["id"].get<int64_t>();
  CHECK(made.json()["athlete"]["id"] == malik);
  CHECK(Sorted(emu.Controlled(malik)).count(id) == 1);
  CHECK(Sorted(emu.Controlled()).count(id) == 0);
  CHECK(Sorted(emu.Listed(emu.Token(malik))).count(id) == 1);
  CHECK(Sorted(emu.Listed(emu.Token(kFirst))).count(id) == 0);

  const std::string path = "/_emulator/activities/" + std::to_string(id);
  CHECK(emu.Call("PATCH", path, R"({"name":"Club ride, wet"})").json()["name"] == "Club ride, wet");
  CHECK(emu.Call("GET", path).json()["athlete"]["id"] == malik);
  CHECK(emu.Call("DELETE", path).status == 204);
  CHECK(emu.Call("GET", path).status == 404);

  // Ids are global: one athlete's id cannot be given to another's new activity.
  const int64_t zoes = emu.Controlled().front();
  CHECK(emu.Call("POST", "/_emulator/activities?athlete=" + std::to_string(malik),
                 ojson{{"id", zoes}, {"name", "Copy"}}.dump())
            .status == 400);
  CHECK(emu.Call("GET", "/_emulator/activities?athlete=1").status == 400);
}

}  // namespace
