// ParseActivityPage: a listing page (GET /athlete/activities) into cache rows.
//
// The hot path of a sync: a first sync reads every activity through here.
// simdjson validates the whole page (a malformed or truncated reply is an
// error, so it is retried and never stored), each element's JSON text is kept
// exactly as Strava sent it, and the typed columns are extracted with the
// same rules as ExtractColumn (activity.h), which the tests hold it to.
// Thread-safe (parsers are per thread).
#pragma once

#include <string_view>
#include <vector>

#include "model/activity.h"
#include "base/status.h"

namespace stravafs {

// Every element must pass the same checks as ValidateActivity. A page with
// an integer beyond 64 bits (valid JSON that simdjson refuses) is read by
// nlohmann instead, as the detail path reads it; its rows' text is then
// nlohmann's dump of each element rather than the bytes received.
Result<std::vector<ActivityRow>> ParseActivityPage(std::string_view body);

}  // namespace stravafs
