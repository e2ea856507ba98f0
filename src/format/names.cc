#include "format/names.h"

#include <cassert>
#include <cstdio>
#include <map>

#include "base/utf8.h"

namespace stravafs {

namespace {

enum class CharClass { kKeep, kSeparator, kDrop };

// Steps 2 and 3 of the naming rule.
CharClass Classify(char32_t cp) {
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return CharClass::kSeparator;
  switch (cp) {
    case ' ':
    case '/':
    case '\\':
    case ':':
    case '*':
    case '?':
    case '"':
    case '<':
    case '>':
    case '|':
    case 0x00A0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return CharClass::kSeparator;
    case 0x200E:
    case 0x200F:
    case 0x061C:
      return CharClass::kDrop;
    default:
      break;
  }
  if (cp >= 0x2000 && cp <= 0x200A) return CharClass::kSeparator;
  if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return CharClass::kDrop;
  return CharClass::kKeep;
}

constexpr char32_t kZeroWidthJoiner = 0x200D;

bool IsRegionalIndicator(char32_t cp) { return cp >= 0x1F1E6 && cp <= 0x1F1FF; }

// Code points that belong to the character before them: cutting right before
// one would split what a reader sees as one character.
bool ExtendsPrevious(char32_t cp) {
  return cp == kZeroWidthJoiner || (cp >= 0xFE00 && cp <= 0xFE0F) ||  // variation selectors (emoji vs text style)
         (cp >= 0xE0100 && cp <= 0xE01EF) ||                          // variation selectors supplement
         (cp >= 0x1F3FB && cp <= 0x1F3FF) ||                          // emoji skin tone modifiers
         (cp >= 0xE0020 && cp <= 0xE007F) ||                          // tags (subdivision flags)
         (cp >= 0x0300 && cp <= 0x036F) ||                            // combining diacritical marks
         (cp >= 0x1AB0 && cp <= 0x1AFF) ||                            // ... extended
         (cp >= 0x1DC0 && cp <= 0x1DFF) ||                            // ... supplement
         (cp >= 0x20D0 && cp <= 0x20FF) ||                            // ... for symbols (incl. the keycap U+20E3)
         (cp >= 0xFE20 && cp <= 0xFE2F);                              // combining half marks
}

// The start of the code point that ends at `end` in valid UTF-8 `s`.
size_t PreviousCharStart(std::string_view s, size_t end) {
  size_t pos = end - 1;
  while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

char32_t CharAt(std::string_view s, size_t pos) { return DecodeUtf8(s, pos).cp; }

// Removes trailing "-" and "." (step 5, and again after a cut).
void TrimEnd(std::string& s) {
  while (!s.empty() && (s.back() == '-' || s.back() == '.')) s.pop_back();
}

// Step 8: the longest prefix of valid UTF-8 `title` that fits in `budget`
// bytes and ends where a reader sees a character boundary.
std::string CutTitle(std::string_view title, size_t budget) {
  if (title.size() <= budget) return std::string(title);
  size_t cut = budget;
  while (cut > 0 && (static_cast<unsigned char>(title[cut]) & 0xC0) == 0x80) --cut;
  while (cut > 0) {
    const size_t prev_start = PreviousCharStart(title, cut);
    const char32_t prev = CharAt(title, prev_start);
    const char32_t next = CharAt(title, cut);
    bool splits = ExtendsPrevious(next) || prev == kZeroWidthJoiner;
    if (!splits && IsRegionalIndicator(prev) && IsRegionalIndicator(next)) {
      // Flags are pairs of regional indicators: count the run before the cut.
      size_t run = 0;
      for (size_t p = cut; p > 0 && IsRegionalIndicator(CharAt(title, PreviousCharStart(title, p)));
           p = PreviousCharStart(title, p))
        ++run;
      splits = run % 2 == 1;
    }
    if (!splits) break;
    cut = prev_start;
  }
  std::string out(title.substr(0, cut));
  TrimEnd(out);
  return out;
}

std::string TwoDigits(int n) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", n);
  return buf;
}

}  // namespace

std::optional<LocalStart> ParseLocalStart(std::string_view t) {
  if (t.size() == 20 && t.back() == 'Z') t.remove_suffix(1);
  if (t.size() != 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':') return std::nullopt;
  auto num = [&](size_t pos, size_t len) {
    int n = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      n = n * 10 + (t[i] - '0');
    }
    return n;
  };
  LocalStart s{num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2)};
  const int second = num(17, 2);
  if (s.year < 0 || s.month < 1 || s.month > 12 || s.day < 1 || s.day > 31 || s.hour < 0 || s.hour > 23 ||
      s.minute < 0 || s.minute > 59 || second < 0 || second > 60)
    return std::nullopt;
  return s;
}

std::string SafeTitle(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  auto emit_dash = [&] {
    if (!out.empty() && out.back() != '-') out += '-';  // leading dashes never start `out`
  };
  for (size_t pos = 0; pos < name.size();) {
    const Utf8Char c = DecodeUtf8(name, pos);
    pos += c.len;
    switch (Classify(c.cp)) {
      case CharClass::kDrop:
        break;
      case CharClass::kSeparator:
        emit_dash();
        break;
      case CharClass::kKeep:
        if (c.cp == '-') {
          emit_dash();
        } else if (c.cp == '.' && out.empty()) {
          // leading dots are trimmed (step 5)
        } else {
          AppendUtf8(out, c.cp);
        }
        break;
    }
  }
  TrimEnd(out);
  return out;
}

std::string ActivityBaseName(const LocalStart& start, std::string_view name, int64_t id, std::string_view sport_type) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02d_%02d%02d_", start.year, start.month, start.day, start.hour,
                start.minute);
  const std::string suffix = "_" + std::to_string(id);
  std::string title = SafeTitle(name);
  if (title.empty()) title = SafeTitle(sport_type);
  if (title.empty()) title = "Activity";
  // The prefix is 16 bytes and the suffix at most 21, so the budget is > 200
  // bytes and a cut title is never empty.
  const size_t budget = kMaxBaseNameBytes - std::string_view(prefix).size() - suffix.size();
  std::string base = prefix + CutTitle(title, budget) + suffix;
  assert(base.size() <= kMaxBaseNameBytes);
  assert(base.front() != '.' && base.front() != '-');
  return base;
}

std::string_view FileExtension(ActivityFile file) {
  switch (file) {
    case ActivityFile::kJson:
      return ".json";
    case ActivityFile::kCsv:
      return ".csv";
    case ActivityFile::kGpx:
      return ".gpx";
    case ActivityFile::kFit:
      return ".fit";
    case ActivityFile::kTcx:
      return ".tcx";
  }
  return "";
}

std::string YearFolderName(int year) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", year);
  return buf;
}

std::string MonthFolderName(int month) { return TwoDigits(month); }

std::vector<std::string> AthleteFolderNames(const std::vector<AthleteName>& athletes) {
  std::vector<std::string> names;
  for (const AthleteName& a : athletes) {
    std::string title = SafeTitle(a.name);
    names.push_back(CutTitle(title.empty() ? std::to_string(a.id) : title, kMaxFileNameBytes));
  }
  // Names two share, or that are the root's own entries, get their ids; so
  // does a name that clashes only then ("Ann_7" of athlete 3 beside athlete
  // 7's "Ann"). Each round ends every clashing name with its own id, so two
  // it changed never clash again; the bound is a belt to those braces.
  bool clash = true;
  for (int round = 0; clash && round < 64; ++round) {
    std::map<std::string, int> uses = {{"activities.csv", 1}, {"stats", 1}};
    for (const std::string& n : names) ++uses[n];
    clash = false;
    for (size_t i = 0; i < names.size(); ++i) {
      if (uses[names[i]] < 2) continue;
      const std::string suffix = "_" + std::to_string(athletes[i].id);
      names[i] = CutTitle(names[i], kMaxFileNameBytes - suffix.size()) + suffix;
      clash = true;
    }
  }
  return names;
}

std::string ByIdLinkName(int64_t id) { return std::to_string(id) + ".json"; }

std::string ByIdLinkTarget(const LocalStart& start, std::string_view base_name) {
  return "../" + YearFolderName(start.year) + "/" + MonthFolderName(start.month) + "/" + std::string(base_name) +
         ".json";
}

// --- inode numbers -------------------------------------------------------------

namespace {

constexpr bool ValidYear(int year) { return year >= 0 && year <= 9999; }
constexpr bool ValidMonth(int month) { return month >= 1 && month <= 12; }
constexpr uint64_t MonthPayload(int year, int month) {
  return static_cast<uint64_t>(year) << 4 | static_cast<uint64_t>(month);
}
constexpr uint64_t kPlaceMask = (uint64_t{1} << kAthleteShift) - 1;  // the year (and month) of a folder kind
// A folder kind's inode in `athlete`'s layout.
uint64_t FolderInode(InodeKind kind, uint64_t place, int64_t athlete) {
  if (athlete != 0 && !AthleteHasFolder(athlete)) return kNoInode;
  return InodeFor(kind, static_cast<uint64_t>(athlete) << kAthleteShift | place);
}
uint64_t AthleteInode(InodeKind kind, int64_t athlete, uint64_t at_root) {
  if (athlete == 0) return at_root;
  return AthleteHasFolder(athlete) ? InodeFor(kind, static_cast<uint64_t>(athlete)) : kNoInode;
}

}  // namespace

uint64_t InodeFor(InodeKind kind, uint64_t payload) {
  if (payload >= kInodePayloadLimit) return kNoInode;
  if (kind == InodeKind::kFixed && (payload < kRootInode || payload > kStatsDirInode)) return kNoInode;
  return static_cast<uint64_t>(kind) << kInodeKindShift | payload;
}

uint64_t YearDirInode(int year, int64_t athlete) {
  return ValidYear(year) ? FolderInode(InodeKind::kYearDir, static_cast<uint64_t>(year), athlete) : kNoInode;
}

uint64_t MonthDirInode(int year, int month, int64_t athlete) {
  return ValidYear(year) && ValidMonth(month) ? FolderInode(InodeKind::kMonthDir, MonthPayload(year, month), athlete)
                                              : kNoInode;
}

uint64_t YearCsvInode(int year, int64_t athlete) {
  return ValidYear(year) ? FolderInode(InodeKind::kYearCsv, static_cast<uint64_t>(year), athlete) : kNoInode;
}

uint64_t MonthCsvInode(int year, int month, int64_t athlete) {
  return ValidYear(year) && ValidMonth(month) ? FolderInode(InodeKind::kMonthCsv, MonthPayload(year, month), athlete)
                                              : kNoInode;
}

uint64_t AthleteDirInode(int64_t athlete) { return AthleteInode(InodeKind::kAthleteDir, athlete, kRootInode); }
uint64_t AthleteJsonInode(int64_t athlete) { return AthleteInode(InodeKind::kAthleteJson, athlete, kAthleteJsonInode); }
uint64_t AthleteCsvInode(int64_t athlete) { return AthleteInode(InodeKind::kAthleteCsv, athlete, kRootCsvInode); }
uint64_t ByIdDirInode(int64_t athlete) { return AthleteInode(InodeKind::kAthleteById, athlete, kByIdDirInode); }
uint64_t StatsDirInode(int64_t athlete) { return AthleteInode(InodeKind::kAthleteStats, athlete, kStatsDirInode); }

uint64_t ActivityFileInode(ActivityFile file, int64_t id) {
  if (id < 0) return kNoInode;
  InodeKind kind = InodeKind::kActivityJson;
  switch (file) {
    case ActivityFile::kJson:
      kind = InodeKind::kActivityJson;
      break;
    case ActivityFile::kCsv:
      kind = InodeKind::kActivityCsv;
      break;
    case ActivityFile::kGpx:
      kind = InodeKind::kActivityGpx;
      break;
    case ActivityFile::kFit:
      kind = InodeKind::kActivityFit;
      break;
    case ActivityFile::kTcx:
      kind = InodeKind::kActivityTcx;
      break;
  }
  return InodeFor(kind, static_cast<uint64_t>(id));
}

uint64_t StatsFileInode(size_t index, int64_t athlete) {
  return index <= kPlaceMask ? FolderInode(InodeKind::kStatsFile, index, athlete) : kNoInode;
}

uint64_t ByIdLinkInode(int64_t id) {
  return id < 0 ? kNoInode : InodeFor(InodeKind::kByIdLink, static_cast<uint64_t>(id));
}

int DecodedInode::year() const {
  switch (kind) {
    case InodeKind::kYearDir:
    case InodeKind::kYearCsv:
      return static_cast<int>(payload & kPlaceMask);
    case InodeKind::kMonthDir:
    case InodeKind::kMonthCsv:
      return static_cast<int>((payload & kPlaceMask) >> 4);
    default:
      return 0;
  }
}

int DecodedInode::month() const {
  return kind == InodeKind::kMonthDir || kind == InodeKind::kMonthCsv ? static_cast<int>(payload & 0xF) : 0;
}

size_t DecodedInode::stats_index() const {
  return kind == InodeKind::kStatsFile ? static_cast<size_t>(payload & kPlaceMask) : 0;
}

int64_t DecodedInode::athlete() const {
  switch (kind) {
    case InodeKind::kYearDir:
    case InodeKind::kYearCsv:
    case InodeKind::kMonthDir:
    case InodeKind::kMonthCsv:
    case InodeKind::kStatsFile:
      return static_cast<int64_t>(payload >> kAthleteShift);
    case InodeKind::kAthleteDir:
    case InodeKind::kAthleteJson:
    case InodeKind::kAthleteCsv:
    case InodeKind::kAthleteById:
    case InodeKind::kAthleteStats:
      return static_cast<int64_t>(payload);
    default:
      return 0;
  }
}

std::optional<DecodedInode> DecodeInode(uint64_t ino) {
  const uint64_t raw_kind = ino >> kInodeKindShift;
  const uint64_t payload = ino & (kInodePayloadLimit - 1);
  if (raw_kind > static_cast<uint64_t>(InodeKind::kAthleteStats)) return std::nullopt;
  const DecodedInode d{static_cast<InodeKind>(raw_kind), payload};
  switch (d.kind) {
    case InodeKind::kFixed:
      if (payload < kRootInode || payload > kStatsDirInode) return std::nullopt;
      break;
    case InodeKind::kYearDir:
    case InodeKind::kYearCsv:
      if ((payload & kPlaceMask) > 9999) return std::nullopt;
      break;
    case InodeKind::kMonthDir:
    case InodeKind::kMonthCsv:
      if (!ValidYear(d.year()) || !ValidMonth(d.month())) return std::nullopt;
      break;
    case InodeKind::kAthleteDir:
    case InodeKind::kAthleteJson:
    case InodeKind::kAthleteCsv:
    case InodeKind::kAthleteById:
    case InodeKind::kAthleteStats:
      if (!AthleteHasFolder(d.athlete())) return std::nullopt;
      break;
    default:
      break;
  }
  return d;
}

}  // namespace stravafs
