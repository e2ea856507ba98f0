// Streams for ActivityStore::StoreStreams from JSON written the way Strava
// sends it (keyed by type or as an array), read by the sync's own reader.
#pragma once

#include <catch2/catch.hpp>

#include "base/json.h"
#include "model/streams.h"
#include "strava/api.h"

namespace stravafs {

inline StreamSet StreamsOf(const Json& reply) {
  auto streams = api::ParseStreams(reply.dump());
  INFO(streams.status().message());
  REQUIRE(streams.ok());
  return std::move(*streams);
}

}  // namespace stravafs
