// CsvReader and CsvHeader; the contract is in csv.h.
#include "import/csv.h"

#include <utility>

namespace stravafs::import {
namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";

bool IsLineEnd(char c) { return c == '\n' || c == '\r'; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsAsciiCaseless(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

}  // namespace

CsvReader::CsvReader(std::string_view text) : chunk_(text) {}

CsvReader::CsvReader(Source source) : source_(std::move(source)) {}

Result<bool> CsvReader::Fill() {
  while (pos_ >= chunk_.size()) {
    if (!source_ || source_done_) return false;
    Result<std::string_view> next = source_();
    if (!next.ok()) return next.status();
    if (next->empty()) {
      source_done_ = true;
      return false;
    }
    chunk_ = *next;
    pos_ = 0;
  }
  return true;
}

Result<bool> CsvReader::Next(std::vector<std::string>& fields) {
  if (error_) return *error_;
  auto fail = [this](Status s) -> Result<bool> {
    error_ = s;
    return s;
  };

  // A partial BOM (invalid UTF-8, but bytes all the same) goes back into the
  // first field, so the contract's pass-through holds.
  std::string carry;
  if (at_input_start_) {
    while (bom_matched_ < 3) {
      Result<bool> more = Fill();
      if (!more.ok()) return fail(more.status());
      if (!*more || chunk_[pos_] != kBom[bom_matched_]) break;
      ++pos_;
      ++bom_matched_;
    }
    at_input_start_ = false;
    if (bom_matched_ < 3) carry.assign(kBom, bom_matched_);
  }

  enum State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  State state = kFieldStart;
  bool in_record = false;
  size_t n = 0;
  size_t record_bytes = 0;
  std::string* field = nullptr;

  auto begin_field = [&] {
    if (n < fields.size()) {
      fields[n].clear();
    } else {
      fields.emplace_back();
    }
    field = &fields[n++];
  };
  // Consumes one byte, counting line ends (CRLF once).
  auto consume = [this](char c) {
    ++pos_;
    if (c == '\r') {
      ++line_;
    } else if (c == '\n' && !last_was_cr_) {
      ++line_;
    }
    last_was_cr_ = (c == '\r');
  };
  auto end_record = [&]() -> Result<bool> {
    fields.resize(n);
    return true;
  };
  auto too_long = [&] {
    return fail(Status::Error(ErrorKind::kGeneric, "line " + std::to_string(record_line_) + ": a record longer than " +
                                                       std::to_string(kMaxRecordBytes >> 20) +
                                                       " MiB (is a quote unbalanced?)"));
  };

  if (!carry.empty()) {
    in_record = true;
    record_line_ = line_;
    begin_field();
    field->append(carry);
    record_bytes = carry.size();
    state = kUnquoted;
  }

  for (;;) {
    Result<bool> more = Fill();
    if (!more.ok()) return fail(more.status());
    if (!*more) {
      if (!in_record) {
        fields.clear();
        return false;
      }
      if (state == kQuoted) {
        return fail(Status::Error(ErrorKind::kGeneric,
                                  "line " + std::to_string(record_line_) +
                                      ": a quoted field is never closed (its quote runs to the end of the input)"));
      }
      if (state == kFieldStart) begin_field();  // "a," at the end: a last, empty field
      return end_record();
    }

    const char c = chunk_[pos_];
    switch (state) {
      case kFieldStart:
        if (!in_record) {
          if (IsLineEnd(c)) {  // a blank line, or the LF of a CRLF that ended the last record
            consume(c);
            continue;
          }
          in_record = true;
          record_line_ = line_;
        }
        begin_field();
        if (c == '"') {
          consume(c);
          state = kQuoted;
        } else {
          state = kUnquoted;
        }
        continue;

      case kUnquoted: {
        size_t j = pos_;
        while (j < chunk_.size() && chunk_[j] != ',' && !IsLineEnd(chunk_[j])) ++j;
        if (j > pos_) {
          record_bytes += j - pos_;
          if (record_bytes > kMaxRecordBytes) return too_long();
          field->append(chunk_.data() + pos_, j - pos_);
          pos_ = j;
          last_was_cr_ = false;
        }
        if (pos_ == chunk_.size()) continue;  // the field goes on in the next chunk
        break;
      }

      case kQuoted: {
        size_t j = pos_;
        while (j < chunk_.size() && chunk_[j] != '"') {
          const char d = chunk_[j];
          if (d == '\r' || (d == '\n' && !last_was_cr_)) ++line_;
          last_was_cr_ = (d == '\r');
          ++j;
        }
        record_bytes += j - pos_;
        if (record_bytes > kMaxRecordBytes) return too_long();
        field->append(chunk_.data() + pos_, j - pos_);
        pos_ = j;
        if (pos_ < chunk_.size()) {
          consume('"');
          state = kQuoteInQuoted;
        }
        continue;
      }

      case kQuoteInQuoted:
        if (c == '"') {  // a doubled quote: one literal quote, still inside
          consume(c);
          if (++record_bytes > kMaxRecordBytes) return too_long();
          field->push_back('"');
          state = kQuoted;
          continue;
        }
        if (c == ',' || IsLineEnd(c)) break;
        state = kUnquoted;  // `"ab"c`: keep the text after the closing quote
        continue;
    }

    // chunk_[pos_] is the ',' or line end that ends the current field.
    const char end = chunk_[pos_];
    consume(end);
    if (end == ',') {
      state = kFieldStart;
      continue;
    }
    return end_record();
  }
}

CsvHeader::CsvHeader(std::vector<std::string> names) : names_(std::move(names)) {
  for (std::string& name : names_) {
    std::string_view s = name;
    if (s.substr(0, 3) == std::string_view(kBom, 3)) s.remove_prefix(3);
    name = std::string(TrimBlanks(s));
  }
}

std::optional<size_t> CsvHeader::Find(std::string_view name, int occurrence) const {
  const std::string_view wanted = TrimBlanks(name);
  int seen = 0;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (EqualsAsciiCaseless(names_[i], wanted) && seen++ == occurrence) return i;
  }
  return std::nullopt;
}

std::string CsvHeader::Describe(size_t count) const {
  std::string out;
  for (size_t i = 0; i < names_.size() && i < count; ++i) {
    if (i > 0) out += ", ";
    out += names_[i].empty() ? std::string("(empty)") : names_[i];
  }
  if (names_.size() > count) out += ", ...";
  if (out.empty()) out = "(none)";
  return out;
}

}  // namespace stravafs::import
