#include "cache/sync_state.h"

namespace stravafs {

Result<std::optional<std::string>> GetState(Cache& cache, int64_t athlete, const std::string& key) {
  Stmt* st = cache.Prepare("SELECT value FROM sync_state WHERE athlete_id=? AND key=?");
  st->Bind(1, athlete).Bind(2, key);
  if (st->Step()) {
    std::optional<std::string> value = st->Text(0);
    st->Reset();
    return value;
  }
  if (auto s = cache.Check(st->rc(), "reading sync state"); !s.ok()) return s;
  return std::optional<std::string>();
}

Status SetState(Cache& cache, int64_t athlete, const std::string& key, const std::string& value) {
  Stmt* st = cache.Prepare("INSERT OR REPLACE INTO sync_state(athlete_id, key, value) VALUES(?, ?, ?)");
  st->Bind(1, athlete).Bind(2, key).Bind(3, value);
  st->Step();
  return cache.Check(st->rc(), "writing sync state");
}

Status DeleteState(Cache& cache, int64_t athlete, const std::string& key) {
  Stmt* st = cache.Prepare("DELETE FROM sync_state WHERE athlete_id=? AND key=?");
  st->Bind(1, athlete).Bind(2, key);
  st->Step();
  return cache.Check(st->rc(), "writing sync state");
}

Result<SyncState> ReadSyncState(Cache& cache, int64_t athlete) {
  SyncState state;
  for (auto [key, text] :
       {std::pair{kStateLastAttempt, &state.last_attempt}, std::pair{kStateLastSuccess, &state.last_success}}) {
    auto v = GetState(cache, athlete, key);
    if (!v.ok()) return v.status();
    *text = v->value_or("");
  }
  auto complete = GetState(cache, athlete, kStateHistoryComplete);
  if (!complete.ok()) return complete.status();
  state.history_complete = !complete->value_or("").empty();
  for (auto [key, json] :
       {std::pair{kStateLastError, &state.last_error}, std::pair{kStateLastReport, &state.last_report},
        std::pair{kStateRateUsage, &state.rate_usage}, std::pair{kStateJob, &state.job}}) {
    auto v = GetState(cache, std::string_view(key) == kStateRateUsage ? kAppWide : athlete, key);
    if (!v.ok()) return v.status();
    *json = ParseJson(v->value_or(""));
  }
  return state;
}

}  // namespace stravafs
