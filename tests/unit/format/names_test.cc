// Tests for format/names.cc: the naming rule of the mount (hostile titles,
// truncation on character and emoji boundaries, uniqueness, stability), the
// folder and by-id names, and the inode layout (uniqueness across kinds,
// stability, decoding). Expected names are exact bytes.
#include "format/names.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/utf8.h"

namespace stravafs {
namespace {

constexpr LocalStart kStart{2024, 5, 12, 7, 30};
constexpr int64_t kId = 11234567890;
// 250 bytes - "2024-05-12_0730_" (16) - "_11234567890" (12).
constexpr size_t kTitleBudget = 222;

std::string Base(std::string_view name, std::string_view sport = {}, int64_t id = kId) {
  return ActivityBaseName(kStart, name, id, sport);
}

std::string Named(std::string_view title) { return "2024-05-12_0730_" + std::string(title) + "_11234567890"; }

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

const std::string kFamily =
    "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466";  // 👨‍👩‍👧‍👦, 25 bytes

TEST_CASE("ActivityBaseName: the documented example", "[fs_names]") {
  CHECK(Base("Morning Run") == "2024-05-12_0730_Morning-Run_11234567890");
}

TEST_CASE("ActivityBaseName: path tricks lose their meaning", "[fs_names]") {
  CHECK(Base("/", "Run") == Named("Run"));
  CHECK(Base("..", "Run") == Named("Run"));
  CHECK(Base(".") == Named("Activity"));
  CHECK(Base("../../etc/passwd") == Named("etc-passwd"));
  CHECK(Base("a/b/c") == Named("a-b-c"));
  CHECK(Base("a/../b") == Named("a-..-b"));
}

TEST_CASE("ActivityBaseName: control characters, tabs, newlines and NUL become -", "[fs_names]") {
  CHECK(Base("Run\tto\nwork\r\n") == Named("Run-to-work"));
  CHECK(Base(std::string("Ev\0il", 5)) == Named("Ev-il"));
  CHECK(Base("a\x01"
             "b\x1F"
             "c\x7F"
             "d\xC2\x85"
             "e\xC2\x9F"
             "f") == Named("a-b-c-d-e-f"));                   // C0, DEL, C1
  CHECK(Base("\x1B[31mred\x1B[0m") == Named("[31mred-[0m"));  // an escape sequence cannot color a terminal
}

TEST_CASE("ActivityBaseName: whitespace runs and shell-hostile characters become one -", "[fs_names]") {
  CHECK(Base("  Morning   Run  ") == Named("Morning-Run"));
  CHECK(Base("a\\b:c*d?e\"f<g>h|i") == Named("a-b-c-d-e-f-g-h-i"));
  CHECK(Base("a\u00A0b\u3000c\u2003d\u2028e\u202Ff") == Named("a-b-c-d-e-f"));  // Unicode spaces
  CHECK(Base("Run -- fast - - now") == Named("Run-fast-now"));
  CHECK(Base("Sunday's Run (easy) & more!") == Named("Sunday's-Run-(easy)-&-more!"));
}

TEST_CASE("ActivityBaseName: leading and trailing . and - are trimmed", "[fs_names]") {
  CHECK(Base(".hidden") == Named("hidden"));
  CHECK(Base("-rf") == Named("rf"));
  CHECK(Base("--x--") == Named("x"));
  CHECK(Base("...Run...") == Named("Run"));
  CHECK(Base(" . - . Run . - ") == Named("Run"));
  CHECK(Base("v1.2 run") == Named("v1.2-run"));  // inner dots stay
}

TEST_CASE("ActivityBaseName: empty titles fall back to the sport type, then Activity", "[fs_names]") {
  CHECK(Base("", "TrailRun") == Named("TrailRun"));
  CHECK(Base(" \t\n ", "Ride") == Named("Ride"));
  CHECK(Base("", "") == Named("Activity"));
  CHECK(Base("///", "../") == Named("Activity"));
  CHECK(Base("\u202E", "Virtual Ride") == Named("Virtual-Ride"));
}

TEST_CASE("ActivityBaseName: letters of every script and emoji are kept", "[fs_names]") {
  CHECK(Base("東京マラソン 🏃‍♀️") == Named("東京マラソン-🏃‍♀️"));
  CHECK(Base("Zoë's Ride 🚴🏽") == Named("Zoë's-Ride-🚴🏽"));
  CHECK(Base("Бег по парку") == Named("Бег-по-парку"));
  CHECK(Base(kFamily + " walk") == Named(kFamily + "-walk"));
}

TEST_CASE("ActivityBaseName: bidi controls are removed so names display honestly", "[fs_names]") {
  CHECK(Base("\u202Bשלום\u202C \u2067مرحبا\u2069") == Named("שלום-مرحبا"));
  CHECK(Base("invoice\u202Egpj.exe") == Named("invoicegpj.exe"));
  CHECK(Base("a\u200Eb\u200Fc\u061Cd\u202Ae\u202Df\u2066g\u2068h") == Named("abcdefgh"));
  CHECK(Base("ריצת בוקר") == Named("ריצת-בוקר"));  // RTL letters themselves stay
}

TEST_CASE("ActivityBaseName: invalid UTF-8 bytes become U+FFFD", "[fs_names]") {
  CHECK(Base("Run\xFF\xFEX") == Named("Run\uFFFD\uFFFDX"));
  CHECK(Base("a\xC0\xAF"
             "b") == Named("a\uFFFD\uFFFDb"));                 // an overlong "/" is not a "/"
  CHECK(Base("\xED\xA0\x80") == Named("\uFFFD\uFFFD\uFFFD"));  // a surrogate
}

TEST_CASE("ActivityBaseName: long titles are cut to fit 255 bytes with .json, keeping date and id", "[fs_names]") {
  const std::string base = Base(Repeat("x", 300));
  CHECK(base == Named(Repeat("x", kTitleBudget)));
  CHECK(base.size() == kMaxBaseNameBytes);
  CHECK(base.size() + std::string(".json").size() == 255);

  SECTION("on a character boundary") {
    // 11-digit ids leave 222 bytes: 111 two-byte characters.
    CHECK(Base(Repeat("é", 200)) == Named(Repeat("é", 111)));
    // A 10-digit id leaves 223 bytes: still 111, never half of one.
    CHECK(Base(Repeat("é", 200), "", 1234567890) == "2024-05-12_0730_" + Repeat("é", 111) + "_1234567890");
    CHECK(Base(Repeat("東", 100)) == Named(Repeat("東", 74)));
  }
  SECTION("never splitting an emoji ZWJ sequence") {
    // The cut at 222 falls inside the first family: all of it goes.
    CHECK(Base(Repeat("x", 210) + kFamily + kFamily) == Named(Repeat("x", 210)));
    // The first family fits whole; the second is cut: all of it goes.
    CHECK(Base(Repeat("x", 190) + kFamily + kFamily) == Named(Repeat("x", 190) + kFamily));
  }
  SECTION("never separating a skin tone, a variation selector or a combining mark") {
    CHECK(Base(Repeat("x", 218) + "👍🏽") == Named(Repeat("x", 218)));
    CHECK(Base(Repeat("x", 219) + "❤️") == Named(Repeat("x", 219)));  // U+2764 U+FE0F: 3 + 3 bytes
    CHECK(Base(Repeat("x", 220) + "e\u0301") == Named(Repeat("x", 220)));
  }
  SECTION("never splitting a flag") {
    CHECK(Base(Repeat("x", 215) + "🇫🇷🇩🇪") == Named(Repeat("x", 215)));
    CHECK(Base(Repeat("x", 211) + "🇫🇷🇩🇪") == Named(Repeat("x", 211) + "🇫🇷"));
  }
  SECTION("dropping a - or . left at the end of the cut") {
    CHECK(Base(Repeat("x", 220) + ".-yyyy") == Named(Repeat("x", 220)));
  }
  SECTION("the largest id still fits") {
    const int64_t max_id = std::numeric_limits<int64_t>::max();
    const std::string longest = Base(Repeat("😀", 100), "", max_id);
    CHECK(longest.size() <= kMaxBaseNameBytes);
    CHECK(longest.ends_with("_9223372036854775807"));
    CHECK(longest.starts_with("2024-05-12_0730_😀"));
  }
}

TEST_CASE("ActivityBaseName: unique by id, stable for the same input", "[fs_names]") {
  // Two activities with the same name in the same minute.
  const std::string a = ActivityBaseName(kStart, "Morning Run", 100);
  const std::string b = ActivityBaseName(kStart, "Morning Run", 101);
  CHECK(a != b);
  // Hostile titles that sanitize to the same text still differ by id.
  CHECK(ActivityBaseName(kStart, "a/b", 1) != ActivityBaseName(kStart, "a:b", 2));
  CHECK(ActivityBaseName(kStart, "Morning Run", 100) == a);
  CHECK(ActivityBaseName({2024, 12, 31, 23, 59}, "x", 7) == "2024-12-31_2359_x_7");
  CHECK(ActivityBaseName({987, 1, 2, 3, 4}, "x", 7) == "0987-01-02_0304_x_7");
}

TEST_CASE("ActivityBaseName: every name obeys the rule, whatever the bytes", "[fs_names]") {
  std::mt19937 rng(20240512);  // fixed seed: the same names every run
  const std::vector<std::string> pieces = {
      "/",          ".",        "-",    " ",    "\t",       "\n",     std::string(1, '\0'),
      "\x7F",       "\xC2\x85", "\xFF", "\xC0", "\xE2\x82", "\u202E", "\u200D",
      "🏃",          "東",       "é",    "a",    "\\",       ":",      "\"",
      "\U0001F1EB", "\u0301"};
  for (int i = 0; i < 2000; ++i) {
    std::string title;
    const int n = static_cast<int>(rng() % 160);
    for (int k = 0; k < n; ++k) title += pieces[rng() % pieces.size()];
    const int64_t id = static_cast<int64_t>(rng());
    const std::string base = ActivityBaseName(kStart, title, id, "Run");
    INFO(title);
    REQUIRE(base.size() <= kMaxBaseNameBytes);
    REQUIRE(ToValidUtf8(base) == base);
    REQUIRE(base.find('/') == std::string::npos);
    REQUIRE(base.find('\0') == std::string::npos);
    REQUIRE(base.find_first_of("\t\n\r \x7F\\:*?\"<>|") == std::string::npos);
    REQUIRE(base.find("\xC2\x85") == std::string::npos);
    REQUIRE(base.find("\u202E") == std::string::npos);
    REQUIRE(base.find("--") == std::string::npos);
    REQUIRE(base.starts_with("2024-05-12_0730_"));
    REQUIRE(base.ends_with("_" + std::to_string(id)));
    const std::string title_part = base.substr(16, base.size() - 16 - 1 - std::to_string(id).size());
    REQUIRE(!title_part.empty());
    REQUIRE(title_part.front() != '-');
    REQUIRE(title_part.front() != '.');
    REQUIRE(title_part.back() != '-');
    REQUIRE(title_part.back() != '.');
  }
}

TEST_CASE("SafeTitle: the title alone, possibly empty", "[fs_names]") {
  CHECK(SafeTitle("Morning Run") == "Morning-Run");
  CHECK(SafeTitle("  ") == "");
  CHECK(SafeTitle("") == "");
}

TEST_CASE("ParseLocalStart: cache and Strava forms, rejects the rest", "[fs_names]") {
  const auto s = ParseLocalStart("2024-05-12T07:30:59");
  REQUIRE(s);
  CHECK(s->year == 2024);
  CHECK(s->month == 5);
  CHECK(s->day == 12);
  CHECK(s->hour == 7);
  CHECK(s->minute == 30);
  CHECK(ParseLocalStart("2024-05-12T07:30:00Z"));
  CHECK_FALSE(ParseLocalStart(""));
  CHECK_FALSE(ParseLocalStart("2024-05-12"));
  CHECK_FALSE(ParseLocalStart("2024-13-12T07:30:00"));
  CHECK_FALSE(ParseLocalStart("2024-05-12T24:00:00"));
  CHECK_FALSE(ParseLocalStart("2024-05-12 07:30:00"));
  CHECK_FALSE(ParseLocalStart("2024-05-12T07:30:00+02:00"));
  CHECK_FALSE(ParseLocalStart("20x4-05-12T07:30:00"));
}

TEST_CASE("Folder, extension and by-id names", "[fs_names]") {
  CHECK(YearFolderName(2024) == "2024");
  CHECK(YearFolderName(987) == "0987");
  CHECK(MonthFolderName(5) == "05");
  CHECK(MonthFolderName(12) == "12");
  CHECK(FileExtension(ActivityFile::kJson) == ".json");
  CHECK(FileExtension(ActivityFile::kCsv) == ".csv");
  CHECK(FileExtension(ActivityFile::kGpx) == ".gpx");
  CHECK(ByIdLinkName(kId) == "11234567890.json");
  CHECK(ByIdLinkTarget(kStart, Base("Morning Run")) == "../2024/05/2024-05-12_0730_Morning-Run_11234567890.json");
}

// --- inode numbers -------------------------------------------------------------

TEST_CASE("Inodes: fixed entries are 1..4 and the root is FUSE's", "[fs_names]") {
  CHECK(kRootInode == 1);
  CHECK(InodeFor(InodeKind::kFixed, 1) == kRootInode);
  CHECK(InodeFor(InodeKind::kFixed, 2) == kAthleteJsonInode);
  CHECK(InodeFor(InodeKind::kFixed, 3) == kRootCsvInode);
  CHECK(InodeFor(InodeKind::kFixed, 4) == kByIdDirInode);
  CHECK(InodeFor(InodeKind::kFixed, 5) == kStatsDirInode);
  CHECK(InodeFor(InodeKind::kFixed, 0) == kNoInode);
  CHECK(InodeFor(InodeKind::kFixed, 6) == kNoInode);
  CHECK(StatsFileInode(3) == (uint64_t{9} << 56 | 3));
}

TEST_CASE("Inodes: the documented layout, exactly (they must never change)", "[fs_names]") {
  CHECK(ActivityFileInode(ActivityFile::kJson, kId) == 0x050000029DA1E6D2ull);
  CHECK(ActivityFileInode(ActivityFile::kCsv, kId) == 0x060000029DA1E6D2ull);
  CHECK(ActivityFileInode(ActivityFile::kGpx, kId) == 0x070000029DA1E6D2ull);
  CHECK(ByIdLinkInode(kId) == 0x080000029DA1E6D2ull);
  CHECK(YearDirInode(2024) == 0x0100000000000000ull + 2024);
  CHECK(MonthDirInode(2024, 5) == 0x0200000000000000ull + (2024 << 4 | 5));
  CHECK(YearCsvInode(2024) == 0x0300000000000000ull + 2024);
  CHECK(MonthCsvInode(2024, 5) == 0x0400000000000000ull + (2024 << 4 | 5));
}

TEST_CASE("Inodes: unique across kinds for many ids, never 0 or 1", "[fs_names]") {
  std::set<uint64_t> seen = {kRootInode, kAthleteJsonInode, kRootCsvInode, kByIdDirInode};
  size_t expected = seen.size();
  std::mt19937_64 rng(7);
  std::vector<int64_t> ids = {0, 1, 2, 3, 4, kId, (int64_t{1} << 56) - 1};
  for (int i = 0; i < 5000; ++i) ids.push_back(static_cast<int64_t>(rng() >> 8));
  for (int64_t i = 0; i < 1000; ++i) ids.push_back(15'000'000'000 + i);  // consecutive, as Strava's are
  std::set<int64_t> distinct_ids(ids.begin(), ids.end());
  for (int64_t id : distinct_ids) {
    for (uint64_t ino : {ActivityFileInode(ActivityFile::kJson, id), ActivityFileInode(ActivityFile::kCsv, id),
                         ActivityFileInode(ActivityFile::kGpx, id), ByIdLinkInode(id)}) {
      REQUIRE(ino > kByIdDirInode);
      seen.insert(ino);
    }
    expected += 4;
  }
  for (int year = 0; year <= 9999; year += 7) {
    seen.insert(YearDirInode(year));
    seen.insert(YearCsvInode(year));
    expected += 2;
    for (int month = 1; month <= 12; ++month) {
      REQUIRE(MonthDirInode(year, month) > kByIdDirInode);
      seen.insert(MonthDirInode(year, month));
      seen.insert(MonthCsvInode(year, month));
      expected += 2;
    }
  }
  CHECK(seen.size() == expected);
  CHECK(seen.count(kNoInode) == 0);
}

TEST_CASE("Inodes: ids and dates outside the layout have none", "[fs_names]") {
  CHECK(ActivityFileInode(ActivityFile::kJson, -1) == kNoInode);
  CHECK(ActivityFileInode(ActivityFile::kJson, int64_t{1} << 56) == kNoInode);
  CHECK(ByIdLinkInode(std::numeric_limits<int64_t>::max()) == kNoInode);
  CHECK(YearDirInode(-1) == kNoInode);
  CHECK(YearDirInode(10000) == kNoInode);
  CHECK(MonthDirInode(2024, 0) == kNoInode);
  CHECK(MonthDirInode(2024, 13) == kNoInode);
  CHECK(InodeFor(InodeKind::kActivityJson, uint64_t{1} << 56) == kNoInode);
}

TEST_CASE("DecodeInode: the inverse of the layout", "[fs_names]") {
  auto root = DecodeInode(kRootInode);
  REQUIRE(root);
  CHECK(root->kind == InodeKind::kFixed);
  CHECK(root->payload == 1);

  auto month = DecodeInode(MonthCsvInode(2024, 5));
  REQUIRE(month);
  CHECK(month->kind == InodeKind::kMonthCsv);
  CHECK(month->year() == 2024);
  CHECK(month->month() == 5);

  auto year = DecodeInode(YearDirInode(1999));
  REQUIRE(year);
  CHECK(year->kind == InodeKind::kYearDir);
  CHECK(year->year() == 1999);

  auto gpx = DecodeInode(ActivityFileInode(ActivityFile::kGpx, kId));
  REQUIRE(gpx);
  CHECK(gpx->kind == InodeKind::kActivityGpx);
  CHECK(gpx->activity_id() == kId);

  CHECK_FALSE(DecodeInode(0));
  CHECK_FALSE(DecodeInode(6));  // fixed, unknown entry
  CHECK(DecodeInode(uint64_t{10} << 56 | 1)->kind == InodeKind::kActivityFit);
  CHECK(DecodeInode(uint64_t{11} << 56 | 1)->kind == InodeKind::kActivityTcx);
  CHECK_FALSE(DecodeInode(uint64_t{17} << 56 | 1));                // unknown kind
  CHECK_FALSE(DecodeInode(uint64_t{2} << 56 | (2024 << 4 | 13)));  // month 13
  CHECK_FALSE(DecodeInode(uint64_t{1} << 56 | 10000));             // year 10000
  // Above bit 18: an athlete's folder, not a year that only looks valid once truncated.
  auto theirs = DecodeInode(uint64_t{2} << 56 | ((uint64_t{1} << 32) + 2024) << 4 | 5);
  REQUIRE(theirs);
  CHECK(theirs->athlete() == int64_t{1} << 18);
  CHECK(theirs->year() == 2024);
  CHECK(theirs->month() == 5);
  CHECK_FALSE(DecodeInode(uint64_t{12} << 56));  // no athlete 0 folder
}

TEST_CASE("Inodes of several athletes' folders", "[fs_names]") {
  // Athlete 0 is the root's layout: the numbers of one athlete are unchanged.
  CHECK(YearDirInode(2024, 0) == YearDirInode(2024));
  CHECK(AthleteDirInode(0) == kRootInode);
  CHECK(AthleteJsonInode(0) == kAthleteJsonInode);
  CHECK(AthleteCsvInode(0) == kRootCsvInode);
  CHECK(ByIdDirInode(0) == kByIdDirInode);
  CHECK(StatsDirInode(0) == kStatsDirInode);
  CHECK(StatsFileInode(3, 0) == StatsFileInode(3));
  // An athlete's stats/ and its files: kinds 16 and 9, the athlete above bit 18.
  CHECK(StatsDirInode(134815) == (uint64_t{16} << 56 | 134815));
  CHECK(StatsFileInode(3, 134815) == (uint64_t{9} << 56 | uint64_t{134815} << 18 | 3));

  const int64_t ann = 134815, bob = (int64_t{1} << 38) - 1;
  std::set<uint64_t> seen;
  for (int64_t a : {int64_t{0}, ann, bob}) {
    for (uint64_t ino : {YearDirInode(2024, a), YearCsvInode(2024, a), MonthDirInode(2024, 5, a),
                         MonthCsvInode(2024, 5, a), AthleteDirInode(a), AthleteJsonInode(a), AthleteCsvInode(a),
                         ByIdDirInode(a), StatsDirInode(a), StatsFileInode(0, a), StatsFileInode(11, a)}) {
      REQUIRE(ino != kNoInode);
      CHECK(seen.insert(ino).second);
      auto d = DecodeInode(ino);
      REQUIRE(d);
      CHECK(d->athlete() == a);
    }
    auto month = DecodeInode(MonthCsvInode(9999, 12, a));
    REQUIRE(month);
    CHECK(month->year() == 9999);
    CHECK(month->month() == 12);
    auto stats = DecodeInode(StatsFileInode(11, a));
    REQUIRE(stats);
    CHECK(stats->stats_index() == 11);
  }
  CHECK(YearDirInode(2024, int64_t{1} << 38) == kNoInode);
  CHECK(StatsFileInode(0, int64_t{1} << 38) == kNoInode);
  CHECK(StatsDirInode(int64_t{1} << 38) == kNoInode);
  CHECK(AthleteDirInode(-1) == kNoInode);
  CHECK_FALSE(DecodeInode(uint64_t{12} << 56 | uint64_t{1} << 38));
  CHECK_FALSE(DecodeInode(uint64_t{16} << 56));  // no athlete 0 stats/ of kind 16: the root's is 5
}

TEST_CASE("AthleteFolderNames: the naming rule, and the id on a clash", "[fs_names]") {
  CHECK(AthleteFolderNames({{1, "Ann Smith"}, {2, "Bob/Jones"}}) == std::vector<std::string>{"Ann-Smith", "Bob-Jones"});
  // Two Anns, a name the rule empties and the root's own entries.
  CHECK(AthleteFolderNames({{7, "Ann"}, {9, " Ann "}, {11, " ... "}, {12, "stats"}, {13, "activities.csv"}}) ==
        std::vector<std::string>{"Ann_7", "Ann_9", "11", "stats_12", "activities.csv_13"});
  // A name that clashes only once another took its id.
  CHECK(AthleteFolderNames({{3, "Ann_7"}, {7, "Ann"}, {8, "Ann"}}) ==
        std::vector<std::string>{"Ann_7_3", "Ann_7_7", "Ann_8"});
  CHECK(AthleteFolderNames({{5, "9"}, {9, ""}}) == std::vector<std::string>{"9_5", "9_9"});
  const auto names = AthleteFolderNames({{123456789, std::string(300, 'x')}, {5, std::string(300, 'x')}});
  CHECK(names[0] == std::string(255 - 10, 'x') + "_123456789");
  CHECK(names[1].size() == 255);
  CHECK(names[0].size() == 255);
}

}  // namespace
}  // namespace stravafs
