#include "mount/tree.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>
#include <utility>

#include "base/gzip.h"
#include "cache/activity_store.h"
#include "format/json_file.h"
#include "format/names.h"
#include "format/render.h"
#include "mount/stats.h"

namespace stravafs {

namespace {

// SQL that holds exactly for the activities ParseLocalStart accepts (the
// cache stores start_date_local without its Z) and whose id has an inode.
constexpr const char* kShown =
    " length(a.start_date_local) = 19"
    " AND a.start_date_local GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]'"
    " AND substr(a.start_date_local, 6, 2) BETWEEN '01' AND '12'"
    " AND substr(a.start_date_local, 9, 2) BETWEEN '01' AND '31'"
    " AND substr(a.start_date_local, 12, 2) <= '23' AND substr(a.start_date_local, 15, 2) <= '59'"
    " AND substr(a.start_date_local, 18, 2) <= '60'"
    " AND a.id BETWEEN 0 AND 72057594037927935 ";

// What a folder lists of its activities: from the covering indexes
// activities_start_date_local and activities_athlete_local alone, never the
// wide rows. One activity's node also reads its athlete (kActivityColumns).
constexpr const char* kListedColumns =
    "SELECT a.id, a.start_date_local, a.name, a.sport_type, a.start_date, "
    "s.json_size, s.streams_csv_size, s.gpx_size, s.rev, s.original_size, s.original_format "
    "FROM activities a JOIN activity_sync s ON s.id = a.id WHERE ";
constexpr const char* kActivityColumns =
    "SELECT a.id, a.start_date_local, a.name, a.sport_type, a.start_date, "
    "s.json_size, s.streams_csv_size, s.gpx_size, s.rev, s.original_size, s.original_format, a.athlete_id "
    "FROM activities a JOIN activity_sync s ON s.id = a.id WHERE ";

// A query over the activities of a layout: everyone's (athlete 0), or one
// athlete's, whose condition goes right after the query's first WHERE, bound
// as ?9, where the index activities_athlete_local serves it.
class ScopedSql {
 public:
  explicit ScopedSql(std::string sql) : all_(std::move(sql)), one_(all_) {
    constexpr std::string_view kWhere = "WHERE ";
    one_.insert(one_.find(kWhere) + kWhere.size(), "a.athlete_id = ?9 AND ");
  }
  // Bound to `athlete`, until the next Reset() (which clears every binding).
  Stmt* Prepare(Cache& cache, int64_t athlete) const {
    Stmt* st = cache.Prepare(athlete == 0 ? all_ : one_);
    if (st->prepared()) Bind(*st, athlete);
    return st;
  }
  static void Bind(Stmt& st, int64_t athlete) {
    if (athlete != 0) st.Bind(9, athlete);
  }

 private:
  std::string all_, one_;
};

// start_date_local ranges: every value of a folder is >= lo and < hi
// ("2024-05-" .. "2024-05:", as ':' sorts right after the digits and '-').
constexpr const char* kAllLo = "0";
constexpr const char* kAllHi = ":";
std::string YearLo(int y) { return YearFolderName(y) + "-"; }
std::string YearHi(int y) { return YearFolderName(y) + ":"; }
std::string MonthLo(int y, int m) { return YearFolderName(y) + "-" + MonthFolderName(m) + "-"; }
std::string MonthHi(int y, int m) { return YearFolderName(y) + "-" + MonthFolderName(m) + ":"; }

constexpr int kRowsPerBlock = 256;
constexpr int64_t kFolderNlinkBase = 2;  // "." and the entry in the parent

NodeAttr Dir(uint64_t ino, int64_t mtime, uint32_t subdirs) {
  return NodeAttr{ino, NodeType::kDir, 0, mtime, static_cast<uint32_t>(kFolderNlinkBase + subdirs)};
}
NodeAttr File(uint64_t ino, uint64_t size, int64_t mtime, uint64_t version) {
  return NodeAttr{ino, NodeType::kFile, size, mtime, 1, version};
}

// Versions of files rendered to be measured: their bytes' fingerprint.
uint64_t VersionOfBytes(std::string_view bytes) { return Fingerprint(bytes); }

// An activities.csv's version: its rows change only when an activity in its
// range is written (a larger rev than any before) or leaves it (fewer rows).
uint64_t VersionOfCsv(int64_t rows, int64_t max_rev) {
  return VersionOfBytes(std::to_string(rows) + "/" + std::to_string(max_rev));
}

// "2024-05-12_0730_Morning-Run_11234567890.json" → (base, id, kind); nullopt
// for anything an activity file name cannot be.
struct ParsedName {
  std::string_view base;
  int64_t id;
  ActivityFile file;
};
std::optional<ParsedName> ParseActivityFileName(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view ext = name.substr(dot);
  ActivityFile file;
  if (ext == ".json")
    file = ActivityFile::kJson;
  else if (ext == ".csv")
    file = ActivityFile::kCsv;
  else if (ext == ".gpx")
    file = ActivityFile::kGpx;
  else if (ext == ".fit")
    file = ActivityFile::kFit;
  else if (ext == ".tcx")
    file = ActivityFile::kTcx;
  else
    return std::nullopt;
  std::string_view base = name.substr(0, dot);
  size_t us = base.rfind('_');
  if (us == std::string_view::npos || us + 1 == base.size() || base.size() - us - 1 > 18) return std::nullopt;
  int64_t id = 0;
  for (char c : base.substr(us + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + (c - '0');
  }
  return ParsedName{base, id, file};
}

std::optional<int> TwoDigits(std::string_view s, int lo, int hi) {
  if (s.size() != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return std::nullopt;
  int v = (s[0] - '0') * 10 + (s[1] - '0');
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::optional<int> FourDigits(std::string_view s) {
  if (s.size() != 4) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

ColumnValue ReadValue(const Stmt& st, int col) {
  ColumnValue v;
  switch (st.Type(col)) {
    case SQLITE_INTEGER:
      v.kind = ColumnValue::kInt;
      v.i = st.Int(col);
      break;
    case SQLITE_FLOAT:
      v.kind = ColumnValue::kReal;
      v.d = st.Real(col);
      break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:
      v.kind = ColumnValue::kText;
      v.s = st.Text(col);
      break;
    default:
      break;
  }
  return v;
}

}  // namespace

// --- FsMemo ------------------------------------------------------------------

uint64_t FsMemo::epoch(int64_t seq) {
  std::lock_guard lock(mu_);
  if (seq < seq_) return kStale;
  if (seq > seq_) {
    seq_ = seq;
    Clear();
  }
  return epoch_;
}

std::optional<NodeAttr> FsMemo::Get(uint64_t epoch, uint64_t ino) const {
  std::lock_guard lock(mu_);
  if (epoch != epoch_) return std::nullopt;
  auto it = attrs_.find(ino);
  if (it == attrs_.end()) return std::nullopt;
  return it->second;
}

std::optional<NodeAttr> FsMemo::Get(uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = attrs_.find(ino);
  if (it == attrs_.end()) return std::nullopt;
  return it->second;
}

void FsMemo::Put(uint64_t epoch, const NodeAttr& attr) {
  std::lock_guard lock(mu_);
  if (epoch == epoch_) attrs_[attr.ino] = attr;
}

void FsMemo::Clear() {
  ++epoch_;
  attrs_.clear();
  folders_.reset();
}

void FsMemo::Invalidate() {
  std::lock_guard lock(mu_);
  seq_ = std::numeric_limits<int64_t>::min();
  Clear();
  measured_.clear();
  measured_bytes_ = 0;
}

void FsMemo::PutMeasured(uint64_t epoch, uint64_t ino, uint64_t version, std::string bytes) {
  if (bytes.size() > kMeasuredFileBytes) return;
  bytes.shrink_to_fit();  // grown by appending: up to twice its size
  std::lock_guard lock(mu_);
  if (epoch != epoch_ && epoch != kStale) return;  // of a replaced cache file
  std::erase_if(measured_, [&](const Measured& m) {
    if (m.ino != ino) return false;
    measured_bytes_ -= m.bytes.size();
    return true;
  });
  measured_bytes_ += bytes.size();
  measured_.push_back(Measured{ino, version, std::move(bytes)});
  size_t drop = 0;
  while (measured_bytes_ > kMeasuredBytes) measured_bytes_ -= measured_[drop++].bytes.size();
  measured_.erase(measured_.begin(), measured_.begin() + static_cast<ptrdiff_t>(drop));
}

std::optional<std::string> FsMemo::TakeMeasured(uint64_t ino, uint64_t version) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(measured_.begin(), measured_.end(),
                         [&](const Measured& m) { return m.ino == ino && m.version == version; });
  if (it == measured_.end()) return std::nullopt;
  std::string bytes = std::move(it->bytes);
  measured_bytes_ -= bytes.size();
  measured_.erase(it);
  return bytes;
}

std::optional<std::vector<AthleteFolder>> FsMemo::Folders(uint64_t epoch) const {
  std::lock_guard lock(mu_);
  if (epoch != epoch_) return std::nullopt;
  return folders_;
}

void FsMemo::PutFolders(uint64_t epoch, const std::vector<AthleteFolder>& folders) {
  std::lock_guard lock(mu_);
  if (epoch == epoch_) folders_ = folders;
}

// --- FsTree --------------------------------------------------------------------

struct FsTree::ActivityNode {
  int64_t id = 0;
  LocalStart local;
  std::string base;
  int64_t start = 0;  // start_date, epoch seconds
  uint64_t json_size = 0;
  std::optional<uint64_t> csv_size, gpx_size;
  uint64_t rev = 0;                       // the version of its files
  std::optional<uint64_t> original_size;  // the original file an import kept, decompressed
  std::string original_format;            // "fit", "gpx" or "tcx"
  int64_t athlete = 0;                    // whose (Activity() reads it; 0 unknown)

  // Its month folder in `layout` (LayoutOf()).
  uint64_t MonthIno(int64_t layout) const { return MonthDirInode(local.year, local.month, layout); }
  std::optional<uint64_t> Size(ActivityFile f) const {
    switch (f) {
      case ActivityFile::kJson:
        return json_size;
      case ActivityFile::kCsv:
        return csv_size;
      case ActivityFile::kGpx:
        return gpx_size;
      case ActivityFile::kFit:
        return original_format == "fit" ? original_size : std::nullopt;
      case ActivityFile::kTcx:
        return original_format == "tcx" ? original_size : std::nullopt;
    }
    return std::nullopt;
  }
  std::string LinkTarget() const { return ByIdLinkTarget(local, base); }
};

Result<std::unique_ptr<FsTree>> FsTree::Open(const std::string& cache_path, FsMemo& memo) {
  auto cache = Cache::Open(cache_path, Cache::Mode::kReadOnly);
  if (!cache.ok()) return cache.status();
  return std::unique_ptr<FsTree>(new FsTree(std::move(*cache), memo));
}

bool FsTree::IsActivitiesCsv(uint64_t ino) {
  auto d = DecodeInode(ino);
  return d && (ino == kRootCsvInode || d->kind == InodeKind::kYearCsv || d->kind == InodeKind::kMonthCsv ||
               d->kind == InodeKind::kAthleteCsv);
}

bool FsTree::IsAthleteJson(uint64_t ino) {
  auto d = DecodeInode(ino);
  return ino == kAthleteJsonInode || (d && d->kind == InodeKind::kAthleteJson);
}

Result<std::vector<AthleteFolder>> FsTree::ReadFolders() {
  Stmt* st = cache_->Prepare(
      "SELECT id, trim(coalesce(firstname, '') || ' ' || coalesce(lastname, '')) FROM athletes ORDER BY id");
  if (!st->prepared()) return cache_->Check(st->rc(), "reading the athletes");
  std::vector<AthleteName> athletes;
  while (st->Step())
    if (AthleteHasFolder(st->Int(0))) athletes.push_back(AthleteName{st->Int(0), st->Text(1)});
  if (auto s = cache_->Check(st->rc(), "reading the athletes"); !s.ok()) return s;
  std::vector<AthleteFolder> folders;
  if (athletes.size() < 2) return folders;
  const std::vector<std::string> names = AthleteFolderNames(athletes);
  for (size_t i = 0; i < athletes.size(); ++i) folders.push_back(AthleteFolder{athletes[i].id, names[i]});
  return folders;
}

Result<std::vector<AthleteFolder>> FsTree::Folders() {
  const uint64_t epoch = MemoEpoch();
  if (auto m = memo_.Folders(epoch)) return std::move(*m);
  auto folders = ReadFolders();
  if (folders.ok()) memo_.PutFolders(epoch, *folders);
  return folders;
}

Result<bool> FsTree::Shows(int64_t athlete) {
  auto folders = Folders();
  if (!folders.ok()) return folders.status();
  if (athlete == 0) return folders->empty();
  return std::any_of(folders->begin(), folders->end(), [&](const AthleteFolder& f) { return f.id == athlete; });
}

Result<int64_t> FsTree::LayoutOf(const ActivityNode& n) {
  auto folders = Folders();
  if (!folders.ok()) return folders.status();
  return folders->empty() ? 0 : n.athlete;
}

bool FsTree::IsStatsFile(uint64_t ino) {
  auto d = DecodeInode(ino);
  return d && d->kind == InodeKind::kStatsFile;
}

namespace {
// Reads the row of kActivityColumns at `st` into a node; nullopt for a start
// ParseLocalStart refuses (kShown keeps those out; this is the belt to its braces).
template <typename Node>
std::optional<Node> ReadNode(const Stmt& st) {
  Node n;
  n.id = st.Int(0);
  auto local = ParseLocalStart(st.Text(1));
  if (!local) return std::nullopt;
  n.local = *local;
  n.base = ActivityBaseName(n.local, st.Text(2), n.id, st.Text(3));
  n.start = ParseIsoUtc(st.Text(4)).value_or(0);
  n.json_size = st.IsNull(5) ? 0 : static_cast<uint64_t>(st.Int(5));
  if (!st.IsNull(6)) n.csv_size = static_cast<uint64_t>(st.Int(6));
  if (!st.IsNull(7)) n.gpx_size = static_cast<uint64_t>(st.Int(7));
  n.rev = static_cast<uint64_t>(st.Int(8));
  if (!st.IsNull(9)) n.original_size = static_cast<uint64_t>(st.Int(9));
  n.original_format = st.Text(10);
  n.athlete = st.Columns() < 12 || st.IsNull(11) ? 0 : st.Int(11);
  return n;
}
}  // namespace

Result<std::optional<FsTree::ActivityNode>> FsTree::Activity(int64_t id) {
  static const std::string sql = std::string(kActivityColumns) + "a.id = ?1 AND" + kShown;
  Stmt* st = cache_->Prepare(sql);
  if (!st->prepared()) return cache_->Check(st->rc(), "reading an activity");
  st->Bind(1, id);
  std::optional<ActivityNode> node;
  if (st->Step())
    node = ReadNode<ActivityNode>(*st);
  else if (auto s = cache_->Check(st->rc(), "reading an activity"); !s.ok())
    return s;
  st->Reset();
  return node;
}

Status FsTree::ForEachActivityIn(const std::string& lo, const std::string& hi, int64_t athlete,
                                 const std::function<void(ActivityNode&&)>& each) {
  static const ScopedSql sql(std::string(kListedColumns) + "a.start_date_local >= ?1 AND a.start_date_local < ?2 AND" +
                             kShown + "ORDER BY a.start_date_local, a.id");
  Stmt* st = sql.Prepare(*cache_, athlete);
  if (!st->prepared()) return cache_->Check(st->rc(), "listing activities");
  st->Bind(1, lo).Bind(2, hi);
  while (st->Step())
    if (auto n = ReadNode<ActivityNode>(*st)) each(std::move(*n));
  return cache_->Check(st->rc(), "listing activities");
}

Result<std::vector<FsTree::ActivityNode>> FsTree::ActivitiesIn(const std::string& lo, const std::string& hi,
                                                               int64_t athlete) {
  std::vector<ActivityNode> nodes;
  if (auto s = ForEachActivityIn(lo, hi, athlete, [&](ActivityNode&& n) { nodes.push_back(std::move(n)); }); !s.ok())
    return s;
  return nodes;
}

// The first year (or month) at or after `lo`, one index probe each: a folder
// listing costs a probe per folder, never a scan of its activities.
namespace {
Result<std::vector<int>> DistinctPrefixes(Cache& cache, std::string lo, const std::string& hi, int substr_from,
                                          const std::function<std::string(int)>& next_lo, int64_t athlete) {
  static const ScopedSql sql(std::string("SELECT a.start_date_local FROM activities a WHERE "
                                         "a.start_date_local >= ?1 AND a.start_date_local < ?2 AND") +
                             kShown + "ORDER BY a.start_date_local LIMIT 1");
  Stmt* st = sql.Prepare(cache, athlete);
  if (!st->prepared()) return cache.Check(st->rc(), "listing folders");
  std::vector<int> out;
  for (;;) {
    st->Bind(1, lo).Bind(2, hi);
    ScopedSql::Bind(*st, athlete);
    if (!st->Step()) {
      if (auto s = cache.Check(st->rc(), "listing folders"); !s.ok()) return s;
      st->Reset();
      break;
    }
    std::string date = st->Text(0);
    st->Reset();
    int v = std::stoi(date.substr(static_cast<size_t>(substr_from), substr_from == 0 ? 4 : 2));
    out.push_back(v);
    lo = next_lo(v);
  }
  return out;
}
}  // namespace

Result<std::vector<int>> FsTree::Years(int64_t athlete) {
  return DistinctPrefixes(
      *cache_, kAllLo, kAllHi, 0, [](int y) { return YearHi(y); }, athlete);
}

Result<std::vector<int>> FsTree::Months(int year, int64_t athlete) {
  return DistinctPrefixes(
      *cache_, YearLo(year), YearHi(year), 5, [year](int m) { return MonthHi(year, m); }, athlete);
}

Result<std::optional<int64_t>> FsTree::LastStart(const std::string& lo, const std::string& hi, int64_t athlete) {
  static const ScopedSql sql(std::string("SELECT a.start_date FROM activities a WHERE "
                                         "a.start_date_local >= ?1 AND a.start_date_local < ?2 AND") +
                             kShown + "ORDER BY a.start_date_local DESC, a.id DESC LIMIT 1");
  Stmt* st = sql.Prepare(*cache_, athlete);
  if (!st->prepared()) return cache_->Check(st->rc(), "reading the newest activity");
  st->Bind(1, lo).Bind(2, hi);
  std::optional<int64_t> t;
  if (st->Step())
    t = ParseIsoUtc(st->Text(0)).value_or(0);
  else if (auto s = cache_->Check(st->rc(), "reading the newest activity"); !s.ok())
    return s;
  st->Reset();
  return t;
}

// Athlete 0: the root's athlete.json, the first athlete's.
Result<std::optional<std::string>> FsTree::AthleteJson(int64_t athlete) {
  Stmt* st = cache_->Prepare("SELECT json FROM athletes WHERE ?1 IN (0, id) ORDER BY id LIMIT 1");
  if (!st->prepared()) return cache_->Check(st->rc(), "reading the athlete");
  st->Bind(1, athlete);
  std::optional<std::string> json;
  if (st->Step())
    json = st->Text(0);
  else if (auto s = cache_->Check(st->rc(), "reading the athlete"); !s.ok())
    return s;
  st->Reset();
  return json;
}

Result<std::optional<NodeAttr>> FsTree::AthleteAttr(int64_t athlete) {
  const uint64_t ino = AthleteJsonInode(athlete);
  const uint64_t epoch = MemoEpoch();
  if (auto m = memo_.Get(epoch, ino)) return std::optional<NodeAttr>(*m);
  auto shown = Shows(athlete);
  if (!shown.ok()) return shown.status();
  if (!*shown) return std::optional<NodeAttr>();
  auto json = AthleteJson(athlete);
  if (!json.ok()) return json.status();
  if (!*json) return std::optional<NodeAttr>();
  auto last = LastStart(kAllLo, kAllHi, athlete);
  if (!last.ok()) return last.status();
  const std::string bytes = RenderJsonText(**json);
  NodeAttr a = File(ino, bytes.size(), last->value_or(0), VersionOfBytes(bytes));
  memo_.Put(epoch, a);
  return std::optional<NodeAttr>(a);
}

// Folders: the root, an athlete's, by-id, stats, a year, a month.
Result<std::optional<NodeAttr>> FsTree::FolderAttr(uint64_t ino) {
  const uint64_t epoch = MemoEpoch();
  if (auto m = memo_.Get(epoch, ino)) return std::optional<NodeAttr>(*m);
  auto d = DecodeInode(ino);
  if (!d) return std::optional<NodeAttr>();
  const int64_t athlete = d->athlete();
  std::string lo = kAllLo, hi = kAllHi;
  uint32_t subdirs = 0;
  bool always = true;  // there with no activities; its mtime is the newest activity's
  if (ino == kRootInode) {
    auto folders = Folders();
    if (!folders.ok()) return folders.status();
    subdirs = static_cast<uint32_t>(folders->size()) + 1;  // + stats
    if (folders->empty()) {
      auto years = Years(0);
      if (!years.ok()) return years.status();
      subdirs = static_cast<uint32_t>(years->size()) + 2;  // + by-id and stats
    }
  } else if (ino != kStatsDirInode) {  // the root's stats/ is there in either layout
    auto shown = Shows(athlete);
    if (!shown.ok()) return shown.status();
    if (!*shown) return std::optional<NodeAttr>();
    if (d->kind == InodeKind::kAthleteDir) {
      auto years = Years(athlete);
      if (!years.ok()) return years.status();
      subdirs = static_cast<uint32_t>(years->size()) + 2;  // + by-id and stats
    } else if (d->kind == InodeKind::kYearDir) {
      auto months = Months(d->year(), athlete);
      if (!months.ok()) return months.status();
      if (months->empty()) return std::optional<NodeAttr>();
      subdirs = static_cast<uint32_t>(months->size());
      lo = YearLo(d->year());
      hi = YearHi(d->year());
      always = false;
    } else if (d->kind == InodeKind::kMonthDir) {
      lo = MonthLo(d->year(), d->month());
      hi = MonthHi(d->year(), d->month());
      always = false;
    } else if (ino != kByIdDirInode && d->kind != InodeKind::kAthleteById && d->kind != InodeKind::kAthleteStats) {
      return std::optional<NodeAttr>();
    }
  }
  auto last = LastStart(lo, hi, athlete);
  if (!last.ok()) return last.status();
  if (!*last && !always) return std::optional<NodeAttr>();
  NodeAttr a = Dir(ino, last->value_or(0), subdirs);
  memo_.Put(epoch, a);
  return std::optional<NodeAttr>(a);
}

struct FsTree::CsvRange {
  std::string lo, hi;
  bool always;  // the root's and an athlete's exist even with no activities
  int64_t athlete;
};

// The range of the activities.csv `ino`; nullopt when it is no such file or
// is not shown (the root's lists everyone, with one athlete or several).
Result<std::optional<FsTree::CsvRange>> FsTree::ShownCsv(uint64_t ino) {
  using Range = std::optional<CsvRange>;
  if (ino == kRootCsvInode) return Range(CsvRange{kAllLo, kAllHi, true, 0});
  auto d = DecodeInode(ino);
  Range range;
  if (d && d->kind == InodeKind::kAthleteCsv)
    range = CsvRange{kAllLo, kAllHi, true, d->athlete()};
  else if (d && d->kind == InodeKind::kYearCsv)
    range = CsvRange{YearLo(d->year()), YearHi(d->year()), false, d->athlete()};
  else if (d && d->kind == InodeKind::kMonthCsv)
    range = CsvRange{MonthLo(d->year(), d->month()), MonthHi(d->year(), d->month()), false, d->athlete()};
  else
    return Range();
  auto shown = Shows(range->athlete);
  if (!shown.ok()) return shown.status();
  return *shown ? range : Range();
}

namespace {
// What an activities.csv's attributes are made of: its rows' count, their
// bytes, the newest rev among them, and the start of its last row.
struct CsvSum {
  int64_t rows = 0;
  uint64_t bytes = 0;
  int64_t max_rev = 0;
  std::string last_start;  // start_date of the last row in folder order

  void Add(const CsvSum& o) {
    rows += o.rows;
    bytes += o.bytes;
    max_rev = std::max(max_rev, o.max_rev);
    if (o.rows > 0) last_start = o.last_start;  // o's rows come after ours
  }
  NodeAttr Attr(uint64_t ino) const {
    const int64_t mtime = rows > 0 ? ParseIsoUtc(last_start).value_or(0) : 0;
    return File(ino, ActivitiesCsvHeader().size() + bytes, mtime, VersionOfCsv(rows, max_rev));
  }
};
}  // namespace

// An activities.csv's attributes: its rows read in folder order and summed
// a month at a time. Each month's sum goes to the memo on the way, and each
// year's when the file is everyone's, as their own lookups would have made
// them: find lists the root first, and then reads no month's rows again.
Result<std::optional<NodeAttr>> FsTree::CsvAttrByMonth(uint64_t ino, const CsvRange& range, uint64_t epoch) {
  const auto d = DecodeInode(ino);
  const bool whole = !(d && (d->kind == InodeKind::kYearCsv || d->kind == InodeKind::kMonthCsv));
  // The root's range is everyone's; its months are a layout's only when one is shown.
  auto shown = Shows(range.athlete);
  if (!shown.ok()) return shown.status();
  static const ScopedSql sql(std::string("SELECT CAST(substr(a.start_date_local, 1, 4) AS INTEGER), "
                                         "CAST(substr(a.start_date_local, 6, 2) AS INTEGER), "
                                         "a.start_date, s.csv_row_size, s.rev "
                                         "FROM activities a JOIN activity_sync s ON s.id = a.id "
                                         "WHERE a.start_date_local >= ?1 AND a.start_date_local < ?2 AND") +
                             kShown + "ORDER BY a.start_date_local, a.id");
  Stmt* st = sql.Prepare(*cache_, range.athlete);
  if (!st->prepared()) return cache_->Check(st->rc(), "sizing activities.csv");
  st->Bind(1, range.lo).Bind(2, range.hi);
  CsvSum total, year, month;
  int y = 0, m = 0;
  auto end_month = [&] {
    if (month.rows == 0) return;
    if (*shown) memo_.Put(epoch, month.Attr(MonthCsvInode(y, m, range.athlete)));
    year.Add(month);
    month = CsvSum();
  };
  auto end_year = [&] {
    end_month();
    if (year.rows == 0) return;
    if (*shown && whole) memo_.Put(epoch, year.Attr(YearCsvInode(y, range.athlete)));
    total.Add(year);
    year = CsvSum();
  };
  while (st->Step()) {
    const auto row_y = static_cast<int>(st->Int(0)), row_m = static_cast<int>(st->Int(1));  // kShown: valid
    if (row_y != y) end_year();
    if (row_m != m || row_y != y) end_month();
    y = row_y, m = row_m;
    ++month.rows;
    month.bytes += st->IsNull(3) ? 0 : static_cast<uint64_t>(st->Int(3));
    month.max_rev = std::max(month.max_rev, st->Int(4));
    month.last_start = st->Text(2);
  }
  if (auto s = cache_->Check(st->rc(), "sizing activities.csv"); !s.ok()) return s;
  end_year();
  if (total.rows == 0 && !range.always) return std::optional<NodeAttr>();
  const NodeAttr a = total.Attr(ino);
  memo_.Put(epoch, a);
  return std::optional<NodeAttr>(a);
}

Result<std::optional<NodeAttr>> FsTree::CsvAttr(uint64_t ino) {
  const uint64_t epoch = MemoEpoch();
  if (auto m = memo_.Get(epoch, ino)) return std::optional<NodeAttr>(*m);
  auto shown = ShownCsv(ino);
  if (!shown.ok()) return shown.status();
  if (!*shown) return std::optional<NodeAttr>();
  const CsvRange* range = &**shown;
  return CsvAttrByMonth(ino, *range, epoch);
}

Result<std::optional<NodeAttr>> FsTree::ActivityFileAttr(uint64_t ino) {
  auto d = DecodeInode(ino);
  if (!d) return std::optional<NodeAttr>();
  auto node = Activity(d->activity_id());
  if (!node.ok()) return node.status();
  if (!*node) return std::optional<NodeAttr>();
  const ActivityNode& n = **node;
  if (d->kind == InodeKind::kByIdLink)
    return std::optional<NodeAttr>(NodeAttr{ino, NodeType::kLink, n.LinkTarget().size(), n.start, 1});
  ActivityFile f = d->kind == InodeKind::kActivityJson  ? ActivityFile::kJson
                   : d->kind == InodeKind::kActivityCsv ? ActivityFile::kCsv
                   : d->kind == InodeKind::kActivityFit ? ActivityFile::kFit
                   : d->kind == InodeKind::kActivityTcx ? ActivityFile::kTcx
                                                        : ActivityFile::kGpx;
  auto size = n.Size(f);
  if (!size) return std::optional<NodeAttr>();
  return std::optional<NodeAttr>(File(ino, *size, n.start, n.rev));
}

Result<bool> FsTree::ActivityFileAt(uint64_t ino, uint64_t version) {
  auto d = DecodeInode(ino);
  if (!d) return false;
  Stmt* st = cache_->Prepare("SELECT rev FROM activity_sync WHERE id = ?1");
  if (!st->prepared()) return cache_->Check(st->rc(), "reading an activity");
  st->Bind(1, d->activity_id());
  if (!st->Step()) {
    if (auto s = cache_->Check(st->rc(), "reading an activity"); !s.ok()) return s;
    return false;  // no such activity
  }
  const bool at = static_cast<uint64_t>(st->Int(0)) == version;
  st->Reset();
  return at;
}

Result<std::vector<FsTree::ActivityVersion>> FsTree::NextActivities(int64_t id, size_t n) {
  // One index range (activities_athlete_local) from the activity on.
  static const std::string sql =
      std::string(
          "SELECT a.id, s.rev FROM (SELECT start_date_local AS at, athlete_id AS who FROM activities WHERE id = ?1) o, "
          "activities a JOIN activity_sync s ON s.id = a.id "
          "WHERE a.athlete_id IS o.who AND a.start_date_local >= o.at AND (a.start_date_local > o.at OR a.id > ?1) "
          "AND") +
      kShown + "ORDER BY a.start_date_local, a.id LIMIT ?2";
  Stmt* st = cache_->Prepare(sql);
  if (!st->prepared()) return cache_->Check(st->rc(), "reading the next activities");
  st->Bind(1, id).Bind(2, static_cast<int64_t>(n));
  std::vector<ActivityVersion> out;
  while (st->Step()) out.push_back(ActivityVersion{st->Int(0), static_cast<uint64_t>(st->Int(1))});
  if (auto s = cache_->Check(st->rc(), "reading the next activities"); !s.ok()) return s;
  return out;
}

// The athletes are read from the cache, not the memo: the scope must be
// the one of the snapshot the bytes are read in.
Result<std::optional<FsTree::StatsNode>> FsTree::Stats(uint64_t ino) {
  auto d = DecodeInode(ino);
  if (!d || d->kind != InodeKind::kStatsFile || d->stats_index() >= StatsFiles().size())
    return std::optional<StatsNode>();
  auto folders = ReadFolders();
  if (!folders.ok()) return folders.status();
  StatsScope scope{d->athlete(), false};
  if (scope.athlete == 0)  // the root's: everyone's, with whose each row is when there are folders
    scope.athlete_column = !folders->empty();
  else if (std::none_of(folders->begin(), folders->end(),
                        [&](const AthleteFolder& f) { return f.id == scope.athlete; }))
    return std::optional<StatsNode>();
  auto seq = LastChange();
  if (!seq.ok()) return seq.status();
  const uint64_t version = scope == kSingleLayoutStats
                               ? static_cast<uint64_t>(*seq)
                               : VersionOfBytes(std::to_string(*seq) + "/" + std::to_string(scope.athlete) + "/" +
                                                (scope.athlete_column ? "athlete_id" : ""));
  return std::optional<StatsNode>(StatsNode{d->stats_index(), scope, version});
}

// stats/ files are counted to be measured (a view's rows have no stored
// size), once per change of the cache, in one transaction with their
// version (Stats()).
Result<std::optional<NodeAttr>> FsTree::StatsAttr(uint64_t ino) {
  const uint64_t epoch = MemoEpoch();
  if (auto m = memo_.Get(epoch, ino)) return std::optional<NodeAttr>(*m);
  if (!IsStatsFile(ino)) return std::optional<NodeAttr>();
  if (auto s = BeginSnapshot(); !s.ok()) return s;
  struct End {
    FsTree* t;
    ~End() { t->EndSnapshot(); }
  } end{this};
  auto node = Stats(ino);
  if (!node.ok()) return node.status();
  if (!*node) return std::optional<NodeAttr>();
  std::string bytes;
  auto size = MeasureStatsFile(*cache_, (*node)->index, (*node)->scope, &bytes, FsMemo::kMeasuredFileBytes);
  if (!size.ok()) return size.status();
  auto last = LastStart(kAllLo, kAllHi, (*node)->scope.athlete);
  if (!last.ok()) return last.status();
  NodeAttr a = File(ino, *size, last->value_or(0), (*node)->version);
  memo_.Put(epoch, a);
  if (bytes.size() == *size) memo_.PutMeasured(epoch, ino, a.version, std::move(bytes));
  return std::optional<NodeAttr>(a);
}

Result<uint64_t> FsTree::StatsSize(const StatsNode& node) { return MeasureStatsFile(*cache_, node.index, node.scope); }

std::optional<std::string> FsTree::TakeMeasured(uint64_t ino, uint64_t version) {
  return memo_.TakeMeasured(ino, version);
}

Result<std::string> FsTree::ReadStats(StatsCursor& c, uint64_t offset, size_t size) {
  // Rows are rendered forward from where the last read ended; a read from
  // before what is kept starts over (a reread, or readahead out of order).
  constexpr uint64_t kKeepBehind = 256 * 1024;
  if (!c.reader) c.reader = std::make_unique<StatsCsvReader>(*cache_, c.node.index, c.node.scope);
  if (offset < c.pos) {
    c.reader->Restart();
    c.pos = 0;
    c.buf.clear();
  }
  while (c.pos + c.buf.size() < offset + size) {
    auto more = c.reader->Next(c.buf);
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  if (offset > c.pos + kKeepBehind) {
    const uint64_t drop = std::min<uint64_t>(offset - kKeepBehind - c.pos, c.buf.size());
    c.buf.erase(0, drop);
    c.pos += drop;
  }
  if (offset >= c.pos + c.buf.size()) return std::string();
  const uint64_t from = offset - c.pos;
  return c.buf.substr(from, std::min<uint64_t>(size, c.buf.size() - from));
}

Result<std::optional<NodeAttr>> FsTree::GetAttr(uint64_t ino) {
  auto d = DecodeInode(ino);
  if (!d) return std::optional<NodeAttr>();
  if (ino == kRootInode || ino == kByIdDirInode || ino == kStatsDirInode) return FolderAttr(ino);
  if (ino == kAthleteJsonInode) return AthleteAttr(0);
  if (ino == kRootCsvInode) return CsvAttr(ino);
  switch (d->kind) {
    case InodeKind::kYearDir:
    case InodeKind::kMonthDir:
    case InodeKind::kAthleteDir:
    case InodeKind::kAthleteById:
    case InodeKind::kAthleteStats:
      return FolderAttr(ino);
    case InodeKind::kYearCsv:
    case InodeKind::kMonthCsv:
    case InodeKind::kAthleteCsv:
      return CsvAttr(ino);
    case InodeKind::kAthleteJson:
      return AthleteAttr(d->athlete());
    case InodeKind::kActivityJson:
    case InodeKind::kActivityCsv:
    case InodeKind::kActivityGpx:
    case InodeKind::kActivityFit:
    case InodeKind::kActivityTcx:
    case InodeKind::kByIdLink:
      return ActivityFileAttr(ino);
    case InodeKind::kStatsFile:
      return StatsAttr(ino);
    case InodeKind::kFixed:
      break;
  }
  return std::optional<NodeAttr>();
}

Result<std::optional<NodeAttr>> FsTree::Lookup(uint64_t parent, std::string_view name) {
  constexpr std::string_view kCsvName = "activities.csv";
  auto d = DecodeInode(parent);
  if (!d) return std::optional<NodeAttr>();
  if (parent == kRootInode) {
    if (name == kCsvName) return CsvAttr(kRootCsvInode);
    if (name == "stats") return FolderAttr(kStatsDirInode);
    auto folders = Folders();
    if (!folders.ok()) return folders.status();
    for (const AthleteFolder& f : *folders)
      if (f.name == name) return FolderAttr(AthleteDirInode(f.id));
    if (!folders->empty()) return std::optional<NodeAttr>();
  }
  const int64_t athlete = d->athlete();
  if (parent == kRootInode || d->kind == InodeKind::kAthleteDir) {
    if (name == "athlete.json") return AthleteAttr(athlete);
    if (name == kCsvName) return CsvAttr(AthleteCsvInode(athlete));
    if (name == "by-id") return FolderAttr(ByIdDirInode(athlete));
    if (name == "stats") return FolderAttr(StatsDirInode(athlete));
    if (auto y = FourDigits(name)) return FolderAttr(YearDirInode(*y, athlete));
    return std::optional<NodeAttr>();
  }
  if (parent == kStatsDirInode || d->kind == InodeKind::kAthleteStats) {
    if (auto i = StatsFileIndex(name)) return StatsAttr(StatsFileInode(*i, athlete));
    return std::optional<NodeAttr>();
  }
  if (d->kind == InodeKind::kYearDir) {
    if (name == kCsvName) return CsvAttr(YearCsvInode(d->year(), athlete));
    if (auto m = TwoDigits(name, 1, 12)) return FolderAttr(MonthDirInode(d->year(), *m, athlete));
    return std::optional<NodeAttr>();
  }
  if (d->kind == InodeKind::kMonthDir && name == kCsvName)
    return CsvAttr(MonthCsvInode(d->year(), d->month(), athlete));
  const bool by_id = parent == kByIdDirInode || d->kind == InodeKind::kAthleteById;
  if (!by_id && d->kind != InodeKind::kMonthDir) return std::optional<NodeAttr>();
  int64_t id = 0;
  std::optional<ParsedName> parsed;
  if (by_id) {
    constexpr std::string_view kExt = ".json";
    if (name.size() <= kExt.size() || name.substr(name.size() - kExt.size()) != kExt) return std::optional<NodeAttr>();
    std::string_view digits = name.substr(0, name.size() - kExt.size());
    if (digits.size() > 18 || (digits.size() > 1 && digits[0] == '0')) return std::optional<NodeAttr>();
    for (char c : digits) {
      if (c < '0' || c > '9') return std::optional<NodeAttr>();
      id = id * 10 + (c - '0');
    }
  } else {
    parsed = ParseActivityFileName(name);
    if (!parsed) return std::optional<NodeAttr>();
    id = parsed->id;
  }
  auto shown = Shows(athlete);
  if (!shown.ok()) return shown.status();
  if (!*shown) return std::optional<NodeAttr>();
  auto node = Activity(id);
  if (!node.ok()) return node.status();
  if (!*node) return std::optional<NodeAttr>();
  const ActivityNode& n = **node;
  auto layout = LayoutOf(n);
  if (!layout.ok()) return layout.status();
  if (*layout != athlete) return std::optional<NodeAttr>();  // another athlete's
  if (by_id)
    return std::optional<NodeAttr>(NodeAttr{ByIdLinkInode(id), NodeType::kLink, n.LinkTarget().size(), n.start, 1});
  // The name must be the activity's current one, in this folder.
  if (n.MonthIno(*layout) != parent || n.base != parsed->base) return std::optional<NodeAttr>();
  auto size = n.Size(parsed->file);
  if (!size) return std::optional<NodeAttr>();
  return std::optional<NodeAttr>(File(ActivityFileInode(parsed->file, id), *size, n.start, n.rev));
}

// The entries of the top of `athlete`'s layout (0: the root, one athlete's).
const DirEntry& Listing::At(size_t i, DirEntry& scratch) const {
  if (i < entries_.size()) return entries_[i];
  const Link& l = links_[i - entries_.size()];
  scratch.name = ByIdLinkName(l.id);
  scratch.attr = NodeAttr{ByIdLinkInode(l.id), NodeType::kLink, l.target_size, l.start, 1};
  scratch.measured = true;
  return scratch;
}

std::vector<DirEntry> Listing::All() const {
  std::vector<DirEntry> all;
  all.reserve(size());
  for (size_t i = 0; i < size(); ++i) {
    DirEntry scratch;
    all.push_back(At(i, scratch));
  }
  return all;
}

Result<std::optional<Listing>> FsTree::ListTop(int64_t athlete) {
  Listing listing;
  std::vector<DirEntry>& out = listing.entries_;
  auto add = [&](std::string name, const Result<std::optional<NodeAttr>>& attr) -> Status {
    if (!attr.ok()) return attr.status();
    if (*attr) out.push_back(DirEntry{std::move(name), **attr});
    return Status::Ok();
  };
  if (auto s = add("athlete.json", AthleteAttr(athlete)); !s.ok()) return s;
  if (auto s = add("activities.csv", CsvAttr(AthleteCsvInode(athlete))); !s.ok()) return s;
  if (auto s = add("by-id", FolderAttr(ByIdDirInode(athlete))); !s.ok()) return s;
  if (auto s = add("stats", FolderAttr(StatsDirInode(athlete))); !s.ok()) return s;
  auto years = Years(athlete);
  if (!years.ok()) return years.status();
  for (int y : *years)
    if (auto s = add(YearFolderName(y), FolderAttr(YearDirInode(y, athlete))); !s.ok()) return s;
  return std::optional<Listing>(std::move(listing));
}

Result<std::optional<Listing>> FsTree::List(uint64_t dir) {
  auto self = GetAttr(dir);
  if (!self.ok()) return self.status();
  if (!*self || (*self)->type != NodeType::kDir) return std::optional<Listing>();
  auto d = DecodeInode(dir);
  const int64_t athlete = d->athlete();
  if (dir == kRootInode) {
    auto folders = Folders();
    if (!folders.ok()) return folders.status();
    if (folders->empty()) return ListTop(0);
  }
  if (d->kind == InodeKind::kAthleteDir) return ListTop(athlete);
  Listing listing;
  std::vector<DirEntry>& out = listing.entries_;
  auto add = [&](std::string name, const Result<std::optional<NodeAttr>>& attr) -> Status {
    if (!attr.ok()) return attr.status();
    if (*attr) out.push_back(DirEntry{std::move(name), **attr});
    return Status::Ok();
  };
  if (dir == kRootInode) {  // several athletes: everyone's activities.csv and stats/, and a folder each
    if (auto s = add("activities.csv", CsvAttr(kRootCsvInode)); !s.ok()) return s;
    if (auto s = add("stats", FolderAttr(kStatsDirInode)); !s.ok()) return s;
    auto folders = Folders();
    if (!folders.ok()) return folders.status();
    for (const AthleteFolder& f : *folders)
      if (auto s = add(f.name, FolderAttr(AthleteDirInode(f.id))); !s.ok()) return s;
  } else if (dir == kByIdDirInode || d->kind == InodeKind::kAthleteById) {
    if (auto s = ForEachActivityIn(kAllLo, kAllHi, athlete,
                                   [&](ActivityNode&& n) {
                                     listing.links_.push_back(Listing::Link{n.id, n.start, n.LinkTarget().size()});
                                   });
        !s.ok())
      return s;
  } else if (dir == kStatsDirInode || d->kind == InodeKind::kAthleteStats) {
    // Listing stats/ renders none of its files: a view over every activity
    // takes a while to compute, and find or ls (without -l) need no size.
    for (size_t i = 0; i < StatsFiles().size(); ++i)
      out.push_back(DirEntry{StatsFiles()[i].name, File(StatsFileInode(i, athlete), 0, (*self)->mtime, 0), false});
  } else if (d->kind == InodeKind::kYearDir) {
    if (auto s = add("activities.csv", CsvAttr(YearCsvInode(d->year(), athlete))); !s.ok()) return s;
    auto months = Months(d->year(), athlete);
    if (!months.ok()) return months.status();
    for (int m : *months)
      if (auto s = add(MonthFolderName(m), FolderAttr(MonthDirInode(d->year(), m, athlete))); !s.ok()) return s;
  } else if (d->kind == InodeKind::kMonthDir) {
    if (auto s = add("activities.csv", CsvAttr(MonthCsvInode(d->year(), d->month(), athlete))); !s.ok()) return s;
    auto nodes = ActivitiesIn(MonthLo(d->year(), d->month()), MonthHi(d->year(), d->month()), athlete);
    if (!nodes.ok()) return nodes.status();
    out.reserve(1 + 3 * nodes->size());
    for (const auto& n : *nodes) {
      for (ActivityFile f : kActivityFiles) {
        auto size = n.Size(f);
        if (!size) continue;
        out.push_back(
            DirEntry{n.base + std::string(FileExtension(f)), File(ActivityFileInode(f, n.id), *size, n.start, n.rev)});
      }
    }
  }
  return std::optional<Listing>(std::move(listing));
}

Result<std::optional<std::string>> FsTree::ReadLink(uint64_t ino) {
  auto d = DecodeInode(ino);
  if (!d || d->kind != InodeKind::kByIdLink) return std::optional<std::string>();
  auto node = Activity(d->activity_id());
  if (!node.ok()) return node.status();
  if (!*node) return std::optional<std::string>();
  return std::optional<std::string>((*node)->LinkTarget());
}

Result<std::optional<std::string>> FsTree::Render(uint64_t ino) {
  if (IsAthleteJson(ino)) {
    auto json = AthleteJson(DecodeInode(ino)->athlete());
    if (!json.ok()) return json.status();
    if (!*json) return std::optional<std::string>();
    return std::optional<std::string>(RenderJsonText(**json));
  }
  auto d = DecodeInode(ino);
  if (d && d->kind == InodeKind::kStatsFile) {
    auto node = Stats(ino);
    if (!node.ok()) return node.status();
    if (!*node) return std::optional<std::string>();
    auto bytes = RenderStatsFile(*cache_, (*node)->index, (*node)->scope);
    if (!bytes.ok()) return bytes.status();
    return std::optional<std::string>(std::move(*bytes));
  }
  if (d && (d->kind == InodeKind::kActivityFit || d->kind == InodeKind::kActivityTcx)) return RenderOriginal(*d);
  if (!d ||
      (d->kind != InodeKind::kActivityJson && d->kind != InodeKind::kActivityCsv && d->kind != InodeKind::kActivityGpx))
    return std::optional<std::string>();
  auto files = RenderActivity(d->activity_id(), ActivityKinds{}.With(d->kind));
  if (!files.ok()) return files.status();
  if (files->empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(files->front().bytes));
}

Result<std::vector<FsTree::RenderedFile>> FsTree::RenderActivity(int64_t id, ActivityKinds kinds) {
  std::vector<RenderedFile> out;
  static const std::string sql = std::string("SELECT a.json FROM activities a WHERE a.id = ?1 AND") + kShown;
  Stmt* st = cache_->Prepare(sql);
  if (!st->prepared()) return cache_->Check(st->rc(), "reading an activity");
  st->Bind(1, id);
  if (!st->Step()) {
    if (auto s = cache_->Check(st->rc(), "reading an activity"); !s.ok()) return s;
    return out;
  }
  std::string text = st->Text(0);
  st->Reset();
  if (kinds.Has(InodeKind::kActivityJson))
    out.push_back(RenderedFile{ActivityFileInode(ActivityFile::kJson, id), RenderJsonText(text)});
  if (!kinds.Has(InodeKind::kActivityCsv) && !kinds.Has(InodeKind::kActivityGpx)) return out;
  auto samples = ActivityStore(*cache_).LoadSamples(id);  // once for both
  if (!samples.ok()) return samples.status();
  if (samples->empty()) return out;
  if (kinds.Has(InodeKind::kActivityCsv))
    out.push_back(RenderedFile{ActivityFileInode(ActivityFile::kCsv, id), RenderStreamsCsv(*samples)});
  if (kinds.Has(InodeKind::kActivityGpx) && HasGps(*samples))
    out.push_back(RenderedFile{ActivityFileInode(ActivityFile::kGpx, id), RenderGpxText(text, *samples)});
  return out;
}

// The original file as it came, decompressed when it came gzipped: what the
// import measured into activity_sync.original_size.
Result<std::optional<std::string>> FsTree::RenderOriginal(const DecodedInode& d) {
  static const std::string sql =
      std::string(
          "SELECT o.data, o.format, o.size FROM originals o JOIN activities a ON a.id = o.activity_id "
          "WHERE o.activity_id = ?1 AND") +
      kShown;
  Stmt* st = cache_->Prepare(sql);
  if (!st->prepared()) return cache_->Check(st->rc(), "reading an original file");
  st->Bind(1, d.activity_id());
  if (!st->Step()) {
    if (auto s = cache_->Check(st->rc(), "reading an original file"); !s.ok()) return s;
    return std::optional<std::string>();
  }
  std::string data = st->Text(0);
  const std::string format = st->Text(1);
  const uint64_t size = static_cast<uint64_t>(st->Int(2));
  st->Reset();
  if (format != (d.kind == InodeKind::kActivityFit ? "fit" : "tcx")) return std::optional<std::string>();
  if (LooksGzip(data)) {
    auto inflated = Gunzip(data, size);
    if (!inflated.ok())
      return Status::Error(ErrorKind::kCache,
                           "an original file in the cache is damaged: " + inflated.status().message());
    data = std::move(*inflated);
  }
  return std::optional<std::string>(std::move(data));
}

Result<std::optional<FsTree::Rendered>> FsTree::RenderVersion(uint64_t ino) {
  if (auto s = BeginSnapshot(); !s.ok()) return s;
  struct End {
    FsTree* t;
    ~End() { t->EndSnapshot(); }
  } end{this};
  if (IsStatsFile(ino)) {  // as StatsAttr
    auto node = Stats(ino);
    if (!node.ok()) return node.status();
    if (!*node) return std::optional<Rendered>();
    auto bytes = RenderStatsFile(*cache_, (*node)->index, (*node)->scope);
    if (!bytes.ok()) return bytes.status();
    return std::optional<Rendered>(Rendered{std::move(*bytes), (*node)->version});
  }
  auto bytes = Render(ino);
  if (!bytes.ok()) return bytes.status();
  if (!*bytes) return std::optional<Rendered>();
  auto d = DecodeInode(ino);
  if (IsAthleteJson(ino)) {
    const uint64_t version = VersionOfBytes(**bytes);
    return std::optional<Rendered>(Rendered{std::move(**bytes), version});
  }
  auto node = Activity(d->activity_id());  // Render() showed an activity's file
  if (!node.ok()) return node.status();
  if (!*node) return std::optional<Rendered>();
  return std::optional<Rendered>(Rendered{std::move(**bytes), (*node)->rev});
}

Result<std::optional<CsvIndex>> FsTree::IndexCsv(uint64_t ino) {
  auto shown = ShownCsv(ino);
  if (!shown.ok()) return shown.status();
  if (!*shown) return std::optional<CsvIndex>();
  const CsvRange* range = &**shown;
  static const ScopedSql sql(std::string("SELECT a.start_date_local, a.id, s.csv_row_size, s.rev FROM activities a "
                                         "JOIN activity_sync s ON s.id = a.id "
                                         "WHERE a.start_date_local >= ?1 AND a.start_date_local < ?2 AND") +
                             kShown + "ORDER BY a.start_date_local, a.id");
  Stmt* st = sql.Prepare(*cache_, range->athlete);
  if (!st->prepared()) return cache_->Check(st->rc(), "indexing activities.csv");
  st->Bind(1, range->lo).Bind(2, range->hi);
  CsvIndex index;
  index.lo = range->lo;
  index.hi = range->hi;
  index.athlete = range->athlete;
  index.header_size = ActivitiesCsvHeader().size();
  uint64_t offset = index.header_size;
  int64_t row = 0, max_rev = 0;
  while (st->Step()) {
    if (row++ % kRowsPerBlock == 0) index.blocks.push_back(CsvIndex::Block{offset, st->Text(0), st->Int(1)});
    offset += static_cast<uint64_t>(st->Int(2));
    max_rev = std::max(max_rev, st->Int(3));
  }
  if (auto s = cache_->Check(st->rc(), "indexing activities.csv"); !s.ok()) return s;
  if (row == 0 && !range->always) return std::optional<CsvIndex>();
  index.size = offset;
  index.version = VersionOfCsv(row, max_rev);
  return std::optional<CsvIndex>(std::move(index));
}

Result<std::string> FsTree::ReadCsv(const CsvIndex& index, uint64_t offset, size_t size) {
  std::string out;
  const uint64_t end = std::min<uint64_t>(index.size, offset + size);
  if (offset >= end) return out;
  out.reserve(end - offset);
  if (offset < index.header_size) {
    const std::string header = ActivitiesCsvHeader();
    out.append(header, offset, std::min<uint64_t>(end, index.header_size) - offset);
  }
  if (end <= index.header_size || index.blocks.empty()) return out;
  // The last block starting at or before the first byte wanted.
  const uint64_t from = std::max(offset, index.header_size);
  auto it = std::upper_bound(index.blocks.begin(), index.blocks.end(), from,
                             [](uint64_t off, const CsvIndex::Block& b) { return off < b.offset; });
  const CsvIndex::Block& block = *(it - 1);

  static const ScopedSql sql([] {
    std::string cols;
    for (const ActivityColumn* c : ActivitiesCsvColumns()) cols += std::string(", a.") + c->name;
    return "SELECT s.csv_row_size" + cols +
           " FROM activities a JOIN activity_sync s ON s.id = a.id "
           "WHERE (a.start_date_local, a.id) >= (?1, ?2) AND a.start_date_local < ?3 AND" +
           std::string(kShown) + "ORDER BY a.start_date_local, a.id";
  }());
  Stmt* st = sql.Prepare(*cache_, index.athlete);
  if (!st->prepared()) return cache_->Check(st->rc(), "reading activities.csv");
  st->Bind(1, block.first_date).Bind(2, block.first_id).Bind(3, index.hi);
  uint64_t pos = block.offset;
  const size_t ncols = ActivitiesCsvColumns().size();
  std::vector<ColumnValue> values(ncols);
  while (pos < end && st->Step()) {
    const auto row_size = static_cast<uint64_t>(st->Int(0));
    if (pos + row_size <= from) {  // wholly before the range: skip without rendering
      pos += row_size;
      continue;
    }
    for (size_t i = 0; i < ncols; ++i) values[i] = ReadValue(*st, static_cast<int>(i) + 1);
    std::string line = ActivityCsvRow(values);
    const uint64_t lo = from > pos ? from - pos : 0;
    const uint64_t hi = std::min<uint64_t>(line.size(), end - pos);
    if (lo < hi) out.append(line, lo, hi - lo);
    pos += row_size;
  }
  if (st->rc() != SQLITE_ROW)
    if (auto s = cache_->Check(st->rc(), "reading activities.csv"); !s.ok()) return s;
  st->Reset();
  return out;
}

Result<int64_t> FsTree::LastChange() {
  Stmt* st = cache_->Prepare("SELECT coalesce(max(seq), 0) FROM fs_changes");
  if (!st->prepared()) return cache_->Check(st->rc(), "reading the change log");
  if (!st->Step()) return cache_->Check(st->rc() == SQLITE_DONE ? SQLITE_CORRUPT : st->rc(), "reading the change log");
  int64_t seq = st->Int(0);
  st->Reset();
  return seq;
}

uint64_t FsTree::MemoEpoch() {
  if (snapshots_ > 0) return memo_.epoch(snapshot_seq_);
  auto seq = LastChange();  // outside a snapshot (tests): the state now
  return seq.ok() ? memo_.epoch(*seq) : FsMemo::kStale;
}

Status FsTree::BeginSnapshot() {
  if (snapshots_++ > 0) return Status::Ok();  // inside one already: the same
  // BEGIN and COMMIT kept prepared: nearly every request takes a snapshot
  // (parsed each time by sqlite3_exec, they were 1.7% of the daemon's CPU
  // in a cold `cat` of every file).
  Stmt* begin = cache_->Prepare("BEGIN");
  begin->Step();
  if (auto s = cache_->Check(begin->rc(), "beginning a read"); !s.ok()) {
    snapshots_ = 0;
    return s;
  }
  // A read transaction starts at its first read, not at BEGIN.
  auto v = LastChange();
  if (!v.ok()) {
    EndSnapshot();
    return v.status();
  }
  snapshot_seq_ = *v;
  return Status::Ok();
}

void FsTree::EndSnapshot() {
  if (snapshots_ == 0 || --snapshots_ > 0) return;
  // A statement stepped part way (a stats/ cursor left mid-file) would keep
  // the snapshot open past COMMIT, and the pooled connection's next user
  // would read this old cache.
  cache_->ResetStatements();
  cache_->Prepare("COMMIT")->Step();
}

Result<int64_t> FsTree::DataVersion() {
  Stmt* st = cache_->Prepare("PRAGMA data_version");
  if (!st->prepared()) return cache_->Check(st->rc(), "reading data_version");
  if (!st->Step()) return cache_->Check(st->rc() == SQLITE_DONE ? SQLITE_CORRUPT : st->rc(), "reading data_version");
  int64_t v = st->Int(0);
  st->Reset();
  return v;
}

Result<Invalidation> FsTree::ChangesSince(int64_t since) {
  Invalidation inv;
  inv.last_seq = since;
  // Not the memo's: the watcher's may be from before the change.
  auto folders = ReadFolders();
  if (!folders.ok()) return folders.status();
  std::vector<int64_t> layouts;  // every layout shown: 0 the root's, else an athlete's
  for (const AthleteFolder& f : *folders) layouts.push_back(f.id);
  if (layouts.empty()) layouts.push_back(0);
  inv.several = !folders->empty();
  const std::optional<std::vector<AthleteFolder>> before = std::exchange(watched_folders_, *folders);
  const bool athletes_changed = before && *before != *folders;
  inv.relaid = athletes_changed && before->empty() != folders->empty();

  // The root's files, every athlete's and every stats/ file follow any
  // change: the root's stats/, each athlete's now, and each one's of
  // before (a folder that went or was renamed).
  std::set<uint64_t> inodes = {kRootInode, kRootCsvInode};
  for (int64_t l : layouts)
    inodes.insert({AthleteDirInode(l), AthleteJsonInode(l), AthleteCsvInode(l), ByIdDirInode(l)});
  std::set<int64_t> stats_layouts(layouts.begin(), layouts.end());
  stats_layouts.insert(0);
  if (before)
    for (const AthleteFolder& f : *before) stats_layouts.insert(f.id);
  for (int64_t l : stats_layouts) {
    inodes.insert(StatsDirInode(l));
    for (size_t i = 0; i < StatsFiles().size(); ++i) inodes.insert(StatsFileInode(i, l));
  }
  std::set<std::pair<uint64_t, std::string>> entries;
  auto folder = [&](int64_t layout, int year, int month) {
    inodes.insert({YearDirInode(year, layout), YearCsvInode(year, layout), MonthDirInode(year, month, layout),
                   MonthCsvInode(year, month, layout)});
  };

  Stmt* first = cache_->Prepare("SELECT min(seq) FROM fs_changes");
  if (!first->prepared()) return cache_->Check(first->rc(), "reading the change log");
  if (!first->Step())
    return cache_->Check(first->rc() == SQLITE_DONE ? SQLITE_CORRUPT : first->rc(), "reading the change log");
  const bool pruned_past_us = !first->IsNull(0) && first->Int(0) > since + 1;
  first->Reset();

  Stmt* st = cache_->Prepare(
      "SELECT seq, activity_id, old_year, old_month, old_base FROM fs_changes WHERE seq > ?1 ORDER BY seq");
  if (!st->prepared()) return cache_->Check(st->rc(), "reading the change log");
  st->Bind(1, since);
  struct Change {
    int64_t id;
    std::optional<int> year, month;
    std::string base;
  };
  std::vector<Change> changes;
  while (st->Step()) {
    inv.last_seq = st->Int(0);
    Change c{st->Int(1), {}, {}, {}};
    if (!st->IsNull(2) && !st->IsNull(3) && !st->IsNull(4)) {
      c.year = static_cast<int>(st->Int(2));
      c.month = static_cast<int>(st->Int(3));
      c.base = st->Text(4);
    }
    changes.push_back(std::move(c));
  }
  if (auto s = cache_->Check(st->rc(), "reading the change log"); !s.ok()) return s;
  if (changes.empty() && !pruned_past_us && !athletes_changed) return inv;
  std::vector<int64_t> any_layout = layouts;  // where a deleted activity may have been: now or before
  if (athletes_changed) {
    for (const AthleteFolder& f : *before) any_layout.push_back(f.id);
    if (before->empty()) any_layout.push_back(0);
  }

  for (const Change& c : changes) {
    auto now = Activity(c.id);
    if (!now.ok()) return now.status();
    const int64_t layout = *now && !folders->empty() ? (*now)->athlete : 0;
    if (c.year) {  // it existed: its old names may be gone, its bytes have changed
      // Where it was: its athlete's layout, or any one's when it is gone.
      for (int64_t l : *now ? std::vector<int64_t>{layout} : any_layout) {
        folder(l, *c.year, *c.month);
        const uint64_t parent = MonthDirInode(*c.year, *c.month, l);
        const bool same_place = *now && (*now)->MonthIno(layout) == parent && (*now)->base == c.base;
        if (!same_place)
          for (ActivityFile f : kActivityFiles) entries.emplace(parent, c.base + std::string(FileExtension(f)));
        if (!*now) entries.emplace(ByIdDirInode(l), ByIdLinkName(c.id));
      }
      for (ActivityFile f : kActivityFiles) inodes.insert(ActivityFileInode(f, c.id));
      inodes.insert(ByIdLinkInode(c.id));
    }
    if (*now) folder(layout, (*now)->local.year, (*now)->local.month);
  }
  if (athletes_changed) {  // folders came, went or were renamed at the root
    for (const AthleteFolder& f : *before) entries.emplace(kRootInode, f.name);
    for (const AthleteFolder& f : *folders) entries.emplace(kRootInode, f.name);
  }
  if (inv.relaid) {  // and the root's own layout came or went
    for (const char* name : {"athlete.json", "by-id"}) entries.emplace(kRootInode, name);
    auto years = Years(0);
    if (!years.ok()) return years.status();
    for (int y : *years) entries.emplace(kRootInode, YearFolderName(y));
    for (const Change& c : changes)
      if (c.year) entries.emplace(kRootInode, YearFolderName(*c.year));
    layouts.push_back(0);  // its folders, or those it had
  }
  if (pruned_past_us || inv.relaid) {
    inv.lost_track = pruned_past_us;
    for (int64_t l : layouts) {
      auto years = Years(l);
      if (!years.ok()) return years.status();
      for (int y : *years) {
        auto months = Months(y, l);
        if (!months.ok()) return months.status();
        for (int m : *months) folder(l, y, m);
      }
    }
  }
  inodes.erase(kNoInode);
  inv.inodes.assign(inodes.begin(), inodes.end());
  inv.entries.assign(entries.begin(), entries.end());
  return inv;
}

}  // namespace stravafs
