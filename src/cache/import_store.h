// ImportStore: what `stravafs import` keeps in the cache besides activities
// (schema v6): the files it has read (import_files), the original files
// (originals) and where each activity came from (activity_sync.source).
//
// A thin layer over one Cache: every call runs in the caller's transaction,
// so an activity and the record of the file that made it commit together,
// and a run killed at any moment finds each file either done or untouched.
// Not thread-safe, like the Cache it wraps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "cache/db.h"

namespace stravafs {

// Where an activity came from (activity_sync.source).
enum class Source { kApi, kExport, kFile };
const char* SourceName(Source s);  // "api", "export", "file"

struct ImportedFile {
  int64_t size = 0, mtime = 0;
  std::string outcome;  // imported, attached, duplicate, failed, done
  std::optional<int64_t> activity_id;
};

struct SourceCounts {
  int64_t api = 0, export_ = 0, file = 0;
  int64_t originals = 0, originals_bytes = 0;  // stored, compressed as they came
  int64_t files_failed = 0;                    // import_files rows whose last try failed
};

class ImportStore {
 public:
  explicit ImportStore(Cache& cache) : cache_(cache) {}

  // What the last import of `path` found; nullopt for a path never read.
  Result<std::optional<ImportedFile>> Find(const std::string& path);
  // The activity a file of this content made or was attached to, if any.
  Result<std::optional<int64_t>> FindContent(uint64_t content);
  // Records the outcome of reading `path` (replacing an earlier record).
  Status Record(const std::string& path, int64_t size, int64_t mtime, std::optional<uint64_t> content,
                std::optional<int64_t> activity_id, std::string_view outcome, std::string_view error = {});

  // The source of a held activity (kApi when it has none), nullopt when not held.
  Result<std::optional<Source>> SourceOf(int64_t id);
  Status SetSource(int64_t id, Source source);

  // An activity starting within `slack` seconds of `start_utc`, the closest;
  // with its sport_type. Used to attach a device's file to an activity
  // already held (from the API or an export) instead of adding it twice.
  struct Match {
    int64_t id = 0;
    std::string sport_type;
  };
  // `athlete`: only theirs and those of no known athlete; 0: anyone's.
  Result<std::optional<Match>> StartingNear(int64_t start_utc, int64_t slack, int64_t athlete);
  // Whether stream samples are held for `id`.
  Result<bool> HasStreams(int64_t id);
  Result<bool> HasLaps(int64_t id);

  Result<bool> HasOriginal(int64_t id);
  Status StoreOriginal(int64_t id, const std::string& name, const std::string& format, int64_t size,
                       std::string_view data);

  Result<SourceCounts> Counts();

  // Drops the records of failed files under folder `dir` that are gone (a
  // zip's entries with the zip): a file the user removed, as the import's
  // message suggests, no longer counts as failing in `status`.
  Status ForgetGoneFailures(const std::string& dir);

 private:
  Cache& cache_;
};

}  // namespace stravafs
