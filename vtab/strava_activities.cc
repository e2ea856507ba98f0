/*
** strava_activities: the cache's activities, kept fresh, as a read-only table.
**
** USAGE
**
**     .load ./strava
**     SELECT sport_type, sum(distance)/1000 FROM strava_activities GROUP BY 1;
**     SELECT name FROM strava_activities WHERE id = 11234567890;
**     SELECT * FROM strava_activities
**      WHERE start_date >= '2024-05-01' AND start_date < '2024-06-01'
**      ORDER BY start_date DESC;
**     INSERT INTO strava_activities(strava_activities) VALUES('refresh');
**
** or, for a config other than the discovered one,
**
**     CREATE VIRTUAL TABLE temp.mine USING strava_activities(config='/path/stravafs.conf');
**
** The columns are those of the cache's `activities` table, in its order,
** generated from ActivityColumns() (src/model/activity.cc) so they can never drift,
** then `json` (the most detailed JSON Strava sent) and a hidden column named
** like the table, which only carries the 'refresh' command (the FTS5
** convention).
**
** HOW IT WORKS
**
** xBestIndex turns the usable constraints into one SQL query on the cache's
** read-only connection, which its own indexes answer: `id =` (unique) or
** `id IN (...)` (all values in one xFilter, one primary-key lookup each);
** else ranges and equality on start_date and start_date_local and equality on
** sport_type and athlete_id (athlete_id IN (...) as one xFilter per value),
** together with ORDER BY start_date[_local] [DESC]. Only the
** columns the statement uses (colUsed) are selected, so a scan that never
** reads `json` never copies it. Each distinct query is kept in the table's
** plan list; idxNum is its index there and idxStr says what was pushed down,
** as EXPLAIN QUERY PLAN shows it ("id=", "start_date>= start_date<", ...).
**
** xFilter of the first cursor of a statement first runs the bounded refresh
** when the cache is older than [sync] max_age (source.cc); nothing else here
** touches the network. The table is SQLITE_VTAB_DIRECTONLY: it exposes a
** person's private data, so triggers and views cannot reach it.
*/
#include <sys/stat.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "model/activity.h"
#include "strava_vtab.h"

namespace stravafs::vtab {

namespace {

// Named columns. The typed ones come from ActivityColumns(), so these are
// looked up once by name.
int ColumnIndex(const char* name) {
  int i = 0;
  for (const auto& c : ActivityColumns()) {
    if (std::strcmp(c.name, name) == 0) return i;
    ++i;
  }
  return -1;
}
const int kColumnCount = static_cast<int>(ActivityColumns().size());
const int STRAVA_ACT_ID = ColumnIndex("id");
const int STRAVA_ACT_SPORT_TYPE = ColumnIndex("sport_type");
const int STRAVA_ACT_ATHLETE_ID = ColumnIndex("athlete_id");
const int STRAVA_ACT_START_DATE = ColumnIndex("start_date");
const int STRAVA_ACT_START_DATE_LOCAL = ColumnIndex("start_date_local");
const int STRAVA_ACT_JSON = kColumnCount;         // the stored JSON text
const int STRAVA_ACT_COMMAND = kColumnCount + 1;  // HIDDEN, named like the table

std::string ColumnName(int column) {
  return column == STRAVA_ACT_JSON ? "json" : ActivityColumns()[static_cast<size_t>(column)].name;
}

// What one xFilter runs: `sql` takes the xFilter arguments as ?1, ?2, ...
// in order; with `id_in`, argv[0] is a whole IN list and `sql` (id = ?1) runs
// once per value.
//
// A plan keeps its statements prepared between statements of the host (an
// application runs the same query again and again): preparing one costs more
// than an indexed lookup. A cursor takes an idle one (or prepares one, when
// another cursor of the same statement holds it: a self-join) and gives it
// back, reset, when it closes or moves to another plan.
struct Plan {
  std::string sql;
  bool id_in = false;
  std::vector<int> result_column;   // table column -> column of `sql`'s rows, -1 = not selected
  std::vector<sqlite3_stmt*> idle;  // prepared on the Source's connection, reset, owned

  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    for (sqlite3_stmt* st : idle) sqlite3_finalize(st);
  }
};

struct ActivitiesTable {
  sqlite3_vtab base;  // first: SQLite sees only this
  sqlite3* db;        // the host connection
  std::string name;   // as declared; also the name of the command column
  std::shared_ptr<Source> source;
  std::vector<std::unique_ptr<Plan>> plans;  // idxNum indexes this; only grows; before `source` goes
};

struct ActivitiesCursor {
  sqlite3_vtab_cursor base;  // first
  sqlite3_stmt* stmt = nullptr;
  Plan* plan = nullptr;             // the plan `stmt` runs, and goes back to
  std::vector<sqlite3_value*> ids;  // the IN list, owned (sqlite3_value_dup)
  size_t next_id = 0;
  bool eof = true;

  ActivitiesTable* table() const { return reinterpret_cast<ActivitiesTable*>(base.pVtab); }
  void FreeIds() {
    for (sqlite3_value* v : ids) sqlite3_value_free(v);
    ids.clear();
  }
  // Gives the statement back to its plan, reset: it holds no snapshot.
  void Release() {
    if (stmt == nullptr) return;
    GiveBack(plan->idle, stmt);
    stmt = nullptr;
    plan = nullptr;
  }
  ~ActivitiesCursor() {
    FreeIds();
    Release();
  }
};

// Steps to the next row, moving on through the IN list as each id is done.
int Advance(ActivitiesCursor* cur) {
  for (;;) {
    int rc = sqlite3_step(cur->stmt);
    if (rc == SQLITE_ROW) {
      cur->eof = false;
      return SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
      Status s = cur->table()->source->cache().Check(sqlite3_reset(cur->stmt), "reading activities");
      return SetError(&cur->table()->base, s.ok() ? Status::Error(ErrorKind::kCache, "reading activities failed") : s);
    }
    if (!cur->plan->id_in || cur->next_id >= cur->ids.size()) {
      cur->eof = true;
      sqlite3_reset(cur->stmt);  // the read transaction ends when the statement's last cursor closes
      return SQLITE_OK;
    }
    sqlite3_reset(cur->stmt);
    sqlite3_bind_value(cur->stmt, 1, cur->ids[cur->next_id++]);
  }
}

/*
** xConnect (and xCreate): declares the columns, marks the table DIRECTONLY
** and finds its Source (config discovery, or config='...').
*/
int ActivitiesConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out, char** err) {
  return Guard(nullptr, [&] {
    std::string ddl = "CREATE TABLE x(";
    for (const auto& c : ActivityColumns()) ddl += std::string(c.name) + " " + SqlType(c.type) + ", ";
    char* command = sqlite3_mprintf("\"%w\" HIDDEN", argv[2]);
    if (command == nullptr) return SQLITE_NOMEM;
    ddl += "json TEXT, " + std::string(command) + ")";
    sqlite3_free(command);
    int rc = sqlite3_declare_vtab(db, ddl.c_str());
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    auto source = static_cast<Context*>(aux)->Connect("strava_activities", argc, argv, err);
    if (!source) return SQLITE_ERROR;
    auto* table = new ActivitiesTable{};
    table->db = db;
    table->name = argv[2];
    table->source = std::move(source);
    *out = &table->base;
    return SQLITE_OK;
  });
}

/* xDisconnect (and xDestroy): nothing lives outside the object. */
int ActivitiesDisconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<ActivitiesTable*>(vtab);
  return SQLITE_OK;
}

bool IsRange(unsigned char op) {
  return op == SQLITE_INDEX_CONSTRAINT_EQ || op == SQLITE_INDEX_CONSTRAINT_GT || op == SQLITE_INDEX_CONSTRAINT_GE ||
         op == SQLITE_INDEX_CONSTRAINT_LT || op == SQLITE_INDEX_CONSTRAINT_LE;
}

const char* OpText(unsigned char op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ:
      return "=";
    case SQLITE_INDEX_CONSTRAINT_GT:
      return ">";
    case SQLITE_INDEX_CONSTRAINT_GE:
      return ">=";
    case SQLITE_INDEX_CONSTRAINT_LT:
      return "<";
    case SQLITE_INDEX_CONSTRAINT_LE:
      return "<=";
  }
  return "?";
}

/*
** xBestIndex: see HOW IT WORKS above. Never touches the cache or the network.
*/
int ActivitiesBestIndex(sqlite3_vtab* vtab, sqlite3_index_info* info) {
  return Guard(vtab, [&] {
    auto* table = reinterpret_cast<ActivitiesTable*>(vtab);
    auto plan = std::make_unique<Plan>();
    std::string where, order, shown;
    double rows = 100000;
    int argc = 0;
    auto use = [&](int i, const std::string& column, unsigned char op) {
      info->aConstraintUsage[i].argvIndex = ++argc;
      info->aConstraintUsage[i].omit = 1;
      where += std::string(argc > 1 ? " AND " : " WHERE ") + column + " " + OpText(op) + " ?" + std::to_string(argc);
      shown += std::string(shown.empty() ? "" : " ") + column + OpText(op);
    };

    int id_eq = -1, id_in = -1;
    bool several_scans = false;
    for (int i = 0; i < info->nConstraint; ++i) {
      const auto& c = info->aConstraint[i];
      if (!c.usable || c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
      if (c.iColumn != STRAVA_ACT_ID && c.iColumn != -1) continue;
      if (sqlite3_vtab_in(info, i, -1))
        id_in = i;
      else if (id_eq < 0)
        id_eq = i;
    }
    if (id_eq >= 0) {
      use(id_eq, "id", SQLITE_INDEX_CONSTRAINT_EQ);
      rows = 1;
      info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
      info->orderByConsumed = 1;  // one row is in every order
    } else if (id_in >= 0) {
      sqlite3_vtab_in(info, id_in, 1);
      use(id_in, "id", SQLITE_INDEX_CONSTRAINT_EQ);
      shown = "id IN";
      plan->id_in = true;
      rows = 10;
    } else {
      for (int i = 0; i < info->nConstraint; ++i) {
        const auto& c = info->aConstraint[i];
        if (!c.usable) continue;
        const bool date = c.iColumn == STRAVA_ACT_START_DATE || c.iColumn == STRAVA_ACT_START_DATE_LOCAL;
        const bool sport = c.iColumn == STRAVA_ACT_SPORT_TYPE && c.op == SQLITE_INDEX_CONSTRAINT_EQ;
        // athlete_id IN (...) comes as one xFilter per value (SQLite's own
        // IN handling), each an index range.
        const bool athlete = c.iColumn == STRAVA_ACT_ATHLETE_ID && c.op == SQLITE_INDEX_CONSTRAINT_EQ;
        if (!(date && IsRange(c.op)) && !sport && !athlete) continue;
        // The cache compares with BINARY; another collation stays with SQLite.
        const char* collation = sqlite3_vtab_collation(info, i);
        if (collation && sqlite3_stricmp(collation, "BINARY") != 0) continue;
        use(i, ColumnName(c.iColumn), c.op);
        rows /= c.op == SQLITE_INDEX_CONSTRAINT_EQ ? (sport || athlete ? 10 : 1000) : 4;
        // Each value's rows in order are not all rows in order.
        if (athlete && sqlite3_vtab_in(info, i, -1)) several_scans = true;
      }
      if (!several_scans && info->nOrderBy == 1 && (info->aOrderBy[0].iColumn == STRAVA_ACT_START_DATE ||
                                  info->aOrderBy[0].iColumn == STRAVA_ACT_START_DATE_LOCAL)) {
        order = " ORDER BY " + ColumnName(info->aOrderBy[0].iColumn) + (info->aOrderBy[0].desc ? " DESC" : "");
        shown += std::string(shown.empty() ? "" : " ") + order.substr(1);
        info->orderByConsumed = 1;
      }
    }
    info->estimatedRows = static_cast<sqlite3_int64>(rows < 1 ? 1 : rows);
    info->estimatedCost = rows < 1 ? 1 : rows;

    // The projection: id always (it is the rowid), then what the statement uses.
    plan->result_column.assign(static_cast<size_t>(STRAVA_ACT_COMMAND + 1), -1);
    std::string select = "SELECT id";
    plan->result_column[static_cast<size_t>(STRAVA_ACT_ID)] = 0;
    int selected = 1;
    for (int col = 0; col <= STRAVA_ACT_JSON; ++col) {
      const bool used = (info->colUsed & (col < 63 ? (sqlite3_uint64{1} << col) : (sqlite3_uint64{1} << 63))) != 0;
      if (!used || col == STRAVA_ACT_ID) continue;
      select += ", " + ColumnName(col);
      plan->result_column[static_cast<size_t>(col)] = selected++;
    }
    plan->sql = select + " FROM activities" + where + order;

    int index = -1;
    for (size_t i = 0; i < table->plans.size(); ++i)
      if (table->plans[i]->sql == plan->sql && table->plans[i]->id_in == plan->id_in) index = static_cast<int>(i);
    if (index < 0) {
      table->plans.push_back(std::move(plan));
      index = static_cast<int>(table->plans.size()) - 1;
    }
    info->idxNum = index;
    info->idxStr = sqlite3_mprintf("%s", shown.empty() ? "scan" : shown.c_str());
    if (info->idxStr == nullptr) return SQLITE_NOMEM;
    info->needToFreeIdxStr = 1;
    return SQLITE_OK;
  });
}

/* xOpen: a cursor; the first of a statement may refresh (see Source). */
int ActivitiesOpen(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) {
  return Guard(vtab, [&] {
    auto* cur = new ActivitiesCursor{};
    reinterpret_cast<ActivitiesTable*>(vtab)->source->CursorOpened();
    *out = &cur->base;
    return SQLITE_OK;
  });
}

/* xClose */
int ActivitiesClose(sqlite3_vtab_cursor* base) {
  auto* cur = reinterpret_cast<ActivitiesCursor*>(base);
  Source* source = cur->table()->source.get();
  delete cur;              // resets its statement first: a stepped one would keep the snapshot
  source->CursorClosed();  // the statement's last cursor ends its read transaction
  return SQLITE_OK;
}

/*
** xFilter: refresh if due (once per statement), then run the plan's query.
*/
int ActivitiesFilter(sqlite3_vtab_cursor* base, int idx_num, const char*, int argc, sqlite3_value** argv) {
  auto* cur = reinterpret_cast<ActivitiesCursor*>(base);
  ActivitiesTable* table = cur->table();
  return Guard(&table->base, [&] {
    if (Status s = table->source->StartScan(); !s.ok()) return SetError(&table->base, s);
    if (idx_num < 0 || static_cast<size_t>(idx_num) >= table->plans.size())
      return SetError(&table->base, "strava_activities: unknown plan " + std::to_string(idx_num));
    Plan* plan = table->plans[static_cast<size_t>(idx_num)].get();
    if (cur->plan != plan) {
      cur->Release();
      if (plan->idle.empty()) {
        if (Status s = table->source->Prepare(plan->sql, &cur->stmt, "reading activities"); !s.ok())
          return SetError(&table->base, s);
      } else {
        cur->stmt = plan->idle.back();
        plan->idle.pop_back();
      }
      cur->plan = plan;
    } else {
      sqlite3_reset(cur->stmt);
    }
    cur->FreeIds();
    cur->next_id = 0;
    cur->eof = true;
    if (plan->id_in) {
      sqlite3_value* v = nullptr;
      int rc;
      for (rc = sqlite3_vtab_in_first(argv[0], &v); rc == SQLITE_OK && v; rc = sqlite3_vtab_in_next(argv[0], &v)) {
        sqlite3_value* copy = sqlite3_value_dup(v);
        if (copy == nullptr) return SQLITE_NOMEM;
        cur->ids.push_back(copy);
      }
      if (rc != SQLITE_OK && rc != SQLITE_DONE) return rc;
      if (cur->ids.empty()) return SQLITE_OK;
      sqlite3_bind_value(cur->stmt, 1, cur->ids[cur->next_id++]);
    } else {
      for (int i = 0; i < argc; ++i) sqlite3_bind_value(cur->stmt, i + 1, argv[i]);
    }
    return Advance(cur);
  });
}

/* xNext */
int ActivitiesNext(sqlite3_vtab_cursor* base) {
  auto* cur = reinterpret_cast<ActivitiesCursor*>(base);
  return Guard(&cur->table()->base, [&] { return Advance(cur); });
}

/* xEof */
int ActivitiesEof(sqlite3_vtab_cursor* base) { return reinterpret_cast<ActivitiesCursor*>(base)->eof; }

/* xColumn: the selected value as stored; the command column is always NULL. */
int ActivitiesColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cur = reinterpret_cast<ActivitiesCursor*>(base);
  int from = column >= 0 && column < STRAVA_ACT_COMMAND ? cur->plan->result_column[static_cast<size_t>(column)] : -1;
  if (from < 0)
    sqlite3_result_null(ctx);
  else
    sqlite3_result_value(ctx, sqlite3_column_value(cur->stmt, from));
  return SQLITE_OK;
}

/* xRowid: the activity id (the cache's INTEGER PRIMARY KEY). */
int ActivitiesRowid(sqlite3_vtab_cursor* base, sqlite_int64* rowid) {
  *rowid = sqlite3_column_int64(reinterpret_cast<ActivitiesCursor*>(base)->stmt, 0);
  return SQLITE_OK;
}

/*
** xUpdate: the table is read-only; the one write it takes is the command
** INSERT INTO strava_activities(strava_activities) VALUES('refresh').
*/
int ActivitiesUpdate(sqlite3_vtab* vtab, int argc, sqlite3_value** argv, sqlite_int64*) {
  auto* table = reinterpret_cast<ActivitiesTable*>(vtab);
  return Guard(vtab, [&] {
    const std::string example = "INSERT INTO " + table->name + "(" + table->name + ") VALUES('refresh')";
    if (argc > 1 && sqlite3_value_type(argv[0]) == SQLITE_NULL &&
        sqlite3_value_type(argv[2 + STRAVA_ACT_COMMAND]) != SQLITE_NULL) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[2 + STRAVA_ACT_COMMAND]));
      std::string command = text ? text : "";
      if (command != "refresh")
        return SetError(vtab, table->name + ": unknown command '" + command + "'; the only one is " + example);
      // This INSERT holds the write lock of `main`; if that is the cache
      // itself, the refresh could only wait for it and fail after the busy
      // timeout. Say so at once instead.
      const char* main_file = sqlite3_db_filename(table->db, "main");
      struct stat a, b;
      if (sqlite3_txn_state(table->db, "main") == SQLITE_TXN_WRITE && main_file && *main_file &&
          ::stat(main_file, &a) == 0 && ::stat(table->source->config().cache_path.c_str(), &b) == 0 &&
          a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return SetError(vtab, table->name +
                                  ": the refresh command cannot run while this connection writes to the "
                                  "cache itself (it is the main database, and this INSERT locks it): "
                                  "open another database, e.g. `sqlite3` with no file, or run "
                                  "`stravafs sync`");
      Status s = table->source->ForceRefresh();
      return s.ok() ? SQLITE_OK : SetError(vtab, s);
    }
    return SetError(vtab, table->name +
                              " is read-only: it shows the stravafs cache, which only a sync changes; "
                              "the one write it takes is " +
                              example);
  });
}

}  // namespace

/*
** The module. xCreate = xConnect makes it eponymous (usable without CREATE
** VIRTUAL TABLE) and still creatable with a config argument.
*/
const sqlite3_module kActivitiesModule = {
    /* iVersion    */ 0,
    /* xCreate     */ ActivitiesConnect,
    /* xConnect    */ ActivitiesConnect,
    /* xBestIndex  */ ActivitiesBestIndex,
    /* xDisconnect */ ActivitiesDisconnect,
    /* xDestroy    */ ActivitiesDisconnect,
    /* xOpen       */ ActivitiesOpen,
    /* xClose      */ ActivitiesClose,
    /* xFilter     */ ActivitiesFilter,
    /* xNext       */ ActivitiesNext,
    /* xEof        */ ActivitiesEof,
    /* xColumn     */ ActivitiesColumn,
    /* xRowid      */ ActivitiesRowid,
    /* xUpdate     */ ActivitiesUpdate,
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
