// The export's CSV files into typed records; the contract is in export_csv.h.
//
// Where the knowledge comes from (header names, formats, units), so the next
// reader can check it:
// - English and German activities.csv headers: geo-activity-playground issues
//   #131, #348, #393 (German, 92-94 columns) and #403 (English, 101 columns);
//   its strava_checkout.py (99 English columns, German mapped by position);
//   the same columns in solstone's Strava reader tests (English 86/103,
//   German 92), which also resolve columns by name and occurrence.
// - Units: a real row quoted in a peer's test (Elapsed Time 18485 twice,
//   Distance 12.36 then 12360.4, Average Speed 0.819 = 12360.4 m / 15099 s
//   moving, Elevation High 5154.2 for a 5106 m pass): seconds, meters, m/s.
// - German export: Activity Date "20.09.2026, 14:12:12"; the first Distanz is
//   written for display with a decimal comma ("10,20") and, for swims, in
//   meters with a thousands dot ("1.500"); the other number columns use a
//   decimal point (OL1's notes from a real German export, strava_import.py).
// - Old exports: hugovk/strava-tools PR #1/#2 (`id,date,...`, "2018-09-12
//   15:02:23", distance in meters; mid-2019 headers with km).
// - Gear: Endurain's bikes.csv/shoes.csv import; a peer's note that Activity
//   Gear names a shoe as "<brand> <model>[ <name>]".
#include "import/export_csv.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>
#include <utility>

#include "base/utf8.h"

namespace stravafs::import {
namespace {

// ---------------------------------------------------------------- text

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string AsciiLowerString(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of the blank (space, tab, CR, LF, U+00A0, U+202F) at s[i], or 0.
size_t BlankAt(std::string_view s, size_t i) {
  const char c = s[i];
  if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return 1;
  if (s.substr(i, 2) == "\xC2\xA0") return 2;
  if (s.substr(i, 3) == "\xE2\x80\xAF") return 3;
  return 0;
}

std::string_view Trim(std::string_view s) {
  for (size_t n; !s.empty() && (n = BlankAt(s, 0)) > 0;) s.remove_prefix(n);
  for (;;) {
    if (s.empty()) break;
    if (BlankAt(s, s.size() - 1) == 1) {
      s.remove_suffix(1);
    } else if (s.size() >= 2 && BlankAt(s, s.size() - 2) == 2) {
      s.remove_suffix(2);
    } else if (s.size() >= 3 && BlankAt(s, s.size() - 3) == 3) {
      s.remove_suffix(3);
    } else {
      break;
    }
  }
  return s;
}

// Trimmed, inner blanks collapsed to one space, ASCII letters lowered.
std::string NormalizeName(std::string_view s) {
  s = Trim(s);
  std::string out;
  bool blank = false;
  for (size_t i = 0; i < s.size();) {
    if (const size_t n = BlankAt(s, i); n > 0) {
      blank = true;
      i += n;
      continue;
    }
    if (blank) out.push_back(' ');
    blank = false;
    out.push_back(AsciiLower(s[i++]));
  }
  return out;
}

// A cell for a warning: at most kMax bytes, cut on a UTF-8 boundary, control
// characters shown as '?' so a warning stays one line.
std::string Quoted(std::string_view s) {
  constexpr size_t kMax = 40;
  const size_t cut = Utf8Prefix(s, kMax);
  std::string out = "\"";
  for (char c : s.substr(0, cut)) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7F ? '?' : c);
  if (cut < s.size()) out += "...";
  out += "\"";
  return out;
}

// ---------------------------------------------------------------- numbers

enum class CellKind { kEmpty, kOk, kBad };
struct NumberCell {
  CellKind kind = CellKind::kEmpty;
  double value = 0;
};

// Whether `digits` (an optional '-' then digits and `sep`) groups by three:
// "1,234,567" yes, "12,34" no.
bool IsGrouped(std::string_view digits, char sep) {
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  size_t group = 0;
  bool first = true;
  for (char c : digits) {
    if (c == sep) {
      if (group == 0 || (first && group > 3) || (!first && group != 3)) return false;
      first = false;
      group = 0;
    } else if (IsDigit(c)) {
      ++group;
    } else {
      return false;
    }
  }
  return !first && group == 3;
}

// How a number cell is written. Exports write their precise columns with a
// decimal point in every language; only display columns follow the account's
// locale ("10,20" km and "1.500" m in German, "1,500" m in English).
enum class NumberStyle {
  kPlain,          // English, and legacy: '.' decimal, ',' only as thousands grouping
  kGermanPlain,    // German precise columns: '.' decimal; a lone ',' is taken as decimal too
  kGermanDisplay,  // German display columns: '.' groups thousands, ',' is the decimal
};

NumberCell ParseNumber(std::string_view cell, NumberStyle style) {
  std::string_view s = Trim(cell);
  if (s.empty()) return {};
  if (s.front() == '+') s.remove_prefix(1);
  const NumberCell bad{CellKind::kBad, 0};
  if (s.size() > 64) return bad;

  std::string buf(s);
  const size_t comma = buf.find(',');
  const size_t dot = buf.find('.');
  auto strip = [&buf](char c) { buf.erase(std::remove(buf.begin(), buf.end(), c), buf.end()); };
  auto german_display = [&]() -> bool {
    // '.' groups, one ',' is the decimal.
    const std::string_view whole = std::string_view(buf).substr(0, buf.find(','));
    if (whole.find('.') != std::string_view::npos && !IsGrouped(whole, '.')) return false;
    if (buf.find(',') != buf.rfind(',')) return false;
    strip('.');
    if (const size_t c = buf.find(','); c != std::string::npos) buf[c] = '.';
    return true;
  };

  switch (style) {
    case NumberStyle::kPlain:
      if (comma != std::string::npos) {
        if (!IsGrouped(std::string_view(buf).substr(0, dot), ',')) return bad;
        strip(',');
      }
      break;
    case NumberStyle::kGermanPlain:
      if (comma != std::string::npos && dot == std::string::npos) {
        if (buf.find(',') != buf.rfind(',')) return bad;
        buf[comma] = '.';
      } else if (comma != std::string::npos && !german_display()) {
        return bad;
      }
      break;
    case NumberStyle::kGermanDisplay:
      if (!german_display()) return bad;
      break;
  }

  double v = 0;
  const char* first = buf.data();
  const char* last = buf.data() + buf.size();
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || ptr != last || !std::isfinite(v)) return bad;
  return {CellKind::kOk, v};
}

// Seconds, not negative: a number, or "h:mm:ss" / "m:ss" as display columns may write it.
NumberCell ParseSeconds(std::string_view cell, NumberStyle style) {
  const std::string_view s = Trim(cell);
  if (s.find(':') == std::string_view::npos) {
    const NumberCell n = ParseNumber(s, style);
    if (n.kind == CellKind::kOk && n.value < 0) return {CellKind::kBad, 0};
    return n;
  }
  double total = 0;
  int parts = 0;
  size_t start = 0;
  for (;;) {
    const size_t colon = s.find(':', start);
    const std::string_view part = s.substr(start, colon == std::string_view::npos ? colon : colon - start);
    const bool last = colon == std::string_view::npos;
    const NumberCell n = ParseNumber(part, NumberStyle::kPlain);
    if (n.kind != CellKind::kOk || n.value < 0 || (!last && std::floor(n.value) != n.value)) {
      return {CellKind::kBad, 0};
    }
    if (parts > 0 && n.value >= 60) return {CellKind::kBad, 0};
    total = total * 60 + n.value;
    if (++parts > 3) return {CellKind::kBad, 0};
    if (last) break;
    start = colon + 1;
  }
  // "1e308:00" has finite parts and an infinite total: not a duration
  // (found by fuzz_export_csv's no-infinity check).
  if (parts < 2 || !std::isfinite(total)) return {CellKind::kBad, 0};
  return {CellKind::kOk, total};
}

enum class BoolCell { kEmpty, kTrue, kFalse, kBad };

BoolCell ParseBool(std::string_view cell) {
  const std::string s = AsciiLowerString(Trim(cell));
  if (s.empty()) return BoolCell::kEmpty;
  for (const char* t : {"true", "yes", "wahr", "ja"}) {
    if (s == t) return BoolCell::kTrue;
  }
  for (const char* f : {"false", "no", "falsch", "nein"}) {
    if (s == f) return BoolCell::kFalse;
  }
  // The later duplicate columns write flags as 1.0/0.0.
  const NumberCell n = ParseNumber(s, NumberStyle::kPlain);
  if (n.kind != CellKind::kOk) return BoolCell::kBad;
  return n.value != 0 ? BoolCell::kTrue : BoolCell::kFalse;
}

// A positive integer id; "123.0" is accepted, as spreadsheets write ids back.
std::optional<int64_t> ParseId(std::string_view cell) {
  std::string_view s = Trim(cell);
  if (const size_t dot = s.find('.'); dot != std::string_view::npos) {
    const std::string_view frac = s.substr(dot + 1);
    if (frac.empty() || frac.find_first_not_of('0') != std::string_view::npos) return std::nullopt;
    s = s.substr(0, dot);
  }
  if (s.empty() || !std::all_of(s.begin(), s.end(), IsDigit)) return std::nullopt;
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

// ---------------------------------------------------------------- dates

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
// (H. Hinnant's days_from_civil), so no time zone or libc state is involved.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return kDays[m - 1];
}

// Month names and abbreviations, English and German, lower case.
int MonthFromWord(std::string_view word) {
  struct Name {
    const char* name;
    int month;
  };
  static constexpr Name kNames[] = {
      {"jan", 1},      {"january", 1},   {"januar", 1}, {"j\xC3\xA4n", 1}, {"j\xC3\xA4nner", 1}, {"feb", 2},
      {"february", 2}, {"februar", 2},   {"mar", 3},    {"march", 3},      {"m\xC3\xA4r", 3},    {"m\xC3\xA4rz", 3},
      {"mrz", 3},      {"apr", 4},       {"april", 4},  {"may", 5},        {"mai", 5},           {"jun", 6},
      {"june", 6},     {"juni", 6},      {"jul", 7},    {"july", 7},       {"juli", 7},          {"aug", 8},
      {"august", 8},   {"sep", 9},       {"sept", 9},   {"september", 9},  {"oct", 10},          {"october", 10},
      {"okt", 10},     {"oktober", 10},  {"nov", 11},   {"november", 11},  {"dec", 12},          {"december", 12},
      {"dez", 12},     {"dezember", 12},
  };
  const std::string w = AsciiLowerString(word);
  for (const Name& n : kNames) {
    if (w == n.name) return n.month;
  }
  return 0;
}

struct DateToken {
  bool number = false;
  int64_t value = 0;
  size_t digits = 0;
  std::string_view word;
  char sep = 0;  // the last separator before the token ('.', '-', ',', ':', ' '), 0 at the start
};

}  // namespace

std::optional<double> ParseExportDate(std::string_view text) {
  const std::string_view s = Trim(text);
  std::vector<DateToken> toks;
  char sep = 0;
  for (size_t i = 0; i < s.size();) {
    if (const size_t n = BlankAt(s, i); n > 0) {
      if (sep == 0 || sep == ' ') sep = ' ';
      i += n;
      continue;
    }
    const char c = s[i];
    DateToken t;
    t.sep = sep;
    if (IsDigit(c)) {
      size_t j = i;
      while (j < s.size() && IsDigit(s[j])) ++j;
      if (j - i > 9) return std::nullopt;
      t.number = true;
      t.digits = j - i;
      std::from_chars(s.data() + i, s.data() + j, t.value);
      i = j;
    } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || static_cast<unsigned char>(c) >= 0x80) {
      size_t j = i;
      while (
          j < s.size() && BlankAt(s, j) == 0 &&
          ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= 'a' && s[j] <= 'z') || static_cast<unsigned char>(s[j]) >= 0x80)) {
        ++j;
      }
      t.word = s.substr(i, j - i);
      i = j;
    } else {
      sep = c;
      ++i;
      continue;
    }
    sep = 0;
    toks.push_back(t);
    if (toks.size() > 10) return std::nullopt;
  }

  size_t k = 0;
  auto number = [&](int64_t& out) {
    if (k >= toks.size() || !toks[k].number) return false;
    out = toks[k++].value;
    return true;
  };
  auto word_is = [&](std::initializer_list<const char*> words) {
    if (k >= toks.size() || toks[k].number) return false;
    const std::string w = AsciiLowerString(toks[k].word);
    for (const char* x : words) {
      if (w == x) {
        ++k;
        return true;
      }
    }
    return false;
  };

  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  bool iso = false;
  if (toks.empty()) return std::nullopt;
  if (!toks[0].number) {
    // "May 29, 2022, 3:53:35 PM"
    mo = MonthFromWord(toks[k++].word);
    if (mo == 0 || !number(d) || !number(y)) return std::nullopt;
  } else if (toks[0].digits == 4) {
    // "2018-09-12 15:02:23", "2024-06-01T06:00:00Z"
    iso = true;
    if (!number(y) || !number(mo) || !number(d)) return std::nullopt;
    if (toks[1].sep != '-' || toks[2].sep != '-') return std::nullopt;
    word_is({"t"});
  } else if (toks.size() > 1 && !toks[1].number) {
    // "29 May 2022, 15:53:35", "29. Mai 2022, 15:53:35"
    number(d);
    mo = MonthFromWord(toks[k++].word);
    if (mo == 0 || !number(y)) return std::nullopt;
  } else {
    // "29.05.2022, 15:53:35": day first, and only with dots, since a
    // slash date could be either way round.
    if (!number(d) || !number(mo) || !number(y)) return std::nullopt;
    if (toks[1].sep != '.' || toks[2].sep != '.') return std::nullopt;
  }
  if (!number(h) || !number(mi)) return std::nullopt;
  if (k < toks.size() && toks[k].number && toks[k].sep == ':') number(sec);

  bool pm = false, twelve_hour = false;
  if (!iso && k < toks.size()) {
    if (word_is({"am"})) {
      twelve_hour = true;
    } else if (word_is({"pm"})) {
      twelve_hour = pm = true;
    }
  }
  if (iso) word_is({"z", "utc"});
  if (!iso) word_is({"utc", "uhr"});
  if (k != toks.size()) return std::nullopt;

  if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 ||
      d > DaysInMonth(static_cast<int>(y), static_cast<int>(mo))) {
    return std::nullopt;
  }
  if (twelve_hour) {
    if (h < 1 || h > 12) return std::nullopt;
    h = (h % 12) + (pm ? 12 : 0);
  }
  if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  return static_cast<double>(DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec);
}

// ---------------------------------------------------------------- sport types

std::string SportTypeFromExportType(std::string_view activity_type, ExportLanguage language) {
  struct Entry {
    const char* name;  // lower case, one space between words
    const char* sport_type;
  };
  // English: the old coarse types as exports write them. German: "Lauf",
  // "Radfahrt", "Schwimmen", "Training" are from a real export (OL1);
  // "Virtuelle Radfahrt", "Virtueller Lauf", "E-Bike-Radfahrt", "Traillauf",
  // "Mountainbike-Fahrt", "Schotterfahrt", "Spaziergang", "Wandern",
  // "Gewichtstraining" from peers' code; the rest are Strava's German app
  // names as best known, unverified against an export.
  static constexpr Entry kTable[] = {
      // English
      {"ride", "Ride"},
      {"run", "Run"},
      {"swim", "Swim"},
      {"walk", "Walk"},
      {"hike", "Hike"},
      {"alpine ski", "AlpineSki"},
      {"backcountry ski", "BackcountrySki"},
      {"nordic ski", "NordicSki"},
      {"roller ski", "RollerSki"},
      {"canoe", "Canoeing"},
      {"canoeing", "Canoeing"},
      {"crossfit", "Crossfit"},
      {"e-bike ride", "EBikeRide"},
      {"ebike ride", "EBikeRide"},
      {"e-mountain bike ride", "EMountainBikeRide"},
      {"emountain bike ride", "EMountainBikeRide"},
      {"elliptical", "Elliptical"},
      {"golf", "Golf"},
      {"gravel ride", "GravelRide"},
      {"handcycle", "Handcycle"},
      {"hiit", "HighIntensityIntervalTraining"},
      {"high intensity interval training", "HighIntensityIntervalTraining"},
      {"ice skate", "IceSkate"},
      {"inline skate", "InlineSkate"},
      {"kayaking", "Kayaking"},
      {"kitesurf", "Kitesurf"},
      {"mountain bike ride", "MountainBikeRide"},
      {"rock climb", "RockClimbing"},
      {"rock climbing", "RockClimbing"},
      {"rowing", "Rowing"},
      {"row", "Rowing"},
      {"sail", "Sail"},
      {"skateboard", "Skateboard"},
      {"snowboard", "Snowboard"},
      {"snowshoe", "Snowshoe"},
      {"soccer", "Soccer"},
      {"football (soccer)", "Soccer"},
      {"stair-stepper", "StairStepper"},
      {"stair stepper", "StairStepper"},
      {"stand up paddling", "StandUpPaddling"},
      {"stand up paddle", "StandUpPaddling"},
      {"surf", "Surfing"},
      {"surfing", "Surfing"},
      {"trail run", "TrailRun"},
      {"velomobile", "Velomobile"},
      {"virtual ride", "VirtualRide"},
      {"virtual run", "VirtualRun"},
      {"virtual row", "VirtualRow"},
      {"weight training", "WeightTraining"},
      {"wheelchair", "Wheelchair"},
      {"windsurf", "Windsurf"},
      {"workout", "Workout"},
      {"yoga", "Yoga"},
      {"pilates", "Pilates"},
      {"padel", "Padel"},
      {"pickleball", "Pickleball"},
      {"racquetball", "Racquetball"},
      {"squash", "Squash"},
      {"badminton", "Badminton"},
      {"tennis", "Tennis"},
      {"table tennis", "TableTennis"},
      // German
      {"lauf", "Run"},
      {"radfahrt", "Ride"},
      {"schwimmen", "Swim"},
      {"training", "Workout"},
      {"virtuelle radfahrt", "VirtualRide"},
      {"virtueller lauf", "VirtualRun"},
      {"e-bike-radfahrt", "EBikeRide"},
      {"e-bike-fahrt", "EBikeRide"},
      {"traillauf", "TrailRun"},
      {"mountainbike-fahrt", "MountainBikeRide"},
      {"e-mountainbike-fahrt", "EMountainBikeRide"},
      {"schotterfahrt", "GravelRide"},
      {"gravel-fahrt", "GravelRide"},
      {"spaziergang", "Walk"},
      {"gehen", "Walk"},
      {"wanderung", "Hike"},
      {"wandern", "Hike"},
      {"krafttraining", "WeightTraining"},
      {"gewichtstraining", "WeightTraining"},
      {"ski alpin", "AlpineSki"},
      {"alpinski", "AlpineSki"},
      {"skitour", "BackcountrySki"},
      {"langlauf", "NordicSki"},
      {"skilanglauf", "NordicSki"},
      {"rollski", "RollerSki"},
      {"rudern", "Rowing"},
      {"virtuelles rudern", "VirtualRow"},
      {"kajak", "Kayaking"},
      {"kajakfahren", "Kayaking"},
      {"kanu", "Canoeing"},
      {"kanufahren", "Canoeing"},
      {"stehpaddeln", "StandUpPaddling"},
      {"stand-up-paddling", "StandUpPaddling"},
      {"crosstrainer", "Elliptical"},
      {"ellipsentrainer", "Elliptical"},
      {"stepper", "StairStepper"},
      {"eislaufen", "IceSkate"},
      {"inlineskaten", "InlineSkate"},
      {"inline-skaten", "InlineSkate"},
      {"klettern", "RockClimbing"},
      {"felsklettern", "RockClimbing"},
      {"snowboarden", "Snowboard"},
      {"schneeschuhwandern", "Snowshoe"},
      {"surfen", "Surfing"},
      {"windsurfen", "Windsurf"},
      {"kitesurfen", "Kitesurf"},
      {"segeln", "Sail"},
      {"skateboarden", "Skateboard"},
      {"fu\xC3\x9F"
       "ball",
       "Soccer"},
      {"rollstuhl", "Wheelchair"},
      {"handbike", "Handcycle"},
      {"velomobil", "Velomobile"},
      {"tischtennis", "TableTennis"},
      {"hochintensives intervalltraining", "HighIntensityIntervalTraining"},
  };
  const std::string key = NormalizeName(activity_type);
  if (key.empty()) return "";
  for (const Entry& e : kTable) {
    if (key == e.name) return e.sport_type;
  }
  if (language == ExportLanguage::kGerman) return "";
  // English names are the sport_type with spaces: compact what the table
  // does not know ("Stand Up Paddling", or a sport_type written as such).
  std::string out;
  bool word_start = true;
  for (char c : Trim(activity_type)) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || IsDigit(c)) {
      out.push_back(word_start && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
      word_start = false;
    } else if (c == ' ' || c == '-') {
      word_start = true;
    } else {
      return "";
    }
  }
  return out;
}

// ---------------------------------------------------------------- activities.csv

namespace {

enum Col : int {
  kId,
  kDate,
  kName,
  kType,
  kDescription,
  kPrivateNote,
  kGear,
  kFilename,
  kElapsedDisplay,
  kElapsed,
  kMoving,
  kDistanceDisplay,
  kDistance,
  kMaxSpeed,
  kAverageSpeed,
  kElevationGain,
  kElevationLoss,
  kElevationLow,
  kElevationHigh,
  kMaxGrade,
  kAverageGrade,
  kMaxCadence,
  kAverageCadence,
  kMaxHeartRateDisplay,
  kMaxHeartRate,
  kAverageHeartRate,
  kMaxWatts,
  kAverageWatts,
  kWeightedAverageWatts,
  kTotalWork,
  kCalories,
  kRelativeEffortDisplay,
  kRelativeEffort,
  kPerceivedExertion,
  kAverageTemp,
  kCommuteDisplay,
  kCommute,
  kFlagged,
  kColCount
};

struct ColumnName {
  Col col;
  const char* en;
  const char* de;
  int occurrence;      // of the English/German name
  const char* legacy;  // in the old `id,date,...` header, or nullptr
};

// Where a name repeats, occurrence 0 is the display column (formatted for
// people, in the account's unit) and occurrence 1 the precise one.
constexpr ColumnName kColumns[] = {
    {kId, "Activity ID", "Aktivit\xC3\xA4ts-ID", 0, "id"},
    {kDate, "Activity Date", "Aktivit\xC3\xA4tsdatum", 0, "date"},
    {kName, "Activity Name", "Name der Aktivit\xC3\xA4t", 0, "name"},
    {kType, "Activity Type", "Aktivit\xC3\xA4tsart", 0, "type"},
    {kDescription, "Activity Description", "Aktivit\xC3\xA4tsbeschreibung", 0, "description"},
    {kPrivateNote, "Activity Private Note", "Hinweis zur Privatsph\xC3\xA4re f\xC3\xBCr Aktivit\xC3\xA4ten", 0,
     nullptr},
    {kGear, "Activity Gear", "Aktivit\xC3\xA4tsausr\xC3\xBCstung", 0, "gear"},
    {kFilename, "Filename", "Dateiname", 0, "filename"},
    {kElapsedDisplay, "Elapsed Time", "Verstrichene Zeit", 0, nullptr},
    {kElapsed, "Elapsed Time", "Verstrichene Zeit", 1, "elapsed_time"},
    {kMoving, "Moving Time", "Bewegungszeit", 0, nullptr},
    {kDistanceDisplay, "Distance", "Distanz", 0, nullptr},
    {kDistance, "Distance", "Distanz", 1, "distance"},  // legacy: meters
    {kMaxSpeed, "Max Speed",
     "H\xC3\xB6"
     "chstgeschw.",
     0, nullptr},
    {kAverageSpeed, "Average Speed", "Durchschnittliche Geschwindigkeit", 0, nullptr},
    {kElevationGain, "Elevation Gain", "H\xC3\xB6henzunahme", 0, nullptr},
    {kElevationLoss, "Elevation Loss", "H\xC3\xB6henunterschied", 0, nullptr},
    {kElevationLow, "Elevation Low", "Min. H\xC3\xB6he", 0, nullptr},
    {kElevationHigh, "Elevation High", "Max. H\xC3\xB6he", 0, nullptr},
    {kMaxGrade, "Max Grade", "Max. Steigung", 0, nullptr},
    {kAverageGrade, "Average Grade", "Durchschnittliche Steigung", 0, nullptr},
    {kMaxCadence, "Max Cadence", "Max. Tritt-/Schrittfrequenz", 0, nullptr},
    {kAverageCadence, "Average Cadence", "Durchschnittliche Trittfrequenz", 0, nullptr},
    {kMaxHeartRateDisplay, "Max Heart Rate", "Max. Herzfrequenz", 0, nullptr},
    {kMaxHeartRate, "Max Heart Rate", "Max. Herzfrequenz", 1, nullptr},
    {kAverageHeartRate, "Average Heart Rate", "Durchschnittliche Herzfrequenz", 0, nullptr},
    {kMaxWatts, "Max Watts", "Max. Watt", 0, nullptr},
    {kAverageWatts, "Average Watts", "Durchschnittliche Watt", 0, nullptr},
    {kWeightedAverageWatts, "Weighted Average Power", "Gewichtete durchschnittliche Leistung", 0, nullptr},
    {kTotalWork, "Total Work", "Gesamtarbeit", 0, nullptr},
    {kCalories, "Calories", "Kalorien", 0, nullptr},
    {kRelativeEffortDisplay, "Relative Effort", "Relative Leistung", 0, nullptr},
    {kRelativeEffort, "Relative Effort", "Relative Leistung", 1, nullptr},
    {kPerceivedExertion, "Perceived Exertion", "Gef\xC3\xBChlte Anstrengung", 0, nullptr},
    {kAverageTemp, "Average Temperature", "Durchschnittliche Temperatur", 0, nullptr},
    {kCommuteDisplay, "Commute", "Pendeln", 0, nullptr},
    {kCommute, "Commute", "Pendeln", 1, "commute"},
    {kFlagged, "Flagged", "Markiert", 0, nullptr},
};
static_assert(std::size(kColumns) == kColCount, "one name per column");

}  // namespace

std::string ExportWarning::ToString() const {
  std::string out = "line " + std::to_string(line) + ": ";
  if (!column.empty()) out += column + ": ";
  return out + message;
}

ExportActivityReader::ExportActivityReader(CsvReader csv, ExportLanguage language, CsvHeader header)
    : csv_(std::move(csv)), language_(language), header_(std::move(header)), columns_(kColCount, -1) {
  for (const ColumnName& c : kColumns) {
    std::optional<size_t> at;
    switch (language_) {
      case ExportLanguage::kEnglish:
        at = header_.Find(c.en, c.occurrence);
        break;
      case ExportLanguage::kGerman:
        at = header_.Find(c.de, c.occurrence);
        break;
      case ExportLanguage::kLegacy:
        if (c.legacy) at = header_.Find(c.legacy);
        break;
    }
    if (at) columns_[c.col] = static_cast<int>(*at);
  }
}

Result<ExportActivityReader> ExportActivityReader::Open(CsvReader csv) {
  std::vector<std::string> names;
  Result<bool> got = csv.Next(names);
  if (!got.ok()) return got.status().WithContext("activities.csv");
  if (!*got) return Status::Error(ErrorKind::kGeneric, "activities.csv is empty: it has no header");
  CsvHeader header(std::move(names));

  ExportLanguage language;
  if (header.Find("Activity ID")) {
    language = ExportLanguage::kEnglish;
  } else if (header.Find("Aktivit\xC3\xA4ts-ID")) {
    language = ExportLanguage::kGerman;
  } else if (header.Find("id") && header.Find("date")) {
    language = ExportLanguage::kLegacy;
  } else {
    return Status::Error(ErrorKind::kGeneric, "activities.csv: unknown header (first columns: " + header.Describe() +
                                                  "); stravafs reads English and German exports");
  }
  ExportActivityReader reader(std::move(csv), language, std::move(header));
  if (reader.columns_[kDate] < 0) {
    const ColumnName& date = kColumns[kDate];
    const char* name = language == ExportLanguage::kEnglish  ? date.en
                       : language == ExportLanguage::kGerman ? date.de
                                                             : date.legacy;
    return Status::Error(ErrorKind::kGeneric, std::string("activities.csv: no \"") + name +
                                                  "\" column (first columns: " + reader.header_.Describe() + ")");
  }
  return reader;
}

void ExportActivityReader::Warn(int64_t line, std::string column, std::string message) {
  if (warnings_.size() >= kMaxWarnings) {
    ++suppressed_;
    return;
  }
  warnings_.push_back({line, std::move(column), std::move(message)});
}

Result<bool> ExportActivityReader::Next(ExportActivity& out) {
  for (;;) {
    Result<bool> got = csv_.Next(row_);
    if (!got.ok()) return got.status().WithContext("activities.csv");
    if (!*got) return false;
    out = ExportActivity{};
    if (ParseRow(out)) return true;
  }
}

bool ExportActivityReader::ParseRow(ExportActivity& out) {
  const int64_t line = csv_.line();
  out.line = line;
  if (row_.size() != header_.size()) {
    Warn(line, "",
         "the row has " + std::to_string(row_.size()) + " fields, the header " + std::to_string(header_.size()) +
             "; its values may be in the wrong columns");
  }

  const bool german = language_ == ExportLanguage::kGerman;
  const NumberStyle plain = german ? NumberStyle::kGermanPlain : NumberStyle::kPlain;
  const NumberStyle display = german ? NumberStyle::kGermanDisplay : NumberStyle::kPlain;

  auto cell = [&](Col c) -> std::string_view {
    const int i = columns_[c];
    if (i < 0 || static_cast<size_t>(i) >= row_.size()) return {};
    return row_[static_cast<size_t>(i)];
  };
  auto column_name = [&](Col c) {
    return columns_[c] < 0 ? std::string() : header_.name(static_cast<size_t>(columns_[c]));
  };
  auto take = [&](Col c, NumberCell n) -> std::optional<double> {
    if (n.kind == CellKind::kOk) return n.value;
    if (n.kind == CellKind::kBad) Warn(line, column_name(c), "not a number: " + Quoted(Trim(cell(c))));
    return std::nullopt;
  };
  auto number = [&](Col c, NumberStyle style) { return take(c, ParseNumber(cell(c), style)); };
  auto seconds = [&](Col c, NumberStyle style) { return take(c, ParseSeconds(cell(c), style)); };
  auto boolean = [&](Col c) -> std::optional<bool> {
    switch (ParseBool(cell(c))) {
      case BoolCell::kTrue:
        return true;
      case BoolCell::kFalse:
        return false;
      case BoolCell::kBad:
        Warn(line, column_name(c), "not true or false: " + Quoted(Trim(cell(c))));
        break;
      case BoolCell::kEmpty:
        break;
    }
    return std::nullopt;
  };

  const std::optional<int64_t> id = ParseId(cell(kId));
  if (!id) {
    Warn(line, column_name(kId), "no usable activity id (" + Quoted(Trim(cell(kId))) + "); row skipped");
    return false;
  }
  const std::optional<double> date = ParseExportDate(cell(kDate));
  if (!date) {
    Warn(line, column_name(kDate), "date not understood: " + Quoted(Trim(cell(kDate))) + "; row skipped");
    return false;
  }
  out.id = *id;
  out.start_date = *date;
  out.name = cell(kName);
  out.activity_type = Trim(cell(kType));
  out.sport_type = SportTypeFromExportType(out.activity_type, language_);
  if (out.sport_type.empty() && !out.activity_type.empty()) {
    Warn(line, column_name(kType), "unknown activity type " + Quoted(out.activity_type) + "; sport_type left empty");
  }
  out.description = cell(kDescription);
  out.private_note = cell(kPrivateNote);
  out.gear_name = Trim(cell(kGear));
  out.filename = Trim(cell(kFilename));

  out.elapsed_time = seconds(kElapsed, plain);
  if (!out.elapsed_time) out.elapsed_time = seconds(kElapsedDisplay, display);
  out.moving_time = seconds(kMoving, plain);

  out.distance = number(kDistance, plain);
  if (!out.distance) {
    // The display column: km for most sports, meters for swims (Strava shows
    // swims in meters). An imperial account's miles cannot be told apart
    // here; exports with a meters column never get this far.
    if (const std::optional<double> shown = number(kDistanceDisplay, display)) {
      // km to m can overflow ("1e306"): such a cell is no distance (found by
      // fuzz_export_csv's no-infinity check).
      const double meters = out.sport_type == "Swim" ? *shown : *shown * 1000;
      if (std::isfinite(meters)) {
        out.distance = meters;
      } else {
        Warn(line, column_name(kDistanceDisplay), "not a distance: " + Quoted(Trim(cell(kDistanceDisplay))));
      }
    }
  }

  out.max_speed = number(kMaxSpeed, plain);
  out.average_speed = number(kAverageSpeed, plain);
  out.elevation_gain = number(kElevationGain, plain);
  out.elevation_loss = number(kElevationLoss, plain);
  out.elevation_low = number(kElevationLow, plain);
  out.elevation_high = number(kElevationHigh, plain);
  out.max_grade = number(kMaxGrade, plain);
  out.average_grade = number(kAverageGrade, plain);
  out.max_cadence = number(kMaxCadence, plain);
  out.average_cadence = number(kAverageCadence, plain);
  out.max_heartrate = number(kMaxHeartRate, plain);
  if (!out.max_heartrate) out.max_heartrate = number(kMaxHeartRateDisplay, display);
  out.average_heartrate = number(kAverageHeartRate, plain);
  out.max_watts = number(kMaxWatts, plain);
  out.average_watts = number(kAverageWatts, plain);
  out.weighted_average_watts = number(kWeightedAverageWatts, plain);
  out.calories = number(kCalories, plain);
  out.relative_effort = number(kRelativeEffort, plain);
  if (!out.relative_effort) out.relative_effort = number(kRelativeEffortDisplay, display);
  out.perceived_exertion = number(kPerceivedExertion, plain);
  out.average_temp = number(kAverageTemp, plain);

  // Total Work: taken as joules (the unit of a FIT file's total_work and of
  // Strava's stored work). No export we could see settles it, so where power
  // and moving time say the value is already kJ (|w - P*t/1000| is the closer
  // match), it is kept as kJ.
  if (const std::optional<double> work = number(kTotalWork, plain)) {
    out.kilojoules = *work / 1000;
    if (out.average_watts && out.moving_time) {
      const double expected_j = *out.average_watts * *out.moving_time;
      if (expected_j > 0 && std::fabs(*work * 1000 - expected_j) < std::fabs(*work - expected_j)) {
        out.kilojoules = *work;
      }
    }
  }

  out.commute = boolean(kCommute);
  if (!out.commute) out.commute = boolean(kCommuteDisplay);
  out.flagged = boolean(kFlagged);
  return true;
}

Result<ExportActivities> ReadExportActivities(std::string_view csv_text) {
  Result<ExportActivityReader> reader = ExportActivityReader::Open(CsvReader(csv_text));
  if (!reader.ok()) return reader.status();
  ExportActivities all;
  all.language = reader->language();
  ExportActivity a;
  for (;;) {
    Result<bool> got = reader->Next(a);
    if (!got.ok()) return got.status();
    if (!*got) break;
    all.activities.push_back(std::move(a));
  }
  all.warnings = reader->warnings();
  all.suppressed_warnings = reader->suppressed_warnings();
  return all;
}

// ---------------------------------------------------------------- profile.csv, bikes.csv, shoes.csv

namespace {

// The first column of `header` named any of `names`, or -1.
int FindAny(const CsvHeader& header, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const std::optional<size_t> at = header.Find(name)) return static_cast<int>(*at);
  }
  return -1;
}

std::string_view CellAt(const std::vector<std::string>& row, int i) {
  if (i < 0 || static_cast<size_t>(i) >= row.size()) return {};
  return row[static_cast<size_t>(i)];
}

}  // namespace

Result<ExportProfile> ReadExportProfile(std::string_view csv_text) {
  CsvReader csv(csv_text);
  std::vector<std::string> row;
  Result<bool> got = csv.Next(row);
  if (!got.ok()) return got.status().WithContext("profile.csv");
  ExportProfile profile;
  if (!*got) return profile;
  const CsvHeader header(std::move(row));

  // English names from exports seen by peers; the German ones are the names
  // Strava's German site uses, not yet seen in an export.
  const int id = FindAny(header, {"Athlete ID", "Sportler-ID", "Athleten-ID"});
  const int first = FindAny(header, {"First Name", "Vorname"});
  const int last = FindAny(header, {"Last Name", "Nachname"});
  const int sex = FindAny(header, {"Sex", "Gender", "Geschlecht"});
  const int description = FindAny(header, {"Description", "Beschreibung"});
  const int weight = FindAny(header, {"Weight", "Gewicht"});
  const int city = FindAny(header, {"City", "Stadt", "Ort"});
  const int state = FindAny(header, {"State", "Bundesland", "Region"});
  const int country = FindAny(header, {"Country", "Land"});
  if (id < 0 && first < 0 && last < 0) {
    return Status::Error(ErrorKind::kGeneric, "profile.csv: unknown header (first columns: " + header.Describe() +
                                                  "); stravafs reads English and German exports");
  }

  got = csv.Next(row);
  if (!got.ok()) return got.status().WithContext("profile.csv");
  if (!*got) return profile;
  profile.id = ParseId(CellAt(row, id));
  profile.first_name = Trim(CellAt(row, first));
  profile.last_name = Trim(CellAt(row, last));
  profile.description = CellAt(row, description);
  profile.city = Trim(CellAt(row, city));
  profile.state = Trim(CellAt(row, state));
  profile.country = Trim(CellAt(row, country));
  const std::string s = NormalizeName(CellAt(row, sex));
  if (s == "m" || s == "male" || s == "mann" || s == "m\xC3\xA4nnlich") {
    profile.sex = "M";
  } else if (s == "f" || s == "female" || s == "w" || s == "weiblich" || s == "frau") {
    profile.sex = "F";
  } else {
    profile.sex = Trim(CellAt(row, sex));
  }
  if (const NumberCell w = ParseNumber(CellAt(row, weight), NumberStyle::kGermanPlain);
      w.kind == CellKind::kOk && w.value > 0) {
    profile.weight = w.value;
  }
  return profile;
}

Result<std::vector<ExportGear>> ReadExportGear(std::string_view csv_text, bool bikes) {
  const char* file = bikes ? "bikes.csv" : "shoes.csv";
  CsvReader csv(csv_text);
  std::vector<std::string> row;
  Result<bool> got = csv.Next(row);
  if (!got.ok()) return got.status().WithContext(file);
  std::vector<ExportGear> gear;
  if (!*got) return gear;
  const CsvHeader header(std::move(row));

  // "Bike Name, Bike Brand, Bike Model, Bike Default Sport Types" and the
  // same with "Shoe"; German "Fahrradname, Fahrradmarke, Fahrradmodell" (one
  // peer's mapping). Matching the end of the name covers both and the shoe
  // columns in either language.
  int name = -1, brand = -1, model = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string h = NormalizeName(header.name(i));
    auto ends_with = [&h](std::string_view suffix) {
      return h.size() >= suffix.size() && std::string_view(h).substr(h.size() - suffix.size()) == suffix;
    };
    if (name < 0 && ends_with("name")) name = static_cast<int>(i);
    if (brand < 0 && (ends_with("brand") || ends_with("marke"))) brand = static_cast<int>(i);
    if (model < 0 && (ends_with("model") || ends_with("modell"))) model = static_cast<int>(i);
  }
  if (name < 0 && brand < 0 && model < 0) {
    return Status::Error(ErrorKind::kGeneric, std::string(file) + ": unknown header (first columns: " +
                                                  header.Describe() + "); stravafs reads English and German exports");
  }

  for (;;) {
    got = csv.Next(row);
    if (!got.ok()) return got.status().WithContext(file);
    if (!*got) break;
    ExportGear g;
    g.bike = bikes;
    g.name = Trim(CellAt(row, name));
    g.brand = Trim(CellAt(row, brand));
    g.model = Trim(CellAt(row, model));
    if (g.name.empty() && g.brand.empty() && g.model.empty()) continue;
    if (g.name.empty()) {
      // Strava lets a shoe go nameless and then calls it "<brand> <model>".
      g.name = g.brand.empty() ? g.model : g.model.empty() ? g.brand : g.brand + " " + g.model;
    }
    gear.push_back(std::move(g));
  }
  return gear;
}

bool ExportGearMatches(const ExportGear& gear, std::string_view activity_gear) {
  const std::string wanted = NormalizeName(activity_gear);
  if (wanted.empty()) return false;
  if (wanted == NormalizeName(gear.name)) return true;
  const std::string brand_model = NormalizeName(gear.brand + " " + gear.model);
  return wanted == brand_model || wanted == NormalizeName(brand_model + " " + gear.name);
}

}  // namespace stravafs::import
