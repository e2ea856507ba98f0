// Tests for gzip and zip reading (import/compressed.cc): round trips through
// zlib's and libarchive's own writers, multi-member gzip, decompression-bomb
// bounds, truncated and corrupted input, and zip entries with hostile names
// that must come back verbatim with nothing written to disk.
#include "import/compressed.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace stravafs::import {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

std::string Compress(const std::string& data, int window_bits) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string GzipOf(const std::string& data) { return Compress(data, 15 + 16); }

// Text that compresses but not to nothing, the same on every run.
std::string SampleText(size_t size) {
  std::string text;
  uint32_t state = 12345;
  while (text.size() < size) {
    state = state * 1103515245 + 12345;
    text += "<trkpt lat=\"" + std::to_string(state % 90000) + "\"/>\n";
  }
  text.resize(size);
  return text;
}

TEST_CASE("LooksGzip and LooksZip: magic numbers only", "[compressed]") {
  CHECK(LooksGzip("\x1f\x8b\x08"));
  CHECK(LooksGzip(GzipOf("x")));
  CHECK_FALSE(LooksGzip("\x1f"));
  CHECK_FALSE(LooksGzip(""));
  CHECK_FALSE(LooksGzip("PK\x03\x04"));
  CHECK(LooksZip("PK\x03\x04rest"));
  CHECK(LooksZip(std::string("PK\x05\x06", 4)));
  CHECK(LooksZip(std::string("PK\x07\x08", 4)));
  CHECK_FALSE(LooksZip("PK\x03"));
  CHECK_FALSE(LooksZip("PKZIP"));
  CHECK_FALSE(LooksZip("\x1f\x8b\x08\x00"));
}

TEST_CASE("Gunzip: round trips through zlib's writer", "[compressed]") {
  for (const size_t size : {size_t{0}, size_t{1}, size_t{1000}, size_t{65536}, size_t{3'000'000}}) {
    INFO(size);
    const std::string text = SampleText(size);
    Result<std::string> out = Gunzip(GzipOf(text), 10'000'000);
    INFO(out.status().message());
    REQUIRE(out.ok());
    CHECK(*out == text);
  }
}

TEST_CASE("Gunzip: concatenated members, padding, zlib streams", "[compressed]") {
  const std::string a = SampleText(70'000), b = "second member", c = SampleText(10);
  Result<std::string> joined = Gunzip(GzipOf(a) + GzipOf(b) + GzipOf("") + GzipOf(c), 1'000'000);
  INFO(joined.status().message());
  REQUIRE(joined.ok());
  CHECK(*joined == a + b + c);

  Result<std::string> padded = Gunzip(GzipOf(b) + std::string(512, '\0'), 1000);
  REQUIRE(padded.ok());
  CHECK(*padded == b);

  Result<std::string> zlib_stream = Gunzip(Compress(b, 15), 1000);
  REQUIRE(zlib_stream.ok());
  CHECK(*zlib_stream == b);
}

TEST_CASE("Gunzip: the output bound stops decompression bombs", "[compressed]") {
  const std::string zeros(16 << 20, '\0');
  const std::string bomb = GzipOf(zeros);
  CHECK(bomb.size() < 100'000);
  Result<std::string> refused = Gunzip(bomb, 1 << 20);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message() == "gzip: decompressed size exceeds 1048576 bytes (a decompression bomb?)");

  // The bound is inclusive: exactly max_output bytes are fine.
  const std::string text = SampleText(100'000);
  CHECK(Gunzip(GzipOf(text), text.size()).ok());
  CHECK_FALSE(Gunzip(GzipOf(text), text.size() - 1).ok());
  CHECK_FALSE(Gunzip(GzipOf(text) + GzipOf("x"), text.size()).ok());
  CHECK(Gunzip(GzipOf(""), 0).ok());
  CHECK_FALSE(Gunzip(GzipOf("x"), 0).ok());
}

TEST_CASE("Gunzip: truncated, corrupted and foreign input are errors", "[compressed]") {
  const std::string text = SampleText(200'000);
  const std::string gz = GzipOf(text);
  for (const size_t keep :
       {size_t{1}, size_t{5}, size_t{10}, gz.size() / 3, gz.size() / 2, gz.size() - 8, gz.size() - 4, gz.size() - 1}) {
    INFO(keep);
    Result<std::string> out = Gunzip(gz.substr(0, keep), 1'000'000);
    REQUIRE_FALSE(out.ok());
    CHECK_THAT(out.status().message(), StartsWith("gzip: "));
  }
  CHECK(Gunzip(gz.substr(0, gz.size() - 4), 1'000'000).status().message() ==
        "gzip: truncated (the data ends before the end of the stream)");

  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 0x55;
  CHECK(Gunzip(bad_crc, 1'000'000).status().message() == "gzip: incorrect data check");

  std::string bad_length = gz;
  bad_length[bad_length.size() - 2] ^= 0x01;
  CHECK(Gunzip(bad_length, 1'000'000).status().message() == "gzip: incorrect length check");

  CHECK(Gunzip("", 100).status().message() == "gzip: empty input");
  CHECK(Gunzip("hello, world", 100).status().message() == "gzip: incorrect header check");
  CHECK(Gunzip(GzipOf("x") + "trailing", 100).status().message() ==
        "gzip: 8 bytes after the end of the data are not gzip");
  // A second member that is itself damaged.
  CHECK_FALSE(Gunzip(GzipOf("x") + gz.substr(0, 100), 1'000'000).ok());
}

// ---------------------------------------------------------------------------
// zip

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/stravafs-zip-test-XXXXXX";
    if (mkdtemp(pattern) != nullptr) path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
  std::string path;
};

struct FakeEntry {
  std::string path;
  std::string data;
  bool directory = false;
  bool size_known = true;
};

// A zip archive written by libarchive's own writer, in memory. With
// `utf8_names`, names are flagged UTF-8 (general purpose bit 11), as most
// zip writers do for non-ASCII names; without, they are stored as bytes.
std::string MakeZip(const std::vector<FakeEntry>& entries, bool utf8_names = false) {
  std::vector<char> buffer(8 << 20);
  size_t used = 0;
  struct archive* writer = archive_write_new();
  REQUIRE(writer != nullptr);
  REQUIRE(archive_write_set_format_zip(writer) == ARCHIVE_OK);
  if (utf8_names) REQUIRE(archive_write_set_options(writer, "hdrcharset=UTF-8") == ARCHIVE_OK);
  REQUIRE(archive_write_open_memory(writer, buffer.data(), buffer.size(), &used) == ARCHIVE_OK);
  for (const FakeEntry& e : entries) {
    struct archive_entry* entry = archive_entry_new();
    if (utf8_names) {
      archive_entry_set_pathname_utf8(entry, e.path.c_str());
    } else {
      archive_entry_set_pathname(entry, e.path.c_str());
    }
    archive_entry_set_filetype(entry, e.directory ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry, e.directory ? 0755 : 0644);
    if (e.size_known) archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
    INFO(e.path);
    REQUIRE(archive_write_header(writer, entry) == ARCHIVE_OK);
    if (!e.data.empty()) {
      REQUIRE(archive_write_data(writer, e.data.data(), e.data.size()) == static_cast<la_ssize_t>(e.data.size()));
    }
    archive_entry_free(entry);
  }
  REQUIRE(archive_write_close(writer) == ARCHIVE_OK);
  archive_write_free(writer);
  return std::string(buffer.data(), used);
}

std::string WriteTemp(const TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir.path + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::unique_ptr<ZipReader> OpenOk(const std::string& path) {
  Result<std::unique_ptr<ZipReader>> reader = ZipReader::Open(path);
  INFO(reader.status().message());
  REQUIRE(reader.ok());
  return std::move(reader).value();
}

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) names.push_back(e.path());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("ZipReader: entries one at a time, hostile names verbatim, nothing written", "[compressed]") {
  TempDir dir;
  REQUIRE_FALSE(dir.path.empty());
  const std::string gpx = SampleText(300'000);
  const std::vector<FakeEntry> entries = {
      {"export_1234/activities.csv", "Activity ID,Activity Date\n1,x\n"},
      {"export_1234/activities/", "", true},
      {"export_1234/activities/12866632127.gpx.gz", GzipOf(gpx)},
      {"../evil.txt", "escape attempt"},
      {"/abs/stravafs-should-not-exist.txt", "absolute"},
      {"a/../../b.txt", "dot-dot inside"},
      {"streamed.txt", "size not stated up front", false, false},
      {"empty.fit", ""},
  };
  const std::string path = WriteTemp(dir, "export.zip", MakeZip(entries));
  const std::vector<std::string> before = Listing(dir.path);
  const auto cwd_before = std::filesystem::current_path();

  std::unique_ptr<ZipReader> reader = OpenOk(path);
  for (const FakeEntry& expected : entries) {
    INFO(expected.path);
    ZipEntry entry;
    Result<bool> more = reader->Next(entry);
    INFO(more.status().message());
    REQUIRE(more.ok());
    REQUIRE(*more);
    CHECK(entry.path == expected.path);
    CHECK(entry.is_regular_file == !expected.directory);
    if (expected.directory) continue;
    if (entry.size) CHECK(*entry.size == expected.data.size());
    Result<std::string> data = reader->ReadEntry(1 << 20);
    INFO(data.status().message());
    REQUIRE(data.ok());
    CHECK(*data == expected.data);
  }
  ZipEntry end;
  Result<bool> more = reader->Next(end);
  REQUIRE(more.ok());
  CHECK_FALSE(*more);

  // The gzip inside decompresses to the original.
  CHECK(Gunzip(entries[2].data, 1 << 20).value() == gpx);
  // Nothing appeared next to the archive, above it, or at the absolute name.
  CHECK(Listing(dir.path) == before);
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir.path).parent_path() / "evil.txt"));
  CHECK_FALSE(std::filesystem::exists("/abs/stravafs-should-not-exist.txt"));
  CHECK_FALSE(std::filesystem::exists("b.txt"));
  CHECK(std::filesystem::current_path() == cwd_before);
}

TEST_CASE("ZipReader: non-ASCII names come back as stored, flagged UTF-8 or not", "[compressed]") {
  // The process runs in the "C" locale here, where libarchive alone would
  // drop every UTF-8-flagged name it cannot convert to ASCII.
  TempDir dir;
  const std::string name = "Caf\xC3\xA9/\xF0\x9F\x8F\x83 Lauf.gpx";
  for (const bool flagged : {true, false}) {
    INFO("flagged " << flagged);
    const std::string zip = MakeZip({{name, "x"}, {"after", "y"}}, flagged);
    CHECK(((static_cast<unsigned char>(zip[7]) & 0x08) != 0) == flagged);  // bit 11 of the flags
    std::unique_ptr<ZipReader> reader = OpenOk(WriteTemp(dir, "names.zip", zip));
    ZipEntry entry;
    Result<bool> more = reader->Next(entry);
    INFO(more.status().message());
    REQUIRE(more.ok());
    REQUIRE(*more);
    CHECK(entry.path == name);
    CHECK(reader->ReadEntry(10).value() == "x");
    REQUIRE(reader->Next(entry).value());
    CHECK(entry.path == "after");
  }
}

TEST_CASE("ZipReader: skipping entries, reading twice, reading before Next", "[compressed]") {
  TempDir dir;
  const std::string path =
      WriteTemp(dir, "a.zip", MakeZip({{"one", SampleText(50'000)}, {"two", "2"}, {"three", "3"}}));
  std::unique_ptr<ZipReader> reader = OpenOk(path);
  CHECK_THAT(reader->ReadEntry(100).status().message(), Contains("no entry to read"));
  ZipEntry entry;
  REQUIRE(reader->Next(entry).value());
  REQUIRE(reader->Next(entry).value());  // "one" skipped unread
  CHECK(entry.path == "two");
  CHECK(reader->ReadEntry(100).value() == "2");
  CHECK_THAT(reader->ReadEntry(100).status().message(), Contains("no entry to read"));
  REQUIRE(reader->Next(entry).value());
  CHECK(entry.path == "three");
  CHECK_FALSE(reader->Next(entry).value());
  CHECK_FALSE(reader->Next(entry).value());  // the end stays the end
}

TEST_CASE("ZipReader: an entry over the bound is refused, the walk goes on", "[compressed]") {
  TempDir dir;
  const std::string zeros(8 << 20, '\0');
  const std::string text = SampleText(10'000);
  const std::string path = WriteTemp(dir, "bomb.zip",
                                     MakeZip({{"bomb.fit", zeros},
                                              {"bomb-unsized.fit", zeros, false, false},
                                              {"exact.gpx", text},
                                              {"over.gpx", text},
                                              {"after.gpx", "fine"}}));
  CHECK(std::filesystem::file_size(path) < 200'000);
  std::unique_ptr<ZipReader> reader = OpenOk(path);
  ZipEntry entry;
  for (const char* name : {"bomb.fit", "bomb-unsized.fit"}) {
    INFO(name);
    REQUIRE(reader->Next(entry).value());
    CHECK(entry.path == name);
    Result<std::string> refused = reader->ReadEntry(1 << 20);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message() == "zip: entry exceeds 1048576 bytes (a decompression bomb?)");
  }
  REQUIRE(reader->Next(entry).value());
  CHECK(reader->ReadEntry(text.size()).value() == text);
  REQUIRE(reader->Next(entry).value());
  CHECK_FALSE(reader->ReadEntry(text.size() - 1).ok());
  REQUIRE(reader->Next(entry).value());
  CHECK(entry.path == "after.gpx");
  CHECK(reader->ReadEntry(100).value() == "fine");
}

// What walking a whole archive gave: the entries read, and whether a step failed.
struct Walk {
  bool failed = false;
  std::vector<std::pair<std::string, std::string>> entries;
};

Walk WalkArchive(const std::string& path) {
  Walk walk;
  Result<std::unique_ptr<ZipReader>> opened = ZipReader::Open(path);
  if (!opened.ok()) {
    walk.failed = true;
    return walk;
  }
  ZipReader& reader = **opened;
  for (int guard = 0; guard < 100; ++guard) {
    ZipEntry entry;
    Result<bool> more = reader.Next(entry);
    if (!more.ok()) {
      // The walk is over: the same error again.
      ZipEntry again;
      CHECK(reader.Next(again).status().message() == more.status().message());
      walk.failed = true;
      return walk;
    }
    if (!*more) return walk;
    Result<std::string> data = reader.ReadEntry(1 << 24);
    if (!data.ok()) {
      walk.failed = true;
      continue;  // the next entry may still be readable
    }
    walk.entries.emplace_back(entry.path, std::move(data).value());
  }
  FAIL("the walk did not end");
  return walk;
}

TEST_CASE("ZipReader: truncated and corrupted archives are errors, not crashes", "[compressed]") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> files = {
      {"a.gpx", SampleText(40'000)}, {"b.gpx", SampleText(40'000) + "b"}, {"c.gpx", SampleText(40'000) + "c"}};
  std::vector<FakeEntry> entries;
  for (const auto& [name, data] : files) entries.push_back({name, data});
  const std::string zip = MakeZip(entries);
  CHECK(WalkArchive(WriteTemp(dir, "whole.zip", zip)).entries == files);

  // Cut inside the entries' data: an error, and nothing damaged comes out.
  for (const size_t keep :
       {size_t{0}, size_t{3}, size_t{30}, size_t{100}, zip.size() / 4, zip.size() / 2, zip.size() * 3 / 4}) {
    INFO("kept " << keep << " of " << zip.size());
    const Walk walk = WalkArchive(WriteTemp(dir, "cut.zip", zip.substr(0, keep)));
    CHECK(walk.failed);
    for (size_t i = 0; i < walk.entries.size(); ++i) CHECK(walk.entries[i] == files[i]);
  }
  // Cut inside the central directory at the end: every entry's data is
  // still there and CRC-checked, so reading them (streamed from their local
  // headers) is as good as an error; a wrong entry is not.
  for (const size_t keep : {zip.size() - 30, zip.size() - 1}) {
    INFO("kept " << keep << " of " << zip.size());
    const Walk walk = WalkArchive(WriteTemp(dir, "cut.zip", zip.substr(0, keep)));
    CHECK((walk.failed || walk.entries.size() == files.size()));
    for (size_t i = 0; i < walk.entries.size(); ++i) CHECK(walk.entries[i] == files[i]);
  }
  // A flipped byte inside compressed data: an inflate or CRC error for that
  // entry only.
  std::string flipped = zip;
  flipped[zip.size() / 2] ^= 0x20;
  const Walk walk = WalkArchive(WriteTemp(dir, "flipped.zip", flipped));
  CHECK(walk.failed);
  for (const auto& entry : walk.entries) {
    CHECK(std::find(files.begin(), files.end(), entry) != files.end());
  }
}

TEST_CASE("ZipReader: missing files, foreign files, empty archives", "[compressed]") {
  TempDir dir;
  Result<std::unique_ptr<ZipReader>> missing = ZipReader::Open(dir.path + "/missing.zip");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.status().message(), StartsWith("zip: cannot read "));

  CHECK(WalkArchive(WriteTemp(dir, "text.zip", "this is not an archive\n")).failed);
  CHECK(WalkArchive(WriteTemp(dir, "gzip.zip", GzipOf("not a zip either"))).failed);

  std::unique_ptr<ZipReader> empty = OpenOk(WriteTemp(dir, "empty.zip", MakeZip({})));
  ZipEntry entry;
  Result<bool> more = empty->Next(entry);
  INFO(more.status().message());
  REQUIRE(more.ok());
  CHECK_FALSE(*more);
}

}  // namespace
}  // namespace stravafs::import
