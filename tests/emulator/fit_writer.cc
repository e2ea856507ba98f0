// fit_writer.cc - the FIT writer behind fit_writer.h (test fixture).
//
// Layout of what Write() emits, per FIT file (two when chained):
//   header | file_id | [unknown msg] | [developer_data_id, field_description]
//   | device_info | events, records, laps merged by time | [session, activity]
//   | CRC
// Each message type gets its own local message type, defined once per file
// right before its first use, as FIT devices do.
#include "fit_writer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace emu::fit {
namespace {

// FIT base type bytes (bit 7 = "endian ability", set for multi-byte types).
constexpr uint8_t kEnum = 0x00, kSint8 = 0x01, kUint8 = 0x02, kUint16 = 0x84, kSint32 = 0x85, kUint32 = 0x86,
                  kString = 0x07, kUint32z = 0x8C, kByte = 0x0D;

// Global message numbers.
constexpr uint16_t kMsgFileId = 0, kMsgSession = 18, kMsgLap = 19, kMsgRecord = 20, kMsgEvent = 21, kMsgDeviceInfo = 23,
                   kMsgActivity = 34, kMsgFieldDescription = 206, kMsgDeveloperDataId = 207,
                   kMsgUnknown = 0xFF42;  // manufacturer-specific range: no decoder knows it

// Local message types; compressed-timestamp headers can only address 0..3,
// so the timestamp-less record definition takes 0.
enum Local : uint8_t {
  kLocalRecordCompressed = 0,
  kLocalRecord = 1,
  kLocalEvent = 2,
  kLocalLap = 3,
  kLocalFileId = 4,
  kLocalDeviceInfo = 5,
  kLocalSession = 6,
  kLocalActivity = 7,
  kLocalDeveloperDataId = 8,
  kLocalFieldDescription = 9,
  kLocalUnknown = 10,
};

constexpr uint8_t kEventTimer = 0, kEventTypeStart = 0, kEventTypeStopAll = 4;

struct FieldDef {
  uint8_t num;
  uint8_t size;
  uint8_t base;
};

// A raw field value: the bytes of an unsigned integer of the field's size
// (signed values are stored two's complement), or a string.
struct Value {
  uint64_t bits = 0;
  std::string text;  // for kString / kByte arrays
};

bool SentinelFor(uint8_t base, uint64_t* out) {
  switch (base) {
    case kEnum:
    case kUint8:
    case kByte:
      *out = 0xFF;
      return true;
    case kSint8:
      *out = 0x7F;
      return true;
    case kUint16:
      *out = 0xFFFF;
      return true;
    case kSint32:
      *out = 0x7FFFFFFF;
      return true;
    case kUint32:
      *out = 0xFFFFFFFF;
      return true;
    case kUint32z:
      *out = 0;
      return true;
    default:
      return false;
  }
}

Value Invalid(uint8_t base) {
  Value v;
  SentinelFor(base, &v.bits);
  return v;
}

// `value * scale + offset` rounded into an unsigned field whose invalid
// sentinel is `max_bits`; out-of-range or absent values become the sentinel.
Value Unsigned(std::optional<double> value, double scale, double offset, uint64_t max_bits) {
  Value v;
  v.bits = max_bits;
  if (!value || !std::isfinite(*value)) return v;
  const double raw = std::round((*value + offset) * scale);
  if (raw < 0 || raw >= static_cast<double>(max_bits)) return v;
  v.bits = static_cast<uint64_t>(raw);
  return v;
}

Value U8(std::optional<double> x, double scale = 1) { return Unsigned(x, scale, 0, 0xFF); }
Value U16(std::optional<double> x, double scale = 1, double offset = 0) { return Unsigned(x, scale, offset, 0xFFFF); }
Value U32(std::optional<double> x, double scale = 1, double offset = 0) {
  return Unsigned(x, scale, offset, 0xFFFFFFFF);
}
Value Enum(uint8_t x) {
  Value v;
  v.bits = x;
  return v;
}
Value Time(int64_t unix_seconds) {
  Value v;
  const int64_t fit = unix_seconds - kFitEpochUnix;
  v.bits = (fit < 0 || fit >= 0xFFFFFFFF) ? 0xFFFFFFFF : static_cast<uint64_t>(fit);
  return v;
}
Value S8(std::optional<double> x) {
  Value v;
  v.bits = 0x7F;
  if (!x || !std::isfinite(*x)) return v;
  const double raw = std::round(*x);
  if (raw < -128 || raw > 126) return v;
  v.bits = static_cast<uint8_t>(static_cast<int8_t>(raw));
  return v;
}
Value Semicircles(std::optional<double> degrees) {
  Value v;
  v.bits = 0x7FFFFFFF;
  if (!degrees || !std::isfinite(*degrees)) return v;
  const double raw = std::round(*degrees * (2147483648.0 / 180.0));
  if (raw < -2147483648.0 || raw >= 2147483647.0) return v;
  v.bits = static_cast<uint32_t>(static_cast<int32_t>(raw));
  return v;
}

// One FIT file being written: header placeholder, messages, CRC.
class FileEncoder {
 public:
  FileEncoder(bool big_endian, int header_size, bool zero_header_crc, uint8_t protocol)
      : big_endian_(big_endian),
        header_size_(header_size == 12 ? 12 : 14),
        zero_header_crc_(zero_header_crc),
        protocol_(protocol) {
    out_.assign(static_cast<size_t>(header_size_), '\0');
  }

  void Define(uint8_t local, uint16_t global, std::vector<FieldDef> fields,
              std::vector<FieldDef> developer_fields = {}) {
    const bool has_dev = !developer_fields.empty();
    Byte(static_cast<uint8_t>(0x40 | (has_dev ? 0x20 : 0) | (local & 0x0F)));
    Byte(0);  // reserved
    Byte(big_endian_ ? 1 : 0);
    Int(global, 2);
    Byte(static_cast<uint8_t>(fields.size()));
    for (const FieldDef& f : fields) {
      Byte(f.num);
      Byte(f.size);
      Byte(f.base);
    }
    if (has_dev) {
      Byte(static_cast<uint8_t>(developer_fields.size()));
      // For developer fields the third byte is the developer_data_index.
      for (const FieldDef& f : developer_fields) {
        Byte(f.num);
        Byte(f.size);
        Byte(f.base);
      }
    }
    defs_[local] = std::move(fields);
    dev_defs_[local] = std::move(developer_fields);
  }

  // A data message; `values` in definition order, developer values after.
  void Data(uint8_t local, const std::vector<Value>& values) {
    Byte(local & 0x0F);
    Values(local, values);
  }
  void CompressedData(uint8_t local, uint8_t time_offset, const std::vector<Value>& values) {
    Byte(static_cast<uint8_t>(0x80 | ((local & 0x03) << 5) | (time_offset & 0x1F)));
    Values(local, values);
  }

  std::string Finish() {
    const uint32_t data_size = static_cast<uint32_t>(out_.size()) - static_cast<uint32_t>(header_size_);
    uint8_t* h = reinterpret_cast<uint8_t*>(out_.data());
    h[0] = static_cast<uint8_t>(header_size_);
    h[1] = protocol_;
    const uint16_t profile = 2140;  // profile 21.40
    h[2] = profile & 0xFF;
    h[3] = profile >> 8;
    for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<uint8_t>(data_size >> (8 * i));
    std::memcpy(h + 8, ".FIT", 4);
    if (header_size_ == 14) {
      const uint16_t crc = zero_header_crc_ ? 0 : Crc16(h, 12);
      h[12] = crc & 0xFF;
      h[13] = crc >> 8;
    }
    const uint16_t crc = Crc16(out_.data(), out_.size());
    out_.push_back(static_cast<char>(crc & 0xFF));
    out_.push_back(static_cast<char>(crc >> 8));
    return std::move(out_);
  }

 private:
  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Int(uint64_t bits, int size) {
    for (int i = 0; i < size; ++i) {
      const int shift = 8 * (big_endian_ ? size - 1 - i : i);
      Byte(static_cast<uint8_t>(bits >> shift));
    }
  }
  void Values(uint8_t local, const std::vector<Value>& values) {
    size_t i = 0;
    auto put = [&](const FieldDef& f) {
      const Value& v = values.at(i++);
      if (f.base == kString || f.base == kByte) {
        std::string bytes = v.text;
        bytes.resize(f.size, f.base == kString ? '\0' : '\xFF');
        out_ += bytes;
      } else {
        Int(v.bits, f.size);
      }
    };
    for (const FieldDef& f : defs_[local]) put(f);
    for (const FieldDef& f : dev_defs_[local]) {
      const Value& v = values.at(i++);
      Int(v.bits, f.size);  // developer fields here are integers
    }
  }

  bool big_endian_;
  int header_size_;
  bool zero_header_crc_;
  uint8_t protocol_;
  std::string out_;
  std::array<std::vector<FieldDef>, 16> defs_;
  std::array<std::vector<FieldDef>, 16> dev_defs_;
};

// Which record fields the activity uses (a field no record has is left out
// of the definition, as devices do).
struct RecordLayout {
  bool lat = false, alt = false, dist = false, speed = false, hr = false, cad = false, power = false, temp = false;
};

RecordLayout LayoutOf(const std::vector<Record>& records) {
  RecordLayout l;
  for (const Record& r : records) {
    l.lat |= r.lat.has_value() || r.lng.has_value();
    l.alt |= r.altitude.has_value() || r.legacy_altitude.has_value();
    l.dist |= r.distance.has_value();
    l.speed |= r.speed.has_value() || r.legacy_speed.has_value();
    l.hr |= r.heartrate.has_value();
    l.cad |= r.cadence.has_value();
    l.power |= r.power.has_value();
    l.temp |= r.temperature.has_value();
  }
  return l;
}

// An item of the time-ordered stream; `rank` orders items at the same
// second: a timer start, then the record, then a timer stop, then a lap.
struct Item {
  int64_t time;
  int rank;
  size_t index;  // into records / laps / events
};

struct TimerEvent {
  int64_t time;
  uint8_t type;
};

class ActivityWriter {
 public:
  explicit ActivityWriter(const Activity& a) : a_(a), layout_(LayoutOf(a.records)) {}

  std::string Write() {
    std::vector<TimerEvent> events;
    events.push_back({a_.start, kEventTypeStart});
    for (const auto& [stop, start] : a_.pauses) {
      events.push_back({stop, kEventTypeStopAll});
      events.push_back({start, kEventTypeStart});
    }
    const int64_t end = a_.records.empty() ? a_.start : std::max(a_.start, a_.records.back().timestamp);
    events.push_back({end, kEventTypeStopAll});

    std::vector<Item> items;
    for (size_t i = 0; i < events.size(); ++i)
      items.push_back({events[i].time, events[i].type == kEventTypeStart ? 0 : 2, i});
    for (size_t i = 0; i < a_.records.size(); ++i) items.push_back({a_.records[i].timestamp, 1, i});
    for (size_t i = 0; i < a_.laps.size(); ++i)
      items.push_back({a_.laps[i].start + static_cast<int64_t>(std::llround(a_.laps[i].elapsed)), 3, i});
    std::stable_sort(items.begin(), items.end(),
                     [](const Item& x, const Item& y) { return x.time != y.time ? x.time < y.time : x.rank < y.rank; });

    // Chained: the first file ends right after the middle record.
    size_t split = items.size();
    if (a_.chained && a_.records.size() >= 2) {
      const size_t middle = a_.records.size() / 2;
      for (size_t i = 0; i < items.size(); ++i)
        if (items[i].rank == 1 && items[i].index == middle - 1) {
          split = i + 1;
          break;
        }
    }

    std::string out;
    if (split < items.size()) {
      out += WriteFile(events, items, 0, split, false);
      out += WriteFile(events, items, split, items.size(), true);
    } else {
      out += WriteFile(events, items, 0, items.size(), true);
    }
    return out;
  }

 private:
  std::string WriteFile(const std::vector<TimerEvent>& events, const std::vector<Item>& items, size_t from, size_t to,
                        bool last) {
    FileEncoder e(a_.big_endian, a_.header_size, a_.zero_header_crc, a_.developer_fields ? 0x20 : 0x10);
    defined_ = {};
    last_time_.reset();

    WriteFileId(e);
    if (a_.unknown_messages) {
      e.Define(kLocalUnknown, kMsgUnknown, {{253, 4, kUint32}, {0, 2, kUint16}, {7, 5, kByte}});
      Value blob;
      blob.text = "\x01\x02\x03\x04\x05";
      e.Data(kLocalUnknown, {Time(a_.start), U16(1234), blob});
      last_time_ = a_.start;
    }
    if (a_.developer_fields) WriteDeveloperHeader(e);
    WriteDeviceInfo(e);

    for (size_t i = from; i < to; ++i) {
      const Item& it = items[i];
      switch (it.rank) {
        case 0:
        case 2:
          WriteEvent(e, events[it.index]);
          break;
        case 1:
          WriteRecord(e, a_.records[it.index], it.index);
          break;
        default:
          WriteLap(e, a_.laps[it.index]);
          break;
      }
    }
    if (last) {
      const int64_t end = a_.records.empty() ? a_.start : a_.records.back().timestamp;
      if (a_.session) WriteSession(e, *a_.session, end);
      WriteActivity(e, end);
    }
    return e.Finish();
  }

  void DefineOnce(FileEncoder& e, uint8_t local, uint16_t global, std::vector<FieldDef> fields,
                  std::vector<FieldDef> dev = {}) {
    if (defined_[local]) return;
    defined_[local] = true;
    e.Define(local, global, std::move(fields), std::move(dev));
  }

  void WriteFileId(FileEncoder& e) {
    DefineOnce(e, kLocalFileId, kMsgFileId,
               {{0, 1, kEnum}, {1, 2, kUint16}, {2, 2, kUint16}, {3, 4, kUint32z}, {4, 4, kUint32}});
    Value serial = Invalid(kUint32z);
    if (a_.serial_number) serial.bits = *a_.serial_number;
    e.Data(kLocalFileId, {Enum(4 /* activity */), OptU16(a_.manufacturer), OptU16(a_.product), serial, Time(a_.start)});
  }

  void WriteDeveloperHeader(FileEncoder& e) {
    DefineOnce(e, kLocalDeveloperDataId, kMsgDeveloperDataId, {{1, 16, kByte}, {3, 1, kUint8}});
    Value app;
    app.text = std::string("stravafs-fixture", 16);
    e.Data(kLocalDeveloperDataId, {app, Enum(0)});
    DefineOnce(e, kLocalFieldDescription, kMsgFieldDescription,
               {{0, 1, kUint8}, {1, 1, kUint8}, {2, 1, kUint8}, {3, 16, kString}, {8, 8, kString}});
    Value name, units;
    name.text = "fixture_index";
    units.text = "count";
    e.Data(kLocalFieldDescription, {Enum(0), Enum(0), Enum(kUint16), name, units});
  }

  void WriteDeviceInfo(FileEncoder& e) {
    DefineOnce(e, kLocalDeviceInfo, kMsgDeviceInfo,
               {{253, 4, kUint32}, {0, 1, kUint8}, {2, 2, kUint16}, {3, 4, kUint32z}, {4, 2, kUint16}});
    Value serial = Invalid(kUint32z);
    if (a_.serial_number) serial.bits = *a_.serial_number;
    e.Data(kLocalDeviceInfo,
           {Time(a_.start), Enum(0 /* creator */), OptU16(a_.manufacturer), serial, OptU16(a_.product)});
    last_time_ = a_.start;
  }

  void WriteEvent(FileEncoder& e, const TimerEvent& ev) {
    DefineOnce(e, kLocalEvent, kMsgEvent, {{253, 4, kUint32}, {0, 1, kEnum}, {1, 1, kEnum}});
    e.Data(kLocalEvent, {Time(ev.time), Enum(kEventTimer), Enum(ev.type)});
    last_time_ = ev.time;
  }

  std::vector<FieldDef> RecordFields(bool with_timestamp) const {
    std::vector<FieldDef> f;
    if (with_timestamp) f.push_back({253, 4, kUint32});
    const bool legacy = a_.enhanced != Enhanced::kEnhanced;
    const bool enhanced = a_.enhanced != Enhanced::kLegacy;
    if (layout_.lat) {
      f.push_back({0, 4, kSint32});
      f.push_back({1, 4, kSint32});
    }
    if (layout_.alt && legacy) f.push_back({2, 2, kUint16});
    if (layout_.hr) f.push_back({3, 1, kUint8});
    if (layout_.cad) f.push_back({4, 1, kUint8});
    if (layout_.dist) f.push_back({5, 4, kUint32});
    if (layout_.speed && legacy) f.push_back({6, 2, kUint16});
    if (layout_.power) f.push_back({7, 2, kUint16});
    if (layout_.temp) f.push_back({13, 1, kSint8});
    if (a_.unknown_messages) f.push_back({200, 3, kByte});
    if (layout_.speed && enhanced) f.push_back({73, 4, kUint32});
    if (layout_.alt && enhanced) f.push_back({78, 4, kUint32});
    return f;
  }

  void WriteRecord(FileEncoder& e, const Record& r, size_t index) {
    const bool compressed =
        a_.compressed_timestamps && last_time_ && r.timestamp >= *last_time_ && r.timestamp - *last_time_ < 32;
    const uint8_t local = compressed ? kLocalRecordCompressed : kLocalRecord;
    std::vector<FieldDef> dev;
    if (a_.developer_fields) dev.push_back({0, 2, 0 /* developer_data_index */});
    DefineOnce(e, local, kMsgRecord, RecordFields(!compressed), dev);

    const bool legacy = a_.enhanced != Enhanced::kEnhanced;
    const bool enhanced = a_.enhanced != Enhanced::kLegacy;
    const bool override_legacy = a_.enhanced == Enhanced::kBoth;
    std::vector<Value> v;
    if (!compressed) v.push_back(Time(r.timestamp));
    if (layout_.lat) {
      v.push_back(Semicircles(r.lat));
      v.push_back(Semicircles(r.lng));
    }
    if (layout_.alt && legacy)
      v.push_back(U16(override_legacy && r.legacy_altitude ? r.legacy_altitude : r.altitude, 5, 500));
    if (layout_.hr) v.push_back(U8(r.heartrate));
    if (layout_.cad) v.push_back(U8(r.cadence));
    if (layout_.dist) v.push_back(U32(r.distance, 100));
    if (layout_.speed && legacy) v.push_back(U16(override_legacy && r.legacy_speed ? r.legacy_speed : r.speed, 1000));
    if (layout_.power) v.push_back(U16(r.power));
    if (layout_.temp) v.push_back(S8(r.temperature));
    if (a_.unknown_messages) {
      Value blob;
      blob.text = "abc";
      v.push_back(blob);
    }
    if (layout_.speed && enhanced) v.push_back(U32(r.speed, 1000));
    if (layout_.alt && enhanced) v.push_back(U32(r.altitude, 5, 500));
    if (a_.developer_fields) {
      Value d;
      d.bits = index & 0xFFFF;
      v.push_back(d);
    }

    if (compressed)
      e.CompressedData(local, static_cast<uint8_t>(r.timestamp & 0x1F), v);
    else
      e.Data(local, v);
    last_time_ = r.timestamp;
  }

  void WriteLap(FileEncoder& e, const Lap& lap) {
    DefineOnce(e, kLocalLap, kMsgLap,
               {{253, 4, kUint32},
                {2, 4, kUint32},
                {7, 4, kUint32},
                {8, 4, kUint32},
                {9, 4, kUint32},
                {11, 2, kUint16},
                {14, 2, kUint16},
                {15, 1, kUint8},
                {16, 1, kUint8},
                {17, 1, kUint8},
                {19, 2, kUint16},
                {21, 2, kUint16},
                {111, 4, kUint32}});
    const int64_t end = lap.start + static_cast<int64_t>(std::llround(lap.elapsed));
    e.Data(kLocalLap, {Time(end), Time(lap.start), U32(lap.elapsed, 1000), U32(lap.timer, 1000), U32(lap.distance, 100),
                       U16(lap.calories), U16(lap.max_speed, 1000), U8(lap.avg_heartrate), U8(lap.max_heartrate),
                       U8(lap.avg_cadence), U16(lap.avg_power), U16(lap.ascent), U32(lap.max_speed, 1000)});
    last_time_ = end;
  }

  void WriteSession(FileEncoder& e, const Session& s, int64_t end) {
    DefineOnce(e, kLocalSession, kMsgSession,
               {{253, 4, kUint32},
                {2, 4, kUint32},
                {5, 1, kEnum},
                {6, 1, kEnum},
                {7, 4, kUint32},
                {8, 4, kUint32},
                {9, 4, kUint32},
                {11, 2, kUint16},
                {14, 2, kUint16},
                {15, 2, kUint16},
                {16, 1, kUint8},
                {17, 1, kUint8},
                {18, 1, kUint8},
                {20, 2, kUint16},
                {21, 2, kUint16},
                {22, 2, kUint16},
                {48, 4, kUint32},
                {124, 4, kUint32},
                {125, 4, kUint32}});
    const int64_t start = s.start.value_or(a_.records.empty() ? a_.start : a_.records.front().timestamp);
    e.Data(kLocalSession,
           {Time(end), Time(start), Enum(a_.sport), Enum(a_.sub_sport), U32(s.elapsed, 1000), U32(s.timer, 1000),
            U32(s.distance, 100), U16(s.calories), U16(s.avg_speed, 1000), U16(s.max_speed, 1000), U8(s.avg_heartrate),
            U8(s.max_heartrate), U8(s.avg_cadence), U16(s.avg_power), U16(s.max_power), U16(s.ascent),
            U32(s.total_work), U32(s.avg_speed, 1000), U32(s.max_speed, 1000)});
    last_time_ = end;
  }

  void WriteActivity(FileEncoder& e, int64_t end) {
    DefineOnce(e, kLocalActivity, kMsgActivity,
               {{253, 4, kUint32},
                {0, 4, kUint32},
                {1, 2, kUint16},
                {2, 1, kEnum},
                {3, 1, kEnum},
                {4, 1, kEnum},
                {5, 4, kUint32}});
    std::optional<double> timer;
    if (a_.session) timer = a_.session->timer;
    Value local = Invalid(kUint32);
    if (a_.utc_offset) local = Time(end + *a_.utc_offset);
    e.Data(kLocalActivity, {Time(end), U32(timer, 1000), U16(1), Enum(0 /* manual */), Enum(26 /* activity */),
                            Enum(1 /* stop */), local});
    last_time_ = end;
  }

  static Value OptU16(std::optional<uint16_t> x) {
    Value v;
    v.bits = x ? *x : 0xFFFF;
    return v;
  }

  const Activity& a_;
  RecordLayout layout_;
  std::array<bool, 16> defined_{};
  std::optional<int64_t> last_time_;  // the reference compressed headers count from
};

}  // namespace

uint16_t Crc16(const void* data, size_t size, uint16_t crc) {
  // FIT's CRC: CRC-16/ARC, computed a nibble at a time as the FIT protocol
  // document describes it.
  static constexpr std::array<uint16_t, 16> kTable = {0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
                                                      0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400};
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) {
    uint16_t tmp = kTable[crc & 0xF];
    crc = static_cast<uint16_t>((crc >> 4) & 0x0FFF);
    crc = static_cast<uint16_t>(crc ^ tmp ^ kTable[p[i] & 0xF]);
    tmp = kTable[crc & 0xF];
    crc = static_cast<uint16_t>((crc >> 4) & 0x0FFF);
    crc = static_cast<uint16_t>(crc ^ tmp ^ kTable[(p[i] >> 4) & 0xF]);
  }
  return crc;
}

std::string Write(const Activity& activity) { return ActivityWriter(activity).Write(); }

}  // namespace emu::fit
