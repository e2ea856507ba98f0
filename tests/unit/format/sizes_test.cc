// The sizes kept at sync time must be exactly the length of the files. A
// .json file's size, counted by its writer over simdjson's DOM
// (JsonFileSizeOfDom) or its text (JsonFileSizeOfText), is held to the file
// written for nlohmann's reading of the text (RenderJsonFile) over every
// activity the emulator's generator makes (summaries and details, as sent and
// re-indented), a corpus of hostile strings and numbers, and random documents
// written as text: nesting, empty containers, repeated keys, every escape,
// control characters, Unicode, and numbers of every form. json_file_test
// holds the bytes themselves to nlohmann's dump(2).
#include "format/json_file.h"
#include "format/sizes.h"

#include <simdjson.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../../emulator/render.h"
#include "model/activity.h"
#include "format/render.h"

namespace stravafs {
namespace {

// What the mount renders for a stored JSON text.
int64_t Rendered(const std::string& text) { return static_cast<int64_t>(RenderJsonFile(Json::parse(text)).size()); }

// The walk over simdjson's DOM of `text`; -1 when simdjson refuses the text.
int64_t Walked(const std::string& text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(simdjson::padded_string(text)).get(root) != simdjson::SUCCESS) return -1;
  return JsonFileSizeOfDom(root);
}

// Every text simdjson takes is one nlohmann takes, measured alike.
void CheckText(const std::string& text) {
  INFO("text: " << text);
  const int64_t walked = Walked(text);
  REQUIRE(walked >= 0);
  CHECK(walked == Rendered(text));
  CHECK(JsonFileSizeOfText(text) == Rendered(text));
  // The mount's fast renderer writes those very bytes.
  CHECK(RenderJsonText(text) == RenderJsonFile(Json::parse(text)));
}

// The activities.csv columns of a whole row, as ActivityCsvRow takes them.
std::vector<ColumnValue> CsvValues(const std::vector<ColumnValue>& row) {
  std::vector<ColumnValue> out;
  for (const ActivityColumn* c : ActivitiesCsvColumns())
    out.push_back(row[static_cast<size_t>(c - ActivityColumns().data())]);
  return out;
}

// --- the emulator's activities -----------------------------------------------------------

TEST_CASE("JsonFileSizeOfDom matches RenderJsonFile for every generated activity", "[fs_sizes]") {
  for (uint64_t seed : {1, 7, 42}) {
    emu::GenParams params;
    params.count = 1500;
    params.seed = seed;
    params.end = 1767225600;  // 2026-01-01
    const emu::Generated gen = emu::generate(params);
    emu::RenderCtx ctx;
    ctx.athlete_id = params.athlete_id;
    ctx.samples = 50;
    std::string page = "[";
    std::vector<std::string> texts;
    for (size_t i = 0; i < gen.activities.size(); ++i) {
      const emu::Activity& a = gen.activities[i];
      const emu::ojson summary = emu::summary_json(a, ctx);
      // As the emulator sends it, and as other servers might: indented, ASCII-escaped.
      texts.push_back(summary.dump());
      if (i % 10 == 0) {
        texts.push_back(summary.dump(4));
        texts.push_back(summary.dump(-1, ' ', true));
        texts.push_back(emu::detail_json(a, ctx).dump());
        texts.push_back(emu::detail_json(a, ctx).dump(1, '\t', true));
      }
      page += (i ? "," : "") + summary.dump();
    }
    page += "]";
    for (const std::string& text : texts) CheckText(text);

    // Through the listing's parser and MeasureRow (as the sync does), and
    // through RowFromJson on nlohmann's reading: the same sizes for the
    // same activity.
    auto rows = ParseActivityPage(page);
    INFO(rows.status().message());
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == gen.activities.size());
    for (ActivityRow& row : *rows) {
      INFO("activity " << row.id);
      CHECK(row.json_size == -1);  // the model does not measure files
      MeasureRow(row);
      CHECK(row.json_size == Rendered(row.json));
      CHECK(row.csv_row_size == static_cast<int64_t>(ActivityCsvRow(CsvValues(row.columns)).size()));
      auto again = RowFromJson(Json::parse(row.json));
      REQUIRE(again.ok());
      const RowSizes slow = SizesOf(*again);
      CHECK(slow.json == row.json_size);
      CHECK(slow.csv_row == row.csv_row_size);
      CHECK(ActivityCsvRowSize(row.columns) == static_cast<int64_t>(ActivityCsvRow(CsvValues(row.columns)).size()));
      CHECK(ActivityCsvRowSize(row.columns) == static_cast<int64_t>(ActivityCsvRow(*again).size()));
    }
  }
}

// --- hostile text -------------------------------------------------------------------------

TEST_CASE("JsonFileSizeOfDom: hostile strings, numbers and shapes", "[fs_sizes]") {
  const std::vector<std::string> corpus = {
      // Shapes.
      "{}",
      "[]",
      "null",
      "true",
      "false",
      "0",
      R"("")",
      "[[]]",
      "[{}]",
      R"({"a":{}})",
      R"({"a":[]})",
      R"({"a":[[],{},[[{}]]]})",
      " \n\t{ \"a\" : [ 1 , 2 ] } \r\n",
      R"([null,true,false,"x",1,-1,1.5])",
      R"({"a":{"b":{"c":{"d":{"e":{"f":[1,[2,[3,[4]]]]}}}}}})",
      // Every escape, control characters (U+007F is not escaped), slash.
      R"("\" \\ \/ \b \f \n \r \t")",
      R"("\u0000\u0001\u0007\u000b\u000e\u001f\u007f\u0080\u009f")",
      "\"\x7f\"",
      R"({"\n\u0000key\t":"v","\"":"\\"})",
      // Unicode, raw and escaped: BMP, astral (surrogate pairs), emoji sequences, bidi, BOM.
      "\"Café «Ride» 🚴 Überlänge 日本語 العربية\"",
      R"("\u00e9\u20ac\ud83c\udfc3\u200d\u2640\ufe0f")",
      R"("\u202e\u2066\ufeff\uffff\ufffd")",
      "\"\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa\"",
      // Integers: nlohmann reads "5" unsigned, "-5" signed, and prints both plain.
      "5",
      "-5",
      "-0",
      "9223372036854775807",
      "9223372036854775808",
      "18446744073709551615",
      "-9223372036854775808",
      "-9223372036854775807",
      "10",
      "-10",
      "1000000000000000000",
      // Floats: nlohmann keeps them floats ("5.0") with its own to_chars.
      "5.0",
      "-0.0",
      "0.0",
      "0.1",
      "-0.1",
      "1e21",
      "1e20",
      "1e300",
      "5e-324",
      "-5e-324",
      "2.2250738585072014e-308",
      "1.7976931348623157e308",
      "-1.7976931348623157e308",
      "1e-400",
      "-1e-400",
      "1E+2",
      "1e-7",
      "0.0001",
      "0.00001",
      "123456789012345678.0",
      "1.5e3",
      "12.0",
      "100e-2",
      "4.35",
      "0.30000000000000004",
      "1234567890123456789012345678901234567890.0",
      "1e15",
      "1e16",
      "1e17",
      "-1e16",
      "9007199254740993.0",
      // Whole floats around where nlohmann's to_chars switches to an exponent.
      "1e14",
      "100000000000000.0",
      "999999999999999.0",
      "-999999999999999.0",
      "1000000000000000.0",
      "4503599627370496.0",
      "9007199254740992.0",
      "123e12",
      "7.0",
      "-7.0",
      "1e0",
      "10.0",
      "100.0",
      // A listing element with everything at once.
      R"({"id":1,"name":"\"quoted\", comma\n\u0001 \ud83c\udfc3","distance":5012.3,"elapsed_time":1512.0,)"
      R"("x":-0.0,"start_latlng":[],"map":{"summary_polyline":"ab\\cd\"ef"},"big":18446744073709551615})",
  };
  for (const std::string& text : corpus) CheckText(text);
}

TEST_CASE("JsonFileSizeOfDom: a repeated key counts once, with its last value", "[fs_sizes]") {
  for (const std::string text :
       {R"({"a":1,"a":22})", R"({"a":"long value here","b":2,"a":3})", R"({"a":{"x":[1,2,3]},"a":null})",
        R"({"a":1,"b":2,"a":3,"b":{},"a":[]})", R"({"a":{"a":1,"a":2},"b":[{"c":1,"c":"two"}]})",
        R"({"a":1,"a":1,"a":1,"a":1})", R"({"\u0061":1,"a":2})"}) {
    CheckText(text);
  }
  // Many keys: the hash filter's collisions must not hide a repeat or invent one.
  std::string wide = "{";
  for (int i = 0; i < 3000; ++i) wide += "\"k" + std::to_string(i % 2000) + "\":" + std::to_string(i) + ",";
  wide += "\"end\":true}";
  CheckText(wide);
}

// --- random documents ------------------------------------------------------------------------

// Writes random JSON text: every value kind, random whitespace, keys from a
// small pool so objects repeat them, strings from every escape and byte class.
class RandomJson {
 public:
  explicit RandomJson(uint64_t seed) : rng_(seed) {}

  std::string Document() {
    std::string out;
    Space(out);
    Value(out, 0);
    Space(out);
    return out;
  }

 private:
  uint64_t Next() { return rng_(); }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

  void Space(std::string& out) {
    static const char* kSpaces[] = {"", "", "", " ", "\n", "\t", "\r\n  ", "   "};
    out += kSpaces[Below(8)];
  }

  void Value(std::string& out, int depth) {
    const size_t kind = Below(depth >= 5 ? 6 : 9);
    switch (kind) {
      case 0:
        out += "null";
        break;
      case 1:
        out += Below(2) ? "true" : "false";
        break;
      case 2:
        Integer(out);
        break;
      case 3:
        Float(out);
        break;
      case 4:
      case 5:
        String(out);
        break;
      case 6:
      case 7:
        Object(out, depth);
        break;
      default:
        Array(out, depth);
        break;
    }
  }

  void Object(std::string& out, int depth) {
    out += '{';
    const size_t n = Below(4) == 0 ? 0 : Below(8);
    for (size_t i = 0; i < n; ++i) {
      if (i) out += ',';
      Space(out);
      if (Below(3) == 0) {
        String(out);
      } else {
        static const char* kKeys[] = {"\"id\"", "\"name\"",    "\"a\"",   "\"b\"",
                                      "\"\"",   "\"\\u0061\"", "\"\\n\"", "\"é\""};
        out += kKeys[Below(8)];
      }
      Space(out);
      out += ':';
      Space(out);
      Value(out, depth + 1);
      Space(out);
    }
    out += '}';
  }

  void Array(std::string& out, int depth) {
    out += '[';
    const size_t n = Below(4) == 0 ? 0 : Below(8);
    for (size_t i = 0; i < n; ++i) {
      if (i) out += ',';
      Space(out);
      Value(out, depth + 1);
      Space(out);
    }
    out += ']';
  }

  void Integer(std::string& out) {
    switch (Below(6)) {
      case 0: {
        static const char* kEdges[] = {"0",
                                       "-0",
                                       "1",
                                       "-1",
                                       "9223372036854775807",
                                       "9223372036854775808",
                                       "18446744073709551615",
                                       "-9223372036854775808",
                                       "4294967296",
                                       "-4294967297"};
        out += kEdges[Below(10)];
        break;
      }
      case 1:
        out += std::to_string(Next());
        break;  // any uint64
      case 2:
        out += std::to_string(static_cast<int64_t>(Next()));
        break;  // any int64
      default:
        out += std::to_string(static_cast<int64_t>(Next() % 200001) - 100000);
        break;
    }
  }

  void Float(std::string& out) {
    char buf[64];
    switch (Below(7)) {
      case 0: {
        static const char* kEdges[] = {"1e300",
                                       "5e-324",
                                       "-0.0",
                                       "0.1",
                                       "1e21",
                                       "1e-400",
                                       "-1e-400",
                                       "0.0",
                                       "1E+2",
                                       "2.5E-3",
                                       "1.7976931348623157e308",
                                       "100.0",
                                       "123456789.0"};
        out += kEdges[Below(13)];
        break;
      }
      case 1: {  // any finite double, shortest and long forms
        double d;
        do {
          uint64_t bits = Next();
          std::memcpy(&d, &bits, sizeof d);
        } while (!std::isfinite(d));
        std::snprintf(buf, sizeof buf, Below(2) ? "%.17g" : "%.6e", d);
        out += buf;
        if (!std::strpbrk(buf, ".eE")) out += ".0";  // keep it a float, as written
        break;
      }
      case 2: {  // decimals as a server writes them
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(Below(7)),
                      (static_cast<double>(Next() % 2000001) - 1000000.0) / static_cast<double>(1 + Below(1000)));
        out += buf;
        if (!std::strchr(buf, '.')) out += ".0";
        break;
      }
      case 3: {  // mantissa and exponent
        out += (Below(2) ? "-" : "") + std::to_string(Next() % 100000);
        if (Below(2)) out += "." + std::to_string(Next() % 1000);
        out += Below(2) ? "e" : "E";
        out += Below(3) == 0 ? "+" : Below(2) ? "-" : "";
        out += std::to_string(Below(330));
        break;
      }
      case 4: {  // whole floats of every size, up to past 1e15
        const int digits = 1 + static_cast<int>(Below(18));
        uint64_t limit = 1;
        for (int i = 0; i < digits; ++i) limit *= 10;
        out += (Below(2) ? "-" : "") + std::to_string(Next() % limit) + (Below(2) ? ".0" : "e0");
        break;
      }
      default: {  // whole floats: "12.0" must print "12.0"
        out += std::to_string(static_cast<int64_t>(Next() % 100000) - 50000) + ".0";
        break;
      }
    }
  }

  void String(std::string& out) {
    out += '"';
    const size_t n = Below(4) == 0 ? 0 : Below(24);
    for (size_t i = 0; i < n; ++i) {
      switch (Below(12)) {
        case 0: {
          static const char* kEscapes[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
          out += kEscapes[Below(8)];
          break;
        }
        case 1: {  // \u00XX control characters and DEL
          char buf[8];
          const unsigned cp = Below(3) == 0 ? 0x7f : static_cast<unsigned>(Below(0x20));
          std::snprintf(buf, sizeof buf, "\\u%04x", cp);
          out += buf;
          break;
        }
        case 2: {  // \u escapes of the BMP (no surrogates) and astral pairs
          char buf[16];
          if (Below(2)) {
            unsigned cp;
            do cp = static_cast<unsigned>(Below(0x10000));
            while (cp >= 0xd800 && cp <= 0xdfff);
            std::snprintf(buf, sizeof buf, Below(2) ? "\\u%04x" : "\\u%04X", cp);
          } else {
            const unsigned cp = 0x10000 + static_cast<unsigned>(Below(0x100000));
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
                          0xdc00 + ((cp - 0x10000) & 0x3ff));
          }
          out += buf;
          break;
        }
        case 3: {  // raw UTF-8: 2, 3 and 4 bytes, DEL
          static const char* kRaw[] = {"é", "ß", "€", "日", "\u200d", "\u202e", "🏃", "🇩🇪", "\x7f", "\xef\xbf\xbf"};
          out += kRaw[Below(10)];
          break;
        }
        default: {  // printable ASCII; quote and backslash only escaped, above
          const char c = static_cast<char>(0x20 + Below(0x5f));
          out += c == '"' || c == '\\' ? 'x' : c;
          break;
        }
      }
    }
    out += '"';
  }

  std::mt19937_64 rng_;
};

TEST_CASE("JsonFileSizeOfDom matches RenderJsonFile on random documents", "[fs_sizes]") {
  RandomJson random(20261123);
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string text = random.Document();
    INFO("text: " << text);
    const int64_t walked = Walked(text);
    const Json parsed = Json::parse(text, nullptr, false);
    if (walked < 0) {
      // simdjson refuses numbers out of its range; nlohmann may read them as floats.
      continue;
    }
    REQUIRE_FALSE(parsed.is_discarded());
    CHECK(walked == static_cast<int64_t>(RenderJsonFile(parsed).size()));
    ++checked;
  }
  CHECK(checked > 19000);
}

TEST_CASE("ActivityCsvRowSize: numbers of every size and shape", "[fs_sizes]") {
  std::mt19937_64 rng(9);
  std::vector<ColumnValue> row(ActivityColumns().size());
  std::vector<ColumnValue*> reals;
  for (size_t i = 0; i < row.size(); ++i)
    if (ActivityColumns()[i].type == ColumnType::kReal) reals.push_back(&row[i]);
  REQUIRE(reals.size() > 10);
  for (int round = 0; round < 20000; ++round) {
    for (ColumnValue* v : reals) {
      v->kind = ColumnValue::kReal;
      const uint64_t digits = 1 + rng() % 19;
      uint64_t limit = 1;
      for (uint64_t i = 0; i < digits; ++i) limit *= 10;
      const double sign = rng() % 2 ? -1.0 : 1.0;
      switch (rng() % 4) {
        case 0:
          v->d = sign * static_cast<double>(rng() % limit);
          break;  // whole
        case 1:
          v->d = sign * static_cast<double>(rng() % 100) * std::pow(10.0, rng() % 20);
          break;  // 1.2e+07
        case 2:
          v->d = sign * static_cast<double>(rng() % limit) / std::pow(10.0, rng() % 8);
          break;  // decimals
        default: {
          uint64_t bits = rng();
          std::memcpy(&v->d, &bits, sizeof v->d);  // anything, NaN included
        }
      }
    }
    INFO("first real " << reals[0]->d);
    REQUIRE(ActivityCsvRowSize(row) == static_cast<int64_t>(ActivityCsvRow(CsvValues(row)).size()));
  }
}

// --- the other sizes -----------------------------------------------------------------------

TEST_CASE("JsonFileSize and JsonFileSizeOfText are RenderJsonFile's length", "[fs_sizes]") {
  Json j = Json::object();
  j["name"] = "\xff\xfe bad UTF-8 \xc3";  // replaced by U+FFFD when rendered
  j["nested"] = {{"empty", Json::object()}, {"list", Json::array({1, -2, 3.5, nullptr, true})}};
  j["nan"] = std::nan("");
  CHECK(JsonFileSize(j) == static_cast<int64_t>(RenderJsonFile(j).size()));
  CHECK(JsonFileSize(Json::object()) == 3);  // "{}\n"
  CHECK(JsonFileSizeOfText(R"({"a": [1, 2.0]})") == Rendered(R"({"a": [1, 2.0]})"));
  CHECK(JsonFileSizeOfText("not json") ==
        static_cast<int64_t>(RenderJsonFile(Json::parse("not json", nullptr, false)).size()));
}

TEST_CASE("ActivityCsvRowSize is ActivityCsvRow's length for any values", "[fs_sizes]") {
  std::mt19937_64 rng(5);
  const std::vector<std::string> texts = {"",
                                          "plain",
                                          "a,b",
                                          "say \"hi\"",
                                          "line\r\nbreak",
                                          "lf\nonly",
                                          " lead",
                                          "trail ",
                                          "\ttab",
                                          "tab\t",
                                          "\xff\xfe bad",
                                          "ok \xc3",
                                          "Café 🚴",
                                          std::string("nul\0byte", 8),
                                          "\"",
                                          ",",
                                          " ",
                                          "\xed\xa0\x80 surrogate"};
  const std::vector<double> reals = {0.0,
                                     -0.0,
                                     0.1,
                                     1e21,
                                     1e-7,
                                     5e-324,
                                     -1.7976931348623157e308,
                                     12.0,
                                     1e300,
                                     std::nan(""),
                                     std::numeric_limits<double>::infinity(),
                                     -3.5,
                                     1000,
                                     10000,
                                     100000,
                                     1e6,
                                     -1e6,
                                     123000,
                                     1.2e7,
                                     999999,
                                     0x1p53 - 1,
                                     0x1p53,
                                     0x1p53 + 2,
                                     1e15};
  const std::vector<int64_t> ints = {0, 1, -1, INT64_MIN, INT64_MAX, 1000000, -42};
  const size_t columns = ActivityColumns().size();
  for (int round = 0; round < 5000; ++round) {
    std::vector<ColumnValue> row(columns);
    for (ColumnValue& v : row) {
      switch (rng() % 4) {
        case 0:
          break;
        case 1:
          v.kind = ColumnValue::kInt, v.i = ints[rng() % ints.size()];
          break;
        case 2:
          v.kind = ColumnValue::kReal, v.d = reals[rng() % reals.size()];
          break;
        default:
          v.kind = ColumnValue::kText, v.s = texts[rng() % texts.size()];
          break;
      }
    }
    CHECK(ActivityCsvRowSize(row) == static_cast<int64_t>(ActivityCsvRow(CsvValues(row)).size()));
  }
}

}  // namespace
}  // namespace stravafs
