// emulator.h - the emulator's Strava, independent of any transport: the Strava
// API (/api/v3) and OAuth (/oauth) behind one entry point,
// Emulator::Handle(Request) -> Response. Every request goes through one
// pipeline (counters, rate limit, fault injection, rate-limit headers,
// request log) and then a handler over the state classes of state.h.
//
// Two callers share it, so the integration tests and the unit tests meet the
// same model of Strava:
//   server.h             the strava-emulator's HTTP server (cpp-httplib on
//                        127.0.0.1) turns each request into a Request and
//                        back, and adds the control API (/_emulator);
//   tests/unit/fake_transport.h  FakeStrava, the unit tests' in-process
//                        Transport, on the tests' fake clock.
//
// Several athletes share the app (as up to 10 may share a paid Strava app):
// athlete number k (0, 1, ...) has the id athlete_id + k, its own generated
// history in its own ActivityStore, and its own grants; every API reply
// answers for the token's athlete. The rate limiter and the counters are the
// app's, shared by all.
//
// Thread-safety: Handle() may run on many threads at once (the server's
// pool); it only touches the internally locked state objects, atomics and the
// configuration, which is immutable after construction except through the
// internally locked setters below.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "render.h"
#include "state.h"

namespace emu {

// Epoch seconds now. The emulator never reads a clock but this one.
using ClockFn = std::function<int64_t()>;
// The real clock: system_clock, not time(): time() lags the real clock by up
// to a tick, which would count a request sent just after a window boundary in
// the old window.
int64_t system_now();

struct Config {
  int port = 0;
  std::string port_file;
  int64_t activities = 50;  // athlete 0's
  // --activities N,A,B: the activity counts of athletes 1, 2, ... (see
  // gen_params for what each gets).
  std::vector<int64_t> other_athletes;
  uint64_t seed = 1;
  int64_t end = 0;  // epoch seconds of --end
  int64_t athlete_id = 3141592653LL;
  std::string client_id = "12345";
  std::string client_secret = "emulator-secret";
  RateLimiter::Limits limits;
  int64_t token_lifetime = 21600;
  std::optional<std::set<std::string>> grant_scope;
  bool deny = false;
  int samples = 200;
  int64_t hidden_every = 0;
  int threads = 32;
  // Injectable for the unit tests' fake clock; empty = system_now.
  ClockFn clock;
  // Names of new tokens and codes (kind: "access", "refresh" or "code");
  // empty = random hex. The unit tests want "access-1", "refresh-1", ...
  Auth::Namer token_names;
  // false: a refresh hands back the same refresh token (Strava *may* rotate).
  bool rotate_refresh = true;
  // Casing of the rate-limit header names: -1 rotates through the three
  // (documented, Strava's "X-Ratelimit-Usage", all lowercase) request by
  // request; 0..2 fixes one.
  int header_case = -1;
};

// What athlete `number` is generated from. Athlete 0 is (activities, seed,
// athlete_id) as given; athlete k > 0 has other_athletes[k-1] activities, the
// id athlete_id + k, a seed derived from (seed, k), and activity ids from
// 11000000000 + k * 10^11 up, so no two athletes share an id.
GenParams gen_params(const Config &cfg, int number);

// A request as the pipeline sees it: the path decoded, query parameters and
// (for form-encoded POSTs) form fields in one multimap, as cpp-httplib has them.
struct Request {
  std::string method = "GET";
  std::string path;   // decoded, without the query
  std::string query;  // raw query string (for the request log)
  std::multimap<std::string, std::string> params;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<std::string> matches;  // filled by the router: [0] the path, [1..] its groups

  bool has_param(const std::string &key) const { return params.count(key) > 0; }
  std::string get_param_value(const std::string &key) const;
  bool has_header(std::string_view name) const;
  std::string get_header_value(std::string_view name) const;  // "" when absent; names match in any case

  // A request for `target` ("/api/v3/x?a=1"), parsed with cpp-httplib's own
  // URL decoding; a POST whose Content-Type is form-urlencoded has its body's
  // fields added to params, as cpp-httplib's server does.
  static Request FromTarget(std::string method, const std::string &target,
                            std::vector<std::pair<std::string, std::string>> headers, std::string body);
};

struct Response {
  // How the body travels: whole (with a Content-Length), chunked, or cut:
  // the connection drops after half of it (fault kind "cut").
  enum class Transfer { kWhole, kChunked, kCut };
  int status = -1;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
  std::string body, content_type;
  Transfer transfer = Transfer::kWhole;

  void set_content(std::string b, std::string ct) {
    body = std::move(b);
    content_type = std::move(ct);
  }
  void set_header(const std::string &name, const std::string &value);
  std::string get_header_value(std::string_view name) const;
};

class Emulator {
 public:
  explicit Emulator(const Config &cfg);
  ~Emulator();

  // Answers one /api/v3 or /oauth request (anything else: 404).
  Response Handle(Request req);
  // Ends the sleeps of "timeout" and "slow" faults at once, now and later.
  void stop();

  int64_t now_s() const { return cfg_.clock ? cfg_.clock() : system_now(); }
  const Config &config() const { return cfg_; }
  double generation_seconds() const { return gen_seconds_; }

  // The athletes, by number: 0 .. athlete_count() - 1.
  int athlete_count() const { return static_cast<int>(stores_.size()); }
  int64_t athlete_id(int number) const { return cfg_.athlete_id + number; }
  // The number of the athlete with this id; std::nullopt for no athlete here.
  std::optional<int> athlete_number(int64_t id) const;
  ActivityStore &store(int athlete = 0) { return *stores_.at(static_cast<size_t>(athlete)); }
  // The athlete who has this activity (hidden ones included).
  std::optional<int> owner(int64_t activity_id) const;
  // ActivityStore::create for one athlete, except that a given `id` must be
  // unused by every athlete (Strava's ids are global).
  std::optional<Activity> create(int athlete, const ojson &fields, std::string &err);
  // Who is signed in at strava.com: /oauth/authorize's codes are theirs.
  void login(int athlete) { logged_in_ = athlete; }

  Auth &auth() { return auth_; }
  RateLimiter &rate_limiter() { return rl_; }
  Faults &faults() { return faults_; }
  Metrics &metrics() { return metrics_; }
  // gear_distance: for the detailed form (its "gear").
  RenderCtx render_ctx(const std::map<std::string, double> *gear_distance = nullptr, int athlete = 0) const;
  // Scopes an authorization grants: the asked ones, cut to --grant-scope.
  std::set<std::string> granted(std::set<std::string> asked) const;

  // Test hooks (the unit tests' fake). Thread-safe. Every athlete has the
  // same zones and the same gear list (the generator's), under ids of their
  // own (gear_id_for); distances are their own. set_gear sets the first
  // athlete's list, and so every athlete's.
  void set_gear(std::vector<Gear> gear);
  std::vector<Gear> gear(int athlete = 0) const;
  void set_zones(ojson zones);
  // Overrides Config::header_case.
  void set_header_case(int which) { header_case_fixed_ = which; }

 private:
  using Handler = std::function<void(const Request &, Response &)>;
  struct Route {
    std::string method, pattern, endpoint;
    bool api;
    void (Emulator::*fn)(const Request &, Response &);
  };

  // The pipeline for /api/v3 (api=true) and /oauth requests.
  void serve(const Request &req, Response &res, const std::string &endpoint, bool api, const Handler &h);
  // The grant of the request's Bearer token, if it is valid (and the request
  // has no access_token parameter).
  std::optional<Auth::Access> token_access(const Request &req) const;
  // token_access, or writes a 401 and returns nullopt.
  std::optional<Auth::Access> authenticate(const Request &req, Response &res);
  bool need_activity_scope(const std::set<std::string> &scopes, Response &res);
  void not_found_id(Response &res, const char *resource);
  void sleep_ms(int64_t ms);
  // Looks up an activity the token may see (its athlete's, not hidden, not
  // only_me without activity:read_all); writes the 404 otherwise.
  std::optional<Activity> visible_activity(const Request &req, Response &res, const Auth::Access &token);

  // API handlers
  void h_list(const Request &, Response &);
  void h_activity(const Request &, Response &);
  void h_streams(const Request &, Response &);
  void h_laps(const Request &, Response &);
  void h_athlete(const Request &, Response &);
  void h_zones(const Request &, Response &);
  void h_stats(const Request &, Response &);
  void h_gear(const Request &, Response &);
  void h_authorize(const Request &, Response &);
  void h_token(const Request &, Response &);
  void h_deauthorize(const Request &, Response &);
  void h_other(const Request &, Response &);

  Config cfg_;
  double gen_seconds_ = 0;
  std::vector<std::unique_ptr<ActivityStore>> stores_;  // by athlete number; fixed after construction
  std::mutex create_mu_;                                // one create() at a time: ids stay global
  std::atomic<int> logged_in_{0};
  Auth auth_;
  RateLimiter rl_;
  Faults faults_;
  Metrics metrics_;
  std::atomic<uint64_t> header_case_{0};
  std::atomic<int> header_case_fixed_;
  std::atomic<uint64_t> not_found_{0};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  bool stopping_ = false;  // guarded by sleep_mu_
  mutable std::mutex data_mu_;
  std::shared_ptr<const std::vector<std::vector<Gear>>> gear_;  // per athlete; guarded by data_mu_
  ojson zones_;                                                 // guarded by data_mu_
};

}  // namespace emu
