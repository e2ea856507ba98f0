// Reading TZif files (RFC 8536): version 1's 32-bit block is skipped and the
// 64-bit block of version 2 and later is read; a version 1 file is read from
// its 32-bit block. Every count is checked against the bytes present.
#include "base/tz.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace stravafs {

namespace {

constexpr const char* kZoneinfo = "/usr/share/zoneinfo/";
constexpr size_t kMaxTzifSize = 1 << 20;  // real files are a few kB

Status Bad(const std::string& name, const std::string& why) {
  return Status::Error(ErrorKind::kConfig, "time zone " + name + ": " + why);
}

class Bytes {
 public:
  explicit Bytes(std::string_view b) : b_(b) {}
  bool Has(size_t n) const { return b_.size() - pos_ >= n; }
  int64_t Be(size_t n) {  // big-endian signed integer of n (4 or 8) bytes
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = v << 8 | static_cast<uint8_t>(b_[pos_ + i]);
    pos_ += n;
    if (n == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
    return static_cast<int64_t>(v);
  }
  uint8_t U8() { return static_cast<uint8_t>(b_[pos_++]); }
  void Skip(size_t n) { pos_ += n; }
  size_t pos() const { return pos_; }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

struct Counts {
  uint64_t isut, isstd, leap, time, type, chars;
  // The size of the data block that follows a header, with `t`-byte times.
  uint64_t Block(uint64_t t) const { return time * t + time + type * 6 + chars + leap * (t + 4) + isstd + isut; }
};

bool ReadHeader(Bytes& in, char& version, Counts& c) {
  if (!in.Has(44)) return false;
  std::string magic;
  for (int i = 0; i < 4; ++i) magic += static_cast<char>(in.U8());
  if (magic != "TZif") return false;
  version = static_cast<char>(in.U8());
  in.Skip(15);
  c.isut = static_cast<uint32_t>(in.Be(4));
  c.isstd = static_cast<uint32_t>(in.Be(4));
  c.leap = static_cast<uint32_t>(in.Be(4));
  c.time = static_cast<uint32_t>(in.Be(4));
  c.type = static_cast<uint32_t>(in.Be(4));
  c.chars = static_cast<uint32_t>(in.Be(4));
  return true;
}

// The IANA name /etc/localtime links to ("Europe/Berlin"), or "".
std::string LinkedZoneName() {
  char buf[4096];
  const ssize_t n = readlink("/etc/localtime", buf, sizeof buf - 1);
  if (n <= 0) return "";
  const std::string target(buf, static_cast<size_t>(n));
  const size_t at = target.find("zoneinfo/");
  return at == std::string::npos ? "" : target.substr(at + 9);
}

Result<std::string> ReadZoneFile(const std::string& path, const std::string& name) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return Bad(name, "no such zone in " + std::string(kZoneinfo) + " (use an IANA name such as Europe/Berlin)");
  if (static_cast<uint64_t>(st.st_size) > kMaxTzifSize) return Bad(name, path + " is too large to be a zone file");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) return Bad(name, "cannot read " + path);
  return bytes.str();
}

}  // namespace

TimeZone TimeZone::Utc() {
  TimeZone z;
  z.name_ = "UTC";
  z.types_.push_back({});
  return z;
}

Result<TimeZone> TimeZone::Parse(const std::string& name, std::string_view tzif) {
  Bytes in(tzif);
  char version = 0;
  Counts c{};
  if (!ReadHeader(in, version, c)) return Bad(name, "not a TZif zone file");
  size_t time_size = 4;
  if (version >= '2') {  // skip the 32-bit block for the 64-bit one
    if (!in.Has(c.Block(4))) return Bad(name, "truncated zone file");
    in.Skip(c.Block(4));
    if (!ReadHeader(in, version, c)) return Bad(name, "truncated zone file");
    time_size = 8;
  }
  if (c.type == 0 || c.type > 256 || !in.Has(c.Block(time_size))) return Bad(name, "truncated zone file");
  TimeZone z;
  z.name_ = name;
  z.transitions_.reserve(c.time);
  for (uint64_t i = 0; i < c.time; ++i) z.transitions_.push_back(in.Be(time_size));
  for (uint64_t i = 0; i < c.time; ++i) {
    const uint8_t t = in.U8();
    if (t >= c.type) return Bad(name, "zone file names a type it does not define");
    z.type_of_.push_back(t);
  }
  for (uint64_t i = 0; i < c.type; ++i) {
    Type t;
    t.offset = static_cast<int32_t>(in.Be(4));
    t.dst = in.U8() != 0;
    in.Skip(1);  // abbreviation index
    z.types_.push_back(t);
  }
  if (!std::is_sorted(z.transitions_.begin(), z.transitions_.end()))
    return Bad(name, "zone file transitions are out of order");
  // RFC 8536 3.2: before the first transition, type 0 is in force.
  z.first_type_ = 0;
  return z;
}

Result<TimeZone> TimeZone::Load(const std::string& name) {
  std::string zone = name;
  std::string path;
  if (zone.empty()) {
    if (const char* tz = std::getenv("TZ"); tz && *tz) {
      zone = *tz == ':' ? tz + 1 : tz;
      if (zone == "UTC" || zone == "UTC0" || zone == "GMT") return Utc();
      path = zone.front() == '/' ? zone : kZoneinfo + zone;
      if (zone.front() == '/')
        zone = zone.find("zoneinfo/") != std::string::npos ? zone.substr(zone.find("zoneinfo/") + 9) : zone;
    } else {
      zone = LinkedZoneName();
      path = "/etc/localtime";
      struct stat st {};
      if (stat(path.c_str(), &st) != 0) return Utc();
      if (zone.empty()) zone = "localtime";
    }
  } else {
    if (zone.front() == '/' || zone.find("..") != std::string::npos) return Bad(zone, "not an IANA zone name");
    path = kZoneinfo + zone;
  }
  if (zone == "Etc/UTC" || zone == "UTC" || zone == "Etc/Universal" || zone == "Universal") return Utc();
  Result<std::string> bytes = ReadZoneFile(path, zone);
  if (!bytes.ok()) return bytes.status();
  return Parse(zone, *bytes);
}

const TimeZone::Type& TimeZone::TypeAt(int64_t utc) const {
  const auto after = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
  if (after == transitions_.begin()) return types_[first_type_];
  return types_[type_of_[static_cast<size_t>(after - transitions_.begin() - 1)]];
}

int64_t TimeZone::OffsetAt(int64_t utc) const { return TypeAt(utc).offset; }
bool TimeZone::IsDstAt(int64_t utc) const { return TypeAt(utc).dst; }

}  // namespace stravafs
