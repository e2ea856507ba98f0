// Tests for SportTypeFromName (import/track.cc): the sport words of TCX, GPX
// (Garmin, Strava words and Strava's numeric types) and Strava's own names.
#include "import/track.h"

#include <catch2/catch.hpp>
#include <string>

namespace stravafs::import {
namespace {

TEST_CASE("SportTypeFromName: TCX sports", "[track]") {
  CHECK(SportTypeFromName("Running") == "Run");
  CHECK(SportTypeFromName("Biking") == "Ride");
  CHECK(SportTypeFromName("Other") == "");
  CHECK(SportTypeFromName("MultiSport") == "");
}

TEST_CASE("SportTypeFromName: GPX words, any case and separator", "[track]") {
  CHECK(SportTypeFromName("running") == "Run");
  CHECK(SportTypeFromName("RUN") == "Run");
  CHECK(SportTypeFromName("trail_running") == "TrailRun");
  CHECK(SportTypeFromName("Trail Running") == "TrailRun");
  CHECK(SportTypeFromName("trail-running") == "TrailRun");
  CHECK(SportTypeFromName("cycling") == "Ride");
  CHECK(SportTypeFromName("biking") == "Ride");
  CHECK(SportTypeFromName("road_biking") == "Ride");
  CHECK(SportTypeFromName("indoor_cycling") == "Ride");
  CHECK(SportTypeFromName("mountain_biking") == "MountainBikeRide");
  CHECK(SportTypeFromName("gravel_cycling") == "GravelRide");
  CHECK(SportTypeFromName("e_biking") == "EBikeRide");
  CHECK(SportTypeFromName("virtual_ride") == "VirtualRide");
  CHECK(SportTypeFromName("hiking") == "Hike");
  CHECK(SportTypeFromName("walking") == "Walk");
  CHECK(SportTypeFromName("swimming") == "Swim");
  CHECK(SportTypeFromName("open_water_swimming") == "Swim");
  CHECK(SportTypeFromName("lap_swimming") == "Swim");
  CHECK(SportTypeFromName("rowing") == "Rowing");
  CHECK(SportTypeFromName("alpine_skiing") == "AlpineSki");
  CHECK(SportTypeFromName("backcountry_skiing") == "BackcountrySki");
  CHECK(SportTypeFromName("cross_country_skiing") == "NordicSki");
  CHECK(SportTypeFromName("stand_up_paddleboarding") == "StandUpPaddling");
  CHECK(SportTypeFromName("strength_training") == "WeightTraining");
  CHECK(SportTypeFromName(" running\n") == "Run");
}

TEST_CASE("SportTypeFromName: Strava's own sport_type names round-trip", "[track]") {
  for (const std::string name : {"Run",
                                 "TrailRun",
                                 "VirtualRun",
                                 "Ride",
                                 "MountainBikeRide",
                                 "GravelRide",
                                 "EBikeRide",
                                 "EMountainBikeRide",
                                 "VirtualRide",
                                 "Velomobile",
                                 "Handcycle",
                                 "Walk",
                                 "Hike",
                                 "Swim",
                                 "Rowing",
                                 "Kayaking",
                                 "Canoeing",
                                 "StandUpPaddling",
                                 "Surfing",
                                 "Windsurf",
                                 "Kitesurf",
                                 "Sail",
                                 "AlpineSki",
                                 "BackcountrySki",
                                 "NordicSki",
                                 "RollerSki",
                                 "Snowboard",
                                 "Snowshoe",
                                 "IceSkate",
                                 "InlineSkate",
                                 "Skateboard",
                                 "Workout",
                                 "WeightTraining",
                                 "HighIntensityIntervalTraining",
                                 "Crossfit",
                                 "Elliptical",
                                 "StairStepper",
                                 "Yoga",
                                 "Pilates",
                                 "RockClimbing",
                                 "Golf",
                                 "Soccer",
                                 "Tennis",
                                 "Wheelchair",
                                 "VirtualRow"}) {
    INFO(name);
    CHECK(SportTypeFromName(name) == name);
  }
}

TEST_CASE("SportTypeFromName: Strava's numeric GPX types", "[track]") {
  CHECK(SportTypeFromName("1") == "Ride");
  CHECK(SportTypeFromName("4") == "Hike");
  CHECK(SportTypeFromName("9") == "Run");
  CHECK(SportTypeFromName("10") == "Walk");
  CHECK(SportTypeFromName("16") == "Swim");
  // Unconfirmed numbers stay unknown rather than guessed.
  CHECK(SportTypeFromName("2") == "");
  CHECK(SportTypeFromName("11") == "");
}

TEST_CASE("SportTypeFromName: unknown, empty and absurd names", "[track]") {
  CHECK(SportTypeFromName("") == "");
  CHECK(SportTypeFromName("generic") == "");
  CHECK(SportTypeFromName("quidditch") == "");
  CHECK(SportTypeFromName(std::string(10000, 'a')) == "");
  CHECK(SportTypeFromName(std::string("run\0ning", 8)) == "");
}

}  // namespace
}  // namespace stravafs::import
