// The activity columns: how a Strava activity JSON becomes a typed cache row.
//
// One table, kActivityColumns, names every typed column of `activities`, its
// SQL type and where its value comes from in Strava's JSON. The schema, the
// upsert, activities.csv and the SQLite extension are all generated from it,
// so a column is added in exactly one place, and one reader (RowFromText,
// over simdjson) fills it. Parsing is lenient the way Strava needs: numbers
// may come as ints or floats, optional keys may be absent or null, latlng may
// be [] or null. A row is never built from a reply that fails the shape check,
// so garbage never reaches the cache.
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

// The value of one typed column: NULL when the key is absent or null, or its
// JSON value does not fit the column. Text is kept as is; booleans are 0/1
// in `i`; an integer column takes a float or an integer beyond int64
// rounded, or NULL when it does not fit int64.
struct ColumnValue {
  enum Kind { kNull, kInt, kReal, kText } kind = kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;
};
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
// The row of one activity: its JSON text, read by simdjson. The one place a
// Strava activity becomes typed columns (a listing page, a detail, an
// edited summary laid over what is held, an imported file all come here).
// Refused, with a message naming what is wrong, unless it is an object with
// an integer `id`, a valid ISO `start_date` ending in Z and a valid
// `start_date_local`: garbage never reaches the cache. The text is kept
// verbatim, but for surrounding whitespace. Valid JSON that simdjson refuses
// (an integer beyond 64 bits, which nlohmann reads as a double) is read
// through nlohmann's dump, which is then the text kept.
Result<ActivityRow> RowFromText(std::string_view text);
// RowFromText(j.dump()): the text kept is nlohmann's compact dump.
Result<ActivityRow> RowFromJson(const Json& j);

// One lap of a detailed activity, as the `laps` table holds it: absent, null
// or mistyped values are nullopt; whole seconds and indexes given as floats
// are truncated, and any beyond int64 are nullopt.
struct LapRow {
  int64_t lap_index = 0;  // Strava's, else the lap's position from 1
  std::optional<int64_t> id, elapsed_time, moving_time, start_index, end_index;
  std::optional<std::string> name, start_date, start_date_local;  // local without Strava's Z
  std::optional<double> distance, total_elevation_gain, average_speed, max_speed, average_heartrate, max_heartrate,
      average_cadence, average_watts;
  std::string json;  // the lap's text as received
};
// A detailed activity (GET /activities/{id}): its row, held to RowFromText's
// checks, and its laps (elements that are not objects are passed over), read
// in one simdjson parse.
struct ActivityDetail {
  ActivityRow row;
  std::vector<LapRow> laps;
};
Result<ActivityDetail> DetailFromText(std::string_view text);

// A listing page (GET /athlete/activities) into rows, the hot path of a sync:
// a first sync reads every activity through here. simdjson validates the
// whole page (a malformed or truncated reply is an error, so it is retried
// and never stored); each element is held to RowFromText's checks and keeps
// its exact text. Thread-safe (parsers are per thread).
Result<std::vector<ActivityRow>> ParseActivityPage(std::string_view body);

}  // namespace stravafs
