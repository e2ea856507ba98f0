#include "cache/cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "model/analytics.h"
#include "format/names.h"
#include "format/sizes.h"

namespace stravafs {

namespace {

// What to do with a damaged cache. Its -wal and -shm files go with it: moved
// without them, the copy loses what was in the WAL, and SQLite would pair
// the next cache with the old WAL (issue 15).
std::string DamageAdvice(const std::string& path) {
  return "move it aside with its -wal and -shm files (mv " + path + " " + path + "-wal " + path +
         "-shm SOMEWHERE/) and run `stravafs sync` or `stravafs import` to rebuild it";
}

// Group and others lose every permission on a file of ours (the cache and
// its -wal and -shm hold the athlete's data). Not ours: left alone.
void MakePrivate(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & 077) != 0)
    (void)!::fchmod(fd, st.st_mode & 0700);
}

std::string ActivitiesDdl() {
  std::string sql = "CREATE TABLE activities (\n";
  for (const auto& c : ActivityColumns()) {
    sql += "  " + std::string(c.name) + " " + SqlType(c.type);
    if (std::string_view(c.name) == "id") sql += " PRIMARY KEY";
    sql += ",\n";
  }
  sql += "  json TEXT NOT NULL\n);\n";
  return sql;
}

// Schema v1. Bookkeeping lives in activity_sync, not in `activities`, so BI
// tools see only Strava's data there.
std::string SchemaV1() {
  return ActivitiesDdl() + R"SQL(
CREATE INDEX activities_start_date ON activities(start_date);
CREATE INDEX activities_start_date_local ON activities(start_date_local);
CREATE INDEX activities_sport_type ON activities(sport_type, start_date);

CREATE TABLE activity_sync (
  id INTEGER PRIMARY KEY,
  summary_hash INTEGER NOT NULL,        -- fingerprint of the last summary listed
  detail_state INTEGER NOT NULL,        -- 0 wanted, 1 fetched
  streams_state INTEGER NOT NULL,       -- 0 wanted, 1 fetched, 2 Strava has none
  listed_run INTEGER NOT NULL DEFAULT 0 -- the last full listing that saw it
);
CREATE INDEX activity_sync_pending ON activity_sync(detail_state, streams_state);

CREATE TABLE streams (
  activity_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  time INTEGER, distance REAL, lat REAL, lng REAL, altitude REAL, velocity REAL,
  heartrate REAL, cadence REAL, watts REAL, temp REAL, moving INTEGER, grade REAL,
  PRIMARY KEY (activity_id, seq)
) WITHOUT ROWID;

CREATE TABLE laps (
  activity_id INTEGER NOT NULL,
  lap_index INTEGER NOT NULL,
  id INTEGER, name TEXT, start_date TEXT, start_date_local TEXT,
  elapsed_time INTEGER, moving_time INTEGER, distance REAL, total_elevation_gain REAL,
  average_speed REAL, max_speed REAL, average_heartrate REAL, max_heartrate REAL,
  average_cadence REAL, average_watts REAL, start_index INTEGER, end_index INTEGER,
  json TEXT NOT NULL,
  PRIMARY KEY (activity_id, lap_index)
) WITHOUT ROWID;

CREATE TABLE gear (
  id TEXT PRIMARY KEY, name TEXT, brand_name TEXT, model_name TEXT,
  distance REAL, primary_gear INTEGER, retired INTEGER, json TEXT NOT NULL
);

CREATE TABLE athletes (
  id INTEGER PRIMARY KEY, username TEXT, firstname TEXT, lastname TEXT,
  city TEXT, state TEXT, country TEXT, sex TEXT, premium INTEGER,
  created_at TEXT, weight REAL, ftp REAL, json TEXT NOT NULL
);

CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- For BI tools: the same activities in the units people read.
CREATE VIEW activities_units AS
SELECT id, name, sport_type, start_date, start_date_local, timezone,
       distance / 1000.0 AS distance_km,
       moving_time / 60.0 AS moving_time_min,
       elapsed_time / 60.0 AS elapsed_time_min,
       total_elevation_gain AS elevation_gain_m,
       average_speed * 3.6 AS average_speed_kmh,
       max_speed * 3.6 AS max_speed_kmh,
       CASE WHEN distance > 0 THEN moving_time / 60.0 / (distance / 1000.0) END AS pace_min_per_km,
       average_heartrate AS average_heartrate_bpm,
       average_watts AS average_power_w,
       kilojoules AS energy_kj, calories AS energy_kcal,
       gear_id, commute, trainer, manual, private, visibility
FROM activities;
)SQL";
}

}  // namespace

Result<std::unique_ptr<Cache>> Cache::Open(const std::string& path, Mode mode) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (mode == Mode::kReadOnly) {
    if (!fs::exists(path, ec))
      return Status::Error(ErrorKind::kCache,
                           "no cache at " + path + " yet: run `stravafs sync` or `stravafs import` first");
  } else {
    fs::path dir = fs::path(path).parent_path();
    if (!dir.empty() && !fs::exists(dir, ec)) {
      fs::create_directories(dir, ec);
      if (ec) return Status::Error(ErrorKind::kCache, "cannot create " + dir.string() + ": " + ec.message());
      ::chmod(dir.c_str(), 0700);
    }
    // Create the file ourselves so it is private from the first byte, and
    // make one copied in at 0644 private too (SQLite gives -wal and -shm the
    // database's mode when it creates them; existing ones are fixed here).
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
      return Status::Error(ErrorKind::kCache, "cannot open " + path + ": " + std::strerror(errno));
    MakePrivate(fd);
    ::close(fd);
    for (const char* suffix : {"-wal", "-shm"}) {
      const int side = ::open((path + suffix).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      if (side >= 0) {
        MakePrivate(side);
        ::close(side);
      }
    }
  }
  sqlite3* db = nullptr;
  int flags = (mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  std::unique_ptr<Cache> cache(new Cache(path, db));
  if (rc != SQLITE_OK)
    return Status::Error(ErrorKind::kCache, "cannot open cache " + path + ": " + sqlite3_errstr(rc));
  sqlite3_busy_timeout(db, 10000);
  sqlite3_extended_result_codes(db, 1);
  if (mode == Mode::kReadWrite) {
    // Larger pages: a row holds ~1.5 KB of JSON; fewer, bigger pages cut the
    // per-page cost of every commit. Takes effect only on a new, empty file.
    if (auto s = cache->Exec("PRAGMA page_size=16384"); !s.ok()) return s;
    if (auto s = cache->Migrate(); !s.ok()) return s;  // refuses a newer cache before touching it
    if (auto s = cache->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !s.ok()) return s;
  } else {
    Result<Identity> identified = cache->Identify();
    if (!identified.ok()) return identified.status();
    const int64_t version = identified->version;
    // Only a writer migrates: readers (the mount, the extension) must not
    // take the write lock, nor find tables half way through a change.
    if (version < kSchemaVersion)
      return Status::Error(ErrorKind::kCache, "cache " + path + " has schema version " + std::to_string(version) +
                                                  ": run `stravafs sync` once to upgrade it");
    if (version > kSchemaVersion)
      return Status::Error(ErrorKind::kCache, "cache " + path + " has schema version " + std::to_string(version) +
                                                  ", this stravafs reads version " +
                                                  std::to_string(kSchemaVersion) + ": upgrade stravafs");
  }
  return cache;
}

Cache::~Cache() {
  stmts_.clear();
  if (db_) sqlite3_close(db_);
}

Status Cache::Check(int rc, const char* what) const {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  std::string msg = std::string(what) + " failed in cache " + path_ + ": " + sqlite3_errmsg(db_);
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    msg += " (another process holds the database; try again)";
  else if ((rc & 0xff) == SQLITE_FULL)
    msg += " (the disk is full; nothing was lost, free space and run again)";
  else if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
    msg += " (the file is damaged: " + DamageAdvice(path_) + ")";
  return Status::Error(ErrorKind::kCache, msg);
}

// Why the first read of the cache failed. Only a file SQLite cannot read as
// a database is called damaged: a busy database or an I/O error is not, and
// moving the file aside then would do harm (issue 15).
Status Cache::CannotRead(const Stmt& stmt) const {
  const int rc = stmt.rc();
  const int primary = rc & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
    return Status::Error(ErrorKind::kCache,
                         path_ + " is not a stravafs cache (not an SQLite database, or damaged): " + DamageAdvice(path_));
  return Check(rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_ERROR : rc, "reading");
}

Status Cache::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status s = Check(rc, "SQL");
    return Status::Error(ErrorKind::kCache, s.ok() ? msg : s.message());
  }
  return Status::Ok();
}

Stmt* Cache::Prepare(const std::string& sql) {
  auto& slot = stmts_[sql];
  if (!slot) {
    sqlite3_stmt* s = nullptr;
    if (const int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
        rc != SQLITE_OK) {
      stmts_.erase(sql);
      sqlite3_finalize(s);
      failed_.MarkFailed(sqlite3_extended_errcode(db_) != SQLITE_OK ? sqlite3_extended_errcode(db_) : rc);
      return &failed_;
    }
    slot = std::make_unique<Stmt>(s);
  }
  slot->Reset();
  return slot.get();
}

void Cache::ResetStatements() {
  for (auto& [sql, st] : stmts_) st->Reset();
}

Status Cache::Begin() { return Exec("BEGIN IMMEDIATE"); }
Status Cache::Commit() { return Exec("COMMIT"); }
void Cache::Rollback() { (void)Exec("ROLLBACK"); }

// The schema version of a stravafs cache, or why the file is not one. An
// SQLite file of another program named as the cache got 55 schema objects and
// WAL (issue 15): a cache carries kApplicationId, and a file without it is
// taken only when it is empty or holds a schema version (a cache written
// before the id, stamped by its next writer).
Result<Cache::Identity> Cache::Identify() {
  int64_t ids[2] = {0, 0};
  const char* pragmas[2] = {"PRAGMA application_id", "PRAGMA user_version"};
  for (int i = 0; i < 2; ++i) {
    Stmt* st = Prepare(pragmas[i]);
    if (!st->Step()) return CannotRead(*st);
    ids[i] = st->Int(0);
    st->Reset();  // an unfinished statement would hold a read transaction open
  }
  const int64_t application_id = ids[0], version = ids[1];
  auto not_ours = [&](const std::string& why) {
    return Status::Error(ErrorKind::kCache,
                         path_ + " is not a stravafs cache (" + why +
                             "): it was left untouched; name another file as [cache] path");
  };
  if (application_id == kApplicationId) return Identity{version, true};
  if (application_id != 0) {
    std::array<char, 16> hex{};
    std::snprintf(hex.data(), hex.size(), "0x%08x", static_cast<uint32_t>(application_id));
    return not_ours(std::string("an SQLite database of another program, application_id ") + hex.data());
  }
  if (version > 0) return Identity{version, false};
  Stmt* objects = Prepare("SELECT count(*) FROM sqlite_schema");
  if (!objects->Step()) return CannotRead(*objects);
  const int64_t count = objects->Int(0);
  objects->Reset();
  if (count > 0)
    return not_ours("an SQLite database holding " + std::to_string(count) +
                    " tables, indexes or views of another program");
  return Identity{version, false};
}

Status Cache::Migrate() {
  Result<Identity> identified = Identify();
  if (!identified.ok()) return identified.status();
  const int64_t version = identified->version;
  if (version > kSchemaVersion)
    return Status::Error(ErrorKind::kCache,
                         "cache " + path_ + " has schema version " + std::to_string(version) +
                             ", newer than this stravafs understands (" +
                             std::to_string(kSchemaVersion) + "): upgrade stravafs");
  // A cache from before the id is stamped by its first writer.
  if (!identified->stamped) {
    if (auto s = Exec("PRAGMA application_id = " + std::to_string(kApplicationId)); !s.ok()) return s;
  }
  if (version == kSchemaVersion) return Status::Ok();
  Transaction tx(*this);
  if (!tx.status().ok()) return tx.status();
  if (version < 1) {
    if (auto s = Exec(SchemaV1()); !s.ok()) return s;
  }
  if (version < 2) {
    if (auto s = MigrateToV2(); !s.ok()) return s;
  }
  if (version < 3) {
    if (auto s = MigrateToV3(); !s.ok()) return s;
  }
  if (version < 4) {
    if (auto s = Exec(AnalyticsSchemaV4Sql()); !s.ok()) return s;
  }
  if (version < 5) {
    if (auto s = MigrateToV5(); !s.ok()) return s;
  }
  if (version < 6) {
    if (auto s = MigrateToV6(); !s.ok()) return s;
  }
  if (version < 7) {
    if (auto s = MigrateToV7(); !s.ok()) return s;
  }
  if (auto s = Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion)); !s.ok()) return s;
  return tx.Commit();
}

namespace {

// A typed column as the cache holds it (what the mount reads back).
ColumnValue ReadColumnValue(const Stmt& st, int col) {
  ColumnValue v;
  switch (st.Type(col)) {
    case SQLITE_INTEGER: v.kind = ColumnValue::kInt, v.i = st.Int(col); break;
    case SQLITE_FLOAT: v.kind = ColumnValue::kReal, v.d = st.Real(col); break;
    case SQLITE_NULL: break;
    default: v.kind = ColumnValue::kText, v.s = st.Text(col); break;
  }
  return v;
}

}  // namespace

Status Cache::MigrateToV2() {
  // The sizes live beside the bookkeeping, not in `activities`, which holds
  // only Strava's data for BI tools.
  if (auto s = Exec(R"SQL(
ALTER TABLE activity_sync ADD COLUMN json_size INTEGER;        -- bytes of <name>.json
ALTER TABLE activity_sync ADD COLUMN csv_row_size INTEGER;     -- bytes of its line in activities.csv
ALTER TABLE activity_sync ADD COLUMN streams_csv_size INTEGER; -- bytes of <name>.csv; NULL = no streams held
ALTER TABLE activity_sync ADD COLUMN gpx_size INTEGER;         -- bytes of <name>.gpx; NULL = no GPS sample
CREATE TABLE fs_changes (                  -- what the mount must invalidate
  seq INTEGER PRIMARY KEY,                 -- grows with every logged write
  activity_id INTEGER NOT NULL,
  old_year INTEGER, old_month INTEGER, old_base TEXT  -- where its files were before; NULL if new
);
-- The mount lists a folder from this index alone (a covering index): its
-- names come from these columns, so a listing never reads the wide rows,
-- whose JSON fills most of a page once detailed. It replaces the plain
-- index on start_date_local, its prefix.
DROP INDEX activities_start_date_local;
CREATE INDEX activities_start_date_local ON activities(start_date_local, id, name, sport_type, start_date);
-- Samples of an activity deleted while its streams were being fetched: no
-- file shows them, and streams_csv_size must mean "samples are held".
DELETE FROM streams WHERE activity_id NOT IN (SELECT id FROM activity_sync);
)SQL");
      !s.ok())
    return s;

  // Measure everything first, then write: no table changes under a reading statement.
  struct Sizes {
    int64_t id, json, csv_row;
  };
  std::vector<Sizes> sizes;
  std::string sql = "SELECT a.id, a.json";
  for (const ActivityColumn* c : ActivitiesCsvColumns()) sql += std::string(", a.") + c->name;
  sql += " FROM activities a JOIN activity_sync s ON s.id = a.id";
  Stmt* all = Prepare(sql);
  if (!all->prepared()) return Check(all->rc(), "measuring the mount's files");
  std::vector<ColumnValue> values(ActivitiesCsvColumns().size());
  while (all->Step()) {
    for (size_t i = 0; i < values.size(); ++i) values[i] = ReadColumnValue(*all, static_cast<int>(i) + 2);
    sizes.push_back({all->Int(0), JsonFileSizeOfText(all->Text(1)), static_cast<int64_t>(ActivityCsvRow(values).size())});
  }
  if (auto s = Check(all->rc(), "measuring the mount's files"); !s.ok()) return s;
  Stmt* put = Prepare("UPDATE activity_sync SET json_size=?2, csv_row_size=?3 WHERE id=?1");
  for (const Sizes& z : sizes) {
    put->Bind(1, z.id).Bind(2, z.json).Bind(3, z.csv_row);
    put->Step();
    if (auto s = Check(put->rc(), "storing the mount's file sizes"); !s.ok()) return s;
    put->Reset();
  }

  std::vector<int64_t> with_streams;
  Stmt* ids = Prepare("SELECT DISTINCT activity_id FROM streams");
  while (ids->Step()) with_streams.push_back(ids->Int(0));
  if (auto s = Check(ids->rc(), "measuring the mount's files"); !s.ok()) return s;
  for (int64_t id : with_streams)
    if (auto s = WriteStreamSizes(id); !s.ok()) return s;
  return Status::Ok();
}

Status Cache::MigrateToV3() {
  if (auto s = Exec(AnalyticsSchemaSql()); !s.ok()) return s;
  // Backfill: every activity whose samples are held gets its figures, as if
  // its streams had just been stored.
  std::vector<int64_t> with_streams;
  Stmt* ids = Prepare("SELECT DISTINCT activity_id FROM streams");
  while (ids->Step()) with_streams.push_back(ids->Int(0));
  if (auto s = Check(ids->rc(), "computing the analytics"); !s.ok()) return s;
  for (int64_t id : with_streams) {
    auto samples = LoadSamples(id);
    if (!samples.ok()) return samples.status();
    if (auto s = WriteStreamAnalytics(id, *samples); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Cache::MigrateToV5() {
  // The mount gives every version of a file its own inode in the kernel, so
  // a version's cached pages are never read as another's: it needs to know,
  // when it looks a file up, which version it is. 0 for what was written
  // before v5 (each later write sets a new, larger value).
  return Exec("ALTER TABLE activity_sync ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;");
}

// XmlEscape wrote a carriage return raw, which XML readers turn into a line
// feed; it writes &#13; now, so the .gpx of an activity named with one has
// grown: measured again, and logged for a running mount.
Status Cache::MigrateToV7() {
  std::vector<int64_t> ids;
  Stmt* st = Prepare(
      "SELECT a.id FROM activities a JOIN activity_sync s USING (id) "
      "WHERE s.gpx_size IS NOT NULL AND (instr(a.name, char(13)) OR instr(a.sport_type, char(13)))");
  while (st->Step()) ids.push_back(st->Int(0));
  if (auto s = Check(st->rc(), "measuring the mount's files"); !s.ok()) return s;
  for (int64_t id : ids) {
    if (auto s = WriteStreamSizes(id); !s.ok()) return s;
    if (auto s = TouchActivity(id); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Cache::MigrateToV6() {
  return Exec(R"SQL(
-- Where the activity came from: NULL Strava's API, 'export' a bulk export's
-- activities.csv, 'file' a FIT, GPX or TCX file. Imported activities are
-- never deleted by a listing that lacks them.
ALTER TABLE activity_sync ADD COLUMN source TEXT;
ALTER TABLE activity_sync ADD COLUMN original_size INTEGER;   -- bytes of the original file, decompressed
ALTER TABLE activity_sync ADD COLUMN original_format TEXT;    -- its format: fit, gpx or tcx; NULL = none kept
CREATE TABLE import_files (                -- every file `stravafs import` has read
  path TEXT PRIMARY KEY,                   -- absolute; ZIP!ENTRY for a zip's entry
  size INTEGER NOT NULL,                   -- with mtime: an unchanged file is not read again
  mtime INTEGER NOT NULL,
  content INTEGER,                         -- fingerprint of the decompressed bytes
  activity_id INTEGER,                     -- what it made or was attached to
  outcome TEXT NOT NULL,                   -- imported, attached, duplicate, failed, done
  error TEXT,                              -- why it failed
  imported_at TEXT NOT NULL                -- UTC, ISO 8601
);
CREATE INDEX import_files_content ON import_files(content);
CREATE TABLE originals (                   -- imported files as they came
  activity_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,                      -- e.g. 12866632127.fit.gz
  format TEXT NOT NULL,                    -- fit, gpx or tcx
  size INTEGER NOT NULL,                   -- decompressed bytes
  data BLOB NOT NULL                       -- compressed as it came
);
)SQL");
}

Status Cache::WriteStreamAnalytics(int64_t id, const std::vector<StreamSample>& samples) {
  for (const char* sql : {"DELETE FROM activity_efforts WHERE activity_id=?",
                          "DELETE FROM activity_hr_seconds WHERE activity_id=?",
                          "DELETE FROM activity_power_seconds WHERE activity_id=?"}) {
    Stmt* del = Prepare(sql);
    del->Bind(1, id);
    del->Step();
    if (auto s = Check(del->rc(), "replacing the analytics of an activity"); !s.ok()) return s;
  }
  if (samples.empty()) return Status::Ok();
  const StreamAnalytics a = AnalyzeStreams(samples);
  // The histograms first: activity_efforts' row completes the activity's
  // figures for the triggers that summarize them (AnalyticsSchemaV4Sql).
  for (auto [sql, histogram] :
       {std::pair{"INSERT INTO activity_hr_seconds(activity_id, bpm, seconds) VALUES(?,?,?)", &a.hr_seconds},
        std::pair{"INSERT INTO activity_power_seconds(activity_id, watts, seconds) VALUES(?,?,?)",
                  &a.power_seconds_by_watts}}) {
    Stmt* ins = Prepare(sql);
    for (const auto& [bin, seconds] : *histogram) {
      ins->Bind(1, id).Bind(2, bin).Bind(3, seconds);
      ins->Step();
      if (auto s = Check(ins->rc(), "storing the zone seconds of an activity"); !s.ok()) return s;
      ins->Reset();
    }
  }
  Stmt* put = Prepare(
      "INSERT INTO activity_efforts(activity_id, max_heartrate_bpm, heartrate_s, power_s, power_15s_w, "
      "power_1min_w, power_5min_w, power_10min_w, power_20min_w, time_400m_s, time_1km_s, time_5km_s, "
      "time_10km_s, time_half_marathon_s, time_marathon_s) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  auto bind = [&](int i, const std::optional<double>& v) {
    if (v) put->Bind(i, *v); else put->BindNull(i);
  };
  put->Bind(1, id);
  bind(2, a.max_heartrate);
  put->Bind(3, a.heartrate_seconds).Bind(4, a.power_seconds);
  int col = 5;
  for (const auto& v : a.best_power) bind(col++, v);
  for (const auto& v : a.best_time) bind(col++, v);
  put->Step();
  return Check(put->rc(), "storing the best efforts of an activity");
}

namespace {

void BindColumnValue(Stmt& st, int i, const ColumnValue& v) {
  switch (v.kind) {
    case ColumnValue::kNull: st.BindNull(i); break;
    case ColumnValue::kInt: st.Bind(i, v.i); break;
    case ColumnValue::kReal: st.Bind(i, v.d); break;
    case ColumnValue::kText: st.Bind(i, v.s); break;
  }
}

std::string UpsertActivitySql() {
  std::string cols, params, updates;
  int n = 0;
  for (const auto& c : ActivityColumns()) {
    if (n++) { cols += ","; params += ","; updates += ","; }
    cols += c.name;
    params += "?";
    updates += std::string(c.name) + "=excluded." + c.name;
  }
  return "INSERT INTO activities(" + cols + ",json) VALUES(" + params + ",?) ON CONFLICT(id) DO UPDATE SET " +
         updates + ",json=excluded.json";
}

}  // namespace

Status Cache::WriteActivityRow(const ActivityRow& row, uint64_t summary_hash, int64_t run, bool detail_fetched,
                               bool keep_streams_state, bool gps) {
  static const std::string kUpsert = UpsertActivitySql();
  Stmt* st = Prepare(kUpsert);
  int i = 1;
  for (const auto& v : row.columns) BindColumnValue(*st, i++, v);
  st->Bind(i, row.json);
  st->Step();
  if (auto s = Check(st->rc(), "storing an activity"); !s.ok()) return s;

  // Samples, and so streams_csv_size, are untouched by a row; a new row has none.
  const RowSizes sizes = SizesOf(row);
  Stmt* sync = Prepare(
      "INSERT INTO activity_sync(id, summary_hash, detail_state, streams_state, listed_run, json_size, csv_row_size) "
      "VALUES(?1, ?2, ?3, 0, ?4, ?6, ?7) ON CONFLICT(id) DO UPDATE SET summary_hash=?2, detail_state=?3, "
      "streams_state=CASE WHEN ?5 THEN streams_state ELSE 0 END, listed_run=max(listed_run, ?4), "
      "json_size=?6, csv_row_size=?7");
  sync->Bind(1, row.id)
      .Bind(2, static_cast<int64_t>(summary_hash))
      .Bind(3, static_cast<int64_t>(detail_fetched ? 1 : 0))
      .Bind(4, run)
      .Bind(5, static_cast<int64_t>(keep_streams_state ? 1 : 0))
      .Bind(6, sizes.json)
      .Bind(7, sizes.csv_row);
  sync->Step();
  if (auto s = Check(sync->rc(), "storing sync bookkeeping"); !s.ok()) return s;
  return gps ? WriteStreamSizes(row.id) : Status::Ok();
}

Status Cache::WriteStreamSizes(int64_t id) {
  auto samples = LoadSamples(id);
  if (!samples.ok()) return samples.status();
  return WriteStreamSizes(id, *samples);
}

Status Cache::WriteStreamSizes(int64_t id, const std::vector<StreamSample>& samples) {
  Stmt* put = Prepare("UPDATE activity_sync SET streams_csv_size=?2, gpx_size=?3 WHERE id=?1");
  put->Bind(1, id).BindNull(2).BindNull(3);
  if (!samples.empty()) {
    // RenderStreamsCsv is the header and one line per sample: summed, not built.
    int64_t csv = static_cast<int64_t>(StreamsCsvHeader().size());
    for (const StreamSample& s : samples) csv += static_cast<int64_t>(StreamCsvRow(s).size());
    put->Bind(2, csv);
  }
  if (HasGps(samples)) {
    Stmt* q = Prepare("SELECT json FROM activities WHERE id=?");
    q->Bind(1, id);
    if (!q->Step()) return Check(q->rc() == SQLITE_DONE ? SQLITE_CORRUPT : q->rc(), "reading an activity");
    const Json activity = ParseJson(q->Text(0));
    q->Reset();
    put->Bind(3, static_cast<int64_t>(RenderGpx(activity, samples).size()));
  }
  put->Step();
  return Check(put->rc(), "storing the sizes of streams");
}

Result<std::vector<StreamSample>> Cache::LoadSamples(int64_t id) {
  Stmt* st = Prepare(
      "SELECT seq, time, distance, lat, lng, altitude, velocity, heartrate, cadence, watts, temp, moving, grade "
      "FROM streams WHERE activity_id=? ORDER BY seq");
  st->Bind(1, id);
  std::vector<StreamSample> samples;
  auto value = [&](int col) { return st->IsNull(col) ? std::nullopt : std::optional<double>(st->Real(col)); };
  while (st->Step()) {
    StreamSample& s = samples.emplace_back();
    s.seq = st->Int(0);
    int col = 1;
    for (auto* v : {&s.time, &s.distance, &s.lat, &s.lng, &s.altitude, &s.velocity, &s.heartrate, &s.cadence,
                    &s.watts, &s.temp, &s.moving, &s.grade})
      *v = value(col++);
  }
  if (auto s = Check(st->rc(), "reading stream samples"); !s.ok()) return s;
  return samples;
}

Result<std::optional<Cache::Location>> Cache::LocationOf(int64_t id) {
  Stmt* st = Prepare("SELECT start_date_local, name, sport_type FROM activities WHERE id=?");
  st->Bind(1, id);
  if (!st->Step()) {
    if (auto s = Check(st->rc(), "reading an activity"); !s.ok()) return s;
    return std::optional<Location>();
  }
  std::optional<Location> where;
  if (auto start = ParseLocalStart(st->Text(0))) {
    where.emplace();
    where->year = start->year;
    where->month = start->month;
    where->base = ActivityBaseName(*start, st->Text(1), id, st->Text(2));
  }
  st->Reset();
  return where;
}

Status Cache::LogFsChange(int64_t id, const std::optional<Location>& old) {
  Stmt* st = Prepare("INSERT INTO fs_changes(activity_id, old_year, old_month, old_base) VALUES(?,?,?,?)");
  st->Bind(1, id);
  if (old) {
    st->Bind(2, int64_t{old->year}).Bind(3, int64_t{old->month}).Bind(4, old->base);
  } else {
    st->BindNull(2).BindNull(3).BindNull(4);
  }
  st->Step();
  if (auto s = Check(st->rc(), "logging a change for the mount"); !s.ok()) return s;
  // The activity's files are now at this version (a deleted one has no row).
  Stmt* rev = Prepare("UPDATE activity_sync SET rev=last_insert_rowid() WHERE id=?");
  rev->Bind(1, id);
  rev->Step();
  return Check(rev->rc(), "logging a change for the mount");
}

Status Cache::TouchActivity(int64_t id) {
  auto where = LocationOf(id);
  if (!where.ok()) return where.status();
  return LogFsChange(id, *where);
}

Status Cache::PruneFsChanges(int64_t keep) {
  Stmt* st = Prepare(
      "DELETE FROM fs_changes WHERE seq <= (SELECT seq FROM fs_changes ORDER BY seq DESC LIMIT 1 OFFSET ?)");
  st->Bind(1, std::max<int64_t>(keep, 1));
  st->Step();
  return Check(st->rc(), "pruning the change log");
}

Result<Upsert> Cache::UpsertSummary(const Json& summary, int64_t run) {
  if (auto s = ValidateActivity(summary); !s.ok()) return s;
  return UpsertRow(RowFromJson(summary), run);
}

Result<Upsert> Cache::UpsertRow(const ActivityRow& row, int64_t run) {
  const int64_t id = row.id;
  Stmt* known = Prepare("SELECT summary_hash, gpx_size IS NOT NULL FROM activity_sync WHERE id=?");
  known->Bind(1, id);
  if (!known->Step()) {
    if (auto s = Check(known->rc(), "reading an activity"); !s.ok()) return s;
    if (auto s = WriteActivityRow(row, row.hash, run, false, false, false); !s.ok()) return s;
    if (auto s = LogFsChange(id, std::nullopt); !s.ok()) return s;
    return Upsert::kNew;
  }
  const bool same = static_cast<uint64_t>(known->Int(0)) == row.hash;
  const bool gps = known->Int(1) != 0;
  known->Reset();
  if (same) {
    Stmt* seen = Prepare("UPDATE activity_sync SET listed_run=max(listed_run, ?2) WHERE id=?1");
    seen->Bind(1, id).Bind(2, run);
    seen->Step();
    if (auto s = Check(seen->rc(), "marking an activity seen"); !s.ok()) return s;
    return Upsert::kUnchanged;
  }
  // Edited on Strava: overlay the new summary on what we hold, so detail-only
  // fields survive until the detail is fetched again.
  Json summary = ParseJson(row.json);
  if (summary.is_discarded() || !summary.is_object())
    return Status::Error(ErrorKind::kServer, "activity " + std::to_string(id) + " is not a JSON object");
  auto old = LocationOf(id);
  if (!old.ok()) return old.status();
  Stmt* q = Prepare("SELECT json, distance, elapsed_time FROM activities WHERE id=?");
  q->Bind(1, id);
  if (!q->Step()) return Check(q->rc() == SQLITE_DONE ? SQLITE_CORRUPT : q->rc(), "reading an edited activity");
  Json merged = ParseJson(q->Text(0));
  if (merged.is_discarded() || !merged.is_object()) merged = Json::object();
  bool track_same = !q->IsNull(1) && summary.contains("distance") && summary["distance"].is_number() &&
                    summary["distance"].get<double>() == q->Real(1) && summary.contains("elapsed_time") &&
                    summary["elapsed_time"].is_number() &&
                    summary["elapsed_time"].get<double>() == static_cast<double>(q->Int(2));
  q->Reset();
  auto rs = merged.find("resource_state");
  int64_t level = rs != merged.end() && rs->is_number_integer() ? rs->get<int64_t>() : 2;
  merged.update(summary);
  if (level > 2) merged["resource_state"] = level;  // still holds the detail-only keys
  if (auto s = WriteActivityRow(RowFromJson(merged), row.hash, run, false, track_same, gps); !s.ok()) return s;
  if (auto s = LogFsChange(id, *old); !s.ok()) return s;
  return Upsert::kChanged;
}

Status Cache::StoreDetail(const Json& detail) {
  if (auto s = ValidateActivity(detail); !s.ok()) return s;
  int64_t id = detail.at("id").get<int64_t>();
  Stmt* q = Prepare("SELECT summary_hash, gpx_size IS NOT NULL FROM activity_sync WHERE id=?");
  q->Bind(1, id);
  if (!q->Step()) return Check(q->rc(), "reading an activity");  // deleted meanwhile: nothing to do
  uint64_t hash = static_cast<uint64_t>(q->Int(0));
  const bool gps = q->Int(1) != 0;
  q->Reset();
  auto old = LocationOf(id);
  if (!old.ok()) return old.status();
  if (auto s = WriteActivityRow(RowFromJson(detail), hash, 0, true, true, gps); !s.ok()) return s;
  if (auto s = LogFsChange(id, *old); !s.ok()) return s;

  Stmt* del = Prepare("DELETE FROM laps WHERE activity_id=?");
  del->Bind(1, id);
  del->Step();
  if (auto s = Check(del->rc(), "replacing laps"); !s.ok()) return s;
  auto laps = detail.find("laps");
  if (laps == detail.end() || !laps->is_array()) return Status::Ok();
  Stmt* ins = Prepare(
      "INSERT OR REPLACE INTO laps(activity_id, lap_index, id, name, start_date, start_date_local, "
      "elapsed_time, moving_time, distance, total_elevation_gain, average_speed, max_speed, "
      "average_heartrate, max_heartrate, average_cadence, average_watts, start_index, end_index, json) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  int64_t index = 0;
  for (const auto& lap : *laps) {
    if (!lap.is_object()) continue;
    ++index;
    auto num = [&](const char* k, int i) {
      auto it = lap.find(k);
      if (it != lap.end() && it->is_number()) ins->Bind(i, it->get<double>()); else ins->BindNull(i);
    };
    // Whole seconds and indexes: an integer as is, a float truncated; NULL for
    // what int64 cannot hold (casting such a double is undefined behaviour).
    auto integer = [&](const char* k, int i) {
      auto it = lap.find(k);
      if (it != lap.end() && FitsInt64(*it)) ins->Bind(i, it->get<int64_t>());
      else if (it != lap.end() && it->is_number() && std::fabs(it->get<double>()) < 9.2e18)
        ins->Bind(i, static_cast<int64_t>(it->get<double>()));
      else ins->BindNull(i);
    };
    auto text = [&](const char* k, int i) {
      auto it = lap.find(k);
      if (it != lap.end() && it->is_string()) ins->Bind(i, it->get<std::string>()); else ins->BindNull(i);
    };
    ins->Bind(1, id).Bind(2, lap.contains("lap_index") && FitsInt64(lap["lap_index"])
                                 ? lap["lap_index"].get<int64_t>() : index);
    if (lap.contains("id") && FitsInt64(lap["id"])) ins->Bind(3, lap["id"].get<int64_t>());
    else ins->BindNull(3);
    text("name", 4);
    text("start_date", 5);
    if (auto it = lap.find("start_date_local"); it != lap.end() && it->is_string()) {
      std::string local = it->get<std::string>();
      if (!local.empty() && local.back() == 'Z') local.pop_back();
      ins->Bind(6, local);
    } else {
      ins->BindNull(6);
    }
    integer("elapsed_time", 7);
    integer("moving_time", 8);
    num("distance", 9);
    num("total_elevation_gain", 10);
    num("average_speed", 11);
    num("max_speed", 12);
    num("average_heartrate", 13);
    num("max_heartrate", 14);
    num("average_cadence", 15);
    num("average_watts", 16);
    integer("start_index", 17);
    integer("end_index", 18);
    ins->Bind(19, lap.dump());
    ins->Step();
    if (auto s = Check(ins->rc(), "storing a lap"); !s.ok()) return s;
    ins->Reset();
  }
  return Status::Ok();
}

Status Cache::StoreStreams(int64_t id, const Json& by_type) {
  // Deleted meanwhile: nothing to do. Samples of an activity not held would
  // show in no file, and would make a later activity of that id look as if
  // it held streams.
  Stmt* held = Prepare("SELECT 1 FROM activity_sync WHERE id=?");
  held->Bind(1, id);
  if (!held->Step()) return Check(held->rc(), "reading an activity");
  held->Reset();
  auto old = LocationOf(id);
  if (!old.ok()) return old.status();

  Stmt* del = Prepare("DELETE FROM streams WHERE activity_id=?");
  del->Bind(1, id);
  del->Step();
  if (auto s = Check(del->rc(), "replacing streams"); !s.ok()) return s;

  // Column of each stream type; latlng fills two.
  static const std::pair<const char*, int> kTypes[] = {
      {"time", 3}, {"distance", 4}, {"latlng", 5}, {"altitude", 7}, {"velocity_smooth", 8},
      {"heartrate", 9}, {"cadence", 10}, {"watts", 11}, {"temp", 12}, {"moving", 13},
      {"grade_smooth", 14}};
  std::vector<std::pair<const Json*, int>> present;
  size_t length = 0;
  for (const auto& [type, col] : kTypes) {
    auto it = by_type.find(type);
    if (it == by_type.end() || !it->is_object()) continue;
    auto data = it->find("data");
    if (data == it->end() || !data->is_array()) continue;
    present.emplace_back(&*data, col);
    length = std::max(length, data->size());
  }
  Stmt* ins = Prepare(
      "INSERT INTO streams(activity_id, seq, time, distance, lat, lng, altitude, velocity, heartrate, "
      "cadence, watts, temp, moving, grade) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  for (size_t i = 0; i < length; ++i) {
    ins->Bind(1, id).Bind(2, static_cast<int64_t>(i));
    for (int c = 3; c <= 14; ++c) ins->BindNull(c);
    for (const auto& [data, col] : present) {
      if (i >= data->size()) continue;
      const Json& v = (*data)[i];
      if (col == 5) {
        if (v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number()) {
          ins->Bind(5, v[0].get<double>()).Bind(6, v[1].get<double>());
        }
      } else if (v.is_boolean()) {
        ins->Bind(col, static_cast<int64_t>(v.get<bool>()));
      } else if (FitsInt64(v)) {  // not above INT64_MAX: that would wrap; a double below
        ins->Bind(col, v.get<int64_t>());
      } else if (v.is_number()) {
        ins->Bind(col, v.get<double>());
      }
    }
    ins->Step();
    if (auto s = Check(ins->rc(), "storing stream samples"); !s.ok()) return s;
    ins->Reset();
  }
  Stmt* mark = Prepare("UPDATE activity_sync SET streams_state=1 WHERE id=?");
  mark->Bind(1, id);
  mark->Step();
  if (auto s = Check(mark->rc(), "marking streams fetched"); !s.ok()) return s;
  // The samples as stored (NULLs and all), read back once for both.
  auto samples = LoadSamples(id);
  if (!samples.ok()) return samples.status();
  if (auto s = WriteStreamSizes(id, *samples); !s.ok()) return s;
  if (auto s = WriteStreamAnalytics(id, *samples); !s.ok()) return s;
  return LogFsChange(id, *old);  // the files stay where they were; the .csv and .gpx are new
}

Status Cache::MarkNoStreams(int64_t id) {
  Stmt* mark = Prepare("UPDATE activity_sync SET streams_state=2 WHERE id=?");
  mark->Bind(1, id);
  mark->Step();
  return Check(mark->rc(), "marking streams absent");
}

Status Cache::DeleteActivity(int64_t id) {
  auto old = LocationOf(id);
  if (!old.ok()) return old.status();
  bool held = false;
  for (const char* sql : {"DELETE FROM activities WHERE id=?", "DELETE FROM activity_sync WHERE id=?",
                          "DELETE FROM streams WHERE activity_id=?", "DELETE FROM laps WHERE activity_id=?",
                          "DELETE FROM activity_efforts WHERE activity_id=?",
                          "DELETE FROM activity_hr_seconds WHERE activity_id=?",
                          "DELETE FROM activity_power_seconds WHERE activity_id=?",
                          "DELETE FROM originals WHERE activity_id=?"}) {
    Stmt* st = Prepare(sql);
    st->Bind(1, id);
    st->Step();
    if (auto s = Check(st->rc(), "deleting an activity"); !s.ok()) return s;
    held = held || sqlite3_changes(db_) > 0;
  }
  return held ? LogFsChange(id, *old) : Status::Ok();
}

Status Cache::StoreAthlete(const Json& a) {
  if (!a.is_object() || !a.contains("id") || !FitsInt64(a["id"]))
    return Status::Error(ErrorKind::kServer, "athlete reply has no integer id");
  Stmt* st = Prepare(
      "INSERT OR REPLACE INTO athletes(id, username, firstname, lastname, city, state, country, sex, "
      "premium, created_at, weight, ftp, json) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
  st->Bind(1, a["id"].get<int64_t>());
  int i = 2;
  for (const char* k : {"username", "firstname", "lastname", "city", "state", "country", "sex"}) {
    auto it = a.find(k);
    if (it != a.end() && it->is_string()) st->Bind(i, it->get<std::string>()); else st->BindNull(i);
    ++i;
  }
  if (auto it = a.find("premium"); it != a.end() && it->is_boolean()) st->Bind(9, int64_t{it->get<bool>()});
  else st->BindNull(9);
  if (auto it = a.find("created_at"); it != a.end() && it->is_string()) st->Bind(10, it->get<std::string>());
  else st->BindNull(10);
  for (auto [k, col] : {std::pair{"weight", 11}, std::pair{"ftp", 12}}) {
    auto it = a.find(k);
    if (it != a.end() && it->is_number()) st->Bind(col, it->get<double>()); else st->BindNull(col);
  }
  st->Bind(13, a.dump());
  st->Step();
  return Check(st->rc(), "storing the athlete");
}

Status Cache::StoreGear(const Json& g) {
  if (!g.is_object() || !g.contains("id") || !g["id"].is_string())
    return Status::Error(ErrorKind::kServer, "gear reply has no string id");
  Stmt* st = Prepare(
      "INSERT OR REPLACE INTO gear(id, name, brand_name, model_name, distance, primary_gear, retired, json) "
      "VALUES(?,?,?,?,?,?,?,?)");
  st->Bind(1, g["id"].get<std::string>());
  int i = 2;
  for (const char* k : {"name", "brand_name", "model_name"}) {
    auto it = g.find(k);
    if (it != g.end() && it->is_string()) st->Bind(i, it->get<std::string>()); else st->BindNull(i);
    ++i;
  }
  if (auto it = g.find("distance"); it != g.end() && it->is_number()) st->Bind(5, it->get<double>());
  else st->BindNull(5);
  for (auto [k, col] : {std::pair{"primary", 6}, std::pair{"retired", 7}}) {
    auto it = g.find(k);
    if (it != g.end() && it->is_boolean()) st->Bind(col, int64_t{it->get<bool>()}); else st->BindNull(col);
  }
  st->Bind(8, g.dump());
  st->Step();
  return Check(st->rc(), "storing gear");
}

Status Cache::StoreAthleteZones(const Json& zones) {
  struct Zone {
    std::string kind;
    int64_t zone;
    double min;
    std::optional<double> max;
    bool operator==(const Zone&) const = default;
  };
  std::vector<Zone> fresh, held;
  for (auto [key, kind] : {std::pair{"heart_rate", "heartrate"}, std::pair{"power", "power"}}) {
    auto it = zones.find(key);
    if (it == zones.end() || !it->is_object() || !it->contains("zones")) continue;
    int64_t zone = 0;
    for (const Json& z : (*it)["zones"]) {
      const double max = z["max"].get<double>();
      fresh.push_back({kind, ++zone, z["min"].get<double>(), max < 0 ? std::nullopt : std::optional<double>(max)});
    }
  }
  Stmt* q = Prepare("SELECT kind, zone, min, max FROM athlete_zones ORDER BY kind = 'power', kind, zone");
  while (q->Step())
    held.push_back({q->Text(0), q->Int(1), q->Real(2), q->IsNull(3) ? std::nullopt : std::optional<double>(q->Real(3))});
  if (auto s = Check(q->rc(), "reading the athlete's zones"); !s.ok()) return s;
  // Unchanged (the usual daily answer): no write, so the mount's stats/
  // files, which follow every change of this table, are not recomputed.
  if (fresh == held) return Status::Ok();
  if (auto s = Exec("DELETE FROM athlete_zones"); !s.ok()) return s;
  Stmt* ins = Prepare("INSERT INTO athlete_zones(kind, zone, min, max) VALUES(?,?,?,?)");
  for (const Zone& z : fresh) {
    ins->Bind(1, z.kind).Bind(2, z.zone).Bind(3, z.min);
    if (z.max) ins->Bind(4, *z.max); else ins->BindNull(4);
    ins->Step();
    if (auto s = Check(ins->rc(), "storing the athlete's zones"); !s.ok()) return s;
    ins->Reset();
  }
  return Status::Ok();
}

Result<std::optional<int64_t>> Cache::NewestStartEpoch() {
  Stmt* st = Prepare("SELECT max(start_date) FROM activities");
  if (!st->Step()) return Check(st->rc(), "reading the newest activity");
  std::optional<int64_t> newest = st->IsNull(0) ? std::nullopt : ParseIsoUtc(st->Text(0));
  st->Reset();
  return newest;
}

Result<std::vector<int64_t>> Cache::IdsStartingBetween(int64_t after, int64_t before) {
  Stmt* st = Prepare(
      "SELECT a.id FROM activities a JOIN activity_sync s USING(id) "
      "WHERE a.start_date > ? AND a.start_date < ? AND s.source IS NULL");
  st->Bind(1, FormatIsoUtc(after)).Bind(2, FormatIsoUtc(before));
  std::vector<int64_t> ids;
  while (st->Step()) ids.push_back(st->Int(0));
  if (auto s = Check(st->rc(), "listing activities"); !s.ok()) return s;
  return ids;
}

Result<std::vector<int64_t>> Cache::IdsNotListedBy(int64_t run, int64_t before) {
  Stmt* st = Prepare(
      "SELECT a.id FROM activities a JOIN activity_sync s USING(id) "
      "WHERE s.listed_run < ? AND a.start_date < ? AND s.source IS NULL");
  st->Bind(1, run).Bind(2, FormatIsoUtc(before));
  std::vector<int64_t> ids;
  while (st->Step()) ids.push_back(st->Int(0));
  if (auto s = Check(st->rc(), "listing activities"); !s.ok()) return s;
  return ids;
}

Result<std::vector<DeepWork>> Cache::PendingDeepWork(bool details, bool streams, int limit) {
  Stmt* st = Prepare(
      "SELECT s.id, s.detail_state = 0, s.streams_state = 0 FROM activity_sync s JOIN activities a USING(id) "
      "WHERE (?1 AND s.detail_state = 0) OR (?2 AND s.streams_state = 0) "
      "ORDER BY a.start_date DESC LIMIT ?3");
  st->Bind(1, int64_t{details}).Bind(2, int64_t{streams}).Bind(3, int64_t{limit});
  std::vector<DeepWork> work;
  while (st->Step())
    work.push_back({st->Int(0), details && st->Int(1) != 0, streams && st->Int(2) != 0});
  if (auto s = Check(st->rc(), "listing pending work"); !s.ok()) return s;
  return work;
}

Result<int64_t> Cache::CountPendingDeepWork(bool details, bool streams) {
  Stmt* st = Prepare(
      "SELECT (SELECT count(*) FROM activity_sync WHERE ?1 AND detail_state = 0) + "
      "(SELECT count(*) FROM activity_sync WHERE ?2 AND streams_state = 0)");
  st->Bind(1, int64_t{details}).Bind(2, int64_t{streams});
  if (!st->Step()) return Check(st->rc(), "counting pending work");
  int64_t n = st->Int(0);
  st->Reset();
  return n;
}

Result<std::vector<std::string>> Cache::MissingGearIds() {
  Stmt* st = Prepare(
      "SELECT DISTINCT gear_id FROM activities WHERE gear_id IS NOT NULL AND gear_id <> '' "
      "AND gear_id NOT IN (SELECT id FROM gear) ORDER BY gear_id");
  std::vector<std::string> ids;
  while (st->Step()) ids.push_back(st->Text(0));
  if (auto s = Check(st->rc(), "listing gear"); !s.ok()) return s;
  return ids;
}

Result<bool> Cache::HasAthlete() {
  Stmt* st = Prepare("SELECT 1 FROM athletes LIMIT 1");
  bool found = st->Step();
  if (auto s = Check(st->rc(), "reading the athlete"); !s.ok()) return s;
  st->Reset();
  return found;
}

Result<CacheCounts> Cache::Counts() {
  Stmt* st = Prepare(
      "SELECT (SELECT count(*) FROM activities), (SELECT count(*) FROM activity_sync WHERE detail_state=1), "
      "(SELECT count(*) FROM activity_sync WHERE streams_state=1), (SELECT count(*) FROM streams), "
      "(SELECT count(*) FROM laps), (SELECT count(*) FROM gear), "
      "(SELECT min(start_date_local) FROM activities), (SELECT max(start_date_local) FROM activities)");
  if (!st->Step()) return Check(st->rc(), "counting");
  CacheCounts c;
  c.activities = st->Int(0);
  c.detailed = st->Int(1);
  c.with_streams = st->Int(2);
  c.stream_samples = st->Int(3);
  c.laps = st->Int(4);
  c.gear = st->Int(5);
  c.oldest_start = st->Text(6);
  c.newest_start = st->Text(7);
  st->Reset();
  return c;
}

}  // namespace stravafs
