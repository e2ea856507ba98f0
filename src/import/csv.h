// CsvReader: an RFC 4180 reader for the CSV files of a Strava bulk export.
//
// Contract:
// - Fields are separated by ',' and records end at LF, CRLF or a lone CR.
// - A field that starts with '"' is quoted: it may hold ',', CR, LF (kept as
//   written, so a CRLF inside a description stays CRLF) and '""' for one '"'.
// - One UTF-8 byte-order mark at the very start of the input is dropped.
// - The last record may lack its line end. A line with nothing on it is
//   skipped: it is not a record of one empty field.
// - Lenient where RFC 4180 says nothing, the way Python's csv module is: a '"'
//   inside an unquoted field is an ordinary character (`ab"c` is `ab"c`), and
//   text after a closing quote is appended without the quote (`"ab"c` is
//   `abc`). Real exports contain the first; neither loses data.
// - Errors (sticky: every later Next() returns the same one): a quoted field
//   still open at the end of the input, and a record longer than
//   kMaxRecordBytes, which is how a stray quote in a huge file shows up. Both
//   name the line where the record started.
// - Bytes are passed through: no UTF-8 validation, NUL allowed.
//
// The input is either one buffer (not copied: it must outlive the reader) or a
// Source that yields chunks, so an archive entry can be read without holding
// it whole; records may span chunks anywhere, even inside a CRLF or the BOM.
//
// Nothing here throws (beyond std::bad_alloc) and nothing aborts on input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stravafs::import {

class CsvReader {
 public:
  // Longest record accepted, in bytes of field content.
  static constexpr size_t kMaxRecordBytes = 64u << 20;

  // Yields the next chunk of input; an empty view means the input has ended.
  // A chunk's bytes must stay valid until the next call.
  using Source = std::function<Result<std::string_view>()>;

  explicit CsvReader(std::string_view text);
  explicit CsvReader(Source source);

  CsvReader(CsvReader&&) = default;
  CsvReader& operator=(CsvReader&&) = default;
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into `fields` (resized to its field count; the
  // strings are reused so a loop allocates little). Returns true for a record,
  // false at the end of the input, or the error.
  Result<bool> Next(std::vector<std::string>& fields);

  // The 1-based line on which the record last returned by Next() started.
  int64_t line() const { return record_line_; }

 private:
  // Makes chunk_[pos_] readable; false at the end of the input.
  Result<bool> Fill();

  std::string_view chunk_;
  size_t pos_ = 0;
  Source source_;  // empty for a single buffer
  bool source_done_ = false;
  bool at_input_start_ = true;  // no byte consumed yet: a BOM may follow
  size_t bom_matched_ = 0;      // BOM bytes seen so far at the input start
  bool last_was_cr_ = false;    // so CRLF counts as one line end
  int64_t line_ = 1;            // physical line of the next byte
  int64_t record_line_ = 0;
  std::optional<Status> error_;
};

// A header row, resolved by name and occurrence. Names are compared after
// trimming spaces and tabs, ASCII letters case-insensitively, because the
// export repeats names (two "Distance" columns) and the column set varies.
class CsvHeader {
 public:
  CsvHeader() = default;
  explicit CsvHeader(std::vector<std::string> names);

  // The index of the `occurrence`-th (0-based) column named `name`.
  std::optional<size_t> Find(std::string_view name, int occurrence = 0) const;

  size_t size() const { return names_.size(); }
  // The name as written (trimmed).
  const std::string& name(size_t i) const { return names_[i]; }

  // "A, B, C, ..." from the first `count` names, for error messages.
  std::string Describe(size_t count = 6) const;

 private:
  std::vector<std::string> names_;
};

}  // namespace stravafs::import
