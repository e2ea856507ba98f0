#include "cache/activity_store.h"

#include <algorithm>
#include <cmath>

#include "base/iso_time.h"
#include "format/names.h"
#include "format/render.h"
#include "format/sizes.h"
#include "model/analytics.h"
#include "model/streams.h"

namespace stravafs {

namespace {

void BindColumnValue(Stmt& st, int i, const ColumnValue& v) {
  switch (v.kind) {
    case ColumnValue::kNull:
      st.BindNull(i);
      break;
    case ColumnValue::kInt:
      st.Bind(i, v.i);
      break;
    case ColumnValue::kReal:
      st.Bind(i, v.d);
      break;
    case ColumnValue::kText:
      st.Bind(i, v.s);
      break;
  }
}

std::string UpsertActivitySql() {
  std::string cols, params, updates;
  int n = 0;
  for (const auto& c : ActivityColumns()) {
    if (n++) {
      cols += ",";
      params += ",";
      updates += ",";
    }
    cols += c.name;
    params += "?";
    updates += std::string(c.name) + "=excluded." + c.name;
  }
  return "INSERT INTO activities(" + cols + ",json) VALUES(" + params + ",?) ON CONFLICT(id) DO UPDATE SET " + updates +
         ",json=excluded.json";
}

// "time, distance, lat, ...": the streams table's columns after seq.
std::string StreamColumnList() {
  std::string out;
  for (const StreamColumn& c : kStreamColumns) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

}  // namespace

Status ActivityStore::WriteStreamAnalytics(int64_t id, const std::vector<StreamSample>& samples) {
  for (const char* sql :
       {"DELETE FROM activity_efforts WHERE activity_id=?", "DELETE FROM activity_hr_seconds WHERE activity_id=?",
        "DELETE FROM activity_power_seconds WHERE activity_id=?"}) {
    Stmt* del = cache_.Prepare(sql);
    del->Bind(1, id);
    del->Step();
    if (auto s = cache_.Check(del->rc(), "replacing the analytics of an activity"); !s.ok()) return s;
  }
  if (samples.empty()) return Status::Ok();
  const StreamAnalytics a = AnalyzeStreams(samples);
  // The histograms first: activity_efforts' row completes the activity's
  // figures for the triggers that summarize them (AnalyticsSchemaV4Sql).
  for (auto [sql, histogram] :
       {std::pair{"INSERT INTO activity_hr_seconds(activity_id, bpm, seconds) VALUES(?,?,?)", &a.hr_seconds},
        std::pair{"INSERT INTO activity_power_seconds(activity_id, watts, seconds) VALUES(?,?,?)",
                  &a.power_seconds_by_watts}}) {
    Stmt* ins = cache_.Prepare(sql);
    for (const auto& [bin, seconds] : *histogram) {
      ins->Bind(1, id).Bind(2, bin).Bind(3, seconds);
      ins->Step();
      if (auto s = cache_.Check(ins->rc(), "storing the zone seconds of an activity"); !s.ok()) return s;
      ins->Reset();
    }
  }
  Stmt* put = cache_.Prepare(
      "INSERT INTO activity_efforts(activity_id, max_heartrate_bpm, heartrate_s, power_s, power_15s_w, "
      "power_1min_w, power_5min_w, power_10min_w, power_20min_w, time_400m_s, time_1km_s, time_5km_s, "
      "time_10km_s, time_half_marathon_s, time_marathon_s) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  auto bind = [&](int i, const std::optional<double>& v) {
    if (v)
      put->Bind(i, *v);
    else
      put->BindNull(i);
  };
  put->Bind(1, id);
  bind(2, a.max_heartrate);
  put->Bind(3, a.heartrate_seconds).Bind(4, a.power_seconds);
  int col = 5;
  for (const auto& v : a.best_power) bind(col++, v);
  for (const auto& v : a.best_time) bind(col++, v);
  put->Step();
  return cache_.Check(put->rc(), "storing the best efforts of an activity");
}

Status ActivityStore::WriteActivityRow(const ActivityRow& row, uint64_t summary_hash, int64_t run, bool detail_fetched,
                                       bool keep_streams_state, bool gps) {
  static const std::string kUpsert = UpsertActivitySql();
  Stmt* st = cache_.Prepare(kUpsert);
  int i = 1;
  for (const auto& v : row.columns) BindColumnValue(*st, i++, v);
  st->Bind(i, row.json);
  st->Step();
  if (auto s = cache_.Check(st->rc(), "storing an activity"); !s.ok()) return s;

  // Samples, and so streams_csv_size, are untouched by a row; a new row has none.
  const RowSizes sizes = SizesOf(row);
  Stmt* sync = cache_.Prepare(
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
  if (auto s = cache_.Check(sync->rc(), "storing sync bookkeeping"); !s.ok()) return s;
  return gps ? WriteStreamSizes(row.id) : Status::Ok();
}

Status ActivityStore::WriteStreamSizes(int64_t id) {
  auto samples = LoadSamples(id);
  if (!samples.ok()) return samples.status();
  return WriteStreamSizes(id, *samples);
}

Status ActivityStore::WriteStreamSizes(int64_t id, const std::vector<StreamSample>& samples) {
  Stmt* put = cache_.Prepare("UPDATE activity_sync SET streams_csv_size=?2, gpx_size=?3 WHERE id=?1");
  put->Bind(1, id).BindNull(2).BindNull(3);
  if (!samples.empty()) {
    // RenderStreamsCsv is the header and one line per sample: summed, not built.
    int64_t csv = static_cast<int64_t>(StreamsCsvHeader().size());
    std::string line;
    for (const StreamSample& s : samples) {
      line.clear();
      AppendStreamCsvRow(line, s);
      csv += static_cast<int64_t>(line.size());
    }
    put->Bind(2, csv);
  }
  if (HasGps(samples)) {
    Stmt* q = cache_.Prepare("SELECT json FROM activities WHERE id=?");
    q->Bind(1, id);
    if (!q->Step()) return cache_.Check(q->rc() == SQLITE_DONE ? SQLITE_CORRUPT : q->rc(), "reading an activity");
    const Json activity = ParseJson(q->Text(0));
    q->Reset();
    put->Bind(3, static_cast<int64_t>(RenderGpx(activity, samples).size()));
  }
  put->Step();
  return cache_.Check(put->rc(), "storing the sizes of streams");
}

Result<std::vector<StreamSample>> ActivityStore::LoadSamples(int64_t id) {
  static const std::string kSql =
      "SELECT seq, " + StreamColumnList() + " FROM streams WHERE activity_id=? ORDER BY seq";
  Stmt* st = cache_.Prepare(kSql);
  st->Bind(1, id);
  std::vector<StreamSample> samples;
  auto value = [&](int col) { return st->IsNull(col) ? std::nullopt : std::optional<double>(st->Real(col)); };
  while (st->Step()) {
    StreamSample& s = samples.emplace_back();
    s.seq = st->Int(0);
    int col = 1;
    for (const StreamColumn& c : kStreamColumns) s.*c.member = value(col++);
  }
  if (auto s = cache_.Check(st->rc(), "reading stream samples"); !s.ok()) return s;
  return samples;
}

Result<std::optional<ActivityStore::Location>> ActivityStore::LocationOf(int64_t id) {
  Stmt* st = cache_.Prepare("SELECT start_date_local, name, sport_type FROM activities WHERE id=?");
  st->Bind(1, id);
  if (!st->Step()) {
    if (auto s = cache_.Check(st->rc(), "reading an activity"); !s.ok()) return s;
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

Status ActivityStore::LogFsChange(int64_t id, const std::optional<Location>& old) {
  Stmt* st = cache_.Prepare("INSERT INTO fs_changes(activity_id, old_year, old_month, old_base) VALUES(?,?,?,?)");
  st->Bind(1, id);
  if (old) {
    st->Bind(2, int64_t{old->year}).Bind(3, int64_t{old->month}).Bind(4, old->base);
  } else {
    st->BindNull(2).BindNull(3).BindNull(4);
  }
  st->Step();
  if (auto s = cache_.Check(st->rc(), "logging a change for the mount"); !s.ok()) return s;
  // The activity's files are now at this version (a deleted one has no row).
  Stmt* rev = cache_.Prepare("UPDATE activity_sync SET rev=last_insert_rowid() WHERE id=?");
  rev->Bind(1, id);
  rev->Step();
  return cache_.Check(rev->rc(), "logging a change for the mount");
}

Status ActivityStore::TouchActivity(int64_t id) {
  auto where = LocationOf(id);
  if (!where.ok()) return where.status();
  return LogFsChange(id, *where);
}

Status ActivityStore::PruneFsChanges(int64_t keep) {
  Stmt* st = cache_.Prepare(
      "DELETE FROM fs_changes WHERE seq <= (SELECT seq FROM fs_changes ORDER BY seq DESC LIMIT 1 OFFSET ?)");
  st->Bind(1, std::max<int64_t>(keep, 1));
  st->Step();
  return cache_.Check(st->rc(), "pruning the change log");
}

Result<Upsert> ActivityStore::UpsertRow(const ActivityRow& row, int64_t run) {
  const int64_t id = row.id;
  Stmt* known = cache_.Prepare("SELECT summary_hash, gpx_size IS NOT NULL FROM activity_sync WHERE id=?");
  known->Bind(1, id);
  if (!known->Step()) {
    if (auto s = cache_.Check(known->rc(), "reading an activity"); !s.ok()) return s;
    if (auto s = WriteActivityRow(row, row.hash, run, false, false, false); !s.ok()) return s;
    if (auto s = LogFsChange(id, std::nullopt); !s.ok()) return s;
    return Upsert::kNew;
  }
  const bool same = static_cast<uint64_t>(known->Int(0)) == row.hash;
  const bool gps = known->Int(1) != 0;
  known->Reset();
  if (same) {
    Stmt* seen = cache_.Prepare("UPDATE activity_sync SET listed_run=max(listed_run, ?2) WHERE id=?1");
    seen->Bind(1, id).Bind(2, run);
    seen->Step();
    if (auto s = cache_.Check(seen->rc(), "marking an activity seen"); !s.ok()) return s;
    return Upsert::kUnchanged;
  }
  // Edited on Strava: overlay the new summary on what we hold, so detail-only
  // fields survive until the detail is fetched again.
  Json summary = ParseJson(row.json);
  if (summary.is_discarded() || !summary.is_object())
    return Status::Error(ErrorKind::kServer, "activity " + std::to_string(id) + " is not a JSON object");
  auto old = LocationOf(id);
  if (!old.ok()) return old.status();
  Stmt* q = cache_.Prepare("SELECT json, distance, elapsed_time FROM activities WHERE id=?");
  q->Bind(1, id);
  if (!q->Step()) return cache_.Check(q->rc() == SQLITE_DONE ? SQLITE_CORRUPT : q->rc(), "reading an edited activity");
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
  auto merged_row = RowFromJson(merged);
  if (!merged_row.ok()) return merged_row.status();
  if (auto s = WriteActivityRow(*merged_row, row.hash, run, false, track_same, gps); !s.ok()) return s;
  if (auto s = LogFsChange(id, *old); !s.ok()) return s;
  return Upsert::kChanged;
}

Status ActivityStore::StoreDetail(const Json& detail) {
  auto read = DetailFromText(detail.dump());
  if (!read.ok()) return read.status();
  return StoreDetail(*read);
}

Status ActivityStore::StoreDetail(const ActivityDetail& detail) {
  const ActivityRow& row = detail.row;
  const int64_t id = row.id;
  Stmt* q = cache_.Prepare("SELECT summary_hash, gpx_size IS NOT NULL FROM activity_sync WHERE id=?");
  q->Bind(1, id);
  if (!q->Step()) return cache_.Check(q->rc(), "reading an activity");  // deleted meanwhile: nothing to do
  uint64_t hash = static_cast<uint64_t>(q->Int(0));
  const bool gps = q->Int(1) != 0;
  q->Reset();
  auto old = LocationOf(id);
  if (!old.ok()) return old.status();
  if (auto s = WriteActivityRow(row, hash, 0, true, true, gps); !s.ok()) return s;
  if (auto s = LogFsChange(id, *old); !s.ok()) return s;

  Stmt* del = cache_.Prepare("DELETE FROM laps WHERE activity_id=?");
  del->Bind(1, id);
  del->Step();
  if (auto s = cache_.Check(del->rc(), "replacing laps"); !s.ok()) return s;
  if (detail.laps.empty()) return Status::Ok();
  Stmt* ins = cache_.Prepare(
      "INSERT OR REPLACE INTO laps(activity_id, lap_index, id, name, start_date, start_date_local, "
      "elapsed_time, moving_time, distance, total_elevation_gain, average_speed, max_speed, "
      "average_heartrate, max_heartrate, average_cadence, average_watts, start_index, end_index, json) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  auto bind = [&](int i, const auto& v) {
    if (v)
      ins->Bind(i, *v);
    else
      ins->BindNull(i);
  };
  for (const LapRow& lap : detail.laps) {
    ins->Bind(1, id).Bind(2, lap.lap_index);
    bind(3, lap.id);
    bind(4, lap.name);
    bind(5, lap.start_date);
    bind(6, lap.start_date_local);
    bind(7, lap.elapsed_time);
    bind(8, lap.moving_time);
    bind(9, lap.distance);
    bind(10, lap.total_elevation_gain);
    bind(11, lap.average_speed);
    bind(12, lap.max_speed);
    bind(13, lap.average_heartrate);
    bind(14, lap.max_heartrate);
    bind(15, lap.average_cadence);
    bind(16, lap.average_watts);
    bind(17, lap.start_index);
    bind(18, lap.end_index);
    ins->Bind(19, lap.json);
    ins->Step();
    if (auto s = cache_.Check(ins->rc(), "storing a lap"); !s.ok()) return s;
    ins->Reset();
  }
  return Status::Ok();
}

Status ActivityStore::StoreStreams(int64_t id, const StreamSet& streams) {
  // Deleted meanwhile: nothing to do. Samples of an activity not held would
  // show in no file, and would make a later activity of that id look as if
  // it held streams.
  Stmt* held = cache_.Prepare("SELECT 1 FROM activity_sync WHERE id=?");
  held->Bind(1, id);
  if (!held->Step()) return cache_.Check(held->rc(), "reading an activity");
  held->Reset();
  auto old = LocationOf(id);
  if (!old.ok()) return old.status();

  Stmt* del = cache_.Prepare("DELETE FROM streams WHERE activity_id=?");
  del->Bind(1, id);
  del->Step();
  if (auto s = cache_.Check(del->rc(), "replacing streams"); !s.ok()) return s;

  static const std::string kInsert = [] {
    std::string sql = "INSERT INTO streams(activity_id, seq, " + StreamColumnList() + ") VALUES(?,?";
    for (size_t i = 0; i < kStreamColumns.size(); ++i) sql += ",?";
    return sql + ")";
  }();
  Stmt* ins = cache_.Prepare(kInsert);
  const size_t length = streams.size();
  for (size_t i = 0; i < length; ++i) {
    ins->Bind(1, id).Bind(2, static_cast<int64_t>(i));
    for (size_t c = 0; c < kStreamColumnCount; ++c) {
      // A double, also in the INTEGER columns: SQLite stores one that is a
      // whole number there as an integer (column affinity).
      const std::vector<double>& column = streams.columns[c];
      const int param = static_cast<int>(c) + 3;  // activity_id and seq are 1 and 2
      if (i < column.size() && !std::isnan(column[i])) {
        ins->Bind(param, column[i]);
      } else {
        ins->BindNull(param);
      }
    }
    ins->Step();
    if (auto s = cache_.Check(ins->rc(), "storing stream samples"); !s.ok()) return s;
    ins->Reset();
  }
  Stmt* mark = cache_.Prepare("UPDATE activity_sync SET streams_state=1 WHERE id=?");
  mark->Bind(1, id);
  mark->Step();
  if (auto s = cache_.Check(mark->rc(), "marking streams fetched"); !s.ok()) return s;
  // The samples as stored (NULLs and all), read back once for both.
  auto samples = LoadSamples(id);
  if (!samples.ok()) return samples.status();
  if (auto s = WriteStreamSizes(id, *samples); !s.ok()) return s;
  if (auto s = WriteStreamAnalytics(id, *samples); !s.ok()) return s;
  return LogFsChange(id, *old);  // the files stay where they were; the .csv and .gpx are new
}

Status ActivityStore::MarkNoStreams(int64_t id) {
  Stmt* mark = cache_.Prepare("UPDATE activity_sync SET streams_state=2 WHERE id=?");
  mark->Bind(1, id);
  mark->Step();
  return cache_.Check(mark->rc(), "marking streams absent");
}

Status ActivityStore::DeleteActivity(int64_t id) {
  auto old = LocationOf(id);
  if (!old.ok()) return old.status();
  bool held = false;
  for (const char* sql :
       {"DELETE FROM activities WHERE id=?", "DELETE FROM activity_sync WHERE id=?",
        "DELETE FROM streams WHERE activity_id=?", "DELETE FROM laps WHERE activity_id=?",
        "DELETE FROM activity_efforts WHERE activity_id=?", "DELETE FROM activity_hr_seconds WHERE activity_id=?",
        "DELETE FROM activity_power_seconds WHERE activity_id=?", "DELETE FROM originals WHERE activity_id=?"}) {
    Stmt* st = cache_.Prepare(sql);
    st->Bind(1, id);
    st->Step();
    if (auto s = cache_.Check(st->rc(), "deleting an activity"); !s.ok()) return s;
    held = held || sqlite3_changes(cache_.db()) > 0;
  }
  return held ? LogFsChange(id, *old) : Status::Ok();
}

Result<std::optional<int64_t>> ActivityStore::NewestStartEpoch(int64_t athlete) {
  Stmt* st = cache_.Prepare("SELECT max(start_date) FROM activities WHERE ?1 = 0 OR athlete_id = ?1");
  st->Bind(1, athlete);
  if (!st->Step()) return cache_.Check(st->rc(), "reading the newest activity");
  std::optional<int64_t> newest = st->IsNull(0) ? std::nullopt : ParseIsoUtc(st->Text(0));
  st->Reset();
  return newest;
}

Result<std::vector<int64_t>> ActivityStore::IdsStartingBetween(int64_t athlete, int64_t after, int64_t before) {
  Stmt* st = cache_.Prepare(
      "SELECT a.id FROM activities a JOIN activity_sync s USING(id) "
      "WHERE a.start_date > ?1 AND a.start_date < ?2 AND s.source IS NULL AND (?3 = 0 OR a.athlete_id = ?3)");
  st->Bind(1, FormatIsoUtc(after)).Bind(2, FormatIsoUtc(before)).Bind(3, athlete);
  std::vector<int64_t> ids;
  while (st->Step()) ids.push_back(st->Int(0));
  if (auto s = cache_.Check(st->rc(), "listing activities"); !s.ok()) return s;
  return ids;
}

Result<std::vector<int64_t>> ActivityStore::IdsNotListedBy(int64_t athlete, int64_t run, int64_t before) {
  Stmt* st = cache_.Prepare(
      "SELECT a.id FROM activities a JOIN activity_sync s USING(id) "
      "WHERE s.listed_run < ?1 AND a.start_date < ?2 AND s.source IS NULL AND (?3 = 0 OR a.athlete_id = ?3)");
  st->Bind(1, run).Bind(2, FormatIsoUtc(before)).Bind(3, athlete);
  std::vector<int64_t> ids;
  while (st->Step()) ids.push_back(st->Int(0));
  if (auto s = cache_.Check(st->rc(), "listing activities"); !s.ok()) return s;
  return ids;
}

Result<std::vector<DeepWork>> ActivityStore::PendingDeepWork(int64_t athlete, bool details, bool streams, int limit) {
  Stmt* st = cache_.Prepare(
      "SELECT s.id, s.detail_state = 0, s.streams_state = 0 FROM activity_sync s JOIN activities a USING(id) "
      "WHERE ((?1 AND s.detail_state = 0) OR (?2 AND s.streams_state = 0)) AND (?4 = 0 OR a.athlete_id = ?4) "
      "ORDER BY a.start_date DESC LIMIT ?3");
  st->Bind(1, int64_t{details}).Bind(2, int64_t{streams}).Bind(3, int64_t{limit}).Bind(4, athlete);
  std::vector<DeepWork> work;
  while (st->Step()) work.push_back({st->Int(0), details && st->Int(1) != 0, streams && st->Int(2) != 0});
  if (auto s = cache_.Check(st->rc(), "listing pending work"); !s.ok()) return s;
  return work;
}

Result<int64_t> ActivityStore::CountPendingDeepWork(int64_t athlete, bool details, bool streams) {
  // Every athlete's from the index alone; one athlete's through their rows.
  Stmt* st = cache_.Prepare(
      "SELECT CASE WHEN ?3 = 0 THEN (SELECT count(*) FROM activity_sync WHERE ?1 AND detail_state = 0) + "
      "(SELECT count(*) FROM activity_sync WHERE ?2 AND streams_state = 0) "
      "ELSE (SELECT total((?1 AND s.detail_state = 0) + (?2 AND s.streams_state = 0)) FROM activity_sync s "
      "JOIN activities a USING(id) WHERE a.athlete_id = ?3 AND ((?1 AND s.detail_state = 0) OR "
      "(?2 AND s.streams_state = 0))) END");
  st->Bind(1, int64_t{details}).Bind(2, int64_t{streams}).Bind(3, athlete);
  if (!st->Step()) return cache_.Check(st->rc(), "counting pending work");
  int64_t n = st->Int(0);
  st->Reset();
  return n;
}

Result<CacheCounts> ActivityStore::Counts() {
  Stmt* st = cache_.Prepare(
      "SELECT (SELECT count(*) FROM activities), (SELECT count(*) FROM activity_sync WHERE detail_state=1), "
      "(SELECT count(*) FROM activity_sync WHERE streams_state=1), (SELECT count(*) FROM streams), "
      "(SELECT count(*) FROM laps), (SELECT count(*) FROM gear), "
      "(SELECT min(start_date_local) FROM activities), (SELECT max(start_date_local) FROM activities)");
  if (!st->Step()) return cache_.Check(st->rc(), "counting");
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
