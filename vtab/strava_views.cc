/*
** strava_<view>: the cache's analytics views (stravafs-sqlite(7)), next to
** strava_activities and refreshed the same way.
**
** USAGE
**
**     SELECT * FROM strava_monthly_totals WHERE year = 2025;
**     SELECT period, effort, value FROM strava_personal_records WHERE sport_group = 'run';
**
** One eponymous table per view of kAnalyticsViews (model/analytics.h): strava_activity_facts,
** strava_weekly_totals, strava_monthly_totals, strava_yearly_totals,
** strava_training_90d, strava_zone_time, strava_hr_zones, strava_power_zones,
** strava_best_efforts and strava_personal_records. Each has its view's
** columns, in its order.
**
** HOW IT WORKS
**
** A table runs `SELECT * FROM <view>` on the Source's read-only connection,
** a statement of its own per cursor, and hands each value on as it is
** (sqlite3_result_value): the numbers are the view's, to the last bit. The
** refresh turn and the read transaction are strava_activities' (a statement
** that reads both sees one snapshot). Nothing is pushed down: the views are
** aggregates, cheap to read whole.
*/
#include <string>
#include <vector>

#include "strava_vtab.h"

namespace stravafs::vtab {

namespace {

struct ViewTable {
  sqlite3_vtab base;  // first
  std::shared_ptr<Source> source;
  std::string select;  // SELECT * FROM <view>
};

struct ViewCursor {
  sqlite3_vtab_cursor base;  // first
  sqlite3_stmt* stmt = nullptr;
  bool eof = true;
  int64_t rowid = 0;
};

std::string Quoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

/* xConnect (and xCreate): the columns are the view's, read from the cache. */
int ViewConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out, char** err) {
  return Guard(nullptr, [&] {
    const auto& module = *static_cast<const ViewModule*>(aux);
    const std::string name = std::string("strava_") + module.view;
    auto source = module.context->Connect(name.c_str(), argc, argv, err);
    if (!source) return SQLITE_ERROR;
    const std::string select = std::string("SELECT * FROM ") + module.view;
    sqlite3_stmt* probe = nullptr;
    if (sqlite3_prepare_v2(source->cache().db(), select.c_str(), -1, &probe, nullptr) != SQLITE_OK) {
      *err =
          sqlite3_mprintf("%s: the cache %s has no view %s (%s): run `stravafs sync`, which upgrades it", name.c_str(),
                          source->config().cache_path.c_str(), module.view, sqlite3_errmsg(source->cache().db()));
      sqlite3_finalize(probe);
      return SQLITE_ERROR;
    }
    std::string schema = "CREATE TABLE x(";
    for (int c = 0; c < sqlite3_column_count(probe); ++c)
      schema += (c ? ", " : "") + Quoted(sqlite3_column_name(probe, c));
    schema += ")";
    sqlite3_finalize(probe);
    int rc = sqlite3_declare_vtab(db, schema.c_str());
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    auto* table = new ViewTable{};
    table->source = std::move(source);
    table->select = select;
    *out = &table->base;
    return SQLITE_OK;
  });
}

/* xDisconnect (and xDestroy) */
int ViewDisconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<ViewTable*>(vtab);
  return SQLITE_OK;
}

/* xBestIndex: a full scan; nothing to push down. */
int ViewBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  info->estimatedCost = 1e6;
  return SQLITE_OK;
}

/* xOpen */
int ViewOpen(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) {
  return Guard(vtab, [&] {
    auto* cur = new ViewCursor{};
    reinterpret_cast<ViewTable*>(vtab)->source->CursorOpened();
    *out = &cur->base;
    return SQLITE_OK;
  });
}

/* xClose */
int ViewClose(sqlite3_vtab_cursor* base) {
  auto* cur = reinterpret_cast<ViewCursor*>(base);
  sqlite3_finalize(cur->stmt);
  reinterpret_cast<ViewTable*>(base->pVtab)->source->CursorClosed();
  delete cur;
  return SQLITE_OK;
}

int Step(ViewCursor* cur, ViewTable* table) {
  int rc = sqlite3_step(cur->stmt);
  if (rc == SQLITE_ROW) {
    ++cur->rowid;
    return SQLITE_OK;
  }
  cur->eof = true;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  return SetError(&table->base,
                  std::string("reading ") + table->select + ": " + sqlite3_errmsg(table->source->cache().db()));
}

/* xFilter: the refresh turn, then the view from its first row. */
int ViewFilter(sqlite3_vtab_cursor* base, int, const char*, int, sqlite3_value**) {
  auto* cur = reinterpret_cast<ViewCursor*>(base);
  auto* table = reinterpret_cast<ViewTable*>(base->pVtab);
  return Guard(&table->base, [&] {
    Source& source = *table->source;
    if (Status s = source.StartScan(); !s.ok()) return SetError(&table->base, s);
    sqlite3_finalize(cur->stmt);
    cur->stmt = nullptr;
    if (sqlite3_prepare_v2(source.cache().db(), table->select.c_str(), -1, &cur->stmt, nullptr) != SQLITE_OK)
      return SetError(&table->base, table->select + ": " + sqlite3_errmsg(source.cache().db()));
    cur->eof = false;
    cur->rowid = 0;
    return Step(cur, table);
  });
}

/* xNext */
int ViewNext(sqlite3_vtab_cursor* base) {
  return Step(reinterpret_cast<ViewCursor*>(base), reinterpret_cast<ViewTable*>(base->pVtab));
}

/* xEof */
int ViewEof(sqlite3_vtab_cursor* base) { return reinterpret_cast<ViewCursor*>(base)->eof; }

/* xColumn: the view's value, as it is. */
int ViewColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  sqlite3_result_value(ctx, sqlite3_column_value(reinterpret_cast<ViewCursor*>(base)->stmt, column));
  return SQLITE_OK;
}

/* xRowid: the row's place in this scan. */
int ViewRowid(sqlite3_vtab_cursor* base, sqlite_int64* rowid) {
  *rowid = reinterpret_cast<ViewCursor*>(base)->rowid;
  return SQLITE_OK;
}

}  // namespace

/* The module, shared by every view's registration: eponymous, read-only. */
const sqlite3_module kViewModule = {
    /* iVersion    */ 0,
    /* xCreate     */ ViewConnect,
    /* xConnect    */ ViewConnect,
    /* xBestIndex  */ ViewBestIndex,
    /* xDisconnect */ ViewDisconnect,
    /* xDestroy    */ ViewDisconnect,
    /* xOpen       */ ViewOpen,
    /* xClose      */ ViewClose,
    /* xFilter     */ ViewFilter,
    /* xNext       */ ViewNext,
    /* xEof        */ ViewEof,
    /* xColumn     */ ViewColumn,
    /* xRowid      */ ViewRowid,
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
