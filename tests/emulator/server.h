// server.h - the strava-emulator's HTTP side: a cpp-httplib server bound to
// 127.0.0.1 that hands every /api/v3 and /oauth request to Emulator::Handle
// (emulator.h) and serves the control API (/_emulator) over the same state.
// Handlers run on the server's thread pool; Emulator is safe to share.
#pragma once

#include <memory>

#include "emulator.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace emu {

class Server {
 public:
  explicit Server(const Config &cfg);
  ~Server();
  // Binds 127.0.0.1:cfg.port (0 = any); returns the port or -1.
  int bind();
  // Serves until stop(); returns false if the server failed.
  bool listen();
  // Thread-safe; may be called from any thread (e.g. a signal thread).
  void stop();
  double generation_seconds() const { return emu_.generation_seconds(); }

 private:
  using Req = httplib::Request;
  using Res = httplib::Response;

  void routes();
  // Strava's side: the request through Emulator::Handle, the reply back.
  void strava(const Req &req, Res &res);

  Emulator emu_;
  std::unique_ptr<httplib::Server> svr_;
};

}  // namespace emu
