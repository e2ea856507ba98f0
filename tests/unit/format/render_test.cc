// Tests for format/render.cc: the exact bytes of the mount's JSON, CSV and GPX
// files. JSON re-parses equal to its input; CSV rows are compared byte for
// byte for the tricky cases (quotes, commas, line breaks, Unicode, NULLs,
// whole vs fractional numbers) instead of being parsed back; GPX is compared
// as a whole document.
#include "format/json_file.h"
#include "format/render.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "base/utf8.h"

namespace stravafs {
namespace {

size_t Count(std::string_view s, char c) { return static_cast<size_t>(std::count(s.begin(), s.end(), c)); }

// A detailed activity with every kind of awkward value.
Json TrickyActivity() {
  return Json::parse(R"({
    "resource_state": 3,
    "athlete": {"id": 134815, "resource_state": 1},
    "name": "He said \"hi\", then\nleft 🏃",
    "distance": 24931.4,
    "moving_time": 4500,
    "elapsed_time": 4512.0,
    "total_elevation_gain": 12,
    "type": "Ride",
    "sport_type": "MountainBikeRide",
    "workout_type": null,
    "id": 15402513245,
    "start_date": "2024-05-12T11:30:00Z",
    "start_date_local": "2024-05-12T07:30:00Z",
    "timezone": "(GMT-05:00) America/New_York",
    "utc_offset": -14400.0,
    "start_latlng": [45.1, -73.25],
    "end_latlng": [],
    "average_speed": 5.54,
    "max_speed": 0,
    "has_heartrate": true,
    "average_heartrate": 141.3,
    "kilojoules": 0.1,
    "calories": 812.5,
    "commute": false,
    "private": false,
    "visibility": "everyone",
    "gear_id": " b12345 ",
    "device_name": "Garmin, Edge 530",
    "external_id": null,
    "upload_id": 16000000000,
    "location_country": "Côte d'Ivoire",
    "map": {"id": "a1", "summary_polyline": "ab,c\"d", "polyline": "ab,c\"d"},
    "description": "long\ntext"
  })");
}

// --- JSON ----------------------------------------------------------------------

TEST_CASE("RenderJsonFile: one field per line, UTF-8 kept, trailing newline", "[fs_render]") {
  Json j = Json::object();
  j["id"] = 1;
  j["name"] = "Zoë 🏃";
  j["distance"] = 12.0;
  j["laps"] = Json::array({1, 2});
  j["map"] = Json::object();
  CHECK(RenderJsonFile(j) ==
        "{\n"
        "  \"id\": 1,\n"
        "  \"name\": \"Zoë 🏃\",\n"
        "  \"distance\": 12.0,\n"
        "  \"laps\": [\n"
        "    1,\n"
        "    2\n"
        "  ],\n"
        "  \"map\": {}\n"
        "}\n");
}

TEST_CASE("RenderJsonFile: re-parses equal to the input, in the same order", "[fs_render]") {
  const Json activity = TrickyActivity();
  const std::string text = RenderJsonFile(activity);
  CHECK(Json::parse(text) == activity);
  CHECK(text.back() == '\n');
  CHECK(text.find("\n  \"name\": \"He said \\\"hi\\\", then\\nleft 🏃\",\n") != std::string::npos);
}

TEST_CASE("RenderJsonFile: invalid UTF-8 in a string becomes U+FFFD", "[fs_render]") {
  Json j = Json::object();
  j["name"] = std::string(
      "a\xFF"
      "b");
  const std::string text = RenderJsonFile(j);
  CHECK(ToValidUtf8(text) == text);
  CHECK(Json::parse(text)["name"] == "a\uFFFDb");
}

// --- CSV -------------------------------------------------------------------------

constexpr const char* kActivitiesHeader =
    "id,athlete_id,name,sport_type,type,workout_type,start_date,start_date_local,timezone,utc_offset,"
    "distance,moving_time,elapsed_time,total_elevation_gain,elev_high,elev_low,average_speed,max_speed,"
    "has_heartrate,average_heartrate,max_heartrate,average_cadence,average_watts,weighted_average_watts,"
    "max_watts,device_watts,kilojoules,calories,average_temp,suffer_score,gear_id,commute,trainer,manual,"
    "private,visibility,flagged,achievement_count,kudos_count,comment_count,athlete_count,photo_count,"
    "pr_count,start_lat,start_lng,end_lat,end_lng,device_name,external_id,upload_id,location_country,"
    "detail_level\r\n";

TEST_CASE("ActivitiesCsvHeader: the typed columns minus polylines and description", "[fs_render]") {
  CHECK(ActivitiesCsvHeader() == kActivitiesHeader);
  CHECK(ActivitiesCsvColumns().size() == ActivityColumns().size() - 3);
  CHECK(Count(ActivitiesCsvHeader(), ',') + 1 == ActivitiesCsvColumns().size());
}

TEST_CASE("ActivityCsvRow: quotes, commas, line breaks, Unicode, NULLs, whole and fractional numbers", "[fs_render]") {
  CHECK(ActivityCsvRow(*RowFromJson(TrickyActivity())) ==
        "15402513245,134815,\"He said \"\"hi\"\", then\nleft 🏃\",MountainBikeRide,Ride,,"
        "2024-05-12T11:30:00Z,2024-05-12T07:30:00,America/New_York,-14400,"
        "24931.4,4500,4512,12,,,5.54,0,"
        "1,141.3,,,,,"
        ",,0.1,812.5,,,\" b12345 \",0,,,"
        "0,everyone,,,,,,,"
        ",45.1,-73.25,,,\"Garmin, Edge 530\",,16000000000,Côte d'Ivoire,"
        "3\r\n");
}

TEST_CASE("ActivityCsvRow: every row has the header's column count", "[fs_render]") {
  ActivityRow nulls;
  nulls.columns.resize(ActivityColumns().size());
  const std::string empty_row = ActivityCsvRow(nulls);
  CHECK(empty_row == std::string(ActivitiesCsvColumns().size() - 1, ',') + "\r\n");
  const Json minimal = Json::parse(R"({"id": 7, "name": "Easy", "start_date": "2024-01-01T00:00:00Z",
                                       "start_date_local": "2024-01-01T01:00:00Z"})");
  CHECK(Count(ActivityCsvRow(*RowFromJson(minimal)), ',') == Count(ActivitiesCsvHeader(), ','));
}

TEST_CASE("ActivityCsvRow: values from the cache give the same bytes as the JSON", "[fs_render]") {
  const Json activity = TrickyActivity();
  std::vector<ColumnValue> values;
  const ActivityRow row = *RowFromJson(activity);
  const ActivityColumn* first = ActivityColumns().data();
  for (const ActivityColumn* c : ActivitiesCsvColumns()) values.push_back(row.columns[static_cast<size_t>(c - first)]);
  CHECK(ActivityCsvRow(values) == ActivityCsvRow(row));
}

TEST_CASE("CsvField: quoted only when needed, quotes doubled", "[fs_render]") {
  CHECK(CsvField("plain") == "plain");
  CHECK(CsvField("") == "");
  CHECK(CsvField("a,b") == "\"a,b\"");
  CHECK(CsvField("say \"x\"") == "\"say \"\"x\"\"\"");
  CHECK(CsvField("\"") == "\"\"\"\"");
  CHECK(CsvField("line\nbreak") == "\"line\nbreak\"");
  CHECK(CsvField("cr\r") == "\"cr\r\"");
  CHECK(CsvField(" lead") == "\" lead\"");
  CHECK(CsvField("trail ") == "\"trail \"");
  CHECK(CsvField("\ttab") == "\"\ttab\"");
  CHECK(CsvField("in side") == "in side");
  CHECK(CsvField("東京 🏃‍♀️ שלום") == "東京 🏃‍♀️ שלום");
  CHECK(CsvField("bad\xFF") == "bad\uFFFD");
}

TEST_CASE("FormatNumber: shortest round-trip, no .0, locale-independent", "[fs_render]") {
  CHECK(FormatNumber(12.0) == "12");
  CHECK(FormatNumber(0.1) == "0.1");
  CHECK(FormatNumber(-3.5) == "-3.5");
  CHECK(FormatNumber(24931.4) == "24931.4");
  CHECK(FormatNumber(0.1 + 0.2) == "0.30000000000000004");
  CHECK(FormatNumber(123456789012.0) == "123456789012");
  CHECK(FormatNumber(1e21) == "1e+21");
  CHECK(FormatNumber(5e-324) == "5e-324");
  CHECK(FormatNumber(-0.0) == "0");
  CHECK(FormatNumber(std::numeric_limits<double>::quiet_NaN()) == "");
  CHECK(FormatNumber(std::numeric_limits<double>::infinity()) == "");
}

TEST_CASE("RenderStreamsCsv: header and one line per sample, NULL as empty", "[fs_render]") {
  StreamSample full;
  full.seq = 0;
  full.time = 0;
  full.distance = 0;
  full.lat = 45.5;
  full.lng = -73.5;
  full.altitude = 30.2;
  full.velocity = 0;
  full.heartrate = 95;
  full.cadence = 80;
  full.watts = 150;
  full.temp = 21;
  full.moving = 0;
  full.grade = 0.1;
  StreamSample sparse;
  sparse.seq = 1;
  sparse.time = 1;
  sparse.distance = 2.7;
  sparse.moving = 1;
  const std::vector<StreamSample> samples = {full, sparse};
  CHECK(RenderStreamsCsv(samples) ==
        "seq,time,distance,lat,lng,altitude,velocity,heartrate,cadence,watts,temp,moving,grade\r\n"
        "0,0,0,45.5,-73.5,30.2,0,95,80,150,21,0,0.1\r\n"
        "1,1,2.7,,,,,,,,,1,\r\n");
  CHECK(RenderStreamsCsv({}) == StreamsCsvHeader());
  CHECK(Count(StreamCsvRow(StreamSample{}), ',') == Count(StreamsCsvHeader(), ','));
}

// --- GPX ------------------------------------------------------------------------

StreamSample Point(int64_t seq, double time, double lat, double lng) {
  StreamSample s;
  s.seq = seq;
  s.time = time;
  s.lat = lat;
  s.lng = lng;
  return s;
}

TEST_CASE("RenderGpx: the whole document for a 3-sample ride", "[fs_render]") {
  const Json activity = Json::parse(
      R"({"id": 1, "name": "Lunch Ride", "sport_type": "Ride", "type": "Ride",
          "start_date": "2024-05-12T11:30:00Z", "start_date_local": "2024-05-12T07:30:00Z"})");
  StreamSample a = Point(0, 0, 45.5, -73.56);
  a.altitude = 30.2;
  a.heartrate = 95;
  a.cadence = 80;
  a.watts = 150;
  a.temp = 21.5;
  StreamSample b = Point(1, 5, 45.50012, -73.5601);
  b.altitude = 31;
  b.heartrate = 96.6;
  StreamSample c = Point(2, 10, 45.5003, -73.5603);
  c.watts = 0;
  const std::vector<StreamSample> samples = {a, b, c};
  REQUIRE(HasGps(samples));
  CHECK(RenderGpx(activity, samples) ==
        R"(<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="stravafs" xmlns="http://www.topografix.com/GPX/1/1" xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1" xmlns:pwr="http://www.garmin.com/xmlschemas/PowerExtension/v1">
 <metadata>
  <name>Lunch Ride</name>
  <time>2024-05-12T11:30:00Z</time>
 </metadata>
 <trk>
  <name>Lunch Ride</name>
  <type>Ride</type>
  <trkseg>
   <trkpt lat="45.5" lon="-73.56">
    <ele>30.2</ele>
    <time>2024-05-12T11:30:00Z</time>
    <extensions>
     <gpxtpx:TrackPointExtension>
      <gpxtpx:atemp>21.5</gpxtpx:atemp>
      <gpxtpx:hr>95</gpxtpx:hr>
      <gpxtpx:cad>80</gpxtpx:cad>
     </gpxtpx:TrackPointExtension>
     <pwr:PowerInWatts>150</pwr:PowerInWatts>
    </extensions>
   </trkpt>
   <trkpt lat="45.50012" lon="-73.5601">
    <ele>31</ele>
    <time>2024-05-12T11:30:05Z</time>
    <extensions>
     <gpxtpx:TrackPointExtension>
      <gpxtpx:hr>97</gpxtpx:hr>
     </gpxtpx:TrackPointExtension>
    </extensions>
   </trkpt>
   <trkpt lat="45.5003" lon="-73.5603">
    <time>2024-05-12T11:30:10Z</time>
    <extensions>
     <pwr:PowerInWatts>0</pwr:PowerInWatts>
    </extensions>
   </trkpt>
  </trkseg>
 </trk>
</gpx>
)");
}

TEST_CASE("RenderGpx: samples without a position are left out", "[fs_render]") {
  const Json activity = Json::parse(R"({"id": 1, "start_date": "2024-05-12T11:30:00Z"})");
  StreamSample indoor;
  indoor.seq = 1;
  indoor.time = 3;
  indoor.heartrate = 120;
  StreamSample lat_only = indoor;
  lat_only.lat = 45;
  const std::vector<StreamSample> samples = {Point(0, 0, 1e-7, -180), indoor, lat_only, Point(3, 4, -90, 0)};
  const std::string gpx = RenderGpx(activity, samples);
  CHECK(gpx.find("<trkpt lat=\"0.0000001\" lon=\"-180\">\n    <time>2024-05-12T11:30:00Z</time>\n   </trkpt>\n"
                 "   <trkpt lat=\"-90\" lon=\"0\">\n    <time>2024-05-12T11:30:04Z</time>\n   </trkpt>\n") !=
        std::string::npos);
  CHECK(gpx.find("<gpxtpx:hr>") == std::string::npos);
  CHECK(gpx.find("<name>") == std::string::npos);  // no name in the JSON: none in the GPX
}

TEST_CASE("RenderGpx: extension values fit their schema types", "[fs_render]") {
  StreamSample s = Point(0, 0, 1, 2);
  s.heartrate = 300;
  s.cadence = 85.5;
  s.watts = -4;
  const std::string gpx = RenderGpx(Json::object(), std::vector<StreamSample>{s});
  CHECK(gpx.find("<gpxtpx:hr>255</gpxtpx:hr>") != std::string::npos);
  CHECK(gpx.find("<gpxtpx:cad>86</gpxtpx:cad>") != std::string::npos);
  CHECK(gpx.find("<pwr:PowerInWatts>0</pwr:PowerInWatts>") != std::string::npos);
  CHECK(gpx.find("<time>") == std::string::npos);  // no start_date: no times
}

// Found by tests/fuzz (fuzz_render): a stream time far beyond any activity
// overflowed start + time (undefined behaviour) or wrote a <time> with a year
// of nine digits, which is no xsd:dateTime.
TEST_CASE("RenderGpx: a trkpt time outside the years 0000-9999 is left out", "[fs_render][bug]") {
  const Json activity = Json::parse(R"({"id": 1, "start_date": "2024-05-12T11:30:00Z"})");
  std::vector<StreamSample> samples;
  for (double t : {0.0, 9.2233720368547e18, -1e300, 1e15, 253402300799.0 - 1715513400.0}) {
    StreamSample s = Point(static_cast<int64_t>(samples.size()), t, 1, 2);
    samples.push_back(s);
  }
  const std::string gpx = RenderGpx(activity, samples);
  size_t times = 0;
  for (size_t at = gpx.find("<time>"); at != std::string::npos; at = gpx.find("<time>", at + 1)) ++times;
  CHECK(times == 3);  // the metadata's, the first sample's and the last's
  CHECK(gpx.find("<time>2024-05-12T11:30:00Z</time>\n   </trkpt>") != std::string::npos);
  CHECK(gpx.find("<time>9999-12-31T23:59:59Z</time>") != std::string::npos);
}

TEST_CASE("RenderGpx: a hostile name is escaped and stripped of what XML forbids", "[fs_render]") {
  Json activity = Json::object();
  activity["name"] = std::string("<b>Tom & Jerry's \"run\"</b>\x01\x1B\tend\xEF\xBF\xBE\xFF");
  activity["sport_type"] = "Run<&>";
  const std::string gpx = RenderGpx(activity, std::vector<StreamSample>{Point(0, 0, 1, 2)});
  const std::string name = "<name>&lt;b&gt;Tom &amp; Jerry&apos;s &quot;run&quot;&lt;/b&gt;\tend\uFFFD</name>";
  CHECK(gpx.find(" <metadata>\n  " + name + "\n </metadata>\n") != std::string::npos);
  CHECK(gpx.find(" <trk>\n  " + name + "\n  <type>Run&lt;&amp;&gt;</type>\n") != std::string::npos);
  CHECK(ToValidUtf8(gpx) == gpx);
}

TEST_CASE("XmlEscape", "[fs_render]") {
  CHECK(XmlEscape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  // A raw CR would reach a reader as a line feed (XML 1.0, 2.11).
  CHECK(XmlEscape("\t\n\r ok") == "\t\n&#13; ok");
  CHECK(XmlEscape(std::string("\0\x01\x08\x0B\x0C\x1F", 6)) == "");
  CHECK(XmlEscape("\uFFFE\uFFFF\uFFFD") == "\uFFFD");
  CHECK(XmlEscape("東京 🏃") == "東京 🏃");
}

TEST_CASE("HasGps: an activity without a position has no GPX", "[fs_render]") {
  CHECK_FALSE(HasGps({}));
  StreamSample indoor;
  indoor.time = 0;
  indoor.heartrate = 100;
  StreamSample lat_only = indoor;
  lat_only.lat = 45;
  StreamSample nan = Point(0, 0, std::nan(""), 2);
  CHECK_FALSE(HasGps(std::vector<StreamSample>{indoor, lat_only, nan}));
  CHECK(HasGps(std::vector<StreamSample>{indoor, Point(1, 1, 0, 0)}));
}

}  // namespace
}  // namespace stravafs

namespace stravafs {
namespace {

TEST_CASE("RenderGpxText: the bytes of RenderGpx over the parsed text", "[fs_render]") {
  const std::vector<StreamSample> samples = {Point(0, 0, 52.5, 13.4), Point(1, 5, 52.6, 13.5)};
  const std::vector<std::string> texts = {
      R"({"id":1,"name":"Morning <Run> & \"co\"","sport_type":"Run","type":"Run","start_date":"2024-05-12T06:30:00Z"})",
      R"({"id":1,"name":"No sport","type":"Ride","start_date":"2024-05-12T06:30:00Z"})",
      R"({"id":1,"name":42,"sport_type":null,"start_date":"not a date"})",
      // Repeated keys: the last value counts, even when it is not a string.
      R"({"name":"first","name":"last","sport_type":"Run","sport_type":7,"type":"Walk","start_date":"2024-01-01T00:00:00Z"})",
      R"({"nested":{"name":"inner"},"start_date":"2024-01-01T00:00:00Z"})",
      "not json at all",
  };
  for (const auto& text : texts) {
    INFO(text);
    Json j = Json::parse(text, nullptr, false);
    CHECK(RenderGpxText(text, samples) == RenderGpx(j.is_discarded() ? Json::object() : j, samples));
  }
}

TEST_CASE("RenderJsonText of a text and RenderJsonFile of nlohmann's reading of it agree", "[fs_render]") {
  for (std::string text : {R"({"a":1,"b":{"c":[1,2.5,-0.0,1e300]},"a":2})",  // a repeated key
                           R"({"big":123456789012345678901234567890})",      // beyond 64 bits
                           R"({"s":"tab\tquote\"nl\nctl\u0001","e":{},"l":[],"u":18446744073709551615})"}) {
    INFO(text);
    CHECK(RenderJsonText(text) == RenderJsonFile(Json::parse(text)));
  }
}

}  // namespace
}  // namespace stravafs
