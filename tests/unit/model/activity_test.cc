// Tests for activity.cc: how Strava's activity JSON becomes typed columns.
// Every column type, Strava's lenient numbers, absent vs null keys, latlng as
// [] and null, the two computed columns (start_date_local, timezone), the
// shape check that keeps garbage out of the cache, the ISO date helpers and
// the fingerprint.
#include "model/activity.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <string_view>

namespace stravafs {
namespace {

const ActivityColumn& Column(std::string_view name) {
  for (const auto& c : ActivityColumns())
    if (name == c.name) return c;
  FAIL("no column " << name);
  throw 0;  // unreachable: FAIL throws
}

// A column of the row RowFromJson makes of `j`, which must be a valid activity.
ColumnValue Extract(const Json& j, std::string_view column) {
  auto row = RowFromJson(j);
  REQUIRE(row.ok());
  return row->columns[static_cast<size_t>(&Column(column) - ActivityColumns().data())];
}

Status ValidateActivity(const Json& j) { return RowFromJson(j).status(); }

// A summary shaped like a real one (see STRAVA_API.md).
Json RealSummary() {
  return Json::parse(R"({
    "resource_state": 2,
    "athlete": {"id": 134815, "resource_state": 1},
    "name": "Happy Friday",
    "distance": 24931.4,
    "moving_time": 4500,
    "elapsed_time": 4500,
    "total_elevation_gain": 0,
    "type": "Ride",
    "sport_type": "MountainBikeRide",
    "workout_type": null,
    "id": 15402513245,
    "start_date": "2024-05-12T11:30:00Z",
    "start_date_local": "2024-05-12T07:30:00Z",
    "timezone": "(GMT-05:00) America/New_York",
    "utc_offset": -14400.0,
    "achievement_count": 0,
    "kudos_count": 3,
    "total_photo_count": 2,
    "map": {"id": "a12345678", "summary_polyline": "ki{eFvqfiVqAWQIGEEKAYJgBVqDJ{BHa@jAkNJw@Pw@V{APs@^aABQAOEQGKoJ_FuJkFqAo@{A}@sH{DiAs@Q]?WVy@`@oBt@_CB]KYMMkB{AQEI@WT{BlE{@zAQPI@ICsCqA_BcAeCmAaFmCqIoEcLeG}KcG}A}@cDaBiDsByAkAuBqBi@y@_@o@o@kB}BgIoA_EUkAMcACa@BeBBq@LaAJe@b@uA`@_AdBcD",
            "resource_state": 2},
    "trainer": false, "commute": true, "manual": false, "private": false,
    "visibility": "everyone", "flagged": false,
    "gear_id": "b12345678987654321",
    "start_latlng": [37.83, -122.26],
    "end_latlng": [37.83, -122.26],
    "average_speed": 5.54,
    "max_speed": 11,
    "has_heartrate": false,
    "device_watts": 1,
    "upload_id": 16441254215,
    "external_id": "garmin_push_12345678987654321"
  })");
}

TEST_CASE("ActivityColumns: id first, unique names, every type used, json not listed", "[activity]") {
  auto cols = ActivityColumns();
  REQUIRE(cols.size() > 40);
  CHECK(std::string(cols[0].name) == "id");
  CHECK(cols[0].type == ColumnType::kInteger);
  std::set<std::string> names;
  std::set<ColumnType> types;
  for (const auto& c : cols) {
    INFO(c.name);
    CHECK(names.insert(c.name).second);
    CHECK(std::string(c.name) != "json");
    CHECK(std::string(c.doc) != "");
    types.insert(c.type);
  }
  CHECK(types.size() == 4);
  CHECK(names.count("start_date_local") == 1);
  CHECK(names.count("detail_level") == 1);
}

TEST_CASE("RowFromText: integer columns", "[activity]") {
  Json j = RealSummary();
  auto id = Extract(j, "id");
  CHECK(id.kind == ColumnValue::kInt);
  CHECK(id.i == INT64_C(15402513245));      // beyond 2^31
  auto athlete = Extract(j, "athlete_id");  // nested key
  CHECK(athlete.kind == ColumnValue::kInt);
  CHECK(athlete.i == 134815);
  auto photos = Extract(j, "photo_count");  // column named apart from its key
  CHECK(photos.kind == ColumnValue::kInt);
  CHECK(photos.i == 2);
  auto level = Extract(j, "detail_level");
  CHECK(level.kind == ColumnValue::kInt);
  CHECK(level.i == 2);

  SECTION("a float where an integer belongs is rounded, not dropped") {
    j["moving_time"] = 4499.6;
    auto v = Extract(j, "moving_time");
    CHECK(v.kind == ColumnValue::kInt);
    CHECK(v.i == 4500);
    j["moving_time"] = 12.0;
    CHECK(Extract(j, "moving_time").i == 12);
  }
  SECTION("a string where an integer belongs is NULL") {
    j["moving_time"] = "4500";
    CHECK(Extract(j, "moving_time").kind == ColumnValue::kNull);
  }
}

TEST_CASE("RowFromText: real columns accept integers", "[activity]") {
  Json j = RealSummary();
  auto d = Extract(j, "distance");
  CHECK(d.kind == ColumnValue::kReal);
  CHECK(d.d == 24931.4);
  auto gain = Extract(j, "total_elevation_gain");  // JSON 0
  CHECK(gain.kind == ColumnValue::kReal);
  CHECK(gain.d == 0.0);
  auto max_speed = Extract(j, "max_speed");  // JSON 11
  CHECK(max_speed.kind == ColumnValue::kReal);
  CHECK(max_speed.d == 11.0);
  auto offset = Extract(j, "utc_offset");
  CHECK(offset.kind == ColumnValue::kReal);
  CHECK(offset.d == -14400.0);
  j["distance"] = "far";
  CHECK(Extract(j, "distance").kind == ColumnValue::kNull);
  j["distance"] = true;
  CHECK(Extract(j, "distance").kind == ColumnValue::kNull);
}

TEST_CASE("RowFromText: text columns", "[activity]") {
  Json j = RealSummary();
  auto name = Extract(j, "name");
  CHECK(name.kind == ColumnValue::kText);
  CHECK(name.s == "Happy Friday");
  CHECK(Extract(j, "sport_type").s == "MountainBikeRide");
  CHECK(Extract(j, "gear_id").s == "b12345678987654321");
  auto poly = Extract(j, "summary_polyline");  // map.summary_polyline
  CHECK(poly.kind == ColumnValue::kText);
  CHECK(poly.s.rfind("ki{eFvqfiV", 0) == 0);

  SECTION("unicode and hostile characters pass through byte for byte") {
    j["name"] = "Café «Ride» 🚴 \"quoted\" / back\\slash\n";
    CHECK(Extract(j, "name").s == "Café «Ride» 🚴 \"quoted\" / back\\slash\n");
  }
  SECTION("an empty string stays an empty string, not NULL") {
    j["map"]["summary_polyline"] = "";
    auto v = Extract(j, "summary_polyline");
    CHECK(v.kind == ColumnValue::kText);
    CHECK(v.s == "");
  }
  SECTION("a number in a text column becomes its JSON text") {
    j["gear_id"] = 42;
    auto v = Extract(j, "gear_id");
    CHECK(v.kind == ColumnValue::kText);
    CHECK(v.s == "42");
  }
  SECTION("an object in a text column is NULL") {
    j["name"] = Json::object();
    CHECK(Extract(j, "name").kind == ColumnValue::kNull);
  }
}

TEST_CASE("RowFromText: booleans become 0/1", "[activity]") {
  Json j = RealSummary();
  auto commute = Extract(j, "commute");
  CHECK(commute.kind == ColumnValue::kInt);
  CHECK(commute.i == 1);
  auto trainer = Extract(j, "trainer");
  CHECK(trainer.kind == ColumnValue::kInt);
  CHECK(trainer.i == 0);
  auto device_watts = Extract(j, "device_watts");  // JSON 1 where a boolean belongs
  CHECK(device_watts.kind == ColumnValue::kInt);
  CHECK(device_watts.i == 1);
  j["device_watts"] = 0.0;
  CHECK(Extract(j, "device_watts").i == 0);
  j["device_watts"] = "yes";
  CHECK(Extract(j, "device_watts").kind == ColumnValue::kNull);
}

TEST_CASE("RowFromText: absent and null keys are both NULL", "[activity]") {
  Json j = RealSummary();
  // workout_type is present as null; average_heartrate, calories and
  // description are left out, as Strava does.
  REQUIRE(j.contains("workout_type"));
  REQUIRE(!j.contains("average_heartrate"));
  for (const char* col : {"workout_type", "average_heartrate", "calories", "description", "device_name", "polyline",
                          "elev_high", "average_watts", "location_country"}) {
    INFO(col);
    CHECK(Extract(j, col).kind == ColumnValue::kNull);
  }
  j["average_heartrate"] = nullptr;
  CHECK(Extract(j, "average_heartrate").kind == ColumnValue::kNull);
  j["upload_id"] = nullptr;  // manual activities
  CHECK(Extract(j, "upload_id").kind == ColumnValue::kNull);
  j["athlete"] = nullptr;  // a null parent of a nested key
  CHECK(Extract(j, "athlete_id").kind == ColumnValue::kNull);
  j.erase("map");
  CHECK(Extract(j, "summary_polyline").kind == ColumnValue::kNull);
}

TEST_CASE("RowFromText: latlng as a pair, [] and null", "[activity]") {
  Json j = RealSummary();
  auto lat = Extract(j, "start_lat"), lng = Extract(j, "start_lng");
  CHECK(lat.kind == ColumnValue::kReal);
  CHECK(lat.d == 37.83);
  CHECK(lng.kind == ColumnValue::kReal);
  CHECK(lng.d == -122.26);

  SECTION("no GPS: []") {
    j["start_latlng"] = Json::array();
    j["end_latlng"] = Json::array();
    for (const char* col : {"start_lat", "start_lng", "end_lat", "end_lng"}) {
      INFO(col);
      CHECK(Extract(j, col).kind == ColumnValue::kNull);
    }
  }
  SECTION("older data: null") {
    j["start_latlng"] = nullptr;
    j["end_latlng"] = nullptr;
    for (const char* col : {"start_lat", "start_lng", "end_lat", "end_lng"}) {
      INFO(col);
      CHECK(Extract(j, col).kind == ColumnValue::kNull);
    }
  }
  SECTION("a single element: lat only") {
    j["start_latlng"] = Json::array({1.5});
    CHECK(Extract(j, "start_lat").d == 1.5);
    CHECK(Extract(j, "start_lng").kind == ColumnValue::kNull);
  }
  SECTION("integers in a latlng") {
    j["end_latlng"] = Json::array({0, 10});
    CHECK(Extract(j, "end_lat").kind == ColumnValue::kReal);
    CHECK(Extract(j, "end_lat").d == 0.0);
    CHECK(Extract(j, "end_lng").d == 10.0);
  }
}

TEST_CASE("RowFromText: start_date keeps its Z, start_date_local loses it", "[activity]") {
  Json j = RealSummary();
  CHECK(Extract(j, "start_date").s == "2024-05-12T11:30:00Z");
  auto local = Extract(j, "start_date_local");
  CHECK(local.kind == ColumnValue::kText);
  CHECK(local.s == "2024-05-12T07:30:00");
  j["start_date_local"] = "2024-05-12T07:30:00";  // already without Z: unchanged
  CHECK(Extract(j, "start_date_local").s == "2024-05-12T07:30:00");
  j["start_date_local"] = nullptr;  // a row needs one: refused, not NULL
  CHECK(RowFromJson(j).status().message() == "activity 15402513245 has no valid start_date_local");
  j.erase("start_date_local");
  CHECK(RowFromJson(j).status().message() == "activity 15402513245 has no valid start_date_local");
}

TEST_CASE("RowFromText: timezone keeps the IANA name only", "[activity]") {
  Json j = RealSummary();
  auto tz = Extract(j, "timezone");
  CHECK(tz.kind == ColumnValue::kText);
  CHECK(tz.s == "America/New_York");
  j["timezone"] = "(GMT+05:30) Asia/Kolkata";
  CHECK(Extract(j, "timezone").s == "Asia/Kolkata");
  j["timezone"] = "(GMT+00:00) Africa/Abidjan";
  CHECK(Extract(j, "timezone").s == "Africa/Abidjan");
  j["timezone"] = "Europe/Paris";  // no "(GMT…)" prefix: kept as is
  CHECK(Extract(j, "timezone").s == "Europe/Paris");
  j["timezone"] = nullptr;
  CHECK(Extract(j, "timezone").kind == ColumnValue::kNull);
  j.erase("timezone");
  CHECK(Extract(j, "timezone").kind == ColumnValue::kNull);
}

TEST_CASE("ValidateActivity accepts a real summary", "[activity]") {
  CHECK(ValidateActivity(RealSummary()).ok());
  Json minimal = {{"id", 1}, {"start_date", "2024-05-12T11:30:00Z"}, {"start_date_local", "2024-05-12T13:30:00Z"}};
  CHECK(ValidateActivity(minimal).ok());
}

TEST_CASE("ValidateActivity rejects what is not an activity", "[activity]") {
  auto rejects = [](const Json& j, const std::string& message) {
    Status s = ValidateActivity(j);
    CHECK_FALSE(s.ok());
    CHECK(s.kind() == ErrorKind::kServer);
    CHECK(s.message() == message);
  };
  rejects(Json::array(), "activity is not a JSON object");
  rejects(Json("Happy Friday"), "activity is not a JSON object");
  rejects(Json(nullptr), "activity is not a JSON object");

  Json j = RealSummary();
  j.erase("id");
  rejects(j, "activity has no integer id");
  j["id"] = "15402513245";
  rejects(j, "activity has no integer id");
  j["id"] = 1.5;
  rejects(j, "activity has no integer id");
  j["id"] = nullptr;
  rejects(j, "activity has no integer id");

  j = RealSummary();
  j.erase("start_date");
  rejects(j, "activity 15402513245 has no valid start_date");
  j["start_date"] = 1715513400;
  rejects(j, "activity 15402513245 has no valid start_date");
  j["start_date"] = "yesterday";
  rejects(j, "activity 15402513245 has no valid start_date");
  j["start_date"] = "2024-05-12";
  rejects(j, "activity 15402513245 has no valid start_date");

  j = RealSummary();
  j.erase("start_date_local");
  rejects(j, "activity 15402513245 has no valid start_date_local");
  j["start_date_local"] = "2024-13-12T07:30:00Z";
  rejects(j, "activity 15402513245 has no valid start_date_local");
}

// activity.h promises "a string `start_date` ending in Z": start_date is UTC,
// and the cache compares it as text against FormatIsoUtc() output.
TEST_CASE("ValidateActivity requires the Z on start_date (UTC)", "[activity][bug]") {
  Json j = RealSummary();
  j["start_date"] = "2024-05-12T11:30:00";
  CHECK_FALSE(ValidateActivity(j).ok());
}

TEST_CASE("ParseIsoUtc reads Strava's dates", "[activity]") {
  CHECK(ParseIsoUtc("2024-05-12T11:30:00Z") == INT64_C(1715513400));
  CHECK(ParseIsoUtc("2024-05-12T11:30:00") == INT64_C(1715513400));  // start_date_local without Z
  CHECK(ParseIsoUtc("1970-01-01T00:00:00Z") == 0);
  CHECK(ParseIsoUtc("1969-12-31T23:59:59Z") == -1);
  CHECK(ParseIsoUtc("2024-02-29T23:59:59Z") == INT64_C(1709251199));
  CHECK(ParseIsoUtc("2038-01-19T03:14:08Z") == INT64_C(2147483648));  // past 32-bit time_t
}

TEST_CASE("ParseIsoUtc rejects garbage", "[activity]") {
  for (const char* bad : {"",
                          "Z",
                          "2024-05-12",
                          "2024-05-12T11:30Z",
                          "2024-05-12 11:30:00Z",
                          "2024-05-12T11:30:00+02:00",
                          "2024-05-12T11:30:00.000Z",
                          "2024-05-12T11:30:00ZZ",
                          "2024-05-12T11:30:00z",
                          "x024-05-12T11:30:00Z",
                          "2024-5-12T11:30:00Z",
                          "2024-00-12T11:30:00Z",
                          "2024-13-12T11:30:00Z",
                          "2024-05-00T11:30:00Z",
                          "2024-05-32T11:30:00Z",
                          "2024-05-12T24:00:00Z",
                          "2024-05-12T11:60:00Z",
                          "2024-05-12T11:30:61Z",
                          "2024-05-12T-1:30:00Z",
                          "2024/05/12T11:30:00Z"}) {
    INFO('"' << bad << '"');
    CHECK_FALSE(ParseIsoUtc(bad).has_value());
  }
}

// A day that does not exist must not silently become another day
// (timegm() normalises 31 February to 2 March).
TEST_CASE("ParseIsoUtc rejects days past the end of the month", "[activity][bug]") {
  CHECK_FALSE(ParseIsoUtc("2024-02-30T00:00:00Z").has_value());
  CHECK_FALSE(ParseIsoUtc("2023-02-29T00:00:00Z").has_value());
  CHECK_FALSE(ParseIsoUtc("2024-04-31T00:00:00Z").has_value());
}

TEST_CASE("FormatIsoUtc and ParseIsoUtc round trip", "[activity]") {
  CHECK(FormatIsoUtc(0) == "1970-01-01T00:00:00Z");
  CHECK(FormatIsoUtc(INT64_C(1715513400)) == "2024-05-12T11:30:00Z");
  CHECK(FormatIsoUtc(INT64_C(1709251199)) == "2024-02-29T23:59:59Z");
  CHECK(FormatIsoUtc(-1) == "1969-12-31T23:59:59Z");
  for (const char* text :
       {"2000-01-01T00:00:00Z", "2024-02-29T12:00:00Z", "2099-12-31T23:59:59Z", "2010-06-15T08:07:06Z"}) {
    INFO(text);
    auto epoch = ParseIsoUtc(text);
    REQUIRE(epoch.has_value());
    CHECK(FormatIsoUtc(*epoch) == text);
  }
  for (int64_t e = INT64_C(946684800); e < INT64_C(4102444800); e += INT64_C(7776013)) {
    INFO(e);
    CHECK(ParseIsoUtc(FormatIsoUtc(e)) == e);
  }
}

// Found with the tests/fuzz activity oracle (the listing parser against the
// nlohmann path), on inputs built from its dictionary's 18446744073709551615:
// nlohmann holds non-negative integers as uint64, and
// get<int64_t>() wrapped one above INT64_MAX, so an id of
// 18446744073709551615 passed ValidateActivity as -1, and moving_time
// 18446744073709551615 became -1 (the listing path gave NULL), as did floats
// beyond int64 in an integer column (llround out of range).
TEST_CASE("Integers beyond int64 are neither ids nor wrapped into integer columns", "[activity][bug]") {
  Json j = Json::parse(R"({"id":18446744073709551615,"start_date":"2024-05-12T11:30:00Z",
                           "start_date_local":"2024-05-12T07:30:00Z"})");
  CHECK_FALSE(ValidateActivity(j).ok());
  j["id"] = 9223372036854775807ull;
  CHECK(ValidateActivity(j).ok());
  for (const char* big : {"18446744073709551615", "9223372036854775808", "1e19", "-1e19"}) {
    INFO(big);
    j["moving_time"] = Json::parse(big);
    CHECK(Extract(j, "moving_time").kind == ColumnValue::kNull);
  }
  j["moving_time"] = Json::parse("9223372036854775807");
  CHECK(Extract(j, "moving_time").i == INT64_MAX);
  j["moving_time"] = Json::parse("1500.6");
  CHECK(Extract(j, "moving_time").i == 1501);
  CHECK(FitsInt64(Json::parse("-9223372036854775808")));
  CHECK_FALSE(FitsInt64(Json::parse("9223372036854775808")));
  CHECK_FALSE(FitsInt64(Json::parse("1.0")));
}

// Found while fixing what fuzz_render found (a .gpx <time> no reader takes):
// strftime's %Y wrote year 999 as "999", which ParseIsoUtc (and xsd:dateTime)
// does not read.
TEST_CASE("FormatIsoUtc writes years before 1000 with four digits", "[activity][bug]") {
  CHECK(FormatIsoUtc(kMinIsoEpoch) == "0000-01-01T00:00:00Z");
  CHECK(FormatIsoUtc(kMaxIsoEpoch) == "9999-12-31T23:59:59Z");
  for (const char* text : {"0000-01-01T00:00:00Z", "0999-12-31T23:59:59Z", "0042-03-01T12:00:00Z"}) {
    INFO(text);
    auto epoch = ParseIsoUtc(text);
    REQUIRE(epoch.has_value());
    CHECK(FormatIsoUtc(*epoch) == text);
  }
}

TEST_CASE("Fingerprint is stable and tells edits apart", "[activity]") {
  CHECK(Fingerprint("foobar") == Fingerprint(std::string("foo") + "bar"));
  Json a = RealSummary(), b = RealSummary();
  CHECK(Fingerprint(a.dump()) == Fingerprint(b.dump()));
  b["name"] = "Happy Friday!";
  CHECK(Fingerprint(a.dump()) != Fingerprint(b.dump()));
  CHECK(Fingerprint("") != Fingerprint(std::string_view("\0", 1)));
  // Bytes, not characters: embedded NULs count.
  CHECK(Fingerprint(std::string_view("a\0b", 3)) != Fingerprint(std::string_view("a\0c", 3)));
}

// activity.h documents FNV-1a; the offset basis in activity.cc lost its last
// digit (1469598103934665603 instead of 14695981039346656037).
TEST_CASE("Fingerprint is FNV-1a 64 as documented (offset basis)", "[activity][bug]") {
  CHECK(Fingerprint("") == UINT64_C(0xcbf29ce484222325));
  CHECK(Fingerprint("a") == UINT64_C(0xaf63dc4c8601ec8c));
  CHECK(Fingerprint("foobar") == UINT64_C(0x85944171f73967e8));
}

TEST_CASE("DetailFromText: the row and the laps of one reply, each lap's text as received", "[activity]") {
  const std::string text = R"( {"id": 7, "start_date": "2024-05-12T11:30:00Z",
    "start_date_local": "2024-05-12T13:30:00Z", "name": "Intervals",
    "laps": [{"id": 901, "name": "Lap 1", "elapsed_time": 300.9, "moving_time": 290,
              "distance": 1000, "start_date_local": "2024-05-12T13:30:00Z", "lap_index": 1},
             null, 42,
             { "name" : "Lap 3",  "distance": 1512.0, "elapsed_time": 1e300, "id": 18446744073709551615 }]} )";
  auto d = DetailFromText(text);
  REQUIRE(d.ok());
  CHECK(d->row.id == 7);
  CHECK(d->row.json == text.substr(1, text.size() - 2));  // verbatim but for the outer whitespace
  REQUIRE(d->laps.size() == 2);                           // null and 42 are no laps
  const LapRow& a = d->laps[0];
  CHECK(a.lap_index == 1);
  CHECK(a.id == 901);
  CHECK(a.name == "Lap 1");
  CHECK(a.elapsed_time == 300);  // whole seconds: truncated
  CHECK(a.moving_time == 290);
  CHECK(a.distance == 1000.0);  // an integer where a real is expected
  CHECK(a.start_date_local == "2024-05-12T13:30:00");
  CHECK_FALSE(a.start_date);
  CHECK_FALSE(a.average_heartrate);
  const LapRow& b = d->laps[1];
  CHECK(b.lap_index == 2);  // none given: its place among the laps
  CHECK(b.json == R"({ "name" : "Lap 3",  "distance": 1512.0, "elapsed_time": 1e300, "id": 18446744073709551615 })");
  CHECK(b.distance == 1512.0);
  CHECK_FALSE(b.elapsed_time);  // beyond int64: no value, never a wrapped one
  CHECK_FALSE(b.id);

  for (const char* no_laps :
       {R"({"id":8,"start_date":"2024-05-12T11:30:00Z","start_date_local":"x"})",
        R"({"id":8,"start_date":"2024-05-12T11:30:00Z","start_date_local":"2024-05-12T13:30:00Z","laps":null})",
        R"({"id":8,"start_date":"2024-05-12T11:30:00Z","start_date_local":"2024-05-12T13:30:00Z","laps":[]})"}) {
    auto e = DetailFromText(no_laps);
    if (std::string_view(no_laps).find("\"x\"") != std::string_view::npos) {
      CHECK_FALSE(e.ok());  // the row's checks hold for a detail too
      continue;
    }
    REQUIRE(e.ok());
    CHECK(e->laps.empty());
  }
  CHECK_THAT(DetailFromText("[1]").status().message(), Catch::Contains("not a JSON object"));
  CHECK_THAT(DetailFromText(R"({"id": 7,)").status().message(), Catch::Contains("not valid JSON"));
}

}  // namespace
}  // namespace stravafs
