#include "cli/auth_flow.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "strava/oauth.h"

namespace stravafs {

std::string RandomState() {
  std::random_device rd;  // the kernel's CSPRNG on Linux
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) s += kHex[rd() & 15];
  return s;
}

Result<AuthRedirect> AwaitAuthRedirect(const std::string& expected_state, int port, Millis timeout,
                                       const std::function<void(const std::string&)>& ready) {
  httplib::Server server;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<AuthRedirect>> outcome;

  auto finish = [&](Result<AuthRedirect> r) {
    std::lock_guard lock(mu);
    if (!outcome) outcome = std::move(r);
    cv.notify_all();
  };
  auto page = [](httplib::Response& res, int status, const std::string& text) {
    res.status = status;
    res.set_content("<!doctype html><meta charset=utf-8><title>stravafs</title><p>" + text + "</p>\n",
                    "text/html; charset=utf-8");
  };

  // Anything but GET: 405.
  auto reject = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_content("method not allowed\n", "text/plain");
  };
  server.Get("/callback", [&](const httplib::Request& req, httplib::Response& res) {
    // httplib hands HEAD to the GET handlers too; a redirect is a GET.
    if (req.method != "GET") return reject(req, res);
    if (req.get_param_value("state") != expected_state) {
      page(res, 400, "This request does not belong to the running <code>stravafs auth</code> (state mismatch).");
      return;  // keep waiting for the real redirect
    }
    if (req.has_param("error")) {
      page(res, 403, "Authorization was refused. Run <code>stravafs auth</code> again to retry.");
      finish(Status::Error(ErrorKind::kAuth, "authorization refused on Strava (" + req.get_param_value("error") +
                                                 "): run `stravafs auth` again and click Authorize"));
      return;
    }
    std::string scope = req.get_param_value("scope");
    auto missing = MissingScopes(scope);
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      page(res, 403,
           "Some permissions were not granted: " + list +
               ". Run <code>stravafs auth</code> again and leave every box ticked.");
      finish(Status::Error(ErrorKind::kScope, "Strava granted \"" + scope + "\" but stravafs needs " + list +
                                                  ": run `stravafs auth` again and leave every box ticked"));
      return;
    }
    if (req.get_param_value("code").empty()) {
      page(res, 400, "The redirect carried no code.");
      return;
    }
    page(res, 200, "stravafs is authorized. You can close this tab.");
    finish(AuthRedirect{req.get_param_value("code"), scope});
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) res.set_content("not found\n", "text/plain");
  });
  server.Post(".*", reject);
  server.Put(".*", reject);
  server.Delete(".*", reject);
  server.Patch(".*", reject);
  server.Options(".*", reject);

  int bound = port > 0 ? (server.bind_to_port("127.0.0.1", port) ? port : -1) : server.bind_to_any_port("127.0.0.1");
  if (bound <= 0)
    return Status::Error(ErrorKind::kAuth, "cannot listen on 127.0.0.1" +
                                               (port > 0 ? ":" + std::to_string(port) : std::string()) +
                                               " for Strava's redirect (port in use? try --port N)");
  std::thread loop([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ready("http://127.0.0.1:" + std::to_string(bound) + "/callback");

  std::unique_lock lock(mu);
  bool got = cv.wait_for(lock, timeout, [&] { return outcome.has_value(); });
  lock.unlock();
  // Let the browser receive its page before the server goes away.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.stop();
  loop.join();
  if (!got)
    return Status::Error(ErrorKind::kAuth, "no redirect from Strava within " + FormatDuration(timeout) +
                                               ": run `stravafs auth` again, or use `stravafs auth --code CODE`");
  return std::move(*outcome);
}

}  // namespace stravafs
