// The activity columns: how a Strava activity JSON becomes a typed cache row.
//
// One table, kActivityColumns, names every typed column of `activities`, its
// SQL type and where its value comes from in Strava's JSON. The schema, the
// upsert and (later) the SQLite extension are all generated from it, so a
// column is added in exactly one place. Parsing is lenient the way Strava
// needs: numbers may come as ints or floats, optional keys may be absent or
// null, latlng may be [] or null. A row is never built from a reply that fails
// the shape check (ValidateActivity), so garbage never reaches the cache.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/fingerprint.h"
#include "base/iso_time.h"
#include "base/json.h"
#include "base/status.h"

namespace stravafs {

enum class ColumnType { kInteger, kReal, kText, kBool };

struct ActivityColumn {
  const char* name;
  ColumnType type;
  const char* json_path;  // "a.b" for nested keys, "a[1]" for an array element; "" = computed
  const char* doc;        // units and meaning, for the schema docs and the vtab
};

// The SQLite column type of a ColumnType (booleans are INTEGER 0/1).
const char* SqlType(ColumnType t);

// Every typed column of `activities`, in table order (id first, json last is
// not listed: it is the raw JSON and always present).
std::span<const ActivityColumn> ActivityColumns();

// Checks that `j` looks like an activity: an object with an integer `id`,
// a string `start_date` ending in Z and a string `start_date_local`.
// Returns a message naming what is wrong, or ok.
Status ValidateActivity(const Json& j);

// The value of column `c` for activity `j`: nullopt when absent or null.
// Text is returned as is; booleans as 0/1 in `i`; an integer column takes a
// float or an integer beyond int64 rounded, or NULL when it does not fit.
struct ColumnValue {
  enum Kind { kNull, kInt, kReal, kText } kind = kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;
};
ColumnValue ExtractColumn(const Json& j, const ActivityColumn& c);
// The per-column clean-up both JSON paths apply: start_date_local loses the
// Z, timezone "(GMT-05:00) America/New_York" becomes "America/New_York".
void NormalizeColumn(const ActivityColumn& c, ColumnValue& v);

// An activity ready for the cache: the JSON text as received, its
// fingerprint, every typed column (in ActivityColumns() order), and the sizes
// of what the mount shows for it, once measured (MeasureRow in
// format/sizes.h: the sync does it on its fetching thread, the cache for any
// row that comes unmeasured).
struct ActivityRow {
  int64_t id = 0;
  std::string json;
  uint64_t hash = 0;
  std::vector<ColumnValue> columns;
  int64_t json_size = -1;     // RenderJsonFile(Json::parse(json)).size(); -1 = not measured
  int64_t csv_row_size = -1;  // ActivityCsvRowSize(columns); -1 = not measured
};
// The row for a parsed activity (its JSON text is j.dump()).
ActivityRow RowFromJson(const Json& j);

}  // namespace stravafs
