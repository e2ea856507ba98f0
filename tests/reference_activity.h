// A second reader of activity JSON, over nlohmann instead of simdjson: the
// oracle the tests and the fuzzers hold model/activity.cc's RowFromText to.
// It is the reader stravafs had before RowFromText became the only one, kept
// here so that the one reader is still checked against an independent one.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "base/fingerprint.h"
#include "base/iso_time.h"
#include "base/json.h"
#include "base/status.h"
#include "model/activity.h"

namespace stravafs::reference {

inline const Json* Lookup(const Json& j, std::string_view path) {
  const Json* cur = &j;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view part = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    std::optional<size_t> index;
    if (size_t br = part.find('['); br != std::string_view::npos) {
      index = static_cast<size_t>(part[br + 1] - '0');
      part = part.substr(0, br);
    }
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);  // heterogeneous lookup: no string built per key
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (index) {
      if (!cur->is_array() || cur->size() <= *index) return nullptr;
      cur = &(*cur)[*index];
    }
  }
  return cur;
}

inline Status ValidateActivity(const Json& j) {
  if (!j.is_object()) return Status::Error(ErrorKind::kServer, "activity is not a JSON object");
  auto id = j.find("id");
  if (id == j.end() || !FitsInt64(*id)) return Status::Error(ErrorKind::kServer, "activity has no integer id");
  for (const char* key : {"start_date", "start_date_local"}) {
    auto it = j.find(key);
    bool valid = it != j.end() && it->is_string() && ParseIsoUtc(it->get_ref<const std::string&>()) &&
                 (std::string_view(key) != "start_date" || it->get_ref<const std::string&>().back() == 'Z');
    if (!valid)
      return Status::Error(ErrorKind::kServer,
                           "activity " + std::to_string(id->get<int64_t>()) + " has no valid " + key);
  }
  return Status::Ok();
}

inline ColumnValue ExtractColumn(const Json& j, const ActivityColumn& c) {
  ColumnValue v;
  const Json* p = Lookup(j, c.json_path);
  if (p == nullptr || p->is_null()) return v;
  switch (c.type) {
    case ColumnType::kInteger:
      if (FitsInt64(*p)) {
        v.kind = ColumnValue::kInt;
        v.i = p->get<int64_t>();
      } else if (p->is_number() && std::isfinite(p->get<double>()) && std::fabs(p->get<double>()) < 9.2e18) {
        // A float, or an integer beyond int64 read as one: rounded if it fits, else NULL.
        v.kind = ColumnValue::kInt;
        v.i = static_cast<int64_t>(std::llround(p->get<double>()));
      }
      break;
    case ColumnType::kReal:
      if (p->is_number()) {
        v.kind = ColumnValue::kReal;
        v.d = p->get<double>();
      }
      break;
    case ColumnType::kBool:
      if (p->is_boolean()) {
        v.kind = ColumnValue::kInt;
        v.i = p->get<bool>() ? 1 : 0;
      } else if (p->is_number()) {
        v.kind = ColumnValue::kInt;
        v.i = p->get<double>() != 0 ? 1 : 0;
      }
      break;
    case ColumnType::kText:
      if (p->is_string()) {
        v.kind = ColumnValue::kText;
        v.s = p->get<std::string>();
      } else if (p->is_number()) {
        v.kind = ColumnValue::kText;
        v.s = p->dump();
      }
      break;
  }
  NormalizeColumn(c, v);
  return v;
}

inline ActivityRow RowFromJson(const Json& j) {
  ActivityRow row;
  row.id = j.at("id").get<int64_t>();
  row.json = j.dump();
  row.hash = Fingerprint(row.json);
  for (const auto& c : ActivityColumns()) row.columns.push_back(ExtractColumn(j, c));
  return row;
}

}  // namespace stravafs::reference
