#include "model/activity_page.h"

#include <simdjson.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace stravafs {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Where each column lives: a top-level key, a key of a nested object
// ("athlete.id"), or an element of a two-number array ("start_latlng[0]").
// `slot` numbers the distinct top-level keys.
struct ColumnPath {
  std::string key, child;
  int index = -1;
  size_t slot = 0;
};

constexpr size_t kMaxSlots = 96;

// The columns' paths, and their top-level keys found by a small hash table:
// an element's fields are read in one pass, instead of one search through
// them per column (which cost about as much as all the rest of the parse).
class Layout {
 public:
  Layout() {
    for (const auto& c : ActivityColumns()) {
      std::string path = c.json_path;
      ColumnPath p;
      if (size_t br = path.find('['); br != std::string::npos) {
        p.key = path.substr(0, br);
        p.index = path[br + 1] - '0';
      } else if (size_t dot = path.find('.'); dot != std::string::npos) {
        p.key = path.substr(0, dot);
        p.child = path.substr(dot + 1);
      } else {
        p.key = path;
      }
      p.slot = Add(p.key);
      paths_.push_back(p);
    }
    for (const char* key : {"id", "start_date", "start_date_local"}) Add(key);  // validated
  }
  const std::vector<ColumnPath>& paths() const { return paths_; }
  // The slot of a top-level key, or -1 when no column reads it.
  int SlotOf(std::string_view key) const {
    for (size_t h = Hash(key);; h = (h + 1) % table_.size()) {
      const int slot = table_[h];
      if (slot < 0 || keys_[static_cast<size_t>(slot)] == key) return slot;
    }
  }

 private:
  static size_t Hash(std::string_view key) {
    uint64_t h = key.size();
    if (!key.empty())
      h = h << 24 ^ uint64_t { static_cast<unsigned char>(key.front()) } << 16 ^
          uint64_t { static_cast<unsigned char>(key[key.size() / 2]) } << 8 ^ static_cast<unsigned char>(key.back());
    return static_cast<size_t>((h * 0x9E3779B97F4A7C15ull) >> 56);  // 256 buckets
  }
  size_t Add(const std::string& key) {
    if (int slot = SlotOf(key); slot >= 0) return static_cast<size_t>(slot);
    if (keys_.size() >= kMaxSlots) std::abort();  // a programming error: raise kMaxSlots
    keys_.push_back(key);
    size_t h = Hash(key);
    while (table_[h] >= 0) h = (h + 1) % table_.size();
    table_[h] = static_cast<int>(keys_.size() - 1);
    return keys_.size() - 1;
  }
  std::vector<ColumnPath> paths_;
  std::vector<std::string> keys_;
  std::array<int, 256> table_ = [] {
    std::array<int, 256> t;
    t.fill(-1);
    return t;
  }();
};

const Layout& TheLayout() {
  static const Layout layout;
  return layout;
}

// The top-level fields of an activity that columns read, by slot. Of a key
// given twice the last value counts, as in nlohmann's parse (ExtractColumn).
struct Fields {
  std::array<element, kMaxSlots> value;
  std::array<bool, kMaxSlots> present{};

  Fields(const simdjson::dom::object& obj, const Layout& layout) {
    for (auto [key, v] : obj) {
      if (int slot = layout.SlotOf(key); slot >= 0) {
        value[static_cast<size_t>(slot)] = v;
        present[static_cast<size_t>(slot)] = true;
      }
    }
  }
  bool Get(size_t slot, element& out) const {
    if (!present[slot]) return false;
    out = value[slot];
    return true;
  }
};

// The value at `p`, or false when absent.
bool Find(const Fields& fields, const ColumnPath& p, element& out) {
  element v;
  if (!fields.Get(p.slot, v)) return false;
  if (!p.child.empty()) {
    simdjson::dom::object nested;
    if (v.get_object().get(nested) != simdjson::SUCCESS) return false;
    bool found = false;
    for (auto [key, value] : nested) {  // the last of a repeated key, as above
      if (key == p.child) {
        v = value;
        found = true;
      }
    }
    if (!found) return false;
  } else if (p.index >= 0) {
    simdjson::dom::array a;
    if (v.get_array().get(a) != simdjson::SUCCESS || a.size() <= static_cast<size_t>(p.index)) return false;
    if (a.at(static_cast<size_t>(p.index)).get(v) != simdjson::SUCCESS) return false;
  }
  out = v;
  return true;
}

// Mirrors ExtractColumn's conversions for each column type.
ColumnValue Convert(const element& v, ColumnType type) {
  ColumnValue out;
  const element_type t = v.type();
  const bool is_int = t == element_type::INT64 || t == element_type::UINT64;
  const bool is_number = is_int || t == element_type::DOUBLE;
  auto as_double = [&] {
    if (t == element_type::INT64) return static_cast<double>(int64_t(v));
    if (t == element_type::UINT64) return static_cast<double>(uint64_t(v));
    return double(v);
  };
  switch (type) {
    case ColumnType::kInteger:
      if (t == element_type::INT64) {
        out.kind = ColumnValue::kInt;
        out.i = int64_t(v);
      } else if (is_number && std::isfinite(as_double()) && std::fabs(as_double()) < 9.2e18) {
        out.kind = ColumnValue::kInt;
        out.i = static_cast<int64_t>(std::llround(as_double()));
      }
      break;
    case ColumnType::kReal:
      if (is_number) {
        out.kind = ColumnValue::kReal;
        out.d = as_double();
      }
      break;
    case ColumnType::kBool:
      if (t == element_type::BOOL) {
        out.kind = ColumnValue::kInt;
        out.i = bool(v) ? 1 : 0;
      } else if (is_number) {
        out.kind = ColumnValue::kInt;
        out.i = as_double() != 0 ? 1 : 0;
      }
      break;
    case ColumnType::kText:
      if (t == element_type::STRING) {
        out.kind = ColumnValue::kText;
        out.s = std::string(std::string_view(v));
      } else if (is_number) {
        // Rare (a numeric id in a text column): render as nlohmann does.
        out.kind = ColumnValue::kText;
        out.s = t == element_type::INT64    ? Json(int64_t(v)).dump()
                : t == element_type::UINT64 ? Json(uint64_t(v)).dump()
                                            : Json(double(v)).dump();
      }
      break;
  }
  return out;
}

Status Malformed(const std::string& what) { return Status::Error(ErrorKind::kServer, what); }

// The page through nlohmann, as the detail path reads replies: for valid JSON
// simdjson refuses, an integer beyond 64 bits (nlohmann reads it as a double).
// Each row's text is then nlohmann's dump of the element, as for a detail.
// nullopt when nlohmann refuses the page too.
std::optional<Result<std::vector<ActivityRow>>> ParsePageSlowly(std::string_view body) {
  const Json page = ParseJson(body);
  if (page.is_discarded() || !page.is_array()) return std::nullopt;
  std::vector<ActivityRow> rows;
  for (const Json& item : page) {
    if (!item.is_object()) return Malformed("an element of the activity list is not an object");
    if (Status s = ValidateActivity(item); !s.ok()) return s;
    rows.push_back(RowFromJson(item));
  }
  return rows;
}

}  // namespace

Result<std::vector<ActivityRow>> ParseActivityPage(std::string_view body) {
  thread_local simdjson::dom::parser dom = DepthLimitedParser<simdjson::dom::parser>();
  thread_local simdjson::ondemand::parser lazy = DepthLimitedParser<simdjson::ondemand::parser>();
  simdjson::padded_string text(body);

  // 1. Validate everything: the DOM parser checks the whole document.
  element root;
  if (auto error = dom.parse(text).get(root); error != simdjson::SUCCESS) {
    if (error == simdjson::NUMBER_ERROR)
      if (auto rows = ParsePageSlowly(body)) return std::move(*rows);
    return Malformed(std::string("reply is not valid JSON (") + simdjson::error_message(error) + ")");
  }
  simdjson::dom::array items;
  if (root.get_array().get(items) != simdjson::SUCCESS) return Malformed("the activity list is not a JSON array");

  // 2. Walk the same array lazily for each element's exact text.
  simdjson::ondemand::document doc;
  simdjson::ondemand::array lazy_items;
  if (lazy.iterate(text).get(doc) != simdjson::SUCCESS || doc.get_array().get(lazy_items) != simdjson::SUCCESS)
    return Malformed("the activity list is not a JSON array");
  auto lazy_it = lazy_items.begin();

  std::vector<ActivityRow> rows;
  rows.reserve(items.size());
  const auto columns = ActivityColumns();
  const Layout& layout = TheLayout();
  const auto& paths = layout.paths();
  for (element item : items) {
    if (lazy_it == lazy_items.end()) return Malformed("the activity list changed while read");
    simdjson::ondemand::object lazy_obj;
    std::string_view raw;
    if ((*lazy_it).get_object().get(lazy_obj) != simdjson::SUCCESS || lazy_obj.raw_json().get(raw) != simdjson::SUCCESS)
      return Malformed("an element of the activity list is not an object");
    ++lazy_it;
    simdjson::dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS)
      return Malformed("an element of the activity list is not an object");
    const Fields fields(obj, layout);

    ActivityRow row;
    row.json.assign(raw);
    while (!row.json.empty() &&
           (row.json.back() == ' ' || row.json.back() == '\n' || row.json.back() == '\r' || row.json.back() == '\t'))
      row.json.pop_back();
    row.hash = Fingerprint(row.json);
    row.columns.reserve(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      element v;
      ColumnValue cv;
      if (Find(fields, paths[i], v)) cv = Convert(v, columns[i].type);
      NormalizeColumn(columns[i], cv);
      row.columns.push_back(std::move(cv));
    }
    // The checks of ValidateActivity, on the same values.
    element id;
    if (!fields.Get(static_cast<size_t>(layout.SlotOf("id")), id) || id.type() != element_type::INT64)
      return Malformed("activity has no integer id");
    row.id = int64_t(id);
    for (const char* key : {"start_date", "start_date_local"}) {
      element date;
      std::string_view s;
      bool valid = fields.Get(static_cast<size_t>(layout.SlotOf(key)), date) &&
                   date.get_string().get(s) == simdjson::SUCCESS && ParseIsoUtc(s) &&
                   (std::string_view(key) != "start_date" || s.back() == 'Z');
      if (!valid) return Malformed("activity " + std::to_string(row.id) + " has no valid " + key);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace stravafs
