// Reading JSON text with simdjson's DOM: how Strava's replies and the JSON
// the cache stores are read (model/activity.cc, strava/api.cc). nlohmann
// (base/json.h) builds the small documents stravafs writes.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "base/json.h"
#include "base/status.h"

namespace stravafs {

// `read(root, text)` over simdjson's parse of `text`, or a kServer error that
// says why the text is not JSON. One parser per thread, held to
// kMaxJsonDepth.
template <typename Read>
auto ReadJson(std::string_view text, const Read& read) -> decltype(read(simdjson::dom::element(), text)) {
  thread_local simdjson::dom::parser dom = DepthLimitedParser<simdjson::dom::parser>();
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto error = dom.parse(padded).get(root); error != simdjson::SUCCESS)
    return Status::Error(ErrorKind::kServer,
                         std::string("reply is not valid JSON (") + simdjson::error_message(error) + ")");
  return read(root, text);
}

// ReadJson, but for valid JSON that simdjson refuses (an integer beyond 64
// bits): that is read through nlohmann's dump of it, as nlohmann reads it.
template <typename Read>
auto ReadAnyJson(std::string_view text, const Read& read) -> decltype(read(simdjson::dom::element(), text)) {
  auto result = ReadJson(text, read);
  if (result.ok() ||
      result.status().message().find(simdjson::error_message(simdjson::NUMBER_ERROR)) == std::string::npos)
    return result;
  const Json j = ParseJson(text);
  if (j.is_discarded()) return result;
  return ReadJson(j.dump(), read);
}

}  // namespace stravafs
