// Tests for the TCX decoder (import/tcx.cc): laps and their totals, track
// points with the TPX extensions under any prefix, the summary rules, and
// every refusal with its message. (The gpsbabel cross-check of TCX lives in
// gpx_test.cc, beside the GPX one it shares a fixture with.)
#include "import/tcx.h"

#include <catch2/catch.hpp>
#include <string>

namespace stravafs::import {
namespace {

Track DecodeOk(const std::string& tcx) {
  Result<Track> track = DecodeTcx(tcx);
  INFO(track.status().message());
  REQUIRE(track.ok());
  return std::move(track).value();
}

std::string DecodeError(const std::string& tcx) {
  Result<Track> track = DecodeTcx(tcx);
  REQUIRE_FALSE(track.ok());
  return track.status().message();
}

constexpr double kStart = 1714546800;  // 2024-05-01T07:00:00Z

// Shaped like a Garmin Connect export: ns3 prefixes for the extensions, a
// running lap with LX and a cycling-style Cadence in the other.
const char kGarminTcx[] = R"(
<?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase
  xsi:schemaLocation="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2 http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd"
  xmlns:ns5="http://www.garmin.com/xmlschemas/ActivityGoals/v1"
  xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2"
  xmlns:ns2="http://www.garmin.com/xmlschemas/UserProfile/v2"
  xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Activities>
    <Activity Sport="Running">
      <Id>2024-05-01T07:00:00.000Z</Id>
      <Lap StartTime="2024-05-01T07:00:00.000Z">
        <TotalTimeSeconds>300.5</TotalTimeSeconds>
        <DistanceMeters>1000.25</DistanceMeters>
        <MaximumSpeed>4.5</MaximumSpeed>
        <Calories>70</Calories>
        <AverageHeartRateBpm><Value>140</Value></AverageHeartRateBpm>
        <MaximumHeartRateBpm><Value>155</Value></MaximumHeartRateBpm>
        <Intensity>Active</Intensity>
        <TriggerMethod>Manual</TriggerMethod>
        <Track>
          <Trackpoint>
            <Time>2024-05-01T07:00:00.000Z</Time>
            <Position>
              <LatitudeDegrees>52.5200001</LatitudeDegrees>
              <LongitudeDegrees>13.4049999</LongitudeDegrees>
            </Position>
            <AltitudeMeters>34.2</AltitudeMeters>
            <DistanceMeters>0.0</DistanceMeters>
            <HeartRateBpm><Value>120</Value></HeartRateBpm>
            <Extensions>
              <ns3:TPX>
                <ns3:Speed>3.25</ns3:Speed>
                <ns3:RunCadence>86</ns3:RunCadence>
              </ns3:TPX>
            </Extensions>
          </Trackpoint>
          <Trackpoint>
            <Time>2024-05-01T07:00:01.500Z</Time>
            <Position>
              <LatitudeDegrees>52.5201</LatitudeDegrees>
              <LongitudeDegrees>13.4051</LongitudeDegrees>
            </Position>
            <AltitudeMeters>34.8</AltitudeMeters>
            <DistanceMeters>4.9</DistanceMeters>
            <HeartRateBpm><Value>121</Value></HeartRateBpm>
            <Extensions><ns3:TPX><ns3:Speed>3.3</ns3:Speed><ns3:Watts>280</ns3:Watts></ns3:TPX></Extensions>
          </Trackpoint>
        </Track>
        <Extensions>
          <ns3:LX>
            <ns3:AvgSpeed>3.33</ns3:AvgSpeed>
            <ns3:AvgRunCadence>85</ns3:AvgRunCadence>
            <ns3:MaxRunCadence>90</ns3:MaxRunCadence>
            <ns3:AvgWatts>275</ns3:AvgWatts>
          </ns3:LX>
        </Extensions>
      </Lap>
      <Lap StartTime="2024-05-01T07:05:00Z">
        <TotalTimeSeconds>200</TotalTimeSeconds>
        <DistanceMeters>800</DistanceMeters>
        <MaximumSpeed>5.25</MaximumSpeed>
        <Calories>50</Calories>
        <AverageHeartRateBpm><Value>150</Value></AverageHeartRateBpm>
        <MaximumHeartRateBpm><Value>165</Value></MaximumHeartRateBpm>
        <Cadence>88</Cadence>
        <Track>
          <Trackpoint>
            <Time>2024-05-01T07:05:00Z</Time>
          </Trackpoint>
          <Trackpoint>
            <Time>2024-05-01T07:05:01Z</Time>
            <Position><LatitudeDegrees>52.53</LatitudeDegrees></Position>
            <Cadence>87</Cadence>
            <SensorState>Present</SensorState>
            <Extensions><TPX xmlns="http://www.garmin.com/xmlschemas/ActivityExtension/v2"><RunCadence>99</RunCadence></TPX></Extensions>
          </Trackpoint>
        </Track>
      </Lap>
      <Notes>Intervals &lt;3</Notes>
      <Creator xsi:type="Device_t">
        <Name>Forerunner 965</Name>
        <UnitId>3400000000</UnitId>
        <ProductID>4315</ProductID>
      </Creator>
    </Activity>
    <Activity Sport="Biking">
      <Id>2024-06-01T07:00:00Z</Id>
      <Lap StartTime="2024-06-01T07:00:00Z"><Track><Trackpoint><Time>2024-06-01T07:00:00Z</Time></Trackpoint></Track></Lap>
    </Activity>
  </Activities>
  <Author xsi:type="Application_t"><Name>Garmin Connect API</Name></Author>
</TrainingCenterDatabase>
)";

TEST_CASE("TCX: a Garmin export with laps, TPX and LX extensions", "[tcx]") {
  const Track track = DecodeOk(kGarminTcx);
  CHECK(track.format == "tcx");
  const TrackSummary& s = track.summary;
  CHECK(s.sport_type == "Run");
  CHECK(s.name == "Intervals <3");
  CHECK(s.device_name == "Forerunner 965");  // the Creator, not the Author
  CHECK(s.start_time == kStart);
  CHECK(s.distance == 1800.25);
  CHECK(s.elapsed_time == 500.5);  // wall clock: the laps' StartTimes, never below TotalTimeSeconds
  CHECK(s.calories == 120);
  CHECK(s.max_speed == 5.25);
  CHECK(s.max_heartrate == 165);
  CHECK_FALSE(s.average_heartrate);
  CHECK(s.moving_time == 500.5);  // TotalTimeSeconds is the timer time

  REQUIRE(track.laps.size() == 2);  // the second Activity is not read
  const TrackLap& a = track.laps[0];
  CHECK(a.start_time == kStart);
  CHECK(a.elapsed_time == 300.5);
  CHECK(a.distance == 1000.25);
  CHECK(a.max_speed == 4.5);
  CHECK(a.calories == 70);
  CHECK(a.average_heartrate == 140);
  CHECK(a.max_heartrate == 155);
  CHECK(a.average_cadence == 85);  // LX AvgRunCadence, no Cadence element
  CHECK(a.average_watts == 275);
  CHECK(a.moving_time == 300.5);
  const TrackLap& b = track.laps[1];
  CHECK(b.start_time == kStart + 300);
  CHECK(b.average_cadence == 88);
  CHECK_FALSE(b.average_watts);

  REQUIRE(track.points.size() == 4);
  const TrackPoint& p0 = track.points[0];
  CHECK(p0.time == kStart);
  CHECK(p0.lat == 52.5200001);
  CHECK(p0.lng == 13.4049999);
  CHECK(p0.altitude == 34.2);
  CHECK(p0.distance == 0.0);
  CHECK(p0.heartrate == 120);
  CHECK(p0.speed == 3.25);
  CHECK(p0.cadence == 86);  // TPX RunCadence
  CHECK_FALSE(p0.watts);
  const TrackPoint& p1 = track.points[1];
  CHECK(p1.time == kStart + 1.5);
  CHECK(p1.distance == 4.9);
  CHECK(p1.speed == 3.3);
  CHECK(p1.watts == 280);
  CHECK_FALSE(p1.cadence);
  // A time-only point (a pause marker) is kept as it is.
  const TrackPoint& p2 = track.points[2];
  CHECK(p2.time == kStart + 300);
  CHECK_FALSE(p2.lat);
  CHECK_FALSE(p2.heartrate);
  // Half a position is no position; Cadence wins over RunCadence.
  const TrackPoint& p3 = track.points[3];
  CHECK_FALSE(p3.lat);
  CHECK_FALSE(p3.lng);
  CHECK(p3.cadence == 87);
}

TEST_CASE("TCX: TotalTimeSeconds is the timer time; a paused lap's elapsed time is wall clock", "[tcx]") {
  // Lap 1 is paused for 100 s: 60 s of timer time over 160 s; lap 2 ends on
  // its last point.
  const Track track = DecodeOk(R"(<TrainingCenterDatabase><Activities><Activity Sport="Running">
<Id>2024-05-01T07:00:00Z</Id>
<Lap StartTime="2024-05-01T07:00:00Z"><TotalTimeSeconds>60</TotalTimeSeconds><Track>
 <Trackpoint><Time>2024-05-01T07:00:00Z</Time></Trackpoint><Trackpoint><Time>2024-05-01T07:02:30Z</Time></Trackpoint>
</Track></Lap>
<Lap StartTime="2024-05-01T07:02:40Z"><TotalTimeSeconds>30</TotalTimeSeconds><Track>
 <Trackpoint><Time>2024-05-01T07:02:40Z</Time></Trackpoint><Trackpoint><Time>2024-05-01T07:03:10Z</Time></Trackpoint>
</Track></Lap>
</Activity></Activities></TrainingCenterDatabase>)");
  REQUIRE(track.laps.size() == 2);
  CHECK(track.laps[0].moving_time == 60);
  CHECK(track.laps[0].elapsed_time == 160);
  CHECK(track.laps[1].moving_time == 30);
  CHECK(track.laps[1].elapsed_time == 30);
  CHECK(track.summary.moving_time == 90);
  CHECK(track.summary.elapsed_time == 190);
}

TEST_CASE("TCX: totals only when every lap states them; start falls back", "[tcx]") {
  const Track track = DecodeOk(R"(<TrainingCenterDatabase><Activities><Activity Sport="Other">
<Id>not a time</Id>
<Lap StartTime="2024-05-01T07:00:10Z"><DistanceMeters>100</DistanceMeters><TotalTimeSeconds>10</TotalTimeSeconds>
 <MaximumSpeed>3</MaximumSpeed><Track><Trackpoint><Time>2024-05-01T07:00:11Z</Time></Trackpoint></Track></Lap>
<Lap StartTime="2024-05-01T07:00:20Z"><TotalTimeSeconds>5</TotalTimeSeconds></Lap>
</Activity></Activities></TrainingCenterDatabase>)");
  CHECK(track.summary.sport_type == "");
  CHECK(track.summary.start_time == kStart + 10);  // the first lap: Id is no time
  CHECK_FALSE(track.summary.distance);             // the second lap gives none
  CHECK(track.summary.elapsed_time == 15);
  CHECK_FALSE(track.summary.calories);
  CHECK(track.summary.max_speed == 3);
  CHECK_FALSE(track.summary.max_heartrate);
  CHECK(track.summary.name == "");
  CHECK(track.summary.device_name == "");
}

TEST_CASE("TCX: leading white space and BOM, Biking, no laps' totals", "[tcx]") {
  const Track track = DecodeOk(
      "\xEF\xBB\xBF\r\n\r\n"
      R"(<?xml version="1.0"?>
<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">
<Activities><Activity Sport="Biking"><Id>2024-05-01T07:00:00Z</Id>
<Lap StartTime="2024-05-01T07:00:00Z"><Track>
<Trackpoint><Time>2024-05-01T09:00:00+02:00</Time><Cadence>90</Cadence>
 <Extensions><ax:TPX xmlns:ax="http://www.garmin.com/xmlschemas/ActivityExtension/v2"><ax:Watts>200</ax:Watts></ax:TPX></Extensions>
</Trackpoint>
</Track></Lap></Activity></Activities></TrainingCenterDatabase>)");
  CHECK(track.summary.sport_type == "Ride");
  REQUIRE(track.points.size() == 1);
  CHECK(track.points[0].time == kStart);
  CHECK(track.points[0].cadence == 90);
  CHECK(track.points[0].watts == 200);
  CHECK_FALSE(track.summary.distance);
  CHECK_FALSE(track.summary.elapsed_time);
}

TEST_CASE("TCX: values outside their place are not taken", "[tcx]") {
  // Lap-level DistanceMeters is not a point's; a Trackpoint's HeartRateBpm is
  // not the lap's average; a Course's points are not the activity's.
  const Track track = DecodeOk(R"(<TrainingCenterDatabase>
<Courses><Course><Track><Trackpoint><Time>2020-01-01T00:00:00Z</Time></Trackpoint></Track></Course></Courses>
<Activities><Activity Sport="Running"><Id>2024-05-01T07:00:00Z</Id>
<Lap StartTime="2024-05-01T07:00:00Z"><DistanceMeters>500</DistanceMeters><Track>
<Trackpoint><Time>2024-05-01T07:00:00Z</Time><HeartRateBpm><Value>130</Value></HeartRateBpm></Trackpoint>
</Track></Lap></Activity></Activities></TrainingCenterDatabase>)");
  REQUIRE(track.points.size() == 1);
  CHECK_FALSE(track.points[0].distance);
  CHECK(track.points[0].heartrate == 130);
  REQUIRE(track.laps.size() == 1);
  CHECK(track.laps[0].distance == 500);
  CHECK_FALSE(track.laps[0].average_heartrate);
}

TEST_CASE("TCX: refusals name the reason and the line", "[tcx]") {
  CHECK(DecodeError("<TrainingCenterDatabase/>") == "TCX: no activity");
  CHECK(DecodeError("<TrainingCenterDatabase><Courses><Course><Track><Trackpoint><Time>"
                    "2024-05-01T07:00:00Z</Time></Trackpoint></Track></Course></Courses>"
                    "</TrainingCenterDatabase>") == "TCX: no activity");
  CHECK(DecodeError(R"(<TrainingCenterDatabase><Activities><Activity Sport="Running">
<Id>2024-05-01T07:00:00Z</Id><Lap StartTime="2024-05-01T07:00:00Z"><TotalTimeSeconds>1</TotalTimeSeconds></Lap>
</Activity></Activities></TrainingCenterDatabase>)") == "TCX: no track points");
  CHECK(DecodeError("<TrainingCenterDatabase><Activities><Activity><Lap StartTime=\"2024-05-01T07:00:00Z\">"
                    "<Track>\n<Trackpoint><HeartRateBpm><Value>1</Value></HeartRateBpm></Trackpoint>"
                    "</Track></Lap></Activity></Activities></TrainingCenterDatabase>") ==
        "TCX: track point without time at line 2");
  CHECK(DecodeError("<TrainingCenterDatabase><Activities><Activity>\n<Lap>"
                    "</Lap></Activity></Activities></TrainingCenterDatabase>") ==
        "TCX: lap without a valid StartTime at line 2");
  CHECK(DecodeError("<TrainingCenterDatabase><Activities><Activity><Lap StartTime=\"2024-05-01T07:00:00Z\">"
                    "<Track><Trackpoint><Time>2024-05-01T07:00:00Z</Time><HeartRateBpm><Value>fast</Value>"
                    "</HeartRateBpm></Trackpoint></Track></Lap></Activity></Activities>"
                    "</TrainingCenterDatabase>") == "TCX: bad <HeartRateBpm> value 'fast' at line 1");
  CHECK(DecodeError("<TrainingCenterDatabase><Activities><Activity><Lap StartTime=\"2024-05-01T07:00:00Z\">"
                    "<Track><Trackpoint><Time>2024-05-01T07:00:00Z</Time><Position><LatitudeDegrees>100"
                    "</LatitudeDegrees><LongitudeDegrees>1</LongitudeDegrees></Position></Trackpoint>"
                    "</Track></Lap></Activity></Activities></TrainingCenterDatabase>") ==
        "TCX: track point with a position out of range at line 1");
  CHECK(DecodeError("<?xml version=\"1.0\"?>\n<gpx/>") == "TCX: not a TCX file: the root element is <gpx> at line 2");
  CHECK(DecodeError("<TrainingCenterDatabase>\n<Activities>\n</Activity>") == "TCX: mismatched tag at line 3");
  CHECK(DecodeError("<!DOCTYPE TrainingCenterDatabase [<!ENTITY a 'b'>]><TrainingCenterDatabase/>") ==
        "TCX: a DOCTYPE is refused (DTDs and entities are not read) at line 1");
}

}  // namespace
}  // namespace stravafs::import
