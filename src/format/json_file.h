// The .json files of the mount (<name>.json, athlete.json): the JSON the
// cache stores, written out for people and grep.
//
// The format is ours (tests/unit/format/json_file_test.cc pins it):
//   - two spaces of indent per level, every member and element on a line of
//     its own, `"key": value`; an empty object is {} and an empty array [];
//     a newline at the end;
//   - members in the order of the stored text; a key repeated in an object
//     is written once, where it first appears, with its last value (what
//     JSON readers that keep one value keep);
//   - strings as UTF-8, escaping only \" \\ \b \f \n \r \t and the other
//     control characters (\u001f);
//   - integers as they are; other numbers as the shortest digits that read
//     back as the same double, laid out as 12.0, 0.001, 123.456, 1e-05 and
//     1.5e+16 (plain from 1e-4 up to below 1e15, a whole number with ".0");
//     -0.0 stays "-0.0".
// Up to where the shortest digits differ from Grisu2's, which is rare, these
// are the bytes of nlohmann's dump(2) of the same value.
//
// One writer, over a sink (format/sink.h): a file's size is the count of the
// bytes the same writer would write. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"

// Declared rather than included: simdjson.h is large.
namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace stravafs {

// The file for a stored JSON text. Text simdjson refuses is read as
// ParseJson reads it (an integer beyond 64 bits becomes a double); text that
// is no JSON at all (which the cache never stores) is written as {}.
std::string RenderJsonText(std::string_view text);
// RenderJsonText(text).size(), without the string.
int64_t JsonFileSizeOfText(std::string_view text);
// The size of the file for a value simdjson has parsed.
int64_t JsonFileSizeOfDom(const simdjson::dom::element& value);

// The same for a Json built in memory (its dump(), read back).
std::string RenderJsonFile(const Json& j);
int64_t JsonFileSize(const Json& j);

// A number that is not an integer, as the files write it (see above).
std::string FormatJsonDouble(double value);

}  // namespace stravafs
