#include "sync/sync_session.h"

#include "cache/athlete_store.h"
#include "cache/sync_state.h"

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

namespace {

// What stops the whole run, not one athlete: every athlete shares the app's
// limits, the network, the interrupt and the cache.
bool StopsEveryone(const Status& s) {
  switch (s.kind()) {
    case ErrorKind::kRateLimited:
    case ErrorKind::kInterrupted:
    case ErrorKind::kNetwork:
    case ErrorKind::kCache:
      return true;
    default:
      return false;
  }
}

// One turn's report added to what the athlete's run has done so far.
void Add(SyncReport& into, const SyncReport& turn) {
  if (into.mode.empty()) into.mode = turn.mode;
  if (into.started_ms == 0) into.started_ms = turn.started_ms;
  into.status = turn.status;
  for (auto field : {&SyncReport::list_requests, &SyncReport::pages, &SyncReport::listed, &SyncReport::added,
                     &SyncReport::changed, &SyncReport::unchanged, &SyncReport::deleted, &SyncReport::details,
                     &SyncReport::streams, &SyncReport::no_streams, &SyncReport::gear, &SyncReport::requests})
    into.*field += turn.*field;
  into.deep_pending = turn.deep_pending;
  into.resume_at_ms = turn.resume_at_ms;
  into.finished_ms = turn.finished_ms;
}

}  // namespace

std::vector<SyncReport> SyncSession::RunEvery(Cache& cache, const std::vector<int64_t>& athletes,
                                              const SyncOptions& options, SyncProgress& progress) {
  std::vector<SyncReport> reports(athletes.size());
  // Each Run kept its own report; an athlete's last_report is the whole run's.
  auto finish = [&] {
    for (size_t i = 0; i < athletes.size(); ++i)
      if (!reports[i].mode.empty())
        (void)SetState(cache, athletes[i], kStateLastReport, ReportToJson(reports[i]).dump());
    return reports;
  };
  std::vector<size_t> deep;  // who goes on to the turns
  for (size_t i = 0; i < athletes.size(); ++i) {
    SyncOptions listing = options;
    listing.athlete = athletes[i];
    listing.deep = false;
    Add(reports[i], Run(cache, listing, progress));
    if (StopsEveryone(reports[i].status)) return finish();
    if (reports[i].status.ok() && options.deep) deep.push_back(i);
  }
  for (bool first = true; !deep.empty(); first = false) {
    std::vector<size_t> again;
    for (size_t i : deep) {
      SyncOptions turn = options;
      turn.athlete = athletes[i];
      turn.list = false;
      turn.deep_limit = kDeepTurn;
      // A --full asks for the zones again in the first turn only.
      if (!first) turn.mode = SyncOptions::Mode::kAuto;
      SyncReport r = Run(cache, turn, progress);
      const int64_t done = r.details + r.streams + r.no_streams + r.deleted;
      Add(reports[i], r);
      if (StopsEveryone(r.status)) return finish();
      // Done, failed, or no progress (nothing more to gain by asking again).
      if (r.status.ok() && r.deep_pending > 0 && done > 0) again.push_back(i);
    }
    deep.swap(again);
  }
  return finish();
}

SyncReport SyncSession::RunEveryone(Cache& cache, const SyncOptions& options, SyncProgress& progress) {
  std::vector<int64_t> athletes;
  const std::vector<Grant> grants = TokenStore(config_.state_dir).List();
  for (const Grant& g : grants)
    if (g.tokens.ok() && g.tokens->athlete_id != 0) athletes.push_back(g.tokens->athlete_id);
  if (grants.size() < 2 || athletes.empty()) return Run(cache, options, progress);
  SyncReport total;
  for (const SyncReport& r : RunEvery(cache, athletes, options, progress)) {
    const Status first = total.status;
    Add(total, r);
    if (!first.ok()) total.status = first;
  }
  total.deep_pending = 0;
  return total;
}

std::string Plural(int64_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

std::string DescribeChanges(const SyncReport& r) {
  return std::to_string(r.added) + " new, " + std::to_string(r.changed) + " changed, " + std::to_string(r.deleted) +
         " deleted";
}

}  // namespace stravafs
