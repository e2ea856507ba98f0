// Inflating gzip members with zlib, bounded: what the importer reads
// (.fit.gz, .gpx.gz, .tcx.gz) and what the mount shows of an original file
// kept compressed as it came.
#include "base/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <exception>
#include <new>

namespace stravafs {

namespace bounded {

constexpr size_t kInitialOutput = 64 * 1024;

Status TooLarge(std::string_view what, size_t limit) {
  return Status::Error(ErrorKind::kGeneric,
                       std::string(what) + " exceeds " + std::to_string(limit) + " bytes (a decompression bomb?)");
}

// The most an output buffer for `limit` bytes ever holds: one byte more than
// allowed is how an overflow is seen.
static size_t BufferCap(size_t limit) { return limit == SIZE_MAX ? limit : limit + 1; }

// The first buffer size: the expected size when there is one, within the cap.
size_t InitialSize(size_t expected, size_t limit) {
  return std::min(std::max(expected, kInitialOutput), BufferCap(limit));
}

// The next size for an output buffer that is full: doubling keeps the
// zero-filling and copying linear.
size_t GrownSize(size_t current, size_t limit) {
  const size_t cap = BufferCap(limit);
  return current > cap / 2 ? cap : std::max(current * 2, kInitialOutput);
}

}  // namespace bounded

namespace {

using bounded::GrownSize;
using bounded::InitialSize;

Status GzipError(const std::string& reason) { return Status::Error(ErrorKind::kGeneric, "gzip: " + reason); }

class InflateStream {
 public:
  InflateStream() = default;
  ~InflateStream() {
    if (initialized_) inflateEnd(&stream_);
  }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;

  // 15 + 32: the largest window, and a gzip or zlib header detected.
  bool Init() { return initialized_ = inflateInit2(&stream_, 15 + 32) == Z_OK; }
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
  bool initialized_ = false;
};

Result<std::string> GunzipOrThrow(std::string_view bytes, size_t max_output) {
  if (bytes.empty()) return GzipError("empty input");
  InflateStream inflater;
  if (!inflater.Init()) return GzipError("cannot initialize zlib");
  z_stream& zs = inflater.stream();

  std::string out;
  // Activity files compress 3-8x; a guess of 4x saves most regrowth.
  constexpr size_t kExpectedRatio = 4;
  const size_t guess = bytes.size() > SIZE_MAX / kExpectedRatio ? SIZE_MAX : bytes.size() * kExpectedRatio;
  out.resize(InitialSize(guess, max_output));
  size_t produced = 0;
  size_t consumed = 0;  // input bytes handed to zlib so far
  for (;;) {
    if (zs.avail_in == 0 && consumed < bytes.size()) {
      const size_t part = std::min<size_t>(bytes.size() - consumed, UINT_MAX);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + consumed));
      zs.avail_in = static_cast<uInt>(part);
      consumed += part;
    }
    if (produced == out.size()) {
      if (produced > max_output) return bounded::TooLarge("gzip: decompressed size", max_output);
      out.resize(GrownSize(out.size(), max_output));
    }
    const size_t room = std::min<size_t>(out.size() - produced, UINT_MAX);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (produced > max_output) return bounded::TooLarge("gzip: decompressed size", max_output);

    if (rc == Z_STREAM_END) {
      const size_t next = consumed - zs.avail_in;  // first byte after this member
      const std::string_view rest = bytes.substr(next);
      if (rest.empty()) break;
      if (LooksGzip(rest)) {
        // Another member (`cat a.gz b.gz`): gzip(1) decompresses them all.
        inflateReset(&zs);
        continue;
      }
      if (rest.find_first_not_of('\0') == std::string_view::npos) break;  // padding
      return GzipError(std::to_string(rest.size()) + " bytes after the end of the data are not gzip");
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;  // output full: grow and go on
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && consumed == bytes.size()) {
      return GzipError("truncated (the data ends before the end of the stream)");
    }
    return GzipError(zs.msg != nullptr ? zs.msg : "corrupt data (zlib error " + std::to_string(rc) + ")");
  }
  out.resize(produced);
  return out;
}

}  // namespace

bool LooksGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

Result<std::string> Gunzip(std::string_view bytes, size_t max_output) {
  try {
    return GunzipOrThrow(bytes, max_output);
  } catch (const std::bad_alloc&) {
    return GzipError("out of memory");
  } catch (const std::exception& e) {
    return GzipError(std::string("internal error: ") + e.what());
  }
}

}  // namespace stravafs
