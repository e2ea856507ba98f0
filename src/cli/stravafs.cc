// stravafs: the command line (stravafs(1)): auth, athletes, sync, import, status.
//
// Parses arguments, loads the config, wires the real transport, clock, token
// store and cache into the core, and turns Status kinds into exit codes. All
// the behaviour lives in the core; this file only connects and reports.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "base/iso_time.h"
#include "base/utf8.h"
#include "cli/auth_flow.h"
#include "cli/import_progress.h"
#include "cache/db.h"
#include "cache/activity_store.h"
#include "cache/athlete_store.h"
#include "cache/import_store.h"
#include "cache/sync_state.h"
#include "import/importer.h"
#include "config/config.h"
#include "strava/oauth.h"
#include "cli/progress.h"
#include "sync/sync_engine.h"
#include "sync/sync_session.h"
#include "cache/sync_lock.h"
#include "strava/token_store.h"

extern char** environ;

namespace stravafs {
namespace {

// Exit codes, documented in stravafs(1).
enum Exit {
  kExitOk = 0,
  kExitError = 1,       // network, server, cache or other failure; state saved
  kExitUsage = 2,       // bad arguments or config
  kExitAuth = 3,        // not authorized, token revoked, scope missing
  kExitLocked = 4,      // another sync holds the cache
  kExitPartial = 5,     // import: some files could not be read (each named); the rest was imported
  kExitRateLimit = 75,  // EX_TEMPFAIL: rate-limit budget spent; run again later to resume
  kExitInterrupted = 130,
};

int ExitCode(const Status& s) {
  switch (s.kind()) {
    case ErrorKind::kOk:
      return kExitOk;
    case ErrorKind::kUsage:
    case ErrorKind::kConfig:
      return kExitUsage;
    case ErrorKind::kAuth:
    case ErrorKind::kScope:
      return kExitAuth;
    case ErrorKind::kLocked:
      return kExitLocked;
    case ErrorKind::kRateLimited:
      return kExitRateLimit;
    case ErrorKind::kInterrupted:
      return kExitInterrupted;
    default:
      return kExitError;
  }
}

int Fail(const Status& s) {
  std::fprintf(stderr, "stravafs: %s\n", s.message().c_str());
  return ExitCode(s);
}

constexpr const char* kUsage =
    "usage: stravafs [--config FILE] COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  auth [--no-browser] [--port N] [--timeout DURATION]\n"
    "                       authorize in a browser (redirect caught on 127.0.0.1)\n"
    "  auth --code -        exchange a code obtained elsewhere, read from standard input\n"
    "                       (headless machines; --code CODE also works, but shows in ps)\n"
    "  auth --refresh-token read an existing refresh token from standard input\n"
    "  auth --remove ATHLETE [--purge]\n"
    "                       revoke an athlete's grant (and with --purge, delete their data)\n"
    "  athletes [--json]    the athletes authorized here and the state of their grants\n"
    "  sync [--athlete ATHLETE] [--since DATE] [--until DATE] [--full] [--no-deep]\n"
    "       [--json] [--quiet]\n"
    "                       bring the cache up to date with Strava\n"
    "  import [--athlete ATHLETE] [--json] [--quiet] PATH...\n"
    "                       import a Strava bulk export (.zip or folder), folders\n"
    "                       and FIT, GPX or TCX files (also .gz); no API access needed\n"
    "  status [--json]      what the cache holds and how the last sync went\n"
    "\n"
    "See stravafs(1) and stravafs.conf(5).\n";

std::atomic<bool> g_cancel{false};

extern "C" void OnSignal(int) {
  g_cancel.store(true);
  // A second Ctrl-C kills at once; the cache is safe either way.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

// "2024-05-01" (UTC midnight) or "2024-05-01T06:00:00Z".
std::optional<int64_t> ParseDateArg(const std::string& text) {
  if (text.size() == 10) return ParseIsoUtc(text + "T00:00:00Z");
  return ParseIsoUtc(text);
}

class Args {
 public:
  Args(int argc, char** argv) : v_(argv + 1, argv + argc) {}
  bool Empty() const { return i_ >= v_.size(); }
  std::string Next() { return v_[i_++]; }
  const std::string& Peek() const { return v_[i_]; }
  // The value of an option, or a usage error.
  Result<std::string> Value(const std::string& option) {
    if (Empty()) return Status::Error(ErrorKind::kUsage, option + " needs a value");
    return Next();
  }

 private:
  std::vector<std::string> v_;
  size_t i_ = 0;
};

void OpenBrowser(const std::string& url) {
  if (!std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY")) return;
  pid_t pid;
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnp(&pid, "xdg-open", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
}

// The cache opened for writing under the sync lock (one writer per cache),
// with Ctrl-C and SIGTERM asking the work to stop at a safe point (g_cancel).
struct Writing {
  SyncLock lock;
  std::unique_ptr<Cache> cache;
};
Result<Writing> BeginWriting(const Config& config) {
  auto lock = SyncLock::Acquire(config.cache_path, 3000);
  if (!lock.ok()) return lock.status();
  // Before the cache is opened: creating or upgrading it takes a moment, and
  // a signal then must still end in "interrupted" (130), not a plain kill.
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  auto cache = Cache::Open(config.cache_path, Cache::Mode::kReadWrite);
  if (!cache.ok()) return cache.status();
  return Writing{std::move(*lock), std::move(*cache)};
}

// One of the athletes authorized here (as their grants record them): their
// id, or their name ("Ann Lee" or just "Ann", ASCII case aside).
Result<int64_t> ResolveAthlete(const TokenStore& store, const std::string& text) {
  std::vector<std::pair<int64_t, std::string>> known;
  for (const Grant& g : store.List())
    if (g.tokens.ok()) known.emplace_back(g.tokens->athlete_id, g.tokens->athlete_name);
  return PickAthlete(known, text, "authorized here: give the id (`stravafs athletes` lists them)");
}

// `auth --remove ATHLETE [--purge]`: revoke at Strava (best effort: the
// grant goes here either way), forget the tokens, and with --purge delete
// what the cache holds of the athlete.
int RemoveAthlete(const Config& config, const std::string& who, bool purge) {
  TokenStore store(config.state_dir);
  auto id = ResolveAthlete(store, who);
  if (!id.ok()) return Fail(id.status());
  auto lock = TokenLock::Acquire(store.dir(), 2 * config.timeout.count() + 5000);
  if (!lock.ok()) return Fail(lock.status());
  auto tokens = store.Load(*id);
  if (!tokens.ok() || tokens->athlete_id != *id)
    return Fail(Status::Error(
        ErrorKind::kUsage, "athlete " + std::to_string(*id) + " has no grant here (`stravafs athletes` lists them)"));
  auto transport = MakeCurlTransport();
  // Strava revokes with a valid access token: an expired one is refreshed
  // first (and then revoked with the grant).
  std::string access = tokens->access_token;
  Status revoked = Status::Ok();
  if (tokens->expires_at - SystemClock().NowMs() / 1000 <= 60) {
    auto fresh = RefreshTokens(*transport, config, tokens->refresh_token);
    if (fresh.ok())
      access = fresh->access_token;
    else
      revoked = fresh.status();
  }
  if (revoked.ok()) revoked = Deauthorize(*transport, config, access);
  if (auto s = store.Remove(*id); !s.ok()) return Fail(s);
  const std::string name =
      std::to_string(*id) + (tokens->athlete_name.empty() ? "" : " (" + tokens->athlete_name + ")");
  if (revoked.ok())
    std::fprintf(stderr, "athlete %s: grant revoked at Strava and removed\n", name.c_str());
  else
    std::fprintf(stderr,
                 "athlete %s: grant removed here, but Strava did not confirm the revocation (%s); revoke "
                 "stravafs at https://www.strava.com/settings/apps to be sure\n",
                 name.c_str(), revoked.message().c_str());
  if (!purge) {
    std::fprintf(stderr, "their data stays in %s (remove it with --purge)\n", config.cache_path.c_str());
    return kExitOk;
  }
  if (::access(config.cache_path.c_str(), F_OK) != 0) return kExitOk;
  auto writing = BeginWriting(config);
  if (!writing.ok()) return Fail(writing.status());
  Cache& cache = *writing->cache;
  auto held = AthleteStore(cache).Held();
  if (!held.ok()) return Fail(held.status());
  if (std::find(held->begin(), held->end(), *id) == held->end()) {
    std::fprintf(stderr, "%s holds nothing of athlete %lld to purge\n", config.cache_path.c_str(),
                 static_cast<long long>(*id));
    return kExitOk;
  }
  Transaction tx(cache);
  if (!tx.status().ok()) return Fail(tx.status());
  auto purged = AthleteStore(cache).Purge(*id);
  if (!purged.ok()) return Fail(purged.status());
  if (auto s = tx.Commit(); !s.ok()) return Fail(s);
  std::fprintf(stderr, "purged athlete %lld from %s: %s deleted\n", static_cast<long long>(*id),
               config.cache_path.c_str(),
               (std::to_string(*purged) + (*purged == 1 ? " activity" : " activities")).c_str());
  return kExitOk;
}

int CmdAuth(const Config& config, Args& args) {
  std::optional<std::string> code, remove;
  bool purge = false;
  bool from_stdin = false, browser = true;
  int port = 0;
  Millis timeout = std::chrono::minutes(5);
  while (!args.Empty()) {
    std::string a = args.Next();
    if (a == "--code") {
      auto v = args.Value(a);
      if (!v.ok()) return Fail(v.status());
      code = *v;
    } else if (a == "--refresh-token") {
      from_stdin = true;
    } else if (a == "--remove") {
      auto v = args.Value(a);
      if (!v.ok()) return Fail(v.status());
      remove = *v;
    } else if (a == "--purge") {
      purge = true;
    } else if (a == "--no-browser") {
      browser = false;
    } else if (a == "--port") {
      auto v = args.Value(a);
      if (!v.ok()) return Fail(v.status());
      port = std::atoi(v->c_str());
      if (*v != std::to_string(port) || port < 0 || port > 65535)
        return Fail(Status::Error(ErrorKind::kUsage, "--port takes 0 (any free port) to 65535"));
    } else if (a == "--timeout") {
      auto v = args.Value(a);
      if (!v.ok()) return Fail(v.status());
      auto d = ParseDuration(*v);
      if (!d.ok()) return Fail(Status::Error(ErrorKind::kUsage, "--timeout: " + d.status().message()));
      timeout = *d;
    } else {
      return Fail(Status::Error(ErrorKind::kUsage, "auth: unknown option " + a + "\n" + kUsage));
    }
  }
  if (config.client_id.empty())
    return Fail(
        Status::Error(ErrorKind::kConfig, config.path + ": [strava] client_id is not set (see stravafs.conf(5))"));
  if (purge && !remove) return Fail(Status::Error(ErrorKind::kUsage, "--purge goes with --remove ATHLETE"));
  if (remove) {
    if (code || from_stdin)
      return Fail(Status::Error(ErrorKind::kUsage, "--remove does not combine with --code or --refresh-token"));
    return RemoveAthlete(config, *remove, purge);
  }
  // `--code -`: the code from standard input, out of the process list, as
  // --refresh-token reads its token (issue 15).
  if (code && *code == "-") {
    std::getline(std::cin, *code);
    while (!code->empty() && std::isspace(static_cast<unsigned char>(code->back()))) code->pop_back();
    if (code->empty())
      return Fail(
          Status::Error(ErrorKind::kUsage, "auth --code - reads the code from standard input, which was empty"));
  }

  auto transport = MakeCurlTransport();
  TokenStore store(config.state_dir);
  Result<Tokens> tokens = Status::Error(ErrorKind::kAuth, "no tokens");
  std::string scope;
  if (from_stdin) {
    std::string refresh;
    std::getline(std::cin, refresh);
    while (!refresh.empty() && std::isspace(static_cast<unsigned char>(refresh.back()))) refresh.pop_back();
    if (refresh.empty())
      return Fail(Status::Error(ErrorKind::kUsage,
                                "auth --refresh-token reads the token from standard input, "
                                "which was empty"));
    tokens = RefreshTokens(*transport, config, refresh);
    // The token reply names no athlete; the grant file must.
    if (tokens.ok())
      if (Status s = IdentifyAthlete(*transport, config, *tokens); !s.ok()) return Fail(s);
  } else {
    if (!code) {
      std::string state = RandomState();
      auto redirect = AwaitAuthRedirect(state, port, timeout, [&](const std::string& redirect_uri) {
        std::string url = AuthorizeUrl(config, redirect_uri, state);
        std::fprintf(stderr,
                     "Open this address in a browser and authorize stravafs:\n\n  %s\n\n"
                     "Waiting for Strava's redirect on %s (Ctrl-C to give up)...\n",
                     url.c_str(), redirect_uri.c_str());
        std::printf("%s\n", url.c_str());
        std::fflush(stdout);
        if (browser) OpenBrowser(url);
      });
      if (!redirect.ok()) return Fail(redirect.status());
      code = redirect->code;
      scope = redirect->scope;
    }
    tokens = ExchangeCode(*transport, config, *code);
  }
  if (!tokens.ok()) return Fail(tokens.status());
  tokens->scope = scope;
  {
    // Under the token lock: two athletes authorizing at once on a new machine
    // must not both take tokens.json (PathFor), nor overwrite a refresh.
    auto lock = TokenLock::Acquire(store.dir(), 2 * config.timeout.count() + 5000);
    if (!lock.ok()) return Fail(lock.status());
    if (auto s = store.Save(*tokens); !s.ok()) return Fail(s);
  }
  std::string who = tokens->athlete_id ? " athlete " + std::to_string(tokens->athlete_id) : "";
  if (!tokens->athlete_name.empty()) who += " (" + tokens->athlete_name + ")";
  std::fprintf(stderr, "authorized%s; tokens saved in %s\n", who.c_str(), store.PathFor(tokens->athlete_id).c_str());
  if (scope.empty())
    std::fprintf(stderr,
                 "note: the granted scopes are only known from the browser redirect; if a sync reports a "
                 "missing scope, run `stravafs auth` again\n");
  if (!scope.empty() && ("," + scope + ",").find(",profile:read_all,") == std::string::npos)
    std::fprintf(stderr,
                 "note: without the profile:read_all scope the sync cannot fetch your heart-rate zones "
                 "from Strava and derives them from your maximum heart rate; to use Strava's, run "
                 "`stravafs auth` again and leave \"View data about your complete Strava profile\" ticked\n");
  // A new grant may bring profile:read_all: the next sync asks for the zones
  // at once instead of a day after the last refusal. Best effort: no cache
  // yet, or a busy one, only means the usual daily check.
  if (::access(config.cache_path.c_str(), F_OK) == 0)
    if (auto cache = Cache::Open(config.cache_path, Cache::Mode::kReadWrite); cache.ok())
      (void)DeleteState(**cache, tokens->athlete_id, kStateZonesChecked);
  return kExitOk;
}

// Runs the importer over `paths` under the lock the caller holds, showing
// progress and naming every file that fails; prints the closing line.
stravafs::import::ImportReport Import(const Config& config, Cache& cache, const std::vector<std::string>& paths,
                                      bool quiet, int64_t athlete = 0) {
  import::ImportOptions options;
  options.athlete = athlete;
  options.originals = config.import_originals;
  options.cancel = &g_cancel;
  auto zone = TimeZone::Load(config.import_timezone);
  if (!zone.ok()) {
    import::ImportReport r;
    r.status = zone.status();
    return r;
  }
  options.zone = *zone;
  ImportTerminalProgress progress(stderr, isatty(STDERR_FILENO) != 0, quiet);
  import::ImportReport r = import::RunImport(cache, paths, options, &progress);
  progress.EndLine();
  if (!quiet) {
    std::fprintf(stderr,
                 "import %s: %lld files read (%lld unchanged passed over), %lld activities added, %lld updated, "
                 "%lld files attached, %lld duplicates, %lld failed in %.1fs\n",
                 r.status.ok() ? "done" : "stopped", static_cast<long long>(r.files),
                 static_cast<long long>(r.unchanged), static_cast<long long>(r.added),
                 static_cast<long long>(r.updated), static_cast<long long>(r.attached),
                 static_cast<long long>(r.duplicates), static_cast<long long>(r.failed),
                 static_cast<double>(r.finished_ms - r.started_ms) / 1000.0);
    if (r.warnings > 0)
      std::fprintf(stderr, "activities.csv: %lld rows read, %lld warnings (cells left empty or rows skipped)\n",
                   static_cast<long long>(r.rows), static_cast<long long>(r.warnings));
  }
  return r;
}

int CmdImport(const Config& config, Args& args) {
  bool json = false, quiet = false;
  std::optional<std::string> athlete;
  std::vector<std::string> paths;
  while (!args.Empty()) {
    std::string a = args.Next();
    if (a == "--json") {
      json = true;
    } else if (a == "--athlete") {
      auto v = args.Value(a);
      if (!v.ok()) return Fail(v.status());
      athlete = *v;
    } else if (a == "--quiet" || a == "-q") {
      quiet = true;
    } else if (a == "--") {
      while (!args.Empty()) paths.push_back(args.Next());
    } else if (a.rfind("-", 0) == 0 && a.size() > 1) {
      return Fail(Status::Error(ErrorKind::kUsage, "import: unknown option " + a + "\n" + kUsage));
    } else {
      paths.push_back(a);
    }
  }
  if (paths.empty())
    return Fail(Status::Error(ErrorKind::kUsage,
                              "import needs a path: the export .zip from strava.com, its folder, "
                              "or FIT, GPX and TCX files or folders\n" +
                                  std::string(kUsage)));
  auto writing = BeginWriting(config);
  if (!writing.ok()) return Fail(writing.status());
  int64_t owner = 0;
  if (athlete) {
    auto id = AthleteStore(*writing->cache).Named(*athlete);
    if (!id.ok()) return Fail(id.status());
    owner = *id;
  }
  import::ImportReport r = Import(config, *writing->cache, paths, quiet, owner);
  if (json) std::printf("%s\n", import::ImportReportToJson(r).dump(2).c_str());
  if (!r.status.ok()) return Fail(r.status);
  if (r.failed > 0) {
    std::fprintf(stderr,
                 "stravafs: %lld file%s could not be imported (named above); the rest was; fix or remove "
                 "them and run the import again to retry only those\n",
                 static_cast<long long>(r.failed), r.failed == 1 ? "" : "s");
    return kExitPartial;
  }
  return kExitOk;
}

// The closing line of a sync: "incremental done: 3 listed (...), ... in 1.2s".
std::string DescribeRun(const SyncReport& r) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1fs", static_cast<double>(r.finished_ms - r.started_ms) / 1000.0);
  return (r.mode.empty() ? "sync" : r.mode) + (r.status.ok() ? " done" : " stopped") + ": " + std::to_string(r.listed) +
         " listed (" + DescribeChanges(r) + "), " + std::to_string(r.details) + " details, " +
         std::to_string(r.streams + r.no_streams) + " streams, " + Plural(r.requests, "request") + " in " + seconds +
         (r.deep_pending > 0 ? ", " + std::to_string(r.deep_pending) + " details/streams still to fetch" : "");
}

int CmdSync(const Config& config, Args& args) {
  SyncOptions options;
  bool json = false, quiet = false, full = false;
  while (!args.Empty()) {
    std::string a = args.Next();
    if (a == "--since" || a == "--until") {
      auto v = args.Value(a);
      if (!v.ok()) return Fail(v.status());
      auto t = ParseDateArg(*v);
      if (!t) return Fail(Status::Error(ErrorKind::kUsage, a + " takes a date like 2024-05-01, not \"" + *v + "\""));
      if (a == "--since")
        options.since = *t;
      else
        options.until = v->size() == 10 ? *t + 86400 : *t;  // a date includes its whole day
    } else if (a == "--full") {
      full = true;
    } else if (a == "--no-deep") {
      options.deep = false;
    } else if (a == "--athlete") {
      auto v = args.Value(a);
      if (!v.ok()) return Fail(v.status());
      auto id = ResolveAthlete(TokenStore(config.state_dir), *v);
      if (!id.ok()) return Fail(id.status());
      options.athlete = *id;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--quiet" || a == "-q") {
      quiet = true;
    } else {
      return Fail(Status::Error(ErrorKind::kUsage, "sync: unknown option " + a + "\n" + kUsage));
    }
  }
  if (full && (options.since || options.until))
    return Fail(Status::Error(ErrorKind::kUsage, "--full lists everything; it does not combine with --since/--until"));
  if (full)
    options.mode = SyncOptions::Mode::kFull;
  else if (options.since || options.until)
    options.mode = SyncOptions::Mode::kBackfill;
  if (options.since && options.until && *options.since >= *options.until)
    return Fail(Status::Error(ErrorKind::kUsage, "--since must come before --until"));

  auto writing = BeginWriting(config);
  if (!writing.ok()) return Fail(writing.status());
  Cache& cache = *writing->cache;
  options.cancel = &g_cancel;

  // [import] folders first: a device's new files need no network, and with
  // no [strava] client_id they are the whole sync.
  int64_t import_failed = 0;
  if (!config.import_folders.empty()) {
    auto owner = import::ConfiguredOwner(cache, config);
    if (!owner.ok()) return Fail(owner.status());
    import::ImportReport r = Import(config, cache, config.import_folders, quiet, *owner);
    if (!r.status.ok()) return Fail(r.status);
    import_failed = r.failed;
    if (json && config.client_id.empty()) std::printf("%s\n", import::ImportReportToJson(r).dump(2).c_str());
  }
  if (config.client_id.empty()) {
    if (!config.import_folders.empty()) return import_failed > 0 ? kExitPartial : kExitOk;
    return Fail(Status::Error(ErrorKind::kConfig, config.path +
                                                      ": [strava] client_id is not set, and there are no "
                                                      "[import] folders: nothing to sync from (see stravafs.conf(5); "
                                                      "without API access, use `stravafs import`)"));
  }

  Clock& clock = SystemClock();
  SyncSession session(config, ClientOptions{});
  TerminalProgress progress(stderr, isatty(STDERR_FILENO) != 0, quiet, clock, config, session.limiter());
  // With several athletes authorized and none named, every one of them.
  std::vector<Grant> grants;
  if (options.athlete == 0) grants = TokenStore(config.state_dir).List();
  if (grants.size() < 2) {
    SyncReport r = session.Run(cache, options, progress);
    progress.EndLine();
    if (json) std::printf("%s\n", ReportToJson(r).dump(2).c_str());
    if (!quiet && r.requests > 0) std::fprintf(stderr, "%s\n", DescribeRun(r).c_str());
    if (!r.status.ok()) return Fail(r.status);
    return import_failed > 0 ? kExitPartial : kExitOk;
  }

  std::vector<int64_t> athletes;
  std::vector<std::string> names;
  Status first_failure;
  for (const Grant& g : grants) {
    if (!g.tokens.ok() || g.tokens->athlete_id == 0) {
      const Status why = g.tokens.ok() ? Status::Error(ErrorKind::kAuth,
                                                       "names no athlete: run `stravafs auth --refresh-token` "
                                                       "again to learn whose it is")
                                       : g.tokens.status();
      std::fprintf(stderr, "stravafs: %s: %s; not synced\n", g.path.c_str(), why.message().c_str());
      if (first_failure.ok()) first_failure = why;
      continue;
    }
    athletes.push_back(g.tokens->athlete_id);
    names.push_back(std::to_string(g.tokens->athlete_id) +
                    (g.tokens->athlete_name.empty() ? "" : " (" + g.tokens->athlete_name + ")"));
  }
  std::vector<SyncReport> reports = session.RunEvery(cache, athletes, options, progress);
  progress.EndLine();
  Json all = Json::array();
  for (size_t i = 0; i < athletes.size(); ++i) {
    const SyncReport& r = reports[i];
    if (r.mode.empty() && r.status.ok()) {  // not reached: something stopped everyone first
      if (!quiet) std::fprintf(stderr, "athlete %s: not synced\n", names[i].c_str());
      continue;
    }
    Json j = ReportToJson(r);
    j["athlete_id"] = athletes[i];
    all.push_back(j);
    if (!quiet || !r.status.ok())
      std::fprintf(stderr, "athlete %s: %s%s\n", names[i].c_str(), DescribeRun(r).c_str(),
                   r.status.ok() ? "" : ("; " + r.status.message()).c_str());
    if (!r.status.ok() && first_failure.ok()) first_failure = r.status;
  }
  if (json) std::printf("%s\n", all.dump(2).c_str());
  if (!first_failure.ok()) return ExitCode(first_failure);
  return import_failed > 0 ? kExitPartial : kExitOk;
}

// `stravafs athletes`: every grant here, whose it is and whether it works.
int CmdAthletes(const Config& config, Args& args) {
  bool json = false;
  while (!args.Empty()) {
    std::string a = args.Next();
    if (a != "--json") return Fail(Status::Error(ErrorKind::kUsage, "athletes: unknown option " + a + "\n" + kUsage));
    json = true;
  }
  // Whose data the cache holds, if there is a cache to ask.
  std::vector<int64_t> held;
  if (::access(config.cache_path.c_str(), F_OK) == 0)
    if (auto cache = Cache::Open(config.cache_path, Cache::Mode::kReadOnly); cache.ok())
      if (auto h = AthleteStore(**cache).Held(); h.ok()) held = *h;
  const int64_t now = SystemClock().NowMs() / 1000;
  Json list = Json::array();
  for (const Grant& g : TokenStore(config.state_dir).List()) {
    Json row = {{"file", g.path}};
    std::string state;
    if (!g.tokens.ok()) {
      row["athlete_id"] = nullptr;
      state = "damaged: run `stravafs auth` again";
    } else {
      const Tokens& t = *g.tokens;
      row["athlete_id"] = t.athlete_id ? Json(t.athlete_id) : Json(nullptr);
      row["name"] = t.athlete_name;
      row["scope"] = t.scope;
      row["expires_at"] = t.expires_at ? Json(FormatIsoUtc(t.expires_at)) : Json(nullptr);
      row["this_cache"] = std::find(held.begin(), held.end(), t.athlete_id) != held.end();
      std::string missing;
      for (const auto& m : MissingScopes(t.scope)) missing += (missing.empty() ? "" : ", ") + m;
      if ((!t.base_url.empty() && t.base_url != config.base_url) ||
          (!t.client_id.empty() && t.client_id != config.client_id))
        state = "issued by " + t.base_url + " for client_id " + t.client_id + ", not this config's app";
      else if (t.refused_at != 0)
        state = "refused by Strava at " + FormatIsoUtc(t.refused_at) + ": " + t.refused;
      else if (!t.scope.empty() && !missing.empty())
        state = "lacks " + missing + ": run `stravafs auth` again";
      else if (!t.access_token.empty() && t.expires_at > now)
        state = "active (access token valid until " + FormatIsoUtc(t.expires_at) + ")";
      else
        state = "active (a new access token is fetched at the next use)";
    }
    row["state"] = state;
    list.push_back(std::move(row));
  }
  if (json) {
    std::printf("%s\n", list.dump(2).c_str());
    return kExitOk;
  }
  if (list.empty()) {
    std::fprintf(stderr, "no athlete is authorized here (%s): run `stravafs auth`\n", config.state_dir.c_str());
    return kExitOk;
  }
  for (const Json& row : list) {
    const std::string id = row["athlete_id"].is_null() ? "?" : std::to_string(row["athlete_id"].get<int64_t>());
    std::string name = row.value("name", "");
    if (name.empty()) name = "-";
    // Padded to 24 characters, not bytes: names are UTF-8.
    size_t chars = 0;
    for (unsigned char c : name) chars += (c & 0xC0) != 0x80;
    if (chars < 24) name.append(24 - chars, ' ');
    std::printf("%-12s %s %s%s\n", id.c_str(), name.c_str(), row["state"].get<std::string>().c_str(),
                row.value("this_cache", false) ? "; this cache's athlete" : "");
  }
  return kExitOk;
}

int CmdStatus(const Config& config, Args& args) {
  bool json = false;
  while (!args.Empty()) {
    std::string a = args.Next();
    if (a == "--json")
      json = true;
    else
      return Fail(Status::Error(ErrorKind::kUsage, "status: unknown option " + a + "\n" + kUsage));
  }
  auto cache = Cache::Open(config.cache_path, Cache::Mode::kReadOnly);
  if (!cache.ok()) return Fail(cache.status());
  auto counts = ActivityStore(**cache).Counts();
  if (!counts.ok()) return Fail(counts.status());
  auto pending = ActivityStore(**cache).CountPendingDeepWork(0, config.details, !config.streams.empty());
  if (!pending.ok()) return Fail(pending.status());
  // The first athlete's sync above; with several, a line for each below.
  auto athletes = AthleteStore(**cache).Held();
  if (!athletes.ok()) return Fail(athletes.status());
  // Each key not set is shown as "never"; a sync_state that cannot be read
  // at all is an error, not "never".
  auto state = ReadSyncState(**cache, athletes->empty() ? 0 : athletes->front());
  if (!state.ok()) return Fail(state.status());
  Json athlete;
  Stmt* athlete_row = (*cache)->Prepare("SELECT json FROM athletes ORDER BY id LIMIT 1");
  if (athlete_row->Step())
    athlete = ParseJson(athlete_row->Text(0));
  else if (Status s = (*cache)->Check(athlete_row->rc(), "reading the athlete"); !s.ok())
    return Fail(s);
  athlete_row->Reset();
  const TokenStore store(config.state_dir);
  Json each = Json::array();
  for (int64_t id : *athletes) {
    auto theirs = ReadSyncState(**cache, id);
    if (!theirs.ok()) return Fail(theirs.status());
    auto to_fetch = ActivityStore(**cache).CountPendingDeepWork(id, config.details, !config.streams.empty());
    if (!to_fetch.ok()) return Fail(to_fetch.status());
    auto grant = store.Load(id);
    Json a = {{"id", id},
              {"name", AthleteStore(**cache).Name(id)},
              {"authorized", grant.ok()},
              {"pending_details_and_streams", *to_fetch},
              {"history_complete", theirs->history_complete},
              {"last_success", theirs->last_success}};
    if (!grant.ok()) a["not_authorized"] = grant.status().message();
    if (theirs->last_error.is_object()) a["last_error"] = theirs->last_error;
    each.push_back(a);
  }
  const Json& last_error = state->last_error;
  const Json& rate = state->rate_usage;
  const Json& job = state->job;
  // A cache of no athlete yet and several grants: a sync takes them all.
  Status authorized;
  if (athletes->empty() && store.List().size() > 1) {
    authorized = Status::Ok();
  } else if (auto tokens = store.Load(athletes->empty() ? 0 : athletes->front()); !tokens.ok()) {
    authorized = tokens.status();
  }

  Json j = {{"cache", config.cache_path},
            {"authorized", authorized.ok()},
            {"activities", counts->activities},
            {"detailed", counts->detailed},
            {"with_streams", counts->with_streams},
            {"stream_samples", counts->stream_samples},
            {"laps", counts->laps},
            {"gear", counts->gear},
            {"oldest", counts->oldest_start},
            {"newest", counts->newest_start},
            {"pending_details_and_streams", *pending},
            {"history_complete", state->history_complete},
            {"last_attempt", state->last_attempt},
            {"last_success", state->last_success}};
  auto sources = ImportStore(**cache).Counts();
  if (!sources.ok()) return Fail(sources.status());
  j["sources"] = {{"api", sources->api},
                  {"export", sources->export_},
                  {"files", sources->file},
                  {"originals", sources->originals},
                  {"originals_bytes", sources->originals_bytes},
                  {"import_failures", sources->files_failed}};
  if (athlete.is_object()) {
    // Strava sends null for names it does not have.
    auto text = [&](const char* key) {
      auto it = athlete.find(key);
      return it != athlete.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    j["athlete"] = {{"id", athlete.contains("id") && FitsInt64(athlete["id"]) ? athlete["id"].get<int64_t>() : 0},
                    {"name", text("firstname") + " " + text("lastname")}};
  }
  if (!authorized.ok()) j["not_authorized"] = authorized.message();
  if (last_error.is_object()) j["last_error"] = last_error;
  if (rate.is_object()) j["rate_usage"] = rate;
  if (job.is_object()) j["interrupted_listing"] = job;
  j["athletes"] = each;
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("cache:        %s\n", config.cache_path.c_str());
  if (athlete.is_object())
    std::printf("athlete:      %s (%lld)\n", j["athlete"]["name"].get<std::string>().c_str(),
                static_cast<long long>(j["athlete"]["id"].get<int64_t>()));
  // Why not, as a sync would say it (no grant, several to choose from, not
  // this cache's athlete's).
  std::printf("authorized:   %s\n", authorized.ok() ? "yes" : ("no: " + authorized.message()).c_str());
  std::printf("activities:   %lld (%lld detailed, %lld with streams, %lld samples, %lld laps, %lld gear)\n",
              static_cast<long long>(counts->activities), static_cast<long long>(counts->detailed),
              static_cast<long long>(counts->with_streams), static_cast<long long>(counts->stream_samples),
              static_cast<long long>(counts->laps), static_cast<long long>(counts->gear));
  std::printf("sources:      %lld from Strava's API, %lld from an export, %lld from files",
              static_cast<long long>(sources->api), static_cast<long long>(sources->export_),
              static_cast<long long>(sources->file));
  if (sources->originals > 0)
    std::printf("; %lld original files kept (%.1f MB)", static_cast<long long>(sources->originals),
                static_cast<double>(sources->originals_bytes) / 1e6);
  if (sources->files_failed > 0)
    std::printf("; %lld files failed to import", static_cast<long long>(sources->files_failed));
  std::printf("\n");
  if (counts->activities > 0)
    std::printf("range:        %s to %s (local time)\n", counts->oldest_start.c_str(), counts->newest_start.c_str());
  std::printf("to fetch:     %lld details and streams%s\n", static_cast<long long>(*pending),
              job.is_object() ? (", and an interrupted " + job.value("kind", std::string("listing")) +
                                 " listing at page " + std::to_string(job.value("page", int64_t{1})))
                                    .c_str()
                              : "");
  std::printf("last sync:    %s\n", state->last_success.empty() ? "never" : state->last_success.c_str());
  if (last_error.is_object())
    std::printf("last error:   %s at %s\n", last_error.value("message", std::string()).c_str(),
                last_error.value("at", std::string()).c_str());
  if (rate.is_object() && rate.value("short_limit", int64_t{0}) > 0)
    std::printf("rate limit:   %lld/%lld (15 min), %lld/%lld (day) as of %s\n",
                static_cast<long long>(rate.value("short_usage", int64_t{0})),
                static_cast<long long>(rate.value("short_limit", int64_t{0})),
                static_cast<long long>(rate.value("daily_usage", int64_t{0})),
                static_cast<long long>(rate.value("daily_limit", int64_t{0})), rate.value("at", std::string()).c_str());
  if (each.size() > 1) {
    std::printf("athletes:     %zu\n", each.size());
    for (const Json& a : each) {
      std::printf("  %s (%lld): last sync %s, %lld details and streams to fetch", a["name"].get<std::string>().c_str(),
                  static_cast<long long>(a["id"].get<int64_t>()),
                  a["last_success"].get<std::string>().empty() ? "never" : a["last_success"].get<std::string>().c_str(),
                  static_cast<long long>(a["pending_details_and_streams"].get<int64_t>()));
      if (a.contains("last_error")) std::printf("; last error: %s", a["last_error"].value("message", "").c_str());
      if (a.contains("not_authorized"))
        std::printf("; not authorized: %s", a["not_authorized"].get<std::string>().c_str());
      std::printf("\n");
    }
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  Args args(argc, argv);
  std::optional<std::string> config_path;
  while (!args.Empty() && args.Peek().rfind("-", 0) == 0) {
    std::string a = args.Next();
    if (a == "--config" || a == "-c") {
      auto v = args.Value(a);
      if (!v.ok()) return Fail(v.status());
      config_path = *v;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (a == "--version") {
      std::printf("stravafs %s\n", STRAVAFS_VERSION);
      return kExitOk;
    } else {
      return Fail(Status::Error(ErrorKind::kUsage, "unknown option " + a + "\n" + kUsage));
    }
  }
  if (args.Empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::string command = args.Next();
  if (command == "help") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (command != "auth" && command != "sync" && command != "status" && command != "import" && command != "athletes")
    return Fail(Status::Error(ErrorKind::kUsage, "unknown command \"" + command + "\"\n" + kUsage));
  // auth and sync need a Strava application's client_id, so a config file;
  // import and status work on the defaults without one.
  const bool needs_file = command == "auth" || command == "sync";
  auto config = needs_file ? LoadConfig(config_path) : LoadConfigOrDefaults(config_path);
  if (!config.ok()) return Fail(config.status());
  if (command == "auth") return CmdAuth(*config, args);
  if (command == "sync") return CmdSync(*config, args);
  if (command == "import") return CmdImport(*config, args);
  if (command == "athletes") return CmdAthletes(*config, args);
  return CmdStatus(*config, args);
}

}  // namespace
}  // namespace stravafs

int main(int argc, char** argv) {
  try {
    return stravafs::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stravafs: internal error: %s\n", e.what());
    return 1;
  }
}
