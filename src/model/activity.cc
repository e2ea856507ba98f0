#include "model/activity.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "base/json_dom.h"

namespace stravafs {

namespace {

using enum ColumnType;
using simdjson::dom::element;
using simdjson::dom::element_type;

// Two columns are normalised (NormalizeColumn): start_date_local drops
// Strava's misleading Z (it is local wall clock, not UTC); timezone keeps only
// the IANA name.
constexpr std::array kColumns = {
    ActivityColumn{"id", kInteger, "id", "Strava activity id"},
    ActivityColumn{"athlete_id", kInteger, "athlete.id", "owner's athlete id"},
    ActivityColumn{"name", kText, "name", "title"},
    ActivityColumn{"sport_type", kText, "sport_type", "sport (Run, Ride, TrailRun, ...; open list)"},
    ActivityColumn{"type", kText, "type", "deprecated coarse type"},
    ActivityColumn{"workout_type", kInteger, "workout_type", "0 default, 1 race, 2 long run, 3 workout, 10-12 rides"},
    ActivityColumn{"start_date", kText, "start_date", "start, UTC, ISO 8601 with Z"},
    ActivityColumn{"start_date_local", kText, "start_date_local", "start, local wall clock, ISO 8601 without zone"},
    ActivityColumn{"timezone", kText, "timezone", "IANA time zone name"},
    ActivityColumn{"utc_offset", kReal, "utc_offset", "offset in force at the start, seconds"},
    ActivityColumn{"distance", kReal, "distance", "meters"},
    ActivityColumn{"moving_time", kInteger, "moving_time", "seconds"},
    ActivityColumn{"elapsed_time", kInteger, "elapsed_time", "seconds"},
    ActivityColumn{"total_elevation_gain", kReal, "total_elevation_gain", "meters"},
    ActivityColumn{"elev_high", kReal, "elev_high", "meters"},
    ActivityColumn{"elev_low", kReal, "elev_low", "meters"},
    ActivityColumn{"average_speed", kReal, "average_speed", "m/s"},
    ActivityColumn{"max_speed", kReal, "max_speed", "m/s"},
    ActivityColumn{"has_heartrate", kBool, "has_heartrate", "0/1"},
    ActivityColumn{"average_heartrate", kReal, "average_heartrate", "bpm"},
    ActivityColumn{"max_heartrate", kReal, "max_heartrate", "bpm"},
    ActivityColumn{"average_cadence", kReal, "average_cadence", "rpm (steps per minute / 2 for runs)"},
    ActivityColumn{"average_watts", kReal, "average_watts", "W"},
    ActivityColumn{"weighted_average_watts", kReal, "weighted_average_watts", "W"},
    ActivityColumn{"max_watts", kReal, "max_watts", "W"},
    ActivityColumn{"device_watts", kBool, "device_watts", "0/1: power from a meter"},
    ActivityColumn{"kilojoules", kReal, "kilojoules", "kJ"},
    ActivityColumn{"calories", kReal, "calories", "kcal (detailed only)"},
    ActivityColumn{"average_temp", kReal, "average_temp", "degrees C"},
    ActivityColumn{"suffer_score", kReal, "suffer_score", "relative effort"},
    ActivityColumn{"gear_id", kText, "gear_id", "gear id (b... bike, g... shoe)"},
    ActivityColumn{"commute", kBool, "commute", "0/1"},
    ActivityColumn{"trainer", kBool, "trainer", "0/1"},
    ActivityColumn{"manual", kBool, "manual", "0/1"},
    ActivityColumn{"private", kBool, "private", "0/1"},
    ActivityColumn{"visibility", kText, "visibility", "everyone, followers_only, only_me"},
    ActivityColumn{"flagged", kBool, "flagged", "0/1"},
    ActivityColumn{"achievement_count", kInteger, "achievement_count", "count"},
    ActivityColumn{"kudos_count", kInteger, "kudos_count", "count"},
    ActivityColumn{"comment_count", kInteger, "comment_count", "count"},
    ActivityColumn{"athlete_count", kInteger, "athlete_count", "athletes in the group"},
    ActivityColumn{"photo_count", kInteger, "total_photo_count", "count"},
    ActivityColumn{"pr_count", kInteger, "pr_count", "count"},
    ActivityColumn{"start_lat", kReal, "start_latlng[0]", "degrees"},
    ActivityColumn{"start_lng", kReal, "start_latlng[1]", "degrees"},
    ActivityColumn{"end_lat", kReal, "end_latlng[0]", "degrees"},
    ActivityColumn{"end_lng", kReal, "end_latlng[1]", "degrees"},
    ActivityColumn{"summary_polyline", kText, "map.summary_polyline", "encoded polyline (Google), simplified"},
    ActivityColumn{"polyline", kText, "map.polyline", "encoded polyline, full (detailed only)"},
    ActivityColumn{"device_name", kText, "device_name", "recording device (detailed only)"},
    ActivityColumn{"description", kText, "description", "description (detailed only)"},
    ActivityColumn{"external_id", kText, "external_id", "uploaded file name"},
    ActivityColumn{"upload_id", kInteger, "upload_id", "upload id; NULL for manual activities"},
    ActivityColumn{"location_country", kText, "location_country", "country, as Strava guesses it"},
    ActivityColumn{"detail_level", kInteger, "resource_state", "2 summary, 3 detailed"},
};

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

std::string_view TrimJsonSpace(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The row of one activity object whose text is `raw`: the checks, the
// columns, the fingerprint.
Result<ActivityRow> RowOf(const simdjson::dom::object& obj, std::string_view raw) {
  const Layout& layout = TheLayout();
  const Fields fields(obj, layout);
  ActivityRow row;
  element id;
  if (!fields.Get(static_cast<size_t>(layout.SlotOf("id")), id) || id.type() != element_type::INT64)
    return Malformed("activity has no integer id");
  row.id = int64_t(id);
  for (const char* key : {"start_date", "start_date_local"}) {
    element date;
    std::string_view s;
    const bool valid = fields.Get(static_cast<size_t>(layout.SlotOf(key)), date) &&
                       date.get_string().get(s) == simdjson::SUCCESS && ParseIsoUtc(s) &&
                       (std::string_view(key) != "start_date" || s.back() == 'Z');
    if (!valid) return Malformed("activity " + std::to_string(row.id) + " has no valid " + key);
  }
  row.json.assign(TrimJsonSpace(raw));
  row.hash = Fingerprint(row.json);
  const auto columns = ActivityColumns();
  const auto& paths = layout.paths();
  row.columns.reserve(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    element v;
    ColumnValue cv;
    if (Find(fields, paths[i], v)) cv = Convert(v, columns[i].type);
    NormalizeColumn(columns[i], cv);
    row.columns.push_back(std::move(cv));
  }
  return row;
}

}  // namespace

std::span<const ActivityColumn> ActivityColumns() { return kColumns; }

const char* SqlType(ColumnType t) {
  switch (t) {
    case ColumnType::kInteger:
    case ColumnType::kBool:
      return "INTEGER";
    case ColumnType::kReal:
      return "REAL";
    case ColumnType::kText:
      return "TEXT";
  }
  return "";
}

void NormalizeColumn(const ActivityColumn& c, ColumnValue& v) {
  if (v.kind != ColumnValue::kText) return;
  std::string_view name = c.name;
  if (name == "start_date_local") {
    if (!v.s.empty() && v.s.back() == 'Z') v.s.pop_back();
  } else if (name == "timezone") {
    size_t space = v.s.find(' ');
    if (v.s.rfind("(GMT", 0) == 0 && space != std::string::npos) v.s.erase(0, space + 1);
  }
}

Result<ActivityRow> RowFromText(std::string_view text) {
  return ReadAnyJson(text, [](const element& root, std::string_view raw) -> Result<ActivityRow> {
    simdjson::dom::object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS) return Malformed("activity is not a JSON object");
    return RowOf(obj, raw);
  });
}

Result<ActivityRow> RowFromJson(const Json& j) { return RowFromText(j.dump()); }

namespace {

LapRow LapOf(const simdjson::dom::object& lap, int64_t position, std::string_view raw) {
  auto get = [&](const char* key, element& v) { return lap.at_key(key).get(v) == simdjson::SUCCESS; };
  // An integer as is; a float truncated if int64 holds it (casting a larger
  // double is undefined behaviour).
  auto integer = [&](const char* key) -> std::optional<int64_t> {
    element v;
    if (!get(key, v)) return std::nullopt;
    if (v.type() == element_type::INT64) return int64_t(v);
    if (v.type() == element_type::DOUBLE && std::fabs(double(v)) < 9.2e18) return static_cast<int64_t>(double(v));
    return std::nullopt;
  };
  auto number = [&](const char* key) -> std::optional<double> {
    element v;
    if (!get(key, v)) return std::nullopt;
    switch (v.type()) {
      case element_type::INT64:
        return static_cast<double>(int64_t(v));
      case element_type::UINT64:
        return static_cast<double>(uint64_t(v));
      case element_type::DOUBLE:
        return double(v);
      default:
        return std::nullopt;
    }
  };
  auto text = [&](const char* key) -> std::optional<std::string> {
    element v;
    std::string_view s;
    if (!get(key, v) || v.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
    return std::string(s);
  };
  auto exact = [&](const char* key) -> std::optional<int64_t> {  // an integer only
    element v;
    if (!get(key, v) || v.type() != element_type::INT64) return std::nullopt;
    return int64_t(v);
  };
  LapRow out;
  out.lap_index = exact("lap_index").value_or(position);
  out.id = exact("id");
  out.name = text("name");
  out.start_date = text("start_date");
  out.start_date_local = text("start_date_local");
  if (out.start_date_local && !out.start_date_local->empty() && out.start_date_local->back() == 'Z')
    out.start_date_local->pop_back();
  out.elapsed_time = integer("elapsed_time");
  out.moving_time = integer("moving_time");
  out.start_index = integer("start_index");
  out.end_index = integer("end_index");
  out.distance = number("distance");
  out.total_elevation_gain = number("total_elevation_gain");
  out.average_speed = number("average_speed");
  out.max_speed = number("max_speed");
  out.average_heartrate = number("average_heartrate");
  out.max_heartrate = number("max_heartrate");
  out.average_cadence = number("average_cadence");
  out.average_watts = number("average_watts");
  out.json.assign(raw);
  return out;
}

}  // namespace

Result<ActivityDetail> DetailFromText(std::string_view text) {
  return ReadAnyJson(text, [](const element& root, std::string_view raw) -> Result<ActivityDetail> {
    simdjson::dom::object obj;
    if (root.get_object().get(obj) != simdjson::SUCCESS) return Malformed("activity is not a JSON object");
    auto row = RowOf(obj, raw);
    if (!row.ok()) return row.status();
    ActivityDetail detail{std::move(*row), {}};
    simdjson::dom::array laps;
    if (obj.at_key("laps").get_array().get(laps) != simdjson::SUCCESS || laps.size() == 0) return detail;
    // The DOM keeps no element's text: walk the laps lazily for theirs.
    thread_local simdjson::ondemand::parser lazy = DepthLimitedParser<simdjson::ondemand::parser>();
    simdjson::padded_string padded(raw);
    simdjson::ondemand::document doc;
    simdjson::ondemand::array lazy_laps;
    if (lazy.iterate(padded).get(doc) != simdjson::SUCCESS ||
        doc["laps"].get_array().get(lazy_laps) != simdjson::SUCCESS)
      return Malformed("the activity's laps changed while read");
    auto lazy_it = lazy_laps.begin();
    int64_t position = 0;
    for (element lap : laps) {
      if (lazy_it == lazy_laps.end()) return Malformed("the activity's laps changed while read");
      simdjson::dom::object lap_obj;
      if (lap.get_object().get(lap_obj) != simdjson::SUCCESS) {  // passed over, as Strava sends none
        ++lazy_it;
        continue;
      }
      simdjson::ondemand::object lazy_lap;
      std::string_view lap_raw;
      if ((*lazy_it).get_object().get(lazy_lap) != simdjson::SUCCESS ||
          lazy_lap.raw_json().get(lap_raw) != simdjson::SUCCESS)
        return Malformed("the activity's laps changed while read");
      ++lazy_it;
      detail.laps.push_back(LapOf(lap_obj, ++position, TrimJsonSpace(lap_raw)));
    }
    return detail;
  });
}

Result<std::vector<ActivityRow>> ParseActivityPage(std::string_view body) {
  return ReadAnyJson(body, [](const element& root, std::string_view text) -> Result<std::vector<ActivityRow>> {
    simdjson::dom::array items;
    if (root.get_array().get(items) != simdjson::SUCCESS) return Malformed("the activity list is not a JSON array");
    // The DOM keeps no element's text: walk the same array lazily for it.
    thread_local simdjson::ondemand::parser lazy = DepthLimitedParser<simdjson::ondemand::parser>();
    simdjson::padded_string padded(text);
    simdjson::ondemand::document doc;
    simdjson::ondemand::array lazy_items;
    if (lazy.iterate(padded).get(doc) != simdjson::SUCCESS || doc.get_array().get(lazy_items) != simdjson::SUCCESS)
      return Malformed("the activity list is not a JSON array");
    auto lazy_it = lazy_items.begin();
    std::vector<ActivityRow> rows;
    rows.reserve(items.size());
    for (element item : items) {
      if (lazy_it == lazy_items.end()) return Malformed("the activity list changed while read");
      simdjson::ondemand::object lazy_obj;
      std::string_view raw;
      simdjson::dom::object obj;
      if ((*lazy_it).get_object().get(lazy_obj) != simdjson::SUCCESS ||
          lazy_obj.raw_json().get(raw) != simdjson::SUCCESS || item.get_object().get(obj) != simdjson::SUCCESS)
        return Malformed("an element of the activity list is not an object");
      ++lazy_it;
      auto row = RowOf(obj, raw);
      if (!row.ok()) return row.status();
      rows.push_back(std::move(*row));
    }
    return rows;
  });
}

}  // namespace stravafs
