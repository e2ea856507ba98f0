// timeutil.h - calendar arithmetic, ISO-8601 formatting/parsing and a small
// table of time zones with hand-written DST rules (US, EU, AU, NZ, BR), so the
// emulator never depends on the host's tz database or the wall clock.
// Everything here is a pure function or immutable data: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emu {

// Days since 1970-01-01 for a proleptic Gregorian date (month 1..12).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
// Inverse of days_from_civil.
void civil_from_days(int64_t z, int64_t &y, unsigned &m, unsigned &d);
// 0 = Sunday .. 6 = Saturday.
int weekday(int64_t days);

// "2024-05-12T11:30:00Z" for an epoch second (the Z is always written, also
// for Strava's local wall-clock fields).
std::string iso_z(int64_t epoch);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm|-hh:mm]" or "YYYY-MM-DD".
// Returns epoch seconds of the written clock fields minus any explicit
// numeric offset (a trailing Z is ignored, as Strava writes it on local times).
std::optional<int64_t> parse_iso(std::string_view s);

// BR: Brazil's historical DST (a table, 1999-2019; none since).
enum class DstRule { None, US, EU, AU, NZ, BR };

struct Zone {
  const char *name;  // IANA name
  int std_offset;    // seconds east of UTC, standard time
  DstRule rule;
  double lat, lng;      // a home location in the zone (track start)
  const char *country;  // location_country
};

const std::vector<Zone> &zones();
int zone_index(std::string_view iana_name);  // -1 if unknown
// Offset (seconds east of UTC) in force at a UTC instant.
int offset_at(const Zone &z, int64_t utc);
// UTC instants of the DST transitions of a zone in a UTC year (empty if none).
std::vector<int64_t> transitions(const Zone &z, int64_t year);
// Converts a local wall clock to UTC (for ambiguous times picks the first).
int64_t local_to_utc(const Zone &z, int64_t local);
// "(GMT-05:00) America/New_York": the standard offset, as Strava writes it.
std::string timezone_label(const Zone &z);

}  // namespace emu
