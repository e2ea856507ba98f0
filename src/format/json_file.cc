#include "format/json_file.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "format/sink.h"

namespace stravafs {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Whether any byte of `w` is below 0x20, a quote or a backslash: a word
// with nothing to escape is copied whole. (Exact: never misses one.)
bool MayNeedEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  const auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  return ((w - kOnes * 0x20) & ~w & kHigh) | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'));
}

// The escape of byte `c`, or "" if it is written as it is.
std::string_view EscapeOf(unsigned char c) {
  static constexpr std::array<std::string_view, 32> kControl = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
      "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
      "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
      "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
  if (c < 0x20) return kControl[c];
  if (c == '"') return "\\\"";
  if (c == '\\') return "\\\\";
  return {};
}

// A string or key, quoted and escaped; `s` is valid UTF-8 (simdjson's).
template <typename Sink>
void WriteQuoted(std::string_view s, Sink& out) {
  out.Append('"');
  size_t run = 0, i = 0;  // run: start of the bytes not written yet
  while (i < s.size()) {
    if (s.size() - i >= 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (!MayNeedEscape(w)) {
        i += 8;
        continue;
      }
    }
    for (const size_t end = std::min(s.size(), i + 8); i < end; ++i) {
      const std::string_view escape = EscapeOf(static_cast<unsigned char>(s[i]));
      if (escape.empty()) continue;
      out.Append(s.substr(run, i - run));
      out.Append(escape);
      run = i + 1;
    }
  }
  out.Append(s.substr(run));
  out.Append('"');
}

// Writes `v` as the files write a number that is not an integer, into `buf`
// (32 bytes); returns the length.
size_t FormatDouble(double v, char* buf) {
  char* p = buf;
  if (!std::isfinite(v)) return std::memcpy(buf, "null", 4), 4;  // no JSON text holds one
  if (std::signbit(v)) *p++ = '-', v = -v;
  if (v == 0) return std::memcpy(p, "0.0", 3), static_cast<size_t>(p - buf) + 3;
  // A whole number below 1e15 (about a quarter of an activity's numbers):
  // its shortest digits are its own (it is below 2^53, so any other digits
  // are at least 1 away), and it is written plain with ".0".
  if (v < 1e15 && v == std::trunc(v)) {
    p = std::to_chars(p, buf + 32, static_cast<uint64_t>(v)).ptr;
    return std::memcpy(p, ".0", 2), static_cast<size_t>(p - buf) + 2;
  }
  // The shortest digits that read back as v: d[.ddd]e±XX.
  std::array<char, 32> sci;
  const char* end = std::to_chars(sci.data(), sci.data() + sci.size(), v, std::chars_format::scientific).ptr;
  const char* e = static_cast<const char*>(std::memchr(sci.data(), 'e', static_cast<size_t>(end - sci.data())));
  std::array<char, 20> digits;
  int k = 0;  // how many
  for (const char* q = sci.data(); q < e; ++q)
    if (*q != '.') digits[static_cast<size_t>(k++)] = *q;
  int exponent = 0;
  std::from_chars(e + 1 + (e[1] == '+'), end, exponent);
  const int n = exponent + 1;  // where the decimal point goes, after n digits
  auto put = [&](std::string_view s) { p = std::copy(s.begin(), s.end(), p); };
  const std::string_view all(digits.data(), static_cast<size_t>(k));
  if (k <= n && n <= 15) {  // digits[000].0
    put(all);
    p = std::fill_n(p, n - k, '0');
    put(".0");
  } else if (0 < n && n <= 15) {  // dig.its
    put(all.substr(0, static_cast<size_t>(n)));
    put(".");
    put(all.substr(static_cast<size_t>(n)));
  } else if (-4 < n && n <= 0) {  // 0.[000]digits
    put("0.");
    p = std::fill_n(p, -n, '0');
    put(all);
  } else {  // d[.igits]e±XX, at least two exponent digits
    put(all.substr(0, 1));
    if (k > 1) put("."), put(all.substr(1));
    const int x = n - 1;
    put(x < 0 ? "e-" : "e+");
    const int mag = std::abs(x);
    if (mag < 10) put("0");
    p = std::to_chars(p, buf + 32, mag).ptr;
  }
  return static_cast<size_t>(p - buf);
}

// Which 1024th of a filter a key falls in: cheap (length and three bytes),
// as a collision only costs a search among the object's keys.
size_t KeySlot(std::string_view key) {
  uint64_t h = key.size();
  if (!key.empty())
    h = h << 24 ^ uint64_t { static_cast<unsigned char>(key.front()) } << 16 ^
        uint64_t { static_cast<unsigned char>(key[key.size() / 2]) } << 8 ^ static_cast<unsigned char>(key.back());
  return static_cast<size_t>((h * 0x9E3779B97F4A7C15ull) >> 54);
}

// Whether a key appears twice in `fields`. Rare: a filter of key slots
// spares the search for almost every key.
bool HasRepeatedKey(const simdjson::dom::object& fields) {
  std::array<uint64_t, 16> seen{};
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    const std::string_view key = it.key();
    const size_t slot = KeySlot(key);
    const uint64_t bit = uint64_t{1} << (slot & 63);
    if (seen[slot >> 6] & bit)
      for (auto before = fields.begin(); before != it; ++before)
        if (before.key() == key) return true;
    seen[slot >> 6] |= bit;
  }
  return false;
}

template <typename Sink>
void WriteValue(const element& v, size_t indent, Sink& out);

// One member or element on its own line: "," after the one before, the
// indent, the key if any, the value.
template <typename Sink>
void WriteLine(bool first, size_t inner, const std::string_view* key, const element& value, Sink& out) {
  out.Append(first ? "\n" : ",\n");
  out.Fill(inner, ' ');
  if (key) {
    WriteQuoted(*key, out);
    out.Append(": ");
  }
  WriteValue(value, inner, out);
}

// `v` with its first line already indented by `indent`.
template <typename Sink>
void WriteValue(const element& v, size_t indent, Sink& out) {
  const size_t inner = indent + 2;
  switch (v.type()) {
    case element_type::ARRAY: {
      const simdjson::dom::array items = v.get_array().value_unsafe();
      if (items.begin() == items.end()) return out.Append("[]");
      out.Append('[');
      bool first = true;
      for (element item : items) WriteLine(std::exchange(first, false), inner, nullptr, item, out);
      out.Append('\n');
      out.Fill(indent, ' ');
      return out.Append(']');
    }
    case element_type::OBJECT: {
      const simdjson::dom::object fields = v.get_object().value_unsafe();
      if (fields.begin() == fields.end()) return out.Append("{}");
      out.Append('{');
      bool first = true;
      if (!HasRepeatedKey(fields)) {
        for (auto [key, value] : fields) WriteLine(std::exchange(first, false), inner, &key, value, out);
      } else {  // each key once, where it first appears, with its last value
        std::vector<std::pair<std::string_view, element>> members;
        for (auto field : fields) {
          const std::string_view key = field.key;  // not a structured binding: a lambda captures it
          auto it = std::find_if(members.begin(), members.end(), [&](const auto& m) { return m.first == key; });
          if (it == members.end())
            members.emplace_back(key, field.value);
          else
            it->second = field.value;
        }
        for (const auto& [key, value] : members) WriteLine(std::exchange(first, false), inner, &key, value, out);
      }
      out.Append('\n');
      out.Fill(indent, ' ');
      return out.Append('}');
    }
    case element_type::STRING:
      return WriteQuoted(v.get_string().value_unsafe(), out);
    case element_type::INT64:
    case element_type::UINT64: {
      std::array<char, 24> buf;
      const auto r = v.type() == element_type::INT64
                         ? std::to_chars(buf.data(), buf.data() + buf.size(), v.get_int64().value_unsafe())
                         : std::to_chars(buf.data(), buf.data() + buf.size(), v.get_uint64().value_unsafe());
      return out.Append(std::string_view(buf.data(), static_cast<size_t>(r.ptr - buf.data())));
    }
    case element_type::DOUBLE: {
      std::array<char, 32> buf;
      return out.Append(std::string_view(buf.data(), FormatDouble(v.get_double().value_unsafe(), buf.data())));
    }
    case element_type::BOOL:
      return out.Append(v.get_bool().value_unsafe() ? "true" : "false");
    case element_type::NULL_VALUE:
      return out.Append("null");
  }
}

template <typename Sink>
void WriteFile(const element& root, Sink& out) {
  WriteValue(root, 0, out);
  out.Append('\n');
}

template <typename Sink>
void WriteFileOfText(std::string_view text, Sink& out) {
  thread_local simdjson::dom::parser parser = DepthLimitedParser<simdjson::dom::parser>();
  element root;
  if (parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(root) == simdjson::SUCCESS)
    return WriteFile(root, out);
  // Text simdjson refuses but ParseJson reads (an integer beyond 64 bits,
  // which it reads as a double): what ParseJson reads, in its compact form.
  const Json j = ParseJson(text);
  const std::string normal = j.is_discarded() ? std::string() : j.dump();
  if (!normal.empty() && parser.parse(normal.data(), normal.size(), true).get(root) == simdjson::SUCCESS)
    return WriteFile(root, out);
  out.Append("{}\n");
}

}  // namespace

std::string RenderJsonText(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  StringSink sink(out);
  WriteFileOfText(text, sink);
  return out;
}

int64_t JsonFileSizeOfText(std::string_view text) {
  CountSink sink;
  WriteFileOfText(text, sink);
  return sink.count();
}

int64_t JsonFileSizeOfDom(const simdjson::dom::element& value) {
  CountSink sink;
  WriteFile(value, sink);
  return sink.count();
}

std::string RenderJsonFile(const Json& j) {
  return RenderJsonText(j.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace));
}

int64_t JsonFileSize(const Json& j) {
  return JsonFileSizeOfText(j.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace));
}

std::string FormatJsonDouble(double value) {
  std::array<char, 32> buf;
  return std::string(buf.data(), FormatDouble(value, buf.data()));
}

}  // namespace stravafs
