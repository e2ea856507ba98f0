// The mount's own background sync, every [mount] refresh (mount.stravafs(8)):
// new files from the [import] folders first, then the Strava API when a
// client_id is configured, as `stravafs sync` does.
#pragma once

#include <chrono>

#include "config/config.h"
#include "mount/filesystem.h"

namespace stravafs::mount {

// Syncs whenever the cache is older than `every`: at once after mounting a
// stale cache, then every `every` after the last success (a sync run by cron
// or by hand counts too). Returns once `stop` is stopped; a sync under way
// stops at its next request and stays resumable.
void RunRefresher(const Config& config, std::chrono::milliseconds every, StopSignal& stop, const Logger& log);

}  // namespace stravafs::mount
