#include "format/sizes.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

#include "format/render.h"

namespace stravafs {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// What nlohmann's dump_escaped adds to each byte of valid UTF-8 with
// ensure_ascii=false: \" \\ \b \f \n \r \t are two bytes, the other control
// characters six (\u001f), and everything else, U+007F and multi-byte
// sequences included, is copied as is.
constexpr std::array<uint8_t, 256> kEscapeExtra = [] {
  std::array<uint8_t, 256> extra{};
  for (int c = 0; c < 0x20; ++c) extra[c] = 5;
  for (int c : {'\b', '\f', '\n', '\r', '\t', '"', '\\'}) extra[c] = 1;
  return extra;
}();

// Whether any byte of `w` is below 0x20, a quote or a backslash: a word
// with nothing to escape is skipped whole. (Exact: never misses one.)
bool MayNeedEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  const auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  return ((w - kOnes * 0x20) & ~w & kHigh) | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'));
}

// A string or key as dumped: quotes, escapes.
int64_t QuotedSize(std::string_view s) {
  int64_t n = static_cast<int64_t>(s.size()) + 2;
  const char* p = s.data();
  const char* end = p + s.size();
  for (; end - p >= 8; p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (!MayNeedEscape(w)) continue;
    for (int i = 0; i < 8; ++i) n += kEscapeExtra[static_cast<unsigned char>(p[i])];
  }
  for (; p < end; ++p) n += kEscapeExtra[static_cast<unsigned char>(*p)];
  return n;
}

// Which 1024th of the filter a key falls in: cheap (length and three bytes),
// as a collision only costs a search among the object's keys.
size_t KeySlot(std::string_view key) {
  uint64_t h = key.size();
  if (!key.empty())
    h = h << 24 ^ uint64_t { static_cast<unsigned char>(key.front()) } << 16 ^
        uint64_t { static_cast<unsigned char>(key[key.size() / 2]) } << 8 ^ static_cast<unsigned char>(key.back());
  return static_cast<size_t>((h * 0x9E3779B97F4A7C15ull) >> 54);
}

int64_t DigitCount(uint64_t v) {
  int64_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

// nlohmann's dump_float: its own to_chars (Grisu2, ".0" on whole numbers),
// "null" for what JSON cannot hold.
int64_t FloatSize(double v) {
  if (!std::isfinite(v)) return 4;
  // A whole number below 1e15 (about a quarter of a summary's floats) skips
  // Grisu2: its rounding interval is at most 1 wide and centred on v, so no
  // shorter digit string is in it and v's own digits are what Grisu2 writes,
  // then ".0" (to_chars switches to an exponent only from 1e15).
  if (v != 0 && std::fabs(v) < 1e15 && v == std::trunc(v))
    return (v < 0 ? 1 : 0) + DigitCount(static_cast<uint64_t>(std::fabs(v))) + 2;
  std::array<char, 64> buf;
  const char* end = nlohmann::detail::to_chars(buf.data(), buf.data() + buf.size(), v);
  return end - buf.data();
}

// One member of an object being measured: its key and the bytes of its line.
struct Member {
  std::string_view key;
  int64_t bytes;
};

// The bytes of `v` as dump(2) writes it when its first line is already
// indented by `indent` (nested lines get indent + 2). `members` is scratch
// shared by the levels of the recursion: each object uses the entries past
// those of its ancestors and leaves them as it found them.
int64_t ValueSize(const element& v, int64_t indent, std::vector<Member>& members) {
  const int64_t inner = indent + 2;
  switch (v.type()) {
    case element_type::ARRAY: {
      simdjson::dom::array items;
      if (v.get_array().get(items) != simdjson::SUCCESS) return 0;  // cannot fail: the type was checked
      int64_t n = 0, bytes = 0;
      for (element item : items) {
        ++n;
        bytes += inner + ValueSize(item, inner, members);
      }
      if (n == 0) return 2;                             // []
      return 2 + bytes + 2 * (n - 1) + 1 + indent + 1;  // "[\n" items ",\n" "\n" indent "]"
    }
    case element_type::OBJECT: {
      // nlohmann keeps one entry per key, where the key first appeared, with
      // the value it had last; the size does not depend on the order, so a
      // repeated key just replaces its line's size. Repeats are rare: a
      // 1024-bit filter of key hashes spares the search for almost all keys.
      const size_t first = members.size();
      std::array<uint64_t, 16> seen{};
      simdjson::dom::object fields;
      if (v.get_object().get(fields) != simdjson::SUCCESS) return 0;
      for (auto [key, value] : fields) {
        const int64_t bytes = inner + QuotedSize(key) + 2 + ValueSize(value, inner, members);  // "key": value
        const size_t h = KeySlot(key);
        const uint64_t bit = uint64_t{1} << (h & 63);
        bool repeated = false;
        if (seen[h >> 6] & bit) {
          for (size_t i = first; i < members.size() && !repeated; ++i) {
            if (members[i].key == key) {
              members[i].bytes = bytes;
              repeated = true;
            }
          }
        }
        seen[h >> 6] |= bit;
        if (!repeated) members.push_back({key, bytes});
      }
      const int64_t n = static_cast<int64_t>(members.size() - first);
      if (n == 0) return 2;  // {}
      int64_t bytes = 0;
      for (size_t i = first; i < members.size(); ++i) bytes += members[i].bytes;
      members.resize(first);
      return 2 + bytes + 2 * (n - 1) + 1 + indent + 1;  // "{\n" members ",\n" "\n" indent "}"
    }
    case element_type::STRING:
      return QuotedSize(v.get_string().value_unsafe());
    case element_type::INT64: {
      const int64_t i = v.get_int64().value_unsafe();
      // The magnitude without overflowing on INT64_MIN.
      return i < 0 ? 1 + DigitCount(uint64_t{0} - static_cast<uint64_t>(i)) : DigitCount(static_cast<uint64_t>(i));
    }
    case element_type::UINT64:
      return DigitCount(v.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return FloatSize(v.get_double().value_unsafe());
    case element_type::BOOL:
      return v.get_bool().value_unsafe() ? 4 : 5;
    case element_type::NULL_VALUE:
      return 4;
  }
  return 0;
}

// CsvField(text).size() without building the field when `text` is valid
// UTF-8 (always, for text that came through a JSON parser).
int64_t CsvFieldSize(std::string_view text) {
  bool ascii = true, special = false;
  int64_t quotes = 0;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    ascii &= c < 0x80;
    special |= c == ',' || c == '\r' || c == '\n';
    quotes += c == '"';
  }
  if (!ascii && !simdjson::validate_utf8(text.data(), text.size())) return static_cast<int64_t>(CsvField(text).size());
  const bool quote =
      special || quotes > 0 ||
      (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.back() == ' ' || text.back() == '\t'));
  return static_cast<int64_t>(text.size()) + (quote ? 2 + quotes : 0);
}

// FormatNumber(value).size(), without the string.
int64_t NumberSize(double value) {
  if (!std::isfinite(value)) return 0;
  if (value == 0) return 1;  // "0", and "-0" too
  // A whole number below 2^53: its shortest digits are its own without the
  // trailing zeros (any fewer are at least 1 away, its interval at most 1
  // wide), written plain ("1000") or with an exponent ("1e+06", "1.2e+07"),
  // whichever is shorter, plain on a tie.
  if (std::fabs(value) < 0x1p53 && value == std::trunc(value)) {
    uint64_t digits = static_cast<uint64_t>(std::fabs(value));
    const int64_t plain = DigitCount(digits);
    while (digits % 10 == 0) digits /= 10;
    const int64_t significant = DigitCount(digits);
    const int64_t exponent = significant + (significant > 1 ? 1 : 0) + 4;  // "d.dd" "e+15"
    return (value < 0 ? 1 : 0) + std::min(plain, exponent);
  }
  std::array<char, 32> buf;
  return std::to_chars(buf.data(), buf.data() + buf.size(), value).ptr - buf.data();
}

// Where each activities.csv column sits in a whole row.
const std::vector<size_t>& CsvColumnIndexes() {
  static const std::vector<size_t> indexes = [] {
    std::vector<size_t> out;
    const ActivityColumn* base = ActivityColumns().data();
    for (const ActivityColumn* c : ActivitiesCsvColumns()) out.push_back(static_cast<size_t>(c - base));
    return out;
  }();
  return indexes;
}

}  // namespace

int64_t JsonFileSize(const Json& j) { return static_cast<int64_t>(RenderJsonFile(j).size()); }

int64_t JsonFileSizeOfText(std::string_view text) {
  // Counted on simdjson's DOM, without building and dumping a Json; text it
  // refuses (too deep, an integer beyond 64 bits, not JSON) goes the long way,
  // so as to count what ParseJson makes of it.
  thread_local simdjson::dom::parser parser = DepthLimitedParser<simdjson::dom::parser>();
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size(), true).get(root) == simdjson::SUCCESS) return JsonFileSizeOfDom(root);
  return JsonFileSize(ParseJson(text));
}

int64_t JsonFileSizeOfDom(const simdjson::dom::element& value) {
  thread_local std::vector<Member> members;
  return ValueSize(value, 0, members) + 1;  // the trailing newline
}

RowSizes SizesOf(const ActivityRow& row) {
  return {row.json_size >= 0 ? row.json_size : JsonFileSizeOfText(row.json),
          row.csv_row_size >= 0 ? row.csv_row_size : ActivityCsvRowSize(row.columns)};
}

void MeasureRow(ActivityRow& row) {
  const RowSizes sizes = SizesOf(row);
  row.json_size = sizes.json;
  row.csv_row_size = sizes.csv_row;
}

int64_t ActivityCsvRowSize(std::span<const ColumnValue> row_columns) {
  const auto& indexes = CsvColumnIndexes();
  int64_t n = static_cast<int64_t>(indexes.size()) - 1 + 2;  // the commas, CRLF
  for (size_t i : indexes) {
    const ColumnValue& v = row_columns[i];
    switch (v.kind) {
      case ColumnValue::kNull:
        break;
      case ColumnValue::kInt:
        n +=
            v.i < 0 ? 1 + DigitCount(uint64_t{0} - static_cast<uint64_t>(v.i)) : DigitCount(static_cast<uint64_t>(v.i));
        break;
      case ColumnValue::kReal:
        n += NumberSize(v.d);
        break;
      case ColumnValue::kText:
        n += CsvFieldSize(v.s);
        break;
    }
  }
  return n;
}

}  // namespace stravafs
