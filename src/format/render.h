// The bytes of every generated file the mount shows: JSON, CSV and GPX.
//
// Pure functions from cached data to file contents: no I/O, no state,
// thread-safe. A file's st_size is the size of the string rendered here, so
// the same input must always give the same bytes; the CSV functions come in
// header/row pieces so a size can be summed from per-row sizes kept at sync
// time instead of rendering a whole activities.csv at lookup.
//
// Every output is valid UTF-8 whatever the input: invalid bytes in text
// become U+FFFD (see base/utf8.h). Numbers are written locale-independently
// with std::to_chars, as the shortest text that reads back as the same double;
// whole numbers have no ".0" (12.0 is written "12").
//
// JSON (<name>.json, athlete.json): format/json_file.h.
//
// CSV (activities.csv, <name>.csv): RFC 4180. Lines end in CRLF, as RFC 4180
// says: spreadsheets, Python's csv module, pandas, DuckDB and sqlite3's .import
// read CRLF and LF alike, and CRLF is the one ending every strict RFC 4180
// reader accepts. Fields are quoted only when they contain "," '"' CR or LF or
// start or end with a space or tab; quotes inside are doubled. Line breaks
// inside a quoted field are kept as they are. NULL is an empty field.
//   activities.csv columns: the typed columns of ActivityColumns() in table
//   order, except summary_polyline, polyline and description. Those are
//   left out because they are bulky (a full polyline is tens of kilobytes),
//   useless in a spreadsheet, and (description) multi-line and present only
//   once an activity is fetched in detail; all three stay in <name>.json.
//   The header row is the same in every activities.csv.
//   <name>.csv (streams) columns: seq,time,distance,lat,lng,altitude,velocity,
//   heartrate,cadence,watts,temp,moving,grade (the cache's streams table:
//   seq, then kStreamColumns of model/streams.h).
//
// GPX (<name>.gpx): GPX 1.1, valid against the topografix schema. Shape:
//   <?xml version="1.0" encoding="UTF-8"?>
//   <gpx version="1.1" creator="stravafs" xmlns=GPX 1.1
//        xmlns:gpxtpx=Garmin TrackPointExtension v1 xmlns:pwr=Garmin PowerExtension v1>
//    <metadata> <name>activity name</name> <time>start_date</time> </metadata>
//    <trk> <name>activity name</name> <type>sport_type</type>
//     <trkseg> one <trkpt lat lon> per sample with both lat and lng:
//       <ele>altitude</ele> <time>start_date + time s, UTC with Z</time>
//       <extensions>
//        <gpxtpx:TrackPointExtension> <gpxtpx:atemp/> <gpxtpx:hr/> <gpxtpx:cad/>
//        </gpxtpx:TrackPointExtension>      (schema order; only those present)
//        <pwr:PowerInWatts/>
//       </extensions>                      (only when one of them is present)
//   Elements whose value is missing are left out, and so is a <time> outside
//   the years 0000-9999 (a stream time no real activity has). Power uses Garmin's
//   PowerExtension v1 because TrackPointExtension v1 has no power element, and
//   a bare <power> (as Strava's own export writes) would be in the GPX
//   namespace, which GPX 1.1 forbids inside <extensions>. hr, cad and power
//   are whole numbers (the schemas' unsignedByte/unsignedShort); coordinates
//   and elevation are plain decimals (xsd:decimal has no exponent form).
//   Text is XML-escaped (& < > " ') and characters XML 1.0 does not allow
//   (control characters other than tab, LF, CR; U+FFFE, U+FFFF) are dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/activity.h"
#include "model/streams.h"

namespace stravafs {

// --- CSV -------------------------------------------------------------------------

// The columns of activities.csv, in order.
std::span<const ActivityColumn* const> ActivitiesCsvColumns();

// The header line, CRLF included.
std::string ActivitiesCsvHeader();

// One activity's line, CRLF included, from its row.
std::string ActivityCsvRow(const ActivityRow& row);

// The same line from values already extracted (e.g. read from the cache's
// typed columns), one per ActivitiesCsvColumns() entry and in that order.
std::string ActivityCsvRow(std::span<const ColumnValue> values);

// Its length, counted by the same writer, where `row_columns` is a whole row
// in ActivityColumns() order (as ActivityRow::columns holds it).
int64_t ActivityCsvRowSize(std::span<const ColumnValue> row_columns);

// One field as RFC 4180 wants it: quoted when needed, quotes doubled,
// invalid UTF-8 replaced.
std::string CsvField(std::string_view text);

// A number as every file writes it ("12", "0.1", "-3.5", "1e+21"); "" for NaN
// and infinities, which no JSON or cache holds.
std::string FormatNumber(double value);

// The streams header line and one sample's line, CRLF included.
std::string StreamsCsvHeader();
std::string StreamCsvRow(const StreamSample& sample);
void AppendStreamCsvRow(std::string& out, const StreamSample& sample);  // the same line, appended
// The whole <name>.csv: header and one line per sample, in the order given.
std::string RenderStreamsCsv(std::span<const StreamSample> samples);

// --- GPX ------------------------------------------------------------------------

// Whether any sample has both lat and lng: whether the activity has a .gpx.
bool HasGps(std::span<const StreamSample> samples);

// The .gpx of an activity (its JSON gives name, sport_type and start_date)
// from its samples. Only meaningful when HasGps(samples).
std::string RenderGpx(const Json& activity, std::span<const StreamSample> samples);

// The same bytes as RenderGpx(Json::parse(json_text), samples), reading only
// the four top-level keys RenderGpx uses (name, sport_type, type, start_date;
// of a repeated key the last value, as nlohmann keeps) with simdjson, rather
// than parsing a detailed activity whole to write its track.
std::string RenderGpxText(std::string_view json_text, std::span<const StreamSample> samples);

// `text` safe as XML 1.0 character data or attribute value.
std::string XmlEscape(std::string_view text);

}  // namespace stravafs
