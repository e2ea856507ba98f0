// Fuzz target: the CSV and GPX renderers and the CSV row sizes
// (src/format/render.h, src/format/sizes.h), from values as the cache holds them.
//
// Input (FuzzedDataProvider): an activity's name, sport type and start date,
// stream samples with any doubles (NaN, infinities, -0, subnormals, huge,
// whole numbers near 2^53), and one activities.csv row of typed values.
// Checks:
//   - <name>.csv is RFC 4180: one record per sample plus the header, 13
//     fields each, and every number reads back as the same double;
//   - activities.csv: header and row have the same number of fields, text
//     reads back as its UTF-8 repair, numbers read back exactly, and
//     ActivityCsvRowSize (the sync-time size) equals the rendered length;
//   - the .gpx is well-formed XML (expat), with one trkpt per sample with a
//     position, plain decimals for coordinates, the name and type read back
//     as given (repaired, minus what XML cannot hold), whole numbers in the
//     Garmin extensions' ranges; RenderGpxText (the mount's path) gives the
//     same bytes as RenderGpx (the size's path).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "model/activity.h"
#include "format/render.h"
#include "format/sizes.h"
#include "base/utf8.h"
#include "fuzz_check.h"

using namespace stravafs;

namespace {

double AnyDouble(FuzzedDataProvider& in) {
  static constexpr double kSpecial[] = {0.0,
                                        -0.0,
                                        1.0,
                                        -1.0,
                                        0.1,
                                        0.5,
                                        1e15,
                                        1e16,
                                        1e21,
                                        1e22,
                                        123456789012345678.0,
                                        9007199254740991.0,
                                        9007199254740992.0,
                                        9007199254740993.0,
                                        -9007199254740993.0,
                                        1e300,
                                        -1e300,
                                        5e-324,
                                        2.2250738585072014e-308,
                                        1e-7,
                                        100.0,
                                        255.5,
                                        254.5,
                                        65535.5,
                                        65536.0,
                                        -0.5,
                                        47.123456789,
                                        8.5432101,
                                        NAN,
                                        INFINITY,
                                        -INFINITY,
                                        9.2e18,
                                        -9.3e18,
                                        1.7976931348623157e308};
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
      return kSpecial[in.ConsumeIntegralInRange<size_t>(0, std::size(kSpecial) - 1)];
    case 1:
      return static_cast<double>(in.ConsumeIntegral<int32_t>());
    case 2:
      return static_cast<double>(in.ConsumeIntegral<int16_t>()) / 8.0;
    default: {
      uint64_t bits = in.ConsumeIntegral<uint64_t>();
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
  }
}

std::optional<double> AnyOptional(FuzzedDataProvider& in) {
  if (!in.ConsumeBool()) return std::nullopt;
  return AnyDouble(in);
}

// A number field as written, read back: empty for NaN and infinities, else the
// same double (-0 written as 0).
void CheckNumberField(const std::string& field, std::optional<double> value, const char* what) {
  if (!value || !std::isfinite(*value)) {
    FUZZ_CHECK(field.empty(), std::string(what) + " " + field);
    return;
  }
  double back = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), back);
  FUZZ_CHECK(ec == std::errc() && end == field.data() + field.size(), std::string(what) + " " + field);
  FUZZ_CHECK(back == *value, std::string(what) + " " + field);
  FUZZ_CHECK(field != "-0", std::string(what) + " " + field);
}

// xsd:decimal as written here: -?[0-9]+(\.[0-9]+)? (no exponent, no "+").
bool IsPlainDecimal(std::string_view s) {
  if (s.starts_with('-')) s.remove_prefix(1);
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view("0") : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(whole) && digits(fraction);
}

// XML character data as the name should read back: repaired, and characters
// XML 1.0 cannot hold dropped. XmlEscape writes CR as &#13; (a raw CR would
// read as LF, XML 1.0 section 2.11; schema v7 re-measured the .gpx files).
std::string XmlReadBack(std::string_view text) {
  std::vector<char32_t> kept;
  for (char32_t cp : fuzz::CodePoints(text)) {
    const bool allowed = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
    if (allowed) kept.push_back(cp);
  }
  // A CR is written as &#13;, so it reads back as itself (a raw one would
  // have become a line feed).
  std::string out;
  for (char32_t cp : kept) fuzz::Append(out, cp);
  return out;
}

bool Usable(const std::optional<double>& v) { return v && std::isfinite(*v); }

void CheckStreamsCsv(const std::vector<StreamSample>& samples) {
  const std::string csv = RenderStreamsCsv(samples);
  std::string error;
  auto records = fuzz::ParseCsv(csv, error);
  FUZZ_CHECK(records, error + "\n" + fuzz::Show(csv));
  FUZZ_CHECK(records->size() == samples.size() + 1, fuzz::Show(csv));
  for (const auto& r : *records) FUZZ_CHECK(r.size() == 13, fuzz::Show(csv));
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& r = (*records)[i + 1];
    const StreamSample& s = samples[i];
    FUZZ_CHECK(r[0] == std::to_string(s.seq), r[0]);
    const std::optional<double>* values[] = {&s.time,      &s.distance, &s.lat,   &s.lng,  &s.altitude, &s.velocity,
                                             &s.heartrate, &s.cadence,  &s.watts, &s.temp, &s.moving,   &s.grade};
    for (size_t c = 0; c < 12; ++c) CheckNumberField(r[c + 1], *values[c], "streams csv");
  }
  size_t sum = StreamsCsvHeader().size();
  for (const auto& s : samples) sum += StreamCsvRow(s).size();
  FUZZ_CHECK(sum == csv.size(), "");
}

void CheckGpx(const Json& activity, const std::string& name, const std::string& sport, bool has_start,
              const std::vector<StreamSample>& samples) {
  const std::string gpx = RenderGpx(activity, samples);
  FUZZ_CHECK(gpx == RenderGpxText(activity.dump(), samples), fuzz::Show(gpx));
  const fuzz::XmlDocument doc = fuzz::ParseXml(gpx);
  FUZZ_CHECK(doc.well_formed, doc.error + "\n" + fuzz::Show(gpx));
  FUZZ_CHECK(fuzz::IsValidUtf8(gpx), fuzz::Show(gpx));
  size_t points = 0;
  for (const auto& s : samples) points += Usable(s.lat) && Usable(s.lng);
  size_t trkpts = 0, names = 0, types = 0;
  for (const auto& e : doc.elements) {
    if (e.path == "gpx/trk/trkseg/trkpt") {
      ++trkpts;
      FUZZ_CHECK(e.attributes.size() == 2, e.path);
      for (const auto& [k, v] : e.attributes) FUZZ_CHECK(IsPlainDecimal(v), k + "=" + v);
    } else if (e.path == "gpx/trk/trkseg/trkpt/ele" || e.path.ends_with("gpxtpx:atemp")) {
      FUZZ_CHECK(IsPlainDecimal(e.text), e.path + " " + e.text);
    } else if (e.path.ends_with("gpxtpx:hr") || e.path.ends_with("gpxtpx:cad") ||
               e.path.ends_with("pwr:PowerInWatts")) {
      const long max = e.path.ends_with("gpxtpx:hr") ? 255 : e.path.ends_with("gpxtpx:cad") ? 254 : 65535;
      FUZZ_CHECK(IsPlainDecimal(e.text) && e.text.find_first_of("-.") == std::string::npos && e.text.size() <= 5 &&
                     std::stol(e.text) <= max,
                 e.path + " " + e.text);
    } else if (e.path == "gpx/metadata/name" || e.path == "gpx/trk/name") {
      ++names;
      FUZZ_CHECK(e.text == XmlReadBack(name), fuzz::Show(e.text) + " want " + fuzz::Show(XmlReadBack(name)));
    } else if (e.path == "gpx/trk/type") {
      ++types;
      FUZZ_CHECK(e.text == XmlReadBack(sport), fuzz::Show(e.text) + " want " + fuzz::Show(XmlReadBack(sport)));
    } else if (e.path == "gpx/metadata/time" || e.path == "gpx/trk/trkseg/trkpt/time") {
      FUZZ_CHECK(has_start && ParseIsoUtc(e.text) && e.text.size() == 20, e.text);
    }
  }
  FUZZ_CHECK(trkpts == points, std::to_string(trkpts) + " trkpt for " + std::to_string(points) + " positions");
  FUZZ_CHECK(names == 2 && types == 1, fuzz::Show(gpx));
}

void CheckActivitiesCsv(FuzzedDataProvider& in) {
  const auto columns = ActivityColumns();
  std::vector<ColumnValue> row(columns.size());
  for (ColumnValue& v : row) {
    switch (in.ConsumeIntegralInRange(0, 3)) {
      case 0:
        break;
      case 1:
        v.kind = ColumnValue::kInt;
        v.i = in.ConsumeBool() ? in.ConsumeIntegral<int64_t>() : in.ConsumeIntegral<int16_t>();
        break;
      case 2:
        v.kind = ColumnValue::kReal;
        v.d = AnyDouble(in);
        break;
      default:
        v.kind = ColumnValue::kText;
        v.s = in.ConsumeRandomLengthString(64);
        break;
    }
  }
  std::vector<ColumnValue> values;
  for (const ActivityColumn* c : ActivitiesCsvColumns()) values.push_back(row[static_cast<size_t>(c - columns.data())]);
  const std::string line = ActivityCsvRow(values);
  FUZZ_CHECK(ActivityCsvRowSize(row) == static_cast<int64_t>(line.size()),
             "ActivityCsvRowSize " + std::to_string(ActivityCsvRowSize(row)) + " rendered " +
                 std::to_string(line.size()) + ": " + fuzz::Show(line));
  FUZZ_CHECK(fuzz::IsValidUtf8(line), fuzz::Show(line));
  std::string error;
  auto records = fuzz::ParseCsv(ActivitiesCsvHeader() + line, error);
  FUZZ_CHECK(records && records->size() == 2, error + "\n" + fuzz::Show(line));
  FUZZ_CHECK((*records)[0].size() == values.size() && (*records)[1].size() == values.size(), fuzz::Show(line));
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& field = (*records)[1][i];
    const ColumnValue& v = values[i];
    switch (v.kind) {
      case ColumnValue::kNull:
        FUZZ_CHECK(field.empty(), field);
        break;
      case ColumnValue::kInt:
        FUZZ_CHECK(field == std::to_string(v.i), field);
        break;
      case ColumnValue::kReal:
        CheckNumberField(field, v.d, "activities csv");
        break;
      case ColumnValue::kText:
        FUZZ_CHECK(field == fuzz::Repaired(v.s), fuzz::Show(field) + " want " + fuzz::Show(fuzz::Repaired(v.s)));
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string name = in.ConsumeRandomLengthString(80);
  const std::string sport = in.ConsumeRandomLengthString(24);
  std::string start;
  if (in.ConsumeBool()) {
    start = FormatIsoUtc(in.ConsumeIntegralInRange<int64_t>(0, 4102444800));  // up to 2100
  } else {
    start = in.ConsumeRandomLengthString(24);
  }
  const bool has_start = ParseIsoUtc(start).has_value();

  std::vector<StreamSample> samples(in.ConsumeIntegralInRange<size_t>(0, 40));
  int64_t seq = 0;
  for (StreamSample& s : samples) {
    s.seq = seq++;
    for (auto* v : {&s.time, &s.distance, &s.lat, &s.lng, &s.altitude, &s.velocity, &s.heartrate, &s.cadence, &s.watts,
                    &s.temp, &s.moving, &s.grade})
      *v = AnyOptional(in);
  }
  CheckStreamsCsv(samples);

  // The JSON the cache holds is valid UTF-8 (it came through a JSON parser).
  Json activity = {{"name", ToValidUtf8(name)}, {"sport_type", ToValidUtf8(sport)}, {"start_date", ToValidUtf8(start)}};
  FUZZ_CHECK(HasGps(samples) == std::any_of(samples.begin(), samples.end(),
                                            [](const StreamSample& s) { return Usable(s.lat) && Usable(s.lng); }),
             "");
  CheckGpx(activity, name, sport, has_start, samples);

  CheckActivitiesCsv(in);
  return 0;
}
