// The Strava calls stravafs makes, typed (STRAVA_API.md has the endpoints).
//
// Each call writes its path and query once and checks the reply's shape
// before anything else sees it: a reply that fails the check is malformed,
// so the StravaClient retries it like a 5xx, and it never reaches the cache.
// Errors are the client's (kNotFound for a 404, kScope, kRateLimited, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "model/activity.h"
#include "model/streams.h"
#include "strava/client.h"

namespace stravafs::api {

// Strava's largest page: more is taken as this many.
inline constexpr int kMaxPerPage = 200;

// GET /athlete/activities: activities starting in (after, before) (epoch
// seconds, exclusive), page `page` of pages of `per_page`.
struct ListQuery {
  std::optional<int64_t> after, before;
  int64_t page = 1;
  int per_page = kMaxPerPage;
};
std::string ListPath(const ListQuery& query);
// One page of summaries as cache rows (ParseActivityPage). Safe to call from
// another thread than the cache's, as long as the client is used by one
// thread at a time.
Result<std::vector<ActivityRow>> ListActivities(StravaClient& client, const ListQuery& query);

// GET /activities/{id}: the detailed activity (with its laps), which must be
// the one asked for.
Result<ActivityDetail> GetActivity(StravaClient& client, int64_t id);
// GET /activities/{id}/streams of the given types (ParseStreams).
Result<StreamSet> GetStreams(StravaClient& client, int64_t id, const std::vector<std::string>& types);
// GET /athlete: the authenticated athlete (an object with an integer id).
Result<Json> GetAthlete(StravaClient& client);
// GET /athlete/zones, checked by CheckZones.
Result<Json> GetAthleteZones(StravaClient& client);
// GET /gear/{id} (an object with a string id).
Result<Json> GetGear(StravaClient& client, const std::string& id);

// A streams reply as the cache takes it. With key_by_type=true Strava sends
// an object keyed by type; older replies are an array of {"type": ...,
// "data": [...]} (of a repeated type the last one counts). Every stream must
// have a "data" array (else a kServer error says which does not); types the
// cache does not keep are left out, and a value that is not a number (a
// boolean is 0 or 1; latlng's, a pair of numbers) is NaN.
Result<StreamSet> ParseStreams(std::string_view text);
// Whether a GET /athlete/zones reply has the shape the cache takes: an object
// with "heart_rate" and/or "power", each {"zones": [{"min": number, "max":
// number (-1: open top)}, ...]} with ascending bounds.
Status CheckZones(const Json& reply);

}  // namespace stravafs::api
