// AthleteStore: the athlete, their gear and their heart-rate and power zones
// held in the cache (athletes, gear, athlete_zones).
//
// Holds nothing but the Cache it is made over, so one is made wherever one
// is needed. Not thread-safe, as the Cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "cache/db.h"

namespace stravafs {

// The athlete among `known` (id, name) that `text` names: an id (digits),
// or a name ("Ann Lee", or just "Ann"; ASCII case aside) that exactly one
// of them has. `where` ends the usage error: whom `known` holds and what
// lists them.
Result<int64_t> PickAthlete(const std::vector<std::pair<int64_t, std::string>>& known, const std::string& text,
                            const std::string& where);

class AthleteStore {
 public:
  explicit AthleteStore(Cache& cache) : cache_(cache) {}

  Status StoreAthlete(const Json& athlete);
  // `athlete`: whose gear it is (0: not known).
  Status StoreGear(const Json& gear, int64_t athlete);
  // Whose gear of that id the cache holds: nullopt when none, or no athlete's.
  Result<std::optional<int64_t>> GearOwner(const std::string& id);
  // Replaces `athlete`'s athlete_zones with a GET /athlete/zones reply (checked by
  // api::CheckZones): heart_rate zones as kind 'heartrate', power zones as
  // 'power', numbered from 1; Strava's open top (max -1) as NULL. Writes
  // nothing when the table already holds exactly those zones.
  Status StoreAthleteZones(const Json& zones, int64_t athlete);
  // Gear that `athlete`'s activities (0: anyone's) name and is not held yet.
  Result<std::vector<std::string>> MissingGearIds(int64_t athlete);
  // Deletes everything the cache holds of `athlete`: activities (as
  // DeleteActivity does, so a mount drops their files) and the files
  // imported into them, the athlete, gear, zones and the sync's state. When
  // they are the only athlete, everything goes: activities of no known owner
  // and the whole import log too. Returns the number of activities deleted.
  // In the caller's transaction.
  Result<int64_t> Purge(int64_t athlete);
  // "Firstname Lastname" of a held athlete ("" when not held or unnamed).
  std::string Name(int64_t athlete);
  // A held athlete named by a person (a command line, the config): their
  // id, or their name or first name (PickAthlete). Usage errors say what to
  // give instead.
  Result<int64_t> Named(const std::string& text);
  // The athletes the cache holds, by id.
  Result<std::vector<int64_t>> Held();
  // The athlete the cache holds (the first, by id), or nullopt before any.
  Result<std::optional<int64_t>> HeldAthlete();

 private:
  Cache& cache_;
};

}  // namespace stravafs
