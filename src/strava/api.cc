#include "strava/api.h"

#include <cmath>
#include <optional>
#include <unordered_map>

#include "base/json_dom.h"
#include "model/activity.h"
#include "strava/http.h"

namespace stravafs::api {

namespace {

// GET `path_and_query`, its body read by `parse` (text -> Result<T>): a body
// it refuses is retried like a 5xx (StravaClient::GetWith).
template <typename Parse>
auto GetParsed(StravaClient& client, const std::string& path_and_query, const Parse& parse)
    -> decltype(parse(std::string_view())) {
  std::optional<decltype(parse(std::string_view()))> out;
  Status s = client.GetWith(path_and_query, [&](const std::string& body) {
    out = parse(body);
    return out->ok() ? Status::Ok() : out->status();
  });
  if (!s.ok()) return s;
  return std::move(*out);
}

}  // namespace

std::string ListPath(const ListQuery& q) {
  std::string path = "/athlete/activities?per_page=" + std::to_string(q.per_page) + "&page=" + std::to_string(q.page);
  if (q.after) path += "&after=" + std::to_string(*q.after);
  if (q.before) path += "&before=" + std::to_string(*q.before);
  return path;
}

Result<std::vector<ActivityRow>> ListActivities(StravaClient& client, const ListQuery& query) {
  return GetParsed(client, ListPath(query), ParseActivityPage);
}

Result<ActivityDetail> GetActivity(StravaClient& client, int64_t id) {
  return GetParsed(client, "/activities/" + std::to_string(id) + "?include_all_efforts=false",
                   [id](std::string_view body) -> Result<ActivityDetail> {
                     auto detail = DetailFromText(body);
                     if (detail.ok() && detail->row.id != id)
                       return Status::Error(ErrorKind::kServer, "detail of another activity");
                     return detail;
                   });
}

Result<StreamSet> GetStreams(StravaClient& client, int64_t id, const std::vector<std::string>& types) {
  std::string keys;
  for (const auto& t : types) keys += (keys.empty() ? "" : ",") + t;
  return GetParsed(client,
                   "/activities/" + std::to_string(id) + "/streams?keys=" + UrlEncode(keys) + "&key_by_type=true",
                   ParseStreams);
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

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A number of a stream as the cache holds it: booleans 0 and 1; NaN for
// anything but a number.
double SampleValue(const element& v) {
  switch (v.type()) {
    case element_type::BOOL:
      return bool(v) ? 1 : 0;
    case element_type::INT64:
      return double(int64_t(v));
    case element_type::UINT64:
      return double(uint64_t(v));
    case element_type::DOUBLE:
      return double(v);
    default:
      return NAN;
  }
}

bool IsNumber(const element& v) {
  const element_type t = v.type();
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

// The columns of stream type `t` from its data array.
void FillColumns(const StreamType& t, const simdjson::dom::array& data, StreamSet& out) {
  std::vector<double>& first = out[t.column.name];
  first.clear();
  first.reserve(data.size());
  if (!t.second) {
    for (element v : data) first.push_back(SampleValue(v));
    return;
  }
  std::vector<double>& second = out[t.second->name];
  second.clear();
  second.reserve(data.size());
  for (element v : data) {
    simdjson::dom::array pair;
    element a, b;
    if (v.get_array().get(pair) == simdjson::SUCCESS && pair.size() == 2 && pair.at(0).get(a) == simdjson::SUCCESS &&
        pair.at(1).get(b) == simdjson::SUCCESS && IsNumber(a) && IsNumber(b)) {
      first.push_back(SampleValue(a));
      second.push_back(SampleValue(b));
    } else {
      first.push_back(NAN);
      second.push_back(NAN);
    }
  }
}

}  // namespace

Result<StreamSet> ParseStreams(std::string_view text) {
  return ReadAnyJson(text, [](const element& root, std::string_view) -> Result<StreamSet> {
    // Each stream by its type, in the order first seen, the last of a
    // repeated type counting (a hostile reply may repeat thousands).
    std::vector<std::pair<std::string_view, element>> by_type;
    std::unordered_map<std::string_view, size_t> seen;
    auto add = [&](std::string_view type, element stream) {
      auto [it, fresh] = seen.try_emplace(type, by_type.size());
      if (fresh)
        by_type.emplace_back(type, stream);
      else
        by_type[it->second].second = stream;
    };
    if (root.is_object()) {
      for (auto [key, stream] : simdjson::dom::object(root)) add(key, stream);
    } else if (root.is_array()) {
      for (element stream : simdjson::dom::array(root)) {
        if (!stream.is_object()) continue;
        std::string_view type;  // the last "type", if repeated
        bool typed = false;
        for (auto [key, value] : simdjson::dom::object(stream))
          if (key == "type") typed = value.get_string().get(type) == simdjson::SUCCESS;
        if (typed) add(type, stream);
      }
    } else {
      return Status::Error(ErrorKind::kServer, "unexpected reply: streams reply is not an object");
    }
    StreamSet out;
    for (const auto& [type, stream] : by_type) {
      // Its "data", the last one if repeated (as nlohmann keeps it).
      std::optional<element> last;
      if (stream.is_object())
        for (auto [key, value] : simdjson::dom::object(stream))
          if (key == "data") last = value;
      simdjson::dom::array data;
      if (!last || last->get_array().get(data) != simdjson::SUCCESS)
        return Status::Error(ErrorKind::kServer,
                             "unexpected reply: stream " + std::string(type) + " has no data array");
      for (const StreamType& t : kStreamTypes)
        if (t.strava == type) FillColumns(t, data, out);
    }
    return out;
  });
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
