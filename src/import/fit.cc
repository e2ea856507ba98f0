// fit.cc - the FIT decoder behind fit.h.
//
// The decoder is a single pass over the bytes. A definition message is
// turned once into a decoding plan: the byte offset, size and base type of
// just the fields we read, each bound to a Slot; every other field (unknown
// fields, developer fields, unknown messages) is skipped by the data size
// the definition states. Decoding a data message then reads only the
// planned fields into a fixed array of doubles plus a presence bitmask, so
// there is no allocation per message or per field.
//
// FIT facts this relies on (FIT protocol and profile, 21.x):
// - file header: size (12 or 14+), protocol, profile (LE u16), data size
//   (LE u32), ".FIT", header CRC (LE u16, 0 = not computed); then the data,
//   then a LE u16 CRC over header+data. Files may be chained back to back.
// - record header: bit 7 set = compressed timestamp (local type bits 5-6,
//   time offset bits 0-4); else bit 6 = definition, bit 5 = developer data
//   present (definitions only), bits 0-3 = local type.
// - definition: reserved, architecture (0 LE, 1 BE), global number (u16 in
//   that order), field count, 3 bytes per field (number, size, base type),
//   then, with the developer flag, a count and 3 bytes per developer field.
// - timestamps: u32 seconds since 1989-12-31T00:00:00Z; field 253 of any
//   message sets the reference a compressed header's 5-bit offset rolls over.
#include "import/fit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

namespace stravafs::import {
namespace {

constexpr double kFitEpochUnix = 631065600;  // 1989-12-31T00:00:00Z
constexpr double kDegreesPerSemicircle = 180.0 / 2147483648.0;

// ---------------------------------------------------------------- CRC ----

// FIT's CRC-16 (CRC-16/ARC: reflected polynomial 0xA001, initial 0).
// Checking it is most of the work of decoding a file, so it is computed
// eight bytes at a time ("slicing-by-8"): table k maps a byte to its effect
// on the CRC after k more zero bytes, which breaks the byte-to-byte
// dependency chain of the one-table loop.
using CrcTables = std::array<std::array<uint16_t, 256>, 8>;

constexpr CrcTables MakeCrcTables() {
  CrcTables t{};
  for (unsigned i = 0; i < 256; ++i) {
    uint16_t crc = static_cast<uint16_t>(i);
    for (int bit = 0; bit < 8; ++bit) crc = static_cast<uint16_t>((crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1);
    t[0][i] = crc;
  }
  for (size_t k = 1; k < t.size(); ++k)
    for (unsigned i = 0; i < 256; ++i) t[k][i] = static_cast<uint16_t>((t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF]);
  return t;
}
constexpr CrcTables kCrc = MakeCrcTables();

uint16_t Crc16(const uint8_t* p, size_t n) {
  uint16_t crc = 0;
  for (; n >= 8; n -= 8, p += 8) {
    crc = static_cast<uint16_t>(kCrc[7][(crc ^ p[0]) & 0xFF] ^ kCrc[6][((crc >> 8) ^ p[1]) & 0xFF] ^ kCrc[5][p[2]] ^
                                kCrc[4][p[3]] ^ kCrc[3][p[4]] ^ kCrc[2][p[5]] ^ kCrc[1][p[6]] ^ kCrc[0][p[7]]);
  }
  for (; n > 0; --n, ++p) crc = static_cast<uint16_t>((crc >> 8) ^ kCrc[0][(crc ^ *p) & 0xFF]);
  return crc;
}

// --------------------------------------------------------- base types ----

struct BaseType {
  uint8_t size;
  enum Kind : uint8_t { kUnsigned, kSigned, kFloat, kString, kOpaque } kind;
  uint64_t invalid;  // the raw pattern meaning "no value"
};

// Indexed by the base type number (the low 5 bits of the base type byte).
constexpr std::array<BaseType, 17> kBaseTypes = {{
    {1, BaseType::kUnsigned, 0xFF},                // 0 enum
    {1, BaseType::kSigned, 0x7F},                  // 1 sint8
    {1, BaseType::kUnsigned, 0xFF},                // 2 uint8
    {2, BaseType::kSigned, 0x7FFF},                // 3 sint16
    {2, BaseType::kUnsigned, 0xFFFF},              // 4 uint16
    {4, BaseType::kSigned, 0x7FFFFFFF},            // 5 sint32
    {4, BaseType::kUnsigned, 0xFFFFFFFF},          // 6 uint32
    {1, BaseType::kString, 0},                     // 7 string
    {4, BaseType::kFloat, 0xFFFFFFFF},             // 8 float32
    {8, BaseType::kFloat, 0xFFFFFFFFFFFFFFFF},     // 9 float64
    {1, BaseType::kUnsigned, 0},                   // 10 uint8z
    {2, BaseType::kUnsigned, 0},                   // 11 uint16z
    {4, BaseType::kUnsigned, 0},                   // 12 uint32z
    {1, BaseType::kOpaque, 0xFF},                  // 13 byte
    {8, BaseType::kSigned, 0x7FFFFFFFFFFFFFFF},    // 14 sint64
    {8, BaseType::kUnsigned, 0xFFFFFFFFFFFFFFFF},  // 15 uint64
    {8, BaseType::kUnsigned, 0},                   // 16 uint64z
}};

// ------------------------------------------------------------- slots ----

// Global message numbers read.
enum GlobalMessage : uint16_t {
  kFileId = 0,
  kSport = 12,
  kSession = 18,
  kLap = 19,
  kRecord = 20,
  kEvent = 21,
  kDeviceInfo = 23,
  kActivity = 34,
};

// Every field value the decoder keeps, across all messages it reads; a
// message's values live in one array indexed by Slot (fewer than 64, so a
// uint64 says which are present).
enum Slot : uint8_t {
  kTimestamp,  // field 253 of any message
  kFileManufacturer,
  kFileProduct,
  kFileProductName,
  kRecLat,
  kRecLng,
  kRecAltitude,
  kRecHeartRate,
  kRecCadence,
  kRecDistance,
  kRecSpeed,
  kRecPower,
  kRecTemperature,
  kRecEnhancedSpeed,
  kRecEnhancedAltitude,
  kLapStart,
  kLapElapsed,
  kLapTimer,
  kLapDistance,
  kLapCalories,
  kLapMaxSpeed,
  kLapAvgHeartRate,
  kLapMaxHeartRate,
  kLapAvgCadence,
  kLapAvgPower,
  kLapAscent,
  kLapEnhancedMaxSpeed,
  kSesStart,
  kSesSport,
  kSesSubSport,
  kSesElapsed,
  kSesTimer,
  kSesDistance,
  kSesCalories,
  kSesAvgSpeed,
  kSesMaxSpeed,
  kSesAvgHeartRate,
  kSesMaxHeartRate,
  kSesAvgCadence,
  kSesAvgPower,
  kSesMaxPower,
  kSesAscent,
  kSesWork,
  kSesEnhancedAvgSpeed,
  kSesEnhancedMaxSpeed,
  kActLocalTimestamp,
  kEvEvent,
  kEvEventType,
  kDevIndex,
  kDevManufacturer,
  kDevProduct,
  kDevProductName,
  kSportSport,
  kSportSubSport,
  kSlotCount,
  kNoSlot = 0xFF,
};
static_assert(kSlotCount <= 64, "slots must fit the presence bitmask");

// The slot a (message, field) pair feeds, from the FIT profile.
Slot SlotFor(uint16_t global, uint8_t field) {
  if (field == 253) return kTimestamp;
  switch (global) {
    case kFileId:
      switch (field) {
        case 1:
          return kFileManufacturer;
        case 2:
          return kFileProduct;
        case 8:
          return kFileProductName;
      }
      break;
    case kRecord:
      switch (field) {
        case 0:
          return kRecLat;
        case 1:
          return kRecLng;
        case 2:
          return kRecAltitude;
        case 3:
          return kRecHeartRate;
        case 4:
          return kRecCadence;
        case 5:
          return kRecDistance;
        case 6:
          return kRecSpeed;
        case 7:
          return kRecPower;
        case 13:
          return kRecTemperature;
        case 73:
          return kRecEnhancedSpeed;
        case 78:
          return kRecEnhancedAltitude;
      }
      break;
    case kLap:
      switch (field) {
        case 2:
          return kLapStart;
        case 7:
          return kLapElapsed;
        case 8:
          return kLapTimer;
        case 9:
          return kLapDistance;
        case 11:
          return kLapCalories;
        case 14:
          return kLapMaxSpeed;
        case 15:
          return kLapAvgHeartRate;
        case 16:
          return kLapMaxHeartRate;
        case 17:
          return kLapAvgCadence;
        case 19:
          return kLapAvgPower;
        case 21:
          return kLapAscent;
        case 111:
          return kLapEnhancedMaxSpeed;
      }
      break;
    case kSession:
      switch (field) {
        case 2:
          return kSesStart;
        case 5:
          return kSesSport;
        case 6:
          return kSesSubSport;
        case 7:
          return kSesElapsed;
        case 8:
          return kSesTimer;
        case 9:
          return kSesDistance;
        case 11:
          return kSesCalories;
        case 14:
          return kSesAvgSpeed;
        case 15:
          return kSesMaxSpeed;
        case 16:
          return kSesAvgHeartRate;
        case 17:
          return kSesMaxHeartRate;
        case 18:
          return kSesAvgCadence;
        case 20:
          return kSesAvgPower;
        case 21:
          return kSesMaxPower;
        case 22:
          return kSesAscent;
        case 48:
          return kSesWork;
        case 124:
          return kSesEnhancedAvgSpeed;
        case 125:
          return kSesEnhancedMaxSpeed;
      }
      break;
    case kActivity:
      if (field == 5) return kActLocalTimestamp;
      break;
    case kSport:
      if (field == 0) return kSportSport;
      if (field == 1) return kSportSubSport;
      break;
    case kEvent:
      if (field == 0) return kEvEvent;
      if (field == 1) return kEvEventType;
      break;
    case kDeviceInfo:
      switch (field) {
        case 0:
          return kDevIndex;
        case 2:
          return kDevManufacturer;
        case 4:
          return kDevProduct;
        case 27:
          return kDevProductName;
      }
      break;
  }
  return kNoSlot;
}

bool IsStringSlot(Slot s) { return s == kFileProductName || s == kDevProductName; }

// ----------------------------------------------------------- decoding ----

struct PlannedField {
  uint32_t offset;  // from the start of the message's data
  uint8_t size;     // bytes read: the base type's size (first element of an array), or the string's
  uint8_t base;     // index into kBaseTypes
  Slot slot;
};

struct Definition {
  bool defined = false;
  bool big_endian = false;
  uint16_t global = 0;
  uint32_t data_size = 0;  // all fields, developer fields included
  std::vector<PlannedField> fields;
};

// One decoded data message: the values of its planned fields.
struct Values {
  uint64_t present = 0;
  std::array<double, kSlotCount> number{};
  std::array<std::string_view, kSlotCount> text{};

  bool has(Slot s) const { return (present >> s) & 1; }
  std::optional<double> get(Slot s) const { return has(s) ? std::optional<double>(number[s]) : std::nullopt; }
  // The enhanced (32-bit) field when present, else the legacy one.
  std::optional<double> prefer(Slot enhanced, Slot legacy) const { return has(enhanced) ? get(enhanced) : get(legacy); }
};

std::optional<double> Scaled(std::optional<double> raw, double scale, double offset = 0) {
  if (!raw) return std::nullopt;
  return *raw / scale - offset;
}

// A FIT enum or count as an int; -1 for none or a value no int holds.
int ToInt(std::optional<double> x) {
  if (!x || !(*x >= -2147483648.0 && *x <= 2147483647.0)) return -1;
  return static_cast<int>(*x);
}

Status Error(std::string message) { return Status::Error(ErrorKind::kGeneric, "FIT: " + std::move(message)); }

std::string Hex16(unsigned v) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s = "0x0000";
  for (int i = 0; i < 4; ++i) s[5 - i] = kDigits[(v >> (4 * i)) & 0xF];
  return s;
}

uint64_t ReadUnsigned(const uint8_t* p, unsigned size, bool big_endian) {
  uint64_t v = 0;
  if (big_endian) {
    for (unsigned i = 0; i < size; ++i) v = (v << 8) | p[i];
  } else {
    for (unsigned i = size; i-- > 0;) v = (v << 8) | p[i];
  }
  return v;
}

// The value of one planned numeric field, or nullopt for the invalid sentinel.
std::optional<double> ReadNumber(const uint8_t* p, const PlannedField& f, bool big_endian) {
  const BaseType& bt = kBaseTypes[f.base];
  const uint64_t raw = ReadUnsigned(p, f.size, big_endian);
  if (raw == bt.invalid) return std::nullopt;
  switch (bt.kind) {
    case BaseType::kUnsigned:
      return static_cast<double>(raw);
    case BaseType::kSigned: {
      const unsigned shift = 64 - 8 * f.size;
      // Sign-extend through the top bits; the shift back is arithmetic.
      return static_cast<double>(static_cast<int64_t>(raw << shift) >> shift);
    }
    case BaseType::kFloat: {
      double d;
      if (f.size == 4) {
        float x;
        const uint32_t bits = static_cast<uint32_t>(raw);
        std::memcpy(&x, &bits, 4);
        d = x;
      } else {
        std::memcpy(&d, &raw, 8);
      }
      if (!std::isfinite(d)) return std::nullopt;
      return d;
    }
    default:
      return std::nullopt;
  }
}

// Accumulates the session messages: one session is the summary as is; a
// multisport file's sessions add up (sums, maxima, timer-weighted averages).
struct SessionTotals {
  int count = 0;
  std::optional<int> sport, sub_sport;
  TrackSummary s;
  std::optional<double> avg_weight;  // timer time behind the averages so far
};

std::optional<double> Sum(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return *a + *b;
}
std::optional<double> Max(std::optional<double> a, std::optional<double> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : b_(reinterpret_cast<const uint8_t*>(bytes.data())), n_(bytes.size()) {}

  Result<Track> Run() {
    if (n_ == 0) return Error("empty file");
    size_t pos = 0;
    while (pos < n_) {
      Status st = DecodeFile(pos, &pos);
      if (!st.ok()) return st;
    }
    return Finish();
  }

 private:
  // One header+data+CRC block starting at `pos`; `*next` is where the
  // following chained file would start.
  Status DecodeFile(size_t pos, size_t* next) {
    const size_t left = n_ - pos;
    if (left < 12) {
      if (pos == 0) return Error("not a FIT file: only " + std::to_string(n_) + " bytes");
      return Error("truncated file header at byte " + std::to_string(pos));
    }
    const uint8_t* h = b_ + pos;
    if (std::memcmp(h + 8, ".FIT", 4) != 0) {
      if (pos == 0) return Error("not a FIT file (no \".FIT\" signature)");
      return Error("unexpected data at byte " + std::to_string(pos) +
                   " after the end of the FIT file (no \".FIT\" signature)");
    }
    const size_t header_size = h[0];
    if (header_size < 12) {
      return Error("bad header size " + std::to_string(header_size) + " at byte " + std::to_string(pos));
    }
    if (header_size > left) return Error("truncated file header at byte " + std::to_string(pos));
    if (header_size >= 14) {
      const uint16_t stored = static_cast<uint16_t>(h[12] | (h[13] << 8));
      if (stored != 0) {
        const uint16_t computed = Crc16(h, 12);
        if (stored != computed) {
          return Error("header CRC mismatch at byte " + std::to_string(pos + 12) + ": expected " + Hex16(stored) +
                       ", computed " + Hex16(computed));
        }
      }
    }
    const uint64_t data_size = ReadUnsigned(h + 4, 4, false);
    const size_t data_start = pos + header_size;
    const size_t after_header = n_ - data_start;
    if (data_size > after_header || after_header - data_size < 2) {
      return Error("truncated file: the header at byte " + std::to_string(pos) + " announces " +
                   std::to_string(data_size) + " bytes of data and a CRC, " + std::to_string(after_header) +
                   " bytes follow");
    }
    const size_t data_end = data_start + static_cast<size_t>(data_size);
    const uint16_t stored = static_cast<uint16_t>(b_[data_end] | (b_[data_end + 1] << 8));
    const uint16_t computed = Crc16(h, data_end - pos);
    if (stored != computed) {
      return Error("file CRC mismatch at byte " + std::to_string(data_end) + ": expected " + Hex16(stored) +
                   ", computed " + Hex16(computed));
    }

    // Local message types and the timestamp reference belong to one file.
    for (Definition& d : defs_) d.defined = false;
    last_time_.reset();
    reserved_points_ = false;
    Status st = DecodeMessages(data_start, data_end);
    if (!st.ok()) return st;
    *next = data_end + 2;
    return Status::Ok();
  }

  Status DecodeMessages(size_t p, size_t end) {
    while (p < end) {
      const size_t at = p;
      const uint8_t header = b_[p++];
      int local;
      std::optional<double> compressed_time;
      if (header & 0x80) {
        local = (header >> 5) & 0x03;
        if (last_time_) {
          // The 5-bit offset counts on from the last full timestamp and
          // wraps every 32 s.
          const uint32_t offset = header & 0x1F;
          const uint32_t last = *last_time_;
          *last_time_ = last + ((offset - last) & 0x1F);
          compressed_time = *last_time_;
        }
      } else if (header & 0x40) {
        Status st = ReadDefinition(header, at, &p, end);
        if (!st.ok()) return st;
        continue;
      } else {
        local = header & 0x0F;
      }
      const Definition& def = defs_[static_cast<size_t>(local)];
      if (!def.defined) {
        return Error("data message for undefined local message type " + std::to_string(local) + " at byte " +
                     std::to_string(at));
      }
      if (end - p < def.data_size) return Error("truncated record at byte " + std::to_string(at));
      ReadValues(def, b_ + p);
      p += def.data_size;
      if (values_.has(kTimestamp)) {
        const double t = values_.number[kTimestamp];
        if (t >= 0 && t < 4294967295.0) {
          last_time_ = static_cast<uint32_t>(t);
        } else {
          values_.present &= ~(uint64_t{1} << kTimestamp);  // not a FIT time
        }
      }
      if (!values_.has(kTimestamp) && compressed_time) {
        values_.number[kTimestamp] = *compressed_time;
        values_.present |= uint64_t{1} << kTimestamp;
      }
      Handle(def.global, (end - p) / (def.data_size + 1));
    }
    return Status::Ok();
  }

  Status ReadDefinition(uint8_t header, size_t at, size_t* pos, size_t end) {
    size_t p = *pos;
    auto truncated = [&] { return Error("truncated definition at byte " + std::to_string(at)); };
    if (end - p < 5) return truncated();
    const uint8_t architecture = b_[p + 1];
    if (architecture > 1) {
      return Error("bad architecture " + std::to_string(architecture) + " in the definition at byte " +
                   std::to_string(at));
    }
    Definition& def = defs_[header & 0x0F];
    def.defined = false;
    def.big_endian = architecture == 1;
    def.global = static_cast<uint16_t>(ReadUnsigned(b_ + p + 2, 2, def.big_endian));
    const size_t field_count = b_[p + 4];
    p += 5;
    if (end - p < 3 * field_count) return truncated();
    def.fields.clear();
    uint32_t offset = 0;
    for (size_t i = 0; i < field_count; ++i, p += 3) {
      const uint8_t number = b_[p], size = b_[p + 1], base_byte = b_[p + 2];
      if (size == 0) {
        return Error("field " + std::to_string(number) + " of size 0 in the definition at byte " + std::to_string(at));
      }
      Plan(def, number, size, base_byte, offset);
      offset += size;
    }
    if (header & 0x20) {  // developer fields: only their sizes matter here
      if (end - p < 1) return truncated();
      const size_t dev_count = b_[p++];
      if (end - p < 3 * dev_count) return truncated();
      for (size_t i = 0; i < dev_count; ++i, p += 3) {
        const uint8_t size = b_[p + 1];
        if (size == 0) {
          return Error("developer field " + std::to_string(b_[p]) + " of size 0 in the definition at byte " +
                       std::to_string(at));
        }
        offset += size;
      }
    }
    def.data_size = offset;
    def.defined = true;
    *pos = p;
    return Status::Ok();
  }

  // Adds the field to the plan when it feeds a slot and its size makes
  // sense for its base type; anything else is skipped by size.
  static void Plan(Definition& def, uint8_t number, uint8_t size, uint8_t base_byte, uint32_t offset) {
    const Slot slot = SlotFor(def.global, number);
    if (slot == kNoSlot) return;
    const uint8_t base = base_byte & 0x1F;
    if (base >= kBaseTypes.size()) return;
    const BaseType& bt = kBaseTypes[base];
    if (IsStringSlot(slot)) {
      if (bt.kind == BaseType::kString) def.fields.push_back({offset, size, base, slot});
      return;
    }
    if (bt.kind == BaseType::kString || bt.kind == BaseType::kOpaque) return;
    // A size that is a multiple of the base type is an array: read the first
    // element. Any other size cannot be read as this type.
    if (size % bt.size != 0) return;
    def.fields.push_back({offset, bt.size, base, slot});
  }

  void ReadValues(const Definition& def, const uint8_t* data) {
    values_.present = 0;
    for (const PlannedField& f : def.fields) {
      const uint8_t* p = data + f.offset;
      if (IsStringSlot(f.slot)) {
        const void* nul = std::memchr(p, 0, f.size);
        const size_t len = nul ? static_cast<size_t>(static_cast<const uint8_t*>(nul) - p) : f.size;
        if (len == 0) continue;
        values_.text[f.slot] = std::string_view(reinterpret_cast<const char*>(p), len);
        values_.present |= uint64_t{1} << f.slot;
        continue;
      }
      if (std::optional<double> v = ReadNumber(p, f, def.big_endian)) {
        values_.number[f.slot] = *v;
        values_.present |= uint64_t{1} << f.slot;
      }
    }
  }

  static std::optional<double> UnixTime(std::optional<double> fit_time) {
    if (!fit_time) return std::nullopt;
    return *fit_time + kFitEpochUnix;
  }

  // `more_of_this_size`: how many more messages of this one's size the data
  // could hold, a bound for reserving points.
  void Handle(uint16_t global, size_t more_of_this_size) {
    switch (global) {
      case kRecord:
        return HandleRecord(more_of_this_size);
      case kEvent:
        return HandleEvent();
      case kLap:
        return HandleLap();
      case kSession:
        return HandleSession();
      case kActivity:
        return HandleActivity();
      case kDeviceInfo:
        return HandleDeviceInfo();
      case kFileId:
        return HandleFileId();
      case kSport:
        return HandleSport();
      default:
        return;
    }
  }

  void HandleRecord(size_t more_of_this_size) {
    const Values& v = values_;
    if (!v.has(kTimestamp) && !last_time_) return;  // no time at all: not a point
    if (!reserved_points_) {
      // Most of what follows the first record is records of its size. The
      // input bounds the estimate; the cap keeps a hostile file of tiny
      // records from reserving much before it has produced them.
      reserved_points_ = true;
      constexpr size_t kMaxReserve = size_t{1} << 18;
      points_.reserve(points_.size() + std::min(more_of_this_size + 1, kMaxReserve));
    }
    TrackPoint& pt = points_.emplace_back();
    pt.time = v.has(kTimestamp) ? v.number[kTimestamp] + kFitEpochUnix : *last_time_ + kFitEpochUnix;
    if (v.has(kRecLat) && v.has(kRecLng)) {
      // A sint32 of semicircles spans +-180 degrees, and a definition may
      // even declare the field a float: a latitude beyond +-90 (or a
      // longitude beyond +-180) is no position on Earth, so the point has
      // none, as with the invalid sentinel (GPX and TCX refuse such points;
      // track.h promises WGS84 degrees). Found by fuzz_fit: lat -180.
      const double lat = v.number[kRecLat] * kDegreesPerSemicircle;
      const double lng = v.number[kRecLng] * kDegreesPerSemicircle;
      if (lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180) {
        pt.lat = lat;
        pt.lng = lng;
      }
    }
    pt.altitude = Scaled(v.prefer(kRecEnhancedAltitude, kRecAltitude), 5, 500);
    pt.speed = Scaled(v.prefer(kRecEnhancedSpeed, kRecSpeed), 1000);
    pt.distance = Scaled(v.get(kRecDistance), 100);
    pt.heartrate = v.get(kRecHeartRate);
    pt.cadence = v.get(kRecCadence);  // FIT's running cadence is strides/min, as Strava's
    pt.watts = v.get(kRecPower);
    pt.temp = v.get(kRecTemperature);
    if (timer_running_) pt.moving = *timer_running_;
  }

  void HandleEvent() {
    const Values& v = values_;
    if (v.get(kEvEvent) != 0.0 || !v.has(kEvEventType)) return;  // timer events only
    switch (ToInt(v.get(kEvEventType))) {
      case 0:  // start
        timer_running_ = true;
        break;
      case 1:
      case 4:
      case 8:
      case 9:  // stop, stop_all, stop_disable, stop_disable_all
        timer_running_ = false;
        break;
      default:
        return;
    }
    saw_timer_event_ = true;
  }

  void HandleLap() {
    const Values& v = values_;
    TrackLap lap;
    const std::optional<double> elapsed = Scaled(v.get(kLapElapsed), 1000);
    if (std::optional<double> start = UnixTime(v.get(kLapStart))) {
      lap.start_time = *start;
    } else if (std::optional<double> end = UnixTime(v.get(kTimestamp))) {
      // A lap message is written at its end.
      lap.start_time = *end - elapsed.value_or(0);
    }
    lap.elapsed_time = elapsed;
    lap.moving_time = Scaled(v.get(kLapTimer), 1000);
    lap.distance = Scaled(v.get(kLapDistance), 100);
    lap.max_speed = Scaled(v.prefer(kLapEnhancedMaxSpeed, kLapMaxSpeed), 1000);
    lap.average_heartrate = v.get(kLapAvgHeartRate);
    lap.max_heartrate = v.get(kLapMaxHeartRate);
    lap.average_cadence = v.get(kLapAvgCadence);
    lap.average_watts = v.get(kLapAvgPower);
    lap.calories = v.get(kLapCalories);
    lap.total_ascent = v.get(kLapAscent);
    laps_.push_back(lap);
  }

  void HandleSession() {
    const Values& v = values_;
    TrackSummary s;
    s.start_time = UnixTime(v.get(kSesStart));
    s.elapsed_time = Scaled(v.get(kSesElapsed), 1000);
    s.moving_time = Scaled(v.get(kSesTimer), 1000);
    s.distance = Scaled(v.get(kSesDistance), 100);
    s.calories = v.get(kSesCalories);
    s.total_ascent = v.get(kSesAscent);
    s.average_speed = Scaled(v.prefer(kSesEnhancedAvgSpeed, kSesAvgSpeed), 1000);
    s.max_speed = Scaled(v.prefer(kSesEnhancedMaxSpeed, kSesMaxSpeed), 1000);
    s.average_heartrate = v.get(kSesAvgHeartRate);
    s.max_heartrate = v.get(kSesMaxHeartRate);
    s.average_cadence = v.get(kSesAvgCadence);
    s.average_watts = v.get(kSesAvgPower);
    s.max_watts = v.get(kSesMaxPower);
    s.kilojoules = Scaled(v.get(kSesWork), 1000);

    SessionTotals& t = sessions_;
    if (t.count++ == 0) {
      if (v.has(kSesSport)) t.sport = ToInt(v.get(kSesSport));
      if (v.has(kSesSubSport)) t.sub_sport = ToInt(v.get(kSesSubSport));
      t.s = s;
      t.avg_weight = s.moving_time;
      return;
    }
    TrackSummary& a = t.s;
    // Averages weighted by timer time, when both sides have it.
    auto average = [&](std::optional<double>& into, std::optional<double> x) {
      if (!into) {
        into = x;
        return;
      }
      if (!x || !t.avg_weight || !s.moving_time || *t.avg_weight + *s.moving_time <= 0) return;
      into = (*into * *t.avg_weight + *x * *s.moving_time) / (*t.avg_weight + *s.moving_time);
    };
    average(a.average_speed, s.average_speed);
    average(a.average_heartrate, s.average_heartrate);
    average(a.average_cadence, s.average_cadence);
    average(a.average_watts, s.average_watts);
    if (s.start_time && (!a.start_time || *s.start_time < *a.start_time)) a.start_time = s.start_time;
    a.elapsed_time = Sum(a.elapsed_time, s.elapsed_time);
    a.moving_time = Sum(a.moving_time, s.moving_time);
    a.distance = Sum(a.distance, s.distance);
    a.calories = Sum(a.calories, s.calories);
    a.total_ascent = Sum(a.total_ascent, s.total_ascent);
    a.kilojoules = Sum(a.kilojoules, s.kilojoules);
    a.max_speed = Max(a.max_speed, s.max_speed);
    a.max_heartrate = Max(a.max_heartrate, s.max_heartrate);
    a.max_watts = Max(a.max_watts, s.max_watts);
    t.avg_weight = a.moving_time;
  }

  void HandleActivity() {
    const Values& v = values_;
    if (v.has(kTimestamp) && v.has(kActLocalTimestamp))
      utc_offset_ = v.number[kActLocalTimestamp] - v.number[kTimestamp];
  }

  void HandleDeviceInfo() {
    const Values& v = values_;
    // device_index 0 is the creator (the watch itself); others are sensors.
    if (creator_ || v.get(kDevIndex) != 0.0) return;
    if (!v.has(kDevManufacturer)) return;
    creator_ = Device{ToInt(v.get(kDevManufacturer)), ToInt(v.get(kDevProduct)),
                      v.has(kDevProductName) ? std::string(v.text[kDevProductName]) : std::string()};
  }

  void HandleFileId() {
    const Values& v = values_;
    if (file_id_device_ || !v.has(kFileManufacturer)) return;
    file_id_device_ = Device{ToInt(v.get(kFileManufacturer)), ToInt(v.get(kFileProduct)),
                             v.has(kFileProductName) ? std::string(v.text[kFileProductName]) : std::string()};
  }

  // The `sport` message names the activity's sport too; a session's wins.
  void HandleSport() {
    const Values& v = values_;
    if (sport_message_ || !v.has(kSportSport)) return;
    sport_message_ = {ToInt(v.get(kSportSport)), v.has(kSportSubSport) ? ToInt(v.get(kSportSubSport)) : 0};
  }

  Track Finish() {
    Track track;
    track.format = "fit";
    if (sessions_.count > 0) track.summary = std::move(sessions_.s);
    if (sessions_.sport)
      track.summary.sport_type = SportTypeFromFit(*sessions_.sport, sessions_.sub_sport.value_or(0));
    else if (sport_message_)
      track.summary.sport_type = SportTypeFromFit(sport_message_->first, sport_message_->second);
    track.summary.utc_offset = utc_offset_;
    if (const std::optional<Device>& d = creator_ ? creator_ : file_id_device_)
      track.summary.device_name = FitDeviceName(d->manufacturer, d->product, d->product_name);
    if (saw_timer_event_) {
      // Points before the first timer event: the timer had not been stopped.
      for (TrackPoint& p : points_)
        if (!p.moving) p.moving = true;
    }
    track.points = std::move(points_);
    track.laps = std::move(laps_);
    return track;
  }

  struct Device {
    int manufacturer;
    int product;  // -1: none
    std::string product_name;
  };

  const uint8_t* b_;
  size_t n_;
  std::array<Definition, 16> defs_;
  std::optional<uint32_t> last_time_;  // FIT time; the compressed-timestamp reference
  Values values_;
  bool reserved_points_ = false;

  std::vector<TrackPoint> points_;
  std::vector<TrackLap> laps_;
  SessionTotals sessions_;
  std::optional<bool> timer_running_;
  bool saw_timer_event_ = false;
  std::optional<double> utc_offset_;
  std::optional<Device> creator_, file_id_device_;
  std::optional<std::pair<int, int>> sport_message_;  // sport, sub_sport
};

// ------------------------------------------------------------- names ----

struct Named {
  int id;
  const char* name;
};

constexpr Named kManufacturers[] = {
    {1, "Garmin"},       {6, "SRM"},           {7, "Quarq"},
    {13, "Dynastream"},  {15, "Dynastream"},   {16, "Timex"},
    {23, "Suunto"},      {32, "Wahoo"},        {40, "Concept2"},
    {63, "Specialized"}, {69, "Stages"},       {70, "Sigma"},
    {71, "TomTom"},      {89, "Tacx"},         {95, "Stryd"},
    {107, "Magene"},     {112, "Bryton"},      {115, "iGPSPORT"},
    {123, "Polar"},      {255, "Development"}, {260, "Zwift"},
    {263, "Favero"},     {265, "Strava"},      {267, "Bryton"},
    {268, "SRAM"},       {281, "TrainerRoad"}, {282, "The Sufferfest"},
    {289, "Hammerhead"}, {294, "COROS"},       {305, "WHOOP"},
    {310, "Decathlon"},  {331, "MyWhoosh"},
};

// garmin_product values for common devices (FIT profile names).
constexpr Named kGarminProducts[] = {
    {1036, "Edge 500"},
    {1169, "Edge 800"},
    {1328, "Forerunner 910XT"},
    {1345, "Forerunner 610"},
    {1561, "Edge 510"},
    {1567, "Edge 810"},
    {1623, "Forerunner 620"},
    {1632, "Forerunner 220"},
    {1765, "Forerunner 920XT"},
    {1836, "Edge 1000"},
    {2050, "fēnix 3"},
    {2067, "Edge 520"},
    {2153, "Forerunner 225"},
    {2156, "Forerunner 630"},
    {2157, "Forerunner 230"},
    {2158, "Forerunner 735XT"},
    {2413, "fēnix 3 HR"},
    {2431, "Forerunner 235"},
    {2530, "Edge 820"},
    {2544, "fēnix 5S"},
    {2604, "fēnix 5X"},
    {2691, "Forerunner 935"},
    {2697, "fēnix 5"},
    {2700, "vívoactive 3"},
    {2713, "Edge 1030"},
    {2886, "Forerunner 645"},
    {2888, "Forerunner 645 Music"},
    {2909, "Edge 130"},
    {3076, "Forerunner 245"},
    {3077, "Forerunner 245 Music"},
    {3110, "fēnix 5 Plus"},
    {3111, "fēnix 5X Plus"},
    {3112, "Edge 520 Plus"},
    {3113, "Forerunner 945"},
    {3121, "Edge 530"},
    {3122, "Edge 830"},
    {3226, "Venu"},
    {3282, "Forerunner 45"},
    {3288, "fēnix 6S"},
    {3289, "fēnix 6 Sport"},
    {3290, "fēnix 6"},
    {3291, "fēnix 6X"},
    {3558, "Edge 130 Plus"},
    {3570, "Edge 1030 Plus"},
    {3589, "Forerunner 745"},
    {3638, "Enduro"},
    {3652, "Forerunner 945 LTE"},
    {3703, "Venu 2"},
    {3704, "Venu 2S"},
    {3843, "Edge 1040"},
    {3869, "Forerunner 55"},
    {3888, "Instinct 2"},
    {3905, "fēnix 7S"},
    {3906, "fēnix 7"},
    {3907, "fēnix 7X"},
    {3943, "epix (Gen 2)"},
    {3990, "Forerunner 255 Music"},
    {3991, "Forerunner 255S Music"},
    {3992, "Forerunner 255"},
    {3993, "Forerunner 255S"},
    {4024, "Forerunner 955"},
    {4061, "Edge 540"},
    {4062, "Edge 840"},
    {4257, "Forerunner 265"},
    {4258, "Forerunner 265S"},
    {4260, "Venu 3"},
    {4261, "Venu 3S"},
    {4315, "Forerunner 965"},
    {4341, "Enduro 2"},
    {4374, "fēnix 7S Pro Solar"},
    {4375, "fēnix 7 Pro Solar"},
    {4376, "fēnix 7X Pro Solar"},
    {4426, "vívoactive 5"},
    {4432, "Forerunner 165"},
    {4433, "Forerunner 165 Music"},
    {4440, "Edge 1050"},
    {4536, "fēnix 8"},
    {65534, "Connect"},
};

const char* Lookup(const Named* table, size_t n, int id) {
  for (size_t i = 0; i < n; ++i)
    if (table[i].id == id) return table[i].name;
  return nullptr;
}

bool StartsWithIgnoringCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(s[i]) != lower(prefix[i])) return false;
  }
  return true;
}

}  // namespace

Result<Track> DecodeFit(std::string_view bytes) {
  // Allocation is bounded by the input, but a caller's memory may still run
  // out; no exception leaves the decoder.
  try {
    return Decoder(bytes).Run();
  } catch (const std::exception& e) {
    return Status::Error(ErrorKind::kGeneric, std::string("FIT: ") + e.what());
  }
}

std::string SportTypeFromFit(int sport, int sub_sport) {
  // FIT sub_sport values used below.
  enum : int {
    kTreadmill = 1,
    kTrail = 3,
    kSpin = 5,
    kIndoorCycling = 6,
    kMountain = 8,
    kDownhill = 9,
    kHandCycling = 12,
    kIndoorRowing = 14,
    kElliptical = 15,
    kStairClimbing = 16,
    kStrengthTraining = 20,
    kIndoorWalking = 27,
    kEBikeFitness = 28,
    kBackcountry = 37,
    kYoga = 43,
    kPilates = 44,
    kIndoorRunning = 45,
    kGravelCycling = 46,
    kEBikeMountain = 47,
    kVirtualActivity = 58,
    kHiit = 70,
    kIndoorHandCycling = 88,
    kPickleball = 84,
    kSquash = 94,
    kBadminton = 95,
    kRacquetball = 96,
    kTableTennis = 97,
  };
  switch (sport) {
    case 1:  // running
      if (sub_sport == kTrail) return "TrailRun";
      if (sub_sport == kVirtualActivity) return "VirtualRun";
      return "Run";  // street, track, treadmill, indoor: Strava keeps them Run
    case 2:          // cycling
      switch (sub_sport) {
        case kMountain:
        case kDownhill:
          return "MountainBikeRide";
        case kGravelCycling:
          return "GravelRide";
        case kIndoorCycling:
        case kVirtualActivity:
          return "VirtualRide";
        case kEBikeFitness:
          return "EBikeRide";
        case kEBikeMountain:
          return "EMountainBikeRide";
        case kHandCycling:
        case kIndoorHandCycling:
          return "Handcycle";
        default:
          return "Ride";
      }
    case 4:  // fitness_equipment
      switch (sub_sport) {
        case kTreadmill:
        case kIndoorRunning:
          return "Run";
        case kIndoorCycling:
        case kSpin:
          return "VirtualRide";
        case kIndoorRowing:
          return "Rowing";
        case kElliptical:
          return "Elliptical";
        case kStairClimbing:
          return "StairStepper";
        case kIndoorWalking:
          return "Walk";
        case kStrengthTraining:
          return "WeightTraining";
        case kYoga:
          return "Yoga";
        case kPilates:
          return "Pilates";
        case kHiit:
          return "HighIntensityIntervalTraining";
        default:
          return "Workout";
      }
    case 5:
      return "Swim";
    case 7:
      return "Soccer";
    case 8:
      return "Tennis";
    case 10:  // training
      switch (sub_sport) {
        case kStrengthTraining:
          return "WeightTraining";
        case kYoga:
          return "Yoga";
        case kPilates:
          return "Pilates";
        case kHiit:
          return "HighIntensityIntervalTraining";
        case kElliptical:
          return "Elliptical";
        case kStairClimbing:
          return "StairStepper";
        default:
          return "Workout";
      }
    case 11:
      return "Walk";
    case 12:  // cross_country_skiing
      return sub_sport == kBackcountry ? "BackcountrySki" : "NordicSki";
    case 13:  // alpine_skiing
      return sub_sport == kBackcountry ? "BackcountrySki" : "AlpineSki";
    case 14:
      return "Snowboard";
    case 15:
      return sub_sport == kVirtualActivity ? "VirtualRow" : "Rowing";
    case 16:
      return "Hike";  // mountaineering
    case 17:
      return "Hike";
    case 19:
      return "Canoeing";  // paddling
    case 21:              // e_biking
      return (sub_sport == kMountain || sub_sport == kEBikeMountain) ? "EMountainBikeRide" : "EBikeRide";
    case 25:
      return "Golf";
    case 30:
      return "InlineSkate";
    case 31:
      return "RockClimbing";
    case 32:
      return "Sail";
    case 33:
      return "IceSkate";
    case 35:
      return "Snowshoe";
    case 37:
      return "StandUpPaddling";
    case 38:
      return "Surfing";
    case 41:
      return "Kayaking";
    case 43:
      return "Windsurf";
    case 44:
      return "Kitesurf";
    case 62:
      return "HighIntensityIntervalTraining";
    case 64:  // racket
      switch (sub_sport) {
        case kPickleball:
          return "Pickleball";
        case kSquash:
          return "Squash";
        case kBadminton:
          return "Badminton";
        case kRacquetball:
          return "Racquetball";
        case kTableTennis:
          return "TableTennis";
        default:
          return "Workout";
      }
    case 65:
    case 66:
      return "Wheelchair";  // wheelchair_push_walk / _run
    default:
      return "Workout";  // generic, transition, multisport, unknown
  }
}

std::string FitDeviceName(int manufacturer, int product, std::string_view product_name) {
  constexpr size_t kManufacturerCount = sizeof(kManufacturers) / sizeof(kManufacturers[0]);
  constexpr size_t kProductCount = sizeof(kGarminProducts) / sizeof(kGarminProducts[0]);
  const char* maker = manufacturer >= 0 ? Lookup(kManufacturers, kManufacturerCount, manufacturer) : nullptr;
  std::string name = maker ? maker : manufacturer >= 0 ? "manufacturer " + std::to_string(manufacturer) : std::string();
  if (!product_name.empty()) {
    if (name.empty() || (maker && StartsWithIgnoringCase(product_name, maker))) return std::string(product_name);
    return name + " " + std::string(product_name);
  }
  // Only Garmin's product numbers mean something here; other makers' 0 is
  // "no product".
  if (product < 0 || (product == 0 && manufacturer != 1)) return name;
  // garmin_product applies to Garmin and its Dynastream brands.
  const bool garmin = manufacturer == 1 || manufacturer == 13 || manufacturer == 15;
  if (garmin) {
    if (const char* model = Lookup(kGarminProducts, kProductCount, product)) return name + " " + model;
  }
  if (!maker) return name.empty() ? "product " + std::to_string(product) : name + " product " + std::to_string(product);
  return name + " " + std::to_string(product);
}

}  // namespace stravafs::import
