#include "cache/import_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <vector>

#include "cache/activity_store.h"
#include "model/activity.h"

namespace stravafs {

namespace {

Status Unprepared(Cache& cache, const char* what) { return cache.Check(SQLITE_ERROR, what); }

std::string NowIso() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatIsoUtc(std::chrono::duration_cast<std::chrono::seconds>(now).count());
}

}  // namespace

const char* SourceName(Source s) {
  switch (s) {
    case Source::kExport:
      return "export";
    case Source::kFile:
      return "file";
    case Source::kApi:
      break;
  }
  return "api";
}

Result<std::optional<ImportedFile>> ImportStore::Find(const std::string& path) {
  Stmt* st = cache_.Prepare("SELECT size, mtime, outcome, activity_id FROM import_files WHERE path=?");
  if (!st) return Unprepared(cache_, "reading the imported files");
  st->Bind(1, path);
  if (!st->Step()) {
    if (auto s = cache_.Check(st->rc(), "reading the imported files"); !s.ok()) return s;
    return std::optional<ImportedFile>();
  }
  ImportedFile f;
  f.size = st->Int(0);
  f.mtime = st->Int(1);
  f.outcome = st->Text(2);
  if (!st->IsNull(3)) f.activity_id = st->Int(3);
  st->Reset();
  return std::optional<ImportedFile>(f);
}

Result<std::optional<int64_t>> ImportStore::FindContent(uint64_t content) {
  Stmt* st = cache_.Prepare(
      "SELECT f.activity_id FROM import_files f JOIN activity_sync s ON s.id = f.activity_id "
      "WHERE f.content=? AND f.outcome IN ('imported','attached') LIMIT 1");
  if (!st) return Unprepared(cache_, "reading the imported files");
  st->Bind(1, static_cast<int64_t>(content));
  std::optional<int64_t> id;
  if (st->Step()) id = st->Int(0);
  if (auto s = cache_.Check(st->rc() == SQLITE_ROW ? SQLITE_OK : st->rc(), "reading the imported files"); !s.ok())
    return s;
  st->Reset();
  return id;
}

Status ImportStore::Record(const std::string& path, int64_t size, int64_t mtime, std::optional<uint64_t> content,
                           std::optional<int64_t> activity_id, std::string_view outcome, std::string_view error) {
  Stmt* st = cache_.Prepare(
      "INSERT OR REPLACE INTO import_files(path, size, mtime, content, activity_id, outcome, error, imported_at) "
      "VALUES(?,?,?,?,?,?,?,?)");
  if (!st) return Unprepared(cache_, "recording an imported file");
  st->Bind(1, path).Bind(2, size).Bind(3, mtime);
  if (content)
    st->Bind(4, static_cast<int64_t>(*content));
  else
    st->BindNull(4);
  if (activity_id)
    st->Bind(5, *activity_id);
  else
    st->BindNull(5);
  st->Bind(6, std::string(outcome));
  if (error.empty())
    st->BindNull(7);
  else
    st->Bind(7, std::string(error));
  st->Bind(8, NowIso());
  st->Step();
  return cache_.Check(st->rc(), "recording an imported file");
}

Result<std::optional<Source>> ImportStore::SourceOf(int64_t id) {
  Stmt* st = cache_.Prepare("SELECT source FROM activity_sync WHERE id=?");
  if (!st) return Unprepared(cache_, "reading an activity's source");
  st->Bind(1, id);
  if (!st->Step()) {
    if (auto s = cache_.Check(st->rc(), "reading an activity's source"); !s.ok()) return s;
    return std::optional<Source>();
  }
  const std::string source = st->Text(0);
  st->Reset();
  if (source == "export") return std::optional<Source>(Source::kExport);
  if (source == "file") return std::optional<Source>(Source::kFile);
  return std::optional<Source>(Source::kApi);
}

Status ImportStore::SetSource(int64_t id, Source source) {
  Stmt* st = cache_.Prepare("UPDATE activity_sync SET source=? WHERE id=?");
  if (!st) return Unprepared(cache_, "storing an activity's source");
  if (source == Source::kApi)
    st->BindNull(1);
  else
    st->Bind(1, std::string(SourceName(source)));
  st->Bind(2, id);
  st->Step();
  return cache_.Check(st->rc(), "storing an activity's source");
}

Result<std::optional<ImportStore::Match>> ImportStore::StartingNear(int64_t start_utc, int64_t slack, int64_t athlete) {
  // start_date is ISO 8601 UTC of fixed width, so text order is time order
  // and the index on start_date serves the range.
  Stmt* st = cache_.Prepare(
      "SELECT id, sport_type, start_date FROM activities WHERE start_date BETWEEN ?1 AND ?2 "
      "AND (?3 = 0 OR athlete_id = ?3 OR athlete_id IS NULL) ORDER BY start_date");
  if (!st) return Unprepared(cache_, "finding an activity by its start");
  st->Bind(1, FormatIsoUtc(start_utc - slack)).Bind(2, FormatIsoUtc(start_utc + slack)).Bind(3, athlete);
  std::optional<Match> best;
  int64_t best_gap = slack + 1;
  while (st->Step()) {
    const std::optional<int64_t> t = ParseIsoUtc(st->Text(2));
    if (!t) continue;
    const int64_t gap = std::llabs(*t - start_utc);
    if (gap < best_gap) {
      best_gap = gap;
      best = Match{st->Int(0), st->Text(1)};
    }
  }
  if (auto s = cache_.Check(st->rc(), "finding an activity by its start"); !s.ok()) return s;
  return best;
}

Result<bool> ImportStore::HasStreams(int64_t id) {
  Stmt* st = cache_.Prepare("SELECT 1 FROM streams WHERE activity_id=? LIMIT 1");
  if (!st) return Unprepared(cache_, "reading streams");
  st->Bind(1, id);
  const bool found = st->Step();
  if (auto s = cache_.Check(found ? SQLITE_OK : st->rc(), "reading streams"); !s.ok()) return s;
  st->Reset();
  return found;
}

Result<bool> ImportStore::HasLaps(int64_t id) {
  Stmt* st = cache_.Prepare("SELECT 1 FROM laps WHERE activity_id=? LIMIT 1");
  if (!st) return Unprepared(cache_, "reading laps");
  st->Bind(1, id);
  const bool found = st->Step();
  if (auto s = cache_.Check(found ? SQLITE_OK : st->rc(), "reading laps"); !s.ok()) return s;
  st->Reset();
  return found;
}

Result<bool> ImportStore::HasOriginal(int64_t id) {
  Stmt* st = cache_.Prepare("SELECT 1 FROM originals WHERE activity_id=?");
  if (!st) return Unprepared(cache_, "reading originals");
  st->Bind(1, id);
  const bool found = st->Step();
  if (auto s = cache_.Check(found ? SQLITE_OK : st->rc(), "reading originals"); !s.ok()) return s;
  st->Reset();
  return found;
}

Status ImportStore::StoreOriginal(int64_t id, const std::string& name, const std::string& format, int64_t size,
                                  std::string_view data) {
  Stmt* st =
      cache_.Prepare("INSERT OR REPLACE INTO originals(activity_id, name, format, size, data) VALUES(?,?,?,?,?)");
  if (!st) return Unprepared(cache_, "storing an original file");
  st->Bind(1, id).Bind(2, name).Bind(3, format).Bind(4, size).BindBlob(5, data);
  st->Step();
  if (auto s = cache_.Check(st->rc(), "storing an original file"); !s.ok()) return s;
  // Beside the other sizes the mount lists an activity's files from.
  Stmt* put = cache_.Prepare("UPDATE activity_sync SET original_size=?2, original_format=?3 WHERE id=?1");
  if (!put) return Unprepared(cache_, "storing an original file");
  put->Bind(1, id).Bind(2, size).Bind(3, format);
  put->Step();
  if (auto s = cache_.Check(put->rc(), "storing an original file"); !s.ok()) return s;
  return ActivityStore(cache_).TouchActivity(id);
}

Result<SourceCounts> ImportStore::Counts() {
  Stmt* st = cache_.Prepare(
      "SELECT (SELECT count(*) FROM activity_sync WHERE source IS NULL), "
      "(SELECT count(*) FROM activity_sync WHERE source='export'), "
      "(SELECT count(*) FROM activity_sync WHERE source='file'), "
      "(SELECT count(*) FROM originals), (SELECT coalesce(sum(length(data)),0) FROM originals), "
      "(SELECT count(*) FROM import_files WHERE outcome='failed')");
  if (!st) return Unprepared(cache_, "counting sources");
  if (!st->Step()) return cache_.Check(st->rc() == SQLITE_DONE ? SQLITE_CORRUPT : st->rc(), "counting sources");
  SourceCounts c;
  c.api = st->Int(0);
  c.export_ = st->Int(1);
  c.file = st->Int(2);
  c.originals = st->Int(3);
  c.originals_bytes = st->Int(4);
  c.files_failed = st->Int(5);
  st->Reset();
  return c;
}

Status ImportStore::ForgetGoneFailures(const std::string& dir) {
  // Paths are absolute and normal: those under `dir` sort between "dir/" and
  // "dir0" ('0' follows '/').
  Stmt* st = cache_.Prepare("SELECT path FROM import_files WHERE outcome='failed' AND path >= ? AND path < ?");
  if (!st) return Unprepared(cache_, "reading the imported files");
  const std::string base = dir.ends_with('/') ? dir.substr(0, dir.size() - 1) : dir;
  st->Bind(1, base + "/").Bind(2, base + "0");
  std::vector<std::string> gone;
  while (st->Step()) {
    const std::string key = st->Text(0);
    // A zip's entry is ZIP!ENTRY: it goes with its zip.
    const size_t bang = key.find(".zip!");
    const std::string file = bang == std::string::npos ? key : key.substr(0, bang + 4);
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0 && errno == ENOENT) gone.push_back(key);
  }
  if (auto s = cache_.Check(st->rc(), "reading the imported files"); !s.ok()) return s;
  for (const std::string& key : gone) {
    Stmt* del = cache_.Prepare("DELETE FROM import_files WHERE path=?");
    if (!del) return Unprepared(cache_, "forgetting an imported file");
    del->Bind(1, key);
    del->Step();
    if (auto s = cache_.Check(del->rc(), "forgetting an imported file"); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace stravafs
