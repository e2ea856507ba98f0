#include "cache/db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cache/schema.h"

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
    if (fd < 0) return Status::Error(ErrorKind::kCache, "cannot open " + path + ": " + std::strerror(errno));
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
  int flags = (mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  std::unique_ptr<Cache> cache(new Cache(path, db));
  if (rc != SQLITE_OK) return Status::Error(ErrorKind::kCache, "cannot open cache " + path + ": " + sqlite3_errstr(rc));
  sqlite3_busy_timeout(db, 10000);
  sqlite3_extended_result_codes(db, 1);
  if (mode == Mode::kReadWrite) {
    // Larger pages: a row holds ~1.5 KB of JSON; fewer, bigger pages cut the
    // per-page cost of every commit. Takes effect only on a new, empty file.
    if (auto s = cache->Exec("PRAGMA page_size=16384"); !s.ok()) return s;
    if (auto s = Migrate(*cache); !s.ok()) return s;  // refuses a newer cache before touching it
    if (auto s = cache->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !s.ok()) return s;
  } else {
    Result<CacheIdentity> identified = Identify(*cache);
    if (!identified.ok()) return identified.status();
    const int64_t version = identified->version;
    // Only a writer migrates: readers (the mount, the extension) must not
    // take the write lock, nor find tables half way through a change.
    if (version < kSchemaVersion)
      return Status::Error(ErrorKind::kCache, "cache " + path + " has schema version " + std::to_string(version) +
                                                  ": run `stravafs sync` once to upgrade it");
    if (version > kSchemaVersion)
      return Status::Error(ErrorKind::kCache, "cache " + path + " has schema version " + std::to_string(version) +
                                                  ", this stravafs reads version " + std::to_string(kSchemaVersion) +
                                                  ": upgrade stravafs");
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

Result<bool> CheckpointWal(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  int frames = 0, copied = 0;
  // A connection knows the file is in WAL mode only once it has read it:
  // before, a checkpoint does nothing and reports no -wal (-1 frames).
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA schema_version", nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
  std::string why = rc == SQLITE_OK ? "" : db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  sqlite3_close(db);
  if (rc == SQLITE_BUSY) return false;  // another checkpoint is under way
  if (rc != SQLITE_OK) return Status::Error(ErrorKind::kCache, "checkpointing " + path + ": " + why);
  return frames == copied;
}

// Why the first read of the cache failed. Only a file SQLite cannot read as
// a database is called damaged: a busy database or an I/O error is not, and
// moving the file aside then would do harm (issue 15).
Status Cache::CannotRead(const Stmt& stmt) const {
  const int rc = stmt.rc();
  const int primary = rc & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
    return Status::Error(ErrorKind::kCache, path_ + " is not a stravafs cache (not an SQLite database, or damaged): " +
                                                DamageAdvice(path_));
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

}  // namespace stravafs
