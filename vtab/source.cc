// Source: one cache as the extension sees it, and its bounded refresh.
//
// The refresh is the one place the extension touches the network. It runs
// before a scan reads anything, never inside xBestIndex or between rows, and
// it is bounded: a try-once lock (a running `stravafs sync` wins and the scan
// answers from the cache), at most 2 attempts per request with a short
// timeout, no waiting for a rate-limit window, the listing only (no details
// or streams), and a deadline on the whole sync. It writes through its own
// read-write Cache, so the read-only one the scans use never holds a lock.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/clock.h"
#include "strava_vtab.h"
#include "cache/sync_lock.h"
#include "cache/sync_state.h"
#include "sync/sync_session.h"

namespace stravafs::vtab {

namespace {

// Per request: a refresh must not hang a query on a dead network.
constexpr Millis kRequestTimeout{std::chrono::seconds(3)};
// The whole refresh: it is stopped (state saved) after this long.
constexpr Millis kRefreshDeadline{std::chrono::seconds(15)};
// After a failed automatic refresh, later scans answer from the cache without
// trying again for this long (or max_age, if shorter): an offline laptop
// should not pay a timeout on every query.
constexpr Millis kFailureBackoff{std::chrono::minutes(1)};

constexpr const char* kSkippedFresh = "skipped: fresh";

// Sets `cancel` once `limit` has passed, unless destroyed first.
class Deadline {
 public:
  Deadline(std::atomic<bool>& cancel, Millis limit)
      : thread_([this, &cancel, limit] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) cancel.store(true);
        }) {}
  ~Deadline() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_one();
    thread_.join();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace

int SetError(sqlite3_vtab* vtab, const std::string& message) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%s", message.c_str());
  return SQLITE_ERROR;
}

int SetError(sqlite3_vtab* vtab, const Status& status) { return SetError(vtab, status.message()); }

Result<std::shared_ptr<Source>> Source::Open(Config config) {
  auto cache = Cache::Open(config.cache_path, Cache::Mode::kReadOnly);
  if (!cache.ok()) return cache.status();
  return std::shared_ptr<Source>(new Source(std::move(config), std::move(*cache)));
}

Source::~Source() {
  for (sqlite3_stmt* st : {begin_, commit_, state_, athletes_}) sqlite3_finalize(st);
}

Status Source::Prepare(const std::string& sql, sqlite3_stmt** out, const char* what) {
  ++prepared_;
  int rc = sqlite3_prepare_v3(cache_->db(), sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, out,
                              nullptr);
  if (rc == SQLITE_OK) return Status::Ok();
  sqlite3_finalize(*out);
  *out = nullptr;
  return cache_->Check(rc, what);
}

int Source::Run(sqlite3_stmt** stmt, const char* sql) {
  if (*stmt == nullptr) {
    if (Status s = Prepare(sql, stmt, sql); !s.ok()) return sqlite3_errcode(cache_->db());
  }
  int rc = sqlite3_step(*stmt);
  sqlite3_reset(*stmt);
  return rc;
}

Status Source::BeginRead() {
  if (reading_) return Status::Ok();
  if (int rc = Run(&begin_, "BEGIN"); rc != SQLITE_DONE) return cache_->Check(rc, "beginning a read");
  reading_ = true;
  return Status::Ok();
}

void Source::EndRead() {
  if (!reading_) return;
  Run(&commit_, "COMMIT");
  reading_ = false;
}

Result<std::optional<std::string>> Source::State(const std::string& key, int64_t athlete) {
  if (state_ == nullptr) {
    // ?2 NULL: the first athlete's, else the app's; else that athlete's only.
    if (Status s = Prepare("SELECT value FROM sync_state WHERE key=?1 AND athlete_id IN "
                           "(coalesce(?2, 0), coalesce(?2, (SELECT min(id) FROM athletes))) "
                           "ORDER BY athlete_id DESC LIMIT 1",
                           &state_, "reading sync_state");
        !s.ok())
      return s;
  }
  sqlite3_bind_text(state_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  if (athlete != 0) sqlite3_bind_int64(state_, 2, athlete);
  std::optional<std::string> value;
  int rc = sqlite3_step(state_);
  if (rc == SQLITE_ROW) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(state_, 0));
    value = std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(state_, 0)));
    rc = SQLITE_OK;
  }
  Status s = cache_->Check(rc, "reading sync_state");
  sqlite3_reset(state_);  // ends its read, unless a scan's BEGIN holds one
  sqlite3_clear_bindings(state_);
  if (!s.ok()) return s;
  return value;
}

Result<std::vector<int64_t>> Source::Athletes() {
  if (athletes_ == nullptr) {
    if (Status s = Prepare("SELECT id FROM athletes ORDER BY id", &athletes_, "reading the athletes"); !s.ok())
      return s;
  }
  std::vector<int64_t> ids;
  int rc;
  while ((rc = sqlite3_step(athletes_)) == SQLITE_ROW) ids.push_back(sqlite3_column_int64(athletes_, 0));
  Status s = cache_->Check(rc == SQLITE_DONE ? SQLITE_OK : rc, "reading the athletes");
  sqlite3_reset(athletes_);
  if (!s.ok()) return s;
  return ids;
}

void Source::Record(std::string outcome) {
  last_refresh_ = std::move(outcome);
  last_refresh_at_ms_ = SystemClock().NowMs();
}

void Source::RecordFresh(int64_t now_ms) {
  if (last_refresh_ != kSkippedFresh) last_refresh_ = kSkippedFresh;
  last_refresh_at_ms_ = now_ms;
}

std::string Source::last_refresh_at() const { return FormatIsoUtc(last_refresh_at_ms_ / 1000); }

void Source::RefreshIfStale() {
  // A cache filled by `stravafs import` alone has nothing to refresh from
  // (the extension never imports: that is `stravafs sync`'s [import] step).
  if (config_.client_id.empty())
    return Record("skipped: no [strava] client_id in " + config_.path + " to refresh from");
  const int64_t now = SystemClock().NowMs();
  const int64_t max_age = config_.max_age.count();
  // last_success only moves forward (each sync sets it to when it finished),
  // so once read it says the cache stays fresh until last_success + max_age:
  // until then a scan need not read it again, and the check costs a clock
  // read.
  if (max_age > 0 && now < fresh_until_ms_) return RecordFresh(now);
  // Read in the statement's own read transaction: when nothing is due the
  // scan goes on in it, and the check costs one lookup.
  if (Status s = BeginRead(); !s.ok()) return Record("failed: " + s.message());
  auto last = State(kStateLastSuccess);
  if (!last.ok()) return Record("failed: " + last.status().message());
  if (max_age > 0 && *last) {
    if (auto at = ParseIsoUtc(**last)) {
      fresh_until_ms_ = *at * 1000 + max_age;
      if (now < fresh_until_ms_) return RecordFresh(now);
    }
  }
  const int64_t backoff = std::min<int64_t>(max_age, kFailureBackoff.count());
  if (last_failure_ms_ > 0 && now - last_failure_ms_ < backoff) {
    return Record("skipped: the refresh failed " + FormatDuration(Millis(now - last_failure_ms_)) +
                  " ago, next try after " + FormatDuration(Millis(backoff)) + " (" + last_failure_ + ")");
  }
  // A refresh is due: end this snapshot, so that the scan, which begins a
  // new one, sees what the refresh stores.
  EndRead();
  std::string outcome;
  Status s = RunRefresh(&outcome);
  if (!s.ok() && s.kind() != ErrorKind::kLocked) {
    last_failure_ms_ = now;
    last_failure_ = s.message();
  } else {
    last_failure_ms_ = 0;
  }
  Record(outcome);
}

Status Source::ForceRefresh() {
  std::string outcome;
  Status s = RunRefresh(&outcome);
  Record(outcome);
  last_failure_ms_ = 0;
  if (!s.ok()) return s.WithContext("strava_activities: refresh failed");
  return s;
}

Status Source::RunRefresh(std::string* outcome) {
  // A listing that never finished would be resumed first: that is a full
  // `stravafs sync`, not a bounded refresh.
  for (const char* key : {kStateHistoryComplete, kStateJob}) {
    auto v = State(key);
    if (!v.ok()) {
      *outcome = "failed: " + v.status().message();
      return v.status();
    }
    const bool pending = key == kStateJob ? v->has_value() : !v->has_value();
    if (pending) {
      Status s = Status::Error(
          ErrorKind::kGeneric,
          key == kStateJob ? "a listing of " + config_.cache_path + " was interrupted: run `stravafs sync` to finish it"
                           : "the first full sync of " + config_.cache_path + " has not finished: run `stravafs sync`");
      *outcome = "skipped: " + s.message();
      return s;
    }
  }
  auto lock = SyncLock::Acquire(config_.cache_path, 0);
  if (!lock.ok()) {
    *outcome = "skipped: locked (" + lock.status().message() + ")";
    return lock.status();
  }
  auto rw = Cache::Open(config_.cache_path, Cache::Mode::kReadWrite);
  if (!rw.ok()) {
    *outcome = "failed: " + rw.status().message();
    return rw.status();
  }

  Config config = config_;
  config.timeout = std::min(config.timeout, kRequestTimeout);
  std::atomic<bool> cancel{false};
  ClientOptions client_options;
  client_options.max_attempts = 2;
  client_options.wait_for_window = false;
  SyncSession session(config, client_options);
  SyncProgress silent;  // nobody watches a progress line inside a query
  SyncOptions options;
  options.deep = false;
  options.cancel = &cancel;

  SyncReport r;
  {
    Deadline deadline(cancel, kRefreshDeadline);
    r = session.RunEveryone(**rw, options, silent);
  }
  if (!r.status.ok()) {
    Status s = r.status;
    if (cancel.load())
      s = Status::Error(ErrorKind::kNetwork, "stopped after " + FormatDuration(kRefreshDeadline) +
                                                 " (run `stravafs sync` for a long catch-up): " + s.message());
    *outcome = "failed: " + s.message();
    return s;
  }
  *outcome = "refreshed: " + DescribeChanges(r) + ", " + Plural(r.requests, "request");
  return Status::Ok();
}

std::shared_ptr<Source> Context::Connect(const char* module, int argc, const char* const* argv, char** err) {
  auto fail = [&](const std::string& message) {
    *err = sqlite3_mprintf("%s: %s", module, message.c_str());
    return nullptr;
  };
  std::optional<std::string> config_path;
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t\n"));
      s.erase(s.find_last_not_of(" \t\n") + 1);
      return s;
    };
    size_t eq = arg.find('=');
    std::string key = trim(arg.substr(0, eq));
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (eq == std::string::npos || key != "config")
      return fail("unknown argument \"" + arg + "\": the only one is config='/path/to/stravafs.conf'");
    std::string value = trim(arg.substr(eq + 1));
    if (value.size() >= 2 && (value[0] == '\'' || value[0] == '"') && value.back() == value[0])
      value = value.substr(1, value.size() - 2);
    if (value.empty()) return fail("config='' names no file");
    if (config_path) return fail("config= is given twice (\"" + *config_path + "\" and \"" + value + "\")");
    config_path = value;
  }
  // A table stored in a database file comes from whoever wrote the file: its
  // config= could name their config, with their server, and a refresh would
  // send that server the user's tokens. Only a table the user declares in
  // this connection (temp) may name a config; others use the discovered one.
  if (config_path && std::string_view(argv[1]) != "temp")
    return fail("config='" + *config_path + "' is honoured only for a table in temp (CREATE VIRTUAL TABLE temp." +
                argv[2] + " USING " + module + "(config=...)): a table stored in a database file must not choose " +
                "the config, since whoever wrote the file could name their own (stravafs-sqlite(7), SECURITY)");
  auto config = LoadConfig(config_path);
  if (!config.ok()) return fail(config.status().message());
  if (auto it = sources.find(config->path); it != sources.end())
    if (auto alive = it->second.lock()) return alive;
  auto source = Source::Open(std::move(*config));
  if (!source.ok()) return fail(source.status().message());
  sources[(*source)->config().path] = *source;
  return *source;
}

}  // namespace stravafs::vtab
