// Tests for the GPX decoder (import/gpx.cc) and the XML layer it shares with
// TCX (import/xml_reader.cc): exact values from hand-written files of every
// flavour real writers produce, every refusal with its message, and an
// independent cross-check against gpsbabel's own reading of the same files.
#include "import/gpx.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "import/tcx.h"
#include "import/xml_reader.h"

namespace stravafs::import {
namespace {

using Catch::Matchers::Contains;

Track DecodeOk(const std::string& gpx) {
  Result<Track> track = DecodeGpx(gpx);
  INFO(track.status().message());
  REQUIRE(track.ok());
  return std::move(track).value();
}

std::string DecodeError(const std::string& gpx) {
  Result<Track> track = DecodeGpx(gpx);
  REQUIRE_FALSE(track.ok());
  return track.status().message();
}

constexpr double kStart = 1714546800;  // 2024-05-01T07:00:00Z

const char kGpx11[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<gpx creator="StravaGPX" version="1.1" xmlns="http://www.topografix.com/GPX/1/1"
     xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">
 <metadata>
  <name>metadata name</name>
  <time>2024-05-01T06:59:50Z</time>
 </metadata>
 <wpt lat="1" lon="2"><time>2000-01-01T00:00:00Z</time></wpt>
 <trk>
  <name>Morning Run &amp; more</name>
  <type>running</type>
  <trkseg>
   <trkpt lat="52.5200001" lon="13.4049999">
    <ele>34.2</ele>
    <time>2024-05-01T07:00:00Z</time>
    <extensions>
     <gpxtpx:TrackPointExtension>
      <gpxtpx:atemp>21.5</gpxtpx:atemp>
      <gpxtpx:hr>120</gpxtpx:hr>
      <gpxtpx:cad>80</gpxtpx:cad>
     </gpxtpx:TrackPointExtension>
    </extensions>
   </trkpt>
   <trkpt lat="-33.8688197" lon="-151.2092955">
    <ele>-3.5</ele>
    <time>2024-05-01T07:00:01.25Z</time>
   </trkpt>
  </trkseg>
 </trk>
</gpx>
)";

TEST_CASE("GPX 1.1 with Garmin TrackPointExtension v1", "[gpx]") {
  const Track track = DecodeOk(kGpx11);
  CHECK(track.format == "gpx");
  CHECK(track.summary.name == "Morning Run & more");
  CHECK(track.summary.sport_type == "Run");
  REQUIRE(track.summary.start_time);
  CHECK(*track.summary.start_time == kStart - 10);  // metadata/time, before the first point
  CHECK(track.laps.empty());
  REQUIRE(track.points.size() == 2);

  const TrackPoint& a = track.points[0];
  CHECK(a.time == kStart);
  CHECK(a.lat == 52.5200001);
  CHECK(a.lng == 13.4049999);
  CHECK(a.altitude == 34.2);
  CHECK(a.heartrate == 120);
  CHECK(a.cadence == 80);
  CHECK(a.temp == 21.5);
  CHECK_FALSE(a.watts);
  CHECK_FALSE(a.speed);
  CHECK_FALSE(a.distance);
  CHECK_FALSE(a.moving);

  const TrackPoint& b = track.points[1];
  CHECK(b.time == kStart + 1.25);
  CHECK(b.lat == -33.8688197);
  CHECK(b.lng == -151.2092955);
  CHECK(b.altitude == -3.5);
  CHECK_FALSE(b.heartrate);
  CHECK_FALSE(b.cadence);
  CHECK_FALSE(b.temp);
}

TEST_CASE("GPX 1.0: sensors as direct children, gpx/time as the start", "[gpx]") {
  const Track track = DecodeOk(R"(<?xml version="1.0"?>
<gpx version="1.0" creator="old" xmlns="http://www.topografix.com/GPX/1/0">
<time>2024-05-01T06:59:59Z</time>
<name>file name</name>
<trk><name>Evening Ride</name><type>Biking</type><trkseg>
<trkpt lat="45" lon="7"><ele>100</ele><time>2024-05-01T07:00:00Z</time><course>12</course><speed>5.5</speed></trkpt>
<trkpt lat="45.001" lon="7.001"><time>2024-05-01T07:00:02Z</time><speed>6</speed></trkpt>
</trkseg></trk></gpx>)");
  CHECK(track.summary.name == "Evening Ride");
  CHECK(track.summary.sport_type == "Ride");
  CHECK(track.summary.start_time == kStart - 1);
  REQUIRE(track.points.size() == 2);
  CHECK(track.points[0].speed == 5.5);
  CHECK(track.points[0].altitude == 100);
  CHECK(track.points[1].speed == 6);
  CHECK(track.points[1].time == kStart + 2);
}

TEST_CASE("GPX: TrackPointExtension v2, other prefixes, power as writers put it", "[gpx]") {
  const Track track = DecodeOk(R"(<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"
     xmlns:ns3="http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
     xmlns:pwr="http://www.garmin.com/xmlschemas/PowerExtension/v1">
<trk><type>cycling</type><trkseg>
<trkpt lat="1" lon="2"><time>2024-05-01T07:00:00Z</time><extensions>
  <power>250</power>
  <ns3:TrackPointExtension><ns3:hr>150</ns3:hr><ns3:cad>90</ns3:cad><ns3:speed>8.25</ns3:speed><ns3:course>10</ns3:course></ns3:TrackPointExtension>
</extensions></trkpt>
<trkpt lat="1" lon="2"><time>2024-05-01T07:00:01Z</time><extensions>
  <pwr:PowerInWatts>260</pwr:PowerInWatts>
  <gpxdata:hr xmlns:gpxdata="http://www.cluetrust.com/XML/GPXDATA/1/0">151</gpxdata:hr>
  <gpxdata:distance xmlns:gpxdata="http://www.cluetrust.com/XML/GPXDATA/1/0">12.5</gpxdata:distance>
  <gpxdata:temp xmlns:gpxdata="http://www.cluetrust.com/XML/GPXDATA/1/0">-2</gpxdata:temp>
</extensions></trkpt>
<trkpt lat="1" lon="2"><time>2024-05-01T07:00:02Z</time><extensions>
  <gpxtpx:TrackPointExtension><gpxtpx:HR>152</gpxtpx:HR></gpxtpx:TrackPointExtension>
</extensions></trkpt>
</trkseg></trk></gpx>)");
  CHECK(track.summary.sport_type == "Ride");
  CHECK(track.summary.name == "");
  REQUIRE(track.points.size() == 3);
  CHECK(track.points[0].watts == 250);
  CHECK(track.points[0].heartrate == 150);
  CHECK(track.points[0].cadence == 90);
  CHECK(track.points[0].speed == 8.25);
  CHECK(track.points[1].watts == 260);
  CHECK(track.points[1].heartrate == 151);
  CHECK(track.points[1].distance == 12.5);
  CHECK(track.points[1].temp == -2);
  // An undeclared prefix (gpxtpx here) is still read: names are local.
  CHECK(track.points[2].heartrate == 152);
}

TEST_CASE("GPX: Strava's numeric type; several tracks and segments in file order", "[gpx]") {
  const Track track = DecodeOk(R"(<gpx version="1.1">
<trk><type>9</type><trkseg>
 <trkpt lat="1" lon="1"><time>2024-05-01T07:00:05Z</time></trkpt>
</trkseg><trkseg>
 <trkpt lat="2" lon="2"><time>2024-05-01T07:00:03Z</time></trkpt>
</trkseg></trk>
<trk><name>second</name><type>1</type><trkseg>
 <trkpt lat="3" lon="3"><time>2024-05-01T07:00:04Z</time></trkpt>
</trkseg></trk>
</gpx>)");
  CHECK(track.summary.sport_type == "Run");  // the first track's type
  CHECK(track.summary.name == "second");     // the first name any track gives
  REQUIRE(track.points.size() == 3);
  // Not sorted: decoders keep file order.
  CHECK(track.points[0].lat == 1);
  CHECK(track.points[1].lat == 2);
  CHECK(track.points[2].lat == 3);
  CHECK(track.summary.start_time == kStart + 5);  // the first point, no metadata time
}

TEST_CASE("GPX: times with offsets, fractions, no zone", "[gpx]") {
  const Track track = DecodeOk(R"(<gpx>
<trk><trkseg>
 <trkpt lat="0" lon="0"><time>2024-05-01T09:00:00+02:00</time></trkpt>
 <trkpt lat="0" lon="0"><time>2024-05-01T02:30:00.5-0430</time></trkpt>
 <trkpt lat="0" lon="0"><time> 2024-05-01T07:00:00.123456789Z </time></trkpt>
 <trkpt lat="0" lon="0"><time>2024-05-01T07:00:00</time></trkpt>
 <trkpt lat="0" lon="0"><time>2024-05-01T08:00:00+01</time></trkpt>
</trkseg></trk></gpx>)");
  REQUIRE(track.points.size() == 5);
  CHECK(track.points[0].time == kStart);
  CHECK(track.points[1].time == kStart + 0.5);
  CHECK(track.points[2].time == Approx(kStart + 0.123456789).margin(1e-6));
  CHECK(track.points[3].time == kStart);
  CHECK(track.points[4].time == kStart);
}

TEST_CASE("GPX: a metadata time after the first point is a file date, not the start", "[gpx]") {
  const Track track = DecodeOk(R"(<gpx><metadata><time>2026-01-01T00:00:00Z</time></metadata>
<trk><trkseg><trkpt lat="0" lon="0"><time>2024-05-01T07:00:00Z</time></trkpt></trkseg></trk></gpx>)");
  CHECK(track.summary.start_time == kStart);
}

TEST_CASE("GPX: white space, blank lines and BOMs before <?xml", "[gpx]") {
  const std::string body(kGpx11);
  for (const std::string& prefix : {std::string("\n\n  \t\r\n"), std::string("\xEF\xBB\xBF"),
                                    std::string("\xEF\xBB\xBF\n  "), std::string("\n\xEF\xBB\xBF"), std::string("")}) {
    INFO(prefix.size());
    const Track track = DecodeOk(prefix + body);
    CHECK(track.points.size() == 2);
  }
}

TEST_CASE("GPX: blank and NaN values are absent; a point without lat and lon has no position", "[gpx]") {
  const Track track = DecodeOk(R"(<gpx><trk><trkseg>
<trkpt lat="1" lon="2"><ele></ele><time>2024-05-01T07:00:00Z</time>
 <extensions><hr>NaN</hr><cad> </cad></extensions></trkpt>
<trkpt><time>2024-05-01T07:00:01Z</time><extensions><hr>99</hr></extensions></trkpt>
</trkseg></trk></gpx>)");
  REQUIRE(track.points.size() == 2);
  CHECK_FALSE(track.points[0].altitude);
  CHECK_FALSE(track.points[0].heartrate);
  CHECK_FALSE(track.points[0].cadence);
  CHECK_FALSE(track.points[1].lat);
  CHECK_FALSE(track.points[1].lng);
  CHECK(track.points[1].heartrate == 99);
}

TEST_CASE("GPX: other encodings are read as UTF-8", "[gpx]") {
  // ISO-8859-1 "Zoë"; expat converts it.
  const Track latin1 = DecodeOk(
      "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><gpx><trk><name>Zo\xEB</name><trkseg>"
      "<trkpt lat=\"1\" lon=\"2\"><time>2024-05-01T07:00:00Z</time></trkpt></trkseg></trk></gpx>");
  CHECK(latin1.summary.name == "Zo\xC3\xAB");

  // UTF-16LE with its BOM, as some Windows tools write.
  const std::string ascii =
      "<?xml version=\"1.0\" encoding=\"UTF-16\"?><gpx><trk><name>x</name><trkseg>"
      "<trkpt lat=\"1\" lon=\"2\"><time>2024-05-01T07:00:00Z</time></trkpt></trkseg></trk></gpx>";
  std::string utf16 = "\xFF\xFE";
  for (const char c : ascii) utf16 += std::string{c, '\0'};
  const Track wide = DecodeOk(utf16);
  CHECK(wide.summary.name == "x");
  CHECK(wide.points.size() == 1);
}

TEST_CASE("GPX: bytes after the closing root tag are ignored", "[gpx]") {
  const Track track = DecodeOk(std::string(kGpx11) + std::string("\0\0\0garbage<", 11));
  CHECK(track.points.size() == 2);
}

TEST_CASE("GPX: malformed XML names expat's reason and the line", "[gpx]") {
  CHECK(DecodeError("<gpx>\n<trk>\n<trkseg>\n<trkpt lat=\"1\" lon=\"2\"><time>2024-05-01T07:00:00Z"
                    "</time></trkpt>\n<<\n") == "GPX: not well-formed (invalid token) at line 5");
  // Lines skipped before <?xml still count.
  CHECK(DecodeError("\n\n<gpx>\n</trk>") == "GPX: mismatched tag at line 4");
  CHECK(DecodeError("<gpx><trk>") == "GPX: no element found at line 1");
  CHECK(DecodeError("") == "GPX: no element found at line 1");
  CHECK(DecodeError("\xEF\xBB\xBF   ") == "GPX: no element found at line 1");
  CHECK(DecodeError("<gpx>&undefined;</gpx>") == "GPX: undefined entity at line 1");
  CHECK_THAT(DecodeError(std::string("\x89PNG\r\n\x1a\n\0\0", 10)), Contains("GPX: "));
}

TEST_CASE("GPX: no track points is an error, whatever else the file holds", "[gpx]") {
  CHECK(DecodeError("<gpx/>") == "GPX: no track points");
  CHECK(DecodeError("<gpx><trk><name>x</name><trkseg/></trk></gpx>") == "GPX: no track points");
  CHECK(DecodeError(R"(<gpx><rte><rtept lat="1" lon="2"><time>2024-05-01T07:00:00Z</time></rtept></rte>
<wpt lat="1" lon="2"><time>2024-05-01T07:00:00Z</time></wpt></gpx>)") == "GPX: no track points");
  // A trkpt outside trk/trkseg is not a track point.
  CHECK(DecodeError(R"(<gpx><trkpt lat="1" lon="2"><time>2024-05-01T07:00:00Z</time></trkpt></gpx>)") ==
        "GPX: no track points");
  // [bug] Nor is a trk nested anywhere but under the root (fuzz_xml_track:
  // tests/fuzz/regress/xml_track/trk-inside-*), and such a trk's name is not
  // the activity's.
  const std::string point = R"(<trkseg><trkpt lat="1" lon="2"><time>2024-05-01T07:00:00Z</time></trkpt></trkseg>)";
  CHECK(DecodeError("<gpx><a><trk>" + point + "</trk></a></gpx>") == "GPX: no track points");
  CHECK(DecodeError("<gpx><metadata><time>2024-05-01T07:00:00Z<trk>" + point + "</trk></time></metadata></gpx>") ==
        "GPX: no track points");
  CHECK(DecodeError("<gpx><extensions><trk>" + point + "</trk></extensions></gpx>") == "GPX: no track points");
  const Track t = DecodeOk(
      "<gpx><extensions><trk><name>Not this</name></trk><name>Nor this</name></extensions>"
      "<trk><name>Lunch Run</name>" +
      point + "</trk></gpx>");
  CHECK(t.summary.name == "Lunch Run");
  CHECK(t.points.size() == 1);
}

TEST_CASE("GPX: refusals name the reason and the line", "[gpx]") {
  CHECK(DecodeError("<gpx><trk><trkseg>\n<trkpt lat=\"1\" lon=\"2\"><ele>3</ele></trkpt>\n"
                    "</trkseg></trk></gpx>") == "GPX: track point without time at line 2");
  CHECK(DecodeError("<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\"><time>yesterday</time></trkpt>"
                    "</trkseg></trk></gpx>") == "GPX: bad <time> value 'yesterday' at line 1");
  CHECK(DecodeError("<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\"><time>2024-02-30T00:00:00Z</time>"
                    "</trkpt></trkseg></trk></gpx>") == "GPX: bad <time> value '2024-02-30T00:00:00Z' at line 1");
  CHECK(DecodeError("<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\"><time>2024-05-01T07:00:00Z</time>"
                    "<extensions><gpxtpx:hr>1,5</gpxtpx:hr></extensions></trkpt></trkseg></trk></gpx>") ==
        "GPX: bad <hr> value '1,5' at line 1");
  CHECK(DecodeError("<gpx><trk><trkseg><trkpt lat=\"91\" lon=\"2\"/></trkseg></trk></gpx>") ==
        "GPX: track point without a valid lat/lon at line 1");
  CHECK(DecodeError("<gpx><trk><trkseg><trkpt lat=\"1\"/></trkseg></trk></gpx>") ==
        "GPX: track point without a valid lat/lon at line 1");
  CHECK(DecodeError("<gpx><trk><trkseg><trkpt lat=\"1,5\" lon=\"2\"/></trkseg></trk></gpx>") ==
        "GPX: track point without a valid lat/lon at line 1");
  CHECK(DecodeError("<?xml version=\"1.0\"?>\n<TrainingCenterDatabase/>") ==
        "GPX: not a GPX file: the root element is <TrainingCenterDatabase> at line 2");
  const std::string long_value(1000, '7');
  CHECK(DecodeError("<gpx><trk><trkseg><trkpt lat=\"1\" lon=\"2\"><ele>x" + long_value +
                    "</ele><time>2024-05-01T07:00:00Z</time></trkpt></trkseg></trk></gpx>") ==
        "GPX: bad <ele> value 'x777777777777777777777777777777777777777...' at line 1");
}

TEST_CASE("GPX: a DOCTYPE is refused before any entity is expanded", "[gpx]") {
  const std::string laughs = R"(<?xml version="1.0"?>
<!DOCTYPE gpx [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<gpx><trk><name>&lol9;</name><trkseg><trkpt lat="1" lon="2"><time>2024-05-01T07:00:00Z</time></trkpt></trkseg></trk></gpx>)";
  CHECK(DecodeError(laughs) == "GPX: a DOCTYPE is refused (DTDs and entities are not read) at line 2");
  CHECK(DecodeError(R"(<!DOCTYPE gpx SYSTEM "file:///etc/passwd"><gpx/>)") ==
        "GPX: a DOCTYPE is refused (DTDs and entities are not read) at line 1");
  CHECK(DecodeError(R"(<!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]><gpx>&x;</gpx>)") ==
        "GPX: a DOCTYPE is refused (DTDs and entities are not read) at line 1");
}

TEST_CASE("GPX: many points decode in file order", "[gpx]") {
  std::string gpx = "<gpx><trk><trkseg>\n";
  constexpr int kPoints = 20000;
  for (int i = 0; i < kPoints; ++i) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "<trkpt lat=\"%.7f\" lon=\"%.7f\"><ele>%.1f</ele><time>2024-05-01T%02d:%02d:%02dZ</time>"
                  "<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>%d</gpxtpx:hr>"
                  "</gpxtpx:TrackPointExtension></extensions></trkpt>\n",
                  45 + i * 1e-5, 7 + i * 1e-5, 100 + i * 0.1, 7 + i / 3600, i / 60 % 60, i % 60, 100 + i % 80);
    gpx += line;
  }
  gpx += "</trkseg></trk></gpx>\n";
  const Track track = DecodeOk(gpx);
  REQUIRE(track.points.size() == kPoints);
  for (int i = 0; i < kPoints; i += 997) {
    CHECK(track.points[i].time == kStart + i);
    CHECK(track.points[i].heartrate == 100 + i % 80);
    CHECK(*track.points[i].lat == Approx(45 + i * 1e-5).margin(1e-7));
  }
}

TEST_CASE("ParseXmlTime: accepted forms and impossible dates", "[gpx][xml]") {
  CHECK(ParseXmlTime("2024-05-01T07:00:00Z") == kStart);
  CHECK(ParseXmlTime("2024-05-01t07:00:00z") == kStart);
  CHECK(ParseXmlTime("2024-05-01 07:00:00") == kStart);
  CHECK(ParseXmlTime("2024-05-01T07:00:00,5Z") == kStart + 0.5);
  CHECK(ParseXmlTime("2024-05-01T12:30:00+05:30") == kStart);
  CHECK(ParseXmlTime("2024-05-01T12:30:00+0530") == kStart);
  CHECK(ParseXmlTime("2024-05-01T04:00:00-03") == kStart);
  CHECK(ParseXmlTime("2024-02-29T23:59:59Z") == 1709251199);
  CHECK(ParseXmlTime("2000-01-01T00:00:00Z") == 946684800);
  CHECK(ParseXmlTime("1970-01-01T00:00:00Z") == 0);
  CHECK(ParseXmlTime("1969-12-31T23:59:59Z") == -1);
  CHECK(ParseXmlTime("2016-12-31T23:59:60Z") == ParseXmlTime("2017-01-01T00:00:00Z"));
  for (const char* bad :
       {"", "2024-05-01", "2024-05-01T07:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z",
        "2024-05-00T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T07:60:00Z", "2024-05-01T07:00:61Z",
        "2024-05-01T07:00:00.Z", "2024-05-01T07:00:00ZZ", "2024-05-01T07:00:00+2", "2024-05-01T07:00:00+24:00",
        "2024-05-01T07:00:00 UTC", "24-05-01T07:00:00Z", "2024-5-01T07:00:00Z", "1714546800",
        "2024-05-01T07:00:00+05:"}) {
    INFO(bad);
    CHECK_FALSE(ParseXmlTime(bad));
  }
}

TEST_CASE("ParseXmlNumber: decimal numbers only, locale-independent", "[gpx][xml]") {
  CHECK(ParseXmlNumber("12") == 12);
  CHECK(ParseXmlNumber(" -3.5\n") == -3.5);
  CHECK(ParseXmlNumber("+1.5e3") == 1500);
  CHECK(ParseXmlNumber(".5") == 0.5);
  CHECK(ParseXmlNumber("52.5200001") == 52.5200001);
  for (const char* bad :
       {"", " ", "1,5", "abc", "1.5x", "nan", "NaN", "inf", "-inf", "1e999", "+-1", "++1", "--1", "0x10", "1 2"}) {
    INFO(bad);
    CHECK_FALSE(ParseXmlNumber(bad));
  }
}

// ---------------------------------------------------------------------------
// The cross-check: gpsbabel reads and writes GPX and TCX independently of us.
// A generated GPX fixture goes through gpsbabel to TCX, GPX 1.1 and GPX 1.0;
// each file is decoded by us and read back by gpsbabel into unicsv, and every
// point must agree within unicsv's rounding.

// A temporary directory removed with everything in it.
struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/stravafs-gpx-test-XXXXXX";
    if (mkdtemp(pattern) != nullptr) path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
  std::string path;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

bool Run(const std::string& command) {
  INFO(command);
  return std::system(command.c_str()) == 0;
}

// One unicsv row as gpsbabel read it.
struct BabelPoint {
  double lat = 0, lng = 0, time = 0;
  std::optional<double> altitude, heartrate, cadence, temp, speed;
};

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (const char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.push_back(field);
      field.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  fields.push_back(field);
  return fields;
}

std::vector<BabelPoint> ReadUnicsv(const std::string& csv) {
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  std::map<std::string, size_t> column;
  const std::vector<std::string> header = SplitCsvLine(line);
  for (size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  std::vector<BabelPoint> points;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> f = SplitCsvLine(line);
    const auto get = [&](const std::string& name) -> std::optional<double> {
      const auto it = column.find(name);
      if (it == column.end() || it->second >= f.size() || f[it->second].empty()) return std::nullopt;
      return std::stod(f[it->second]);
    };
    BabelPoint p;
    p.lat = get("Latitude").value_or(NAN);
    p.lng = get("Longitude").value_or(NAN);
    p.altitude = get("Altitude");
    p.heartrate = get("Heartrate");
    p.cadence = get("Cadence");
    p.temp = get("Temperature");
    p.speed = get("Speed");
    // Date "2024/05/01" and Time "07:00:01.500", UTC (utc=0), through libc's
    // timegm rather than our own calendar code.
    struct tm tm {};
    double seconds = 0;
    REQUIRE(std::sscanf(f[column.at("Date")].c_str(), "%d/%d/%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) == 3);
    REQUIRE(std::sscanf(f[column.at("Time")].c_str(), "%d:%d:%lf", &tm.tm_hour, &tm.tm_min, &seconds) == 3);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    p.time = static_cast<double>(timegm(&tm)) + seconds;
    points.push_back(p);
  }
  return points;
}

// Our points against gpsbabel's, within unicsv's rounding: 6 decimals of a
// degree, 1 decimal of a metre, milliseconds, 2 decimals of m/s.
void CompareWithBabel(const Track& track, const std::vector<BabelPoint>& babel, bool compare_temp, bool compare_speed) {
  REQUIRE(track.points.size() == babel.size());
  for (size_t i = 0; i < babel.size(); ++i) {
    INFO("point " << i);
    const TrackPoint& ours = track.points[i];
    const BabelPoint& theirs = babel[i];
    REQUIRE(ours.lat);
    CHECK(*ours.lat == Approx(theirs.lat).margin(5.1e-7));
    CHECK(*ours.lng == Approx(theirs.lng).margin(5.1e-7));
    CHECK(ours.time == Approx(theirs.time).margin(5.1e-4));
    REQUIRE(ours.altitude.has_value() == theirs.altitude.has_value());
    if (ours.altitude) CHECK(*ours.altitude == Approx(*theirs.altitude).margin(0.051));
    REQUIRE(ours.heartrate.has_value() == theirs.heartrate.has_value());
    if (ours.heartrate) CHECK(*ours.heartrate == *theirs.heartrate);
    REQUIRE(ours.cadence.has_value() == theirs.cadence.has_value());
    if (ours.cadence) CHECK(*ours.cadence == *theirs.cadence);
    if (compare_temp) {
      REQUIRE(ours.temp.has_value() == theirs.temp.has_value());
      if (ours.temp) CHECK(*ours.temp == Approx(*theirs.temp).margin(0.051));
    }
    if (compare_speed) {
      REQUIRE(ours.speed.has_value() == theirs.speed.has_value());
      if (ours.speed) CHECK(*ours.speed == Approx(*theirs.speed).margin(0.0051));
    }
  }
}

// A run with every field, a few points missing one, times with fractions and
// offsets: deterministic, no randomness between runs.
std::string CrossCheckFixture() {
  std::string gpx = R"(<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="stravafs test" xmlns="http://www.topografix.com/GPX/1/1"
 xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">
 <trk><name>Cross check</name><type>running</type><trkseg>
)";
  double lat = 47.3769, lng = 8.5417, ele = 408.0;
  for (int i = 0; i < 300; ++i) {
    lat += 0.0000123 * ((i * 7) % 5 - 1.7);
    lng += 0.0000171 * ((i * 3) % 7 - 2.9);
    ele += ((i * 11) % 9 - 4) * 0.3;
    char point[512];
    const int second = i * 2;
    // Every 7th point in +01:00, every 5th with milliseconds.
    char time[64];
    if (i % 7 == 3) {
      std::snprintf(time, sizeof time, "2024-05-01T%02d:%02d:%02d+01:00", 8 + second / 3600, second / 60 % 60,
                    second % 60);
    } else if (i % 5 == 1) {
      std::snprintf(time, sizeof time, "2024-05-01T%02d:%02d:%02d.%03dZ", 7 + second / 3600, second / 60 % 60,
                    second % 60, (i * 37) % 1000);
    } else {
      std::snprintf(time, sizeof time, "2024-05-01T%02d:%02d:%02dZ", 7 + second / 3600, second / 60 % 60, second % 60);
    }
    std::string extensions;
    if (i % 13 != 12) {
      char tpx[256];
      std::snprintf(tpx, sizeof tpx,
                    "<extensions><gpxtpx:TrackPointExtension><gpxtpx:atemp>%.1f</gpxtpx:atemp>"
                    "<gpxtpx:hr>%d</gpxtpx:hr><gpxtpx:cad>%d</gpxtpx:cad>"
                    "</gpxtpx:TrackPointExtension></extensions>",
                    18.0 + (i % 10) * 0.1, 110 + (i * 3) % 60, 78 + (i % 9));
      extensions = tpx;
    }
    std::snprintf(point, sizeof point, "  <trkpt lat=\"%.7f\" lon=\"%.7f\"><ele>%.1f</ele><time>%s</time>", lat, lng,
                  ele, time);
    gpx += point;
    gpx += extensions + "</trkpt>\n";
  }
  gpx += " </trkseg></trk>\n</gpx>\n";
  return gpx;
}

TEST_CASE("Cross-check with gpsbabel: GPX and TCX it writes and reads", "[gpx][tcx][gpsbabel]") {
  if (std::system("command -v gpsbabel >/dev/null 2>&1") != 0) {
    WARN("gpsbabel is not installed: the cross-check is skipped");
    return;
  }
  TempDir dir;
  REQUIRE_FALSE(dir.path.empty());
  const std::string fixture = dir.path + "/fixture.gpx";
  WriteFile(fixture, CrossCheckFixture());
  const auto babel_read = [&](const std::string& format, const std::string& file) {
    const std::string csv = file + ".csv";
    REQUIRE(Run("gpsbabel -t -i " + format + " -f '" + file + "' -o unicsv,utc=0 -F '" + csv + "'"));
    return ReadUnicsv(ReadFile(csv));
  };

  SECTION("our fixture, read by both") {
    const Track track = DecodeOk(ReadFile(fixture));
    CHECK(track.points.size() == 300);
    CompareWithBabel(track, babel_read("gpx", fixture), /*compare_temp=*/true, false);
  }
  SECTION("GPX 1.1 written by gpsbabel") {
    const std::string out = dir.path + "/babel11.gpx";
    REQUIRE(Run("gpsbabel -t -i gpx -f '" + fixture + "' -o gpx,garminextensions -F '" + out + "'"));
    const Track track = DecodeOk(ReadFile(out));
    CHECK(track.summary.name == "Cross check");
    CompareWithBabel(track, babel_read("gpx", out), /*compare_temp=*/true, false);
  }
  SECTION("GPX 1.0 written by gpsbabel") {
    const std::string out = dir.path + "/babel10.gpx";
    REQUIRE(Run("gpsbabel -t -i gpx -f '" + fixture + "' -o gpx,gpxver=1.0 -F '" + out + "'"));
    const Track track = DecodeOk(ReadFile(out));
    CompareWithBabel(track, babel_read("gpx", out), /*compare_temp=*/false, false);
  }
  SECTION("TCX (history) written by gpsbabel") {
    const std::string out = dir.path + "/babel.tcx";
    REQUIRE(Run("gpsbabel -t -i gpx -f '" + fixture + "' -o gtrnctr,course=0,sport=Running -F '" + out + "'"));
    Result<Track> track = DecodeTcx(ReadFile(out));
    INFO(track.status().message());
    REQUIRE(track.ok());
    CHECK(track->summary.sport_type == "Run");
    REQUIRE(track->laps.size() == 1);
    CHECK(track->laps[0].start_time == kStart);
    CompareWithBabel(*track, babel_read("gtrnctr", out), false, /*compare_speed=*/true);
  }
}

}  // namespace
}  // namespace stravafs::import
