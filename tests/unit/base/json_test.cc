// Tests of base/json.h: the one depth limit on every JSON read (issue 15).
#include "base/json.h"

#include <catch2/catch.hpp>

#include <string>

namespace stravafs {
namespace {

std::string Nested(size_t depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST_CASE("JsonDepthWithin counts arrays and objects, not brackets in strings", "[json]") {
  CHECK(JsonDepthWithin("", 0));
  CHECK(JsonDepthWithin("1", 0));
  CHECK_FALSE(JsonDepthWithin("[]", 0));
  CHECK(JsonDepthWithin("[]", 1));
  CHECK(JsonDepthWithin(Nested(128), 128));
  CHECK_FALSE(JsonDepthWithin(Nested(129), 128));
  CHECK(JsonDepthWithin(R"({"a":[1,{"b":[]}],"c":{}})", 4));
  CHECK_FALSE(JsonDepthWithin(R"({"a":[1,{"b":[]}],"c":{}})", 3));
  // Siblings do not add up.
  CHECK(JsonDepthWithin("[[1],[2],[3],{\"x\":[4]}]", 3));
  CHECK_FALSE(JsonDepthWithin("[[1],[2],[3],{\"x\":[4]}]", 2));
  // Brackets inside strings, escaped quotes and backslashes included.
  CHECK(JsonDepthWithin(R"(["[[[[{{{{", "\"[[[[", "\\", "]]]]"])", 1));
  CHECK_FALSE(JsonDepthWithin(R"(["\\", [[1]]])", 2));
  // Unbalanced text is not this function's business, and never underflows.
  CHECK(JsonDepthWithin("]]]]][", 1));
  CHECK(JsonDepthWithin("\"unterminated [[[[", 0));
}

TEST_CASE("ParseJson refuses nesting beyond kMaxJsonDepth and parses the rest", "[json][bug]") {
  CHECK(ParseJson(Nested(kMaxJsonDepth)).is_array());
  CHECK(ParseJson(Nested(kMaxJsonDepth - 1, "{\"a\":1}")).is_array());
  CHECK(ParseJson(Nested(kMaxJsonDepth, "{\"a\":1}")).is_discarded());
  CHECK(ParseJson(Nested(kMaxJsonDepth + 1)).is_discarded());
  // The reply that crashed the sync: 100,000 nested arrays beside an integer
  // beyond 64 bits (which sends a listing page from simdjson to nlohmann).
  const std::string hostile = "[{\"id\":1,\"x\":123456789012345678901234567890,\"deep\":" + Nested(100000) + "}]";
  CHECK(ParseJson(hostile).is_discarded());
  CHECK(ParseJson("{\"a\":1,,}").is_discarded());
  // [bug] nlohmann stops at a NUL byte: what follows it was never read.
  CHECK(ParseJson(std::string("{\"a\":1}\0junk", 12)).is_discarded());
  CHECK(ParseJson(std::string("[1,\0 2]", 7)).is_discarded());
  CHECK(ParseJson("{\"a\":\"\\u0000\"}")["a"] == std::string(1, '\0'));  // an escaped NUL is fine
  CHECK(ParseJson("").is_discarded());
  const Json ok = ParseJson(R"({"name":"[[[[","n":[1,[2]]})");
  REQUIRE(ok.is_object());
  CHECK(ok["name"] == "[[[[");
  CHECK(ok.dump() == R"({"name":"[[[[","n":[1,[2]]})");
}

}  // namespace
}  // namespace stravafs
