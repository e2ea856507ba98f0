// Tests for import/shape.cc: a Track becomes the streams Strava gives and the
// numbers of its summary, whatever format it came from.
#include "import/shape.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

namespace stravafs::import {
namespace {

TrackPoint Point(double t, double lat, double lng, double ele, std::optional<double> hr = std::nullopt) {
  TrackPoint p;
  p.time = t;
  p.lat = lat;
  p.lng = lng;
  p.altitude = ele;
  p.heartrate = hr;
  return p;
}

TEST_CASE("ShapeTrack: times from the first point, distance from great-circle steps", "[shape]") {
  Track t;
  // 0.001 degree of latitude is 111.19 m on the mean sphere; file order scrambled.
  t.points = {Point(1000, 52.000, 13.0, 30, 120), Point(1020, 52.001, 13.0, 33, 130),
              Point(1010, 52.0005, 13.0, 31, 125)};
  const Shaped s = ShapeTrack(t);
  REQUIRE(s.samples == 3);
  CHECK(s.streams["time"] == std::vector<double>{0, 10, 20});
  CHECK(s.streams["distance"][1] == Approx(55.6).margin(0.1));
  CHECK(s.streams["distance"][2] == Approx(111.19).margin(0.05));
  CHECK(s.streams["heartrate"] == std::vector<double>{120, 125, 130});
  CHECK(s.streams["lat"][2] == 52.001);
  CHECK(s.streams["lng"][2] == 13.0);
  CHECK(s.summary.elapsed_time == 20);
  CHECK(s.summary.distance.value() == Approx(111.2).margin(0.05));
  CHECK(s.summary.total_elevation_gain.value() == Approx(3.0));
  CHECK(s.summary.elev_high.value() == 33);
  CHECK(s.summary.elev_low.value() == 30);
  CHECK(s.summary.max_heartrate.value() == 130);
  CHECK(s.summary.start_latlng->first == 52.0);
  CHECK_FALSE(s.summary.polyline.empty());
  CHECK(s.streams["grade"].size() == 3);
  CHECK(s.streams["moving"] == std::vector<double>{1, 1, 1});
}

TEST_CASE("ShapeTrack: the device's distance and speed win, FIT's timer gives moving", "[shape]") {
  Track t;
  for (int i = 0; i < 5; ++i) {
    TrackPoint p;
    p.time = 100 + i;
    p.distance = i * 3.0;
    p.speed = 3.0;
    p.moving = i != 2;
    p.watts = 200;
    t.points.push_back(p);
  }
  const Shaped s = ShapeTrack(t);
  CHECK(s.streams["lat"].empty());
  CHECK(s.streams["lng"].empty());
  CHECK(s.streams["distance"] == std::vector<double>{0.0, 3.0, 6.0, 9.0, 12.0});
  CHECK(s.streams["velocity"][0] == 3.0);
  CHECK(s.streams["moving"] == std::vector<double>{1, 1, 0, 1, 1});
  CHECK(s.summary.moving_time == 3);  // the step into the pause is not moving
  CHECK(s.summary.kilojoules.value() == Approx(0.8));
  CHECK(s.summary.average_watts == 200);
}

// The device's speed on some points only, and no distance: the velocity
// stream skipped the points without one, so its values moved to earlier
// samples than theirs.
TEST_CASE("ShapeTrack: a point without the device's speed has no velocity, in its own place", "[shape][bug]") {
  Track t;
  for (int i = 0; i < 4; ++i) {
    TrackPoint p;
    p.time = 100 + i;
    if (i != 1) p.speed = 2.0 + i;
    t.points.push_back(p);
  }
  const Shaped s = ShapeTrack(t);
  const std::vector<double>& v = s.streams["velocity"];
  REQUIRE(v.size() == 4);
  CHECK(v[0] == 2.0);
  CHECK(std::isnan(v[1]));
  CHECK(v[2] == 4.0);
  CHECK(v[3] == 5.0);
  CHECK(s.streams["distance"].empty());
}

TEST_CASE("ShapeTrack: no points, no streams", "[shape]") {
  const Shaped s = ShapeTrack(Track{});
  CHECK(s.samples == 0);
  CHECK(s.streams.size() == 0);
}

TEST_CASE("EncodePolyline: Google's example", "[shape]") {
  CHECK(EncodePolyline({{38.5, -120.2}, {40.7, -120.95}, {43.252, -126.453}}) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@");
}

TEST_CASE("LapsJson: indexes into the sorted points, local start", "[shape]") {
  Track t;
  for (int i = 0; i < 10; ++i) t.points.push_back(Point(1000 + i * 10, 52, 13, 30));
  TrackLap a, b;
  a.start_time = 1000;
  a.elapsed_time = 50;
  a.distance = 100;
  b.start_time = 1050;
  b.elapsed_time = 50;
  t.laps = {a, b};
  const Json laps = LapsJson(t, 3600);
  REQUIRE(laps.size() == 2);
  CHECK(laps[0]["start_index"] == 0);
  CHECK(laps[0]["end_index"] == 4);
  CHECK(laps[1]["start_index"] == 5);
  CHECK(laps[1]["end_index"] == 9);
  CHECK(laps[0]["start_date"] == "1970-01-01T00:16:40Z");
  CHECK(laps[0]["start_date_local"] == "1970-01-01T01:16:40Z");
  CHECK(laps[0]["average_speed"] == 2.0);
}

TEST_CASE("LapsJson: the last lap ends on a point at its end time", "[shape]") {
  Track t;
  for (int i = 0; i < 10; ++i) t.points.push_back(Point(1000 + i * 10, 52, 13, 30));
  TrackLap a, b;
  a.start_time = 1000;
  a.elapsed_time = 50;
  b.start_time = 1050;
  b.elapsed_time = 40;  // to the last point, at 1090
  t.laps = {a, b};
  const Json laps = LapsJson(t, 0);
  REQUIRE(laps.size() == 2);
  CHECK(laps[0]["end_index"] == 4);
  CHECK(laps[1]["start_index"] == 5);
  CHECK(laps[1]["end_index"] == 9);
}

}  // namespace
}  // namespace stravafs::import
