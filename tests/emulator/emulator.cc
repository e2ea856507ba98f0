// emulator.cc - the request pipeline, routing and the Strava handlers (see
// emulator.h). Thread-safety: handlers only touch the internally locked state
// objects, atomics, and immutable configuration.
#include "emulator.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <regex>

#include "timeutil.h"

namespace emu {

namespace {

const char *kJson = "application/json; charset=utf-8";

std::string dump(const ojson &j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

void send(Response &res, int status, const ojson &body) {
  res.status = status;
  res.set_content(dump(body), kJson);
}

void send_error(Response &res, int status, const std::string &msg, const std::string &resource = "",
                const std::string &field = "", const std::string &code = "") {
  send(res, status, error_json(msg, resource, field, code));
}

void auth_error(Response &res) { send_error(res, 401, "Authorization Error", "Athlete", "access_token", "invalid"); }

void redirect_to(Response &res, const std::string &url) {
  res.status = 302;
  res.set_header("Location", url);
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string pct_encode(const std::string &s) {
  static const char *hx = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hx[c >> 4];
      out += hx[c & 15];
    }
  }
  return out;
}

// The raw query string with secrets masked.
std::string logged_query(const std::string &in) {
  if (in.empty()) return "";
  std::string out;
  size_t p = 0;
  while (p <= in.size()) {
    size_t e = in.find('&', p);
    if (e == std::string::npos) e = in.size();
    std::string kv = in.substr(p, e - p);
    const size_t eq = kv.find('=');
    const std::string k = kv.substr(0, eq);
    if (eq != std::string::npos && (k == "access_token" || k == "client_secret" || k == "refresh_token" || k == "code"))
      kv = k + "=REDACTED";
    out += (out.empty() && p == 0 ? "" : "&") + kv;
    p = e + 1;
  }
  return out;
}

bool parse_i64(const std::string &s, int64_t &out) {
  if (s.empty()) return false;
  char *end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end) return false;
  out = v;
  return true;
}

// Epoch-seconds parameter: integers or decimals; > 1e11 looks like ms.
bool parse_epoch(const std::string &s, int64_t &out) {
  if (s.empty()) return false;
  char *end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (errno || *end || !std::isfinite(v) || std::fabs(v) > 1e11) return false;
  out = static_cast<int64_t>(std::floor(v));
  return true;
}

bool redirect_host_ok(const std::string &uri) {
  size_t p = uri.find("://");
  if (p == std::string::npos) return false;
  const std::string scheme = uri.substr(0, p);
  if (scheme != "http" && scheme != "https") return false;
  p += 3;
  const size_t e = uri.find_first_of(":/?#", p);
  std::string host = uri.substr(p, e == std::string::npos ? std::string::npos : e - p);
  if (host.find('@') != std::string::npos) return false;
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  return host == "localhost" || host == "127.0.0.1";
}

ojson message(const std::string &k, const ojson &v) {
  ojson o = ojson::object();
  o[k] = v;
  return o;
}

}  // namespace

int64_t system_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------- Request, Response

std::string Request::get_param_value(const std::string &key) const {
  auto it = params.find(key);
  return it == params.end() ? "" : it->second;
}

bool Request::has_header(std::string_view name) const {
  for (const auto &[n, v] : headers)
    if (equals_ignore_case(n, name)) return true;
  return false;
}

std::string Request::get_header_value(std::string_view name) const {
  for (const auto &[n, v] : headers)
    if (equals_ignore_case(n, name)) return v;
  return "";
}

Request Request::FromTarget(std::string method, const std::string &target,
                            std::vector<std::pair<std::string, std::string>> headers, std::string body) {
  Request r;
  r.method = std::move(method);
  const size_t q = target.find('?');
  r.path = httplib::detail::decode_url(target.substr(0, q), false);
  if (q != std::string::npos) {
    r.query = target.substr(q + 1);
    httplib::detail::parse_query_text(r.query, r.params);
  }
  r.headers = std::move(headers);
  r.body = std::move(body);
  if (r.method == "POST" && r.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0)
    httplib::detail::parse_query_text(r.body, r.params);
  return r;
}

void Response::set_header(const std::string &name, const std::string &value) {
  for (auto &[n, v] : headers)
    if (equals_ignore_case(n, name)) {
      v = value;
      return;
    }
  headers.emplace_back(name, value);
}

std::string Response::get_header_value(std::string_view name) const {
  if (equals_ignore_case(name, "Content-Type")) return content_type;
  for (const auto &[n, v] : headers)
    if (equals_ignore_case(n, name)) return v;
  return "";
}

// ---------------------------------------------------------------- Emulator

GenParams gen_params(const Config &cfg, int number) {
  GenParams gp;
  gp.count = cfg.activities;
  gp.seed = cfg.seed;
  gp.end = cfg.end;
  gp.athlete_id = cfg.athlete_id;
  gp.hidden_every = cfg.hidden_every;
  if (number > 0) {
    // 10^11 apart: room for millions of generated and created activities
    // (gaps average 20,000) before one athlete's ids reach the next one's.
    gp.count = cfg.other_athletes.at(static_cast<size_t>(number - 1));
    gp.seed = mix64(mix64(cfg.seed) + static_cast<uint64_t>(number));
    gp.athlete_id = cfg.athlete_id + number;
    gp.first_id = 11000000000LL + number * 100000000000LL;
    gp.number = number;
  }
  return gp;
}

namespace {

std::vector<int64_t> athlete_ids(const Config &cfg) {
  std::vector<int64_t> ids;
  for (size_t k = 0; k <= cfg.other_athletes.size(); ++k) ids.push_back(cfg.athlete_id + static_cast<int64_t>(k));
  return ids;
}

}  // namespace

Emulator::Emulator(const Config &cfg)
    : cfg_(cfg),
      auth_(cfg.token_lifetime, cfg.token_names, cfg.rotate_refresh),
      rl_(cfg.limits),
      metrics_(athlete_ids(cfg)),
      header_case_fixed_(cfg.header_case),
      zones_(zones_json()) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k <= static_cast<int>(cfg.other_athletes.size()); ++k) {
    const GenParams gp = gen_params(cfg, k);
    stores_.push_back(std::make_unique<ActivityStore>(generate(gp), gp.seed, cfg.hidden_every, cfg.end));
  }
  set_gear(gear_list());
  gen_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Emulator::~Emulator() = default;

void Emulator::stop() {
  {
    std::lock_guard lk(sleep_mu_);
    stopping_ = true;
  }
  sleep_cv_.notify_all();
}

void Emulator::sleep_ms(int64_t ms) {
  std::unique_lock lk(sleep_mu_);
  sleep_cv_.wait_for(lk, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

RenderCtx Emulator::render_ctx(const std::map<std::string, double> *gear_distance, int athlete) const {
  // gear_ is never changed in place, only replaced: a RenderCtx keeps the
  // vector it points to alive only while no set_gear() runs, which the unit
  // tests (the only callers of set_gear) guarantee: they are single-threaded.
  std::lock_guard lk(data_mu_);
  return RenderCtx{athlete_id(athlete), cfg_.samples, gear_distance, &gear_->at(static_cast<size_t>(athlete))};
}

std::optional<int> Emulator::athlete_number(int64_t id) const {
  if (id < cfg_.athlete_id || id - cfg_.athlete_id >= athlete_count()) return std::nullopt;
  return static_cast<int>(id - cfg_.athlete_id);
}

std::optional<int> Emulator::owner(int64_t activity_id) const {
  for (size_t k = 0; k < stores_.size(); ++k)
    if (stores_[k]->get(activity_id)) return static_cast<int>(k);
  return std::nullopt;
}

std::optional<Activity> Emulator::create(int athlete, const ojson &fields, std::string &err) {
  std::lock_guard lk(create_mu_);
  if (fields.is_object() && fields.contains("id") && fields["id"].is_number_integer() &&
      owner(fields["id"].get<int64_t>()))
    return err = "id already exists", std::nullopt;
  return store(athlete).create(fields, err);
}

std::set<std::string> Emulator::granted(std::set<std::string> asked) const {
  if (!cfg_.grant_scope) return asked;
  std::set<std::string> g;
  for (const auto &s : asked)
    if (cfg_.grant_scope->count(s)) g.insert(s);
  return g;
}

void Emulator::set_gear(std::vector<Gear> gear) {
  std::vector<std::vector<Gear>> each;
  for (int k = 0; k < athlete_count(); ++k) {
    each.push_back(gear);
    for (Gear &g : each.back()) g.id = gear_id_for(g.id, k);
  }
  std::lock_guard lk(data_mu_);
  gear_ = std::make_shared<const std::vector<std::vector<Gear>>>(std::move(each));
}

std::vector<Gear> Emulator::gear(int athlete) const {
  std::lock_guard lk(data_mu_);
  return gear_->at(static_cast<size_t>(athlete));
}

void Emulator::set_zones(ojson zones) {
  std::lock_guard lk(data_mu_);
  zones_ = std::move(zones);
}

// ---------------------------------------------------------------- routing

Response Emulator::Handle(Request req) {
  struct Compiled {
    const char *method, *pattern, *endpoint;
    bool api;
    void (Emulator::*fn)(const Request &, Response &);
    std::regex re;
  };
  // First match wins, as in cpp-httplib's router.
  static const std::vector<Compiled> routes = [] {
    std::vector<Compiled> r;
    auto add = [&r](const char *m, const char *p, const char *e, bool api,
                    void (Emulator::*fn)(const Request &, Response &)) {
      r.push_back(Compiled{m, p, e, api, fn, std::regex(p)});
    };
    add("GET", "/api/v3/athlete/activities", "list", true, &Emulator::h_list);
    add("GET", "/api/v3/athlete/zones", "zones", true, &Emulator::h_zones);
    add("GET", "/api/v3/athlete", "athlete", true, &Emulator::h_athlete);
    add("GET", R"(/api/v3/athletes/([^/]+)/stats)", "stats", true, &Emulator::h_stats);
    add("GET", R"(/api/v3/activities/([^/]+)/streams(?:/([^/]*))?)", "streams", true, &Emulator::h_streams);
    add("GET", R"(/api/v3/activities/([^/]+)/laps)", "laps", true, &Emulator::h_laps);
    add("GET", R"(/api/v3/activities/([^/]+))", "activity", true, &Emulator::h_activity);
    add("GET", R"(/api/v3/gear/([^/]+))", "gear", true, &Emulator::h_gear);
    add("GET", "/oauth/authorize", "authorize", false, &Emulator::h_authorize);
    add("POST", "/oauth/token", "token", false, &Emulator::h_token);
    add("POST", "/oauth/deauthorize", "deauthorize", false, &Emulator::h_deauthorize);
    return r;
  }();
  Response res;
  for (const Compiled &r : routes) {
    std::smatch m;
    if (req.method != r.method || !std::regex_match(req.path, m, r.re)) continue;
    req.matches.clear();
    for (size_t i = 0; i < m.size(); ++i) req.matches.push_back(m[i].str());
    const auto fn = r.fn;
    serve(req, res, r.endpoint, r.api, [this, fn](const Request &q, Response &s) { (this->*fn)(q, s); });
    return res;
  }
  // Anything else: API paths get Strava's 404 through the pipeline.
  const bool api = req.path.rfind("/api/v3", 0) == 0;
  if (api || req.path.rfind("/oauth/", 0) == 0)
    serve(req, res, "other", api, [this](const Request &q, Response &s) { h_other(q, s); });
  else
    send(res, 404, message("error", "not found"));
  return res;
}

void Emulator::h_other(const Request &, Response &res) { send_error(res, 404, "Record Not Found", "", "", ""); }

// ---------------------------------------------------------------- pipeline

void Emulator::serve(const Request &req, Response &res, const std::string &endpoint, bool api, const Handler &h) {
  std::optional<int64_t> athlete;
  if (api)
    if (auto token = token_access(req)) athlete = athlete_id(token->athlete);
  metrics_.count(endpoint, athlete);
  const int64_t now = now_s();
  std::optional<Fault> fault;
  RateLimiter::Snapshot rs;
  bool limited = false;
  if (api) {
    const RateLimiter::Snapshot pre = rl_.snapshot(now);
    const bool over = pre.use_s >= pre.l.limit_s || pre.use_d >= pre.l.limit_d || pre.ruse_s >= pre.l.read_s ||
                      pre.ruse_d >= pre.l.read_d;
    if (!over) fault = faults_.take(req.path);
    limited = !rl_.admit(now, over || (fault && fault->kind == "429"), rs);
  } else {
    fault = faults_.take(req.path);
  }
  const std::string kind = fault ? fault->kind : "";
  bool rl_headers = api, comma = false;
  if (limited) {
    metrics_.rejected();
    send_error(res, 429, "Rate Limit Exceeded", "Application", "rate limit", "exceeded");
  } else if (kind == "500" || kind == "502" || kind == "503") {
    const int st = std::atoi(kind.c_str());
    send_error(res, st, st == 500 ? "Internal Server Error" : st == 502 ? "Bad Gateway" : "Service Unavailable");
  } else if (kind == "html") {
    res.status = 502;
    res.set_content(
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
        "Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
        "text/html");
    rl_headers = false;  // an upstream proxy's page
  } else if (kind == "empty500") {
    res.status = 500;
  } else if (kind == "malformed") {
    res.status = 200;
    res.set_content("{\"id\": 1,,}", kJson);
  } else if (kind == "401") {
    auth_error(res);
  } else if (kind == "404") {
    send_error(res, 404, "Record Not Found", "Activity", "", "not found");
  } else if (kind == "inactive") {
    send_error(res, 403, "Forbidden", "Application", "", "Inactive");
  } else {
    if (kind == "timeout" || kind == "slow")
      sleep_ms(fault->delay_ms >= 0 ? fault->delay_ms : kind == "timeout" ? 60000 : 2000);
    h(req, res);
    if (res.status == -1) res.status = 200;
    comma = kind == "comma";
    if (res.content_type.empty()) res.content_type = kJson;
    if (kind == "truncated") {
      res.body.resize(res.body.size() / 2);
    } else if (kind == "deep") {
      // Valid JSON no client should take: 100,000 nested arrays beside an
      // integer beyond 64 bits (which moves a listing from simdjson to a
      // parser without a depth limit), inside the reply's first object.
      const size_t brace = res.body.find('{');
      if (brace != std::string::npos) {
        const std::string deep = "\"x\":123456789012345678901234567890,\"deep\":" + std::string(100000, '[') +
                                 std::string(100000, ']') + ",";
        res.body.insert(brace + 1, deep);
      }
    } else if (kind == "huge" || kind == "huge_chunked") {
      // The real reply with 4 MiB of spaces inside its first object: with a
      // Content-Length (the client can refuse it up front) or chunked (it
      // must count what arrives).
      const size_t brace = res.body.find('{');
      if (brace != std::string::npos) res.body.insert(brace + 1, "\"pad\":\"" + std::string(4 << 20, ' ') + "\",");
      if (kind == "huge_chunked") res.transfer = Response::Transfer::kChunked;
    } else if (kind == "cut") {
      res.transfer = Response::Transfer::kCut;  // the connection drops mid-body
    }
  }
  if (rl_headers) {
    static const char *names[3][4] = {
        {"X-RateLimit-Limit", "X-RateLimit-Usage", "X-ReadRateLimit-Limit", "X-ReadRateLimit-Usage"},
        {"X-Ratelimit-Limit", "X-Ratelimit-Usage", "X-Readratelimit-Limit", "X-Readratelimit-Usage"},
        {"x-ratelimit-limit", "x-ratelimit-usage", "x-readratelimit-limit", "x-readratelimit-usage"}};
    const int fixed = header_case_fixed_.load();
    const uint64_t which = fixed >= 0 ? static_cast<uint64_t>(fixed) : header_case_.fetch_add(1);
    const auto &n = names[which % 3];
    auto pr = [comma](int64_t a, int64_t b) {
      return comma ? std::string(",") : std::to_string(a) + "," + std::to_string(b);
    };
    res.set_header(n[0], pr(rs.l.limit_s, rs.l.limit_d));
    res.set_header(n[1], pr(rs.use_s, rs.use_d));
    res.set_header(n[2], pr(rs.l.read_s, rs.l.read_d));
    res.set_header(n[3], pr(rs.ruse_s, rs.ruse_d));
  }
  metrics_.log(req.method, req.path, logged_query(req.query), res.status);
}

std::optional<Auth::Access> Emulator::token_access(const Request &req) const {
  if (req.has_param("access_token")) return std::nullopt;  // header-only token rule
  const std::string h = req.get_header_value("Authorization");
  if (h.size() < 7 || (h.compare(0, 7, "Bearer ") != 0 && h.compare(0, 7, "bearer ") != 0)) return std::nullopt;
  std::string tok = h.substr(7);
  while (!tok.empty() && tok.back() == ' ') tok.pop_back();
  return auth_.check(tok, now_s());
}

std::optional<Auth::Access> Emulator::authenticate(const Request &req, Response &res) {
  auto token = token_access(req);
  if (!token) auth_error(res);
  return token;
}

bool Emulator::need_activity_scope(const std::set<std::string> &scopes, Response &res) {
  if (scopes.count("activity:read") || scopes.count("activity:read_all")) return true;
  send_error(res, 401, "Authorization Error", "AccessToken", "activity:read_permission", "missing");
  return false;
}

void Emulator::not_found_id(Response &res, const char *resource) {
  if (not_found_.fetch_add(1) % 3 == 2) {  // every third one has no body
    res.status = 404;
    return;
  }
  send_error(res, 404, "Record Not Found", resource, "id", "invalid");
}

std::optional<Activity> Emulator::visible_activity(const Request &req, Response &res, const Auth::Access &token) {
  int64_t id = 0;
  std::optional<Activity> a;
  // Another athlete's activity is looked up nowhere: it answers exactly as an
  // unknown id does.
  if (parse_i64(req.matches[1], id)) a = store(token.athlete).get(id);
  if (a && (a->hidden || (a->visibility == "only_me" && !token.scopes.count("activity:read_all")))) a.reset();
  if (!a) not_found_id(res, "Activity");
  return a;
}

// ---------------------------------------------------------------- API

void Emulator::h_list(const Request &req, Response &res) {
  auto token = authenticate(req, res);
  if (!token || !need_activity_scope(token->scopes, res)) return;
  ActivityStore::ListQuery q;
  for (const char *k : {"before", "after"}) {
    if (!req.has_param(k) || req.get_param_value(k).empty()) continue;
    int64_t v;
    if (!parse_epoch(req.get_param_value(k), v)) {
      send_error(res, 400, "Bad Request", "Application", k, "invalid");
      return;
    }
    (std::string(k) == "before" ? q.before : q.after) = v;
  }
  int64_t v;
  if (req.has_param("page") && parse_i64(req.get_param_value("page"), v) && v > 0) q.page = v;
  if (req.has_param("per_page") && parse_i64(req.get_param_value("per_page"), v) && v > 0)
    q.per_page = std::min<int64_t>(v, 200);
  q.read_all = token->scopes.count("activity:read_all") > 0;
  const auto acts = store(token->athlete).list(q);
  const RenderCtx ctx = render_ctx(nullptr, token->athlete);
  std::string body = "[";
  for (size_t i = 0; i < acts.size(); ++i) {
    if (i) body += ',';
    body += dump(summary_json(acts[i], ctx));
  }
  body += ']';
  res.status = 200;
  res.set_content(body, kJson);
}

void Emulator::h_activity(const Request &req, Response &res) {
  auto token = authenticate(req, res);
  if (!token || !need_activity_scope(token->scopes, res)) return;
  auto a = visible_activity(req, res, *token);
  if (!a) return;
  const auto gd = store(token->athlete).gear_distance();
  const RenderCtx ctx = render_ctx(&gd, token->athlete);
  send(res, 200, detail_json(*a, ctx));
}

void Emulator::h_streams(const Request &req, Response &res) {
  auto token = authenticate(req, res);
  if (!token || !need_activity_scope(token->scopes, res)) return;
  auto a = visible_activity(req, res, *token);
  if (!a) return;
  if (!a->has_streams()) {
    send_error(res, 404, "Record Not Found", "Activity", "", "not found");
    return;
  }
  std::vector<std::string> keys;
  // keys=a,b,c; the legacy form /streams/a,b,c puts them in the path.
  const std::string ks = req.has_param("keys") ? req.get_param_value("keys") : req.matches[2];
  for (const auto &k : parse_scopes(ks)) keys.push_back(k);
  if (keys.empty()) keys.push_back("distance");
  const bool by_type = req.get_param_value("key_by_type") == "true";
  const RenderCtx ctx = render_ctx(nullptr, token->athlete);
  send(res, 200, streams_json(*a, ctx, keys, by_type));
}

void Emulator::h_laps(const Request &req, Response &res) {
  auto token = authenticate(req, res);
  if (!token || !need_activity_scope(token->scopes, res)) return;
  auto a = visible_activity(req, res, *token);
  if (!a) return;
  const RenderCtx ctx = render_ctx(nullptr, token->athlete);
  send(res, 200, laps_json(*a, ctx));
}

void Emulator::h_athlete(const Request &req, Response &res) {
  auto token = authenticate(req, res);
  if (!token) return;
  const int k = token->athlete;
  send(res, 200,
       athlete_json(athlete_id(k), cfg_.end, token->scopes.count("profile:read_all") > 0, store(k).gear_distance(),
                    render_ctx(nullptr, k).gear, k));
}

void Emulator::h_zones(const Request &req, Response &res) {
  auto token = authenticate(req, res);
  if (!token) return;
  if (!token->scopes.count("profile:read_all")) {
    send_error(res, 401, "Authorization Error", "AccessToken", "profile:read_permission", "missing");
    return;
  }
  ojson zones;
  {
    std::lock_guard lk(data_mu_);
    zones = zones_;
  }
  send(res, 200, zones);
}

void Emulator::h_stats(const Request &req, Response &res) {
  auto token = authenticate(req, res);
  if (!token) return;
  int64_t id = 0;
  if (!parse_i64(req.matches[1], id) || id != athlete_id(token->athlete)) {
    not_found_id(res, "Athlete");
    return;
  }
  send(res, 200, store(token->athlete).stats_json(now_s()));
}

void Emulator::h_gear(const Request &req, Response &res) {
  auto token = authenticate(req, res);
  if (!token) return;
  const std::string id = req.matches[1];
  for (const Gear &g : gear(token->athlete)) {
    if (g.id != id) continue;
    const auto gd = store(token->athlete).gear_distance();
    auto it = gd.find(g.id);
    send(res, 200, gear_json(g, it == gd.end() ? 0 : it->second));
    return;
  }
  not_found_id(res, "Gear");
}

// ---------------------------------------------------------------- OAuth

void Emulator::h_authorize(const Request &req, Response &res) {
  if (req.get_param_value("client_id") != cfg_.client_id) {
    send_error(res, 400, "Bad Request", "Application", "client_id", "invalid");
    return;
  }
  const std::string redirect = req.get_param_value("redirect_uri");
  if (!redirect_host_ok(redirect)) {
    send_error(res, 400, "Bad Request", "Application", "redirect_uri", "invalid");
    return;
  }
  if (req.get_param_value("response_type") != "code") {
    send_error(res, 400, "Bad Request", "Authorize", "response_type", "invalid");
    return;
  }
  std::set<std::string> scopes = parse_scopes(req.has_param("scope") ? req.get_param_value("scope") : "read");
  for (const auto &s : scopes)
    if (!valid_scope(s)) {
      send_error(res, 400, "Bad Request", "Authorize", "scope", "invalid");
      return;
    }
  const std::string sep = redirect.find('?') == std::string::npos ? "?" : "&";
  const std::string state = "state=" + pct_encode(req.get_param_value("state"));
  if (cfg_.deny) {
    redirect_to(res, redirect + sep + state + "&error=access_denied");
    return;
  }
  scopes = granted(scopes);
  const std::string code = auth_.mint_code(scopes, now_s(), "", logged_in_.load());
  redirect_to(res, redirect + sep + state + "&code=" + code + "&scope=" + join_scopes(scopes));
}

void Emulator::h_token(const Request &req, Response &res) {
  // Form fields (or query parameters), or a JSON body.
  auto field = [&](const char *k) -> std::string {
    if (req.has_param(k)) return req.get_param_value(k);
    if (req.get_header_value("Content-Type").find("json") != std::string::npos) {
      try {
        ojson j = ojson::parse(req.body);
        if (j.is_object() && j.contains(k)) return j[k].is_string() ? j[k].get<std::string>() : j[k].dump();
      } catch (const std::exception &) {
      }
    }
    return "";
  };
  if (field("client_id") != cfg_.client_id || field("client_secret") != cfg_.client_secret) {
    send_error(res, 400, "Bad Request", "Application", "client_id", "invalid");
    return;
  }
  const std::string gt = field("grant_type");
  const int64_t now = now_s();
  std::optional<Auth::TokenReply> t;
  if (gt == "authorization_code") {
    std::string resource, fld;
    t = auth_.exchange_code(field("code"), now, resource, fld);
    if (!t) {
      send_error(res, 400, "Bad Request", resource, fld, "invalid");
      return;
    }
  } else if (gt == "refresh_token") {
    t = auth_.refresh(field("refresh_token"), now);
    if (!t) {
      send_error(res, 400, "Bad Request", "RefreshToken", "refresh_token", "invalid");
      return;
    }
  } else {
    send_error(res, 400, "Bad Request", "Application", "grant_type", "invalid");
    return;
  }
  ojson o = ojson::object();
  o["token_type"] = "Bearer";
  o["expires_at"] = t->expires_at;
  o["expires_in"] = std::max<int64_t>(0, t->expires_at - now);
  o["refresh_token"] = t->refresh;
  o["access_token"] = t->access;
  if (gt == "authorization_code")
    o["athlete"] = athlete_json(athlete_id(t->athlete), cfg_.end, false, {}, nullptr, t->athlete);
  send(res, 200, o);
}

void Emulator::h_deauthorize(const Request &req, Response &res) {
  std::string tok = req.get_param_value("access_token");
  const std::string h = req.get_header_value("Authorization");
  if (h.size() > 7 && (h.compare(0, 7, "Bearer ") == 0 || h.compare(0, 7, "bearer ") == 0)) tok = h.substr(7);
  if (tok.empty() || !auth_.revoke(tok, now_s())) {
    auth_error(res);
    return;
  }
  send(res, 200, message("access_token", tok));
}

}  // namespace emu
