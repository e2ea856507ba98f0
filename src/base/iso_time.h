// ISO 8601 UTC times as Strava writes them ("2024-05-12T11:30:00Z") and
// seconds since the epoch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stravafs {

// "2024-05-12T11:30:00Z" (the Z optional) -> seconds since the epoch;
// nullopt if malformed, including days a month does not have.
std::optional<int64_t> ParseIsoUtc(std::string_view text);
// Seconds since the epoch -> "2024-05-12T11:30:00Z". Years 0 to 9999 (what
// ParseIsoUtc reads) have four digits; kMinIsoEpoch..kMaxIsoEpoch is that range.
inline constexpr int64_t kMinIsoEpoch = INT64_C(-62167219200);  // 0000-01-01T00:00:00Z
inline constexpr int64_t kMaxIsoEpoch = INT64_C(253402300799);  // 9999-12-31T23:59:59Z
std::string FormatIsoUtc(int64_t epoch);
// The same 20 characters written to `buf`, for kMinIsoEpoch..kMaxIsoEpoch
// only: a GPX file has one per track point.
inline constexpr size_t kIsoUtcLength = 20;
void FormatIsoUtcInto(int64_t epoch, char* buf);

}  // namespace stravafs
