// Cache: the SQLite database every face reads (schema in stravafs-sqlite(7)).
//
// Owns one sqlite3 connection. WAL mode, so readers (mount, extension, BI
// tools) never block the sync and always see whole transactions. Open
// identifies the file and migrates its schema forward (schema.h).
//
// This is the one place that knows SQLite result codes: every failure comes
// back as a Status naming the cache path and what failed.
//
// Not thread-safe: one Cache per thread.
#pragma once

// Built into the loadable extension (vtab/), every SQLite call must go
// through the host's API table, never a second copy of SQLite.
#ifdef STRAVAFS_SQLITE_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"

namespace stravafs {

// A prepared statement; resets itself for reuse.
//
// A statement that could not be prepared (a table dropped from the cache, a
// damaged schema) is a Stmt too, holding no sqlite3_stmt: binding does
// nothing, Step() gives no row and leaves the preparation's error in rc(),
// columns read as NULL. So a caller that checks rc() reports the error, and
// none dereferences a null pointer (issue 15: a cache without `activities`
// or `sync_state` crashed status, sync and the mount daemon).
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  // For the statement standing in for one that failed to prepare with `rc`.
  void MarkFailed(int rc) { failed_rc_ = rc_ = rc; }
  Stmt& Bind(int i, int64_t v) {
    if (s_) sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    if (s_) sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    if (s_) sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindNull(int i) {
    if (s_) sqlite3_bind_null(s_, i);
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view v) {
    if (s_) sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT);
    return *this;
  }
  // Steps once: true while a row is available; errors are left in `rc`.
  bool Step() {
    rc_ = s_ ? sqlite3_step(s_) : failed_rc_;
    return rc_ == SQLITE_ROW;
  }
  int rc() const { return rc_; }
  bool prepared() const { return s_ != nullptr; }
  int64_t Int(int col) const { return s_ ? sqlite3_column_int64(s_, col) : 0; }
  double Real(int col) const { return s_ ? sqlite3_column_double(s_, col) : 0; }
  bool IsNull(int col) const { return Type(col) == SQLITE_NULL; }
  int Type(int col) const { return s_ ? sqlite3_column_type(s_, col) : SQLITE_NULL; }  // SQLITE_INTEGER, ...
  int Columns() const { return s_ ? sqlite3_column_count(s_) : 0; }
  std::string Name(int col) const {
    const char* p = s_ ? sqlite3_column_name(s_, col) : nullptr;
    return p ? p : "";
  }
  std::string Text(int col) const {
    const auto* p = s_ ? sqlite3_column_text(s_, col) : nullptr;
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, col)) : "";
  }
  void Reset() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }

 private:
  sqlite3_stmt* s_;
  int rc_ = SQLITE_OK;
  int failed_rc_ = SQLITE_OK;
};

// The connection, its prepared statements and its transactions; what is
// stored is read and written by the stores over it (activity_store.h,
// athlete_store.h, import_store.h, sync_state.h).
class Cache {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Opens (creating in read-write mode, with a 0700 directory and a 0600 file)
  // and migrates. Read-only opening a missing cache is a kCache error that
  // says to run `stravafs sync` or `stravafs import` first; so is read-only opening a cache of an
  // older schema, which only a read-write open migrates.
  static Result<std::unique_ptr<Cache>> Open(const std::string& path, Mode mode);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  const std::string& path() const { return path_; }
  sqlite3* db() const { return db_; }

  // Runs SQL without results.
  Status Exec(const std::string& sql);
  // A cached prepared statement, reset and ready (callers Reset() it after
  // reading a row they stop at: an unfinished statement holds a read
  // transaction open). Never null: when the SQL cannot be prepared (a table
  // missing from a damaged or hand-edited cache) it is an unprepared Stmt
  // whose Step() fails with the preparation's error (see Stmt).
  Stmt* Prepare(const std::string& sql);
  // Resets every prepared statement: one stepped part way would otherwise
  // keep its read transaction (an old snapshot) open past COMMIT.
  void ResetStatements();
  Status Check(int rc, const char* what) const;
  // The error for a first read of the cache (PRAGMA user_version) that
  // failed in `stmt`. Damage only when SQLite says so; busy and I/O errors
  // as such.
  Status CannotRead(const Stmt& stmt) const;

  Status Begin();  // BEGIN IMMEDIATE: the writer takes the lock up front
  Status Commit();
  void Rollback();

 private:
  Cache(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Stmt>> stmts_;  // before db_ closes
  Stmt failed_{nullptr};  // what Prepare returns for any statement that failed (none kept in stmts_)
};

// Copies what the -wal holds into the cache file (a passive checkpoint: it
// never waits for, nor blocks, a reader or a writer), on a read-write
// connection of its own that creates and migrates nothing. True when every
// frame is in the file now, so that a reader that begins next reads the file
// alone and the next writer can start the -wal over. How the mount, which
// holds a read transaction at all times, keeps the -wal from growing.
Result<bool> CheckpointWal(const std::string& path);

// RAII transaction: rolls back unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Cache& cache) : cache_(cache) { status_ = cache_.Begin(); }
  ~Transaction() {
    if (status_.ok() && !done_) cache_.Rollback();
  }
  const Status& status() const { return status_; }
  Status Commit() {
    done_ = true;
    return cache_.Commit();
  }

 private:
  Cache& cache_;
  Status status_;
  bool done_ = false;
};

}  // namespace stravafs
