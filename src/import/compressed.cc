// gzip (zlib) and zip (libarchive) reading for the importer. See
// compressed.h for the contract.
#include "import/compressed.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <new>
#include <utility>

namespace stravafs::import {
namespace {

using bounded::GrownSize;
using bounded::InitialSize;

// Makes `locale` the calling thread's locale for its lifetime (uselocale is
// per thread: other threads and the process locale are untouched).
class ScopedThreadLocale {
 public:
  explicit ScopedThreadLocale(locale_t locale)
      : previous_(locale != static_cast<locale_t>(0) ? uselocale(locale) : static_cast<locale_t>(0)) {}
  ~ScopedThreadLocale() {
    if (previous_ != static_cast<locale_t>(0)) uselocale(previous_);
  }
  ScopedThreadLocale(const ScopedThreadLocale&) = delete;
  ScopedThreadLocale& operator=(const ScopedThreadLocale&) = delete;

 private:
  locale_t previous_;
};

std::string ArchiveMessage(struct archive* handle) {
  const char* message = archive_error_string(handle);
  return message != nullptr ? message : "unknown libarchive error";
}

}  // namespace

bool LooksZip(std::string_view bytes) {
  if (bytes.size() < 4 || bytes[0] != 'P' || bytes[1] != 'K') return false;
  const std::string_view tag = bytes.substr(2, 2);
  return tag == std::string_view("\x03\x04", 2) || tag == std::string_view("\x05\x06", 2) ||
         tag == std::string_view("\x07\x08", 2);
}

ZipReader::ZipReader(struct ::archive* handle, locale_t utf8_locale, std::string path)
    : archive_(handle), utf8_locale_(utf8_locale), path_(std::move(path)) {}

ZipReader::~ZipReader() {
  {
    ScopedThreadLocale locale(utf8_locale_);
    archive_read_free(archive_);
  }
  if (utf8_locale_ != static_cast<locale_t>(0)) freelocale(utf8_locale_);
}

Status ZipReader::Failed(const std::string& what) {
  error_ = Status::Error(ErrorKind::kGeneric, "zip: " + what);
  entry_readable_ = false;
  return *error_;
}

Result<std::unique_ptr<ZipReader>> ZipReader::Open(const std::string& path) {
  try {
    const locale_t utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
    ScopedThreadLocale locale(utf8_locale);
    struct archive* handle = archive_read_new();
    if (handle == nullptr) {
      if (utf8_locale != static_cast<locale_t>(0)) freelocale(utf8_locale);
      return Status::Error(ErrorKind::kGeneric, "zip: out of memory");
    }
    std::unique_ptr<ZipReader> reader(new ZipReader(handle, utf8_locale, path));
    // Zip only: every other format libarchive knows is attack surface we do
    // not need. The seekable reader (used when the file can seek) trusts the
    // central directory, as unzip does; the streamable one takes over for
    // archives without one (truncated downloads), up to the damage.
    if (archive_read_support_format_zip(handle) != ARCHIVE_OK ||
        archive_read_support_filter_none(handle) != ARCHIVE_OK) {
      return reader->Failed(ArchiveMessage(handle));
    }
    constexpr size_t kBlockSize = 64 * 1024;
    if (archive_read_open_filename(handle, path.c_str(), kBlockSize) != ARCHIVE_OK) {
      return reader->Failed("cannot read " + path + ": " + ArchiveMessage(handle));
    }
    return reader;
  } catch (const std::bad_alloc&) {
    return Status::Error(ErrorKind::kGeneric, "zip: out of memory");
  }
}

Result<bool> ZipReader::Next(ZipEntry& entry) {
  if (error_) return *error_;
  // libarchive treats a call after its EOF as a programming error.
  if (at_end_) return false;
  ScopedThreadLocale locale(utf8_locale_);
  try {
    struct archive_entry* header = nullptr;
    const int rc = archive_read_next_header(archive_, &header);
    if (rc == ARCHIVE_EOF) {
      entry_readable_ = false;
      at_end_ = true;
      return false;
    }
    // ARCHIVE_WARN is a name that did not convert (see utf8_locale_): the
    // entry itself is fine.
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Failed(ArchiveMessage(archive_));
    // The multibyte form is the stored bytes: UTF-8 under our locale for
    // entries flagged UTF-8, and unconverted bytes for the others.
    const char* name = archive_entry_pathname(header);
    if (name == nullptr) name = archive_entry_pathname_utf8(header);
    entry.path = name != nullptr ? name : "";
    entry.size.reset();
    if (archive_entry_size_is_set(header) && archive_entry_size(header) >= 0) {
      entry.size = static_cast<uint64_t>(archive_entry_size(header));
    }
    entry.is_regular_file = archive_entry_filetype(header) == AE_IFREG;
    entry_size_ = entry.size;
    entry_readable_ = true;
    return true;
  } catch (const std::bad_alloc&) {
    return Failed("out of memory");
  }
}

Result<std::string> ZipReader::ReadEntry(size_t max_size) {
  if (error_) return *error_;
  if (!entry_readable_) {
    return Status::Error(ErrorKind::kGeneric, "zip: no entry to read (Next not called, or already read)");
  }
  entry_readable_ = false;
  ScopedThreadLocale locale(utf8_locale_);
  try {
    std::string out;
    // The stated size only sizes the first buffer (within max_size): it is
    // the archive's claim, not a fact; the loop below enforces the limit.
    // One byte more lets the end of the data be seen without regrowing.
    size_t expected = 0;
    if (entry_size_) expected = static_cast<size_t>(std::min<uint64_t>(*entry_size_, max_size)) + 1;
    out.resize(InitialSize(expected, max_size));
    size_t produced = 0;
    for (;;) {
      if (produced == out.size()) {
        if (produced > max_size) return bounded::TooLarge("zip: entry", max_size);
        out.resize(GrownSize(out.size(), max_size));
      }
      const la_ssize_t n = archive_read_data(archive_, out.data() + produced, out.size() - produced);
      // Any negative value fails the entry, ARCHIVE_WARN included: for zip
      // data it means a CRC mismatch, and damaged data is not returned as if
      // it were good. Only ARCHIVE_FATAL ends the walk; after the others,
      // Next skips to the following entry.
      if (n == ARCHIVE_FATAL) return Failed(ArchiveMessage(archive_));
      if (n < 0) return Status::Error(ErrorKind::kGeneric, "zip: " + ArchiveMessage(archive_));
      if (n == 0) break;
      produced += static_cast<size_t>(n);
      if (produced > max_size) return bounded::TooLarge("zip: entry", max_size);
    }
    out.resize(produced);
    return out;
  } catch (const std::bad_alloc&) {
    return Status::Error(ErrorKind::kGeneric, "zip: out of memory");
  }
}

}  // namespace stravafs::import
