#include "fake_transport.h"

#include <stdlib.h>

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
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

std::optional<int64_t> ToInt(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoll(s);
}

// Decoded key=value pairs (the last of a repeated key wins), by cpp-httplib.
std::map<std::string, std::string> Pairs(const std::string& text) {
  std::multimap<std::string, std::string> all;
  httplib::detail::parse_query_text(text, all);
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : all) out[k] = v;
  return out;
}

Endpoint Classify(const std::string& p, std::string& id) {
  static const std::string acts = "/api/v3/activities/", gear = "/api/v3/gear/";
  if (p == "/oauth/token") return Endpoint::kToken;
  if (p == "/api/v3/athlete") return Endpoint::kAthlete;
  if (p == "/api/v3/athlete/zones") return Endpoint::kZones;
  if (p == "/api/v3/athlete/activities") return Endpoint::kList;
  if (p.rfind(gear, 0) == 0) {
    id = p.substr(gear.size());
    return Endpoint::kGear;
  }
  if (p.rfind(acts, 0) != 0) return Endpoint::kUnknown;
  const std::string tail = p.substr(acts.size());
  const size_t slash = tail.find('/');
  id = tail.substr(0, slash);
  if (slash == std::string::npos) return Endpoint::kDetail;
  return tail.substr(slash) == "/streams" ? Endpoint::kStreams : Endpoint::kUnknown;
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

FakeStrava::FakeStrava(Clock& clock, int64_t window_ms, int64_t day_ms) : clock_(clock) {
  emu::Config c;
  c.activities = 0;
  c.athlete_id = kAthleteId;
  c.client_id = kClientId;
  c.client_secret = kClientSecret;
  c.samples = kSamples;
  c.end = clock.NowMs() / 1000;
  c.limits.window = window_ms / 1000;
  c.limits.day = day_ms / 1000;
  c.clock = [&clock] { return clock.NowMs() / 1000; };
  // access-1 comes with refresh-1, and so on; a refresh that does not rotate
  // keeps its refresh token's number.
  c.token_names = [this](const std::string& kind) {
    if (kind == "code") return "code-" + std::to_string(++code_serial_);
    if (kind == "access") ++token_serial_;
    return kind + "-" + std::to_string(token_serial_);
  };
  emulator_ = std::make_unique<emu::Emulator>(c);
  AddGear("b1", "Trusty Bike");
}

FakeStrava::~FakeStrava() = default;

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
    Add(a);
  }
}

void FakeStrava::Add(const FakeActivity& a) {
  Json f = {{"id", a.id},
            {"start_date", a.start},
            {"utc_offset", a.utc_offset},
            {"timezone", a.timezone},
            {"name", a.name},
            {"sport_type", a.sport_type},
            {"distance", a.distance},
            {"moving_time", a.moving_time},
            {"elapsed_time", a.elapsed_time},
            {"gear_id", a.gear_id ? Json(*a.gear_id) : Json(nullptr)},
            {"manual", a.manual},
            {"description", a.description},
            // Everything a test adds is visible to its token.
            {"visibility", "everyone"}};
  std::string err;
  if (!emulator_->store().create(f, err))
    throw std::runtime_error("FakeStrava::Add(" + std::to_string(a.id) + "): " + err);
}

void FakeStrava::Edit(int64_t id, const Json& fields) {
  std::string err;
  bool found = false;
  if (!emulator_->store().patch(id, fields, err, found))
    throw std::runtime_error("FakeStrava::Edit(" + std::to_string(id) + "): " + (found ? err : "no such activity"));
}

emu::Activity FakeStrava::Get(int64_t id) const {
  auto a = emulator_->store().get(id);
  if (!a) throw std::out_of_range("FakeStrava::Get(" + std::to_string(id) + "): no such activity");
  return *a;
}

bool FakeStrava::Has(int64_t id) const { return emulator_->store().get(id).has_value(); }

void FakeStrava::Delete(int64_t id) { emulator_->store().remove(id); }

std::map<int64_t, emu::Activity> FakeStrava::activities() const {
  std::map<int64_t, emu::Activity> out;
  for (auto& a : emulator_->store().all_visible_by_id()) out.emplace(a.id, std::move(a));
  return out;
}

std::vector<int64_t> FakeStrava::IdsNewestFirst() const {
  // The emulator's own newest-first order: a listing without `after`.
  emu::ActivityStore::ListQuery q;
  q.per_page = INT64_MAX / 2;
  q.read_all = true;
  std::vector<int64_t> ids;
  for (const auto& a : emulator_->store().list(q)) ids.push_back(a.id);
  return ids;
}

void FakeStrava::AddGear(const std::string& id, const std::string& name) {
  std::vector<emu::Gear> gear = emulator_->gear();
  std::erase_if(gear, [&](const emu::Gear& g) { return g.id == id; });
  emu::Gear g;
  g.id = id;
  g.name = name;
  g.brand = "Brand";
  g.model = "Model";
  g.bike = !id.empty() && id[0] == 'b';
  g.primary = gear.empty();
  gear.push_back(g);
  emulator_->set_gear(std::move(gear));
}

void FakeStrava::SetZones(const Json& zones) { emulator_->set_zones(zones); }

Json FakeStrava::SummaryJson(int64_t id) const { return emu::summary_json(Get(id), emulator_->render_ctx()); }

Json FakeStrava::DetailJson(int64_t id) const {
  const auto gd = emulator_->store().gear_distance();
  return emu::detail_json(Get(id), emulator_->render_ctx(&gd));
}

size_t FakeStrava::StreamPoints(int64_t id) const {
  const emu::Activity a = Get(id);
  return a.has_streams() ? emu::make_streams(a, kSamples).n : 0;
}

// --- OAuth --------------------------------------------------------------------

Tokens FakeStrava::IssueInitialTokens(const std::string& scope) {
  emu::Auth& auth = emulator_->auth();
  auth.revoke_all();
  const int64_t now = emulator_->now_s();
  const std::string code = auth.mint_code(emu::parse_scopes(scope), now, "initial-" + std::to_string(token_serial_));
  std::string resource, field;
  auto reply = auth.exchange_code(code, now, resource, field);
  if (!reply) throw std::logic_error("FakeStrava: the emulator refused its own code");
  Tokens t;
  t.access_token = reply->access;
  t.refresh_token = refresh_token_ = reply->refresh;
  t.expires_at = reply->expires_at;
  t.scope = scope;
  t.athlete_id = kAthleteId;
  return t;
}

void FakeStrava::AddAuthorizationCode(const std::string& code, const std::string& scope) {
  emulator_->auth().mint_code(emu::parse_scopes(scope), emulator_->now_s(), code);
}

void FakeStrava::ExpireAccessTokens() { emulator_->auth().expire_all(emulator_->now_s()); }

// --- rate limits ----------------------------------------------------------------

void FakeStrava::AddUsage(int64_t short_n, int64_t daily_n) {
  emulator_->rate_limiter().add_usage(emulator_->now_s(), short_n, daily_n);
}

int64_t FakeStrava::short_usage() { return emulator_->rate_limiter().snapshot(emulator_->now_s()).use_s; }

int64_t FakeStrava::daily_usage() { return emulator_->rate_limiter().snapshot(emulator_->now_s()).use_d; }

int FakeStrava::rejected() const { return emulator_->metrics().counters()["rejected"].get<int>(); }

// --- serving ----------------------------------------------------------------------

HttpResponse FakeStrava::Serve(const emu::Request& request) {
  emulator_->rate_limiter().set_limits(limits.short_limit, limits.daily_limit, limits.read_short_limit,
                                       limits.read_daily_limit);
  emulator_->set_header_case(static_cast<int>(header_case));
  emu::Response r = emulator_->Handle(request);
  HttpResponse resp;
  resp.status = r.status;
  if (!r.content_type.empty()) resp.headers.emplace_back("Content-Type", r.content_type);
  for (auto& h : r.headers) resp.headers.push_back(std::move(h));
  resp.body = std::move(r.body);
  // The refresh token a client must now hold.
  if (request.path == "/oauth/token" && resp.status == 200) {
    auto reply = Json::parse(resp.body, nullptr, false);
    if (reply.is_object() && reply.contains("refresh_token")) {
      if (request.get_param_value("grant_type") == "refresh_token") ++refreshes_;
      refresh_token_ = reply["refresh_token"].get<std::string>();
    }
  }
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
  std::optional<emu::Request> request;
  if (ours) {
    request = emu::Request::FromTarget(req.method, req.url.substr(base.size()), req.headers, req.body);
    r.path = request->path;
    r.query = Pairs(request->query);
    if (req.method == "POST") r.form = Pairs(req.body);
    r.endpoint = Classify(r.path, r.id);
    if (ignore_page && r.endpoint == Endpoint::kList) request->params.erase("page");
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
    resp = Serve(*request);
  } else if (failure->kind == Failure::kNetwork) {
    return Status::Error(ErrorKind::kNetwork, failure->body);
  } else if (failure->kind == Failure::kTruncated) {
    resp = Serve(*request);
    resp.body = resp.body.substr(0, resp.body.size() / 2);
  } else {
    // The request reached Strava (an API call counts against the limits and
    // gets their headers), but the reply is replaced. A token request does
    // not reach it: a refresh that fails must not rotate the refresh token.
    if (r.endpoint != Endpoint::kToken) resp = Serve(*request);
    std::erase_if(resp.headers, [](const auto& h) { return EqualsIgnoreCase(h.first, "Content-Type"); });
    resp.status = failure->status;
    resp.body = failure->kind == Failure::kGarbage ? "<!DOCTYPE html><html><body>Oops</body></html>" : failure->body;
    resp.headers.emplace_back("Content-Type", failure->kind == Failure::kGarbage ? "text/html" : "application/json");
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
