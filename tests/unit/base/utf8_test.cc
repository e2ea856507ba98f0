// Tests for base/utf8.cc: strict decoding (RFC 3629) and the one-U+FFFD-per-bad-
// byte repair every generated name and file relies on.
#include "base/utf8.h"

#include <catch2/catch.hpp>
#include <string>

namespace stravafs {
namespace {

TEST_CASE("DecodeUtf8: one to four bytes", "[fs_utf8]") {
  const std::string s = "a\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x8F\x83";  // a é 東 🏃
  CHECK(DecodeUtf8(s, 0).cp == U'a');
  CHECK(DecodeUtf8(s, 1).cp == U'\u00E9');
  CHECK(DecodeUtf8(s, 1).len == 2);
  CHECK(DecodeUtf8(s, 3).cp == U'\u6771');
  CHECK(DecodeUtf8(s, 3).len == 3);
  CHECK(DecodeUtf8(s, 6).cp == U'\U0001F3C3');
  CHECK(DecodeUtf8(s, 6).len == 4);
  CHECK(DecodeUtf8(s, 6).valid);
}

TEST_CASE("DecodeUtf8: invalid sequences are one bad byte each", "[fs_utf8]") {
  for (const std::string bad : {"\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                "\xF5\x80\x80\x80", "\xFF", "\xE2\x82", "\xF0\x9F\x8F"}) {
    INFO(bad.size());
    const Utf8Char c = DecodeUtf8(bad, 0);
    CHECK_FALSE(c.valid);
    CHECK(c.len == 1);
    CHECK(c.cp == kReplacementCharacter);
  }
}

TEST_CASE("ToValidUtf8: valid text unchanged, bad bytes become U+FFFD", "[fs_utf8]") {
  CHECK(ToValidUtf8("Zo\xC3\xAB \xF0\x9F\x8F\x83") == "Zo\xC3\xAB \xF0\x9F\x8F\x83");
  CHECK(ToValidUtf8("") == "");
  CHECK(ToValidUtf8("a\xFF"
                    "b") ==
        "a\xEF\xBF\xBD"
        "b");
  // An overlong "/" must never decode to "/".
  CHECK(ToValidUtf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  // A truncated sequence at the end: one replacement per byte.
  CHECK(ToValidUtf8("x\xE2\x82") == "x\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(ToValidUtf8(std::string("a\0b", 3)) == std::string("a\0b", 3));  // NUL is valid UTF-8
}

TEST_CASE("AppendUtf8 round-trips the boundaries of every length", "[fs_utf8]") {
  for (char32_t cp : {U'\u0000', U'\u007F', U'\u0080', U'\u07FF', U'\u0800', U'\uD7FF', U'\uE000', U'\uFFFD',
                      U'\U00010000', U'\U0010FFFF'}) {
    std::string s;
    AppendUtf8(s, cp);
    const Utf8Char c = DecodeUtf8(s, 0);
    CHECK(c.valid);
    CHECK(c.cp == cp);
    CHECK(c.len == s.size());
  }
}

}  // namespace
}  // namespace stravafs
