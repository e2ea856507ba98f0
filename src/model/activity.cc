#include "model/activity.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace stravafs {

namespace {

using enum ColumnType;

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

const Json* Lookup(const Json& j, std::string_view path) {
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

Status ValidateActivity(const Json& j) {
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

ColumnValue ExtractColumn(const Json& j, const ActivityColumn& c) {
  ColumnValue v;
  const Json* p = Lookup(j, c.json_path);
  if (p == nullptr || p->is_null()) return v;
  switch (c.type) {
    case kInteger:
      if (FitsInt64(*p)) {
        v.kind = ColumnValue::kInt;
        v.i = p->get<int64_t>();
      } else if (p->is_number() && std::isfinite(p->get<double>()) && std::fabs(p->get<double>()) < 9.2e18) {
        // A float, or an integer beyond int64 read as one: rounded if it fits, else NULL.
        v.kind = ColumnValue::kInt;
        v.i = static_cast<int64_t>(std::llround(p->get<double>()));
      }
      break;
    case kReal:
      if (p->is_number()) {
        v.kind = ColumnValue::kReal;
        v.d = p->get<double>();
      }
      break;
    case kBool:
      if (p->is_boolean()) {
        v.kind = ColumnValue::kInt;
        v.i = p->get<bool>() ? 1 : 0;
      } else if (p->is_number()) {
        v.kind = ColumnValue::kInt;
        v.i = p->get<double>() != 0 ? 1 : 0;
      }
      break;
    case kText:
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

ActivityRow RowFromJson(const Json& j) {
  ActivityRow row;
  row.id = j.at("id").get<int64_t>();
  row.json = j.dump();
  row.hash = Fingerprint(row.json);
  for (const auto& c : ActivityColumns()) row.columns.push_back(ExtractColumn(j, c));
  return row;
}

}  // namespace stravafs
