#include "cache/schema.h"

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "cache/activity_store.h"
#include "format/json_file.h"
#include "format/render.h"
#include "format/sizes.h"
#include "model/activity.h"
#include "model/analytics.h"

namespace stravafs {

namespace {

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

// A typed column as the cache holds it (what the mount reads back).
ColumnValue ReadColumnValue(const Stmt& st, int col) {
  ColumnValue v;
  switch (st.Type(col)) {
    case SQLITE_INTEGER:
      v.kind = ColumnValue::kInt, v.i = st.Int(col);
      break;
    case SQLITE_FLOAT:
      v.kind = ColumnValue::kReal, v.d = st.Real(col);
      break;
    case SQLITE_NULL:
      break;
    default:
      v.kind = ColumnValue::kText, v.s = st.Text(col);
      break;
  }
  return v;
}

// Schema v1 -> v2: the size columns, filled for every activity held, and fs_changes.
Status MigrateToV2(Cache& cache) {
  // The sizes live beside the bookkeeping, not in `activities`, which holds
  // only Strava's data for BI tools.
  if (auto s = cache.Exec(R"SQL(
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
  Stmt* all = cache.Prepare(sql);
  if (!all->prepared()) return cache.Check(all->rc(), "measuring the mount's files");
  std::vector<ColumnValue> values(ActivitiesCsvColumns().size());
  while (all->Step()) {
    for (size_t i = 0; i < values.size(); ++i) values[i] = ReadColumnValue(*all, static_cast<int>(i) + 2);
    sizes.push_back(
        {all->Int(0), JsonFileSizeOfText(all->Text(1)), static_cast<int64_t>(ActivityCsvRow(values).size())});
  }
  if (auto s = cache.Check(all->rc(), "measuring the mount's files"); !s.ok()) return s;
  Stmt* put = cache.Prepare("UPDATE activity_sync SET json_size=?2, csv_row_size=?3 WHERE id=?1");
  for (const Sizes& z : sizes) {
    put->Bind(1, z.id).Bind(2, z.json).Bind(3, z.csv_row);
    put->Step();
    if (auto s = cache.Check(put->rc(), "storing the mount's file sizes"); !s.ok()) return s;
    put->Reset();
  }

  std::vector<int64_t> with_streams;
  Stmt* ids = cache.Prepare("SELECT DISTINCT activity_id FROM streams");
  while (ids->Step()) with_streams.push_back(ids->Int(0));
  if (auto s = cache.Check(ids->rc(), "measuring the mount's files"); !s.ok()) return s;
  for (int64_t id : with_streams)
    if (auto s = ActivityStore(cache).WriteStreamSizes(id); !s.ok()) return s;
  return Status::Ok();
}

// Schema v2 -> v3: the analytics tables and views, filled for every
// activity whose streams are held.
Status MigrateToV3(Cache& cache) {
  if (auto s = cache.Exec(AnalyticsSchemaSql()); !s.ok()) return s;
  // Backfill: every activity whose samples are held gets its figures, as if
  // its streams had just been stored.
  std::vector<int64_t> with_streams;
  Stmt* ids = cache.Prepare("SELECT DISTINCT activity_id FROM streams");
  while (ids->Step()) with_streams.push_back(ids->Int(0));
  if (auto s = cache.Check(ids->rc(), "computing the analytics"); !s.ok()) return s;
  for (int64_t id : with_streams) {
    auto samples = ActivityStore(cache).LoadSamples(id);
    if (!samples.ok()) return samples.status();
    if (auto s = ActivityStore(cache).WriteStreamAnalytics(id, *samples); !s.ok()) return s;
  }
  return Status::Ok();
}

// Schema v4 -> v5: activity_sync.rev, the version of an activity's files.
Status MigrateToV5(Cache& cache) {
  // The mount gives every version of a file its own inode in the kernel, so
  // a version's cached pages are never read as another's: it needs to know,
  // when it looks a file up, which version it is. 0 for what was written
  // before v5 (each later write sets a new, larger value).
  return cache.Exec("ALTER TABLE activity_sync ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;");
}

// Schema v5 -> v6: where each activity came from, and the import's bookkeeping.
Status MigrateToV6(Cache& cache) {
  return cache.Exec(R"SQL(
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

// XmlEscape wrote a carriage return raw, which XML readers turn into a line
// feed; it writes &#13; now, so the .gpx of an activity named with one has
// grown: measured again, and logged for a running mount.
Status MigrateToV7(Cache& cache) {
  std::vector<int64_t> ids;
  Stmt* st = cache.Prepare(
      "SELECT a.id FROM activities a JOIN activity_sync s USING (id) "
      "WHERE s.gpx_size IS NOT NULL AND (instr(a.name, char(13)) OR instr(a.sport_type, char(13)))");
  while (st->Step()) ids.push_back(st->Int(0));
  if (auto s = cache.Check(st->rc(), "measuring the mount's files"); !s.ok()) return s;
  for (int64_t id : ids) {
    if (auto s = ActivityStore(cache).WriteStreamSizes(id); !s.ok()) return s;
    if (auto s = ActivityStore(cache).TouchActivity(id); !s.ok()) return s;
  }
  return Status::Ok();
}

// The .json files are written by stravafs's own writer now (format/
// json_file.h), whose numbers are the shortest that read back the same:
// where nlohmann's Grisu2 wrote a longer form (0.0007093679699999999 for
// 0.00070936797), a file is shorter than measured. Measured again; the
// activities whose size changed are logged for a running mount.
Status MigrateToV8(Cache& cache) {
  struct Measured {
    int64_t id, json_size;
  };
  std::vector<Measured> changed;
  Stmt* all = cache.Prepare("SELECT a.id, a.json, s.json_size FROM activities a JOIN activity_sync s USING (id)");
  while (all->Step()) {
    const int64_t size = JsonFileSizeOfText(all->Text(1));
    if (all->IsNull(2) || all->Int(2) != size) changed.push_back({all->Int(0), size});
  }
  if (auto s = cache.Check(all->rc(), "measuring the mount's files"); !s.ok()) return s;
  Stmt* put = cache.Prepare("UPDATE activity_sync SET json_size=?2 WHERE id=?1");
  for (const Measured& m : changed) {
    put->Bind(1, m.id).Bind(2, m.json_size);
    put->Step();
    if (auto s = cache.Check(put->rc(), "storing the mount's file sizes"); !s.ok()) return s;
    put->Reset();
    if (auto s = ActivityStore(cache).TouchActivity(m.id); !s.ok()) return s;
  }
  return Status::Ok();
}

// Schema v8 -> v9: one cache holds several athletes (issue 17). Each
// athlete's sync keeps its own state, so sync_state is keyed by athlete_id
// (0: the app's, the rate usage its athletes share); gear names its owner;
// athlete_zones is keyed by athlete_id too. What is held goes to the first
// athlete (the only one a cache held before).
Status MigrateToV9(Cache& cache) {
  if (auto s = cache.Exec(R"SQL(
CREATE TABLE sync_state_v9 (
  athlete_id INTEGER NOT NULL,             -- whose sync; 0 the app's own (rate_usage)
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (athlete_id, key)
) WITHOUT ROWID;
INSERT INTO sync_state_v9
SELECT CASE key WHEN 'rate_usage' THEN 0 ELSE coalesce((SELECT min(id) FROM athletes), 0) END, key, value
FROM sync_state;
DROP TABLE sync_state;
ALTER TABLE sync_state_v9 RENAME TO sync_state;
ALTER TABLE gear ADD COLUMN athlete_id INTEGER;  -- whose gear; NULL unknown
UPDATE gear SET athlete_id = (SELECT min(id) FROM athletes);
-- One athlete's activities by date: each athlete's sync (its newest, its
-- window), and strava_activities' athlete_id = pushdown.
CREATE INDEX activities_athlete ON activities(athlete_id, start_date);
)SQL");
      !s.ok())
    return s;
  return cache.Exec(AnalyticsSchemaV9Sql());
}

// Schema v9 -> v10: the mount shows each athlete's activities in their own
// folder when the cache holds several (issue 17): its folders and
// activities.csv files are ranges of one athlete's start_date_local, listed
// from this index alone (covering, as activities_start_date_local is for
// everyone's). The athletes table logs its changes for the mount
// (AnalyticsSchemaV10Sql).
Status MigrateToV10(Cache& cache) {
  return cache.Exec(
      "CREATE INDEX activities_athlete_local ON activities(athlete_id, start_date_local, id, name, sport_type, "
      "start_date);\n" +
      AnalyticsSchemaV10Sql());
}

// Schema v10 -> v11: the analytics group by athlete (issue 17): every view
// carries athlete_id, and the summary tables behind personal_records and
// training_90d are made again per athlete (AnalyticsSchemaV11Sql).
Status MigrateToV11(Cache& cache) { return cache.Exec(AnalyticsSchemaV11Sql()); }

}  // namespace

// The schema version of a stravafs cache, or why the file is not one. An
// SQLite file of another program named as the cache got 55 schema objects and
// WAL (issue 15): a cache carries kApplicationId, and a file without it is
// taken only when it is empty or holds a schema version (a cache written
// before the id, stamped by its next writer).
Result<CacheIdentity> Identify(Cache& cache) {
  int64_t ids[2] = {0, 0};
  const char* pragmas[2] = {"PRAGMA application_id", "PRAGMA user_version"};
  for (int i = 0; i < 2; ++i) {
    Stmt* st = cache.Prepare(pragmas[i]);
    if (!st->Step()) return cache.CannotRead(*st);
    ids[i] = st->Int(0);
    st->Reset();  // an unfinished statement would hold a read transaction open
  }
  const int64_t application_id = ids[0], version = ids[1];
  auto not_ours = [&](const std::string& why) {
    return Status::Error(ErrorKind::kCache, cache.path() + " is not a stravafs cache (" + why +
                                                "): it was left untouched; name another file as [cache] path");
  };
  if (application_id == kApplicationId) return CacheIdentity{version, true};
  if (application_id != 0) {
    std::array<char, 16> hex{};
    std::snprintf(hex.data(), hex.size(), "0x%08x", static_cast<uint32_t>(application_id));
    return not_ours(std::string("an SQLite database of another program, application_id ") + hex.data());
  }
  if (version > 0) return CacheIdentity{version, false};
  Stmt* objects = cache.Prepare("SELECT count(*) FROM sqlite_schema");
  if (!objects->Step()) return cache.CannotRead(*objects);
  const int64_t count = objects->Int(0);
  objects->Reset();
  if (count > 0)
    return not_ours("an SQLite database holding " + std::to_string(count) +
                    " tables, indexes or views of another program");
  return CacheIdentity{version, false};
}

Status Migrate(Cache& cache) {
  Result<CacheIdentity> identified = Identify(cache);
  if (!identified.ok()) return identified.status();
  const int64_t version = identified->version;
  if (version > kSchemaVersion)
    return Status::Error(ErrorKind::kCache, "cache " + cache.path() + " has schema version " + std::to_string(version) +
                                                ", newer than this stravafs understands (" +
                                                std::to_string(kSchemaVersion) + "): upgrade stravafs");
  // A cache from before the id is stamped by its first writer.
  if (!identified->stamped) {
    if (auto s = cache.Exec("PRAGMA application_id = " + std::to_string(kApplicationId)); !s.ok()) return s;
  }
  if (version == kSchemaVersion) return Status::Ok();
  Transaction tx(cache);
  if (!tx.status().ok()) return tx.status();
  if (version < 1) {
    if (auto s = cache.Exec(SchemaV1()); !s.ok()) return s;
  }
  if (version < 2) {
    if (auto s = MigrateToV2(cache); !s.ok()) return s;
  }
  if (version < 3) {
    if (auto s = MigrateToV3(cache); !s.ok()) return s;
  }
  if (version < 4) {
    if (auto s = cache.Exec(AnalyticsSchemaV4Sql()); !s.ok()) return s;
  }
  if (version < 5) {
    if (auto s = MigrateToV5(cache); !s.ok()) return s;
  }
  if (version < 6) {
    if (auto s = MigrateToV6(cache); !s.ok()) return s;
  }
  if (version < 7) {
    if (auto s = MigrateToV7(cache); !s.ok()) return s;
  }
  if (version < 8) {
    if (auto s = MigrateToV8(cache); !s.ok()) return s;
  }
  if (version < 9) {
    if (auto s = MigrateToV9(cache); !s.ok()) return s;
  }
  if (version < 10) {
    if (auto s = MigrateToV10(cache); !s.ok()) return s;
  }
  if (version < 11) {
    if (auto s = MigrateToV11(cache); !s.ok()) return s;
  }
  if (auto s = cache.Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion)); !s.ok()) return s;
  return tx.Commit();
}

}  // namespace stravafs
