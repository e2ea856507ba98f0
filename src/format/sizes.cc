#include "format/sizes.h"

#include "format/json_file.h"
#include "format/render.h"

namespace stravafs {

RowSizes SizesOf(const ActivityRow& row) {
  return {row.json_size >= 0 ? row.json_size : JsonFileSizeOfText(row.json),
          row.csv_row_size >= 0 ? row.csv_row_size : ActivityCsvRowSize(row.columns)};
}

void MeasureRow(ActivityRow& row) {
  const RowSizes sizes = SizesOf(row);
  row.json_size = sizes.json;
  row.csv_row_size = sizes.csv_row;
}

}  // namespace stravafs
