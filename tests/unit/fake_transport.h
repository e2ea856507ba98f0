// FakeStrava: the strava-emulator's Strava, in-process, behind the Transport
// interface, on the test's clock.
//
// Strava's behaviour is not modelled here: every request goes to
// emu::Emulator::Handle (tests/emulator/emulator.h), the same pipeline and
// handlers the strava-emulator serves over HTTP to the integration tests, the
// demo and the benchmarks. So what a listing returns for
// before/after/page/per_page, 404s, the JSON of activities, streams, the
// athlete, zones and gear, OAuth (single-use codes, refresh with rotation, an
// unchanged token while it has over an hour left), the rate-limit windows,
// their headers and 429s are the emulator's, as STRAVA_API.md describes them.
// The emulator runs on the test's Clock (token expiry, rate-limit windows),
// names tokens "access-1", "refresh-1", ... in order, and starts with no
// activities, the gear "b1" and its own zones.
//
// What the fake adds is what unit tests need around it. Tests assert on
// traffic as much as on results: every request is recorded (method, url,
// headers, body, parsed query and form, endpoint, the status answered, the
// clock time) and counted by endpoint. Failures are injected with FailNth():
// the N-th (and following `count`) requests matching an endpoint and an
// optional predicate get a given status and body, a network error, a garbage
// body or truncated JSON; an injected reply to an API call still counts
// against the rate limits and carries their headers, as a real one would.
// And there are helpers to set up the athlete: Generate(), Add(), Edit(),
// Delete(), AddGear(), SetZones(), tokens and usage by other apps.
//
// Not thread-safe; one per test.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/activity.h"
#include "base/clock.h"
#include "config/config.h"
#include "strava/http.h"
#include "strava/token_store.h"
#include "emulator.h"

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

// What Add() creates: the fields a test chooses. The emulator fills in the
// rest (GPS, heart rate, laps, streams, ...) deterministically from the id,
// as it does for activities created through its control API.
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
  bool manual = false;  // manual: no GPS, streams answer 404
  std::string description;
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
  // Samples per stream: few, so that a thousand activities sync quickly.
  static constexpr int kSamples = 8;

  // `clock` drives token expiry and the rate-limit windows.
  explicit FakeStrava(Clock& clock, int64_t window_ms = 15 * 60 * 1000, int64_t day_ms = 24 * 3600 * 1000);
  ~FakeStrava() override;

  Result<HttpResponse> Send(const HttpRequest& request) override;

  // --- data (the emulator's activity store) ---
  // `count` activities, newest first from `newest_start`, `spacing_s` apart,
  // ids from `first_id` up (the newest has the highest id). Every 10th is
  // manual (no streams), every 3rd has gear "b1" and every 7th "g2" (which
  // the athlete does not own: GET /gear/g2 answers 404).
  void Generate(int count, int64_t newest_start, int64_t spacing_s = 86400, int64_t first_id = INT64_C(10000000000));
  void Add(const FakeActivity& a);
  // Changes fields as the emulator's control API does (PATCH
  // /_emulator/activities/{id}): {"name": "...", "description": "..."}.
  void Edit(int64_t id, const Json& fields);
  emu::Activity Get(int64_t id) const;
  bool Has(int64_t id) const;
  void Delete(int64_t id);
  std::map<int64_t, emu::Activity> activities() const;
  // Ids, newest start first.
  std::vector<int64_t> IdsNewestFirst() const;
  void AddGear(const std::string& id, const std::string& name);
  // What GET /athlete/zones answers from now on.
  void SetZones(const Json& zones);

  // The JSON the emulator serves for an activity, and its stream length
  // (0 for a manual activity, whose streams answer 404).
  Json SummaryJson(int64_t id) const;
  Json DetailJson(int64_t id) const;
  size_t StreamPoints(int64_t id) const;
  // start_date_local as Strava writes it (with the misleading Z).
  static std::string LocalIso(const emu::Activity& a) { return FormatIsoUtc(a.start + a.utc_offset); }

  // --- OAuth ---
  // Authorizes anew (every earlier grant is revoked, as if the athlete had
  // removed the app and authorized again) and returns the new tokens.
  Tokens IssueInitialTokens(const std::string& scope = "read,activity:read_all,profile:read_all");
  // A code that POST /oauth/token exchanges once for tokens with `scope`.
  void AddAuthorizationCode(const std::string& code,
                            const std::string& scope = "read,activity:read_all,profile:read_all");
  // The refresh token of the last token reply (or IssueInitialTokens).
  const std::string& live_refresh_token() const { return refresh_token_; }
  int refreshes() const { return refreshes_; }  // refresh grants answered 200
  // false: a refresh hands back the same refresh token (Strava may rotate it).
  void RotateRefreshTokens(bool rotate) { emulator_->auth().set_rotate(rotate); }
  // Kills every access token (as a revocation would); the refresh token lives.
  void ExpireAccessTokens();
  bool ignore_page = false;  // true: every listing request gets page 1 (a broken server)

  // --- rate limits ---
  // The app's limits; the emulator enforces what is here at each request.
  RateLimits limits;
  // Names of the rate-limit headers: as documented, Strava's odd casing, or
  // all lowercase (HTTP/2); also read at each request.
  enum class HeaderCase { kDocumented, kStrava, kLower } header_case = HeaderCase::kDocumented;
  // Requests made by other apps of the same client id (they share the limits).
  void AddUsage(int64_t short_n, int64_t daily_n);
  int64_t short_usage();
  int64_t daily_usage();
  int rejected() const;  // 429s the emulator answered (injected ones excluded)

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
  // The emulator's answer, after the limits and header case are applied.
  HttpResponse Serve(const emu::Request& request);

  Clock& clock_;
  std::unique_ptr<emu::Emulator> emulator_;
  std::vector<Fault> faults_;
  std::vector<RecordedRequest> requests_;
  int64_t seq_ = 0;
  int token_serial_ = 0, code_serial_ = 0;
  std::string refresh_token_;
  int refreshes_ = 0;
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
