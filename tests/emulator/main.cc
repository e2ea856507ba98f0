// main.cc - command line of strava-emulator: parses options, generates the
// athletes, binds 127.0.0.1, announces the port (stdout line and optional
// --port-file), serves until SIGTERM/SIGINT, then exits 0.
// With --write-export DIR it writes one athlete as a Strava bulk export
// folder instead (export_writer.h) and exits without serving.
// Signals are blocked in every thread and consumed by one watcher thread
// that calls Server::stop() (thread-safe).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "export_writer.h"
#include "server.h"
#include "state.h"
#include "timeutil.h"

namespace {

[[noreturn]] void usage(const char *msg) {
  if (msg) std::fprintf(stderr, "strava-emulator: %s\n", msg);
  std::fprintf(stderr,
               "usage: strava-emulator [--port N] [--port-file FILE] [--activities N[,N...]] [--seed S]\n"
               "  [--end YYYY-MM-DD] [--athlete-id ID] [--client-id ID] [--client-secret S]\n"
               "  [--limit S,D] [--read-limit S,D] [--window SECONDS] [--day SECONDS]\n"
               "  [--token-lifetime SECONDS] [--grant-scope SCOPES] [--deny] [--samples N]\n"
               "  [--hidden-every K] [--threads N]\n"
               "       strava-emulator [--activities N[,N...]] [--seed S] [--end YYYY-MM-DD] [--samples N] ...\n"
               "  --write-export DIR [--export-athlete ID] [--export-lang en|de] [--export-old-header]\n"
               "--activities 2000,50,50 serves three athletes under the app, with ids\n"
               "--athlete-id, --athlete-id + 1 and + 2 (see tests/emulator/README.md).\n");
  std::exit(2);
}

int64_t to_i64(const std::string &opt, const std::string &v, int64_t min) {
  char *end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (errno || v.empty() || *end || x < min) usage((opt + ": bad value '" + v + "'").c_str());
  return x;
}

void pair(const std::string &opt, const std::string &v, int64_t &a, int64_t &b) {
  const size_t c = v.find(',');
  if (c == std::string::npos) usage((opt + " wants S,D").c_str());
  a = to_i64(opt, v.substr(0, c), 0);
  b = to_i64(opt, v.substr(c + 1), 0);
}

// --activities N,A,B: athlete 0's count, then the other athletes'.
void counts(const std::string &opt, const std::string &v, emu::Config &cfg) {
  cfg.other_athletes.clear();
  size_t p = 0;
  for (bool first = true;; first = false) {
    const size_t c = v.find(',', p);
    const int64_t n = to_i64(opt, v.substr(p, c == std::string::npos ? std::string::npos : c - p), 0);
    if (first)
      cfg.activities = n;
    else
      cfg.other_athletes.push_back(n);
    if (c == std::string::npos) return;
    p = c + 1;
  }
}

// --write-export: the same athlete as served, written as a bulk export.
// athlete: its number (0 = --athlete-id).
int run_export(const emu::Config &cfg, int athlete, const std::string &dir, bool german, bool old_header) {
  const auto t0 = std::chrono::steady_clock::now();
  const emu::GenParams gp = emu::gen_params(cfg, athlete);
  const emu::Generated g = emu::generate(gp);
  emu::ExportOptions opt;
  opt.dir = dir;
  opt.samples = cfg.samples;
  opt.athlete_id = gp.athlete_id;
  opt.athlete = athlete;
  opt.end = cfg.end;
  opt.german = german;
  opt.old_header = old_header;
  emu::ExportStats st;
  std::string err;
  if (!emu::write_export(g.activities, opt, st, err)) {
    std::fprintf(stderr, "strava-emulator: %s\n", err.c_str());
    return 1;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr,
               "wrote export of %lld activities (%lld FIT, %lld GPX, %lld TCX files, %lld manual) to %s in %.2f s\n",
               static_cast<long long>(st.activities), static_cast<long long>(st.fit), static_cast<long long>(st.gpx),
               static_cast<long long>(st.tcx), static_cast<long long>(st.manual), dir.c_str(), secs);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  emu::Config cfg;
  cfg.end = *emu::parse_iso("2026-11-01");
  std::string export_dir;
  std::optional<int64_t> export_athlete;
  bool export_german = false, export_old = false, export_opts = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--port")
      cfg.port = static_cast<int>(to_i64(a, val(), 0));
    else if (a == "--port-file")
      cfg.port_file = val();
    else if (a == "--activities")
      counts(a, val(), cfg);
    else if (a == "--seed")
      cfg.seed = static_cast<uint64_t>(to_i64(a, val(), 0));
    else if (a == "--end") {
      const std::string v = val();
      auto t = emu::parse_iso(v);
      if (!t || v.size() != 10) usage("--end wants YYYY-MM-DD");
      cfg.end = *t;
    } else if (a == "--athlete-id")
      cfg.athlete_id = to_i64(a, val(), 1);
    else if (a == "--client-id")
      cfg.client_id = val();
    else if (a == "--client-secret")
      cfg.client_secret = val();
    else if (a == "--limit")
      pair(a, val(), cfg.limits.limit_s, cfg.limits.limit_d);
    else if (a == "--read-limit")
      pair(a, val(), cfg.limits.read_s, cfg.limits.read_d);
    else if (a == "--window")
      cfg.limits.window = to_i64(a, val(), 1);
    else if (a == "--day")
      cfg.limits.day = to_i64(a, val(), 1);
    else if (a == "--token-lifetime")
      cfg.token_lifetime = to_i64(a, val(), 0);
    else if (a == "--grant-scope")
      cfg.grant_scope = emu::parse_scopes(val());
    else if (a == "--deny")
      cfg.deny = true;
    else if (a == "--samples")
      cfg.samples = static_cast<int>(to_i64(a, val(), 2));
    else if (a == "--hidden-every")
      cfg.hidden_every = to_i64(a, val(), 0);
    else if (a == "--threads")
      cfg.threads = static_cast<int>(to_i64(a, val(), 2));
    else if (a == "--write-export") {
      export_dir = val();
      if (export_dir.empty()) usage("--write-export needs a directory");
    } else if (a == "--export-athlete") {
      export_athlete = to_i64(a, val(), 1);
      export_opts = true;
    } else if (a == "--export-lang") {
      const std::string v = val();
      if (v != "en" && v != "de") usage("--export-lang wants en or de");
      export_german = v == "de";
      export_opts = true;
    } else if (a == "--export-old-header")
      export_old = export_opts = true;
    else if (a == "-h" || a == "--help")
      usage(nullptr);
    else
      usage(("unknown option " + a).c_str());
  }

  if (export_opts && export_dir.empty())
    usage("--export-athlete, --export-lang and --export-old-header need --write-export DIR");
  if (!export_dir.empty()) {
    const int64_t k = export_athlete.value_or(cfg.athlete_id) - cfg.athlete_id;
    if (k < 0 || k > static_cast<int64_t>(cfg.other_athletes.size()))
      usage("--export-athlete: no such athlete (ids are --athlete-id, + 1, ... one per --activities count)");
    return run_export(cfg, static_cast<int>(k), export_dir, export_german, export_old);
  }

  // Block the stop signals in every thread; one watcher thread takes them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  emu::Server server(cfg);
  int64_t total = cfg.activities;
  for (int64_t n : cfg.other_athletes) total += n;
  std::fprintf(stderr, "strava-emulator: generated %lld activities in %.3f s\n", static_cast<long long>(total),
               server.generation_seconds());
  const int port = server.bind();
  if (port <= 0) {
    std::fprintf(stderr, "strava-emulator: cannot bind 127.0.0.1:%d\n", cfg.port);
    return 1;
  }
  if (!cfg.port_file.empty()) {
    const std::string tmp = cfg.port_file + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << port << "\n";
      if (!f) {
        std::fprintf(stderr, "strava-emulator: cannot write %s\n", tmp.c_str());
        return 1;
      }
    }
    if (std::rename(tmp.c_str(), cfg.port_file.c_str()) != 0) {
      std::fprintf(stderr, "strava-emulator: cannot write %s\n", cfg.port_file.c_str());
      return 1;
    }
  }
  std::printf("listening on http://127.0.0.1:%d\n", port);
  std::fflush(stdout);

  std::atomic<bool> done{false}, stopped{false};
  std::thread watcher([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      if (sigtimedwait(&set, nullptr, &tick) > 0) {
        stopped = true;
        server.stop();
        return;
      }
    }
  });
  const bool ok = server.listen();
  done = true;
  watcher.join();
  return ok || stopped ? 0 : 1;
}
