// The one JSON type and the one way to read JSON text.
//
// Every JSON text stravafs reads (Strava's replies, rows of the cache, its
// own state) goes through ParseJson, which refuses nesting deeper than
// kMaxJsonDepth before nlohmann sees the text: nlohmann parses any depth but
// dumps, compares and copies recursively, so a reply of 100,000 nested arrays
// crashed the sync, the mount daemon and the extension's hosts (issue 15).
// Strava's deepest replies nest about 6 levels.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace stravafs {

using Json = nlohmann::ordered_json;  // ordered: the stored JSON keeps Strava's field order

inline constexpr size_t kMaxJsonDepth = 128;

// Whether the arrays and objects of `text` nest at most `limit` deep (text
// inside strings, escapes included, does not count). Any text is accepted:
// this says nothing about whether it is valid JSON.
bool JsonDepthWithin(std::string_view text, size_t limit = kMaxJsonDepth);

// Whether `v` is a JSON integer that fits in int64_t. nlohmann holds
// non-negative integers as uint64_t: get<int64_t>() wraps those above
// INT64_MAX to negative numbers, so check this first.
bool FitsInt64(const Json& v);

// A simdjson parser (dom::parser or ondemand::parser) held to kMaxJsonDepth:
// it keeps the depth it was first allocated with when it grows.
template <typename Parser>
Parser DepthLimitedParser() {
  Parser parser;
  // Out of memory here, parse() tries (and fails) to allocate again.
  [[maybe_unused]] const auto allocated = parser.allocate(4096, kMaxJsonDepth);
  return parser;
}

// The value of `text`, or a discarded value (is_discarded()) when it is not
// JSON, holds a NUL byte, or nests deeper than kMaxJsonDepth. Never throws
// on bad input.
Json ParseJson(std::string_view text);

}  // namespace stravafs
