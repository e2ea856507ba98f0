#include "format/render.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>

#include <simdjson.h>

#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "base/utf8.h"
#include "format/sink.h"

namespace stravafs {

namespace {

constexpr std::string_view kCrlf = "\r\n";

// Columns of ActivityColumns() that activities.csv leaves out (see the header).
bool LeftOutOfCsv(std::string_view column) {
  return column == "summary_polyline" || column == "polyline" || column == "description";
}

std::vector<const ActivityColumn*> MakeCsvColumns() {
  std::vector<const ActivityColumn*> columns;
  for (const auto& c : ActivityColumns())
    if (!LeftOutOfCsv(c.name)) columns.push_back(&c);
  return columns;
}

// Shortest round-trip text in plain decimal notation, for xsd:decimal,
// appended to `out` (nothing for NaN and infinities). The per-sample loops
// append in place: a string per field was most of a file's rendering.
void AppendDecimal(std::string& out, double value) {
  if (!std::isfinite(value)) return;
  if (value == 0) value = 0;  // no "-0"
  std::array<char, 512> buf;  // enough for any double in fixed notation
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::fixed);
  assert(ec == std::errc());
  out.append(buf.data(), end);
}

void AppendInt(std::string& out, int64_t value) {
  std::array<char, 24> buf;
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  assert(ec == std::errc());
  out.append(buf.data(), end);
}

// The shortest text that reads back as `value` ("" for NaN and infinities),
// into `buf` (32 bytes); returns the length.
size_t FormatNumberInto(double value, char* buf) {
  if (!std::isfinite(value)) return 0;
  if (value == 0) value = 0;                             // no "-0"
  auto [end, ec] = std::to_chars(buf, buf + 32, value);  // the shortest form is at most 24 characters
  assert(ec == std::errc());
  return static_cast<size_t>(end - buf);
}

// One CSV field as RFC 4180 wants it (see CsvField).
template <typename Sink>
void WriteCsvField(std::string_view text, Sink& out) {
  std::string valid;
  if (!simdjson::validate_utf8(text.data(), text.size())) text = valid = ToValidUtf8(text);
  const bool quote =
      text.find_first_of(",\"\r\n") != std::string_view::npos ||
      (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.back() == ' ' || text.back() == '\t'));
  if (!quote) return out.Append(text);
  out.Append('"');
  for (size_t quote_at; (quote_at = text.find('"')) != std::string_view::npos; text.remove_prefix(quote_at + 1)) {
    out.Append(text.substr(0, quote_at + 1));
    out.Append('"');  // doubled
  }
  out.Append(text);
  out.Append('"');
}

template <typename Sink>
void WriteCsvValue(const ColumnValue& v, Sink& out) {
  std::array<char, 32> buf;
  switch (v.kind) {
    case ColumnValue::kNull:
      return;
    case ColumnValue::kInt:
      return out.Append(std::string_view(buf.data(), std::to_chars(buf.data(), buf.data() + buf.size(), v.i).ptr));
    case ColumnValue::kReal:
      return out.Append(std::string_view(buf.data(), FormatNumberInto(v.d, buf.data())));
    case ColumnValue::kText:
      return WriteCsvField(v.s, out);
  }
}

// An activities.csv line: value(i) gives the i-th of ActivitiesCsvColumns().
template <typename Sink, typename Value>
void WriteActivityCsvRow(Value&& value, Sink& out) {
  const size_t n = ActivitiesCsvColumns().size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out.Append(',');
    WriteCsvValue(value(i), out);
  }
  out.Append(kCrlf);
}

// Where each activities.csv column sits in a whole row.
const std::vector<size_t>& CsvColumnIndexes() {
  static const std::vector<size_t> indexes = [] {
    std::vector<size_t> out;
    const ActivityColumn* base = ActivityColumns().data();
    for (const ActivityColumn* c : ActivitiesCsvColumns()) out.push_back(static_cast<size_t>(c - base));
    return out;
  }();
  return indexes;
}

bool AllowedInXml(char32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
         (cp >= 0x10000 && cp <= 0x10FFFF);
}

const std::string* StringField(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// A whole number for the Garmin extensions' unsigned types, clamped to them.
void AppendWholeNumber(std::string& out, double value, double max) {
  AppendInt(out, static_cast<int64_t>(std::llround(std::clamp(value, 0.0, max))));
}

bool Usable(const std::optional<double>& v) { return v && std::isfinite(*v); }

}  // namespace

std::string RenderGpxText(std::string_view json_text, std::span<const StreamSample> samples) {
  thread_local simdjson::dom::parser parser = DepthLimitedParser<simdjson::dom::parser>();
  simdjson::dom::object fields;
  if (parser.parse(json_text.data(), json_text.size(), true).get(fields) != simdjson::SUCCESS) {
    Json j = ParseJson(json_text);
    return RenderGpx(j.is_discarded() ? Json::object() : j, samples);
  }
  static constexpr std::array<std::string_view, 4> kKeys = {"name", "sport_type", "type", "start_date"};
  std::array<std::optional<std::string_view>, 4> last;  // nullopt inside: the last value is not a string
  std::array<bool, 4> seen{};
  for (auto [key, value] : fields) {
    for (size_t k = 0; k < kKeys.size(); ++k) {
      if (key != kKeys[k]) continue;
      seen[k] = true;
      std::string_view text;
      last[k] = value.get_string().get(text) == simdjson::SUCCESS ? std::optional(text) : std::nullopt;
    }
  }
  Json j = Json::object();
  for (size_t k = 0; k < kKeys.size(); ++k)
    if (seen[k] && last[k]) j[std::string(kKeys[k])] = std::string(*last[k]);
  return RenderGpx(j, samples);
}

// --- CSV -------------------------------------------------------------------------

std::span<const ActivityColumn* const> ActivitiesCsvColumns() {
  static const std::vector<const ActivityColumn*> columns = MakeCsvColumns();
  return columns;
}

std::string ActivitiesCsvHeader() {
  std::string line;
  for (const ActivityColumn* c : ActivitiesCsvColumns()) {
    if (!line.empty()) line += ',';
    line += c->name;
  }
  line += kCrlf;
  return line;
}

std::string ActivityCsvRow(const ActivityRow& row) {
  assert(row.columns.size() == ActivityColumns().size());
  const std::vector<size_t>& indexes = CsvColumnIndexes();
  std::string line;
  StringSink sink(line);
  WriteActivityCsvRow([&](size_t i) -> const ColumnValue& { return row.columns[indexes[i]]; }, sink);
  return line;
}

std::string ActivityCsvRow(std::span<const ColumnValue> values) {
  assert(values.size() == ActivitiesCsvColumns().size());
  std::string line;
  StringSink sink(line);
  WriteActivityCsvRow([&](size_t i) -> const ColumnValue& { return values[i]; }, sink);
  return line;
}

int64_t ActivityCsvRowSize(std::span<const ColumnValue> row_columns) {
  const std::vector<size_t>& indexes = CsvColumnIndexes();
  CountSink sink;
  WriteActivityCsvRow([&](size_t i) -> const ColumnValue& { return row_columns[indexes[i]]; }, sink);
  return sink.count();
}

std::string CsvField(std::string_view text) {
  std::string out;
  StringSink sink(out);
  WriteCsvField(text, sink);
  return out;
}

std::string FormatNumber(double value) {
  std::array<char, 32> buf;
  return std::string(buf.data(), FormatNumberInto(value, buf.data()));
}

std::string StreamsCsvHeader() {
  static const std::string header = [] {
    std::string line = "seq";
    for (const StreamColumn& c : kStreamColumns) {
      line += ',';
      line += c.name;
    }
    return line += kCrlf;
  }();
  return header;
}

void AppendStreamCsvRow(std::string& out, const StreamSample& s) {
  AppendInt(out, s.seq);
  std::array<char, 32> buf;
  for (const StreamColumn& c : kStreamColumns) {
    out += ',';
    if (const std::optional<double>& v = s.*c.member) out.append(buf.data(), FormatNumberInto(*v, buf.data()));
  }
  out += kCrlf;
}

std::string StreamCsvRow(const StreamSample& s) {
  std::string line;
  AppendStreamCsvRow(line, s);
  return line;
}

std::string RenderStreamsCsv(std::span<const StreamSample> samples) {
  std::string out = StreamsCsvHeader();
  for (const auto& s : samples) AppendStreamCsvRow(out, s);
  return out;
}

// --- GPX ------------------------------------------------------------------------

bool HasGps(std::span<const StreamSample> samples) {
  return std::any_of(samples.begin(), samples.end(),
                     [](const StreamSample& s) { return Usable(s.lat) && Usable(s.lng); });
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = DecodeUtf8(text, pos);
    pos += c.len;
    switch (c.cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;  // raw, a reader would see a line feed
      default:
        if (AllowedInXml(c.cp)) AppendUtf8(out, c.cp);
        break;
    }
  }
  return out;
}

std::string RenderGpx(const Json& activity, std::span<const StreamSample> samples) {
  const std::string* name = StringField(activity, "name");
  const std::string* sport = StringField(activity, "sport_type");
  if (sport == nullptr) sport = StringField(activity, "type");
  const std::string* start_text = StringField(activity, "start_date");
  // A plain flag and value rather than std::optional: GCC 12 warns (falsely)
  // that the optional may be used uninitialized, and warnings are errors.
  const std::optional<int64_t> parsed = start_text ? ParseIsoUtc(*start_text) : std::nullopt;
  const bool has_start = parsed.has_value();
  const int64_t start = parsed.value_or(0);

  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<gpx version=\"1.1\" creator=\"stravafs\" xmlns=\"http://www.topografix.com/GPX/1/1\""
      " xmlns:gpxtpx=\"http://www.garmin.com/xmlschemas/TrackPointExtension/v1\""
      " xmlns:pwr=\"http://www.garmin.com/xmlschemas/PowerExtension/v1\">\n";
  if (name || has_start) {
    out += " <metadata>\n";
    if (name) out += "  <name>" + XmlEscape(*name) + "</name>\n";
    if (has_start) out += "  <time>" + FormatIsoUtc(start) + "</time>\n";
    out += " </metadata>\n";
  }
  out += " <trk>\n";
  if (name) out += "  <name>" + XmlEscape(*name) + "</name>\n";
  if (sport) out += "  <type>" + XmlEscape(*sport) + "</type>\n";
  out += "  <trkseg>\n";
  for (const StreamSample& s : samples) {
    if (!Usable(s.lat) || !Usable(s.lng)) continue;
    out += "   <trkpt lat=\"";
    AppendDecimal(out, *s.lat);
    out += "\" lon=\"";
    AppendDecimal(out, *s.lng);
    out += "\">\n";
    if (Usable(s.altitude)) {
      out += "    <ele>";
      AppendDecimal(out, *s.altitude);
      out += "</ele>\n";
    }
    if (has_start && Usable(s.time) && std::fabs(*s.time) < 1e12) {  // 31,000 years: no overflow below
      const int64_t at = start + std::llround(*s.time);
      // Only instants xsd:dateTime writes with four-digit years, as ParseIsoUtc reads them.
      if (at >= kMinIsoEpoch && at <= kMaxIsoEpoch) {
        out += "    <time>";
        char text[kIsoUtcLength];
        FormatIsoUtcInto(at, text);
        out.append(text, kIsoUtcLength);
        out += "</time>\n";
      }
    }
    const bool tpx = Usable(s.temp) || Usable(s.heartrate) || Usable(s.cadence);
    const bool power = Usable(s.watts);
    if (tpx || power) {
      out += "    <extensions>\n";
      if (tpx) {
        out += "     <gpxtpx:TrackPointExtension>\n";
        if (Usable(s.temp)) {
          out += "      <gpxtpx:atemp>";
          AppendDecimal(out, *s.temp);
          out += "</gpxtpx:atemp>\n";
        }
        if (Usable(s.heartrate)) {
          out += "      <gpxtpx:hr>";
          AppendWholeNumber(out, *s.heartrate, 255);
          out += "</gpxtpx:hr>\n";
        }
        if (Usable(s.cadence)) {
          out += "      <gpxtpx:cad>";
          AppendWholeNumber(out, *s.cadence, 254);
          out += "</gpxtpx:cad>\n";
        }
        out += "     </gpxtpx:TrackPointExtension>\n";
      }
      if (power) {
        out += "     <pwr:PowerInWatts>";
        AppendWholeNumber(out, *s.watts, 65535);
        out += "</pwr:PowerInWatts>\n";
      }
      out += "    </extensions>\n";
    }
    out += "   </trkpt>\n";
  }
  out += "  </trkseg>\n </trk>\n</gpx>\n";
  return out;
}

}  // namespace stravafs
