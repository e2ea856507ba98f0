// The byte sizes of the mount's files, known without rendering them.
//
// The mount gives every file its exact st_size, and a listing of a month
// folder must not render each activity in it to learn that size. So the cache
// keeps each activity's sizes (activity_sync's *_size columns, see
// stravafs-sqlite(7)), computed here when the activity is written. Every
// function gives exactly the length of what the format/render.h function named
// beside it returns for the same input; the unit tests hold them to it.
//
// JsonFileSizeOfDom is the listing's hot path (through JsonFileSizeOfText and
// MeasureRow, on the sync's fetching thread): it walks a simdjson DOM and
// counts the bytes nlohmann's serializer would write, instead of building a
// Json and dumping it (which would cost about as much as parsing and storing
// the summary).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "model/activity.h"

// Declared rather than included: simdjson.h is large, and only
// activity_page.cc, which has it already, passes an element.
namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace stravafs {

// RenderJsonFile(j).size().
int64_t JsonFileSize(const Json& j);

// RenderJsonFile(Json::parse(text)).size() for a JSON text (an activity as
// the cache stores it). Text nlohmann does not parse (which no stored
// activity is) counts as the value Json::parse(text, nullptr, false) gives.
int64_t JsonFileSizeOfText(std::string_view text);

// The same for the text simdjson parsed into `value`. Matches nlohmann's
// reading of that text: integers stay integers and floats print with
// nlohmann's own to_chars (5.0 stays "5.0", -0.0 "-0.0"); of keys repeated in
// an object the last value counts, as nlohmann keeps one key with the last
// value. Strings are valid UTF-8, as simdjson guarantees.
int64_t JsonFileSizeOfDom(const simdjson::dom::element& value);

// ActivityCsvRow(values).size(), where `values` are the ActivitiesCsvColumns()
// entries of `row_columns`, a whole row in ActivityColumns() order (as
// ActivityRow::columns holds it).
int64_t ActivityCsvRowSize(std::span<const ColumnValue> row_columns);

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
