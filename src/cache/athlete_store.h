// AthleteStore: the athlete, their gear and their heart-rate and power zones
// held in the cache (athletes, gear, athlete_zones).
//
// Holds nothing but the Cache it is made over, so one is made wherever one
// is needed. Not thread-safe, as the Cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "cache/db.h"

namespace stravafs {

class AthleteStore {
 public:
  explicit AthleteStore(Cache& cache) : cache_(cache) {}

  Status StoreAthlete(const Json& athlete);
  Status StoreGear(const Json& gear);
  // Replaces athlete_zones with a GET /athlete/zones reply (checked by
  // api::CheckZones): heart_rate zones as kind 'heartrate', power zones as
  // 'power', numbered from 1; Strava's open top (max -1) as NULL. Writes
  // nothing when the table already holds exactly those zones.
  Status StoreAthleteZones(const Json& zones);
  // Gear the activities name that is not held yet.
  Result<std::vector<std::string>> MissingGearIds();
  // Deletes everything the cache holds of the athlete it holds: activities
  // (as DeleteActivity does, so a mount drops their files), the athlete,
  // gear, zones, the sync's state and the import log. Returns the number of
  // activities deleted. In the caller's transaction.
  Result<int64_t> Purge();
  // The athlete the cache holds (the first, by id), or nullopt before any.
  Result<std::optional<int64_t>> HeldAthlete();

 private:
  Cache& cache_;
};

}  // namespace stravafs
