// server.h - the HTTP side of the emulator: the Strava API (/api/v3), OAuth
// (/oauth) and the control API (/_emulator) on a cpp-httplib server bound to
// 127.0.0.1. Every request goes through one pipeline (counters, rate limit,
// fault injection, rate-limit headers, request log). Handlers run on the
// server's thread pool; all shared state lives in the internally locked
// classes of state.h, plus atomics here, so handlers may run concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "state.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace emu {

struct Config {
  int port = 0;
  std::string port_file;
  int64_t activities = 50;
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
};

class Emulator {
 public:
  explicit Emulator(const Config &cfg);
  ~Emulator();
  // Binds 127.0.0.1:cfg.port (0 = any); returns the port or -1.
  int bind();
  // Serves until stop(); returns false if the server failed.
  bool listen();
  // Thread-safe; may be called from any thread (e.g. a signal thread).
  void stop();
  double generation_seconds() const { return gen_seconds_; }

 private:
  using Req = httplib::Request;
  using Res = httplib::Response;
  using Handler = std::function<void(const Req &, Res &)>;

  void routes();
  // The pipeline for /api/v3 (api=true) and /oauth requests.
  void serve(const Req &req, Res &res, const std::string &endpoint, bool api, const Handler &h);
  // Returns the token's scopes, or writes a 401 and returns nullopt.
  std::optional<std::set<std::string>> authenticate(const Req &req, Res &res);
  bool need_activity_scope(const std::set<std::string> &scopes, Res &res);
  void not_found_id(Res &res, const char *resource);
  void sleep_ms(int64_t ms);

  // API handlers
  void h_list(const Req &, Res &);
  void h_activity(const Req &, Res &);
  void h_streams(const Req &, Res &);
  void h_laps(const Req &, Res &);
  void h_athlete(const Req &, Res &);
  void h_zones(const Req &, Res &);
  void h_stats(const Req &, Res &);
  void h_gear(const Req &, Res &);
  void h_authorize(const Req &, Res &);
  void h_token(const Req &, Res &);
  void h_deauthorize(const Req &, Res &);
  // Looks up an activity the token may see; writes the 404 otherwise.
  std::optional<Activity> visible_activity(const Req &req, Res &res, const std::set<std::string> &scopes);

  Config cfg_;
  double gen_seconds_ = 0;
  std::unique_ptr<httplib::Server> svr_;
  std::unique_ptr<ActivityStore> store_;
  Auth auth_;
  RateLimiter rl_;
  Faults faults_;
  Metrics metrics_;
  std::atomic<uint64_t> header_case_{0};
  std::atomic<uint64_t> not_found_{0};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  bool stopping_ = false;  // guarded by sleep_mu_
};

}  // namespace emu
