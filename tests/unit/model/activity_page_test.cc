// ParseActivityPage must give exactly the rows an independent reader gives
// (the nlohmann one of reference_activity.h), and those RowFromText gives
// for each element alone, keep each element's text byte for byte, and
// refuse anything the reference refuses.
#include "model/activity.h"

#include "../../reference_activity.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace stravafs {
namespace {

bool Same(const ColumnValue& a, const ColumnValue& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case ColumnValue::kNull:
      return true;
    case ColumnValue::kInt:
      return a.i == b.i;
    case ColumnValue::kReal:
      return a.d == b.d;
    case ColumnValue::kText:
      return a.s == b.s;
  }
  return false;
}

// Elements as Strava writes them: ints for floats, absent and null keys,
// [] and null latlng, nested athlete/map, numbers where text is usual.
const std::vector<std::string> kElements = {
    R"({"resource_state":2,"athlete":{"id":3141592653,"resource_state":1},"name":"Morning Run","distance":5012.3,)"
    R"("moving_time":1500,"elapsed_time":1512.0,"total_elevation_gain":12,"type":"Run","sport_type":"Run",)"
    R"("workout_type":null,"id":11000000001,"start_date":"2024-05-12T11:30:00Z",)"
    R"("start_date_local":"2024-05-12T07:30:00Z","timezone":"(GMT-05:00) America/New_York","utc_offset":-14400.0,)"
    R"("start_latlng":[45.1,-73.25],"end_latlng":[45.2,-73.3],"map":{"id":"a1","summary_polyline":"abc\\def",)"
    R"("resource_state":2},"max_speed":0,"has_heartrate":true,"average_heartrate":151.5,"trainer":false,)"
    R"("commute":1,"manual":false,"private":false,"visibility":"everyone","gear_id":"b123","upload_id":12000000001,)"
    R"("external_id":"a.fit","kudos_count":3,"total_photo_count":0})",
    R"({"id":11000000002,"name":"\u00c9t\u00e9 \"quoted\", comma\n\u0001 \ud83c\udfc3\u200d\u2640\ufe0f",)"
    R"("start_date":"2024-05-13T23:00:00Z","start_date_local":"2024-05-14T09:00:00Z","timezone":"Australia/Sydney",)"
    R"("utc_offset":36000,"start_latlng":[],"end_latlng":null,"map":{"summary_polyline":""},"manual":true,)"
    R"("upload_id":null,"external_id":null,"gear_id":null,"workout_type":3,"average_cadence":80,"kilojoules":1.5e3,)"
    R"("device_watts":0,"suffer_score":12.75,"athlete":{"resource_state":1},"elev_high":"n/a","elev_low":true})",
    R"({"id":11000000003,"start_date":"2024-05-15T06:00:00Z","start_date_local":"2024-05-15T08:00:00Z",)"
    R"("external_id":123456,"moving_time":99.6,"has_heartrate":null,"start_latlng":[1],"name":null})",
    // Keys given twice: the last value counts, as nlohmann keeps it.
    R"({"id":"x","name":"first","start_date":"soon","athlete":{"id":1,"id":4242},"distance":"far",)"
    R"("start_latlng":[1,2],"id":11000000004,"start_date":"2024-05-16T06:00:00Z","name":"second",)"
    R"("start_date_local":"2024-05-16T08:00:00Z","distance":12.5,"start_latlng":[3.5,4.5],"map":{"polyline":"a",)"
    R"("polyline":"b"}})",
};

std::string Page(const std::vector<std::string>& elements, const char* sep = ",") {
  std::string out = "[";
  for (size_t i = 0; i < elements.size(); ++i) out += (i ? sep : "") + elements[i];
  return out + "]";
}

TEST_CASE("ParseActivityPage gives the rows the reference gives, text kept verbatim", "[activity_page]") {
  auto rows = ParseActivityPage(Page(kElements, " ,\n  "));
  INFO(rows.status().message());
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == kElements.size());
  for (size_t i = 0; i < kElements.size(); ++i) {
    INFO("element " << i);
    const ActivityRow& fast = (*rows)[i];
    const Json parsed = Json::parse(kElements[i]);
    REQUIRE(reference::ValidateActivity(parsed).ok());
    const ActivityRow slow = reference::RowFromJson(parsed);
    auto alone = RowFromText(kElements[i]);
    REQUIRE(alone.ok());
    CHECK(alone->json == kElements[i]);
    CHECK(fast.json == kElements[i]);  // byte for byte, not re-serialised
    CHECK(fast.hash == Fingerprint(kElements[i]));
    CHECK(fast.id == slow.id);
    REQUIRE(fast.columns.size() == slow.columns.size());
    for (size_t c = 0; c < fast.columns.size(); ++c) {
      INFO("column " << ActivityColumns()[c].name);
      CHECK(Same(fast.columns[c], slow.columns[c]));
      CHECK(Same(fast.columns[c], alone->columns[c]));
    }
  }
}

TEST_CASE("ParseActivityPage normalises start_date_local and timezone", "[activity_page]") {
  auto rows = ParseActivityPage(Page({kElements[0]}));
  REQUIRE(rows.ok());
  auto column = [&](std::string_view name) {
    for (size_t c = 0; c < ActivityColumns().size(); ++c)
      if (ActivityColumns()[c].name == name) return (*rows)[0].columns[c];
    FAIL("no column " << name);
    return ColumnValue{};
  };
  CHECK(column("start_date_local").s == "2024-05-12T07:30:00");
  CHECK(column("timezone").s == "America/New_York");
  CHECK(column("athlete_id").i == 3141592653);
  CHECK(column("start_lng").d == -73.25);
  CHECK(column("summary_polyline").s == "abc\\def");
  CHECK(column("max_speed").kind == ColumnValue::kReal);
  CHECK(column("commute").i == 1);
  CHECK(column("workout_type").kind == ColumnValue::kNull);
}

TEST_CASE("ParseActivityPage accepts an empty page", "[activity_page]") {
  auto rows = ParseActivityPage("[]");
  REQUIRE(rows.ok());
  CHECK(rows->empty());
}

TEST_CASE("ParseActivityPage refuses what must never reach the cache", "[activity_page]") {
  const std::string good = Page(kElements);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {good.substr(0, good.size() / 2), "not valid JSON"},  // truncated
      {R"([{"id": 1,,}])", "not valid JSON"},               // malformed
      {"", "not valid JSON"},
      {R"({"id":1})", "not a JSON array"},
      {R"([1,2])", "not an object"},
      {R"([{"start_date":"2024-05-12T11:30:00Z","start_date_local":"2024-05-12T07:30:00Z"}])", "no integer id"},
      {R"([{"id":1.5,"start_date":"2024-05-12T11:30:00Z","start_date_local":"2024-05-12T07:30:00Z"}])",
       "no integer id"},
      {R"([{"id":7,"start_date":"2024-05-12T11:30:00","start_date_local":"2024-05-12T07:30:00Z"}])",
       "activity 7 has no valid start_date"},
      {R"([{"id":7,"start_date":"2024-02-30T11:30:00Z","start_date_local":"2024-05-12T07:30:00Z"}])",
       "activity 7 has no valid start_date"},
      {R"([{"id":7,"start_date":"2024-05-12T11:30:00Z"}])", "activity 7 has no valid start_date_local"},
  };
  for (const auto& [body, message] : cases) {
    INFO(body);
    auto rows = ParseActivityPage(body);
    REQUIRE_FALSE(rows.ok());
    CHECK(rows.status().kind() == ErrorKind::kServer);
    CHECK_THAT(rows.status().message(), Catch::Contains(message));
  }
}

// Found by tests/fuzz (fuzz_activity): simdjson refuses integers beyond 64
// bits, which JSON allows and nlohmann (the detail path) reads as doubles, so
// a listing with one anywhere, even in a field stravafs does not read, was
// "not valid JSON" and the sync retried it and failed on every run.
TEST_CASE("ParseActivityPage reads a page with an integer beyond 64 bits as nlohmann does", "[activity_page][bug]") {
  const std::string body =
      R"([{"id":11000000001,"start_date":"2024-05-12T11:30:00Z","start_date_local":"2024-05-12T07:30:00Z",)"
      R"("name":"Big","distance":123456789012345678901234567890,"new_field":-99999999999999999999}])";
  auto rows = ParseActivityPage(body);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  const Json parsed = Json::parse(body)[0];
  const ActivityRow want = reference::RowFromJson(parsed);
  const ActivityRow& row = (*rows)[0];
  CHECK(row.id == 11000000001);
  CHECK(row.json == parsed.dump());
  CHECK(row.hash == want.hash);
  REQUIRE(row.columns.size() == want.columns.size());
  for (size_t i = 0; i < row.columns.size(); ++i) CHECK(Same(row.columns[i], want.columns[i]));
  // Still refused: what nlohmann refuses too, and elements that fail the checks.
  // [bug] Too deep for either parser (issue 15: nlohmann took it and the
  // sync died in a recursive dump): refused as malformed, whichever of the
  // big integer and the nesting comes first.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const std::string& page :
       {R"([{"id":1,"big":123456789012345678901234567890,"deep":)" + deep + "}]",
        R"([{"id":1,"deep":)" + deep + R"(,"big":123456789012345678901234567890}])",
        R"([{"id":1,"start_date":"2024-05-12T11:30:00Z","start_date_local":"2024-05-12T07:30:00Z","deep":)" +
            std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']') + "}]"}) {
    auto refused = ParseActivityPage(page);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().kind() == ErrorKind::kServer);
  }
  CHECK_FALSE(ParseActivityPage("[1e400]").ok());
  CHECK_FALSE(ParseActivityPage(R"([{"id":1,"x":123456789012345678901234567890}])").ok());
}

}  // namespace
}  // namespace stravafs
