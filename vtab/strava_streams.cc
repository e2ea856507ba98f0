/*
** strava_streams(activity_id): one activity's samples, a table-valued function.
**
** USAGE
**
**     SELECT time, heartrate FROM strava_streams(11234567890);
**     SELECT a.name, max(s.watts)
**       FROM strava_activities a, strava_streams(a.id) s
**      WHERE a.start_date >= '2024-05-01' GROUP BY a.id;
**
** Columns (units in stravafs-sqlite(7)): seq, time, distance, lat, lng,
** altitude, velocity, heartrate, cadence, watts, temp, moving, grade, and the
** hidden argument activity_id. Rows come in seq order; an activity without
** streams (manual, or not fetched yet) has none.
**
** HOW IT WORKS
**
** The argument is required: xBestIndex refuses plans where it is not yet
** known (SQLITE_CONSTRAINT, so the planner puts the activity first), and a
** statement that does not give it at all fails in xFilter with a message
** saying how to call it. Each xFilter is one primary-key range of the cache's
** `streams` table on the read-only connection, selecting only the columns
** the statement uses (colUsed, carried in idxNum), on a statement the table
** keeps prepared between statements. No refresh happens here: the
** extension's refresh lists activities only.
*/
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "model/streams.h"
#include "strava_vtab.h"

namespace stravafs::vtab {

namespace {

// Columns, in declaration order: seq, kStreamColumns (model/streams.h), and
// the hidden argument.
constexpr int kSeqColumn = 0;
constexpr int kActivityIdColumn = 1 + static_cast<int>(kStreamColumns.size());

// The declaration: each column with its type in the cache's streams table.
const std::string& Schema() {
  static const std::string ddl = [] {
    std::string out = "CREATE TABLE x(seq INTEGER, ";
    for (const StreamColumn& c : kStreamColumns) out += std::string(c.name) + " " + std::string(c.sql_type) + ", ";
    return out + "activity_id HIDDEN)";
  }();
  return ddl;
}

// The column names in declaration order, activity_id last.
std::string ColumnName(int column) {
  if (column == kSeqColumn) return "seq";
  if (column == kActivityIdColumn) return "activity_id";
  return std::string(kStreamColumns[static_cast<size_t>(column - 1)].name);
}

// A plan selects only the columns the statement uses (colUsed), seq always
// (it is the rowid): a statement that sums one stream does not copy the
// other twelve of every sample. idxNum is that set of columns (bit i:
// column i), never 0 since seq is in it; 0 means no argument was given.
constexpr int kNoArgument = 0;

std::string Query(int columns) {
  std::string out = "SELECT seq";
  for (int c = 1; c <= kActivityIdColumn; ++c)
    if (columns & (1 << c)) out += ", " + ColumnName(c);
  return out + " FROM streams WHERE activity_id = ?1 ORDER BY seq";
}

// One query's statements, kept prepared between statements (preparing one
// costs more than reading a short activity). A cursor takes an idle one, or
// prepares one when another cursor holds it, and gives it back reset.
struct StreamsPlan {
  std::vector<sqlite3_stmt*> idle;  // owned
  StreamsPlan() = default;
  StreamsPlan(const StreamsPlan&) = delete;
  StreamsPlan& operator=(const StreamsPlan&) = delete;
  ~StreamsPlan() {
    for (sqlite3_stmt* st : idle) sqlite3_finalize(st);
  }
};

struct StreamsTable {
  sqlite3_vtab base;  // first
  std::shared_ptr<Source> source;
  std::map<int, StreamsPlan> plans;  // by idxNum; destroyed before `source`
};

struct StreamsCursor {
  sqlite3_vtab_cursor base;  // first
  sqlite3_stmt* stmt = nullptr;
  StreamsPlan* plan = nullptr;                 // the plan `stmt` goes back to
  int columns = kNoArgument;                   // the plan's idxNum
  int result_column[kActivityIdColumn + 1]{};  // column -> column of `stmt`, -1 = not selected
  bool eof = true;

  StreamsTable* table() const { return reinterpret_cast<StreamsTable*>(base.pVtab); }
  // Gives the statement back to its plan, reset: it holds no snapshot.
  void Release() {
    if (stmt == nullptr) return;
    GiveBack(plan->idle, stmt);
    stmt = nullptr;
    plan = nullptr;
    columns = kNoArgument;
  }
};

/* xConnect (and xCreate) */
int StreamsConnect(sqlite3* db, void* aux, int argc, const char* const* argv, sqlite3_vtab** out, char** err) {
  return Guard(nullptr, [&] {
    int rc = sqlite3_declare_vtab(db, Schema().c_str());
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
    auto source = static_cast<Context*>(aux)->Connect("strava_streams", argc, argv, err);
    if (!source) return SQLITE_ERROR;
    auto* table = new StreamsTable{};
    table->source = std::move(source);
    *out = &table->base;
    return SQLITE_OK;
  });
}

/* xDisconnect (and xDestroy) */
int StreamsDisconnect(sqlite3_vtab* vtab) {
  delete reinterpret_cast<StreamsTable*>(vtab);
  return SQLITE_OK;
}

/*
** xBestIndex: activity_id = ? is the whole plan; rows come in seq order.
*/
int StreamsBestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  bool unusable = false;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn != kActivityIdColumn || c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c.usable) {
      unusable = true;
      continue;
    }
    info->aConstraintUsage[i].argvIndex = 1;
    info->aConstraintUsage[i].omit = 1;
    int columns = 1 << kSeqColumn;
    for (int c = 1; c <= kActivityIdColumn; ++c)
      if (info->colUsed & (sqlite3_uint64{1} << c)) columns |= 1 << c;
    info->idxNum = columns;
    info->idxStr = const_cast<char*>("activity_id=");
    info->estimatedCost = 1000;
    info->estimatedRows = 1000;
    if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == kSeqColumn && !info->aOrderBy[0].desc)
      info->orderByConsumed = 1;
    return SQLITE_OK;
  }
  // Known later in the join: ask for another order. Not given at all: a plan
  // whose xFilter explains the mistake.
  if (unusable) return SQLITE_CONSTRAINT;
  info->idxNum = kNoArgument;
  info->estimatedCost = 1e12;
  info->estimatedRows = 1;
  return SQLITE_OK;
}

/* xOpen */
int StreamsOpen(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) {
  return Guard(vtab, [&] {
    *out = &(new StreamsCursor{})->base;
    return SQLITE_OK;
  });
}

/* xClose */
int StreamsClose(sqlite3_vtab_cursor* base) {
  auto* cur = reinterpret_cast<StreamsCursor*>(base);
  cur->Release();
  delete cur;
  return SQLITE_OK;
}

int StreamsStep(StreamsCursor* cur) {
  int rc = sqlite3_step(cur->stmt);
  if (rc == SQLITE_ROW) {
    cur->eof = false;
    return SQLITE_OK;
  }
  cur->eof = true;
  rc = sqlite3_reset(cur->stmt);  // ends the read either way
  if (rc == SQLITE_OK) return SQLITE_OK;
  return SetError(&cur->table()->base, cur->table()->source->cache().Check(rc, "reading streams"));
}

/* xFilter: all samples of argv[0], in seq order. */
int StreamsFilter(sqlite3_vtab_cursor* base, int idx_num, const char*, int argc, sqlite3_value** argv) {
  auto* cur = reinterpret_cast<StreamsCursor*>(base);
  StreamsTable* table = cur->table();
  return Guard(&table->base, [&] {
    if (idx_num == kNoArgument || argc < 1)
      return SetError(&table->base,
                      "strava_streams needs an activity id: SELECT * FROM strava_streams(12345), or join it as "
                      "FROM strava_activities a, strava_streams(a.id)");
    if (cur->columns != idx_num) {
      cur->Release();
      StreamsPlan& plan = table->plans[idx_num];
      if (plan.idle.empty()) {
        if (Status s = table->source->Prepare(Query(idx_num), &cur->stmt, "reading streams"); !s.ok())
          return SetError(&table->base, s);
      } else {
        cur->stmt = plan.idle.back();
        plan.idle.pop_back();
      }
      cur->plan = &plan;
      cur->columns = idx_num;
      for (int c = 0, at = 0; c <= kActivityIdColumn; ++c) cur->result_column[c] = idx_num & (1 << c) ? at++ : -1;
    } else {
      sqlite3_reset(cur->stmt);
    }
    sqlite3_bind_value(cur->stmt, 1, argv[0]);
    return StreamsStep(cur);
  });
}

/* xNext */
int StreamsNext(sqlite3_vtab_cursor* base) {
  auto* cur = reinterpret_cast<StreamsCursor*>(base);
  return Guard(&cur->table()->base, [&] { return StreamsStep(cur); });
}

/* xEof */
int StreamsEof(sqlite3_vtab_cursor* base) { return reinterpret_cast<StreamsCursor*>(base)->eof; }

/* xColumn: the selected value as stored (colUsed says which are selected). */
int StreamsColumn(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int column) {
  auto* cur = reinterpret_cast<StreamsCursor*>(base);
  const int from = column >= 0 && column <= kActivityIdColumn ? cur->result_column[column] : -1;
  if (from < 0)
    sqlite3_result_null(ctx);
  else
    sqlite3_result_value(ctx, sqlite3_column_value(cur->stmt, from));
  return SQLITE_OK;
}

/* xRowid: seq, unique within one activity. */
int StreamsRowid(sqlite3_vtab_cursor* base, sqlite_int64* rowid) {
  *rowid = sqlite3_column_int64(reinterpret_cast<StreamsCursor*>(base)->stmt, kSeqColumn);
  return SQLITE_OK;
}

}  // namespace

/* The module: eponymous, read-only (no xUpdate). */
const sqlite3_module kStreamsModule = {
    /* iVersion    */ 0,
    /* xCreate     */ StreamsConnect,
    /* xConnect    */ StreamsConnect,
    /* xBestIndex  */ StreamsBestIndex,
    /* xDisconnect */ StreamsDisconnect,
    /* xDestroy    */ StreamsDisconnect,
    /* xOpen       */ StreamsOpen,
    /* xClose      */ StreamsClose,
    /* xFilter     */ StreamsFilter,
    /* xNext       */ StreamsNext,
    /* xEof        */ StreamsEof,
    /* xColumn     */ StreamsColumn,
    /* xRowid      */ StreamsRowid,
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
