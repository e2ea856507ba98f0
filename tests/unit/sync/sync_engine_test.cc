// Tests for sync_engine.cc: a real Cache in a temp file, FakeStrava, FakeClock.
// Each sync builds a fresh SyncSession (tokens, rate limiter, client), as a new
// `stravafs sync` process would; only the cache file and tokens.json carry
// over. Tests assert what the cache holds (row by row against the fake) and
// the traffic that produced it (which calls, how many, with which parameters).
#include "sync/sync_engine.h"
#include "sync/sync_session.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "sql_helpers.h"
#include "fake_transport.h"

namespace stravafs {
namespace {

using testing::Endpoint;
using testing::Failure;
using testing::FakeActivity;
using testing::FakeClock;
using testing::FakeStrava;
using testing::QueryInt;
using testing::RecordedRequest;
using testing::TempDir;

constexpr int64_t kDayMs = 86400 * 1000;
constexpr int64_t kWindowMs = 15 * 60 * 1000;
constexpr int64_t kMidnightMs = INT64_C(1715644800000);             // 2024-05-14T00:00:00Z, the FakeClock's next day
constexpr int64_t kToBoundary = 11 * 60 * 1000 + 40 * 1000 + 1000;  // 10:03:20 → 10:15:01 (1 s margin)

class RecordingProgress : public SyncProgress {
 public:
  void OnUpdate(const std::string& phase, const SyncReport&) override { ++updates[phase]; }
  void OnNote(const std::string& text) override { notes.push_back(text); }
  void OnWait(int64_t ms, const std::string& reason) override { waits.emplace_back(ms, reason); }
  void OnRetry(int, int, int64_t delay_ms, const std::string&) override { retries.push_back(delay_ms); }
  std::map<std::string, int> updates;
  std::vector<std::string> notes;
  std::vector<std::pair<int64_t, std::string>> waits;
  std::vector<int64_t> retries;
};

struct StoredRow {
  int64_t id;
  std::string name, start_date, start_date_local;
  double distance;
  bool operator==(const StoredRow&) const = default;
};

std::ostream& operator<<(std::ostream& os, const StoredRow& r) {
  return os << "{" << r.id << ", " << r.name << ", " << r.start_date << ", " << r.start_date_local << ", " << r.distance
            << "}";
}

std::vector<StoredRow> StoredRows(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT id, name, start_date, start_date_local, distance FROM activities ORDER BY id",
                             -1, &st, nullptr) == SQLITE_OK);
  std::vector<StoredRow> out;
  auto text = [&](int col) {
    const auto* p = sqlite3_column_text(st, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string("NULL");
  };
  while (sqlite3_step(st) == SQLITE_ROW)
    out.push_back({sqlite3_column_int64(st, 0), text(1), text(2), text(3), sqlite3_column_double(st, 4)});
  sqlite3_finalize(st);
  return out;
}

// What the cache should hold for these fake activities.
std::vector<StoredRow> ExpectedRows(const FakeStrava& strava, const std::set<int64_t>& only = {}) {
  std::vector<StoredRow> out;
  for (const auto& [id, a] : strava.activities()) {
    if (!only.empty() && !only.count(id)) continue;
    std::string local = FakeStrava::LocalIso(a);
    local.pop_back();  // the Z
    out.push_back({id, a.name, FormatIsoUtc(a.start), local, a.distance});
  }
  return out;
}

// --- the world --------------------------------------------------------------------------

struct World {
  TempDir tmp;
  FakeClock clock;
  FakeStrava strava{clock};
  Config config;
  std::unique_ptr<Cache> cache;
  RecordingProgress progress;
  std::atomic<bool> cancel{false};
  int64_t now_s() { return clock.NowMs() / 1000; }

  World() {
    config = testing::ConfigForFake(tmp);
    config.cache_path = tmp / "data/cache.db";
    config.retry_base = std::chrono::milliseconds(1000);
    // Unless a test is about the limits, they never bind.
    strava.limits = {1000000, 10000000, 1000000, 10000000};
    REQUIRE(TokenStore(config.state_dir).Save(strava.IssueInitialTokens()).ok());
    Reopen();
  }

  // A new process: the cache is opened afresh.
  void Reopen() {
    cache.reset();
    auto c = Cache::Open(config.cache_path, Cache::Mode::kReadWrite);
    REQUIRE(c.ok());
    cache = std::move(c).value();
  }

  // One `stravafs sync`.
  SyncReport Sync(SyncOptions options = {}) {
    Reopen();
    options.cancel = &cancel;
    SyncReport report = SyncSession(config, ClientOptions{}, clock, strava).Run(*cache, options, progress);
    INFO(report.status.message());
    return report;
  }
  SyncReport Full() {
    SyncOptions o;
    o.mode = SyncOptions::Mode::kFull;
    return Sync(o);
  }

  sqlite3* db() { return cache->db(); }
  int64_t Rows() { return QueryInt(db(), "SELECT count(*) FROM activities"); }
  bool Stored(int64_t id) {
    return QueryInt(db(), "SELECT count(*) FROM activities WHERE id=" + std::to_string(id)) == 1;
  }
  std::string StoredName(int64_t id) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db(), ("SELECT name FROM activities WHERE id=" + std::to_string(id)).c_str(), -1, &st,
                               nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return name;
  }
  // The fake athlete's (the app's for the rate usage).
  std::optional<std::string> State(const std::string& key, int64_t athlete = FakeStrava::kAthleteId) {
    auto v = GetState(*cache, key == kStateRateUsage ? kAppWide : athlete, key);
    REQUIRE(v.ok());
    return *v;
  }
  std::vector<RecordedRequest> Lists() const { return strava.Requests(Endpoint::kList); }
  std::vector<int64_t> ListPages() const {
    std::vector<int64_t> pages;
    for (const auto& r : Lists()) pages.push_back(r.query_int("page").value_or(-1));
    return pages;
  }
  int CountFor(Endpoint e, int64_t id) const {
    return strava.CountIf([&](const RecordedRequest& r) { return r.endpoint == e && r.id == std::to_string(id); });
  }
  // The newest activity's start, and the index-th newest id.
  int64_t NewestStart() const { return strava.activities().at(strava.IdsNewestFirst().front()).start; }
  int64_t NthNewest(size_t index) const { return strava.IdsNewestFirst().at(index); }
  // The laps of the emulator's detailed activities (one, or all of them).
  int64_t Laps(std::optional<int64_t> only = std::nullopt) const {
    int64_t n = 0;
    for (const auto& [id, a] : strava.activities())
      if (!only || *only == id) n += static_cast<int64_t>(strava.DetailJson(id)["laps"].size());
    return n;
  }
};

// A world whose first sync (`count` activities a day apart, the newest an hour
// ago) is done, with the traffic cleared.
void FirstSync(World& w, int count, bool deep = true) {
  w.strava.Generate(count, w.now_s() - 3600);
  SyncOptions o;
  o.deep = deep;
  SyncReport r = w.Sync(o);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  REQUIRE(w.Rows() == count);
  w.strava.ClearRequests();
  w.clock.ClearSleeps();
}

// --- regressions ---------------------------------------------------------------------------

// CheckStreams() (now strava/api.cc): `for (... : StreamsByType(j).items())` iterates
// a proxy into a temporary Json that dies before the loop body runs (C++20
// range-for extends only the proxy's lifetime): use-after-free, a SIGSEGV on
// the first streams reply in an -O2 build.
TEST_CASE("SyncEngine: checking a streams reply does not read a destroyed temporary (CheckStreams)", "[sync_engine]") {
  World w;
  w.config.details = false;
  w.strava.Generate(1, w.now_s() - 3600);
  SyncReport r = w.Sync();
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.streams == 1);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM streams") ==
        static_cast<int64_t>(w.strava.StreamPoints(w.strava.activities().begin()->first)));
}

// --- the first sync ---------------------------------------------------------------------------

TEST_CASE("SyncEngine: a first sync of 1,000 activities stores all of them; a second costs one request",
          "[sync_engine]") {
  World w;
  w.strava.Generate(1000, w.now_s() - 3600);
  const int64_t horizon = w.now_s() + 86400;
  SyncReport r = w.Sync();
  INFO(r.status.message());
  REQUIRE(r.status.ok());

  // Every row, field by field.
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
  CHECK(QueryInt(w.db(), "SELECT count(DISTINCT id) FROM activities") == 1000);

  // The report.
  CHECK(r.mode == "history");
  CHECK(r.list_requests == 6);  // ceil(1000 / 200) + the empty page
  CHECK(r.pages == 5);
  CHECK(r.listed == 1000);
  CHECK(r.added == 1000);
  CHECK(r.changed == 0);
  CHECK(r.deleted == 0);
  CHECK(r.details == 1000);
  CHECK(r.streams == 900);
  CHECK(r.no_streams == 100);  // the manual ones answer 404
  CHECK(r.gear == 2);
  CHECK(r.deep_pending == 0);
  CHECK(r.requests == 1 + 1 + 6 + 1000 + 1000 + 2);  // athlete, zones, lists, details, streams, gear

  // The listing: per_page=200, pages 1..6 in order, newest first below the horizon.
  auto lists = w.Lists();
  REQUIRE(lists.size() == 6);
  CHECK(w.ListPages() == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  for (const auto& l : lists) {
    INFO(l.url);
    CHECK(l.query.at("per_page") == "200");
    CHECK(l.query_int("before") == horizon);
    CHECK(l.query.count("after") == 0);
    CHECK(l.status == 200);
  }
  // The rest of the traffic: one athlete, its zones, each detail and each streams once, the gear.
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
  CHECK(w.strava.Count(Endpoint::kZones) == 1);
  CHECK(w.strava.Count(Endpoint::kDetail) == 1000);
  CHECK(w.strava.Count(Endpoint::kStreams) == 1000);
  CHECK(w.strava.Count(Endpoint::kGear) == 2);
  CHECK(w.strava.Count(Endpoint::kToken) == 0);
  CHECK(w.strava.Count(Endpoint::kUnknown) == 0);
  std::set<std::string> detail_ids, stream_ids;
  for (const auto& d : w.strava.Requests(Endpoint::kDetail)) detail_ids.insert(d.id);
  for (const auto& s : w.strava.Requests(Endpoint::kStreams)) {
    stream_ids.insert(s.id);
    CHECK(s.query.at("keys") ==
          "time,distance,latlng,altitude,heartrate,cadence,watts,velocity_smooth,temp,moving,grade_smooth");
    CHECK(s.query.at("key_by_type") == "true");
  }
  CHECK(detail_ids.size() == 1000);
  CHECK(stream_ids.size() == 1000);
  // Newest first: the deep phase starts with the newest activity.
  CHECK(w.strava.Requests(Endpoint::kDetail).front().id == std::to_string(w.NthNewest(0)));
  CHECK(w.strava.Requests(Endpoint::kDetail).back().id == std::to_string(w.NthNewest(999)));
  // The token only ever in the header.
  for (const auto& req : w.strava.requests()) {
    INFO(req.url);
    CHECK(req.url.find("access") == std::string::npos);
    CHECK(req.header("Authorization") == "Bearer access-1");
  }

  // What the deep phase stored.
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM activities WHERE detail_level = 3") == 1000);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM laps") == w.Laps());
  int64_t samples = 0;
  for (const auto& [id, a] : w.strava.activities()) samples += static_cast<int64_t>(w.strava.StreamPoints(id));
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM streams") == samples);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM activity_sync WHERE streams_state = 2") == 100);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM gear") == 2);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM athletes WHERE id = 4242") == 1);

  // sync_state.
  CHECK(w.State(kStateHistoryComplete) == FormatIsoUtc(w.now_s()));
  CHECK_FALSE(w.State(kStateJob).has_value());
  CHECK(w.State(kStateLastSuccess) == FormatIsoUtc(w.now_s()));
  CHECK_FALSE(w.State(kStateLastError).has_value());
  auto report_json = Json::parse(w.State(kStateLastReport).value_or("{}"));
  CHECK(report_json["ok"] == true);
  CHECK(report_json["mode"] == "history");
  CHECK(report_json["added"] == 1000);

  // A second sync with nothing new: one list request in total, nothing else.
  w.strava.ClearRequests();
  SyncReport again = w.Sync();
  REQUIRE(again.status.ok());
  REQUIRE(w.strava.requests().size() == 1);
  const RecordedRequest& only = w.strava.requests()[0];
  CHECK(only.endpoint == Endpoint::kList);
  CHECK(only.query_int("after") == w.NewestStart() - 7 * 86400);
  CHECK(only.query.count("before") == 0);
  CHECK(only.query.at("per_page") == "200");
  CHECK(only.query_int("page") == 1);
  CHECK(again.mode == "incremental");
  CHECK(again.requests == 1);
  CHECK(again.added == 0);
  CHECK(again.changed == 0);
  CHECK(again.unchanged == 7);  // a day apart; the 8th back lies on the exclusive bound
  CHECK(w.Rows() == 1000);
}

// --- incremental ---------------------------------------------------------------------------------

TEST_CASE("SyncEngine: a late upload inside the lookback window is added", "[sync_engine]") {
  World w;
  FirstSync(w, 60);
  FakeActivity late;
  late.id = INT64_C(20000000001);
  late.start = w.NewestStart() - 2 * 86400 - 3600;  // older than the newest, inside the window
  late.name = "Uploaded late";
  w.strava.Add(late);

  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  CHECK(r.mode == "incremental");
  CHECK(r.added == 1);
  CHECK(r.changed == 0);
  CHECK(r.deleted == 0);
  CHECK(r.details == 1);
  CHECK(r.streams == 1);
  REQUIRE(w.Stored(late.id));
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
  // Listed to the empty page (a change on page 1), then its detail and streams.
  CHECK(w.ListPages() == std::vector<int64_t>{1, 2});
  for (const auto& l : w.Lists()) CHECK(l.query_int("after") == w.NewestStart() - 7 * 86400);
  CHECK(w.CountFor(Endpoint::kDetail, late.id) == 1);
  CHECK(w.CountFor(Endpoint::kStreams, late.id) == 1);
  CHECK(w.strava.requests().size() == 4);
}

TEST_CASE("SyncEngine: a lookback longer than the history lists from 1970, never before", "[sync_engine][bug]") {
  // Issue 15: lookback = 99999999999d sent a negative `after`.
  World w;
  FirstSync(w, 5);
  w.config.lookback = kMaxDuration;
  w.strava.ClearRequests();
  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  REQUIRE_FALSE(w.Lists().empty());
  for (const auto& l : w.Lists()) CHECK(l.query_int("after") == 0);
  CHECK(r.added == 0);
}

TEST_CASE("SyncEngine: an edit inside the window updates the row and refetches the detail", "[sync_engine]") {
  World w;
  FirstSync(w, 60);
  const int64_t id = w.NthNewest(3);
  w.strava.Edit(id, {{"name", "Renamed on Strava ✏️"}, {"description", "New description"}});

  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  CHECK(r.changed == 1);
  CHECK(r.added == 0);
  CHECK(w.StoredName(id) == "Renamed on Strava ✏️");
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
  CHECK(w.CountFor(Endpoint::kDetail, id) == 1);
  CHECK(w.strava.Count(Endpoint::kDetail) == 1);
  CHECK(w.strava.Count(Endpoint::kStreams) == 0);  // same track: streams kept
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM activities WHERE id=" + std::to_string(id) +
                             " AND description='New description' AND detail_level=3") == 1);
  CHECK(w.strava.requests().size() == 3);  // 2 list pages + the detail
}

TEST_CASE("SyncEngine: a deletion inside the window removes the activity", "[sync_engine]") {
  World w;
  FirstSync(w, 60);
  const int64_t id = w.NthNewest(2);
  REQUIRE(QueryInt(w.db(), "SELECT count(*) FROM laps WHERE activity_id=" + std::to_string(id)) == w.Laps(id));
  REQUIRE(w.Laps(id) > 0);
  w.strava.Delete(id);

  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  CHECK(r.deleted == 1);
  CHECK_FALSE(w.Stored(id));
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM laps WHERE activity_id=" + std::to_string(id)) == 0);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM streams WHERE activity_id=" + std::to_string(id)) == 0);
  CHECK(w.Rows() == 59);
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
  CHECK(w.ListPages() == std::vector<int64_t>{1, 2});
  // 2 list pages + the detail that confirms the deletion (404)
  CHECK(w.strava.requests().size() == 3);
}

TEST_CASE("SyncEngine: a deletion outside the window survives incremental syncs; --full removes it", "[sync_engine]") {
  World w;
  FirstSync(w, 60);
  const int64_t old_id = w.NthNewest(30);
  w.strava.Delete(old_id);

  SyncReport inc = w.Sync();
  REQUIRE(inc.status.ok());
  CHECK(inc.deleted == 0);
  CHECK(w.Stored(old_id));
  CHECK(w.strava.requests().size() == 1);

  w.strava.ClearRequests();
  const int64_t horizon = w.now_s() + 86400;
  SyncReport full = w.Full();
  INFO(full.status.message());
  REQUIRE(full.status.ok());
  CHECK(full.mode == "full");
  CHECK(full.deleted == 1);
  CHECK(full.unchanged == 59);
  CHECK_FALSE(w.Stored(old_id));
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
  CHECK(w.ListPages() == std::vector<int64_t>{1, 2});
  for (const auto& l : w.Lists()) {
    CHECK(l.query.at("per_page") == "200");
    CHECK(l.query_int("before") == horizon);
    CHECK(l.query.count("after") == 0);
  }
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);  // --full refreshes the athlete and the zones too
  CHECK(w.strava.Count(Endpoint::kZones) == 1);
  CHECK(w.strava.requests().size() == 4);
  CHECK_FALSE(w.State(kStateJob).has_value());
}

TEST_CASE("SyncEngine: --full refuses a suspicious empty listing and deletes nothing", "[sync_engine]") {
  World w;
  FirstSync(w, 60);
  const int64_t laps = w.Laps();
  for (int64_t id : w.strava.IdsNewestFirst()) w.strava.Delete(id);

  SyncReport r = w.Full();
  REQUIRE_FALSE(r.status.ok());
  CHECK(r.status.kind() == ErrorKind::kGeneric);
  CHECK_THAT(r.status.message(), Catch::StartsWith("Strava listed no activities at all but the cache holds 60: "
                                                   "refusing to delete them all"));
  CHECK_THAT(r.status.message(), Catch::Contains(w.config.cache_path));
  CHECK(r.deleted == 0);
  CHECK(w.Rows() == 60);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM laps") == laps);
  CHECK_FALSE(w.State(kStateJob).has_value());
  CHECK(w.State(kStateLastError).has_value());
  CHECK(w.ListPages() == std::vector<int64_t>{1});
}

// --- backfill ------------------------------------------------------------------------------------

TEST_CASE("SyncEngine: a backfill lists only its range, with after/before", "[sync_engine]") {
  World w;
  w.strava.Generate(100, w.now_s() - 3600);
  // [since, until): both exactly on an activity's start; the first is in,
  // the last is out.
  const int64_t since = w.strava.activities().at(w.NthNewest(80)).start;
  const int64_t until = w.strava.activities().at(w.NthNewest(20)).start;
  SyncOptions o;
  o.mode = SyncOptions::Mode::kBackfill;
  o.since = since;
  o.until = until;
  o.deep = false;
  SyncReport r = w.Sync(o);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.mode == "backfill");
  CHECK(r.added == 60);
  std::set<int64_t> in_range;
  for (size_t i = 21; i <= 80; ++i) in_range.insert(w.NthNewest(i));
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava, in_range));
  CHECK(w.ListPages() == std::vector<int64_t>{1, 2});
  for (const auto& l : w.Lists()) {
    INFO(l.url);
    CHECK(l.query_int("after") == since - 1);
    CHECK(l.query_int("before") == until);
    CHECK(l.query.at("per_page") == "200");
  }
  CHECK(w.strava.Count(Endpoint::kDetail) == 0);
  CHECK(w.strava.Count(Endpoint::kStreams) == 0);
  CHECK_FALSE(w.State(kStateHistoryComplete).has_value());  // a backfill is not the whole history
  CHECK_FALSE(w.State(kStateJob).has_value());
}

TEST_CASE("SyncEngine: a backfill with only --until lists everything before it", "[sync_engine]") {
  World w;
  w.strava.Generate(30, w.now_s() - 3600);
  SyncOptions o;
  o.mode = SyncOptions::Mode::kBackfill;
  o.until = w.strava.activities().at(w.NthNewest(9)).start;
  o.deep = false;
  REQUIRE(w.Sync(o).status.ok());
  CHECK(w.Rows() == 20);
  for (const auto& l : w.Lists()) {
    CHECK(l.query.count("after") == 0);
    CHECK(l.query_int("before") == o.until);
  }
}

// --- interruptions -------------------------------------------------------------------------------

TEST_CASE("SyncEngine: an interrupted history resumes at the page it stopped, one page back", "[sync_engine]") {
  World w;
  w.strava.Generate(1000, w.now_s() - 3600);
  const int64_t horizon = w.now_s() + 86400;
  w.strava.FailNth(Endpoint::kList, 1, Failure::Http(500), 5,
                   [](const RecordedRequest& r) { return r.query_int("page") == 3; });
  SyncOptions o;
  o.deep = false;
  SyncReport first = w.Sync(o);
  REQUIRE_FALSE(first.status.ok());
  CHECK(first.status.kind() == ErrorKind::kServer);
  CHECK(first.status.message() ==
        "GET /athlete/activities?per_page=200&page=3&before=" + std::to_string(horizon) +
            " failed 5 times; last: HTTP 500. Nothing was stored; run the sync again to resume");
  CHECK(w.ListPages() == std::vector<int64_t>{1, 2, 3, 3, 3, 3, 3});
  CHECK(w.clock.sleeps() == std::vector<int64_t>{1000, 2000, 4000, 8000});
  // Pages 1-2 are stored, whole; nothing of page 3.
  std::set<int64_t> first_400;
  for (size_t i = 0; i < 400; ++i) first_400.insert(w.NthNewest(i));
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava, first_400));
  auto job = Json::parse(w.State(kStateJob).value_or("{}"));
  CHECK(job["kind"] == "history");
  CHECK(job["page"] == 3);
  CHECK(job["before"] == horizon);
  CHECK_FALSE(w.State(kStateHistoryComplete).has_value());
  CHECK(Json::parse(w.State(kStateLastError).value_or("{}"))["message"] == first.status.message());

  SECTION("resumed as it was") {
    w.strava.ClearRequests();
    w.clock.Advance(3600 * 1000);
    SyncReport second = w.Sync(o);
    INFO(second.status.message());
    REQUIRE(second.status.ok());
    CHECK(w.ListPages() == std::vector<int64_t>{2, 3, 4, 5, 6});
    for (const auto& l : w.Lists()) CHECK(l.query_int("before") == horizon);  // the saved job's bound
    CHECK(second.mode == "history");
    CHECK(second.unchanged == 200);
    CHECK(second.added == 600);
    CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
    CHECK(QueryInt(w.db(), "SELECT count(DISTINCT id) FROM activities") == 1000);
    CHECK(w.State(kStateHistoryComplete).has_value());
    CHECK_FALSE(w.State(kStateJob).has_value());
    REQUIRE(w.progress.notes.size() == 1);
    CHECK(w.progress.notes[0] == "resuming the interrupted history listing at page 3");
  }
  SECTION("a job of a kind this version does not run is dropped, and the listing starts afresh") {
    // A name it does not know, or a hand-edited job of the wrong types (which used to throw).
    const bool typo = GENERATE(true, false);
    if (typo)
      job["kind"] = "sideways";
    else
      job = Json{{"kind", 5}, {"page", "three"}, {"before", nullptr}};
    REQUIRE(SetState(*w.cache, FakeStrava::kAthleteId, kStateJob, job.dump()).ok());
    w.strava.ClearRequests();
    SyncReport second = w.Sync(o);
    INFO(second.status.message());
    REQUIRE(second.status.ok());
    CHECK(w.ListPages() == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
    CHECK(second.mode == "history");
    CHECK(w.progress.notes.empty());
    CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
    CHECK(w.State(kStateHistoryComplete).has_value());
    CHECK_FALSE(w.State(kStateJob).has_value());
  }
  SECTION("resumed after deletions on Strava shifted the pages") {
    for (size_t i : {5, 50, 150}) w.strava.Delete(w.NthNewest(i));
    w.strava.ClearRequests();
    SyncReport second = w.Sync(o);
    REQUIRE(second.status.ok());
    CHECK(w.ListPages() == std::vector<int64_t>{2, 3, 4, 5, 6});
    // Every activity still on Strava is stored; the three deleted ones stay
    // until a --full sync.
    std::vector<StoredRow> stored = StoredRows(w.db());
    CHECK(stored.size() == 1000);
    for (const auto& row : ExpectedRows(w.strava)) CHECK(std::find(stored.begin(), stored.end(), row) != stored.end());
  }
}

TEST_CASE("SyncEngine: Ctrl-C during the listing saves the job; the next run resumes", "[sync_engine]") {
  World w;
  w.strava.Generate(700, w.now_s() - 3600);
  w.strava.on_request = [&](const RecordedRequest& r) {
    if (r.endpoint == Endpoint::kList && r.query_int("page") == 2) w.cancel = true;
  };
  SyncOptions o;
  o.deep = false;
  SyncReport first = w.Sync(o);
  CHECK(first.status.kind() == ErrorKind::kInterrupted);
  CHECK(first.status.message() == "interrupted; run the sync again to resume");
  CHECK(w.ListPages() == std::vector<int64_t>{1, 2});
  CHECK(w.Rows() == 400);  // page 2 was in flight and is stored whole
  CHECK(Json::parse(w.State(kStateJob).value_or("{}"))["page"] == 3);

  w.strava.on_request = nullptr;
  w.cancel = false;
  w.strava.ClearRequests();
  SyncReport second = w.Sync(o);
  REQUIRE(second.status.ok());
  CHECK(w.ListPages() == std::vector<int64_t>{2, 3, 4, 5});
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
}

TEST_CASE("SyncEngine: an interrupted --full resumes and deletes exactly what Strava no longer has", "[sync_engine]") {
  World w;
  FirstSync(w, 500, false);
  const int64_t gone_early = w.NthNewest(100), gone_late = w.NthNewest(450);  // pages 1 and 3
  w.strava.Delete(gone_early);
  w.strava.Delete(gone_late);
  w.strava.FailNth(Endpoint::kList, 1, Failure::Http(503), 5,
                   [](const RecordedRequest& r) { return r.query_int("page") == 3; });
  SyncOptions o;
  o.mode = SyncOptions::Mode::kFull;
  o.deep = false;
  SyncReport first = w.Sync(o);
  REQUIRE(first.status.kind() == ErrorKind::kServer);
  CHECK(first.deleted == 0);
  CHECK(w.Rows() == 500);

  w.strava.ClearRequests();
  SyncReport second = w.Sync(o);
  INFO(second.status.message());
  REQUIRE(second.status.ok());
  CHECK(second.mode == "full");
  CHECK(w.ListPages() == std::vector<int64_t>{2, 3, 4});  // resumed, not started over
  CHECK(second.deleted == 2);
  CHECK_FALSE(w.Stored(gone_early));
  CHECK_FALSE(w.Stored(gone_late));
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
  CHECK_FALSE(w.State(kStateJob).has_value());
}

// sync_engine.cc Run(), case kBackfill: a resumed backfill job is finished by
// RunJob(resumed) and then a brand-new backfill of the same range starts at
// page 1 again (the kFull case skips that when the resumed job was a full).
TEST_CASE("SyncEngine: a resumed backfill is not listed again from page 1", "[sync_engine][bug]") {
  World w;
  w.strava.Generate(500, w.now_s() - 3600);
  SyncOptions o;
  o.mode = SyncOptions::Mode::kBackfill;
  o.since = w.strava.activities().at(w.NthNewest(499)).start;
  o.deep = false;
  w.strava.FailNth(Endpoint::kList, 1, Failure::Http(503), 5,
                   [](const RecordedRequest& r) { return r.query_int("page") == 3; });
  REQUIRE(w.Sync(o).status.kind() == ErrorKind::kServer);
  w.strava.ClearRequests();
  SyncReport second = w.Sync(o);
  REQUIRE(second.status.ok());
  CHECK(w.Rows() == 500);
  CHECK(w.ListPages() == std::vector<int64_t>{2, 3, 4});
}

// sync_engine.cc Run(), case kAuto: `else if (resumed_kind.empty())` skips
// the incremental listing after any resumed job. That is right after a
// resumed history or full listing (they cover the newest activities), but a
// resumed backfill covers only its range: new uploads wait for the next run.
TEST_CASE("SyncEngine: a plain sync that resumes a backfill still picks up new uploads", "[sync_engine][bug]") {
  World w;
  FirstSync(w, 60, false);
  SyncOptions backfill;
  backfill.mode = SyncOptions::Mode::kBackfill;
  backfill.since = w.now_s() - 400 * 86400;
  backfill.until = w.now_s() - 300 * 86400;
  backfill.deep = false;
  w.strava.FailNth(Endpoint::kList, 1, Failure::Http(500), 5);
  REQUIRE(w.Sync(backfill).status.kind() == ErrorKind::kServer);

  FakeActivity fresh;
  fresh.id = INT64_C(20000000002);
  fresh.start = w.now_s() - 600;
  fresh.name = "Just uploaded";
  w.strava.Add(fresh);
  SyncOptions plain;
  plain.deep = false;
  SyncReport r = w.Sync(plain);
  REQUIRE(r.status.ok());
  CHECK(w.Stored(fresh.id));
}

// --- the deep phase -------------------------------------------------------------------------------

TEST_CASE("SyncEngine: the daily limit stops the deep phase; the next day finishes it without refetching",
          "[sync_engine]") {
  World w;
  w.strava.Generate(30, w.now_s() - 3600);
  w.strava.limits = {1000000, 60, 1000000, 60};  // budget 80%: 48 requests a day

  SyncReport first = w.Sync();
  REQUIRE_FALSE(first.status.ok());
  CHECK(first.status.kind() == ErrorKind::kRateLimited);
  CHECK(first.status.message() ==
        "daily rate limit budget spent: 48 of 60 requests used today, budget 80%; resumes after 00:00:00 UTC");
  CHECK(first.resume_at_ms == kMidnightMs);
  CHECK(w.strava.api_requests() == 48);
  CHECK(w.strava.rejected() == 0);
  CHECK(first.details + first.streams + first.no_streams == 48 - 4);  // athlete, zones, 2 list pages
  CHECK(first.deep_pending == 60 - 44);
  CHECK(w.Rows() == 30);
  CHECK(Json::parse(w.State(kStateLastError).value_or("{}"))["message"] == first.status.message());
  CHECK(Json::parse(w.State(kStateLastReport).value_or("{}"))["resume_at"] == "2024-05-14T00:00:00Z");

  // The next day (the access token has expired meanwhile).
  w.clock.Set(kMidnightMs + 60 * 1000);
  SyncReport second = w.Sync();
  INFO(second.status.message());
  REQUIRE(second.status.ok());
  CHECK(second.mode == "incremental");
  CHECK(second.deep_pending == 0);
  CHECK(w.strava.Count(Endpoint::kToken) == 1);
  CHECK(w.strava.Count(Endpoint::kList) == 3);  // 2 on day one, 1 incremental today
  // Over both days: every detail and every streams fetched exactly once.
  for (const auto& [id, a] : w.strava.activities()) {
    INFO(id);
    CHECK(w.CountFor(Endpoint::kDetail, id) == 1);
    CHECK(w.CountFor(Endpoint::kStreams, id) == 1);
  }
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM activity_sync WHERE detail_state = 1") == 30);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM activity_sync WHERE streams_state = 1") == 27);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM activity_sync WHERE streams_state = 2") == 3);
  // Today: a list page, the 16 left, the gear; the zones were fetched less than a day ago.
  CHECK(w.strava.Count(Endpoint::kZones) == 1);
  CHECK(w.strava.api_requests() == 48 + 1 + 16 + 2);
}

TEST_CASE("SyncEngine: details=no and no streams make no deep requests", "[sync_engine]") {
  World w;
  w.config.details = false;
  w.config.streams.clear();
  w.strava.Generate(50, w.now_s() - 3600);
  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  CHECK(w.Rows() == 50);
  CHECK(w.strava.Count(Endpoint::kDetail) == 0);
  CHECK(w.strava.Count(Endpoint::kStreams) == 0);
  CHECK(r.details == 0);
  CHECK(r.streams == 0);
  CHECK(r.deep_pending == 0);
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
  CHECK(w.strava.Count(Endpoint::kList) == 2);
  CHECK(w.strava.Count(Endpoint::kGear) == 2);
  CHECK(w.strava.Count(Endpoint::kZones) == 1);
  CHECK(w.strava.requests().size() == 6);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM activities WHERE detail_level = 3") == 0);
}

TEST_CASE("SyncEngine: streams only, with the configured keys", "[sync_engine]") {
  World w;
  w.config.details = false;
  w.config.streams = {"time", "latlng", "heartrate"};
  w.strava.Generate(10, w.now_s() - 3600);
  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  CHECK(w.strava.Count(Endpoint::kDetail) == 0);
  CHECK(w.strava.Count(Endpoint::kStreams) == 10);
  for (const auto& s : w.strava.Requests(Endpoint::kStreams)) CHECK(s.query.at("keys") == "time,latlng,heartrate");
  CHECK(r.streams == 9);
  CHECK(r.no_streams == 1);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM streams WHERE distance IS NOT NULL OR altitude IS NOT NULL") == 0);
  // latlng only for the activities with a GPS track; the others' streams
  // simply leave it out (STRAVA_API.md).
  int64_t without_gps = 0;
  for (const auto& [id, a] : w.strava.activities())
    if (!a.has_gps()) without_gps += static_cast<int64_t>(w.strava.StreamPoints(id));
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM streams WHERE lat IS NULL") == without_gps);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM streams WHERE lat IS NOT NULL") > 0);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM streams WHERE time IS NULL") == 0);
}

TEST_CASE("SyncEngine: 404 streams are marked absent and never asked for again", "[sync_engine]") {
  World w;
  w.strava.Generate(20, w.now_s() - 3600);
  const int64_t gps_id = w.NthNewest(0);  // has streams, but this time Strava says 404
  w.strava.FailNth(Endpoint::kStreams, 1, Failure::Http(404, ""), 1,
                   [&](const RecordedRequest& r) { return r.id == std::to_string(gps_id); });
  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  CHECK(r.no_streams == 3);  // two manual activities and gps_id
  CHECK(r.streams == 17);
  CHECK(QueryInt(w.db(), "SELECT streams_state FROM activity_sync WHERE id=" + std::to_string(gps_id)) == 2);
  CHECK(w.strava.Count(Endpoint::kStreams) == 20);
  CHECK(w.clock.sleeps().empty());  // a 404 is an answer, not a failure to retry

  w.strava.ClearRequests();
  SyncReport again = w.Sync();
  REQUIRE(again.status.ok());
  CHECK(w.strava.Count(Endpoint::kStreams) == 0);
  CHECK(w.strava.requests().size() == 1);
}

TEST_CASE("SyncEngine: a detail that answers 404 was deleted meanwhile", "[sync_engine]") {
  World w;
  w.strava.Generate(10, w.now_s() - 3600);
  const int64_t id = w.NthNewest(4);
  w.strava.FailNth(Endpoint::kDetail, 1, Failure::Http(404, testing::kBodyNotFound), 1,
                   [&](const RecordedRequest& r) { return r.id == std::to_string(id); });
  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  CHECK(r.deleted == 1);
  CHECK(r.details == 9);
  CHECK_FALSE(w.Stored(id));
  CHECK(w.CountFor(Endpoint::kStreams, id) == 0);
  CHECK(r.deep_pending == 0);
}

TEST_CASE("SyncEngine: a malformed list page is retried and never stored", "[sync_engine]") {
  World w;
  w.strava.Generate(30, w.now_s() - 3600);
  struct Case {
    const char* name;
    Failure failure;
  };
  const std::vector<Case> cases = {
      {"an activity without a start date", Failure::Body(R"([{"id": 1, "name": "evil"}])")},
      {"an object, not a list", Failure::Body(R"({"message": "not a list"})")},
      {"a string id", Failure::Body(R"([{"id": "1", "start_date": "2024-05-12T11:30:00Z",)"
                                    R"( "start_date_local": "2024-05-12T13:30:00Z"}])")},
      {"garbage", Failure::Garbage()},
      {"truncated", Failure::Truncated()},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      w.strava.FailNth(Endpoint::kList, 1, c.failure, 1);
      SyncOptions o;
      o.deep = false;
      SyncReport r = w.Sync(o);
      INFO(r.status.message());
      REQUIRE(r.status.ok());
      CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
      CHECK_FALSE(w.Stored(1));
      CHECK(w.ListPages() == std::vector<int64_t>{1, 1, 2});
      CHECK(w.clock.sleeps() == std::vector<int64_t>{1000});
      CHECK(w.progress.retries == std::vector<int64_t>{1000});
      CHECK(r.list_requests == 2);  // the engine's calls; the client retried one
      CHECK(r.requests == 4);       // athlete + 3 list replies
    }
  }
}

TEST_CASE("SyncEngine: a short 15-minute window paces the whole sync without a 429", "[sync_engine]") {
  World w;
  w.strava.Generate(20, w.now_s() - 3600);
  w.strava.limits = {10, 100000, 10, 100000};
  const int64_t start = w.clock.NowMs();
  SyncReport r = w.Sync();
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(w.strava.rejected() == 0);
  CHECK(r.requests == 1 + 1 + 2 + 20 + 20 + 2);
  // 8 requests a window: 46 requests need 6 windows, so 5 waits, each to a boundary.
  CHECK(w.clock.sleeps() == std::vector<int64_t>{kToBoundary, kWindowMs, kWindowMs, kWindowMs, kWindowMs});
  CHECK(w.clock.NowMs() == start + kToBoundary + 4 * kWindowMs);
  CHECK(w.progress.waits.size() == 5);
  std::map<int64_t, int> per_window;
  for (const auto& req : w.strava.requests()) ++per_window[req.at_ms / kWindowMs];
  for (const auto& [window, n] : per_window) CHECK(n <= 8);
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
}

TEST_CASE("SyncEngine: the report and sync_state after a failure", "[sync_engine]") {
  World w;
  w.strava.Generate(5, w.now_s() - 3600);
  w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Http(401, testing::kBodyMissingScope));
  SyncReport r = w.Sync();
  CHECK(r.status.kind() == ErrorKind::kScope);
  CHECK(w.Rows() == 0);
  CHECK(w.strava.Count(Endpoint::kList) == 0);
  // Before Strava said whose the grant is: kept as no athlete's, which is
  // what `stravafs status` reads of a cache that holds none.
  auto error = Json::parse(w.State(kStateLastError, 0).value_or("{}"));
  CHECK(error["message"] == r.status.message());
  CHECK(error["at"] == FormatIsoUtc(w.now_s()));
  CHECK_FALSE(w.State(kStateLastSuccess, 0).has_value());
  CHECK(w.State(kStateLastAttempt, 0) == FormatIsoUtc(w.now_s()));
  auto report = Json::parse(w.State(kStateLastReport, 0).value_or("{}"));
  CHECK(report["ok"] == false);
  CHECK(report["error"] == r.status.message());

  // Fixed: the next sync succeeds and clears the error.
  w.clock.Advance(60 * 1000);
  SyncReport ok = w.Sync();
  REQUIRE(ok.status.ok());
  CHECK_FALSE(w.State(kStateLastError).has_value());
  CHECK_FALSE(w.State(kStateLastError, 0).has_value());
  CHECK(w.State(kStateLastSuccess) == FormatIsoUtc(w.now_s()));
  CHECK(w.Rows() == 5);
}

TEST_CASE("ReportToJson", "[sync_engine]") {
  SyncReport r;
  r.mode = "incremental";
  r.list_requests = 1;
  r.added = 2;
  r.started_ms = INT64_C(1715594600000);
  r.finished_ms = r.started_ms + 2500;
  Json j = ReportToJson(r);
  CHECK(j["ok"] == true);
  CHECK(j["mode"] == "incremental");
  CHECK(j["added"] == 2);
  CHECK(j["started"] == "2024-05-13T10:03:20Z");
  CHECK(j["seconds"] == 2.5);
  CHECK_FALSE(j.contains("error"));
  CHECK_FALSE(j.contains("resume_at"));
  r.status = Status::Error(ErrorKind::kRateLimited, "spent");
  r.resume_at_ms = kMidnightMs;
  j = ReportToJson(r);
  CHECK(j["ok"] == false);
  CHECK(j["error"] == "spent");
  CHECK(j["resume_at"] == "2024-05-14T00:00:00Z");
}

// --- the mount's change log ------------------------------------------------------------------

TEST_CASE("SyncEngine: every stored activity is logged, and a run prunes the log to 100000 rows", "[sync_engine]") {
  World w;
  FirstSync(w, 20);
  // Each activity: new, its detail, its streams (the manual ones have none);
  // and the athlete and the emulator's 12 zones stored (activity 0: only the
  // root's files and stats/ change).
  CHECK(QueryInt(w.db(), "SELECT count(DISTINCT activity_id) FROM fs_changes WHERE activity_id > 0") == 20);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM fs_changes WHERE old_base IS NULL AND activity_id > 0") == 20);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM fs_changes WHERE activity_id = 0") == 1 + 12);
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM activity_sync WHERE json_size IS NULL OR csv_row_size IS NULL") == 0);

  // A long history of changes, then a sync that changes nothing.
  REQUIRE(sqlite3_exec(w.db(),
                       "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100010) "
                       "INSERT INTO fs_changes(activity_id) SELECT 1 FROM n; COMMIT;",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  const int64_t last = QueryInt(w.db(), "SELECT max(seq) FROM fs_changes");
  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM fs_changes") == 100000);
  CHECK(QueryInt(w.db(), "SELECT max(seq) FROM fs_changes") == last);
  CHECK(QueryInt(w.db(), "SELECT min(seq) FROM fs_changes") == last - 99999);
}

// --- the athlete's zones -----------------------------------------------------------------------

std::vector<std::string> ZoneRows(sqlite3* db) {
  return testing::QueryColumn(db,
                              "SELECT kind || ' ' || zone || ' ' || min || '-' || ifnull(max, 'open') "
                              "FROM athlete_zones ORDER BY kind, zone");
}

// The emulator's zones (tests/emulator/render.cc, zones_json).
const std::vector<std::string> kFakeZones = {
    "heartrate 1 0.0-124.0",  "heartrate 2 124.0-154.0", "heartrate 3 154.0-169.0", "heartrate 4 169.0-184.0",
    "heartrate 5 184.0-open", "power 1 0.0-138.0",       "power 2 138.0-188.0",     "power 3 188.0-225.0",
    "power 4 225.0-263.0",    "power 5 263.0-300.0",     "power 6 300.0-375.0",     "power 7 375.0-open"};

TEST_CASE("SyncEngine: Strava's zones land in athlete_zones, asked for once a day", "[sync_engine]") {
  World w;
  w.strava.Generate(3, w.now_s() - 3600);
  REQUIRE(w.Sync().status.ok());
  CHECK(w.strava.Count(Endpoint::kZones) == 1);
  CHECK(ZoneRows(w.db()) == kFakeZones);
  CHECK(w.State(kStateZonesChecked) == FormatIsoUtc(w.now_s()));
  CHECK(testing::QueryText(w.db(),
                           "SELECT group_concat(source || ':' || min_bpm || '-' || ifnull(max_bpm, ''), ' ') "
                           "FROM (SELECT * FROM hr_zones ORDER BY zone)") ==
        "strava:0.0-124.0 strava:124.0-154.0 strava:154.0-169.0 strava:169.0-184.0 strava:184.0-");
  CHECK(w.progress.notes.empty());

  // Within the day: the no-change sync stays one list request (and a token
  // refresh: the access token lives 6 hours).
  w.strava.ClearRequests();
  w.clock.Advance(kDayMs - 1000);
  REQUIRE(w.Sync().status.ok());
  CHECK(w.strava.api_requests() == 1);
  CHECK(w.strava.Count(Endpoint::kList) == 1);

  // A day after the last answer: asked again, and the new zones replace the
  // old; the athlete's profile too (a name or an FTP changed at Strava).
  w.clock.Advance(1000);
  w.strava.SetZones(
      Json::parse(R"({"heart_rate":{"custom_zones":true,"zones":[{"min":0,"max":100},{"min":100,"max":-1}]}})"));
  REQUIRE(sqlite3_exec(w.db(), "UPDATE athletes SET firstname = 'Old', ftp = 1", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  w.strava.ClearRequests();
  REQUIRE(w.Sync().status.ok());
  CHECK(w.strava.Count(Endpoint::kZones) == 1);
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
  CHECK(w.strava.api_requests() == 3);
  CHECK(ZoneRows(w.db()) == std::vector<std::string>{"heartrate 1 0.0-100.0", "heartrate 2 100.0-open"});
  CHECK(testing::QueryText(w.db(), "SELECT firstname FROM athletes") != "Old");
  CHECK(QueryInt(w.db(), "SELECT count(*) FROM athletes WHERE ftp = 1") == 0);
  CHECK(w.State(kStateAthleteChecked) == FormatIsoUtc(w.now_s()));

  SECTION("not by a --no-deep sync (the extension's refresh lists only)") {
    w.strava.ClearRequests();
    w.clock.Advance(2 * kDayMs);
    SyncOptions o;
    o.deep = false;
    REQUIRE(w.Sync(o).status.ok());
    CHECK(w.strava.Count(Endpoint::kZones) == 0);
    CHECK(w.strava.Count(Endpoint::kAthlete) == 0);
  }
  SECTION("--full asks again at once") {
    w.strava.ClearRequests();
    REQUIRE(w.Full().status.ok());
    CHECK(w.strava.Count(Endpoint::kZones) == 1);
    CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
  }
  SECTION("a profile Strava fails to give is a note: the sync goes on, and asks again in a day") {
    w.clock.Advance(kDayMs);
    w.strava.ClearRequests();
    w.strava.FailNth(Endpoint::kAthlete, 1, Failure::Http(503), 100);
    const int64_t asked_at = w.now_s();  // the retries take the fake clock on
    SyncReport r = w.Sync();
    INFO(r.status.message());
    REQUIRE(r.status.ok());
    REQUIRE(w.progress.notes.size() == 1);
    CHECK(w.progress.notes[0].rfind("the athlete's profile was not fetched (", 0) == 0);
    CHECK(w.progress.notes[0].find("the sync goes on with the profile held, and asks for it again in a day") !=
          std::string::npos);
    CHECK(w.strava.Count(Endpoint::kList) == 1);
    CHECK(w.State(kStateAthleteChecked) == FormatIsoUtc(asked_at));
    w.strava.ClearRequests();
    REQUIRE(w.Sync().status.ok());
    CHECK(w.strava.Count(Endpoint::kAthlete) == 0);
  }
}

TEST_CASE("SyncEngine: without profile:read_all the sync succeeds, says once how to get the zones", "[sync_engine]") {
  World w;
  // A grant without profile:read_all: GET /athlete/zones answers 401.
  REQUIRE(TokenStore(w.config.state_dir).Save(w.strava.IssueInitialTokens("read,activity:read_all")).ok());
  w.strava.Generate(3, w.now_s() - 3600);
  SyncReport r = w.Sync();
  REQUIRE(r.status.ok());
  CHECK(r.details == 3);
  CHECK(w.strava.Count(Endpoint::kZones) == 1);  // not retried, no token refresh
  CHECK(w.strava.Count(Endpoint::kToken) == 0);
  CHECK(ZoneRows(w.db()).empty());
  REQUIRE(w.progress.notes.size() == 1);
  CHECK(w.progress.notes[0] ==
        "not using Strava's heart-rate zones: the stored authorization lacks the profile:read_all scope (HTTP 401 "
        "Authorization Error [AccessToken profile:read_permission missing]): run `stravafs auth` and leave \"View data "
        "about your complete Strava profile\" ticked; the next sync after that fetches them. Until then the zones "
        "come from the maximum heart rate (stravafs-sqlite(7), ANALYTICS VIEWS)");
  CHECK_FALSE(w.State(kStateLastError).has_value());
  // The derived zones stay in force.
  CHECK(testing::QueryText(w.db(), "SELECT group_concat(DISTINCT source) FROM hr_zones") == "max_heartrate");

  // Not asked again (nor said again) within the day.
  w.strava.ClearRequests();
  REQUIRE(w.Sync().status.ok());
  CHECK(w.strava.Count(Endpoint::kZones) == 0);
  CHECK(w.progress.notes.size() == 1);

  // A new grant (`stravafs auth` forgets the check): fetched at the next sync.
  REQUIRE(TokenStore(w.config.state_dir).Save(w.strava.IssueInitialTokens()).ok());
  REQUIRE(DeleteState(*w.cache, FakeStrava::kAthleteId, kStateZonesChecked).ok());
  REQUIRE(w.Sync().status.ok());
  CHECK(ZoneRows(w.db()) == kFakeZones);
  CHECK(w.progress.notes.size() == 1);
}

TEST_CASE("SyncEngine: a server that ignores `page` stops the listing with an error", "[sync_engine][bug]") {
  // Issue 15: every page answered as page 1 made the listing endless.
  World w;
  w.strava.Generate(450, w.now_s() - 3600);
  w.strava.ignore_page = true;
  SyncReport r = w.Sync();
  REQUIRE_FALSE(r.status.ok());
  CHECK(r.status.kind() == ErrorKind::kServer);
  CHECK(r.status.message() ==
        "page 2 of the listing is page 1 again: the server seems to ignore `page`, so the listing stopped there; "
        "run the sync again to resume");
  CHECK(w.Lists().size() <= 3);  // page 1, page 2 and at most the one fetched ahead
  CHECK(w.Rows() == 200);        // page 1, stored whole
  // A healthy server again: the sync resumes and completes.
  w.strava.ignore_page = false;
  REQUIRE(w.Sync().status.ok());
  CHECK(w.Rows() == 450);
}

// Issue 15: the zones are optional; a failing zones endpoint stopped the whole
// sync before the listing. Now it is a note, and the zones are asked for again
// in a day.
TEST_CASE("SyncEngine: a malformed zones reply is a note, leaves the zones held and the sync goes on",
          "[sync_engine][bug]") {
  World w;
  w.strava.Generate(3, w.now_s() - 3600);
  REQUIRE(w.Sync().status.ok());
  REQUIRE(ZoneRows(w.db()) == kFakeZones);
  const auto checked = w.State(kStateZonesChecked);
  w.clock.Advance(kDayMs);
  struct Case {
    const char* name;
    Failure failure;
    std::string last;
  };
  const std::vector<Case> cases = {
      {"garbage", Failure::Garbage(), "reply was not valid JSON (malformed or truncated)"},
      {"truncated", Failure::Truncated(), "reply was not valid JSON (malformed or truncated)"},
      {"a list", Failure::Body("[]"), "unexpected reply: zones reply is not an object"},
      {"no zones", Failure::Body(R"({"message":"ok"})"),
       "unexpected reply: zones reply has neither heart_rate nor power zones"},
      {"a string bound", Failure::Body(R"({"heart_rate":{"zones":[{"min":0,"max":"130"}]}})"),
       "unexpected reply: heart_rate zones: a zone without numeric min and max"},
      {"bounds out of order", Failure::Body(R"({"heart_rate":{"zones":[{"min":0,"max":-1},{"min":130,"max":150}]}})"),
       "unexpected reply: heart_rate zones: bounds out of order"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      FakeActivity late;
      late.id = INT64_C(20000000001);
      late.start = w.now_s() - 600;
      late.name = "Added while the zones fail";
      w.strava.Add(late);
      w.strava.FailNth(Endpoint::kZones, 1, c.failure, 5);
      w.strava.ClearRequests();
      w.progress.notes.clear();
      SyncReport r = w.Sync();
      INFO(r.status.message());
      REQUIRE(r.status.ok());
      CHECK(w.Stored(late.id));  // the listing and the deep fetch went on
      CHECK(w.strava.Count(Endpoint::kZones) == 5);
      CHECK(ZoneRows(w.db()) == kFakeZones);
      REQUIRE(w.progress.notes.size() == 1);
      CHECK(w.progress.notes[0] ==
            "the heart-rate zones were not fetched (GET /athlete/zones failed 5 times; last: " + c.last +
                "); the sync goes on without them, and they are asked for again in "
                "a day. The zones already in the cache, if any, stay");
      CHECK(w.State(kStateZonesChecked) != checked);
      // Not asked again until a day has passed; then, with Strava healthy, fetched.
      w.strava.ClearRequests();
      REQUIRE(w.Sync().status.ok());
      CHECK(w.strava.Count(Endpoint::kZones) == 0);
      w.clock.Advance(kDayMs);
      REQUIRE(w.Sync().status.ok());
      CHECK(w.strava.Count(Endpoint::kZones) == 1);
      CHECK(ZoneRows(w.db()) == kFakeZones);
      CHECK(checked != w.State(kStateZonesChecked));
    }
  }
}

TEST_CASE("Sync: a grant that Strava says is another athlete's stores nothing; the cache's athlete's is the default",
          "[sync][athletes]") {
  World w;
  FirstSync(w, 3);  // the cache now holds FakeStrava::kAthleteId
  // A grant saved as athlete 777's, which Strava answers as 4242's (the fake
  // knows one athlete): a token file copied or edited by hand.
  Tokens other = w.strava.IssueInitialTokens();
  other.athlete_id = 777;
  other.athlete_name = "Bob Lee";
  REQUIRE(TokenStore(w.config.state_dir).Save(other).ok());
  const auto before = StoredRows(w.db());

  w.strava.ClearRequests();
  SyncOptions bob;
  bob.athlete = 777;
  SyncReport refused = w.Sync(bob);
  CHECK(refused.status.kind() == ErrorKind::kAuth);
  CHECK(refused.status.message() ==
        "the grant of athlete 777 is athlete 4242's at Strava: run `stravafs auth` again for athlete 777");
  CHECK(w.strava.Count(Endpoint::kAthlete) == 1);
  CHECK(w.strava.requests().size() == 1);
  CHECK(StoredRows(w.db()) == before);
  CHECK(w.State(kStateLastError, 777).value_or("").find("is athlete 4242's") != std::string::npos);
  CHECK_FALSE(w.State(kStateLastError).has_value());  // 4242's sync did not fail

  // Unnamed: the grant of the athlete the cache holds, of the two.
  // (A new grant of its own: the fake's tokens were all replaced by Bob's.)
  REQUIRE(TokenStore(w.config.state_dir).Save(w.strava.IssueInitialTokens()).ok());
  FakeActivity late;
  late.id = INT64_C(20000000001);
  late.start = w.NewestStart() - 3600;
  w.strava.Add(late);
  SyncReport own = w.Sync();
  INFO(own.status.message());
  REQUIRE(own.status.ok());
  CHECK(StoredRows(w.db()) == ExpectedRows(w.strava));
}

}  // namespace
}  // namespace stravafs
