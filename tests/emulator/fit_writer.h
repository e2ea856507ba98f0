// fit_writer.h - a small writer of FIT activity files, for test fixtures.
//
// Write() turns an Activity (points, laps, timer pauses, session totals) into
// the bytes of a valid FIT file as Garmin's FIT protocol defines it: a
// 14-byte header (or 12, on request) with its CRC, definition and data
// messages, and the trailing file CRC. It writes the messages a watch writes
// for an activity: file_id, device_info, event (timer start/stop), record,
// lap, session and activity, in timestamp order.
//
// It is a fixture, not a product: it writes what it is told, rounds each
// value to its FIT field's scale, and writes FIT's "invalid" sentinel for a
// nullopt value or one its field cannot hold (a 16-bit altitude above
// 12,606 m, a speed above 65.5 m/s). It never fails.
//
// Options exercise the corners a decoder must handle: big-endian
// definitions, compressed-timestamp record headers, developer fields,
// unknown messages and fields, chained files, a 12-byte header.
//
// Depends only on the C++ standard library: the emulator links no stravafs
// code. Thread-safe: Write() is a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace emu::fit {

// Seconds between the Unix epoch and FIT's (1989-12-31T00:00:00Z).
inline constexpr int64_t kFitEpochUnix = 631065600;

// FIT `sport` and `sub_sport` enum values the fixtures use (FIT profile).
namespace sport {
inline constexpr uint8_t kGeneric = 0, kRunning = 1, kCycling = 2, kTransition = 3, kFitnessEquipment = 4,
                         kSwimming = 5, kTraining = 10, kWalking = 11, kCrossCountrySkiing = 12, kAlpineSkiing = 13,
                         kRowing = 15, kHiking = 17, kEBiking = 21;
}
namespace sub_sport {
inline constexpr uint8_t kGeneric = 0, kTreadmill = 1, kStreet = 2, kTrail = 3, kIndoorCycling = 6, kRoad = 7,
                         kMountain = 8, kLapSwimming = 17, kOpenWater = 18, kStrengthTraining = 20, kEBikeFitness = 28,
                         kVirtualActivity = 58, kGravelCycling = 46;
}
// FIT `manufacturer` values the fixtures use.
namespace manufacturer {
inline constexpr uint16_t kGarmin = 1, kWahoo = 32, kDevelopment = 255, kCoros = 294;
}

// One `record` message. Values in the units of stravafs' TrackPoint:
// degrees, meters, m/s, bpm, rpm (strides per minute for running), W, °C.
// nullopt writes the field's invalid sentinel (when any record has a value
// for that field; a field no record has is not defined at all).
struct Record {
  int64_t timestamp = 0;  // Unix seconds, >= kFitEpochUnix
  std::optional<double> lat, lng;
  std::optional<double> altitude;
  std::optional<double> distance;
  std::optional<double> speed;
  std::optional<double> heartrate;
  std::optional<double> cadence;
  std::optional<double> power;
  std::optional<double> temperature;
  // When set (and Activity::enhanced is kBoth), written to the legacy 16-bit
  // altitude/speed fields instead of altitude/speed, so a test can tell
  // which field a decoder used.
  std::optional<double> legacy_altitude, legacy_speed;
};

// One `lap` message, written at its end (timestamp = start + elapsed).
struct Lap {
  int64_t start = 0;                // Unix seconds
  double elapsed = 0;               // s, wall clock
  double timer = 0;                 // s, timer running
  std::optional<double> distance;   // m
  std::optional<double> max_speed;  // m/s
  std::optional<double> avg_heartrate, max_heartrate;
  std::optional<double> avg_cadence;
  std::optional<double> avg_power;
  std::optional<double> calories;  // kcal
  std::optional<double> ascent;    // m
};

// The `session` message's totals; nullopt fields are written as invalid.
struct Session {
  std::optional<int64_t> start;                // Unix seconds; default: first record's time
  std::optional<double> elapsed, timer;        // s
  std::optional<double> distance;              // m
  std::optional<double> calories;              // kcal
  std::optional<double> avg_speed, max_speed;  // m/s (written to both legacy and enhanced fields)
  std::optional<double> avg_heartrate, max_heartrate;
  std::optional<double> avg_cadence;
  std::optional<double> avg_power, max_power;
  std::optional<double> ascent;      // m
  std::optional<double> total_work;  // J
};

// Which altitude/speed fields records carry.
enum class Enhanced {
  kLegacy,    // altitude (2) and speed (6) only, 16-bit
  kBoth,      // both legacy and enhanced_altitude (78) / enhanced_speed (73)
  kEnhanced,  // enhanced only, as newer Garmin devices write
};

struct Activity {
  int64_t start = 0;                  // Unix seconds; file_id.time_created and the first timer start
  std::optional<int32_t> utc_offset;  // s, local minus UTC; writes activity.local_timestamp
  uint8_t sport = sport::kRunning;
  uint8_t sub_sport = sub_sport::kGeneric;
  std::optional<uint16_t> manufacturer = manufacturer::kGarmin;
  std::optional<uint16_t> product = 3113;  // garmin_product fr945
  std::optional<uint32_t> serial_number;

  std::vector<Record> records;  // in time order
  std::vector<Lap> laps;        // in time order
  // Timer pauses, each [stop, start] in Unix seconds: an event timer
  // stop_all at `first`, an event timer start at `second`. A record at
  // either boundary is written on the timer-running side (moving); only
  // records strictly inside a pause fall in it.
  std::vector<std::pair<int64_t, int64_t>> pauses;
  std::optional<Session> session = Session{};  // nullopt: no session message

  // Encoding options.
  bool big_endian = false;             // architecture 1 in every definition
  bool compressed_timestamps = false;  // records within 31 s of the last timestamp use
                                       // the compressed header, with no timestamp field
  bool developer_fields = false;       // developer_data_id + field_description, and a
                                       // 2-byte developer field in every record
  bool unknown_messages = false;       // an unknown message number and an unknown
                                       // 3-byte field in records, to be skipped
  bool chained = false;                // two FIT files back to back: records split
                                       // in halves, each file with its own header,
                                       // definitions and CRC
  Enhanced enhanced = Enhanced::kBoth;
  int header_size = 14;          // 14 (with header CRC) or 12 (without)
  bool zero_header_crc = false;  // 14-byte header whose CRC is 0 ("not computed")
};

// The bytes of the .fit file.
std::string Write(const Activity& activity);

// FIT's CRC-16 (the one the header and file CRCs use), over `bytes`.
uint16_t Crc16(const void* data, size_t size, uint16_t crc = 0);

}  // namespace emu::fit
