// Tests for import/csv.cc: RFC 4180 records from a buffer and from chunks,
// the lenient cases the contract defines, and header lookup by occurrence.
#include "import/csv.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace stravafs::import {
namespace {

using Rows = std::vector<std::vector<std::string>>;

struct Parsed {
  Rows rows;
  std::vector<int64_t> lines;  // the start line of each record
  std::string error;           // "" when the whole input was read
};

Parsed ReadAll(CsvReader& reader) {
  Parsed p;
  std::vector<std::string> fields;
  for (;;) {
    Result<bool> got = reader.Next(fields);
    if (!got.ok()) {
      p.error = got.status().message();
      return p;
    }
    if (!*got) return p;
    p.rows.push_back(fields);
    p.lines.push_back(reader.line());
  }
}

Parsed Parse(std::string_view text) {
  CsvReader reader(text);
  return ReadAll(reader);
}

// The same input fed in chunks of `size` bytes.
Parsed ParseChunked(std::string_view text, size_t size) {
  size_t pos = 0;
  CsvReader reader([text, size, pos]() mutable -> Result<std::string_view> {
    const std::string_view chunk = text.substr(pos, size);
    pos += chunk.size();
    return chunk;
  });
  return ReadAll(reader);
}

TEST_CASE("CsvReader: plain records, with or without a final line end", "[csv]") {
  const Rows want = {{"a", "b", "c"}, {"1", "2", "3"}};
  CHECK(Parse("a,b,c\n1,2,3\n").rows == want);
  CHECK(Parse("a,b,c\n1,2,3").rows == want);
  CHECK(Parse("a,b,c\r\n1,2,3\r\n").rows == want);
  CHECK(Parse("a,b,c\r\n1,2,3").rows == want);
  CHECK(Parse("a,b,c\r1,2,3\r").rows == want);  // old Mac line ends
  CHECK(Parse("").rows.empty());
  CHECK(Parse("\n\r\n\n").rows.empty());
}

TEST_CASE("CsvReader: empty fields", "[csv]") {
  CHECK(Parse(",,\n").rows == Rows{{"", "", ""}});
  CHECK(Parse("a,\n").rows == Rows{{"a", ""}});
  CHECK(Parse("a,").rows == Rows{{"a", ""}});
  CHECK(Parse(",a").rows == Rows{{"", "a"}});
  CHECK(Parse("\"\",x\n").rows == Rows{{"", "x"}});
  CHECK(Parse("\"\"").rows == Rows{{""}});
  CHECK(Parse("a,\r\nb,\"\"\r\n").rows == Rows{{"a", ""}, {"b", ""}});
}

TEST_CASE("CsvReader: quoted fields hold separators, line ends and doubled quotes", "[csv]") {
  const std::string text =
      "id,desc\n"
      "1,\"Felt \"\"great\"\",\nfueled every 30\"\n"
      "2,\"a\r\nb\"\r\n"
      "3,\"\"\"\"\n";
  const Parsed p = Parse(text);
  REQUIRE(p.error.empty());
  CHECK(p.rows == Rows{{"id", "desc"},
                       {"1", "Felt \"great\",\nfueled every 30"},
                       {"2", "a\r\nb"},  // kept as written
                       {"3", "\""}});
  CHECK(p.lines == std::vector<int64_t>{1, 2, 4, 6});
}

TEST_CASE("CsvReader: blank lines are skipped and counted", "[csv]") {
  const Parsed p = Parse("a\n\n\r\nb\r\n\r\n\"c\nd\"\n\ne");
  CHECK(p.rows == Rows{{"a"}, {"b"}, {"c\nd"}, {"e"}});
  CHECK(p.lines == std::vector<int64_t>{1, 4, 6, 9});
}

TEST_CASE("CsvReader: a leading BOM is dropped, also before a quote", "[csv]") {
  CHECK(Parse("\xEF\xBB\xBF"
              "a,b\n1,2\n")
            .rows == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(Parse("\xEF\xBB\xBF\"Activity ID\",x\n").rows == Rows{{"Activity ID", "x"}});
  CHECK(Parse("\xEF\xBB\xBF").rows.empty());
  // Only at the very start; later it is data.
  CHECK(Parse("a\n\xEF\xBB\xBF"
              "b\n")
            .rows == Rows{{"a"},
                          {"\xEF\xBB\xBF"
                           "b"}});
  // A partial BOM is not one: its bytes stay.
  CHECK(Parse("\xEF\xBB"
              "x,y\n")
            .rows == Rows{{"\xEF\xBB"
                           "x",
                           "y"}});
  CHECK(Parse("\xEF").rows == Rows{{"\xEF"}});
}

TEST_CASE("CsvReader: lone quotes have a defined meaning", "[csv]") {
  // Inside an unquoted field a quote is an ordinary character.
  CHECK(Parse("5'10\",ab\"cd,x\n").rows == Rows{{"5'10\"", "ab\"cd", "x"}});
  // After a closing quote, the rest of the field is kept without the quote.
  CHECK(Parse("\"ab\"cd,x\n").rows == Rows{{"abcd", "x"}});
  CHECK(Parse("\"ab\" ,x\n").rows == Rows{{"ab ", "x"}});
}

TEST_CASE("CsvReader: an unterminated quote is an error naming the line, and stays one", "[csv]") {
  CsvReader reader("a,b\n1,2\n3,\"never\nclosed,\n");
  const Parsed p = ReadAll(reader);
  CHECK(p.rows == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(p.error.find("line 3") != std::string::npos);
  CHECK(p.error.find("never closed") != std::string::npos);
  std::vector<std::string> fields;
  CHECK_FALSE(reader.Next(fields).ok());  // sticky
}

TEST_CASE("CsvReader: bytes pass through, NUL included", "[csv]") {
  const std::string text("a\0b,\xF0\x9F\x8F\x83\n", 9);
  CHECK(Parse(text).rows == Rows{{std::string("a\0b", 3), "\xF0\x9F\x8F\x83"}});
}

TEST_CASE("CsvReader: every chunking gives the same records as one buffer", "[csv]") {
  const std::string text =
      "\xEF\xBB\xBF"
      "Activity ID,\"Activity Name\",Activity Description\r\n"
      "1,\"Run, easy\",\"line one\r\nline \"\"two\"\" \xF0\x9F\x8F\x83\"\r\n"
      "\r\n"
      "2,plain,\"\"\r\n"
      "3,\"x\"y,ab\"c\r"
      "4,,\n"
      "5,last,\"\"\"\"";
  const Parsed whole = Parse(text);
  REQUIRE(whole.error.empty());
  REQUIRE(whole.rows.size() == 6);
  CHECK(whole.rows[1][2] == "line one\r\nline \"two\" \xF0\x9F\x8F\x83");
  for (size_t size = 1; size <= text.size(); ++size) {
    INFO("chunk size " << size);
    const Parsed chunked = ParseChunked(text, size);
    CHECK(chunked.error.empty());
    CHECK(chunked.rows == whole.rows);
    CHECK(chunked.lines == whole.lines);
  }
}

TEST_CASE("CsvReader: a failing source is the reader's error", "[csv]") {
  int calls = 0;
  CsvReader reader([&calls]() -> Result<std::string_view> {
    if (calls++ == 0) return std::string_view("a,b\nc,");
    return Status::Error(ErrorKind::kGeneric, "zip entry truncated");
  });
  const Parsed p = ReadAll(reader);
  CHECK(p.rows == Rows{{"a", "b"}});
  CHECK(p.error == "zip entry truncated");
}

TEST_CASE("CsvReader: a record past the size limit is an error, not unbounded memory", "[csv]") {
  const std::string block(1u << 20, 'x');
  size_t sent = 0;
  CsvReader reader([&]() -> Result<std::string_view> {
    if (sent++ == 0) return std::string_view("id,desc\n1,\"");
    return std::string_view(block);  // a quote that never closes
  });
  std::vector<std::string> fields;
  REQUIRE(reader.Next(fields).ok());
  Result<bool> got = reader.Next(fields);
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().message().find("line 2") != std::string::npos);
  CHECK(got.status().message().find("64 MiB") != std::string::npos);
  CHECK(sent <= (CsvReader::kMaxRecordBytes >> 20) + 3);
}

TEST_CASE("CsvHeader: columns by name and occurrence", "[csv]") {
  const CsvHeader h(
      {"\xEF\xBB\xBF"
       "Activity ID",
       " Distance ", "Elapsed Time", "distance", "Max Heart Rate"});
  CHECK(h.Find("Activity ID") == 0u);
  CHECK(h.Find("Distance") == 1u);
  CHECK(h.Find("Distance", 1) == 3u);  // ASCII case does not matter
  CHECK_FALSE(h.Find("Distance", 2));
  CHECK_FALSE(h.Find("Moving Time"));
  CHECK(h.name(1) == "Distance");
  CHECK(h.Describe(3) == "Activity ID, Distance, Elapsed Time, ...");
  CHECK(CsvHeader().Describe() == "(none)");
}

}  // namespace
}  // namespace stravafs::import
