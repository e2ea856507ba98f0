// server.cc - the HTTP adapter and the control API (see server.h).
#include "server.h"

#include <httplib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "render.h"
#include "timeutil.h"

namespace emu {

namespace {

const char *kJson = "application/json; charset=utf-8";

std::string dump(const ojson &j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

void send(httplib::Response &res, int status, const ojson &body) {
  res.status = status;
  res.set_content(dump(body), kJson);
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

bool parse_i64(const std::string &s, int64_t &out) {
  if (s.empty()) return false;
  char *end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end) return false;
  out = v;
  return true;
}

ojson message(const std::string &k, const ojson &v) {
  ojson o = ojson::object();
  o[k] = v;
  return o;
}

// The athlete a control call names by id: `athlete` in the query or the JSON
// body (whichever is given; absent = athlete 0). Writes a 400 for an id no
// athlete here has.
std::optional<int> athlete_of(const Emulator &emu, const httplib::Request &req, const ojson &body,
                              httplib::Response &res) {
  int64_t id = emu.athlete_id(0);
  bool ok = true;
  if (req.has_param("athlete")) {
    ok = parse_i64(req.get_param_value("athlete"), id);
  } else if (body.is_object() && body.contains("athlete")) {
    ok = body["athlete"].is_number_integer();
    if (ok) id = body["athlete"].get<int64_t>();
  }
  const std::optional<int> k = ok ? emu.athlete_number(id) : std::nullopt;
  if (!k) send(res, 400, message("error", "no such athlete"));
  return k;
}

}  // namespace

Server::Server(const Config &cfg) : emu_(cfg), svr_(std::make_unique<httplib::Server>()) {
  const int threads = std::max(2, cfg.threads);
  svr_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr_->set_payload_max_length(16 * 1024 * 1024);
  routes();
}

Server::~Server() = default;

int Server::bind() {
  if (emu_.config().port == 0) return svr_->bind_to_any_port("127.0.0.1");
  return svr_->bind_to_port("127.0.0.1", emu_.config().port) ? emu_.config().port : -1;
}

bool Server::listen() { return svr_->listen_after_bind(); }

void Server::stop() {
  emu_.stop();
  svr_->stop();
}

void Server::strava(const Req &req, Res &res) {
  Request r;
  r.method = req.method;
  r.path = req.path;
  const size_t q = req.target.find('?');
  if (q != std::string::npos) r.query = req.target.substr(q + 1);
  r.params = req.params;
  for (const auto &[name, value] : req.headers) r.headers.emplace_back(name, value);
  r.body = req.body;
  Response out = emu_.Handle(std::move(r));
  res.status = out.status;
  for (const auto &[name, value] : out.headers) res.set_header(name, value);
  if (out.status == 302) return;  // a redirect: Location only
  if (out.body.empty() && out.content_type.empty()) return;
  const std::string ct = out.content_type.empty() ? kJson : out.content_type;
  auto body = std::make_shared<std::string>(std::move(out.body));
  switch (out.transfer) {
    case Response::Transfer::kWhole:
      res.set_content(std::move(*body), ct);
      break;
    case Response::Transfer::kChunked:
      res.set_chunked_content_provider(ct, [body](size_t offset, httplib::DataSink &sink) {
        const size_t n = std::min<size_t>(65536, body->size() - offset);
        if (n > 0 && !sink.write(body->data() + offset, n)) return false;
        if (offset + n >= body->size()) sink.done();
        return true;
      });
      break;
    case Response::Transfer::kCut: {
      const size_t half = body->size() / 2;
      res.set_content_provider(body->size(), ct, [body, half](size_t offset, size_t, httplib::DataSink &sink) {
        if (offset < half) return sink.write(body->data() + offset, half - offset);
        return false;  // abort: the connection drops mid-body
      });
      break;
    }
  }
}

void Server::routes() {
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
    for (auto &f : add) emu_.faults().add(f);
    send(res, 200, emu_.faults().list());
  });
  s.Get("/_emulator/faults", [this](const Req &, Res &res) { send(res, 200, emu_.faults().list()); });
  s.Delete("/_emulator/faults", [this](const Req &, Res &res) {
    emu_.faults().clear();
    res.status = 204;
  });

  s.Get("/_emulator/activities", [this](const Req &req, Res &res) {
    const auto k = athlete_of(emu_, req, ojson(), res);
    if (!k) return;
    auto acts = std::make_shared<std::vector<Activity>>(emu_.store(*k).all_visible_by_id());
    auto gd = std::make_shared<std::map<std::string, double>>(emu_.store(*k).gear_distance());
    auto gear = std::make_shared<std::vector<Gear>>(emu_.gear(*k));
    const bool summary = req.get_param_value("form") == "summary";
    auto pos = std::make_shared<size_t>(0);
    const int64_t athlete = emu_.athlete_id(*k);
    const int samples = emu_.config().samples;
    res.status = 200;
    res.set_chunked_content_provider(
        kJson, [acts, gd, gear, pos, summary, athlete, samples](size_t, httplib::DataSink &sink) {
          RenderCtx ctx{athlete, samples, gd.get(), gear.get()};
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
  // One activity by id: ids are global, so the call finds its athlete.
  auto owner = [this](const Req &req) -> std::optional<std::pair<int, int64_t>> {
    int64_t id = 0;
    if (!parse_i64(req.matches[1].str(), id)) return std::nullopt;
    const auto k = emu_.owner(id);
    if (!k) return std::nullopt;
    return std::make_pair(*k, id);
  };
  s.Get(R"(/_emulator/activities/([^/]+))", [this, owner](const Req &req, Res &res) {
    const auto o = owner(req);
    std::optional<Activity> a;
    if (o) a = emu_.store(o->first).get(o->second);
    if (!a || a->hidden) {
      send(res, 404, message("error", "no such activity"));
      return;
    }
    const auto gd = emu_.store(o->first).gear_distance();
    send(res, 200, detail_json(*a, emu_.render_ctx(&gd, o->first)));
  });
  s.Post("/_emulator/activities", [this](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    const auto k = athlete_of(emu_, req, ojson(), res);  // the body is the activity
    if (!k) return;
    std::string err;
    auto a = emu_.create(*k, *body, err);
    if (!a) {
      send(res, 400, message("error", err));
      return;
    }
    const auto gd = emu_.store(*k).gear_distance();
    send(res, 201, detail_json(*a, emu_.render_ctx(&gd, *k)));
  });
  s.Patch(R"(/_emulator/activities/([^/]+))", [this, owner](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    const auto o = owner(req);
    std::string err;
    bool found = false;
    std::optional<Activity> a;
    if (o) a = emu_.store(o->first).patch(o->second, *body, err, found);
    if (!found) {
      send(res, 404, message("error", "no such activity"));
      return;
    }
    if (!a) {
      send(res, 400, message("error", err));
      return;
    }
    const auto gd = emu_.store(o->first).gear_distance();
    send(res, 200, detail_json(*a, emu_.render_ctx(&gd, o->first)));
  });
  s.Delete(R"(/_emulator/activities/([^/]+))", [this, owner](const Req &req, Res &res) {
    const auto o = owner(req);
    if (!o || !emu_.store(o->first).remove(o->second)) {
      send(res, 404, message("error", "no such activity"));
      return;
    }
    res.status = 204;
  });

  s.Get("/_emulator/counters", [this](const Req &, Res &res) { send(res, 200, emu_.metrics().counters()); });
  s.Post("/_emulator/counters/reset", [this](const Req &, Res &res) {
    emu_.metrics().reset();
    send(res, 200, emu_.metrics().counters());
  });
  s.Get("/_emulator/requests", [this](const Req &, Res &res) { send(res, 200, emu_.metrics().requests()); });

  auto rl_json = [this] {
    const auto s = emu_.rate_limiter().snapshot(emu_.now_s());
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
    emu_.rate_limiter().configure(*body, emu_.now_s());
    send(res, 200, rl_json());
  });

  s.Post("/_emulator/tokens/expire", [this](const Req &, Res &res) {
    emu_.auth().expire_all(emu_.now_s());
    send(res, 200, message("ok", true));
  });
  s.Post("/_emulator/code", [this](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    const auto k = athlete_of(emu_, req, *body, res);
    if (!k) return;
    std::string scope = "read,activity:read_all";
    if (body->is_object() && body->contains("scope") && (*body)["scope"].is_string())
      scope = (*body)["scope"].get<std::string>();
    std::set<std::string> scopes = parse_scopes(scope);
    for (const auto &x : scopes)
      if (!valid_scope(x)) {
        send(res, 400, message("error", "invalid scope " + x));
        return;
      }
    scopes = emu_.granted(scopes);
    ojson o = message("code", emu_.auth().mint_code(scopes, emu_.now_s(), "", *k));
    o["scope"] = join_scopes(scopes);
    o["athlete"] = emu_.athlete_id(*k);
    send(res, 200, o);
  });
  s.Post("/_emulator/login", [this](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    const auto k = athlete_of(emu_, req, *body, res);
    if (!k) return;
    emu_.login(*k);
    send(res, 200, message("athlete", emu_.athlete_id(*k)));
  });
  s.Post("/_emulator/revoke", [this](const Req &req, Res &res) {
    auto body = parse_body(req, res);
    if (!body) return;
    if (!req.has_param("athlete") && !(body->is_object() && body->contains("athlete"))) {
      send(res, 400, message("error", "revoke wants an athlete"));
      return;
    }
    const auto k = athlete_of(emu_, req, *body, res);
    if (!k) return;
    ojson o = message("athlete", emu_.athlete_id(*k));
    o["revoked"] = emu_.auth().revoke_athlete(*k);
    send(res, 200, o);
  });
  s.Get("/_emulator/config", [this](const Req &, Res &res) {
    ojson o = ojson::object();
    o["athlete_id"] = emu_.config().athlete_id;
    o["client_id"] = emu_.config().client_id;
    o["client_secret"] = emu_.config().client_secret;
    o["activities"] = emu_.store().size();
    ojson athletes = ojson::array();
    for (int k = 0; k < emu_.athlete_count(); ++k) {
      ojson a = message("id", emu_.athlete_id(k));
      a["activities"] = emu_.store(k).size();
      athletes.push_back(std::move(a));
    }
    o["athletes"] = std::move(athletes);
    o["seed"] = emu_.config().seed;
    o["end"] = iso_z(emu_.config().end);
    o["samples"] = emu_.config().samples;
    o["hidden_every"] = emu_.config().hidden_every;
    o["token_lifetime"] = emu_.config().token_lifetime;
    o["generation_seconds"] = emu_.generation_seconds();
    send(res, 200, o);
  });

  // Everything else is Strava's (Emulator::Handle answers 404 to what it
  // does not know).
  auto strava = [this](const Req &req, Res &res) { this->strava(req, res); };
  s.Get(".*", strava);
  s.Post(".*", strava);
  s.Put(".*", strava);
  s.Patch(".*", strava);
  s.Delete(".*", strava);
}

}  // namespace emu
