// UTF-8 decoding and repair for the fs core (fs_names, fs_render).
//
// Every file the mount shows must be valid UTF-8, and every name must be, but
// the text comes from a cache that anything could have written. These helpers
// decode strictly (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF) and replace each byte that is not part of a valid sequence with
// U+FFFD, one replacement per bad byte, so the result is deterministic and
// the same bad input always gives the same output.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace stravafs {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

// One decoded code point. For an invalid byte, `valid` is false, `cp` is
// U+FFFD and `len` is 1, so callers always make progress.
struct Utf8Char {
  char32_t cp = 0;
  size_t len = 0;
  bool valid = false;
};

// Decodes the code point that starts at s[pos]; pos < s.size().
Utf8Char DecodeUtf8(std::string_view s, size_t pos);

// Appends `cp` (a Unicode scalar value) encoded as UTF-8.
void AppendUtf8(std::string& out, char32_t cp);

// `s` with every invalid byte replaced by U+FFFD; valid input comes back equal.
std::string ToValidUtf8(std::string_view s);

// The length of the longest prefix of `s` of at most `max` bytes that does
// not split a UTF-8 sequence (s.size() when it fits).
size_t Utf8Prefix(std::string_view s, size_t max);

// Text from outside (a server's error message) made safe for a terminal,
// a log line and the cache: valid UTF-8 (as ToValidUtf8), and every C0 or
// C1 control character and DEL written as \xNN or \u00NN, so an escape
// sequence shows as text instead of acting on the terminal.
std::string EscapeControls(std::string_view s);

}  // namespace stravafs
