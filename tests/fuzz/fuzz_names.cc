// Fuzz target: file and folder names and inode numbers (src/format/names.h).
//
// Input: 8 bytes of activity id, 19 bytes of start_date_local, one length
// byte for the sport type, the sport type, then the activity name (any
// bytes). Checks every property the naming rule states (naming_rule.h), that
// the same input gives the same name, that SafeTitle is idempotent, the
// folder and by-id names, and that inode numbers decode to what encoded them.
#include <cstring>

#include "format/names.h"
#include "naming_rule.h"

using namespace stravafs;

namespace {

void CheckInodes(uint64_t raw, int64_t id) {
  // Any number either decodes to something that encodes back to it, or not at all.
  if (auto d = DecodeInode(raw)) FUZZ_CHECK(InodeFor(d->kind, d->payload) == raw, std::to_string(raw));
  for (ActivityFile f : {ActivityFile::kJson, ActivityFile::kCsv, ActivityFile::kGpx}) {
    const uint64_t ino = ActivityFileInode(f, id);
    if (id < 0 || static_cast<uint64_t>(id) >= kInodePayloadLimit) {
      FUZZ_CHECK(ino == kNoInode, std::to_string(id));
      continue;
    }
    FUZZ_CHECK(ino > kByIdDirInode, std::to_string(id));
    auto d = DecodeInode(ino);
    FUZZ_CHECK(d && d->activity_id() == id, std::to_string(id));
  }
  const uint64_t link = ByIdLinkInode(id);
  if (link != kNoInode) FUZZ_CHECK(DecodeInode(link) && DecodeInode(link)->activity_id() == id, std::to_string(id));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8 + 19 + 1) return 0;
  int64_t id;
  uint64_t raw;
  std::memcpy(&id, data, 8);
  std::memcpy(&raw, data, 8);
  const std::string_view date(reinterpret_cast<const char*>(data) + 8, 19);
  const size_t sport_len = std::min<size_t>(data[27] % 32, size - 28);
  const std::string_view sport(reinterpret_cast<const char*>(data) + 28, sport_len);
  const std::string_view name(reinterpret_cast<const char*>(data) + 28 + sport_len, size - 28 - sport_len);

  CheckInodes(raw, id);
  CheckInodes(raw, static_cast<int64_t>(raw >> 8));  // ids near Strava's, not only huge ones

  const std::string safe = SafeTitle(name);
  FUZZ_CHECK(safe == fuzz::ReferenceSafeTitle(name),
             fuzz::Show(safe) + " want " + fuzz::Show(fuzz::ReferenceSafeTitle(name)));
  FUZZ_CHECK(SafeTitle(safe) == safe, fuzz::Show(safe));

  auto start = ParseLocalStart(date);
  if (!start) {
    // Any real date parses; a fixed one keeps the names checked for every input.
    start = LocalStart{2024, 5, 12, 7, 30};
  } else {
    FUZZ_CHECK(start->year >= 0 && start->year <= 9999 && start->month >= 1 && start->month <= 12 && start->day >= 1 &&
                   start->day <= 31 && start->hour >= 0 && start->hour <= 23 && start->minute >= 0 &&
                   start->minute <= 59,
               fuzz::Show(date));
    const std::string year = YearFolderName(start->year), month = MonthFolderName(start->month);
    FUZZ_CHECK(year == date.substr(0, 4) && month == date.substr(5, 2), fuzz::Show(date));
    FUZZ_CHECK(YearDirInode(start->year) != kNoInode && MonthDirInode(start->year, start->month) != kNoInode &&
                   YearCsvInode(start->year) != kNoInode && MonthCsvInode(start->year, start->month) != kNoInode,
               fuzz::Show(date));
    auto d = DecodeInode(MonthDirInode(start->year, start->month));
    FUZZ_CHECK(d && d->year() == start->year && d->month() == start->month, fuzz::Show(date));
  }
  const std::string base = ActivityBaseName(*start, name, id, sport);
  fuzz::CheckBaseName(base, *start, name, id, sport);
  FUZZ_CHECK(ActivityBaseName(*start, name, id, sport) == base, "not deterministic");
  FUZZ_CHECK(ByIdLinkName(id) == std::to_string(id) + ".json", "");
  FUZZ_CHECK(ByIdLinkTarget(*start, base) ==
                 "../" + YearFolderName(start->year) + "/" + MonthFolderName(start->month) + "/" + base + ".json",
             "");
  return 0;
}
