#include "fake_transport.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace stravafs::testing {

TempDir::TempDir() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/stravafs-unit-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> ParsePairs(std::string_view s) {
  std::map<std::string, std::string> out;
  while (!s.empty()) {
    size_t amp = s.find('&');
    std::string_view part = s.substr(0, amp);
    s = amp == std::string_view::npos ? std::string_view() : s.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      out[Decode(part)] = "";
    else
      out[Decode(part.substr(0, eq))] = Decode(part.substr(eq + 1));
  }
  return out;
}

std::optional<int64_t> ToInt(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoll(s);
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

HttpResponse Error(long status, const std::string& body) {
  HttpResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  r.body = body;
  return r;
}

HttpResponse BadParam(const std::string& field) {
  return Error(400, R"({"message":"Bad Request","errors":[{"resource":"Application","field":")" + field +
                        R"(","code":"invalid"}]})");
}

// A number as Strava sends it: an integer when it has no fraction.
Json Number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return Json(static_cast<int64_t>(v));
  return Json(v);
}

}  // namespace

const char* EndpointName(Endpoint e) {
  switch (e) {
    case Endpoint::kToken:
      return "token";
    case Endpoint::kAthlete:
      return "athlete";
    case Endpoint::kZones:
      return "zones";
    case Endpoint::kList:
      return "list";
    case Endpoint::kDetail:
      return "detail";
    case Endpoint::kStreams:
      return "streams";
    case Endpoint::kGear:
      return "gear";
    case Endpoint::kUnknown:
      return "unknown";
  }
  return "?";
}

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (EqualsIgnoreCase(n, name)) return v;
  return std::nullopt;
}

std::optional<int64_t> RecordedRequest::query_int(const std::string& key) const {
  auto it = query.find(key);
  if (it == query.end()) return std::nullopt;
  return ToInt(it->second);
}

FakeStrava::FakeStrava(Clock& clock, int64_t window_ms, int64_t day_ms)
    : clock_(clock), window_ms_(window_ms), day_ms_(day_ms) {
  gear_["b1"] = "Trusty Bike";
}

// --- data -------------------------------------------------------------------

void FakeStrava::Generate(int count, int64_t newest_start, int64_t spacing_s, int64_t first_id) {
  static const char* kSports[] = {"Run", "Ride", "TrailRun", "Swim", "Walk", "Padel"};
  for (int i = 0; i < count; ++i) {
    FakeActivity a;
    a.id = first_id + (count - 1 - i);
    a.start = newest_start - i * spacing_s;
    a.sport_type = kSports[i % 6];
    if (i % 5 == 0)
      a.name = "Café «Ride» 🚴 #" + std::to_string(i);
    else if (i % 7 == 0)
      a.name = "Quote \"x\" / slash\\ #" + std::to_string(i);
    else
      a.name = "Morning " + a.sport_type + " #" + std::to_string(i);
    a.distance = i % 4 == 0 ? 5000 : 1000 + i * 13.25;
    a.moving_time = 1200 + i;
    a.elapsed_time = 1300 + i;
    switch (i % 3) {
      case 0:
        a.utc_offset = 7200;
        a.timezone = "(GMT+01:00) Europe/Paris";
        break;
      case 1:
        a.utc_offset = -14400;
        a.timezone = "(GMT-05:00) America/New_York";
        break;
      default:
        a.utc_offset = 19800;
        a.timezone = "(GMT+05:30) Asia/Kolkata";
        break;
    }
    a.manual = i % 10 == 9;
    if (i % 7 == 0)
      a.gear_id = "g2";
    else if (i % 3 == 0)
      a.gear_id = "b1";
    a.description = "Felt good, day " + std::to_string(i);
    a.calories = 300 + i;
    a.stream_points = 3 + i % 4;
    activities_[a.id] = a;
  }
}

std::vector<int64_t> FakeStrava::IdsNewestFirst() const {
  std::vector<const FakeActivity*> all;
  for (const auto& [id, a] : activities_) all.push_back(&a);
  std::sort(all.begin(), all.end(), [](const FakeActivity* x, const FakeActivity* y) {
    return x->start != y->start ? x->start > y->start : x->id > y->id;
  });
  std::vector<int64_t> ids;
  for (const auto* a : all) ids.push_back(a->id);
  return ids;
}

Json FakeStrava::SummaryJson(const FakeActivity& a) {
  Json j = Json::object();
  j["resource_state"] = 2;
  j["athlete"] = {{"id", kAthleteId}, {"resource_state", 1}};
  j["name"] = a.name;
  j["distance"] = Number(a.distance);
  j["moving_time"] = a.moving_time;
  j["elapsed_time"] = a.elapsed_time;
  j["total_elevation_gain"] = a.manual ? Json(0) : Json(12.5);
  j["type"] = a.sport_type == "TrailRun" ? "Run" : a.sport_type;
  j["sport_type"] = a.sport_type;
  if (a.sport_type == "Run") j["workout_type"] = 0;
  j["id"] = a.id;
  j["start_date"] = FormatIsoUtc(a.start);
  j["start_date_local"] = LocalIso(a);
  j["timezone"] = a.timezone;
  j["utc_offset"] = static_cast<double>(a.utc_offset);
  j["location_country"] = "France";
  j["achievement_count"] = 0;
  j["kudos_count"] = 3;
  j["comment_count"] = 0;
  j["athlete_count"] = 1;
  j["photo_count"] = 0;
  j["map"] = {{"id", "a" + std::to_string(a.id)},
              {"summary_polyline", a.manual ? "" : "_p~iF~ps|U_ulLnnqC"},
              {"resource_state", 2}};
  j["trainer"] = false;
  j["commute"] = false;
  j["manual"] = a.manual;
  j["private"] = false;
  j["visibility"] = "everyone";
  j["flagged"] = false;
  j["gear_id"] = a.gear_id ? Json(*a.gear_id) : Json(nullptr);
  j["start_latlng"] = a.manual ? Json::array() : Json::array({48.8566, 2.3522});
  j["end_latlng"] = a.manual ? Json::array() : Json::array({48.86, 2.36});
  j["average_speed"] = a.moving_time > 0 ? a.distance / static_cast<double>(a.moving_time) : 0.0;
  j["max_speed"] = 0;
  j["has_heartrate"] = !a.manual;
  if (!a.manual) {
    j["average_heartrate"] = 141.3;
    j["max_heartrate"] = 171;
  }
  j["pr_count"] = 0;
  j["total_photo_count"] = 0;
  j["upload_id"] = a.manual ? Json(nullptr) : Json(a.id + 1000000000);
  j["external_id"] = a.manual ? Json(nullptr) : Json("garmin_" + std::to_string(a.id) + ".fit");
  return j;
}

Json FakeStrava::DetailJson(const FakeActivity& a) {
  Json j = SummaryJson(a);
  j["resource_state"] = 3;
  j["description"] = a.description;
  j["calories"] = Number(a.calories);
  j["device_name"] = a.manual ? Json(nullptr) : Json("Garmin Forerunner 255");
  j["map"]["polyline"] = a.manual ? "" : "_p~iF~ps|U_ulLnnqC_mqNvxq`@";
  j["map"]["resource_state"] = 3;
  Json laps = Json::array();
  for (int k = 1; k <= a.laps; ++k) {
    laps.push_back({{"id", a.id * 10 + k},
                    {"resource_state", 2},
                    {"name", "Lap " + std::to_string(k)},
                    {"activity", {{"id", a.id}, {"resource_state", 1}}},
                    {"elapsed_time", a.elapsed_time / a.laps},
                    {"moving_time", a.moving_time / a.laps},
                    {"start_date", FormatIsoUtc(a.start + (k - 1) * 600)},
                    {"start_date_local", FormatIsoUtc(a.start + a.utc_offset + (k - 1) * 600)},
                    {"distance", a.distance / a.laps},
                    {"start_index", (k - 1) * 10},
                    {"end_index", k * 10 - 1},
                    {"total_elevation_gain", 3},
                    {"average_speed", 3.1},
                    {"max_speed", 4},
                    {"lap_index", k}});
  }
  j["laps"] = laps;
  j["splits_metric"] = Json::array();
  return j;
}

Json FakeStrava::StreamsJson(const FakeActivity& a, const std::vector<std::string>& keys, bool key_by_type) {
  const int n = a.stream_points;
  auto make = [&](const std::string& type) -> std::optional<Json> {
    Json data = Json::array();
    for (int i = 0; i < n; ++i) {
      if (type == "time")
        data.push_back(i * 10);
      else if (type == "distance")
        data.push_back(i * 25.5);
      else if (type == "latlng")
        data.push_back(Json::array({48.85 + i * 0.001, 2.35 + i * 0.002}));
      else if (type == "altitude")
        data.push_back(35.25 + i);
      else if (type == "heartrate")
        data.push_back(i == 1 ? Json(nullptr) : Json(120 + i));
      else if (type == "moving")
        data.push_back(i != 0);
      else if (type == "velocity_smooth")
        data.push_back(i == 0 ? Json(0) : Json(2.5 * i));
      else if (type == "grade_smooth")
        data.push_back(0.5 * i);
      else
        return std::nullopt;  // cadence, watts, temp...: this fake device has none
    }
    return Json{{"data", data}, {"series_type", "distance"}, {"original_size", n}, {"resolution", "high"}};
  };
  Json by_type = Json::object(), list = Json::array();
  for (const auto& k : keys) {
    auto s = make(k);
    if (!s) continue;
    by_type[k] = *s;
    Json typed = {{"type", k}};
    typed.update(*s);
    list.push_back(typed);
  }
  return key_by_type ? by_type : list;
}

// --- OAuth --------------------------------------------------------------------

Tokens FakeStrava::Issue() {
  ++token_serial_;
  Tokens t;
  t.access_token = "access-" + std::to_string(token_serial_);
  t.expires_at = clock_.NowMs() / 1000 + 21600;
  access_tokens_[t.access_token] = t.expires_at;
  if (rotate_refresh_tokens || refresh_token_.empty()) refresh_token_ = "refresh-" + std::to_string(token_serial_);
  t.refresh_token = refresh_token_;
  t.athlete_id = kAthleteId;
  return t;
}

Tokens FakeStrava::IssueInitialTokens(const std::string& scope) {
  refresh_token_.clear();
  Tokens t = Issue();
  t.scope = scope;
  return t;
}

HttpResponse FakeStrava::ServeToken(const RecordedRequest& r) {
  if (r.method != "POST") return Error(404, kBodyNotFound);
  auto ct = r.header("Content-Type");
  if (!ct || ct->rfind("application/x-www-form-urlencoded", 0) != 0) return BadParam("content_type");
  auto field = [&](const char* k) -> std::string {
    auto it = r.form.find(k);
    return it == r.form.end() ? "" : it->second;
  };
  if (field("client_id") != kClientId) return Error(400, kBodyBadClient);
  if (field("client_secret") != kClientSecret)
    return Error(
        400,
        R"({"message":"Bad Request","errors":[{"resource":"Application","field":"client_secret","code":"invalid"}]})");
  const std::string grant = field("grant_type");
  Json reply;
  if (grant == "refresh_token") {
    if (refresh_token_.empty() || field("refresh_token") != refresh_token_) return Error(400, kBodyBadRefreshToken);
    ++refreshes_;
    Tokens t = Issue();
    reply = {{"token_type", "Bearer"},
             {"access_token", t.access_token},
             {"expires_at", t.expires_at},
             {"expires_in", 21600},
             {"refresh_token", t.refresh_token}};
  } else if (grant == "authorization_code") {
    if (!codes_.erase(field("code"))) return Error(400, kBodyBadCode);  // single use
    refresh_token_.clear();
    Tokens t = Issue();
    reply = {{"token_type", "Bearer"},
             {"access_token", t.access_token},
             {"expires_at", t.expires_at},
             {"expires_in", 21600},
             {"refresh_token", t.refresh_token},
             {"athlete", {{"id", kAthleteId}, {"resource_state", 2}, {"firstname", "Ada"}}}};
  } else {
    return BadParam("grant_type");
  }
  return Json200(reply);
}

// --- rate limits ----------------------------------------------------------------

void FakeStrava::Roll() {
  int64_t now = clock_.NowMs();
  if (now / window_ms_ != window_index_) {
    window_index_ = now / window_ms_;
    short_usage_ = 0;
  }
  if (now / day_ms_ != day_index_) {
    day_index_ = now / day_ms_;
    daily_usage_ = 0;
  }
}

void FakeStrava::AddUsage(int64_t short_n, int64_t daily_n) {
  Roll();
  short_usage_ += short_n;
  daily_usage_ += daily_n;
}

int64_t FakeStrava::short_usage() {
  Roll();
  return short_usage_;
}

int64_t FakeStrava::daily_usage() {
  Roll();
  return daily_usage_;
}

void FakeStrava::AddRateHeaders(HttpResponse& resp) {
  static constexpr const char* kNames[3][4] = {
      {"X-RateLimit-Limit", "X-RateLimit-Usage", "X-ReadRateLimit-Limit", "X-ReadRateLimit-Usage"},
      {"X-Ratelimit-Limit", "X-Ratelimit-Usage", "X-Readratelimit-Limit", "X-Readratelimit-Usage"},
      {"x-ratelimit-limit", "x-ratelimit-usage", "x-readratelimit-limit", "x-readratelimit-usage"}};
  const auto& names = kNames[header_case == HeaderCase::kDocumented ? 0 : header_case == HeaderCase::kStrava ? 1 : 2];
  auto pair = [](int64_t a, int64_t b) { return std::to_string(a) + "," + std::to_string(b); };
  resp.headers.emplace_back(names[0], pair(limits.short_limit, limits.daily_limit));
  resp.headers.emplace_back(names[1], pair(short_usage_, daily_usage_));
  resp.headers.emplace_back(names[2], pair(limits.read_short_limit, limits.read_daily_limit));
  resp.headers.emplace_back(names[3], pair(short_usage_, daily_usage_));
}

// --- serving ----------------------------------------------------------------------

HttpResponse FakeStrava::Json200(const Json& j) {
  HttpResponse r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  r.body = j.dump();
  return r;
}

HttpResponse FakeStrava::ServeList(const RecordedRequest& r) {
  for (const auto& [k, v] : r.query) {
    if (k != "before" && k != "after" && k != "page" && k != "per_page") return BadParam(k);
    if ((k == "before" || k == "after") && !ToInt(v)) return BadParam(k);
  }
  auto before = r.query_int("before"), after = r.query_int("after");
  // Milliseconds instead of seconds: Strava answers 400.
  if ((before && *before > INT64_C(100000000000)) || (after && *after > INT64_C(100000000000)))
    return BadParam(before && *before > INT64_C(100000000000) ? "before" : "after");
  // page and per_page as the emulator takes them (tests/emulator/server.cc):
  // what is not a positive integer is the default, and per_page is at most 200.
  int64_t page = std::max<int64_t>(1, r.query_int("page").value_or(1));
  int64_t per_page = std::min<int64_t>(200, r.query_int("per_page").value_or(30));
  if (per_page < 1) per_page = 30;
  if (ignore_page) page = 1;

  std::vector<const FakeActivity*> hits;
  for (const auto& [id, a] : activities_)
    if ((!after || a.start > *after) && (!before || a.start < *before)) hits.push_back(&a);
  const bool oldest_first = after && !before;
  std::sort(hits.begin(), hits.end(), [&](const FakeActivity* x, const FakeActivity* y) {
    if (x->start != y->start) return oldest_first ? x->start < y->start : x->start > y->start;
    return oldest_first ? x->id < y->id : x->id > y->id;
  });
  Json out = Json::array();
  for (size_t i = static_cast<size_t>((page - 1) * per_page);
       i < hits.size() && i < static_cast<size_t>(page * per_page); ++i)
    out.push_back(SummaryJson(*hits[i]));
  return Json200(out);
}

HttpResponse FakeStrava::ServeApi(const RecordedRequest& r) {
  if (r.method != "GET") return Error(404, kBodyNotFound);
  switch (r.endpoint) {
    case Endpoint::kAthlete:
      if (!r.query.empty()) return BadParam(r.query.begin()->first);
      return Json200({{"id", kAthleteId},
                      {"username", "ada"},
                      {"resource_state", 3},
                      {"firstname", "Ada"},
                      {"lastname", "Lovelace"},
                      {"city", "London"},
                      {"state", ""},
                      {"country", "United Kingdom"},
                      {"sex", "F"},
                      {"premium", true},
                      {"created_at", "2015-01-01T10:00:00Z"},
                      {"weight", 60.5},
                      {"ftp", nullptr}});
    case Endpoint::kZones:
      if (!r.query.empty()) return BadParam(r.query.begin()->first);
      if (!profile_scope) return Error(401, kBodyMissingProfileScope);
      return Json200(zones);
    case Endpoint::kList:
      return ServeList(r);
    case Endpoint::kDetail: {
      for (const auto& [k, v] : r.query)
        if (k != "include_all_efforts") return BadParam(k);
      auto id = ToInt(r.id);
      if (!id || !activities_.count(*id)) return Error(404, kBodyNotFound);
      return Json200(DetailJson(activities_.at(*id)));
    }
    case Endpoint::kStreams: {
      for (const auto& [k, v] : r.query)
        if (k != "keys" && k != "key_by_type") return BadParam(k);
      auto id = ToInt(r.id);
      if (!id || !activities_.count(*id) || activities_.at(*id).manual) return Error(404, kBodyNotFound);
      auto keys = r.query.count("keys") ? Split(r.query.at("keys")) : std::vector<std::string>{"distance"};
      bool by_type = r.query.count("key_by_type") && r.query.at("key_by_type") == "true";
      return Json200(StreamsJson(activities_.at(*id), keys, by_type));
    }
    case Endpoint::kGear: {
      auto it = gear_.find(r.id);
      if (it == gear_.end()) return Error(404, kBodyNotFound);
      return Json200({{"id", it->first},
                      {"primary", true},
                      {"name", it->second},
                      {"resource_state", 3},
                      {"distance", 12345.6},
                      {"brand_name", "Brand"},
                      {"model_name", "Model"},
                      {"retired", false}});
    }
    default:
      return Error(404, kBodyNotFound);
  }
}

HttpResponse FakeStrava::Serve(RecordedRequest& r) {
  if (r.endpoint == Endpoint::kToken) return ServeToken(r);
  // Authorization first, as Strava does; the token travels in the header only.
  auto auth = r.header("Authorization");
  const int64_t now_s = clock_.NowMs() / 1000;
  bool authorized = false;
  if (auth && auth->rfind("Bearer ", 0) == 0 && !r.query.count("access_token")) {
    auto it = access_tokens_.find(auth->substr(7));
    authorized = it != access_tokens_.end() && it->second > now_s;
  }
  Roll();
  ++short_usage_;
  ++daily_usage_;
  HttpResponse resp;
  if (!authorized) {
    resp = Error(401, kBodyInvalidToken);
  } else if (short_usage_ > std::min(limits.short_limit, limits.read_short_limit) ||
             daily_usage_ > std::min(limits.daily_limit, limits.read_daily_limit)) {
    ++rejected_;  // rejected requests still count toward the limits
    resp = Error(429, kBodyRateLimit);
  } else {
    resp = ServeApi(r);
  }
  AddRateHeaders(resp);
  return resp;
}

Result<HttpResponse> FakeStrava::Send(const HttpRequest& req) {
  RecordedRequest r;
  r.seq = ++seq_;
  r.at_ms = clock_.NowMs();
  r.method = req.method;
  r.url = req.url;
  r.headers = req.headers;
  r.body = req.body;
  const std::string base = kBaseUrl;
  const bool ours = req.url.rfind(base + "/", 0) == 0;
  if (ours) {
    std::string rest = req.url.substr(base.size());
    size_t q = rest.find('?');
    r.path = rest.substr(0, q);
    if (q != std::string::npos) r.query = ParsePairs(std::string_view(rest).substr(q + 1));
    if (req.method == "POST") r.form = ParsePairs(req.body);
    const std::string& p = r.path;
    const std::string acts = "/api/v3/activities/";
    if (p == "/oauth/token") {
      r.endpoint = Endpoint::kToken;
    } else if (p == "/api/v3/athlete") {
      r.endpoint = Endpoint::kAthlete;
    } else if (p == "/api/v3/athlete/zones") {
      r.endpoint = Endpoint::kZones;
    } else if (p == "/api/v3/athlete/activities") {
      r.endpoint = Endpoint::kList;
    } else if (p.rfind(acts, 0) == 0) {
      std::string tail = p.substr(acts.size());
      size_t slash = tail.find('/');
      r.id = tail.substr(0, slash);
      if (slash == std::string::npos)
        r.endpoint = Endpoint::kDetail;
      else if (tail.substr(slash) == "/streams")
        r.endpoint = Endpoint::kStreams;
    } else if (p.rfind("/api/v3/gear/", 0) == 0) {
      r.endpoint = Endpoint::kGear;
      r.id = Decode(p.substr(13));
    }
  }
  requests_.push_back(r);
  const size_t index = requests_.size() - 1;
  if (on_request) on_request(requests_[index]);
  if (!ours) return Status::Error(ErrorKind::kNetwork, "Could not resolve host: " + req.url);

  const Failure* failure = nullptr;
  for (auto& f : faults_) {
    if (f.endpoint != r.endpoint || (f.match && !f.match(r))) continue;
    ++f.seen;
    if (!failure && f.seen >= f.nth && f.seen < f.nth + f.count) failure = &f.failure;
  }
  HttpResponse resp;
  if (failure == nullptr) {
    resp = Serve(r);
  } else {
    if (failure->kind == Failure::kNetwork) return Status::Error(ErrorKind::kNetwork, failure->body);
    if (failure->kind == Failure::kTruncated) {
      resp = Serve(r);
      resp.body = resp.body.substr(0, resp.body.size() / 2);
    } else {
      if (r.endpoint != Endpoint::kToken) {
        Roll();
        ++short_usage_;
        ++daily_usage_;
      }
      resp.status = failure->status;
      resp.body = failure->kind == Failure::kGarbage ? "<!DOCTYPE html><html><body>Oops</body></html>" : failure->body;
      resp.headers = {{"Content-Type", failure->kind == Failure::kGarbage ? "text/html" : "application/json"}};
      if (r.endpoint != Endpoint::kToken) AddRateHeaders(resp);
    }
  }
  requests_[index].status = resp.status;
  return resp;
}

// --- faults and traffic --------------------------------------------------------------

void FakeStrava::FailNth(Endpoint endpoint, int nth, Failure failure, int count, Match match) {
  faults_.push_back(Fault{endpoint, std::move(match), nth, count, 0, std::move(failure)});
}

int FakeStrava::Count(Endpoint e) const {
  return static_cast<int>(
      std::count_if(requests_.begin(), requests_.end(), [&](const RecordedRequest& r) { return r.endpoint == e; }));
}

int FakeStrava::CountIf(const Match& match) const {
  return static_cast<int>(std::count_if(requests_.begin(), requests_.end(), match));
}

std::vector<RecordedRequest> FakeStrava::Requests(Endpoint e) const {
  std::vector<RecordedRequest> out;
  for (const auto& r : requests_)
    if (r.endpoint == e) out.push_back(r);
  return out;
}

int FakeStrava::api_requests() const {
  return CountIf([](const RecordedRequest& r) { return r.endpoint != Endpoint::kToken; });
}

}  // namespace stravafs::testing
