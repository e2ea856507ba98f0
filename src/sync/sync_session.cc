#include "sync/sync_session.h"

#include "cache/athlete_store.h"

namespace stravafs {

SyncSession::SyncSession(const Config& config, ClientOptions client, Clock& clock, Transport& transport)
    : config_(config),
      client_options_(client),
      clock_(clock),
      transport_(transport),
      tokens_(transport_, config_, clock_),
      limiter_(config.budget, config.rate_window.count(), config.rate_day.count()) {}

SyncSession::SyncSession(const Config& config, ClientOptions client)
    : config_(config),
      client_options_(client),
      clock_(SystemClock()),
      owned_(MakeCurlTransport()),
      transport_(*owned_),
      tokens_(transport_, config_, clock_),
      limiter_(config.budget, config.rate_window.count(), config.rate_day.count()) {}

SyncReport SyncSession::Run(Cache& cache, const SyncOptions& options, SyncProgress& progress) {
  // The grant of the athlete named, else of the athlete the cache holds, else
  // the only one there is. (A cache that cannot say is the engine's error.)
  int64_t athlete = options.athlete;
  if (athlete == 0)
    if (auto held = AthleteStore(cache).HeldAthlete(); held.ok() && *held) athlete = **held;
  tokens_.SetAthlete(athlete);
  ClientOptions client_options = client_options_;
  client_options.cancel = options.cancel;  // one flag stops both the engine and a wait in the client
  StravaClient client(transport_, config_, clock_, tokens_, limiter_, client_options, &progress);
  SyncEngine engine(cache, client, config_, clock_, progress);
  return engine.Run(options);
}

std::string Plural(int64_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

std::string DescribeChanges(const SyncReport& r) {
  return std::to_string(r.added) + " new, " + std::to_string(r.changed) + " changed, " + std::to_string(r.deleted) +
         " deleted";
}

}  // namespace stravafs
