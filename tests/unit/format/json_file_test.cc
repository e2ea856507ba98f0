// The .json files' format (format/json_file.h): exact bytes for every
// construct, the number layout, and nlohmann's dump(2) as an independent
// oracle: over every activity the emulator's generator makes, our file and
// nlohmann's differ only in number tokens that read back as the same double,
// and ours are never the longer.
#include "format/json_file.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../../emulator/render.h"

namespace stravafs {
namespace {

// `s` read as one whole double; nullopt if it is not one.
std::optional<double> ReadDouble(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return d;
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Whether two files are the same but for number tokens that read as the
// same double; counts those tokens in `numbers_differ`.
bool SameButNumbers(const std::string& ours, const std::string& theirs, int& numbers_differ) {
  const auto a = Lines(ours), b = Lines(theirs);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    // The token: from the first differing byte back to the start of a number,
    // up to the end of the line without its ",".
    size_t start = 0;
    while (start < a[i].size() && start < b[i].size() && a[i][start] == b[i][start]) ++start;
    while (start > 0 && std::strchr("-0123456789.eE+", a[i][start - 1])) --start;
    auto token = [&](const std::string& line) {
      std::string t = line.substr(start);
      if (!t.empty() && t.back() == ',') t.pop_back();
      return t;
    };
    const auto x = ReadDouble(token(a[i])), y = ReadDouble(token(b[i]));
    if (!x || !y || !SameBits(*x, *y) || token(a[i]).size() > token(b[i]).size()) return false;
    ++numbers_differ;
  }
  return true;
}

TEST_CASE("A .json file: every construct, byte for byte", "[json_file]") {
  const std::string text =
      R"({"id":12,"big":18446744073709551615,"neg":-9223372036854775808,"name":"Tab\there \"q\" \\ \u0001 é 🏃",)"
      R"("ctl":"\b\f\n\r\u001f\u007f","empty":{},"none":[],"flags":[true,false,null],)"
      R"("nested":{"a":[1,[2.5,{}]],"b":"x"},"dup":1,"x":0.5,"dup":{"last":true}})";
  const std::string expected =
      "{\n"
      "  \"id\": 12,\n"
      "  \"big\": 18446744073709551615,\n"
      "  \"neg\": -9223372036854775808,\n"
      "  \"name\": \"Tab\\there \\\"q\\\" \\\\ \\u0001 é 🏃\",\n"
      "  \"ctl\": \"\\b\\f\\n\\r\\u001f\x7f\",\n"
      "  \"empty\": {},\n"
      "  \"none\": [],\n"
      "  \"flags\": [\n"
      "    true,\n"
      "    false,\n"
      "    null\n"
      "  ],\n"
      "  \"nested\": {\n"
      "    \"a\": [\n"
      "      1,\n"
      "      [\n"
      "        2.5,\n"
      "        {}\n"
      "      ]\n"
      "    ],\n"
      "    \"b\": \"x\"\n"
      "  },\n"
      "  \"dup\": {\n"
      "    \"last\": true\n"
      "  },\n"
      "  \"x\": 0.5\n"
      "}\n";
  CHECK(RenderJsonText(text) == expected);
  CHECK(JsonFileSizeOfText(text) == static_cast<int64_t>(expected.size()));
  CHECK(RenderJsonFile(Json::parse(text)) == expected);  // nlohmann keeps a repeated key the same way
  CHECK(JsonFileSize(Json::parse(text)) == static_cast<int64_t>(expected.size()));
}

TEST_CASE("A .json file: what simdjson refuses", "[json_file]") {
  // An integer beyond 64 bits: read as ParseJson reads it, a double.
  const std::string beyond = R"({"n": 18446744073709551616})";
  CHECK(RenderJsonText(beyond) == "{\n  \"n\": 1.8446744073709552e+19\n}\n");
  CHECK(JsonFileSizeOfText(beyond) == static_cast<int64_t>(RenderJsonText(beyond).size()));
  // Not JSON, or nested past kMaxJsonDepth: an empty object.
  const std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  for (const std::string& bad : {std::string("not json"), std::string("{\"a\":"), deep, std::string("{}\0x", 4)}) {
    CHECK(RenderJsonText(bad) == "{}\n");
    CHECK(JsonFileSizeOfText(bad) == 3);
  }
  CHECK(RenderJsonFile(Json::object()) == "{}\n");
}

TEST_CASE("A .json file: how numbers that are not integers are written", "[json_file]") {
  const std::vector<std::pair<double, std::string>> cases = {
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {5.0, "5.0"},
      {-42.0, "-42.0"},
      {0.1, "0.1"},
      {0.5, "0.5"},
      {123.456, "123.456"},
      {52.520008, "52.520008"},
      {0.0001, "0.0001"},
      {0.00012, "0.00012"},
      {0.00001, "1e-05"},
      {-2.5e-7, "-2.5e-07"},
      {999999999999999.0, "999999999999999.0"},
      {1e15, "1e+15"},
      {1.5e16, "1.5e+16"},
      {123456789012345.6, "123456789012345.6"},
      {1234567890123456.7, "1.2345678901234568e+15"},
      {1e100, "1e+100"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.00070936797, "0.00070936797"},  // Grisu2: 0.0007093679699999999
  };
  for (const auto& [value, text] : cases) {
    INFO(text);
    CHECK(FormatJsonDouble(value) == text);
  }
  CHECK(FormatJsonDouble(std::nan("")) == "null");
  CHECK(FormatJsonDouble(INFINITY) == "null");
}

TEST_CASE("A .json file: every double reads back exactly, laid out as nlohmann does, never longer", "[json_file]") {
  std::mt19937_64 rng(2026);
  int shorter = 0;
  for (int i = 0; i < 200000; ++i) {
    double d;
    const uint64_t bits = rng();
    if (i % 2) {
      std::memcpy(&d, &bits, sizeof d);  // any double
      if (!std::isfinite(d)) continue;
    } else {  // a decimal with a few digits, as Strava's numbers are
      d = static_cast<double>(static_cast<int64_t>(bits % 200000000) - 100000000) / std::pow(10.0, rng() % 12);
    }
    const std::string ours = FormatJsonDouble(d), theirs = Json(d).dump();
    INFO(ours << " nlohmann " << theirs);
    const auto back = ReadDouble(ours);
    REQUIRE(back);
    REQUIRE(SameBits(*back, d));
    REQUIRE(ours.size() <= theirs.size());
    // The same layout: an exponent or none, a decimal point or none.
    REQUIRE((ours.find('e') == std::string::npos) == (theirs.find('e') == std::string::npos));
    REQUIRE((ours.find('.') == std::string::npos) == (theirs.find('.') == std::string::npos));
    shorter += ours.size() < theirs.size();
  }
  // Grisu2 misses the shortest digits now and then; not often.
  CHECK(shorter > 0);
  CHECK(shorter < 1000);
}

TEST_CASE("A .json file of every generated activity is nlohmann's dump(2) up to shorter numbers", "[json_file]") {
  emu::GenParams params;
  params.count = 1500;
  params.seed = 7;
  params.end = 1767225600;  // 2026-01-01
  const emu::Generated gen = emu::generate(params);
  emu::RenderCtx ctx;
  ctx.athlete_id = params.athlete_id;
  ctx.samples = 50;
  int files = 0, numbers_differ = 0;
  for (size_t i = 0; i < gen.activities.size(); ++i) {
    std::vector<emu::ojson> docs = {emu::summary_json(gen.activities[i], ctx)};
    if (i % 5 == 0) docs.push_back(emu::detail_json(gen.activities[i], ctx));
    for (const emu::ojson& doc : docs) {
      const std::string text = doc.dump();
      const std::string ours = RenderJsonText(text);
      const std::string theirs = Json::parse(text).dump(2, ' ', false) + "\n";
      INFO(ours);
      REQUIRE(SameButNumbers(ours, theirs, numbers_differ));
      REQUIRE(JsonFileSizeOfText(text) == static_cast<int64_t>(ours.size()));
      ++files;
    }
  }
  CHECK(files == 1800);
  INFO(numbers_differ << " numbers shorter than nlohmann's");
  CHECK(numbers_differ < files);
}

}  // namespace
}  // namespace stravafs
