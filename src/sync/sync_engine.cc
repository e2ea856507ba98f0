#include "sync/sync_engine.h"

#include "cache/activity_store.h"
#include "cache/athlete_store.h"
#include "format/sizes.h"

#include <algorithm>
#include <future>
#include <unordered_set>

namespace stravafs {

namespace {

constexpr int kPerPage = api::kMaxPerPage;

// A listing job's kind as sync_state, the report and the notes name it.
const char* JobName(SyncEngine::JobKind kind) {
  switch (kind) {
    case SyncEngine::JobKind::kHistory:
      return "history";
    case SyncEngine::JobKind::kBackfill:
      return "backfill";
    case SyncEngine::JobKind::kFull:
      return "full";
  }
  return "history";
}

std::optional<SyncEngine::JobKind> JobNamed(const std::string& name) {
  for (auto kind : {SyncEngine::JobKind::kHistory, SyncEngine::JobKind::kBackfill, SyncEngine::JobKind::kFull})
    if (name == JobName(kind)) return kind;
  return std::nullopt;
}

// Rows of fs_changes kept after a run. The mount reads the log within a
// second of each commit; the rest is there so one that was away a while
// can still catch up with a large sync, without the log growing forever.
constexpr int64_t kFsChangesKept = 100000;

std::string NowIso(Clock& clock) { return FormatIsoUtc(clock.NowMs() / 1000); }

}  // namespace

Json ReportToJson(const SyncReport& r) {
  Json j = {{"ok", r.status.ok()},
            {"mode", r.mode},
            {"list_requests", r.list_requests},
            {"pages", r.pages},
            {"listed", r.listed},
            {"added", r.added},
            {"changed", r.changed},
            {"unchanged", r.unchanged},
            {"deleted", r.deleted},
            {"details", r.details},
            {"streams", r.streams},
            {"no_streams", r.no_streams},
            {"gear", r.gear},
            {"requests", r.requests},
            {"deep_pending", r.deep_pending},
            {"started", FormatIsoUtc(r.started_ms / 1000)},
            {"seconds", static_cast<double>(r.finished_ms - r.started_ms) / 1000.0}};
  if (!r.status.ok()) j["error"] = r.status.message();
  if (r.resume_at_ms) j["resume_at"] = FormatIsoUtc(r.resume_at_ms / 1000);
  return j;
}

Result<std::vector<ActivityRow>> SyncEngine::FetchPage(const api::ListQuery& query) {
  auto rows = api::ListActivities(client_, query);
  if (!rows.ok()) return rows.status();
  for (ActivityRow& row : *rows) MeasureRow(row);  // here, on the fetching thread, rather than in the cache's writer
  return rows;
}

Result<std::vector<ActivityRow>> SyncEngine::ListPage(std::optional<int64_t> after, std::optional<int64_t> before,
                                                      int64_t page) {
  ++report_.list_requests;
  return FetchPage({after, before, page, kPerPage});
}

Result<std::optional<SyncEngine::Job>> SyncEngine::LoadJob() {
  auto text = GetState(cache_, athlete_, kStateJob);
  if (!text.ok()) return text.status();
  if (!*text) return std::optional<Job>();
  Json j = ParseJson(**text);
  if (j.is_discarded() || !j.is_object()) return std::optional<Job>();  // unreadable: start afresh
  // Written by this engine, but a hand-edited or damaged value must not throw.
  auto integer = [&](const char* key, int64_t fallback) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
  };
  auto name = j.find("kind");
  std::optional<JobKind> kind = name == j.end()     ? JobKind::kHistory
                                : name->is_string() ? JobNamed(name->get<std::string>())
                                                    : std::nullopt;
  if (!kind) return std::optional<Job>();  // not a job this version runs: start afresh
  Job job;
  job.kind = *kind;
  if (j.contains("after") && j["after"].is_number_integer()) job.after = j["after"].get<int64_t>();
  job.before = integer("before", 0);
  job.page = integer("page", 1);
  job.run = integer("run", 0);
  job.listed = integer("listed", 0);
  return std::optional<Job>(job);
}

Status SyncEngine::SaveJob(const Job& job) {
  Json j = {{"kind", JobName(job.kind)},
            {"before", job.before},
            {"page", job.page},
            {"run", job.run},
            {"listed", job.listed}};
  j["after"] = job.after ? Json(*job.after) : Json(nullptr);
  return SetState(cache_, athlete_, kStateJob, j.dump());
}

Result<int64_t> SyncEngine::NextRunId() {
  auto text = GetState(cache_, athlete_, kStateRunCounter);
  if (!text.ok()) return text.status();
  int64_t next = (*text ? std::stoll(**text) : 0) + 1;
  if (auto s = SetState(cache_, athlete_, kStateRunCounter, std::to_string(next)); !s.ok()) return s;
  return next;
}

Status SyncEngine::ResolveAthlete(bool refresh, bool daily) {
  auto held = AthleteStore(cache_).Held();
  if (!held.ok()) return held.status();
  athlete_ = options_.athlete != 0 ? options_.athlete : held->empty() ? 0 : held->front();
  const bool known = athlete_ && std::find(held->begin(), held->end(), athlete_) != held->end();
  const int64_t now = clock_.NowMs() / 1000;
  if (known && !refresh) {
    if (!daily) return Status::Ok();
    auto last = GetState(cache_, athlete_, kStateAthleteChecked);
    if (!last.ok()) return last.status();
    const std::optional<int64_t> at = *last ? ParseIsoUtc(**last) : std::nullopt;
    if (at && *at <= now && now - *at < kZonesMaxAgeS) return Status::Ok();
  }
  auto athlete = api::GetAthlete(client_);
  const ErrorKind kind = athlete.ok() ? ErrorKind::kOk : athlete.status().kind();
  if (known && !refresh && (kind == ErrorKind::kServer || kind == ErrorKind::kNetwork)) {
    std::string why = athlete.status().message();
    if (const size_t advice = why.find(". Nothing was stored"); advice != std::string::npos) why.erase(advice);
    progress_.OnNote("the athlete's profile was not fetched (" + why +
                     "); the sync goes on with the profile held, and asks for it again in a day");
    return SetState(cache_, athlete_, kStateAthleteChecked, FormatIsoUtc(now));
  }
  if (!athlete.ok()) return athlete.status();
  const Json& id = athlete->is_object() ? (*athlete)["id"] : Json();
  // Another athlete's grant under this athlete's name stores nothing of theirs.
  if (athlete_ && FitsInt64(id) && id.get<int64_t>() != athlete_)
    return Status::Error(ErrorKind::kAuth, "the grant of athlete " + std::to_string(athlete_) + " is athlete " +
                                               std::to_string(id.get<int64_t>()) +
                                               "'s at Strava: run `stravafs auth` again for athlete " +
                                               std::to_string(athlete_));
  if (auto s = AthleteStore(cache_).StoreAthlete(*athlete); !s.ok()) return s;  // checks the id
  athlete_ = id.get<int64_t>();
  return SetState(cache_, athlete_, kStateAthleteChecked, FormatIsoUtc(now));
}

Status SyncEngine::FetchZonesIfDue(bool force) {
  const int64_t now = clock_.NowMs() / 1000;
  auto last = GetState(cache_, athlete_, kStateZonesChecked);
  if (!last.ok()) return last.status();
  if (*last && !force) {
    std::optional<int64_t> at = ParseIsoUtc(**last);
    if (at && *at <= now && now - *at < kZonesMaxAgeS) return Status::Ok();
  }
  auto zones = api::GetAthleteZones(client_);
  // The zones are optional: a missing scope, a 404 or a server that keeps
  // failing on them must not stop the listing and the deep fetch (issue 15:
  // five 500s there stored nothing at all). What stops everything else
  // (auth, the rate limit, an interrupt, the cache) stops here too.
  const ErrorKind kind = zones.ok() ? ErrorKind::kOk : zones.status().kind();
  if (kind != ErrorKind::kOk && kind != ErrorKind::kScope && kind != ErrorKind::kNotFound &&
      kind != ErrorKind::kServer && kind != ErrorKind::kNetwork)
    return zones.status();
  Transaction tx(cache_);
  if (!tx.status().ok()) return tx.status();
  if (zones.ok()) {
    if (auto s = AthleteStore(cache_).StoreAthleteZones(*zones, athlete_); !s.ok()) return s;
  } else if (kind == ErrorKind::kScope) {
    // Asked again in a day (or right after `stravafs auth`), not on every sync.
    progress_.OnNote("not using Strava's heart-rate zones: " + zones.status().message() +
                     "; the next sync after that fetches them. Until then the zones come from the maximum heart "
                     "rate (stravafs-sqlite(7), ANALYTICS VIEWS)");
  } else {
    // The client's advice for a failed GET ("Nothing was stored; run the
    // sync again") is not true of this one: the sync goes on.
    std::string why = zones.status().message();
    if (const size_t advice = why.find(". Nothing was stored"); advice != std::string::npos) why.erase(advice);
    progress_.OnNote("the heart-rate zones were not fetched (" + why +
                     "); the sync goes on without them, and they are asked for again in a day. The zones already "
                     "in the cache, if any, stay");
  }
  if (auto s = SetState(cache_, athlete_, kStateZonesChecked, FormatIsoUtc(now)); !s.ok()) return s;
  return tx.Commit();
}

Status SyncEngine::RunJob(Job job, bool resumed) {
  if (resumed) {
    progress_.OnNote("resuming the interrupted " + std::string(JobName(job.kind)) + " listing at page " +
                     std::to_string(job.page));
    if (job.page > 1) --job.page;  // deletions meanwhile may have shifted the pages
  } else {
    Transaction tx(cache_);
    if (!tx.status().ok()) return tx.status();
    auto run = NextRunId();
    if (!run.ok()) return run.status();
    job.run = *run;
    if (auto s = SaveJob(job); !s.ok()) return s;
    if (auto s = tx.Commit(); !s.ok()) return s;
  }
  report_.mode = JobName(job.kind);
  // While a full page is stored, the next one is already on its way: parsing
  // and storing overlap the network and the server, the same requests are made
  // in the same order, and a page is still only stored once it is complete.
  // Progress is reported only when no fetch is in flight (the fetching thread
  // reports waits and retries).
  std::future<Result<std::vector<ActivityRow>>> ahead;
  auto fetch = [&](int64_t page_no) {
    ++report_.list_requests;
    return std::async(std::launch::async, [this, query = api::ListQuery{job.after, job.before, page_no, kPerPage}] {
      return FetchPage(query);
    });
  };
  ahead = fetch(job.page);
  // The ids of the page before, in order: the same page again means a server
  // that ignores `page`, and the listing would never end (issue 15: page 339
  // after 15 s). (An upload during the listing shifts pages by one, so a page
  // may repeat one activity of the page before, never all of them in order.)
  std::vector<int64_t> previous, ids;
  for (;;) {
    Result<std::vector<ActivityRow>> page = ahead.get();
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    ids.clear();
    for (const ActivityRow& row : *page) ids.push_back(row.id);
    if (ids == previous)
      return Status::Error(ErrorKind::kServer,
                           "page " + std::to_string(job.page) + " of the listing is page " +
                               std::to_string(job.page - 1) +
                               " again: the server seems to ignore `page`, so the listing stopped there; run the "
                               "sync again to resume");
    previous.swap(ids);
    const bool full = page->size() >= kPerPage;
    if (full && !Cancelled()) ahead = fetch(job.page + 1);
    Transaction tx(cache_);
    if (!tx.status().ok()) return tx.status();
    for (const ActivityRow& row : *page) {
      auto outcome = ActivityStore(cache_).UpsertRow(row, job.run);
      if (!outcome.ok()) return outcome.status();
      ++(*outcome == Upsert::kNew ? report_.added : *outcome == Upsert::kChanged ? report_.changed : report_.unchanged);
    }
    ++job.page;
    job.listed += static_cast<int64_t>(page->size());
    if (auto s = SaveJob(job); !s.ok()) return s;
    if (auto s = tx.Commit(); !s.ok()) return s;
    if (!full && !Cancelled()) ahead = fetch(job.page);  // a short page does not prove the end
    // Cancelled: the page in hand is stored; stop before asking for another.
    if (!ahead.valid()) return Status::Error(ErrorKind::kInterrupted, "interrupted; run the sync again to resume");
    ahead.wait();
    ++report_.pages;
    report_.listed += static_cast<int64_t>(page->size());
    progress_.OnUpdate("listing", report_);
  }

  Transaction tx(cache_);
  if (!tx.status().ok()) return tx.status();
  if (job.kind == JobKind::kFull) {
    auto gone = ActivityStore(cache_).IdsNotListedBy(athlete_, job.run, job.before);
    if (!gone.ok()) return gone.status();
    if (job.listed == 0 && !gone->empty()) {
      (void)DeleteState(cache_, athlete_, kStateJob);
      (void)tx.Commit();
      return Status::Error(ErrorKind::kGeneric,
                           "Strava listed no activities at all but the cache holds " + std::to_string(gone->size()) +
                               ": refusing to delete them all (a suspicious empty listing). If you really deleted "
                               "everything on Strava, remove " +
                               cache_.path() + " and sync again");
    }
    for (int64_t id : *gone)
      if (auto s = ActivityStore(cache_).DeleteActivity(id); !s.ok()) return s;
    report_.deleted += static_cast<int64_t>(gone->size());
  }
  if (job.kind == JobKind::kHistory || job.kind == JobKind::kFull)
    if (auto s = SetState(cache_, athlete_, kStateHistoryComplete, NowIso(clock_)); !s.ok()) return s;
  if (auto s = DeleteState(cache_, athlete_, kStateJob); !s.ok()) return s;
  return tx.Commit();
}

Status SyncEngine::RunIncremental() {
  report_.mode = "incremental";
  auto newest = ActivityStore(cache_).NewestStartEpoch(athlete_);
  if (!newest.ok()) return newest.status();
  int64_t lookback_s = config_.lookback.count() / 1000;
  // Never before 1970: Strava takes `after` as epoch seconds (issue 15: a
  // lookback longer than the history sent a negative one).
  int64_t after = *newest ? std::max<int64_t>(0, **newest - lookback_s) : 0;
  auto known_ids =
      ActivityStore(cache_).IdsStartingBetween(athlete_, after, INT64_C(253402300799));  // through year 9999
  if (!known_ids.ok()) return known_ids.status();
  std::unordered_set<int64_t> known(known_ids->begin(), known_ids->end()), seen;

  for (int64_t page_no = 1;; ++page_no) {
    if (Cancelled()) return Status::Error(ErrorKind::kInterrupted, "interrupted; run the sync again to resume");
    auto page = ListPage(after, std::nullopt, page_no);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    bool changed = false;
    Transaction tx(cache_);
    if (!tx.status().ok()) return tx.status();
    for (const ActivityRow& row : *page) {
      auto outcome = ActivityStore(cache_).UpsertRow(row, 0);
      if (!outcome.ok()) return outcome.status();
      seen.insert(row.id);
      if (*outcome == Upsert::kUnchanged) {
        ++report_.unchanged;
      } else {
        changed = true;
        ++(*outcome == Upsert::kNew ? report_.added : report_.changed);
      }
    }
    if (auto s = tx.Commit(); !s.ok()) return s;
    ++report_.pages;
    report_.listed += static_cast<int64_t>(page->size());
    progress_.OnUpdate("listing", report_);
    // A short first page that matches the cache exactly ends a no-change
    // sync in one request. Anything else pages on to the empty page, since a
    // short page alone does not prove the end.
    if (page_no == 1 && page->size() < kPerPage && !changed && seen.size() == known.size()) {
      bool same = true;
      for (int64_t id : known) same = same && seen.count(id);
      if (same) return Status::Ok();
    }
  }
  // The window was listed to its end. What we hold there and Strava no
  // longer lists was deleted, or moved out of the window (its start date
  // edited): ask for each one, so an edit never loses an activity and an
  // empty listing never wipes the window.
  for (int64_t id : known) {
    if (seen.count(id)) continue;
    auto detail = api::GetActivity(client_, id);
    if (!detail.ok() && detail.status().kind() != ErrorKind::kNotFound) return detail.status();
    Transaction tx(cache_);
    if (!tx.status().ok()) return tx.status();
    if (detail.ok()) {
      if (auto s = ActivityStore(cache_).StoreDetail(*detail); !s.ok()) return s;
      ++report_.changed;
    } else {
      if (auto s = ActivityStore(cache_).DeleteActivity(id); !s.ok()) return s;
      ++report_.deleted;
    }
    if (auto s = tx.Commit(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status SyncEngine::RunDeep() {
  const bool details = config_.details, streams = !config_.streams.empty();

  auto total = ActivityStore(cache_).CountPendingDeepWork(athlete_, details, streams);
  if (!total.ok()) return total.status();
  report_.deep_pending = *total;
  int64_t taken = 0;
  while (details || streams) {
    auto batch = ActivityStore(cache_).PendingDeepWork(athlete_, details, streams, 100);
    if (!batch.ok()) return batch.status();
    if (batch->empty()) break;
    bool turn_over = false;
    for (const DeepWork& w : *batch) {
      if (Cancelled()) return Status::Error(ErrorKind::kInterrupted, "interrupted; run the sync again to resume");
      if (options_.deep_limit > 0 && taken++ >= options_.deep_limit) {
        turn_over = true;
        break;
      }
      if (w.detail) {
        auto detail = api::GetActivity(client_, w.id);
        if (!detail.ok() && detail.status().kind() == ErrorKind::kNotFound) {
          // Gone from Strava since it was listed.
          Transaction tx(cache_);
          if (auto s = ActivityStore(cache_).DeleteActivity(w.id); !s.ok()) return s;
          if (auto s = tx.Commit(); !s.ok()) return s;
          ++report_.deleted;
          report_.deep_pending -= 1 + (w.streams ? 1 : 0);
          continue;
        }
        if (!detail.ok()) return detail.status();
        Transaction tx(cache_);
        if (auto s = ActivityStore(cache_).StoreDetail(*detail); !s.ok()) return s;
        if (auto s = tx.Commit(); !s.ok()) return s;
        ++report_.details;
        --report_.deep_pending;
      }
      if (w.streams) {
        auto got = api::GetStreams(client_, w.id, config_.streams);
        Transaction tx(cache_);
        if (!got.ok() && got.status().kind() == ErrorKind::kNotFound) {
          if (auto s = ActivityStore(cache_).MarkNoStreams(w.id); !s.ok()) return s;
          ++report_.no_streams;
        } else if (!got.ok()) {
          return got.status();
        } else {
          if (auto s = ActivityStore(cache_).StoreStreams(w.id, *got); !s.ok()) return s;
          ++report_.streams;
        }
        if (auto s = tx.Commit(); !s.ok()) return s;
        --report_.deep_pending;
      }
      progress_.OnUpdate("details and streams", report_);
    }
    if (turn_over) break;
  }

  auto gear = AthleteStore(cache_).MissingGearIds(athlete_);
  if (!gear.ok()) return gear.status();
  for (const auto& id : *gear) {
    auto g = api::GetGear(client_, id);
    // Retired or someone else's gear answers 404: remember it so we do not ask again.
    Json stored = g.ok() ? *g : Json{{"id", id}};
    if (!g.ok() && g.status().kind() != ErrorKind::kNotFound) return g.status();
    if (auto s = AthleteStore(cache_).StoreGear(stored, athlete_); !s.ok()) return s;
    ++report_.gear;
  }
  return Status::Ok();
}

Status SyncEngine::RunListing(const std::optional<Job>& resumed) {
  auto resumed_is = [&](JobKind kind) { return resumed && resumed->kind == kind; };
  const int64_t horizon = clock_.NowMs() / 1000 + 86400;  // clocks drift; start dates can be "tomorrow"
  switch (options_.mode) {
    case SyncOptions::Mode::kFull:
      if (resumed_is(JobKind::kFull)) return Status::Ok();
      return RunJob(Job{JobKind::kFull, std::nullopt, horizon}, false);
    case SyncOptions::Mode::kBackfill: {
      Job job{JobKind::kBackfill, std::nullopt, options_.until.value_or(horizon)};
      if (options_.since) job.after = *options_.since - 1;  // `after` is exclusive
      // The same range, just resumed and finished, needs no second listing.
      const bool just_done = resumed_is(JobKind::kBackfill) && resumed->after == job.after &&
                             (options_.until ? resumed->before == job.before : true);
      return just_done ? Status::Ok() : RunJob(job, false);
    }
    case SyncOptions::Mode::kAuto: {
      auto complete = GetState(cache_, athlete_, kStateHistoryComplete);
      if (!complete.ok()) return complete.status();
      if (!*complete) return RunJob(Job{JobKind::kHistory, std::nullopt, horizon}, false);
      if (resumed_is(JobKind::kHistory) || resumed_is(JobKind::kFull)) return Status::Ok();  // those listed everything
      return RunIncremental();
    }
  }
  return Status::Ok();
}

SyncReport SyncEngine::Run(const SyncOptions& options) {
  options_ = options;
  report_ = SyncReport{};
  report_.started_ms = clock_.NowMs();

  Status status = [&]() -> Status {
    // Whose sync it is comes first: everything after is kept as theirs.
    // A --full's listing fetches the athlete again; the daily check goes with
    // the zones' (in SyncSession::RunEvery, an athlete's first turn of deep
    // work), never in a --no-deep sync, the extension's quick refresh.
    Status resolved = ResolveAthlete(options.list && options.mode == SyncOptions::Mode::kFull, options.deep);
    (void)SetState(cache_, athlete_, kStateLastAttempt, NowIso(clock_));
    if (!resolved.ok()) return resolved;
    // A turn of deep work (SyncSession::RunEvery) lists nothing, nor resumes a listing.
    std::optional<Job> resumed;
    if (options.list) {
      auto pending = LoadJob();
      if (!pending.ok()) return pending.status();
      resumed = *pending;
      if (resumed)
        if (auto s = RunJob(*resumed, true); !s.ok()) return s;
    }
    // Not in a --no-deep sync (the extension's quick refresh): that one lists only.
    if (options.deep)
      if (auto s = FetchZonesIfDue(options.mode == SyncOptions::Mode::kFull); !s.ok()) return s;
    if (options.list)
      if (auto s = RunListing(resumed); !s.ok()) return s;
    if (options.deep) return RunDeep();
    return Status::Ok();
  }();

  report_.status = status;
  report_.requests = client_.requests();
  report_.finished_ms = clock_.NowMs();
  if (status.kind() == ErrorKind::kRateLimited) report_.resume_at_ms = client_.resume_at_ms();
  if (options.deep || status.ok()) {
    auto pending = ActivityStore(cache_).CountPendingDeepWork(athlete_, config_.details, !config_.streams.empty());
    if (pending.ok()) report_.deep_pending = *pending;
  }
  // Best effort: the data is already committed; these are for status.
  Json summary = ReportToJson(report_);
  (void)SetState(cache_, athlete_, kStateLastReport, summary.dump());
  RateUsage u = client_.limiter().Usage();
  (void)SetState(cache_, kAppWide, kStateRateUsage,
                 Json{{"short_limit", u.short_limit},
                      {"daily_limit", u.daily_limit},
                      {"short_usage", u.short_usage},
                      {"daily_usage", u.daily_usage},
                      {"at", NowIso(clock_)}}
                     .dump());
  (void)ActivityStore(cache_).PruneFsChanges(kFsChangesKept);
  if (status.ok()) {
    (void)SetState(cache_, athlete_, kStateLastSuccess, NowIso(clock_));
    (void)DeleteState(cache_, athlete_, kStateLastError);
    (void)DeleteState(cache_, kAppWide, kStateLastError);  // one from before the athlete was known
  } else {
    (void)SetState(cache_, athlete_, kStateLastError,
                   Json{{"at", NowIso(clock_)}, {"message", status.message()}}.dump());
  }
  return report_;
}

}  // namespace stravafs
