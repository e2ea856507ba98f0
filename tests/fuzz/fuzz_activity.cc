// Fuzz target: activity JSON ingest, as the sync receives it, and the JSON
// files the mount renders from what was stored.
//
// Input: a JSON text, a summary or a detailed activity (GET
// /activities/{id}) or a listing page (an array of summaries). Checks:
//   - the .json writer (format/json_file.h) writes the same file for the
//     text as received, for the dump() the cache stores of a detail, and for
//     nlohmann's reading of it (RenderJsonFile); the sizes it counts
//     (JsonFileSizeOfText, JsonFileSizeOfDom: kept at sync time) equal the
//     rendered length;
//   - against nlohmann's dump(2), an independent writer: the same lines but
//     for number tokens that read back as the same double, ours never longer;
//   - the rendered JSON parses (nlohmann and simdjson) back to the same value;
//   - the one activity reader (RowFromText, simdjson) against an independent
//     one (tests/reference_activity.h, nlohmann): the same accept/refuse for
//     the text received, the same typed columns;
//   - an activity the reference accepts: RowFromJson's sizes equal
//     the rendered .json and activities.csv row; the CSV row has as many
//     fields as the header; its file name obeys the naming rule; its .gpx is
//     the same through RenderGpx and RenderGpxText and is well-formed;
//   - the listing parser (ParseActivityPage, simdjson) against the reference
//     on the same page: same ids, typed columns, sizes; and a page the
//     reference accepts is accepted;
//   - the depth limit (base/json.h), against nlohmann's SAX parser counting
//     depth on its own: valid JSON within kMaxJsonDepth is parsed, deeper is
//     refused by ParseJson and by ParseActivityPage; a NUL byte is refused.
#include <simdjson.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <cstring>

#include "../reference_activity.h"
#include "model/activity.h"
#include "format/json_file.h"
#include "format/names.h"
#include "format/render.h"
#include "format/sizes.h"
#include "fuzz_check.h"
#include "naming_rule.h"

using namespace stravafs;

namespace {

std::string Describe(const ColumnValue& v) {
  switch (v.kind) {
    case ColumnValue::kNull:
      return "NULL";
    case ColumnValue::kInt:
      return "int " + std::to_string(v.i);
    case ColumnValue::kReal: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "real %.17g", v.d);
      return buf;
    }
    case ColumnValue::kText:
      return "text " + fuzz::Show(v.s);
  }
  return "";
}

bool Same(const ColumnValue& a, const ColumnValue& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case ColumnValue::kNull:
      return true;
    case ColumnValue::kInt:
      return a.i == b.i;
    case ColumnValue::kReal:
      return std::memcmp(&a.d, &b.d, sizeof a.d) == 0 || (std::isnan(a.d) && std::isnan(b.d));
    case ColumnValue::kText:
      return a.s == b.s;
  }
  return false;
}

const std::vector<StreamSample>& SomeSamples() {
  static const std::vector<StreamSample> samples = [] {
    std::vector<StreamSample> s(2);
    s[0].seq = 0;
    s[0].time = 0;
    s[0].lat = 52.5;
    s[0].lng = 13.4;
    s[0].heartrate = 120;
    s[1].seq = 1;
    s[1].time = 1;
    s[1].lat = 52.50001;
    s[1].lng = 13.40001;
    s[1].altitude = 34.5;
    return s;
  }();
  return samples;
}

// `s` read as one whole double.
std::optional<double> ReadDouble(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

// Whether two files have the same lines but for number tokens that read as
// the same double, the first's never longer.
bool SameButNumbers(const std::string& ours, const std::string& theirs) {
  size_t a = 0, b = 0;
  while (a < ours.size() && b < theirs.size()) {
    const size_t a_end = ours.find('\n', a), b_end = theirs.find('\n', b);
    const std::string x = ours.substr(a, a_end - a), y = theirs.substr(b, b_end - b);
    if (x != y) {
      size_t start = 0;
      while (start < x.size() && start < y.size() && x[start] == y[start]) ++start;
      while (start > 0 && std::strchr("-0123456789.eE+", x[start - 1])) --start;
      auto token = [&](const std::string& line) {
        std::string t = line.substr(start);
        if (!t.empty() && t.back() == ',') t.pop_back();
        return t;
      };
      const auto p = ReadDouble(token(x)), q = ReadDouble(token(y));
      if (!p || !q || std::memcmp(&*p, &*q, sizeof(double)) != 0 || token(x).size() > token(y).size()) return false;
    }
    if (a_end == std::string::npos || b_end == std::string::npos) return a_end == b_end;
    a = a_end + 1;
    b = b_end + 1;
  }
  return a >= ours.size() && b >= theirs.size();
}

void CheckRendering(std::string_view text, const Json& j) {
  const std::string slow = RenderJsonFile(j);
  const std::string fast = RenderJsonText(text);
  FUZZ_CHECK(fast == slow, "RenderJsonText:\n" + fuzz::Show(fast) + "\nRenderJsonFile:\n" + fuzz::Show(slow));
  FUZZ_CHECK(JsonFileSizeOfText(text) == static_cast<int64_t>(slow.size()), fuzz::Show(slow));
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size(), true).get(root) == simdjson::SUCCESS)
    FUZZ_CHECK(JsonFileSizeOfDom(root) == static_cast<int64_t>(slow.size()),
               "JsonFileSizeOfDom " + std::to_string(JsonFileSizeOfDom(root)) + " rendered " +
                   std::to_string(slow.size()) + "\n" + fuzz::Show(slow));
  // What the cache stores for a detail: nlohmann's dump of the parsed reply.
  const std::string stored = j.dump();
  FUZZ_CHECK(RenderJsonText(stored) == slow, fuzz::Show(stored));
  // nlohmann's dump(2): the same but for shorter numbers.
  const std::string theirs = j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  FUZZ_CHECK(SameButNumbers(slow, theirs), "ours:\n" + fuzz::Show(slow) + "\nnlohmann:\n" + fuzz::Show(theirs));
  // The file is JSON, and the same value.
  const Json back = Json::parse(slow, nullptr, false);
  FUZZ_CHECK(!back.is_discarded() && back == j, fuzz::Show(slow));
  FUZZ_CHECK(parser.parse(slow.data(), slow.size(), true).get(root) == simdjson::SUCCESS, fuzz::Show(slow));
  FUZZ_CHECK(!slow.empty() && slow.back() == '\n', "");
}

void CheckActivity(const Json& j) {
  auto read = RowFromJson(j);
  FUZZ_CHECK(read.ok(), "RowFromJson refused what the reference accepts: " + read.status().message());
  ActivityRow row = *read;
  const ActivityRow want = reference::RowFromJson(j);
  FUZZ_CHECK(row.columns.size() == want.columns.size(), "");
  for (size_t c = 0; c < row.columns.size(); ++c)
    FUZZ_CHECK(Same(row.columns[c], want.columns[c]), std::string(ActivityColumns()[c].name) + ": ours " +
                                                          Describe(row.columns[c]) + ", reference " +
                                                          Describe(want.columns[c]));
  MeasureRow(row);
  const std::string file = RenderJsonFile(j);
  FUZZ_CHECK(row.json_size == static_cast<int64_t>(file.size()), "");
  FUZZ_CHECK(row.id == j.at("id").get<int64_t>(), "");
  // activities.csv: the row from the JSON and from the typed columns agree,
  // and so does the size kept at sync time.
  std::vector<ColumnValue> values;
  const ActivityColumn* base = ActivityColumns().data();
  for (const ActivityColumn* c : ActivitiesCsvColumns()) values.push_back(row.columns[static_cast<size_t>(c - base)]);
  const std::string line = ActivityCsvRow(want);
  FUZZ_CHECK(line == ActivityCsvRow(values), fuzz::Show(line));
  FUZZ_CHECK(row.csv_row_size == static_cast<int64_t>(line.size()), "csv_row_size " + std::to_string(row.csv_row_size) +
                                                                        " rendered " + std::to_string(line.size()) +
                                                                        ": " + fuzz::Show(line));
  std::string error;
  auto records = fuzz::ParseCsv(ActivitiesCsvHeader() + line, error);
  FUZZ_CHECK(records && records->size() == 2, error + "\n" + fuzz::Show(line));
  FUZZ_CHECK((*records)[0].size() == (*records)[1].size(), fuzz::Show(line));
  // Its name, as the mount shows it.
  const auto column = [&](std::string_view name) -> const ColumnValue& {
    for (size_t i = 0; i < ActivityColumns().size(); ++i)
      if (ActivityColumns()[i].name == name) return row.columns[i];
    __builtin_trap();
  };
  const ColumnValue& local = column("start_date_local");
  FUZZ_CHECK(local.kind == ColumnValue::kText, "");
  if (auto start = ParseLocalStart(local.s)) {
    const std::string name = column("name").kind == ColumnValue::kText ? column("name").s : "";
    const std::string sport = column("sport_type").kind == ColumnValue::kText ? column("sport_type").s : "";
    fuzz::CheckBaseName(ActivityBaseName(*start, name, row.id, sport), *start, name, row.id, sport);
  }
  // Its .gpx: the mount's path (RenderGpxText on the stored text) and the
  // size's path (RenderGpx on the parsed JSON) agree.
  const std::string gpx = RenderGpx(j, SomeSamples());
  FUZZ_CHECK(gpx == RenderGpxText(row.json, SomeSamples()), fuzz::Show(gpx));
  const fuzz::XmlDocument doc = fuzz::ParseXml(gpx);
  FUZZ_CHECK(doc.well_formed, doc.error + "\n" + fuzz::Show(gpx));
}

// The listing page parser against the nlohmann path, on the same page.
void CheckPage(std::string_view body) {
  const Json page = ParseJson(body);  // the nlohmann path, as the sync reads a detail
  // (ParseJson refuses a NUL byte, as simdjson does: nlohmann alone would
  // stop reading there.)
  bool nlohmann_accepts = !page.is_discarded() && page.is_array();
  if (nlohmann_accepts)
    for (const Json& item : page) nlohmann_accepts = nlohmann_accepts && reference::ValidateActivity(item).ok();
  auto rows = ParseActivityPage(body);
  if (!rows.ok()) {
    FUZZ_CHECK(!nlohmann_accepts, "ParseActivityPage refused a page nlohmann accepts: " + rows.status().message());
    return;
  }
  FUZZ_CHECK(nlohmann_accepts, "ParseActivityPage accepted a page nlohmann refuses");
  FUZZ_CHECK(rows->size() == page.size(), "");
  for (size_t i = 0; i < rows->size(); ++i) {
    ActivityRow& row = (*rows)[i];
    MeasureRow(row);
    const Json item = Json::parse(row.json, nullptr, false);
    FUZZ_CHECK(!item.is_discarded() && item == page[i], fuzz::Show(row.json));
    ActivityRow want = reference::RowFromJson(item);
    MeasureRow(want);
    FUZZ_CHECK(row.id == want.id, "");
    FUZZ_CHECK(row.hash == Fingerprint(row.json), "");
    FUZZ_CHECK(row.columns.size() == want.columns.size(), "");
    for (size_t c = 0; c < row.columns.size(); ++c)
      FUZZ_CHECK(Same(row.columns[c], want.columns[c]), std::string(ActivityColumns()[c].name) + ": page " +
                                                            Describe(row.columns[c]) + ", nlohmann " +
                                                            Describe(want.columns[c]));
    FUZZ_CHECK(row.json_size == want.json_size,
               "json_size " + std::to_string(row.json_size) + " want " + std::to_string(want.json_size));
    FUZZ_CHECK(row.csv_row_size == want.csv_row_size,
               "csv_row_size " + std::to_string(row.csv_row_size) + " want " + std::to_string(want.csv_row_size));
    FUZZ_CHECK(static_cast<int64_t>(RenderJsonText(row.json).size()) == row.json_size, fuzz::Show(row.json));
  }
}

// The deepest nesting of a valid JSON text, by nlohmann's SAX parser
// (iterative, so any depth); sax_parse returns false when it is not JSON.
struct DepthCounter : nlohmann::json_sax<Json> {
  size_t depth = 0, deepest = 0;
  bool open() {
    deepest = std::max(deepest, ++depth);
    return true;
  }
  bool close() {
    --depth;
    return true;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const Json::exception&) override { return false; }
};

void CheckDepthLimit(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {  // (nlohmann alone would stop reading there)
    FUZZ_CHECK(ParseJson(text).is_discarded(), "a NUL byte");
    return;
  }
  DepthCounter counter;
  if (!Json::sax_parse(text.begin(), text.end(), &counter)) return;
  const bool within = counter.deepest <= kMaxJsonDepth;
  const std::string depth = "depth " + std::to_string(counter.deepest);
  FUZZ_CHECK(JsonDepthWithin(text) == within, depth);
  FUZZ_CHECK(ParseJson(text).is_discarded() == !within, depth);
  if (!within) FUZZ_CHECK(!ParseActivityPage(text).ok(), depth);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckDepthLimit(text);
  const Json j = ParseJson(text);
  if (!j.is_discarded()) {
    CheckRendering(text, j);
    const bool valid = reference::ValidateActivity(j).ok();
    if (j.is_object()) {
      auto row = RowFromText(text);
      FUZZ_CHECK(row.ok() == valid, row.ok()
                                        ? "RowFromText accepted what the reference refuses"
                                        : "RowFromText refused what the reference accepts: " + row.status().message());
    }
    if (valid) CheckActivity(j);
  }
  if (!j.is_discarded() && j.is_array()) {
    CheckPage(text);
  } else {
    CheckPage("[" + std::string(text) + "]");
  }
  return 0;
}
