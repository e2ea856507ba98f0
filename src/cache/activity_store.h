// ActivityStore: the activities held in the cache, with their laps, stream
// samples and the bookkeeping the sync, the import and the mount share
// (activity_sync, fs_changes).
//
// Storing streams also stores, in the same transaction, the figures the
// analytics views read (analytics.h); deleting an activity deletes them.
//
// Every write of an activity (its row, detail or streams; a deletion) keeps
// the sizes of the files the mount shows for it exact in activity_sync
// (json_size, csv_row_size, streams_csv_size, gpx_size: format/sizes.h) and logs
// one fs_changes row: the activity and where its files were before the write
// (year, month, base name; NULL for a new activity), so the mount knows what
// to invalidate. A listing that finds a summary unchanged writes nothing.
//
// Holds nothing but the Cache it is made over (whose prepared statements it
// uses), so one is made wherever one is needed. Not thread-safe, as the Cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "cache/db.h"
#include "model/activity.h"
#include "model/streams.h"

namespace stravafs {

// What UpsertRow found.
enum class Upsert { kNew, kChanged, kUnchanged };

// Work the deep fetch still has to do for one activity.
struct DeepWork {
  int64_t id = 0;
  bool detail = false;
  bool streams = false;
};

struct CacheCounts {
  int64_t activities = 0, detailed = 0, with_streams = 0, stream_samples = 0, laps = 0, gear = 0;
  std::string oldest_start, newest_start;  // start_date_local, "" when empty
};

class ActivityStore {
 public:
  explicit ActivityStore(Cache& cache) : cache_(cache) {}

  // Stores a summary from a listing, as a row (ParseActivityPage or
  // RowFromText; validated). Unchanged summaries are only marked as seen by
  // `run`. A changed one keeps whatever detail is held (summary keys overlay
  // the stored JSON) and is queued for a fresh detail fetch.
  Result<Upsert> UpsertRow(const ActivityRow& row, int64_t run);
  // Stores a detailed activity (and its laps) and marks its detail fetched.
  Status StoreDetail(const ActivityDetail& detail);
  // The same for a detail built as a document (an import, a test): read
  // from its text, as a reply is.
  Status StoreDetail(const Json& detail);
  // Stores an activity's streams, replacing any held.
  Status StoreStreams(int64_t id, const StreamSet& streams);
  Status MarkNoStreams(int64_t id);
  Status DeleteActivity(int64_t id);
  // The stream samples held for an activity, ordered by seq; empty when none.
  Result<std::vector<StreamSample>> LoadSamples(int64_t id);

  // `athlete` below: only that athlete's activities (activities.athlete_id);
  // 0: everyone's.
  Result<std::optional<int64_t>> NewestStartEpoch(int64_t athlete);
  // Ids from Strava's API (not imported: an import is never undone by a
  // listing) whose start_date lies in (after, before) (epoch seconds, exclusive).
  Result<std::vector<int64_t>> IdsStartingBetween(int64_t athlete, int64_t after, int64_t before);
  // Ids from Strava's API not seen by listing `run` that start before `before`.
  Result<std::vector<int64_t>> IdsNotListedBy(int64_t athlete, int64_t run, int64_t before);
  // Newest first, at most `limit`.
  Result<std::vector<DeepWork>> PendingDeepWork(int64_t athlete, bool details, bool streams, int limit);
  Result<int64_t> CountPendingDeepWork(int64_t athlete, bool details, bool streams);
  Result<CacheCounts> Counts();

  // --- fs_changes ---
  // Logs that the files of activity `id` changed in place (a file added
  // beside them), so the mount shows the new version.
  Status TouchActivity(int64_t id);
  // Deletes all but the newest `keep` rows. The newest row always stays (as
  // if keep were 1), so seq keeps growing and a reader that remembers the
  // last seq it saw never mistakes new rows for old ones.
  Status PruneFsChanges(int64_t keep);

  // --- for the schema's migrations, which measure what older versions did not ---
  // Measures the .csv and .gpx of an activity from the samples held and its
  // stored JSON, into activity_sync.
  Status WriteStreamSizes(int64_t id);
  // Replaces the stream-derived figures of activity `id` (activity_efforts,
  // activity_hr_seconds, activity_power_seconds) with those of `samples`;
  // none when empty.
  Status WriteStreamAnalytics(int64_t id, const std::vector<StreamSample>& samples);

 private:
  // Writes `row` (its json, columns and sizes) with the given bookkeeping.
  // `gps`: the activity holds samples with a position, so its .gpx, which
  // shows the name, sport and start, is measured again.
  Status WriteActivityRow(const ActivityRow& row, uint64_t summary_hash, int64_t run, bool detail_fetched,
                          bool keep_streams_state, bool gps);
  Status WriteStreamSizes(int64_t id, const std::vector<StreamSample>& samples);

  // Where an activity's files are in the mount.
  struct Location {
    int year = 0, month = 0;
    std::string base;  // ActivityBaseName
  };
  // Where the files of activity `id` are now; nullopt when it is not held (or
  // its start_date_local is not a date, so it has no files).
  Result<std::optional<Location>> LocationOf(int64_t id);
  // Appends to fs_changes; `old` is where the files were before the write.
  Status LogFsChange(int64_t id, const std::optional<Location>& old);

  Cache& cache_;
};

}  // namespace stravafs
