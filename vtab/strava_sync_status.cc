/*
** strava_sync_status: how fresh the cache is, and why it is not.
**
** USAGE
**
**     SELECT * FROM strava_sync_status;
**     SELECT refresh FROM strava_sync_status;   -- what the extension's own refresh did
**
** One row per athlete the cache holds (one row, athlete_id NULL, before any):
**   last_attempt, last_success  when a sync (any: CLI, mount, extension) last
**                               started, and last finished well (UTC, ISO 8601)
**   last_error                  why the last sync stopped early; NULL after a success
**   mode, added, changed, deleted, requests
**                               the last sync's report
**   cache, config               the files this table reads
**   refresh, refresh_at         what this connection's refresh of strava_activities
**                               last did ("refreshed: ...", "skipped: fresh",
**                               "skipped: locked (...)", "failed: ..."), and when;
**                               NULL before its first scan
**   athlete_id                  whose sync the row is (stravafs(1), ATHLETES)
**   statements_prepared         HIDDEN: how many statements this connection's
**                               tables have prepared on the cache; it grows
**                               with each new kind of query, not per statement
**
** HOW IT WORKS
**
** The first eight come from the athlete's sync_state (written by SyncEngine);
** refresh and refresh_at from the Source shared with strava_activities
** declared with the same config. Reading it never refreshes.
*/
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "strava_vtab.h"
#include "cache/sync_state.h"

namespace stravafs::vtab {

namespace {

enum SyncStatusColumn {
  STRAVA_STATUS_LAST_ATTEMPT = 0,
  STRAVA_STATUS_LAST_SUCCESS,
  STRAVA_STATUS_LAST_ERROR,
  STRAVA_STATUS_MODE,
  STRAVA_STATUS_ADDED,
  STRAVA_STATUS_CHANGED,
  STRAVA_STATUS_DELETED,
  STRAVA_STATUS_REQUESTS,
  STRAVA_STATUS_CACHE,
  STRAVA_STATUS_CONFIG,
  STRAVA_STATUS_REFRESH,
  STRAVA_STATUS_REFRESH_AT,
  STRAVA_STATUS_ATHLETE_ID,
  STRAVA_STATUS_STATEMENTS_PREPARED,  // HIDDEN
  STRAVA_STATUS_COLUMNS
};

constexpr const char* kSchema =
    "CREATE TABLE x(last_attempt TEXT, last_success TEXT, last_error TEXT, mode TEXT, added INTEGER, "
    "changed INTEGER, deleted INTEGER, requests INTEGER, cache TEXT, config TEXT, refresh TEXT, refresh_at TEXT, "
    "athlete_id INTEGER, statements_prepared INTEGER HIDDEN)";

using Value = std::variant<std::monostate, int64_t, std::string>;

struct SyncStatusTable {
  sqlite3_vtab base;  // first
  std::shared_ptr<Source> source;
};

struct SyncStatusCursor {
  sqlite3_vtab_cursor base;              // first
  std::vector<std::vector<Value>> rows;  // STRAVA_STATUS_COLUMNS values each, once filtered
  size_t at = 0;
};

/* xConnect (and xCreate) */
int SyncStatusConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out, char** err) {
  return Guard(nullptr, [&] {
    int rc = sqlite3_declare_vtab(db, kSchema);
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    auto source = static_cast<Context*>(aux)->Connect("strava_sync_status", argc, argv, err);
    if (!source) return SQLITE_ERROR;
    auto* table = new SyncStatusTable{};
    table->source = std::move(source);
    *out = &table->base;
    return SQLITE_OK;
  });
}

/* xDisconnect (and xDestroy) */
int SyncStatusDisconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<SyncStatusTable*>(vtab);
  return SQLITE_OK;
}

/* xBestIndex: a row per athlete, nothing to push down. */
int SyncStatusBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1;
  info->estimatedRows = 1;
  return SQLITE_OK;
}

/* xOpen */
int SyncStatusOpen(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) {
  return Guard(vtab, [&] {
    *out = &(new SyncStatusCursor{})->base;
    return SQLITE_OK;
  });
}

/* xClose */
int SyncStatusClose(sqlite3_vtab_cursor* base) {
  delete reinterpret_cast<SyncStatusCursor*>(base);
  return SQLITE_OK;
}

/* xFilter: reads each athlete's sync_state into their row. */
int SyncStatusFilter(sqlite3_vtab_cursor* base, int, const char*, int, sqlite3_value**) {
  auto* cur = reinterpret_cast<SyncStatusCursor*>(base);
  auto* table = reinterpret_cast<SyncStatusTable*>(base->pVtab);
  return Guard(&table->base, [&] {
    Source& source = *table->source;
    cur->rows.clear();
    cur->at = 0;
    auto athletes = source.Athletes();
    if (!athletes.ok()) return SetError(&table->base, athletes.status());
    if (athletes->empty()) athletes->push_back(0);  // what a sync wrote before any athlete
    for (int64_t athlete : *athletes) {
      std::vector<Value>& row = cur->rows.emplace_back(STRAVA_STATUS_COLUMNS, Value{});
      if (athlete != 0) row[STRAVA_STATUS_ATHLETE_ID] = athlete;
      auto state = [&](const char* key, int column) -> Result<std::optional<std::string>> {
        auto v = source.State(key, athlete);
        if (v.ok() && *v && column >= 0) row[static_cast<size_t>(column)] = **v;
        return v;
      };
      for (auto [key, column] : {std::pair{kStateLastAttempt, int{STRAVA_STATUS_LAST_ATTEMPT}},
                                 std::pair{kStateLastSuccess, int{STRAVA_STATUS_LAST_SUCCESS}}}) {
        if (auto v = state(key, column); !v.ok()) return SetError(&table->base, v.status());
      }
      auto error = state(kStateLastError, -1);
      if (!error.ok()) return SetError(&table->base, error.status());
      if (*error) {
        Json j = ParseJson(**error);
        row[STRAVA_STATUS_LAST_ERROR] = j.is_object() && j.contains("message") && j["message"].is_string()
                                            ? j["message"].get<std::string>()
                                            : **error;
      }
      auto report = state(kStateLastReport, -1);
      if (!report.ok()) return SetError(&table->base, report.status());
      if (*report) {
        Json j = ParseJson(**report);
        if (j.is_object()) {
          if (j.contains("mode") && j["mode"].is_string()) row[STRAVA_STATUS_MODE] = j["mode"].get<std::string>();
          for (auto [key, column] :
               {std::pair{"added", int{STRAVA_STATUS_ADDED}}, std::pair{"changed", int{STRAVA_STATUS_CHANGED}},
                std::pair{"deleted", int{STRAVA_STATUS_DELETED}}, std::pair{"requests", int{STRAVA_STATUS_REQUESTS}}}) {
            if (j.contains(key) && j[key].is_number_integer()) row[static_cast<size_t>(column)] = j[key].get<int64_t>();
          }
        }
      }
      row[STRAVA_STATUS_CACHE] = source.config().cache_path;
      row[STRAVA_STATUS_CONFIG] = source.config().path;
      if (!source.last_refresh().empty()) {
        row[STRAVA_STATUS_REFRESH] = source.last_refresh();
        row[STRAVA_STATUS_REFRESH_AT] = source.last_refresh_at();
      }
    }
    for (std::vector<Value>& row : cur->rows) row[STRAVA_STATUS_STATEMENTS_PREPARED] = source.prepared();
    return SQLITE_OK;
  });
}

/* xNext */
int SyncStatusNext(sqlite3_vtab_cursor* base) {
  ++reinterpret_cast<SyncStatusCursor*>(base)->at;
  return SQLITE_OK;
}

/* xEof */
int SyncStatusEof(sqlite3_vtab_cursor* base) {
  auto* cur = reinterpret_cast<SyncStatusCursor*>(base);
  return cur->at >= cur->rows.size();
}

/* xColumn */
int SyncStatusColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cur = reinterpret_cast<SyncStatusCursor*>(base);
  const Value& v = cur->rows[cur->at][static_cast<size_t>(column)];
  if (const auto* i = std::get_if<int64_t>(&v))
    sqlite3_result_int64(ctx, *i);
  else if (const auto* s = std::get_if<std::string>(&v))
    sqlite3_result_text(ctx, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
  else
    sqlite3_result_null(ctx);
  return SQLITE_OK;
}

/* xRowid */
int SyncStatusRowid(sqlite3_vtab_cursor* base, sqlite_int64* rowid) {
  *rowid = static_cast<sqlite_int64>(reinterpret_cast<SyncStatusCursor*>(base)->at) + 1;
  return SQLITE_OK;
}

}  // namespace

/* The module: eponymous, read-only (no xUpdate). */
const sqlite3_module kSyncStatusModule = {
    /* iVersion    */ 0,
    /* xCreate     */ SyncStatusConnect,
    /* xConnect    */ SyncStatusConnect,
    /* xBestIndex  */ SyncStatusBestIndex,
    /* xDisconnect */ SyncStatusDisconnect,
    /* xDestroy    */ SyncStatusDisconnect,
    /* xOpen       */ SyncStatusOpen,
    /* xClose      */ SyncStatusClose,
    /* xFilter     */ SyncStatusFilter,
    /* xNext       */ SyncStatusNext,
    /* xEof        */ SyncStatusEof,
    /* xColumn     */ SyncStatusColumn,
    /* xRowid      */ SyncStatusRowid,
    /* xUpdate     */ nullptr,
    /* xBegin      */ nullptr,
    /* xSync       */ nullptr,
    /* xCommit     */ nullptr,
    /* xRollback   */ nullptr,
    /* xFindMethod */ nullptr,
    /* xRename     */ nullptr,
    /* xSavepoint  */ nullptr,
    /* xRelease    */ nullptr,
    /* xRollbackTo */ nullptr,
    /* xShadowName */ nullptr,
};

}  // namespace stravafs::vtab
