// Compressed inputs of an import: gzip members (a bulk export's
// activities/*.fit.gz, loose .gpx.gz/.tcx.gz) and zip archives (the export
// itself), both read in memory or streamed, never extracted to disk.
//
// Contract:
// - Gunzip inflates one buffer with zlib (gzip header detected; a zlib
//   stream is accepted too), including several concatenated gzip members
//   (`cat a.gz b.gz`). NUL padding after the last member is ignored; any
//   other trailing bytes, a truncated stream or a CRC/length mismatch are
//   errors. Output beyond `max_output` bytes stops it with "gzip:
//   decompressed size exceeds N bytes (a decompression bomb?)" — the memory
//   used is bounded by max_output, whatever the input claims.
// - ZipReader walks a zip file's entries one at a time through libarchive.
//   Nothing is written anywhere: entry paths are returned exactly as stored
//   (including "../x" and "/abs" names), for the caller to use only as
//   names. Only the current entry's data is ever held, and only when asked
//   for, bounded by ReadEntry's max_size. A damaged or truncated archive is
//   an error, never a crash. An error from ReadEntry concerns that entry
//   (too large, bad CRC, unsupported method): Next goes on to the following
//   one. An error from Next, or damage that leaves the archive unreadable,
//   ends the walk: every later call returns that error again.
// - No exception escapes any of these functions.
#pragma once

#include <locale.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/gzip.h"  // Gunzip, LooksGzip
#include "base/status.h"

struct archive;  // libarchive's handle; its header stays out of our users' builds

namespace stravafs::import {

// Whether the bytes start like a zip archive ("PK\3\4", or "PK\5\6" for an
// empty one, or "PK\7\8" for a split/spanned one's first part).
bool LooksZip(std::string_view bytes);

// The decompressed bytes of a gzip file (see the contract above).

// One entry of a zip archive, as its headers describe it.
struct ZipEntry {
  std::string path;              // the stored bytes (UTF-8 where the archive says so); never sanitized
  std::optional<uint64_t> size;  // uncompressed size, when the archive states it
  bool is_regular_file = false;  // false for directories, links and other special entries
};

class ZipReader {
 public:
  // Opens the archive at `path` for reading; fails if it cannot be opened or
  // is not a zip archive.
  static Result<std::unique_ptr<ZipReader>> Open(const std::string& path);

  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  // Moves to the next entry and describes it in `entry`; false at the end of
  // the archive. The previous entry's unread data is skipped, not read.
  Result<bool> Next(ZipEntry& entry);

  // The current entry's data, decompressed and CRC-checked. Fails with "zip:
  // entry exceeds N bytes (a decompression bomb?)" once more than `max_size`
  // bytes come out, whatever size the headers claim. Each entry can be read
  // once.
  Result<std::string> ReadEntry(size_t max_size);

 private:
  ZipReader(struct ::archive* handle, locale_t utf8_locale, std::string path);
  // Records a failure that ends the walk as the reader's permanent error.
  Status Failed(const std::string& what);

  struct ::archive* archive_;
  // libarchive converts entry names to the calling thread's locale charset
  // and drops names it cannot convert (every non-ASCII UTF-8 name under the
  // "C" locale). Each libarchive call therefore runs with this UTF-8 locale
  // for the calling thread only (uselocale), so names come back as stored.
  // (locale_t)0 if the C library has no C.UTF-8: names then depend on the
  // process locale.
  locale_t utf8_locale_;
  std::string path_;
  std::optional<Status> error_;  // set once an operation has failed
  bool entry_readable_ = false;  // a current entry whose data has not been read yet
  bool at_end_ = false;          // Next has returned false
  std::optional<uint64_t> entry_size_;
};

}  // namespace stravafs::import
