// Gunzip: one buffer of gzip members inflated with zlib, bounded.
//
// Contract: a gzip header is detected (a zlib stream is accepted too),
// several concatenated members (`cat a.gz b.gz`) are inflated in order, NUL
// padding after the last is ignored; any other trailing bytes, a truncated
// stream or a CRC/length mismatch are errors. Output beyond `max_output`
// bytes stops it with "gzip: decompressed size exceeds N bytes (a
// decompression bomb?)": the memory used is bounded by max_output, whatever
// the input claims. No exception escapes. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stravafs {

// Whether the bytes start like a gzip member (1f 8b).
bool LooksGzip(std::string_view bytes);

Result<std::string> Gunzip(std::string_view bytes, size_t max_output);

// How a decompressor grows its output within a bound (zip entries use them too).
namespace bounded {
// The error for output past `limit`: "WHAT exceeds N bytes (a decompression bomb?)".
Status TooLarge(std::string_view what, size_t limit);
// The first size of a buffer for `limit` bytes: the expected size, within the cap.
size_t InitialSize(size_t expected, size_t limit);
// The next size of a full buffer: doubling, up to one byte past `limit`
// (which is how an overflow is seen).
size_t GrownSize(size_t current, size_t limit);
}  // namespace bounded

}  // namespace stravafs
