// The CSV files of a Strava bulk export, read into typed records:
// activities.csv, profile.csv, bikes.csv and shoes.csv.
//
// Contract:
// - Columns are found by header name and occurrence, never by position: the
//   column set differs between exports (94 to 103 columns seen) and names
//   repeat with different meanings (the first "Distance" is for display, in
//   the account's unit; the second is meters).
// - English and German exports are read, and the short header of exports from
//   before mid-2019 (`id,date,name,type,...`). Any other header is an error
//   that names its first columns.
// - Units are the API's: seconds, meters, m/s, bpm, W, kcal, kJ, degrees C
//   (seconds, meters and m/s checked against a real row; see export_csv.cc).
//   Display columns are used only when the precise column is missing or empty.
// - Activity Date is taken as UTC (see ParseExportDate).
// - A cell that should be a number and is not: the row is kept, that field is
//   left empty, and a warning names the line and column. A row without a
//   usable Activity ID or Activity Date is skipped with a warning.
// - Nothing here throws (beyond std::bad_alloc) or aborts on input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "import/csv.h"

namespace stravafs::import {

// How the header was written.
enum class ExportLanguage { kEnglish, kGerman, kLegacy /* pre-2019 `id,date,...` */ };

// Something wrong with one row that did not stop the file.
struct ExportWarning {
  int64_t line = 0;     // where the row starts in the file (1-based)
  std::string column;   // the header name as written; "" for the row as a whole
  std::string message;  // e.g. `not a number: "fast"`

  // "line 12: Max Speed: not a number: "fast"".
  std::string ToString() const;
};

// One row of activities.csv. Optional fields are empty when the cell was
// empty, missing or malformed.
struct ExportActivity {
  int64_t line = 0;       // where the row starts in activities.csv
  int64_t id = 0;         // Strava's activity id (> 0)
  double start_date = 0;  // UTC, seconds since the Unix epoch
  std::string name;
  std::string activity_type;  // as written: "Virtual Ride", "Radfahrt", ...
  std::string sport_type;     // Strava's sport_type ("VirtualRide"); "" if unknown
  std::string description;    // may span lines; kept as written
  std::string private_note;
  std::string gear_name;                            // Activity Gear: a bike's name, or a shoe's (see ExportGearMatches)
  std::string filename;                             // e.g. "activities/12866632127.fit.gz"; "" for a manual activity
  std::optional<double> elapsed_time, moving_time;  // s
  std::optional<double> distance;                   // m
  std::optional<double> max_speed, average_speed;   // m/s
  std::optional<double> elevation_gain, elevation_loss;    // m
  std::optional<double> elevation_low, elevation_high;     // m
  std::optional<double> max_grade, average_grade;          // % (assumed; no export seen with values)
  std::optional<double> max_heartrate, average_heartrate;  // bpm
  std::optional<double> max_cadence, average_cadence;      // as written; taken to be the API's unit
  std::optional<double> max_watts, average_watts;          // W
  std::optional<double> weighted_average_watts;            // W
  std::optional<double> kilojoules;                        // kJ of work (from Total Work)
  std::optional<double> calories;                          // kcal
  std::optional<double> relative_effort;                   // the API's suffer_score
  std::optional<double> perceived_exertion;                // 1..10
  std::optional<double> average_temp;                      // degrees C
  std::optional<bool> commute, flagged;
};

// Reads activities.csv a row at a time.
class ExportActivityReader {
 public:
  // Reads and resolves the header. Fails on an unknown header, naming it, or
  // when the header has no Activity ID or Activity Date column.
  static Result<ExportActivityReader> Open(CsvReader csv);

  // The next usable row into `out`: true, false at the end, or a CSV error
  // (unterminated quote, ...). Rows that cannot be used are skipped and warned.
  Result<bool> Next(ExportActivity& out);

  ExportLanguage language() const { return language_; }

  // Warnings so far (at most kMaxWarnings kept; the rest are only counted).
  static constexpr size_t kMaxWarnings = 1000;
  const std::vector<ExportWarning>& warnings() const { return warnings_; }
  size_t suppressed_warnings() const { return suppressed_; }

 private:
  ExportActivityReader(CsvReader csv, ExportLanguage language, CsvHeader header);
  void Warn(int64_t line, std::string column, std::string message);
  bool ParseRow(ExportActivity& out);  // false: skip the row

  CsvReader csv_;
  ExportLanguage language_;
  CsvHeader header_;
  std::vector<int> columns_;  // column index per field, -1 if absent
  std::vector<std::string> row_;
  std::vector<ExportWarning> warnings_;
  size_t suppressed_ = 0;
};

// All of activities.csv at once.
struct ExportActivities {
  ExportLanguage language = ExportLanguage::kEnglish;
  std::vector<ExportActivity> activities;
  std::vector<ExportWarning> warnings;
  size_t suppressed_warnings = 0;
};
Result<ExportActivities> ReadExportActivities(std::string_view csv_text);

// profile.csv: the account's athlete.
struct ExportProfile {
  std::optional<int64_t> id;
  std::string first_name, last_name;
  std::string sex;  // "M", "F", or as written when neither
  std::string description;
  std::string city, state, country;
  std::optional<double> weight;  // kg
};
// An empty file or one without a data row gives an empty profile; a header
// with none of the id and name columns is an error.
Result<ExportProfile> ReadExportProfile(std::string_view csv_text);

// One row of bikes.csv or shoes.csv.
struct ExportGear {
  std::string name;  // "Bike Name"/"Shoe Name"; for a nameless shoe, "<brand> <model>"
  std::string brand, model;
  bool bike = false;  // from which file, never from the row
};
Result<std::vector<ExportGear>> ReadExportGear(std::string_view csv_text, bool bikes);

// Whether an activity's "Activity Gear" names `gear`. A bike is named by its
// name; a shoe by "<brand> <model>", followed by its name when it has one
// (peers found both in real exports). Blanks are collapsed, ASCII letters
// compared case-insensitively.
bool ExportGearMatches(const ExportGear& gear, std::string_view activity_gear);

// Activity Date as UTC epoch seconds. Reads "May 29, 2022, 3:53:35 PM" (also
// with U+202F/U+00A0 before PM), "29 May 2022, 15:53:35", German
// "29.05.2022, 15:53:35" and "29. Mai 2022, 15:53:35", and the old
// "2018-09-12 15:02:23". nullopt for anything else or an impossible date.
std::optional<double> ParseExportDate(std::string_view text);

// Strava's sport_type for an export's Activity Type: the old coarse type as
// the account's language writes it ("Run", "Virtual Ride", "Nordic Ski",
// "Lauf", "Radfahrt", ...). English names not in the table are compacted
// ("Stand Up Paddling" -> "StandUpPaddling"); "" for an unknown name of a
// German export.
std::string SportTypeFromExportType(std::string_view activity_type, ExportLanguage language);

}  // namespace stravafs::import
