#include "activity_page.h"

#include <simdjson.h>

#include <cmath>
#include <string>
#include <unordered_map>

namespace stravafs {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Where each column lives: a top-level key, a key of a nested object
// ("athlete.id"), or an element of a two-number array ("start_latlng[0]").
struct ColumnPath {
  std::string key, child;
  int index = -1;
};

const std::vector<ColumnPath>& Paths() {
  static const std::vector<ColumnPath> paths = [] {
    std::vector<ColumnPath> out;
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
      out.push_back(p);
    }
    return out;
  }();
  return paths;
}

// The value at `p` in `obj`, or a NULL element type when absent.
bool Find(const element& obj, const ColumnPath& p, element& out) {
  element v;
  if (obj[p.key].get(v) != simdjson::SUCCESS) return false;
  if (!p.child.empty()) {
    if (!v.is_object() || v[p.child].get(v) != simdjson::SUCCESS) return false;
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

}  // namespace

Result<std::vector<ActivityRow>> ParseActivityPage(std::string_view body) {
  thread_local simdjson::dom::parser dom;
  thread_local simdjson::ondemand::parser lazy;
  simdjson::padded_string text(body);

  // 1. Validate everything: the DOM parser checks the whole document.
  element root;
  if (auto error = dom.parse(text).get(root); error != simdjson::SUCCESS)
    return Malformed(std::string("reply is not valid JSON (") + simdjson::error_message(error) + ")");
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
  const auto& paths = Paths();
  for (element item : items) {
    if (lazy_it == lazy_items.end()) return Malformed("the activity list changed while read");
    simdjson::ondemand::object lazy_obj;
    std::string_view raw;
    if ((*lazy_it).get_object().get(lazy_obj) != simdjson::SUCCESS || lazy_obj.raw_json().get(raw) != simdjson::SUCCESS)
      return Malformed("an element of the activity list is not an object");
    ++lazy_it;
    if (!item.is_object()) return Malformed("an element of the activity list is not an object");

    ActivityRow row;
    row.json.assign(raw);
    while (!row.json.empty() && (row.json.back() == ' ' || row.json.back() == '\n' || row.json.back() == '\r' ||
                                 row.json.back() == '\t'))
      row.json.pop_back();
    row.hash = Fingerprint(row.json);
    row.columns.reserve(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      element v;
      ColumnValue cv;
      if (Find(item, paths[i], v)) cv = Convert(v, columns[i].type);
      NormalizeColumn(columns[i], cv);
      row.columns.push_back(std::move(cv));
    }
    // The checks of ValidateActivity, on the same values.
    element id;
    if (item["id"].get(id) != simdjson::SUCCESS || id.type() != element_type::INT64)
      return Malformed("activity has no integer id");
    row.id = int64_t(id);
    for (const char* key : {"start_date", "start_date_local"}) {
      std::string_view s;
      bool valid = item[key].get_string().get(s) == simdjson::SUCCESS && ParseIsoUtc(s) &&
                   (std::string_view(key) != "start_date" || s.back() == 'Z');
      if (!valid) return Malformed("activity " + std::to_string(row.id) + " has no valid " + key);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace stravafs
