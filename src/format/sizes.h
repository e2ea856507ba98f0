// The byte sizes of an activity's files that the cache keeps (activity_sync's
// *_size columns, see stravafs-sqlite(7)), so that a listing of a month folder
// never renders a file to learn its size. Each size is counted by the file's
// own writer over a counting sink (format/sink.h): JsonFileSizeOfText
// (format/json_file.h) and ActivityCsvRowSize (format/render.h). Measured on
// the sync's fetching thread (MeasureRow).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "model/activity.h"

namespace stravafs {

// The sizes of `row`'s .json and activities.csv line: those it knows, the
// others (-1) measured, json_size from its JSON text and csv_row_size from
// its columns. MeasureRow stores them in the row.
struct RowSizes {
  int64_t json;
  int64_t csv_row;
};
RowSizes SizesOf(const ActivityRow& row);
void MeasureRow(ActivityRow& row);

}  // namespace stravafs
