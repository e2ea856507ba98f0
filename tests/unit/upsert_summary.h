// Stores an activity summary as the sync stores a listing's: validated,
// mapped to a row (RowFromJson), upserted. What most cache tests start from.
#pragma once

#include <cstdint>

#include "cache/activity_store.h"
#include "model/activity.h"

namespace stravafs {

inline Result<Upsert> UpsertSummary(Cache& cache, const Json& summary, int64_t run) {
  auto row = RowFromJson(summary);
  if (!row.ok()) return row.status();
  return ActivityStore(cache).UpsertRow(*row, run);
}

}  // namespace stravafs
