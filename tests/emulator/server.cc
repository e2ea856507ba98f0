// server.cc - routes and the request pipeline (see server.h).
// Thread-safety: handlers only touch the internally locked state objects,
// atomics, and immutable configuration.
#include "server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include "render.h"
#include "timeutil.h"

namespace emu {

namespace {

const char *kJson = "application/json; charset=utf-8";

// system_clock, not time(): time() lags the real clock by up to a tick, which
// would count a request sent just after a window boundary in the old window.
int64_t now_s() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string dump(const ojson &j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

void send(httplib::Response &res, int status, const ojson &body) {
  res.status = status;
  res.set_content(dump(body), kJson);
}

void send_error(httplib::Response &res, int status, const std::string &msg, const std::string &resource = "",
                const std::string &field = "", const std::string &code = "") {
  send(res, status, error_json(msg, resource, field, code));
}

void auth_error(httplib::Response &res) {
  send_error(res, 401, "Authorization Error", "Athlete", "access_token", "invalid");
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

// Raw query string of the request with secrets masked.
std::string logged_query(const httplib::Request &req) {
  const size_t q = req.target.find('?');
  if (q == std::string::npos) return "";
  std::string in = req.target.substr(q + 1), out;
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

std::optional<ojson> parse_body(const httplib::Request &req, httplib::Response &res) {
  if (req.body.empty()) return ojson::object();
  try {
    return ojson::parse(req.body);
  } catch (const std::exception &e) {
    ojson err = ojson::object();
    err["error"] = std::string("invalid JSON: ") + e.what();
    send(res, 400, err);
    return std::nullopt;
  }
}

ojson message(const std::string &k, const ojson &v) {
  ojson o = ojson::object();
  o[k] = v;
  return o;
}

}  // namespace

Emulator::Emulator(const Config &cfg)
    : cfg_(cfg), svr_(std::make_unique<httplib::Server>()), auth_(cfg.token_lifetime), rl_(cfg.limits) {
  GenParams gp;
  gp.count = cfg.activities;
  gp.seed = cfg.seed;
  gp.end = cfg.end;
  gp.athlete_id = cfg.athlete_id;
  gp.hidden_every = cfg.hidden_every;
  const auto t0 = std::chrono::steady_clock::now();
  store_ = std::make_unique<ActivityStore>(generate(gp), cfg.seed, cfg.hidden_every, cfg.end);
  gen_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int threads = std::max(2, cfg.threads);
  svr_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr_->set_payload_max_length(16 * 1024 * 1024);
  routes();
}

Emulator::~Emulator() = default;

int Emulator::bind() {
  if (cfg_.port == 0) return svr_->bind_to_any_port("127.0.0.1");
  return svr_->bind_to_port("127.0.0.1", cfg_.port) ? cfg_.port : -1;
}

bool Emulator::listen() { return svr_->listen_after_bind(); }

void Emulator::stop() {
  {
    std::lock_guard lk(sleep_mu_);
    stopping_ = true;
  }
  sleep_cv_.notify_all();
  svr_->stop();
}

void Emulator::sleep_ms(int64_t ms) {
  std::unique_lock lk(sleep_mu_);
  sleep_cv_.wait_for(lk, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

// ---------------------------------------------------------------- pipeline

void Emulator::serve(const Req &req, Res &res, const std::string &endpoint, bool api, const Handler &h) {
  metrics_.count(endpoint);
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
    if (kind == "truncated") {
      std::string body = res.body.substr(0, res.body.size() / 2);
      std::string ct = res.get_header_value("Content-Type");
      if (ct.empty()) ct = kJson;
      res.headers.erase("Content-Type");
      res.set_content(body, ct);
    } else if (kind == "deep") {
      // Valid JSON no client should take: 100,000 nested arrays beside an
      // integer beyond 64 bits (which moves a listing from simdjson to a
      // parser without a depth limit), inside the reply's first object.
      const size_t brace = res.body.find('{');
      if (brace != std::string::npos) {
        const std::string deep = "\"x\":123456789012345678901234567890,\"deep\":" + std::string(100000, '[') +
                                 std::string(100000, ']') + ",";
        std::string body = std::move(res.body);
        body.insert(brace + 1, deep);
        std::string ct = res.get_header_value("Content-Type");
        if (ct.empty()) ct = kJson;
        res.headers.erase("Content-Type");
        res.set_content(body, ct);
      }
    } else if (kind == "huge" || kind == "huge_chunked") {
      // The real reply with 4 MiB of spaces inside its first object: with a
      // Content-Length (the client can refuse it up front) or chunked (it
      // must count what arrives).
      const size_t brace = res.body.find('{');
      auto body = std::make_shared<std::string>(std::move(res.body));
      if (brace != std::string::npos) body->insert(brace + 1, "\"pad\":\"" + std::string(4 << 20, ' ') + "\",");
      std::string ct = res.get_header_value("Content-Type");
      if (ct.empty()) ct = kJson;
      res.headers.erase("Content-Type");
      if (kind == "huge") {
        res.set_content(*body, ct);
      } else {
        res.set_chunked_content_provider(ct, [body](size_t offset, httplib::DataSink &sink) {
          const size_t n = std::min<size_t>(65536, body->size() - offset);
          if (n > 0 && !sink.write(body->data() + offset, n)) return false;
          if (offset + n >= body->size()) sink.done();
          return true;
        });
      }
    } else if (kind == "cut") {
      auto body = std::make_shared<std::string>(std::move(res.body));
      res.body.clear();
      std::string ct = res.get_header_value("Content-Type");
      if (ct.empty()) ct = kJson;
      res.headers.erase("Content-Type");
      const size_t half = body->size() / 2;
      res.set_content_provider(body->size(), ct, [body, half](size_t offset, size_t, httplib::DataSink &sink) {
        if (offset < half) return sink.write(body->data() + offset, half - offset);
        return false;  // abort: the connection drops mid-body
      });
    }
  }
  if (rl_headers) {
    static const char *names[3][4] = {
        {"X-RateLimit-Limit", "X-RateLimit-Usage", "X-ReadRateLimit-Limit", "X-ReadRateLimit-Usage"},
        {"X-Ratelimit-Limit", "X-Ratelimit-Usage", "X-Readratelimit-Limit", "X-Readratelimit-Usage"},
        {"x-ratelimit-limit", "x-ratelimit-usage", "x-readratelimit-limit", "x-readratelimit-usage"}};
    const auto &n = names[header_case_.fetch_add(1) % 3];
    auto pr = [comma](int64_t a, int64_t b) {
      return comma ? std::string(",") : std::to_string(a) + "," + std::to_string(b);
    };
    res.set_header(n[0], pr(rs.l.limit_s, rs.l.limit_d));
    res.set_header(n[1], pr(rs.use_s, rs.use_d));
    res.set_header(n[2], pr(rs.l.read_s, rs.l.read_d));
    res.set_header(n[3], pr(rs.ruse_s, rs.ruse_d));
  }
  metrics_.log(req.method, req.path, logged_query(req), res.status);
}

std::optional<std::set<std::string>> Emulator::authenticate(const Req &req, Res &res) {
  if (req.has_param("access_token")) {  // header-only token rule
    auth_error(res);
    return std::nullopt;
  }
  const std::string h = req.get_header_value("Authorization");
  if (h.size() < 7 || (h.compare(0, 7, "Bearer ") != 0 && h.compare(0, 7, "bearer ") != 0)) {
    auth_error(res);
    return std::nullopt;
  }
  std::string tok = h.substr(7);
  while (!tok.empty() && tok.back() == ' ') tok.pop_back();
  auto scopes = auth_.check(tok, now_s());
  if (!scopes) auth_error(res);
  return scopes;
}

bool Emulator::need_activity_scope(const std::set<std::string> &scopes, Res &res) {
  if (scopes.count("activity:read") || scopes.count("activity:read_all")) return true;
  send_error(res, 401, "Authorization Error", "AccessToken", "activity:read_permission", "missing");
  return false;
}

void Emulator::not_found_id(Res &res, const char *resource) {
  if (not_found_.fetch_add(1) % 3 == 2) {  // every third one has no body
    res.status = 404;
    return;
  }
  send_error(res, 404, "Record Not Found", resource, "id", "invalid");
}

std::optional<Activity> Emulator::visible_activity(const Req &req, Res &res, const std::set<std::string> &scopes) {
  int64_t id = 0;
  std::optional<Activity> a;
  if (parse_i64(req.matches[1].str(), id)) a = store_->get(id);
  if (a && (a->hidden || (a->visibility == "only_me" && !scopes.count("activity:read_all")))) a.reset();
  if (!a) not_found_id(res, "Activity");
  return a;
}

// ---------------------------------------------------------------- API

void Emulator::h_list(const Req &req, Res &res) {
  auto scopes = authenticate(req, res);
  if (!scopes || !need_activity_scope(*scopes, res)) return;
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
  q.read_all = scopes->count("activity:read_all") > 0;
  const auto acts = store_->list(q);
  RenderCtx ctx{cfg_.athlete_id, cfg_.samples, nullptr};
  std::string body = "[";
  for (size_t i = 0; i < acts.size(); ++i) {
    if (i) body += ',';
    body += dump(summary_json(acts[i], ctx));
  }
  body += ']';
  res.status = 200;
  res.set_content(body, kJson);
}

void Emulator::h_activity(const Req &req, Res &res) {
  auto scopes = authenticate(req, res);
  if (!scopes || !need_activity_scope(*scopes, res)) return;
  auto a = visible_activity(req, res, *scopes);
  if (!a) return;
  const auto gd = store_->gear_distance();
  RenderCtx ctx{cfg_.athlete_id, cfg_.samples, &gd};
  send(res, 200, detail_json(*a, ctx));
}

void Emulator::h_streams(const Req &req, Res &res) {
  auto scopes = authenticate(req, res);
  if (!scopes || !need_activity_scope(*scopes, res)) return;
  auto a = visible_activity(req, res, *scopes);
  if (!a) return;
  if (!a->has_streams()) {
    send_error(res, 404, "Record Not Found", "Activity", "", "not found");
    return;
  }
  std::vector<std::string> keys;
  // keys=a,b,c; the legacy form /streams/a,b,c puts them in the path.
  const std::string ks = req.has_param("keys") ? req.get_param_value("keys") : req.matches[2].str();
  for (const auto &k : parse_scopes(ks)) keys.push_back(k);
  if (keys.empty()) keys.push_back("distance");
  const bool by_type = req.get_param_value("key_by_type") == "true";
  RenderCtx ctx{cfg_.athlete_id, cfg_.samples, nullptr};
  send(res, 200, streams_json(*a, ctx, keys, by_type));
}

void Emulator::h_laps(const Req &req, Res &res) {
  auto scopes = authenticate(req, res);
  if (!scopes || !need_activity_scope(*scopes, res)) return;
  auto a = visible_activity(req, res, *scopes);
  if (!a) return;
  RenderCtx ctx{cfg_.athlete_id, cfg_.samples, nullptr};
  send(res, 200, laps_json(*a, ctx));
}

void Emulator::h_athlete(const Req &req, Res &res) {
  auto scopes = authenticate(req, res);
  if (!scopes) return;
  send(res, 200,
       athlete_json(cfg_.athlete_id, cfg_.end, scopes->count("profile:read_all") > 0, store_->gear_distance()));
}

void Emulator::h_zones(const Req &req, Res &res) {
  auto scopes = authenticate(req, res);
  if (!scopes) return;
  if (!scopes->count("profile:read_all")) {
    send_error(res, 401, "Authorization Error", "AccessToken", "profile:read_permission", "missing");
    return;
  }
  send(res, 200, zones_json());
}

void Emulator::h_stats(const Req &req, Res &res) {
  auto scopes = authenticate(req, res);
  if (!scopes) return;
  int64_t id = 0;
  if (!parse_i64(req.matches[1].str(), id) || id != cfg_.athlete_id) {
    not_found_id(res, "Athlete");
    return;
  }
  send(res, 200, store_->stats_json(now_s()));
}

void Emulator::h_gear(const Req &req, Res &res) {
  auto scopes = authenticate(req, res);
  if (!scopes) return;
  const std::string id = req.matches[1].str();
  for (const Gear &g : gear_list()) {
    if (g.id != id) continue;
    const auto gd = store_->gear_distance();
    auto it = gd.find(g.id);
    send(res, 200, gear_json(g, it == gd.end() ? 0 : it->second));
    return;
  }
  not_found_id(res, "Gear");
}

// ---------------------------------------------------------------- OAuth

void Emulator::h_authorize(const Req &req, Res &res) {
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
    res.set_redirect(redirect + sep + state + "&error=access_denied", 302);
    return;
  }
  if (cfg_.grant_scope) {
    std::set<std::string> g;
    for (const auto &s : scopes)
      if (cfg_.grant_scope->count(s)) g.insert(s);
    scopes = g;
  }
  const std::string code = auth_.mint_code(scopes, now_s());
  res.set_redirect(redirect + sep + state + "&code=" + code + "&scope=" + join_scopes(scopes), 302);
}

void Emulator::h_token(const Req &req, Res &res) {
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
  if (gt == "authorization_code") o["athlete"] = athlete_json(cfg_.athlete_id, cfg_.end, false, {});
  send(res, 200, o);
}

void Emulator::h_deauthorize(const Req &req, Res &res) {
  std::string tok = req.get_param_value("access_token");
  const std::string h = req.get_header_value("Authorization");
  if (h.size() > 7 && (h.compare(0, 7, "Bearer ") == 0 || h.compare(0, 7, "bearer ") == 0)) tok = h.substr(7);
  if (tok.empty() || !auth_.revoke(tok, now_s())) {
    auth_error(res);
    return;
  }
  send(res, 200, message("access_token", tok));
}

// ---------------------------------------------------------------- routes

void Emulator::routes() {
  httplib::Server &s = *svr_;
  // Headers and body go out in separate writes; without TCP_NODELAY, Nagle
  // and the client's delayed ACK add ~40 ms to every kept-alive request.
  s.set_tcp_nodelay(true);
  // cpp-httplib answers 400 to a POST/PATCH/DELETE that has neither a
  // Content-Length nor chunked encoding (e.g. `curl -X POST` without -d);
  // treat those as empty bodies. The Request object is not really const here.
  s.set_pre_routing_handler([](const Req &req, Res &) {
    if (req.method != "GET" && req.method != "HEAD" && !req.has_header("Content-Length") &&
        !req.has_header("Transfer-Encoding"))
      const_cast<Req &>(req).set_header("Content-Length", "0");
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto api = [this](const char *endpoint, void (Emulator::*fn)(const Req &, Res &)) {
    return [this, endpoint, fn](const Req &req, Res &res) {
      serve(req, res, endpoint, true, [this, fn](const Req &q, Res &r) { (this->*fn)(q, r); });
    };
  };
  auto oauth = [this](const char *endpoint, void (Emulator::*fn)(const Req &, Res &)) {
    return [this, endpoint, fn](const Req &req, Res &res) {
      serve(req, res, endpoint, false, [this, fn](const Req &q, Res &r) { (this->*fn)(q, r); });
    };
  };
  s.Get("/api/v3/athlete/activities", api("list", &Emulator::h_list));
  s.Get("/api/v3/athlete/zones", api("zones", &Emulator::h_zones));
  s.Get("/api/v3/athlete", api("athlete", &Emulator::h_athlete));
  s.Get(R"(/api/v3/athletes/([^/]+)/stats)", api("stats", &Emulator::h_stats));
  s.Get(R"(/api/v3/activities/([^/]+)/streams(?:/([^/]*))?)", api("streams", &Emulator::h_streams));
  s.Get(R"(/api/v3/activities/([^/]+)/laps)", api("laps", &Emulator::h_laps));
  s.Get(R"(/api/v3/activities/([^/]+))", api("activity", &Emulator::h_activity));
  s.Get(R"(/api/v3/gear/([^/]+))", api("gear", &Emulator::h_gear));
  s.Get("/oauth/authorize", oauth("authorize", &Emulator::h_authorize));
  s.Post("/oauth/token", oauth("token", &Emulator::h_token));
  s.Post("/oauth/deauthorize", oauth("deauthorize", &Emulator::h_deauthorize));

  // ------------------------------------------------------------ control API
  s.Post("/_emulator/faults", [this](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    ojson rules = body->is_array() ? *body : ojson::array({*body});
    std::vector<Fault> add;
    for (const auto &r : rules) {
      Fault f;
      if (!r.is_object() || !r.contains("kind") || !r["kind"].is_string() ||
          !Faults::valid_kind(r["kind"].get<std::string>())) {
        send(res, 400, message("error", "unknown or missing fault kind"));
        return;
      }
      f.kind = r["kind"].get<std::string>();
      if (r.contains("match") && r["match"].is_string()) f.match = r["match"].get<std::string>();
      if (r.contains("count") && r["count"].is_number()) f.count = r["count"].get<int64_t>();
      if (r.contains("skip") && r["skip"].is_number()) f.skip = std::max<int64_t>(0, r["skip"].get<int64_t>());
      if (r.contains("delay_ms") && r["delay_ms"].is_number()) f.delay_ms = r["delay_ms"].get<int64_t>();
      if (f.count == 0) continue;
      add.push_back(f);
    }
    for (auto &f : add) faults_.add(f);
    send(res, 200, faults_.list());
  });
  s.Get("/_emulator/faults", [this](const Req &, Res &res) { send(res, 200, faults_.list()); });
  s.Delete("/_emulator/faults", [this](const Req &, Res &res) {
    faults_.clear();
    res.status = 204;
  });

  s.Get("/_emulator/activities", [this](const Req &req, Res &res) {
    auto acts = std::make_shared<std::vector<Activity>>(store_->all_visible_by_id());
    auto gd = std::make_shared<std::map<std::string, double>>(store_->gear_distance());
    const bool summary = req.get_param_value("form") == "summary";
    auto pos = std::make_shared<size_t>(0);
    const int64_t athlete = cfg_.athlete_id;
    const int samples = cfg_.samples;
    res.status = 200;
    res.set_chunked_content_provider(
        kJson, [acts, gd, pos, summary, athlete, samples](size_t, httplib::DataSink &sink) {
          RenderCtx ctx{athlete, samples, gd.get()};
          std::string chunk = *pos == 0 ? "[" : "";
          const size_t end = std::min(acts->size(), *pos + 64);
          for (; *pos < end; ++*pos) {
            if (*pos) chunk += ',';
            chunk += dump(summary ? summary_json((*acts)[*pos], ctx) : detail_json((*acts)[*pos], ctx));
          }
          if (*pos >= acts->size()) chunk += ']';
          if (!sink.write(chunk.data(), chunk.size())) return false;
          if (*pos >= acts->size()) sink.done();
          return true;
        });
  });
  s.Get(R"(/_emulator/activities/([^/]+))", [this](const Req &req, Res &res) {
    int64_t id = 0;
    std::optional<Activity> a;
    if (parse_i64(req.matches[1].str(), id)) a = store_->get(id);
    if (!a || a->hidden) {
      send(res, 404, message("error", "no such activity"));
      return;
    }
    const auto gd = store_->gear_distance();
    send(res, 200, detail_json(*a, RenderCtx{cfg_.athlete_id, cfg_.samples, &gd}));
  });
  s.Post("/_emulator/activities", [this](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    std::string err;
    auto a = store_->create(*body, err);
    if (!a) {
      send(res, 400, message("error", err));
      return;
    }
    const auto gd = store_->gear_distance();
    send(res, 201, detail_json(*a, RenderCtx{cfg_.athlete_id, cfg_.samples, &gd}));
  });
  s.Patch(R"(/_emulator/activities/([^/]+))", [this](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    int64_t id = 0;
    std::string err;
    bool found = false;
    std::optional<Activity> a;
    if (parse_i64(req.matches[1].str(), id)) a = store_->patch(id, *body, err, found);
    if (!found) {
      send(res, 404, message("error", "no such activity"));
      return;
    }
    if (!a) {
      send(res, 400, message("error", err));
      return;
    }
    const auto gd = store_->gear_distance();
    send(res, 200, detail_json(*a, RenderCtx{cfg_.athlete_id, cfg_.samples, &gd}));
  });
  s.Delete(R"(/_emulator/activities/([^/]+))", [this](const Req &req, Res &res) {
    int64_t id = 0;
    if (!parse_i64(req.matches[1].str(), id) || !store_->remove(id)) {
      send(res, 404, message("error", "no such activity"));
      return;
    }
    res.status = 204;
  });

  s.Get("/_emulator/counters", [this](const Req &, Res &res) { send(res, 200, metrics_.counters()); });
  s.Post("/_emulator/counters/reset", [this](const Req &, Res &res) {
    metrics_.reset();
    send(res, 200, metrics_.counters());
  });
  s.Get("/_emulator/requests", [this](const Req &, Res &res) { send(res, 200, metrics_.requests()); });

  auto rl_json = [this] {
    const auto s = rl_.snapshot(now_s());
    ojson o = ojson::object();
    o["limit"] = ojson::array({s.l.limit_s, s.l.limit_d});
    o["read_limit"] = ojson::array({s.l.read_s, s.l.read_d});
    o["usage"] = ojson::array({s.use_s, s.use_d});
    o["read_usage"] = ojson::array({s.ruse_s, s.ruse_d});
    o["window"] = s.l.window;
    o["day"] = s.l.day;
    o["window_resets_at"] = s.window_reset;
    o["day_resets_at"] = s.day_reset;
    return o;
  };
  s.Get("/_emulator/ratelimit", [rl_json](const Req &, Res &res) { send(res, 200, rl_json()); });
  s.Post("/_emulator/ratelimit", [this, rl_json](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    if (!body->is_object()) {
      send(res, 400, message("error", "body must be a JSON object"));
      return;
    }
    rl_.configure(*body, now_s());
    send(res, 200, rl_json());
  });

  s.Post("/_emulator/tokens/expire", [this](const Req &, Res &res) {
    auth_.expire_all(now_s());
    send(res, 200, message("ok", true));
  });
  s.Post("/_emulator/code", [this](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    std::string scope = "read,activity:read_all";
    if (body->is_object() && body->contains("scope") && (*body)["scope"].is_string())
      scope = (*body)["scope"].get<std::string>();
    std::set<std::string> scopes = parse_scopes(scope);
    for (const auto &x : scopes)
      if (!valid_scope(x)) {
        send(res, 400, message("error", "invalid scope " + x));
        return;
      }
    if (cfg_.grant_scope) {
      std::set<std::string> g;
      for (const auto &x : scopes)
        if (cfg_.grant_scope->count(x)) g.insert(x);
      scopes = g;
    }
    ojson o = message("code", auth_.mint_code(scopes, now_s()));
    o["scope"] = join_scopes(scopes);
    send(res, 200, o);
  });
  s.Get("/_emulator/config", [this](const Req &, Res &res) {
    ojson o = ojson::object();
    o["athlete_id"] = cfg_.athlete_id;
    o["client_id"] = cfg_.client_id;
    o["client_secret"] = cfg_.client_secret;
    o["activities"] = store_->size();
    o["seed"] = cfg_.seed;
    o["end"] = iso_z(cfg_.end);
    o["samples"] = cfg_.samples;
    o["hidden_every"] = cfg_.hidden_every;
    o["token_lifetime"] = cfg_.token_lifetime;
    o["generation_seconds"] = gen_seconds_;
    send(res, 200, o);
  });

  // Anything else: API paths get Strava's 404 through the pipeline.
  auto fallback = [this](const Req &req, Res &res) {
    const bool api = req.path.rfind("/api/v3", 0) == 0;
    const bool oauth = req.path.rfind("/oauth/", 0) == 0;
    auto nf = [](const Req &, Res &r) { send_error(r, 404, "Record Not Found", "", "", ""); };
    if (api || oauth)
      serve(req, res, "other", api, nf);
    else
      send(res, 404, message("error", "not found"));
  };
  s.Get(".*", fallback);
  s.Post(".*", fallback);
  s.Put(".*", fallback);
  s.Patch(".*", fallback);
  s.Delete(".*", fallback);
}

}  // namespace emu
