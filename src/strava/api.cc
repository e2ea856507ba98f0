#include "strava/api.h"

#include <cmath>

#include "model/activity.h"
#include "strava/http.h"

namespace stravafs::api {

std::string ListPath(const ListQuery& q) {
  std::string path = "/athlete/activities?per_page=" + std::to_string(q.per_page) + "&page=" + std::to_string(q.page);
  if (q.after) path += "&after=" + std::to_string(*q.after);
  if (q.before) path += "&before=" + std::to_string(*q.before);
  return path;
}

Result<std::vector<ActivityRow>> ListActivities(StravaClient& client, const ListQuery& query) {
  std::vector<ActivityRow> rows;
  Status s = client.GetWith(ListPath(query), [&](const std::string& body) {
    auto parsed = ParseActivityPage(body);
    if (!parsed.ok()) return parsed.status();
    rows = std::move(*parsed);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return rows;
}

Result<Json> GetActivity(StravaClient& client, int64_t id) {
  return client.Get("/activities/" + std::to_string(id) + "?include_all_efforts=false", [id](const Json& j) {
    auto row = RowFromJson(j);
    if (!row.ok()) return row.status();
    return row->id == id ? Status::Ok() : Status::Error(ErrorKind::kServer, "detail of another activity");
  });
}

Result<Json> GetStreams(StravaClient& client, int64_t id, const std::vector<std::string>& types) {
  std::string keys;
  for (const auto& t : types) keys += (keys.empty() ? "" : ",") + t;
  auto got = client.Get("/activities/" + std::to_string(id) + "/streams?keys=" + UrlEncode(keys) + "&key_by_type=true",
                        CheckStreams);
  if (!got.ok()) return got.status();
  return StreamsByType(*got);
}

Result<Json> GetAthlete(StravaClient& client) {
  return client.Get("/athlete", [](const Json& j) {
    return j.is_object() && j.contains("id") && j["id"].is_number_integer()
               ? Status::Ok()
               : Status::Error(ErrorKind::kServer, "athlete reply has no id");
  });
}

Result<Json> GetAthleteZones(StravaClient& client) { return client.Get("/athlete/zones", CheckZones); }

Result<Json> GetGear(StravaClient& client, const std::string& id) {
  return client.Get("/gear/" + UrlEncode(id), [](const Json& j) {
    return j.is_object() && j.contains("id") && j["id"].is_string()
               ? Status::Ok()
               : Status::Error(ErrorKind::kServer, "gear reply has no id");
  });
}

Json StreamsByType(const Json& j) {
  if (j.is_object()) return j;
  Json out = Json::object();
  for (const auto& s : j)
    if (s.is_object() && s.contains("type") && s["type"].is_string()) out[s["type"].get<std::string>()] = s;
  return out;
}

Status CheckStreams(const Json& j) {
  if (!j.is_object() && !j.is_array()) return Status::Error(ErrorKind::kServer, "streams reply is not an object");
  const Json keyed = StreamsByType(j);
  for (const auto& [type, s] : keyed.items()) {
    if (!s.is_object() || !s.contains("data") || !s["data"].is_array())
      return Status::Error(ErrorKind::kServer, "stream " + type + " has no data array");
  }
  return Status::Ok();
}

Status CheckZones(const Json& j) {
  if (!j.is_object()) return Status::Error(ErrorKind::kServer, "zones reply is not an object");
  int kinds = 0;
  for (const char* key : {"heart_rate", "power"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    const std::string what = std::string(key) + " zones";
    if (!it->is_object() || !it->contains("zones") || !(*it)["zones"].is_array())
      return Status::Error(ErrorKind::kServer, what + " have no zones array");
    double prev = -INFINITY;
    bool open = false;
    for (const Json& z : (*it)["zones"]) {
      if (!z.is_object() || !z.contains("min") || !z["min"].is_number() || !z.contains("max") || !z["max"].is_number())
        return Status::Error(ErrorKind::kServer, what + ": a zone without numeric min and max");
      const double min = z["min"].get<double>(), max = z["max"].get<double>();
      if (open || !std::isfinite(min) || !std::isfinite(max) || min < prev || (max != -1 && max < min))
        return Status::Error(ErrorKind::kServer, what + ": bounds out of order");
      open = max == -1;
      prev = min;
    }
    ++kinds;
  }
  if (kinds == 0) return Status::Error(ErrorKind::kServer, "zones reply has neither heart_rate nor power zones");
  return Status::Ok();
}

}  // namespace stravafs::api
