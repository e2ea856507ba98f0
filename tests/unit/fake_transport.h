// FakeStrava: an in-process Strava behind the Transport interface.
//
// A model of Strava good enough for the sync: it holds activities and gear,
// serves POST /oauth/token (code exchange; refresh with rotation: the old
// refresh token dies at once), GET /api/v3/athlete, /athlete/zones, /athlete/activities
// (before/after/page/per_page with Strava's ordering: newest first unless only
// `after` is given; strict bounds; a page past the end is []),
// /activities/{id}, /activities/{id}/streams (key_by_type) and /gear/{id}. It
// counts usage in 15-minute and daily windows on the test's clock, answers 429
// over a limit, and puts X-RateLimit-* / X-ReadRateLimit-* headers on every
// API reply.
//
// It is strict: API calls must be GETs under base_url with a live
// "Authorization: Bearer" token (else 401; a token in the URL does not
// count), list parameters are checked at least as strictly as Strava does
// (epoch seconds, not ms; per_page <= 200; no unknown keys), and anything
// else is answered 404 or 400. One simplification: every refresh issues a new
// access token (Strava hands back the old one while it has over an hour
// left), so tests see each refresh in the Authorization headers.
//
// Tests assert on traffic as much as on results: every request is recorded
// (method, url, headers, body, parsed query, endpoint, the status answered,
// the clock time) and counted by endpoint. Failures are injected with
// FailNth(): the N-th (and following `count`) requests matching an endpoint
// and an optional predicate get a given status and body, a network error, a
// garbage body or truncated JSON.
//
// Not thread-safe; one per test.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "model/activity.h"
#include "base/clock.h"
#include "config/config.h"
#include "strava/http.h"
#include "strava/token_store.h"

namespace stravafs::testing {

// A fresh private directory under $TMPDIR (or /tmp), removed with everything in
// it at destruction: the cache file, the token dir.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

enum class Endpoint { kToken, kAthlete, kZones, kList, kDetail, kStreams, kGear, kUnknown };
const char* EndpointName(Endpoint e);

struct RecordedRequest {
  int64_t seq = 0;                           // 1-based arrival order
  int64_t at_ms = 0;                         // the clock when it arrived
  std::string method, url, path;             // path: the part after base_url, without the query
  std::map<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> form;   // decoded form body (POST)
  Headers headers;
  std::string body;
  Endpoint endpoint = Endpoint::kUnknown;
  std::string id;   // the {id} of /activities/{id}[/streams] and /gear/{id}
  long status = 0;  // what the fake answered; 0 for an injected network error

  std::optional<std::string> header(std::string_view name) const;
  // The query parameter as a number; nullopt when absent.
  std::optional<int64_t> query_int(const std::string& key) const;
};

// What an injected failure answers.
struct Failure {
  enum Kind { kHttp, kNetwork, kGarbage, kTruncated, kBody } kind = kHttp;
  long status = 500;
  std::string body;

  static Failure Http(long status, std::string body = "") { return {kHttp, status, std::move(body)}; }
  static Failure Network(std::string message = "Recv failure: Connection reset by peer") {
    return {kNetwork, 0, std::move(message)};
  }
  // 200 with an HTML page instead of JSON.
  static Failure Garbage() { return {kGarbage, 200, ""}; }
  // 200 with the real reply cut in half.
  static Failure Truncated() { return {kTruncated, 200, ""}; }
  // 200 with this body: valid JSON of the wrong shape, say.
  static Failure Body(std::string body) { return {kBody, 200, std::move(body)}; }
};

// Strava's error bodies, verbatim in shape.
inline constexpr const char* kBodyInvalidToken =
    R"({"message":"Authorization Error","errors":[{"resource":"Athlete","field":"access_token","code":"invalid"}]})";
inline constexpr const char* kBodyMissingScope =
    R"({"message":"Authorization Error","errors":[{"resource":"AccessToken","field":"activity:read_permission","code":"missing"}]})";
inline constexpr const char* kBodyMissingProfileScope =
    R"({"message":"Authorization Error","errors":[{"resource":"AccessToken","field":"profile:read_permission","code":"missing"}]})";
inline constexpr const char* kBodyInactive =
    R"({"message":"Forbidden","errors":[{"resource":"Application","field":"subscription","code":"Inactive"}]})";
inline constexpr const char* kBodyRateLimit =
    R"({"message":"Rate Limit Exceeded","errors":[{"resource":"Application","field":"rate limit","code":"exceeded"}]})";
inline constexpr const char* kBodyNotFound =
    R"({"message":"Record Not Found","errors":[{"resource":"Activity","field":"id","code":"invalid"}]})";
inline constexpr const char* kBodyBadRefreshToken =
    R"({"message":"Bad Request","errors":[{"resource":"RefreshToken","field":"refresh_token","code":"invalid"}]})";
inline constexpr const char* kBodyBadCode =
    R"({"message":"Bad Request","errors":[{"resource":"AuthorizationCode","field":"code","code":"invalid"}]})";
inline constexpr const char* kBodyBadClient =
    R"({"message":"Bad Request","errors":[{"resource":"Application","field":"client_id","code":"invalid"}]})";

// One activity as the fake holds it; its JSON is generated from these fields.
struct FakeActivity {
  int64_t id = 0;
  int64_t start = 0;          // epoch seconds, UTC
  int64_t utc_offset = 7200;  // seconds; start_date_local = start + utc_offset, written with a Z
  std::string timezone = "(GMT+01:00) Europe/Paris";
  std::string name;
  std::string sport_type = "Run";
  double distance = 5000.5;
  int64_t moving_time = 1500, elapsed_time = 1620;
  std::optional<std::string> gear_id;
  bool manual = false;      // manual: no GPS, streams answer 404
  int stream_points = 5;    // samples per stream
  std::string description;  // detailed only
  double calories = 321.5;  // detailed only
  int laps = 2;             // detailed only
};

struct RateLimits {
  int64_t short_limit = 200, daily_limit = 2000;            // X-RateLimit-Limit
  int64_t read_short_limit = 100, read_daily_limit = 1000;  // X-ReadRateLimit-Limit
};

class FakeStrava final : public Transport {
 public:
  using Match = std::function<bool(const RecordedRequest&)>;

  static constexpr const char* kBaseUrl = "https://strava.fake";
  static constexpr const char* kClientId = "12345";
  static constexpr const char* kClientSecret = "client-secret-xyz";
  static constexpr int64_t kAthleteId = 4242;

  // `clock` drives token expiry and the rate-limit windows.
  explicit FakeStrava(Clock& clock, int64_t window_ms = 15 * 60 * 1000, int64_t day_ms = 24 * 3600 * 1000);

  Result<HttpResponse> Send(const HttpRequest& request) override;

  // --- data ---
  // `count` activities, newest first from `newest_start`, `spacing_s` apart,
  // ids from `first_id` up (the newest has the highest id). Every 10th is
  // manual (no streams), every 3rd has gear "b1" and every 7th "g2".
  void Generate(int count, int64_t newest_start, int64_t spacing_s = 86400, int64_t first_id = INT64_C(10000000000));
  void Add(const FakeActivity& a) { activities_[a.id] = a; }
  FakeActivity& Get(int64_t id) { return activities_.at(id); }
  bool Has(int64_t id) const { return activities_.count(id) != 0; }
  void Delete(int64_t id) { activities_.erase(id); }
  const std::map<int64_t, FakeActivity>& activities() const { return activities_; }
  // Ids, newest start first.
  std::vector<int64_t> IdsNewestFirst() const;
  void AddGear(const std::string& id, const std::string& name) { gear_[id] = name; }
  // What GET /athlete/zones answers: heart-rate zones with an open top (-1)
  // and power zones, in Strava's shape.
  Json zones = Json::parse(R"({"heart_rate":{"custom_zones":true,"zones":[{"min":0,"max":130},{"min":130,"max":145},)"
                           R"({"min":145,"max":160},{"min":160,"max":175},{"min":175,"max":-1}]},)"
                           R"("power":{"zones":[{"min":0,"max":150},{"min":150,"max":-1}]}})");

  // The JSON the fake serves.
  static Json SummaryJson(const FakeActivity& a);
  static Json DetailJson(const FakeActivity& a);
  static Json StreamsJson(const FakeActivity& a, const std::vector<std::string>& keys, bool key_by_type);
  // start_date_local as Strava writes it (with the misleading Z).
  static std::string LocalIso(const FakeActivity& a) { return FormatIsoUtc(a.start + a.utc_offset); }

  // --- OAuth ---
  // Issues a fresh access/refresh pair (as an authorization would) and
  // returns it; the previous refresh token dies.
  Tokens IssueInitialTokens(const std::string& scope = "read,activity:read_all,profile:read_all");
  void AddAuthorizationCode(const std::string& code) { codes_.insert(code); }
  bool rotate_refresh_tokens = true;  // false: refresh returns the same refresh token
  bool ignore_page = false;           // true: every listing request gets page 1 (a broken server)
  // false: the grant lacks profile:read_all, so GET /athlete/zones answers
  // 401 with field profile:read_permission, code missing (as Strava does).
  bool profile_scope = true;
  const std::string& live_refresh_token() const { return refresh_token_; }
  int refreshes() const { return refreshes_; }
  // Kills every access token (as a revocation would); the refresh token lives.
  void ExpireAccessTokens() { access_tokens_.clear(); }

  // --- rate limits ---
  RateLimits limits;
  // Names of the rate-limit headers: as documented, Strava's odd casing, or
  // all lowercase (HTTP/2).
  enum class HeaderCase { kDocumented, kStrava, kLower } header_case = HeaderCase::kDocumented;
  // Requests made by other apps of the same client id (they share the limits).
  void AddUsage(int64_t short_n, int64_t daily_n);
  int64_t short_usage();
  int64_t daily_usage();
  int rejected() const { return rejected_; }  // 429s answered (injected ones excluded)

  // --- faults ---
  // The nth..nth+count-1 requests (1-based, counted from now) that hit
  // `endpoint` and satisfy `match` fail as `failure`.
  void FailNth(Endpoint endpoint, int nth, Failure failure, int count = 1, Match match = {});
  // Runs first on every request, after it is recorded.
  std::function<void(const RecordedRequest&)> on_request;

  // --- traffic ---
  const std::vector<RecordedRequest>& requests() const { return requests_; }
  int Count(Endpoint e) const;
  int CountIf(const Match& match) const;
  std::vector<RecordedRequest> Requests(Endpoint e) const;
  int api_requests() const;  // everything but /oauth
  void ClearRequests() { requests_.clear(); }

 private:
  struct Fault {
    Endpoint endpoint;
    Match match;
    int nth, count, seen = 0;
    Failure failure;
  };
  HttpResponse Serve(RecordedRequest& r);
  HttpResponse ServeToken(const RecordedRequest& r);
  HttpResponse ServeApi(const RecordedRequest& r);
  HttpResponse ServeList(const RecordedRequest& r);
  HttpResponse Json200(const Json& j);
  void Roll();
  void AddRateHeaders(HttpResponse& resp);
  Tokens Issue();

  Clock& clock_;
  int64_t window_ms_, day_ms_;
  std::map<int64_t, FakeActivity> activities_;
  std::map<std::string, std::string> gear_;
  std::vector<Fault> faults_;
  std::vector<RecordedRequest> requests_;
  int64_t seq_ = 0;

  std::map<std::string, int64_t> access_tokens_;  // live tokens → expires_at (s)
  std::string refresh_token_;
  std::set<std::string> codes_;
  int token_serial_ = 0;
  int refreshes_ = 0;

  int64_t window_index_ = -1, day_index_ = -1;
  int64_t short_usage_ = 0, daily_usage_ = 0;
  int rejected_ = 0;
};

// A config pointing at FakeStrava, with its file and token dir inside `tmp`.
inline Config ConfigForFake(const TempDir& tmp) {
  Config config;
  config.path = tmp / "stravafs.conf";
  config.base_url = FakeStrava::kBaseUrl;
  config.client_id = FakeStrava::kClientId;
  config.client_secret = FakeStrava::kClientSecret;
  config.state_dir = tmp / "state";
  return config;
}

}  // namespace stravafs::testing
