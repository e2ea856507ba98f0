// TimeZone: the UTC offset in force at a moment, in an IANA zone, read from
// the system's zoneinfo (TZif files, RFC 8536).
//
// For the importer: files other than FIT rarely record local time, and
// Strava's folders and analytics go by the local wall clock, so the offset
// comes from a configured zone ([import] timezone) or the system's. This
// reads the zone's file once instead of switching the process-wide TZ, which
// would race with every other thread that formats a time (the mount daemon
// imports from its refresher thread).
//
// Moments after the file's last transition keep the last offset (Debian's
// zoneinfo lists transitions up to 2037; activities lie in the past).
// A TimeZone is an immutable value: safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stravafs {

class TimeZone {
 public:
  // `name` is an IANA name ("Europe/Berlin"); "" means the system's zone:
  // $TZ when it names a zone, else /etc/localtime, else UTC.
  static Result<TimeZone> Load(const std::string& name);
  // Parses the bytes of a TZif file (exposed for tests and fuzzing).
  static Result<TimeZone> Parse(const std::string& name, std::string_view tzif);
  static TimeZone Utc();

  const std::string& name() const { return name_; }  // "Europe/Berlin", "UTC"
  // Seconds to add to UTC for the local wall clock at `utc` (epoch seconds).
  int64_t OffsetAt(int64_t utc) const;
  // Whether daylight saving time is in force at `utc`.
  bool IsDstAt(int64_t utc) const;

 private:
  struct Type {
    int32_t offset = 0;
    bool dst = false;
  };
  const Type& TypeAt(int64_t utc) const;
  std::string name_;
  std::vector<int64_t> transitions_;  // ascending UTC epoch seconds
  std::vector<uint8_t> type_of_;      // type index in force from each transition
  std::vector<Type> types_;           // never empty
  uint8_t first_type_ = 0;            // in force before the first transition
};

}  // namespace stravafs
