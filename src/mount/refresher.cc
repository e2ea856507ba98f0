#include "mount/refresher.h"

#include <algorithm>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/iso_time.h"
#include "base/tz.h"
#include "cache/sync_lock.h"
#include "cache/athlete_store.h"
#include "cache/sync_state.h"
#include "import/importer.h"
#include "sync/sync_session.h"

namespace stravafs::mount {
namespace {

class LogProgress : public SyncProgress {
 public:
  explicit LogProgress(const Logger& log) : log_(log) {}
  void OnWait(int64_t ms, const std::string& reason) override {
    log_(Severity::kInfo, "background sync waits " + std::to_string(ms / 1000) + "s: " + reason);
  }

 private:
  const Logger& log_;
};

// Seconds since the last successful sync; nullopt if none.
std::optional<int64_t> SinceLastSync(const std::string& cache_path) {
  auto cache = Cache::Open(cache_path, Cache::Mode::kReadOnly);
  if (!cache.ok()) return std::nullopt;
  auto held = AthleteStore(**cache).HeldAthlete();  // the first athlete's sync (several: issue 17)
  if (!held.ok()) return std::nullopt;
  auto state = ReadSyncState(**cache, held->value_or(0));
  if (!state.ok() || state->last_success.empty()) return std::nullopt;
  auto t = ParseIsoUtc(state->last_success);
  if (!t) return std::nullopt;
  return SystemClock().NowMs() / 1000 - *t;
}

// Imports new files from [import] folders, as `stravafs sync` does first.
void RunImport(Cache& cache, const Config& config, const StopSignal& stop, const Logger& log) {
  import::ImportOptions options;
  options.originals = config.import_originals;
  options.cancel = &stop.flag();
  auto owner = import::ConfiguredOwner(cache, config);
  if (!owner.ok()) return log(Severity::kWarning, "background import: " + owner.status().message());
  options.athlete = *owner;
  auto zone = TimeZone::Load(config.import_timezone);
  if (!zone.ok()) return log(Severity::kWarning, "background import: " + zone.status().message());
  options.zone = *zone;
  const import::ImportReport r = import::RunImport(cache, config.import_folders, options, nullptr);
  for (const auto& [where, why] : r.failures) log(Severity::kWarning, "background import: " + where + ": " + why);
  if (!r.status.ok() && r.status.kind() != ErrorKind::kInterrupted)
    return log(Severity::kWarning, "background import stopped: " + r.status.message());
  if (r.files > 0)
    log(Severity::kInfo, "background import: " + std::to_string(r.files) + " files read, " + std::to_string(r.added) +
                             " activities added, " + std::to_string(r.attached) + " attached, " +
                             std::to_string(r.failed) + " failed");
}

void RunOneSync(const Config& config, const StopSignal& stop, const Logger& log) {
  auto lock = SyncLock::Acquire(config.cache_path, 0);
  if (!lock.ok()) return log(Severity::kInfo, "background sync skipped: " + lock.status().message());
  auto cache = Cache::Open(config.cache_path, Cache::Mode::kReadWrite);
  if (!cache.ok()) return log(Severity::kError, "background sync: " + cache.status().message());
  if (!config.import_folders.empty()) RunImport(**cache, config, stop, log);
  if (config.client_id.empty()) return;  // files are the only source
  LogProgress progress(log);
  SyncOptions options;
  options.cancel = &stop.flag();
  SyncReport r = SyncSession(config, ClientOptions{}).RunEveryone(**cache, options, progress);
  if (!r.status.ok() && r.status.kind() != ErrorKind::kInterrupted)
    return log(Severity::kWarning, "background sync stopped: " + r.status.message());
  log(Severity::kInfo, "background sync: " + DescribeChanges(r) + ", " + Plural(r.requests, "request"));
}

}  // namespace

void RunRefresher(const Config& config, std::chrono::milliseconds every, StopSignal& stop, const Logger& log) {
  const int64_t every_s = std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(every).count());
  for (;;) {
    auto age = SinceLastSync(config.cache_path);
    int64_t wait_s = age ? std::max<int64_t>(0, every_s - *age) : 0;
    if (wait_s > 0) {
      if (!stop.Sleep(std::chrono::seconds(wait_s))) return;
      continue;  // someone may have synced meanwhile
    }
    RunOneSync(config, stop, log);
    if (!stop.Sleep(std::chrono::seconds(every_s))) return;  // also paces a sync that keeps failing
  }
}

}  // namespace stravafs::mount
