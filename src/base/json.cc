#include "base/json.h"

namespace stravafs {

bool JsonDepthWithin(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

bool FitsInt64(const Json& v) {
  return v.is_number_integer() && (!v.is_number_unsigned() || v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
}

Json ParseJson(std::string_view text) {
  // nlohmann 3.11 reads a NUL byte as the end of its input, so "{}\0junk"
  // parsed; no JSON text holds a raw NUL (strings escape it), and simdjson
  // refuses one: so do we.
  if (text.find('\0') != std::string_view::npos || !JsonDepthWithin(text)) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace stravafs
