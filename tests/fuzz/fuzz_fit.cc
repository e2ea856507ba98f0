// Fuzz target: the FIT decoder (src/import/fit.h).
//
// Input: the first byte picks the mode, the rest is its data.
//   mode 0: the bytes as a FIT file, as they come;
//   mode 1: the bytes as a FIT file after the header and file CRCs of every
//           header+data block (chained files too) have been set to what the
//           test writer's CRC (tests/emulator/fit_writer.cc, a nibble-table
//           CRC written independently of the decoder's slicing-by-8) says, so
//           that mutations reach the message decoding instead of stopping at
//           a CRC mismatch;
//   mode 2: FuzzedDataProvider chooses an activity (records with any doubles,
//           laps, timer pauses, a session, device, sport) and the writer's
//           encoding options (big-endian, compressed timestamps, developer
//           fields, unknown messages, chained files, legacy/enhanced fields,
//           12-byte header, zero header CRC); emu::fit::Write() makes the
//           file.
// Checks:
//   - DecodeFit never crashes and has no undefined behaviour (ASan, UBSan);
//     decoding the same bytes twice gives the same result, field by field;
//   - a Track it returns is sane (track_check.h): times finite, lat in
//     [-90, 90] and lng in [-180, 180] when present and only together, no
//     NaN or infinite value anywhere;
//   - mode 1: a file whose CRCs were set by the reference CRC is never
//     refused for a CRC mismatch;
//   - mode 2 (the strong oracle): the file decodes, with one point per
//     record, in order, each value the one written to within the writer's
//     scale (FIT stores scaled integers: 1e-7 degree, 0.2 m altitude, 1 cm
//     distance, 1 mm/s speed, whole bpm/rpm/W/degrees C), absent exactly
//     where the writer had to write the invalid sentinel (no value, or one
//     its field cannot hold); the enhanced field preferred to the legacy one;
//     compressed timestamps resolved to the record's own second; `moving`
//     false exactly inside a timer pause; the laps, the session's totals, the
//     sport, the device and the UTC offset as written.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <string>
#include <vector>

#include "../emulator/fit_writer.h"
#include "fuzz_check.h"
#include "import/fit.h"
#include "track_check.h"

using namespace stravafs;
using namespace stravafs::import;
namespace fit = emu::fit;

namespace {

// ---------------------------------------------------------------- modes 0, 1

// Sets the header CRC (14-byte headers) and the file CRC of each block.
std::string WithFixedCrcs(std::string bytes) {
  auto* b = reinterpret_cast<uint8_t*>(bytes.data());
  size_t pos = 0;
  while (bytes.size() - pos >= 12 && std::memcmp(b + pos + 8, ".FIT", 4) == 0) {
    const size_t header = b[pos];
    if (header < 12 || header > bytes.size() - pos) break;
    if (header >= 14) {
      const uint16_t crc = fit::Crc16(b + pos, 12);
      b[pos + 12] = static_cast<uint8_t>(crc & 0xFF);
      b[pos + 13] = static_cast<uint8_t>(crc >> 8);
    }
    const uint64_t data =
        uint64_t{b[pos + 4]} | uint64_t{b[pos + 5]} << 8 | uint64_t{b[pos + 6]} << 16 | uint64_t{b[pos + 7]} << 24;
    if (data + 2 > bytes.size() - pos - header) break;
    const size_t end = pos + header + static_cast<size_t>(data);
    const uint16_t crc = fit::Crc16(b + pos, end - pos);
    b[end] = static_cast<uint8_t>(crc & 0xFF);
    b[end + 1] = static_cast<uint8_t>(crc >> 8);
    pos = end + 2;
  }
  return bytes;
}

Result<Track> DecodeChecked(std::string_view bytes) {
  Result<Track> first = DecodeFit(bytes);
  Result<Track> again = DecodeFit(bytes);
  FUZZ_CHECK(first.ok() == again.ok(), "decoded once, refused once");
  if (!first.ok()) {
    FUZZ_CHECK(first.status().message() == again.status().message(), first.status().message());
    FUZZ_CHECK(first.status().message().rfind("FIT: ", 0) == 0, first.status().message());
    return first;
  }
  const std::string diff = fuzz::DiffTracks(*first, *again);
  FUZZ_CHECK(diff.empty(), "decoding twice differs: " + diff);
  fuzz::CheckTrackSane(*first, "fit", /*need_points=*/false);
  return first;
}

// ---------------------------------------------------------------- mode 2

// What the writer stores for a value (fit_writer.cc, Unsigned/S8/Semicircles):
// the rounded raw integer, or nothing when the field cannot hold it.
struct Field {
  double scale = 1, offset = 0;
  double min_raw = 0, max_raw = 0;  // valid raw values are [min_raw, max_raw]
};
constexpr Field kU8{1, 0, 0, 254}, kU16{1, 0, 0, 65534}, kS8{1, 0, -128, 126};
constexpr Field U16(double scale, double offset = 0) { return {scale, offset, 0, 65534}; }
constexpr Field U32(double scale, double offset = 0) { return {scale, offset, 0, 4294967294.0}; }
constexpr Field kSemicircles{2147483648.0 / 180.0, 0, -2147483648.0, 2147483646.0};

std::optional<double> Raw(const std::optional<double>& value, const Field& f) {
  if (!value || !std::isfinite(*value)) return std::nullopt;
  const double raw = std::round((*value + f.offset) * f.scale);
  if (!(raw >= f.min_raw && raw <= f.max_raw)) return std::nullopt;
  return raw;
}

// Checks a decoded value against the one written through field `f`: absent
// when the writer could not store it, else the stored value and within half
// a step of the scale of what was written.
void CheckValue(const std::string& what, const std::optional<double>& decoded, const std::optional<double>& written,
                const Field& f) {
  const std::optional<double> raw = Raw(written, f);
  if (!raw) {
    FUZZ_CHECK(!decoded,
               what + ": written " + fuzz::ShowValue(written) + " (invalid), decoded " + fuzz::ShowValue(decoded));
    return;
  }
  FUZZ_CHECK(decoded, what + ": written " + fuzz::ShowValue(written) + ", decoded none");
  const double tolerance = 0.5 / f.scale * (1 + 1e-9) + 1e-12 * std::fabs(*written);
  FUZZ_CHECK(std::fabs(*decoded - *written) <= tolerance,
             what + ": written " + fuzz::ShowValue(written) + ", decoded " + fuzz::ShowValue(decoded));
}

// A value for a field: absent, ordinary, at an edge of what FIT holds, or not
// a number at all.
std::optional<double> AnyValue(FuzzedDataProvider& in, double lo, double hi) {
  static constexpr double kSpecial[] = {
      0.0,         -0.0,   -0.5,        -1.0,     0.49,      0.5,          1.5,         126.0,
      126.5,       127.0,  254.0,       254.5,    255.0,     12606.0,      12606.9,     65.534,
      65.5345,     65.535, 65535.0,     65534.4,  65534.5,   4294967.294,  42949672.94, 858993459.0,
      1e300,       -1e300, NAN,         INFINITY, -INFINITY, 5e-324,       89.99999999, 90.0,
      90.00000001, -90.0,  179.9999999, 180.0,    -180.0,    -180.00000001};
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0:
      return std::nullopt;
    case 1:
      return kSpecial[in.ConsumeIntegralInRange<size_t>(0, std::size(kSpecial) - 1)];
    case 2:
      return static_cast<double>(
          in.ConsumeIntegralInRange<int64_t>(static_cast<int64_t>(lo), static_cast<int64_t>(hi)));
    default:
      return in.ConsumeFloatingPointInRange(lo, hi);
  }
}

struct Generated {
  fit::Activity a;
  std::vector<size_t> lap_order;  // the laps in file order (the writer sorts them by end time)
};

Generated Generate(FuzzedDataProvider& in) {
  Generated g;
  fit::Activity& a = g.a;
  // Times stay where a FIT uint32 holds them, with room for what follows.
  a.start = fit::kFitEpochUnix + in.ConsumeIntegralInRange<int64_t>(60000, 0xF0000000LL);
  if (in.ConsumeBool()) a.utc_offset = in.ConsumeIntegralInRange<int32_t>(-14 * 3600, 14 * 3600);
  a.sport = in.ConsumeIntegral<uint8_t>();
  a.sub_sport = in.ConsumeIntegral<uint8_t>();
  a.manufacturer = in.ConsumeBool() ? std::optional<uint16_t>(in.ConsumeIntegral<uint16_t>()) : std::nullopt;
  a.product = in.ConsumeBool() ? std::optional<uint16_t>(in.ConsumeIntegral<uint16_t>()) : std::nullopt;
  if (in.ConsumeBool()) a.serial_number = in.ConsumeIntegral<uint32_t>();
  a.big_endian = in.ConsumeBool();
  a.compressed_timestamps = in.ConsumeBool();
  a.developer_fields = in.ConsumeBool();
  a.unknown_messages = in.ConsumeBool();
  a.chained = in.ConsumeBool();
  a.enhanced = static_cast<fit::Enhanced>(in.ConsumeIntegralInRange(0, 2));
  a.header_size = in.ConsumeBool() ? 14 : 12;
  a.zero_header_crc = in.ConsumeBool();

  // Records in time order, some before the timer starts, some at the same
  // second, gaps across the 32 s a compressed timestamp can span.
  int64_t t = a.start + in.ConsumeIntegralInRange(-40, 40);
  const size_t records = in.ConsumeIntegralInRange<size_t>(0, 48);
  for (size_t i = 0; i < records; ++i) {
    fit::Record r;
    t += in.ConsumeIntegralInRange(0, 3) == 0 ? in.ConsumeIntegralInRange(0, 100) : in.ConsumeIntegralInRange(0, 2);
    r.timestamp = t;
    r.lat = AnyValue(in, -90, 90);
    r.lng = in.ConsumeIntegralInRange(0, 7) == 0 ? AnyValue(in, -200, 200) : AnyValue(in, -180, 180);
    r.altitude = AnyValue(in, -500, 13000);
    r.distance = AnyValue(in, 0, 5e7);
    r.speed = AnyValue(in, 0, 70);
    r.heartrate = AnyValue(in, 0, 260);
    r.cadence = AnyValue(in, 0, 260);
    r.power = AnyValue(in, 0, 70000);
    r.temperature = AnyValue(in, -130, 130);
    if (in.ConsumeIntegralInRange(0, 3) == 0) r.legacy_altitude = AnyValue(in, -500, 13000);
    if (in.ConsumeIntegralInRange(0, 3) == 0) r.legacy_speed = AnyValue(in, 0, 70);
    a.records.push_back(r);
  }

  // Timer pauses after the start, each at least a second long, in order.
  int64_t p = a.start;
  const size_t pauses = in.ConsumeIntegralInRange<size_t>(0, 3);
  for (size_t i = 0; i < pauses; ++i) {
    const int64_t stop = p + in.ConsumeIntegralInRange(0, 60);
    const int64_t resume = stop + in.ConsumeIntegralInRange(1, 120);
    a.pauses.emplace_back(stop, resume);
    p = resume;
  }

  const size_t laps = in.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < laps; ++i) {
    fit::Lap lap;
    lap.start = a.start + in.ConsumeIntegralInRange(-100, 100000);
    lap.elapsed = in.ConsumeBool() ? in.ConsumeFloatingPointInRange(0.0, 5e6) : in.ConsumeIntegralInRange(0, 5000);
    lap.timer = in.ConsumeFloatingPointInRange(-1.0, 5e6);
    lap.distance = AnyValue(in, 0, 5e7);
    lap.max_speed = AnyValue(in, 0, 70);
    lap.avg_heartrate = AnyValue(in, 0, 260);
    lap.max_heartrate = AnyValue(in, 0, 260);
    lap.avg_cadence = AnyValue(in, 0, 260);
    lap.avg_power = AnyValue(in, 0, 70000);
    lap.calories = AnyValue(in, 0, 70000);
    lap.ascent = AnyValue(in, 0, 70000);
    a.laps.push_back(lap);
  }
  g.lap_order.resize(a.laps.size());
  for (size_t i = 0; i < g.lap_order.size(); ++i) g.lap_order[i] = i;
  const auto lap_end = [&a](size_t i) {
    return a.laps[i].start + static_cast<int64_t>(std::llround(a.laps[i].elapsed));
  };
  std::stable_sort(g.lap_order.begin(), g.lap_order.end(), [&](size_t x, size_t y) { return lap_end(x) < lap_end(y); });

  if (in.ConsumeIntegralInRange(0, 4) == 0) {
    a.session.reset();
  } else {
    fit::Session& s = *a.session;
    if (in.ConsumeBool()) s.start = a.start + in.ConsumeIntegralInRange(-100, 100);
    s.elapsed = AnyValue(in, 0, 5e6);
    s.timer = AnyValue(in, 0, 5e6);
    s.distance = AnyValue(in, 0, 5e7);
    s.calories = AnyValue(in, 0, 70000);
    s.avg_speed = AnyValue(in, 0, 70);
    s.max_speed = AnyValue(in, 0, 5e6);
    s.avg_heartrate = AnyValue(in, 0, 260);
    s.max_heartrate = AnyValue(in, 0, 260);
    s.avg_cadence = AnyValue(in, 0, 260);
    s.avg_power = AnyValue(in, 0, 70000);
    s.max_power = AnyValue(in, 0, 70000);
    s.ascent = AnyValue(in, 0, 70000);
    s.total_work = AnyValue(in, 0, 5e9);
  }
  return g;
}

// The value a decoder should read for altitude or speed: the enhanced
// (32-bit) field when it holds one, else the legacy (16-bit) field, which
// holds the legacy override when the writer writes both.
void CheckPreferred(const std::string& what, const std::optional<double>& decoded, const std::optional<double>& value,
                    const std::optional<double>& legacy_value, fit::Enhanced enhanced, const Field& legacy,
                    const Field& wide) {
  switch (enhanced) {
    case fit::Enhanced::kLegacy:
      return CheckValue(what, decoded, value, legacy);
    case fit::Enhanced::kEnhanced:
      return CheckValue(what, decoded, value, wide);
    case fit::Enhanced::kBoth:
      if (Raw(value, wide)) return CheckValue(what, decoded, value, wide);
      return CheckValue(what + " (legacy field)", decoded, legacy_value ? legacy_value : value, legacy);
  }
}

void CheckRoundTrip(const Generated& g) {
  const fit::Activity& a = g.a;
  const std::string bytes = fit::Write(a);
  Result<Track> decoded = DecodeChecked(bytes);
  FUZZ_CHECK(decoded.ok(), "the writer's file is refused: " + decoded.status().message());
  const Track& t = *decoded;

  FUZZ_CHECK(t.points.size() == a.records.size(),
             std::to_string(a.records.size()) + " records, " + std::to_string(t.points.size()) + " points");
  const fit::Enhanced enh = a.enhanced;
  for (size_t i = 0; i < a.records.size(); ++i) {
    const fit::Record& r = a.records[i];
    const TrackPoint& p = t.points[i];
    const std::string at = "record " + std::to_string(i);
    FUZZ_CHECK(p.time == static_cast<double>(r.timestamp),
               at + " time " + std::to_string(r.timestamp) + " decoded " + fuzz::ShowValue(p.time));
    // A position needs both coordinates stored and in range.
    const std::optional<double> lat = Raw(r.lat, kSemicircles), lng = Raw(r.lng, kSemicircles);
    const bool in_range =
        lat && lng && std::fabs(*lat * (180.0 / 2147483648.0)) <= 90 && std::fabs(*lng * (180.0 / 2147483648.0)) <= 180;
    if (in_range) {
      CheckValue(at + " lat", p.lat, r.lat, kSemicircles);
      CheckValue(at + " lng", p.lng, r.lng, kSemicircles);
    } else {
      FUZZ_CHECK(!p.lat && !p.lng, at + " position " + fuzz::ShowValue(r.lat) + "," + fuzz::ShowValue(r.lng) +
                                       " decoded " + fuzz::ShowValue(p.lat) + "," + fuzz::ShowValue(p.lng));
    }
    CheckPreferred(at + " altitude", p.altitude, r.altitude, r.legacy_altitude, enh, U16(5, 500), U32(5, 500));
    CheckPreferred(at + " speed", p.speed, r.speed, r.legacy_speed, enh, U16(1000), U32(1000));
    CheckValue(at + " distance", p.distance, r.distance, U32(100));
    CheckValue(at + " heartrate", p.heartrate, r.heartrate, kU8);
    CheckValue(at + " cadence", p.cadence, r.cadence, kU8);
    CheckValue(at + " watts", p.watts, r.power, kU16);
    CheckValue(at + " temp", p.temp, r.temperature, kS8);
    bool paused = false;
    for (const auto& [stop, resume] : a.pauses) paused |= r.timestamp > stop && r.timestamp < resume;
    FUZZ_CHECK(p.moving == std::optional<bool>(!paused),
               at + (paused ? " in a pause, not marked so" : " moving, marked paused"));
  }

  FUZZ_CHECK(t.laps.size() == a.laps.size(), std::to_string(a.laps.size()) + " laps, " + std::to_string(t.laps.size()));
  for (size_t k = 0; k < g.lap_order.size(); ++k) {
    const fit::Lap& l = a.laps[g.lap_order[k]];
    const TrackLap& d = t.laps[k];
    const std::string at = "lap " + std::to_string(k);
    FUZZ_CHECK(d.start_time == static_cast<double>(l.start), at + " start");
    CheckValue(at + " elapsed", d.elapsed_time, l.elapsed, U32(1000));
    CheckValue(at + " timer", d.moving_time, l.timer, U32(1000));
    CheckValue(at + " distance", d.distance, l.distance, U32(100));
    CheckValue(at + " max_speed", d.max_speed, l.max_speed, U32(1000));  // enhanced_max_speed preferred
    CheckValue(at + " avg hr", d.average_heartrate, l.avg_heartrate, kU8);
    CheckValue(at + " max hr", d.max_heartrate, l.max_heartrate, kU8);
    CheckValue(at + " cadence", d.average_cadence, l.avg_cadence, kU8);
    CheckValue(at + " power", d.average_watts, l.avg_power, kU16);
    CheckValue(at + " calories", d.calories, l.calories, kU16);
    CheckValue(at + " ascent", d.total_ascent, l.ascent, kU16);
  }

  const TrackSummary& s = t.summary;
  const int64_t end = a.records.empty() ? a.start : a.records.back().timestamp;
  if (a.utc_offset) {
    FUZZ_CHECK(s.utc_offset == static_cast<double>(*a.utc_offset), "utc_offset " + fuzz::ShowValue(s.utc_offset));
  } else {
    FUZZ_CHECK(!s.utc_offset, "utc_offset " + fuzz::ShowValue(s.utc_offset));
  }
  const int manufacturer = a.manufacturer && *a.manufacturer != 0xFFFF ? *a.manufacturer : -1;
  const int product = a.product && *a.product != 0xFFFF ? *a.product : -1;
  FUZZ_CHECK(s.device_name == (manufacturer < 0 ? "" : FitDeviceName(manufacturer, product)), s.device_name);
  if (!a.session) {
    FUZZ_CHECK(s.sport_type.empty() && !s.start_time && !s.distance && !s.elapsed_time, "a summary without a session");
    return;
  }
  const fit::Session& w = *a.session;
  const std::string want_sport =
      a.sport == 0xFF ? "" : SportTypeFromFit(a.sport, a.sub_sport == 0xFF ? 0 : a.sub_sport);
  FUZZ_CHECK(s.sport_type == want_sport, s.sport_type + " want " + want_sport);
  const int64_t start = w.start.value_or(a.records.empty() ? a.start : a.records.front().timestamp);
  FUZZ_CHECK(s.start_time == static_cast<double>(start), "session start " + fuzz::ShowValue(s.start_time));
  (void)end;
  CheckValue("session elapsed", s.elapsed_time, w.elapsed, U32(1000));
  CheckValue("session timer", s.moving_time, w.timer, U32(1000));
  CheckValue("session distance", s.distance, w.distance, U32(100));
  CheckValue("session calories", s.calories, w.calories, kU16);
  CheckValue("session avg speed", s.average_speed, w.avg_speed, U32(1000));
  CheckValue("session max speed", s.max_speed, w.max_speed, U32(1000));
  CheckValue("session avg hr", s.average_heartrate, w.avg_heartrate, kU8);
  CheckValue("session max hr", s.max_heartrate, w.max_heartrate, kU8);
  CheckValue("session cadence", s.average_cadence, w.avg_cadence, kU8);
  CheckValue("session avg power", s.average_watts, w.avg_power, kU16);
  CheckValue("session max power", s.max_watts, w.max_power, kU16);
  CheckValue("session ascent", s.total_ascent, w.ascent, kU16);
  // total_work is whole joules; the summary holds kJ.
  const std::optional<double> work = Raw(w.total_work, U32(1));
  FUZZ_CHECK(work ? s.kilojoules && std::fabs(*s.kilojoules * 1000 - *work) <= 1e-6 * *work + 1e-9 : !s.kilojoules,
             "kilojoules " + fuzz::ShowValue(s.kilojoules) + " for " + fuzz::ShowValue(w.total_work) + " J");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      (void)DecodeChecked(rest);
      break;
    case 1: {
      const std::string fixed = WithFixedCrcs(std::string(rest));
      Result<Track> r = DecodeChecked(fixed);
      FUZZ_CHECK(r.ok() || r.status().message().find("CRC mismatch") == std::string::npos,
                 "CRCs set by the reference CRC refused: " + r.status().message());
      break;
    }
    default: {
      FuzzedDataProvider in(data + 1, size - 1);
      CheckRoundTrip(Generate(in));
      break;
    }
  }
  return 0;
}
