// The mount's stats/ folders: every analytics view of the cache as a CSV
// file, and two SVG charts any browser opens (mount.stravafs(8)), over
// everyone's activities (the root's stats/) or one athlete's (the stats/ in
// their folder, with several athletes in the cache): a StatsScope.
//
// Charts end at the newest activity of their scope, not at today, so that a
// file changes only when the cache does:
//   weekly_distance.svg  distance per sport group in each of the 52 ISO weeks
//                        up to the newest activity's week (weekly_totals);
//   calendar.svg         a heat map of the 53 weeks (Monday to Sunday) up to
//                        that week, one square per day, shaded by moving time
//                        (activity_facts).
#ifndef STRAVAFS_FS_STATS_H_
#define STRAVAFS_FS_STATS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cache/db.h"
#include "base/status.h"

namespace stravafs {

struct StatsFile {
  std::string name;           // in stats/
  std::string query;          // the CSV's rows, in order; empty for a chart
  std::string athlete_query;  // the same rows of one athlete, bound as ?1
};

// Whose rows a stats/ file shows, and how. Every analytics view has
// athlete_id as its first column (stravafs-sqlite(7)); the charts read
// activity_facts.
struct StatsScope {
  int64_t athlete = 0;          // 0: everyone's rows; else that athlete's only
  bool athlete_column = false;  // whether the CSV keeps the athlete_id column
  bool operator==(const StatsScope&) const = default;
};
// The root's stats/ of one athlete (or none): everyone's rows without the
// athlete_id column, the bytes of the mount before several athletes.
inline constexpr StatsScope kSingleLayoutStats{0, false};

// In listing order; a file's index is its place here.
std::span<const StatsFile> StatsFiles();
std::optional<size_t> StatsFileIndex(std::string_view name);

// The file's bytes, read from the cache (CSV: a header of the view's column
// names, then one RFC 4180 row per view row, CRLF line ends).
Result<std::string> RenderStatsFile(Cache& cache, size_t index, const StatsScope& scope);

// A CSV file of stats/ a row at a time, so that a view over every activity
// is never held whole: the file's bytes are the concatenation of what Next()
// appends until it returns false. Holds a statement of `cache` from the
// first Next() on; keep `cache` in one read transaction meanwhile for one
// consistent file. Charts are not streamed (small): Csv() is false for them.
class StatsCsvReader {
 public:
  StatsCsvReader(Cache& cache, size_t index, const StatsScope& scope) : cache_(cache), index_(index), scope_(scope) {}
  static bool Csv(size_t index);
  // Appends the header, then one row per call; false at the end.
  Result<bool> Next(std::string& out);
  // Back to the first byte.
  void Restart();

 private:
  Cache& cache_;
  size_t index_;
  StatsScope scope_;
  Stmt* st_ = nullptr;  // after the header
  bool done_ = false;
};

// The size of a stats/ file, counted without holding it. With `keep`, its
// bytes are left there too when they are at most `keep_limit` (else `keep`
// is left empty), for whoever reads the file next.
Result<uint64_t> MeasureStatsFile(Cache& cache, size_t index, const StatsScope& scope, std::string* keep = nullptr,
                                  size_t keep_limit = 0);

// The sport groups of activity_facts, in the charts' stacking order.
inline constexpr std::array<const char*, 4> kSportGroups = {"run", "ride", "swim", "other"};

struct WeekBar {
  std::string label;           // "2026-W05"
  std::array<double, 4> km{};  // per kSportGroups
};
// Oldest first; any number of weeks (the stats file passes 52).
std::string WeeklyDistanceSvg(std::span<const WeekBar> weeks);

struct DayCell {
  std::string date;  // YYYY-MM-DD
  int activities = 0;
  double km = 0;
  double hours = 0;  // moving time
};
// Whole weeks, Monday first, oldest first (the stats file passes 53 x 7 days).
std::string CalendarSvg(std::span<const DayCell> days);

}  // namespace stravafs

#endif  // STRAVAFS_FS_STATS_H_
