// Fuzz target: the CSV reader (src/import/csv.h) and the readers of a bulk
// export's CSV files (src/import/export_csv.h).
//
// Input: the first four bytes choose how the text is cut into chunks for the
// streamed reader (each chunk a buffer of its own, so that a read past one is
// an ASan report); the rest is the CSV text.
// Checks:
//   - nothing crashes or has undefined behaviour (ASan, UBSan), in
//     CsvReader, ReadExportActivities, ReadExportProfile, ReadExportGear;
//   - CsvReader over a Source that yields the text in those chunks (records
//     may then span chunks anywhere: inside a quote, a CRLF, the BOM) gives
//     the same records, the same line() for each and the same error as the
//     reader over the whole buffer;
//   - the records, written back per RFC 4180 (CRLF line ends, fields quoted
//     when they hold ',', '"', CR or LF, start with a BOM byte sequence at
//     the start of the text, or are a record's only, empty field) read back
//     as the same fields, both through an independent RFC 4180 parser
//     (fuzz_check.h) and through CsvReader;
//   - ExportActivityReader over the chunked Source gives the very activities
//     and warnings of ReadExportActivities over the whole buffer; every
//     activity has a positive id, a start between 1900 and 2200, and no
//     number that is NaN or infinite.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "import/csv.h"
#include "import/export_csv.h"

using namespace stravafs;
using namespace stravafs::import;

namespace {

// Chunks of `text`, each in a heap buffer of exactly its size; sizes from a
// small generator seeded with the input's first bytes (1 to 64 bytes, with
// now and then a long one).
class Chunks {
 public:
  Chunks(std::string_view text, uint32_t seed) : text_(text), state_(seed | 1) {}

  CsvReader::Source source() {
    return [this]() -> Result<std::string_view> {
      if (pos_ >= text_.size()) return std::string_view();
      state_ ^= state_ << 13;
      state_ ^= state_ >> 17;
      state_ ^= state_ << 5;
      size_t n = (state_ % 8 == 0) ? 1 + state_ % 4096 : 1 + (state_ >> 8) % 64;
      n = std::min(n, text_.size() - pos_);
      current_ = std::make_unique<char[]>(n);
      std::memcpy(current_.get(), text_.data() + pos_, n);
      pos_ += n;
      return std::string_view(current_.get(), n);
    };
  }

 private:
  std::string_view text_;
  uint32_t state_;
  size_t pos_ = 0;
  std::unique_ptr<char[]> current_;
};

struct Records {
  std::vector<std::vector<std::string>> records;
  std::vector<int64_t> lines;
  std::string error;  // "" when the text was read to its end
};

Records ReadAll(CsvReader reader) {
  Records out;
  std::vector<std::string> fields;
  for (;;) {
    Result<bool> got = reader.Next(fields);
    if (!got.ok()) {
      out.error = got.status().message();
      FUZZ_CHECK(!out.error.empty(), "an error without a message");
      // Sticky: the next call gives the same error.
      Result<bool> again = reader.Next(fields);
      FUZZ_CHECK(!again.ok() && again.status().message() == out.error, out.error);
      return out;
    }
    if (!*got) return out;
    out.records.push_back(fields);
    out.lines.push_back(reader.line());
  }
}

// RFC 4180, written independently of the reader: CRLF after every record.
std::string WriteCsv(const std::vector<std::vector<std::string>>& records) {
  std::string out;
  for (const auto& record : records) {
    for (size_t i = 0; i < record.size(); ++i) {
      const std::string& f = record[i];
      if (i > 0) out += ',';
      // A record of one empty field is `""` (an empty line is no record), and
      // a first field starting with the BOM's bytes is quoted so that the
      // reader does not take them for the BOM.
      const bool quote = f.find_first_of(",\"\r\n") != std::string::npos || (record.size() == 1 && f.empty()) ||
                         (out.size() == 0 && f.size() >= 1 && f[0] == '\xEF');
      if (!quote) {
        out += f;
        continue;
      }
      out += '"';
      for (char c : f) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    }
    out += "\r\n";
  }
  return out;
}

std::string ShowRecord(const std::vector<std::string>& r) {
  std::string out = "[";
  for (size_t i = 0; i < r.size(); ++i) out += (i ? "|" : "") + fuzz::Show(r[i]);
  return out + "]";
}

void CheckCsvReader(std::string_view text, uint32_t seed) {
  const Records whole = ReadAll(CsvReader(text));
  Chunks chunks(text, seed);
  const Records streamed = ReadAll(CsvReader(chunks.source()));
  FUZZ_CHECK(whole.error == streamed.error, whole.error + " / streamed: " + streamed.error);
  FUZZ_CHECK(whole.records.size() == streamed.records.size(),
             std::to_string(whole.records.size()) + " records / streamed " + std::to_string(streamed.records.size()));
  for (size_t i = 0; i < whole.records.size(); ++i) {
    FUZZ_CHECK(whole.records[i] == streamed.records[i], "record " + std::to_string(i) + ": " +
                                                            ShowRecord(whole.records[i]) + " / streamed " +
                                                            ShowRecord(streamed.records[i]));
    FUZZ_CHECK(whole.lines[i] == streamed.lines[i], "record " + std::to_string(i) + " line");
    FUZZ_CHECK(!whole.records[i].empty(), "a record without fields");
    FUZZ_CHECK(whole.lines[i] >= 1 && (i == 0 || whole.lines[i] > whole.lines[i - 1]), "lines go forward");
  }

  const std::string written = WriteCsv(whole.records);
  std::string error;
  const auto parsed = fuzz::ParseCsv(written, error);
  FUZZ_CHECK(parsed, "written back, not RFC 4180: " + error + "\n" + fuzz::Show(written));
  FUZZ_CHECK(*parsed == whole.records, "written back, RFC 4180 reads other fields: " + fuzz::Show(written));
  const Records again = ReadAll(CsvReader(written));
  FUZZ_CHECK(again.error.empty(), again.error);
  FUZZ_CHECK(again.records == whole.records, "written back, CsvReader reads other fields: " + fuzz::Show(written));
}

bool SameOptional(const std::optional<double>& a, const std::optional<double>& b) {
  return a.has_value() == b.has_value() && (!a || std::memcmp(&*a, &*b, sizeof(double)) == 0);
}

std::string DiffActivity(const ExportActivity& a, const ExportActivity& b) {
  if (a.line != b.line) return "line";
  if (a.id != b.id) return "id";
  if (std::memcmp(&a.start_date, &b.start_date, sizeof(double)) != 0) return "start_date";
  if (a.name != b.name || a.activity_type != b.activity_type || a.sport_type != b.sport_type ||
      a.description != b.description || a.private_note != b.private_note || a.gear_name != b.gear_name ||
      a.filename != b.filename)
    return "text";
  if (a.commute != b.commute || a.flagged != b.flagged) return "flags";
  const std::optional<double> ExportActivity::*numbers[] = {
      &ExportActivity::elapsed_time,       &ExportActivity::moving_time,   &ExportActivity::distance,
      &ExportActivity::max_speed,          &ExportActivity::average_speed, &ExportActivity::elevation_gain,
      &ExportActivity::elevation_loss,     &ExportActivity::elevation_low, &ExportActivity::elevation_high,
      &ExportActivity::max_grade,          &ExportActivity::average_grade, &ExportActivity::max_heartrate,
      &ExportActivity::average_heartrate,  &ExportActivity::max_cadence,   &ExportActivity::average_cadence,
      &ExportActivity::max_watts,          &ExportActivity::average_watts, &ExportActivity::weighted_average_watts,
      &ExportActivity::kilojoules,         &ExportActivity::calories,      &ExportActivity::relative_effort,
      &ExportActivity::perceived_exertion, &ExportActivity::average_temp};
  for (size_t i = 0; i < std::size(numbers); ++i) {
    if (!SameOptional(a.*numbers[i], b.*numbers[i])) return "number " + std::to_string(i);
  }
  return "";
}

void CheckSane(const ExportActivity& a) {
  FUZZ_CHECK(a.id > 0, std::to_string(a.id));
  // 1900-01-01 to 2200-12-31 (ParseExportDate's years).
  FUZZ_CHECK(a.start_date >= -2208988800.0 && a.start_date < 7289654400.0, std::to_string(a.start_date));
  const std::pair<const char*, std::optional<double> ExportActivity::*> numbers[] = {
      {"elapsed_time", &ExportActivity::elapsed_time},
      {"moving_time", &ExportActivity::moving_time},
      {"distance", &ExportActivity::distance},
      {"max_speed", &ExportActivity::max_speed},
      {"average_speed", &ExportActivity::average_speed},
      {"elevation_gain", &ExportActivity::elevation_gain},
      {"elevation_loss", &ExportActivity::elevation_loss},
      {"elevation_low", &ExportActivity::elevation_low},
      {"elevation_high", &ExportActivity::elevation_high},
      {"max_grade", &ExportActivity::max_grade},
      {"average_grade", &ExportActivity::average_grade},
      {"max_heartrate", &ExportActivity::max_heartrate},
      {"average_heartrate", &ExportActivity::average_heartrate},
      {"max_cadence", &ExportActivity::max_cadence},
      {"average_cadence", &ExportActivity::average_cadence},
      {"max_watts", &ExportActivity::max_watts},
      {"average_watts", &ExportActivity::average_watts},
      {"weighted_average_watts", &ExportActivity::weighted_average_watts},
      {"kilojoules", &ExportActivity::kilojoules},
      {"calories", &ExportActivity::calories},
      {"relative_effort", &ExportActivity::relative_effort},
      {"perceived_exertion", &ExportActivity::perceived_exertion},
      {"average_temp", &ExportActivity::average_temp}};
  for (const auto& [name, n] : numbers) {
    FUZZ_CHECK(!(a.*n) || std::isfinite(*(a.*n)), std::string(name) + " is not finite");
  }
  FUZZ_CHECK(!a.elapsed_time || *a.elapsed_time >= 0, "negative elapsed time");
  FUZZ_CHECK(!a.moving_time || *a.moving_time >= 0, "negative moving time");
}

void CheckActivities(std::string_view text, uint32_t seed) {
  Result<ExportActivities> whole = ReadExportActivities(text);
  Chunks chunks(text, seed);
  Result<ExportActivityReader> reader = ExportActivityReader::Open(CsvReader(chunks.source()));
  if (!whole.ok()) {
    // Either the header failed (then Open did too, the same way) or a row
    // did: then the streamed reader fails at the same row.
    if (!reader.ok()) {
      FUZZ_CHECK(reader.status().message() == whole.status().message(),
                 whole.status().message() + " / streamed: " + reader.status().message());
      return;
    }
    ExportActivity a;
    for (;;) {
      Result<bool> got = reader->Next(a);
      FUZZ_CHECK(got.ok() || got.status().message() == whole.status().message(),
                 whole.status().message() + " / streamed: " + got.status().message());
      if (!got.ok()) return;
      FUZZ_CHECK(*got, "streamed read to the end, whole failed: " + whole.status().message());
    }
  }
  FUZZ_CHECK(reader.ok(), "streamed header failed: " + reader.status().message());
  FUZZ_CHECK(reader->language() == whole->language, "language");
  ExportActivity a;
  size_t i = 0;
  for (;; ++i) {
    Result<bool> got = reader->Next(a);
    FUZZ_CHECK(got.ok(), "streamed failed: " + got.status().message());
    if (!*got) break;
    FUZZ_CHECK(i < whole->activities.size(), "streamed gives more activities");
    const std::string diff = DiffActivity(whole->activities[i], a);
    FUZZ_CHECK(diff.empty(), "activity " + std::to_string(i) + " streamed differs: " + diff);
    CheckSane(a);
  }
  FUZZ_CHECK(i == whole->activities.size(), "streamed gives fewer activities");
  FUZZ_CHECK(reader->warnings().size() == whole->warnings.size() &&
                 reader->suppressed_warnings() == whole->suppressed_warnings,
             "warnings differ");
  for (size_t k = 0; k < whole->warnings.size(); ++k) {
    FUZZ_CHECK(reader->warnings()[k].ToString() == whole->warnings[k].ToString(), whole->warnings[k].ToString());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint32_t seed = uint32_t{data[0]} | uint32_t{data[1]} << 8 | uint32_t{data[2]} << 16 | uint32_t{data[3]} << 24;
  const std::string_view text(reinterpret_cast<const char*>(data + 4), size - 4);
  CheckCsvReader(text, seed);
  CheckActivities(text, seed);
  (void)ReadExportProfile(text);
  (void)ReadExportGear(text, seed & 1);
  if (text.size() <= 64) {
    if (std::optional<double> t = ParseExportDate(text)) FUZZ_CHECK(std::isfinite(*t), fuzz::Show(text));
  }
  return 0;
}
