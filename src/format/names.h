// How the mount identifies its entries: file and folder names, and inode numbers.
//
// Pure functions of an activity's cached fields (start_date_local, name,
// sport_type, id): no I/O, no state, thread-safe. The same input always gives
// the same name and the same inode, so names and inodes are stable across
// syncs and remounts for as long as Strava's data for the activity is unchanged
// (renaming an activity on Strava renames its files; by-id/<id>.json and the
// inode numbers never change).
//
// THE NAMING RULE (mount.stravafs(8) quotes this):
//
//   Each activity is  YYYY/MM/YYYY-MM-DD_HHMM_<title>_<id>.{json,csv,gpx,fit,tcx}
//   where the year, month, date and time are the activity's local wall-clock
//   start (start_date_local), <id> is Strava's activity id in decimal, and
//   <title> is the activity's name made safe:
//     1. Bytes that are not valid UTF-8 become U+FFFD, one per byte.
//     2. Bidirectional control characters (U+200E, U+200F, U+061C,
//        U+202A-U+202E, U+2066-U+2069) are removed, so a name displays in the
//        order its bytes are stored.
//     3. These become "-": control characters (U+0000-U+001F, U+007F,
//        U+0080-U+009F, which includes NUL, tab and newline), whitespace
//        (space and Unicode White_Space: U+00A0, U+1680, U+2000-U+200A,
//        U+2028, U+2029, U+202F, U+205F, U+3000), and / \ : * ? " < > |
//     4. Runs of "-" become one "-".
//     5. Leading and trailing "-" and "." are removed.
//     6. Everything else is kept as is: letters of every script, emoji,
//        digits and other punctuation (so ' & ( ) $ ! # remain; quote names
//        in a shell).
//     7. If nothing is left, the title is the sport type made safe the same
//        way, or "Activity" if that is empty too.
//     8. If the whole name with its longest extension (".json") would exceed
//        255 bytes, the title is shortened (never the date or the id): it is
//        cut on a character boundary, without splitting an emoji sequence
//        (ZWJ sequences, skin tones, variation selectors, flags, keycaps, tag
//        sequences) or separating a combining mark of the Combining Diacritical
//        Marks blocks from its base, and "-" or "." left at the end of the cut
//        are removed again.
//   The id makes every name unique (two "Morning Run"s in the same minute
//   differ by id); the date prefix means no name starts with "." or "-".
//   Folders: YYYY (4 digits) and MM (2 digits, 01-12) from start_date_local.
//   by-id/<id>.json is a symlink to ../YYYY/MM/<name>.json.
//
// INODE NUMBERS: 64 bits, bits 63..56 the kind (InodeKind), bits 55..0 the
// payload. Distinct (kind, payload) pairs give distinct numbers by
// construction, and no number is 0 (no inode) or 1 except the root.
//   kind 0 kFixed        payload 1 root, 2 /athlete.json, 3 /activities.csv,
//                        4 /by-id (so these inodes are 1..4)
//   kind 1 kYearDir      payload year                     /YYYY
//   kind 2 kMonthDir     payload year << 4 | month        /YYYY/MM
//   kind 3 kYearCsv      payload year                     /YYYY/activities.csv
//   kind 4 kMonthCsv     payload year << 4 | month        /YYYY/MM/activities.csv
//   kind 5 kActivityJson payload activity id              <name>.json
//   kind 6 kActivityCsv  payload activity id              <name>.csv
//   kind 7 kActivityGpx  payload activity id              <name>.gpx
//   kind 8 kByIdLink     payload activity id              /by-id/<id>.json
//   kind 9 kStatsFile    payload athlete << 18 | index     /stats/<file>, /<athlete>/stats/<file>
//                        in StatsFiles()
//   kind 10 kActivityFit payload activity id              <name>.fit (the original an import kept)
//   kind 11 kActivityTcx payload activity id              <name>.tcx (likewise)
//   kind 12 kAthleteDir  payload athlete id               /<athlete>  (several athletes)
//   kind 13 kAthleteJson payload athlete id               /<athlete>/athlete.json
//   kind 14 kAthleteCsv  payload athlete id               /<athlete>/activities.csv
//   kind 15 kAthleteById payload athlete id               /<athlete>/by-id
//   kind 16 kAthleteStats payload athlete id              /<athlete>/stats
// The folder kinds 1-4 and kStatsFile carry an athlete above bit 18: payload
// athlete << 18 | (year, year << 4 | month, or the stats file's index).
// Athlete 0 is the root's (the layout of one athlete, or none, and the
// root's stats/ in either layout), so those numbers are the same as before
// several athletes had folders. Athlete ids must be in [1, 2^38) (Strava's are near
// 2^28 today); an athlete outside has no folder.
// Activity ids must be in [0, 2^56) (Strava's are near 2^34 today); an id
// outside has no inode (kNoInode) and the mount must not show it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stravafs {

// --- names -------------------------------------------------------------------

inline constexpr size_t kMaxFileNameBytes = 255;  // NAME_MAX on Linux
inline constexpr std::string_view kLongestExtension = ".json";
inline constexpr size_t kMaxBaseNameBytes = kMaxFileNameBytes - kLongestExtension.size();

// The local wall-clock start of an activity, the source of its folder and
// name prefix.
struct LocalStart {
  int year = 0;    // 0..9999
  int month = 0;   // 1..12
  int day = 0;     // 1..31
  int hour = 0;    // 0..23
  int minute = 0;  // 0..59
};

// Parses start_date_local as stored in the cache ("2024-05-12T07:30:00") or as
// Strava sends it (with a trailing Z); nullopt if it is not such a date.
std::optional<LocalStart> ParseLocalStart(std::string_view start_date_local);

// Steps 1-6 of the rule: the activity name made safe; may be empty.
std::string SafeTitle(std::string_view name);

// The name of an activity's files without extension, e.g.
// "2024-05-12_0730_Morning-Run_11234567890"; at most kMaxBaseNameBytes bytes,
// valid UTF-8. `sport_type` is only used when the name leaves no title.
std::string ActivityBaseName(const LocalStart& start, std::string_view name, int64_t id,
                             std::string_view sport_type = {});

// kFit and kTcx: the original file an import kept (a GPX original is not
// shown: the .gpx is the activity's track already).
enum class ActivityFile { kJson, kCsv, kGpx, kFit, kTcx };
inline constexpr ActivityFile kActivityFiles[] = {ActivityFile::kJson, ActivityFile::kCsv, ActivityFile::kGpx,
                                                  ActivityFile::kFit, ActivityFile::kTcx};

// ".json", ".csv", ".gpx".
std::string_view FileExtension(ActivityFile file);

// "2024" and "05".
std::string YearFolderName(int year);
std::string MonthFolderName(int month);

// THE ATHLETE FOLDERS (a cache of several athletes, mount.stravafs(8)):
// each athlete's folder at the root is named by steps 1-6 of the rule
// applied to "<firstname> <lastname>", or is the athlete's id when nothing
// is left. A name two athletes share, or that is another entry of the root
// ("activities.csv", "stats"), gets "_<id>" added for each of them, and again
// while two names are the same; a name is cut (step 8) so that it fits in
// 255 bytes with that suffix.
struct AthleteName {
  int64_t id = 0;
  std::string name;  // "<firstname> <lastname>", as the cache holds them
};
// Each athlete's folder name, in the order given.
std::vector<std::string> AthleteFolderNames(const std::vector<AthleteName>& athletes);

// "11234567890.json", the link's name inside by-id/.
std::string ByIdLinkName(int64_t id);
// "../2024/05/<base>.json", the link's target.
std::string ByIdLinkTarget(const LocalStart& start, std::string_view base_name);

// --- inode numbers -------------------------------------------------------------

enum class InodeKind : uint8_t {
  kFixed = 0,
  kYearDir = 1,
  kMonthDir = 2,
  kYearCsv = 3,
  kMonthCsv = 4,
  kActivityJson = 5,
  kActivityCsv = 6,
  kActivityGpx = 7,
  kByIdLink = 8,
  kStatsFile = 9,  // payload: athlete << kAthleteShift | the file's index in StatsFiles() (mount/stats.h)
  kActivityFit = 10,
  kActivityTcx = 11,
  kAthleteDir = 12,
  kAthleteJson = 13,
  kAthleteCsv = 14,
  kAthleteById = 15,
  kAthleteStats = 16,
};

inline constexpr uint64_t kNoInode = 0;
inline constexpr uint64_t kRootInode = 1;  // FUSE_ROOT_ID
inline constexpr uint64_t kAthleteJsonInode = 2;
inline constexpr uint64_t kRootCsvInode = 3;
inline constexpr uint64_t kByIdDirInode = 4;
inline constexpr uint64_t kStatsDirInode = 5;
inline constexpr int kInodeKindShift = 56;
inline constexpr uint64_t kInodePayloadLimit = uint64_t{1} << kInodeKindShift;
inline constexpr int kAthleteShift = 18;  // of the folder kinds' payload
inline constexpr int64_t kAthleteLimit = int64_t{1} << (kInodeKindShift - kAthleteShift);

// Whether `athlete` can have a folder: 1 <= athlete < kAthleteLimit.
constexpr bool AthleteHasFolder(int64_t athlete) { return athlete >= 1 && athlete < kAthleteLimit; }

// The inode of (kind, payload); kNoInode if the payload does not fit in 56
// bits or is not one of the fixed entries for kFixed.
uint64_t InodeFor(InodeKind kind, uint64_t payload);

// Typed shorthands for the layout above; kNoInode for an id outside [0, 2^56),
// a year/month outside 0..9999/1..12 or an athlete with no folder. Athlete 0:
// the folders at the root (one athlete).
uint64_t YearDirInode(int year, int64_t athlete = 0);
uint64_t MonthDirInode(int year, int month, int64_t athlete = 0);
uint64_t YearCsvInode(int year, int64_t athlete = 0);
uint64_t MonthCsvInode(int year, int month, int64_t athlete = 0);
// An athlete's folder and what its top holds; athlete 0: the root's own
// (the root, /athlete.json, /activities.csv, /by-id, /stats).
uint64_t AthleteDirInode(int64_t athlete);
uint64_t AthleteJsonInode(int64_t athlete);
uint64_t AthleteCsvInode(int64_t athlete);
uint64_t ByIdDirInode(int64_t athlete);
uint64_t StatsDirInode(int64_t athlete);
uint64_t ActivityFileInode(ActivityFile file, int64_t id);
uint64_t ByIdLinkInode(int64_t id);
// The file at `index` in StatsFiles() of `athlete`'s stats/ (0: the root's).
uint64_t StatsFileInode(size_t index, int64_t athlete = 0);

// The inverse of InodeFor, for getattr and friends: nullopt for numbers no
// InodeFor call returns (unknown kind, bad fixed payload, 0).
struct DecodedInode {
  InodeKind kind;
  uint64_t payload;
  // For kYearDir/kYearCsv: the year; kMonthDir/kMonthCsv: year and month.
  int year() const;
  int month() const;
  // For kStatsFile: the file's index in StatsFiles().
  size_t stats_index() const;
  // Whose layout the entry is in: the athlete of the folder kinds and of
  // kStatsFile, the athlete kinds' payload; 0 for the root's own entries
  // and for activity files (of whichever athlete owns the activity).
  int64_t athlete() const;
  // For the activity kinds and kByIdLink.
  int64_t activity_id() const { return static_cast<int64_t>(payload); }
};
std::optional<DecodedInode> DecodeInode(uint64_t ino);

}  // namespace stravafs
