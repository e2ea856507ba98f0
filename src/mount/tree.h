// The mount's tree over the cache: what exists, its attributes and its bytes.
//
// The layout (mount.stravafs(8)):
//   /athlete.json  /activities.csv  /by-id/<id>.json -> ../YYYY/MM/<base>.json
//   /YYYY/activities.csv  /YYYY/MM/activities.csv
//   /YYYY/MM/<base>.json  (always)  <base>.csv (streams held)  <base>.gpx (a GPS sample)
//            <base>.fit or <base>.tcx (the original file an import kept)
//   /stats/<file>
// With two athletes or more in the cache, the root holds /activities.csv
// (everyone), /stats (everyone, with the views' athlete_id column) and a
// folder per athlete (AthleteFolderNames), and each athlete's folder holds
// the layout above, stats/ included, of their activities (and their rows of
// the analytics views, without athlete_id). The queries take the athlete
// whose layout they serve; 0: the root's (everyone's).
// Names and inode numbers come from format/names.h, bytes from format/render.h, and
// every size from the cache's activity_sync columns written at sync time, so
// a lookup or a listing never renders a file. Rendering happens when a file
// is read: whole (one activity's file, athlete.json), or a block of rows at a
// time (activities.csv, which is never held whole).
//
// An activity is shown when its start_date_local reads as a local date and
// its id fits the inode layout; every activities.csv lists exactly the shown
// activities of its folder, ordered by start_date_local, then id.
//
// One FsTree per thread: it owns a read-only connection. The FsMemo is shared
// by all of them; it keeps attributes that cost a scan (the root's and a
// year's activities.csv, the folder counts) until the cache changes.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/db.h"
#include "format/names.h"
#include "mount/stats.h"
#include "base/status.h"

namespace stravafs {

struct DecodedInode;  // format/names.h

enum class NodeType { kDir, kFile, kLink };

// An athlete's folder at the root of a cache of several athletes.
struct AthleteFolder {
  int64_t id = 0;
  std::string name;
  bool operator==(const AthleteFolder&) const = default;
};

struct NodeAttr {
  uint64_t ino = 0;
  NodeType type = NodeType::kFile;
  uint64_t size = 0;  // bytes of a file, length of a link's target, 0 for a folder
  int64_t mtime = 0;  // seconds since the epoch
  uint32_t nlink = 1;
  // Files: which version of its bytes the file is at. Two different contents
  // of a file never share a version (a hash of the bytes where they are
  // rendered to be measured, else what the cache logs per write).
  uint64_t version = 0;
};

struct DirEntry {
  std::string name;
  NodeAttr attr;
  // false: attr holds the inode number and type only, as measuring would
  // cost a render (stats/ files); the size comes with a lookup.
  bool measured = true;
};

// A folder's entries, as FsTree::List gives them. by-id/ has a link for
// every activity: those are kept as 24 bytes each and made into an entry
// when asked for, since 100000 whole entries (a name and attributes each)
// held 11 MB for as long as the listing was open.
class Listing {
 public:
  size_t size() const { return entries_.size() + links_.size(); }
  // The i-th entry: a reference to the one kept, or `scratch` made into it.
  const DirEntry& At(size_t i, DirEntry& scratch) const;
  std::vector<DirEntry> All() const;  // every entry, made (for tests)

 private:
  friend class FsTree;
  struct Link {
    int64_t id;
    int64_t start;
    uint64_t target_size;
  };
  std::vector<DirEntry> entries_;
  std::vector<Link> links_;  // after entries_
};

// Attributes that cost a scan, of one state of the cache: the change log's
// newest row in the snapshot that computed them (FsTree::snapshot_seq), so
// that a value is only ever read in a snapshot of the cache it was computed
// in, whichever commits come between. epoch(seq) gives the token a caller
// at `seq` gets and puts with: a newer state drops what the memo holds, an
// older one gets kStale, which matches nothing. Invalidate() (the cache file
// was replaced) drops everything; a Put() with a token from before is
// dropped too.
class FsMemo {
 public:
  static constexpr uint64_t kStale = ~uint64_t{0};
  uint64_t epoch(int64_t seq);
  std::optional<NodeAttr> Get(uint64_t epoch, uint64_t ino) const;
  std::optional<NodeAttr> Get(uint64_t ino) const;  // of the newest state put (tests)
  void Put(uint64_t epoch, const NodeAttr& attr);
  // The athletes' folders (FsTree::Folders()), likewise.
  std::optional<std::vector<AthleteFolder>> Folders(uint64_t epoch) const;
  void PutFolders(uint64_t epoch, const std::vector<AthleteFolder>& folders);
  // A stats/ file's bytes, counted to be measured at its lookup, for the
  // first read of that version to take instead of computing them again.
  // Files of at most kMeasuredFileBytes are kept, kMeasuredBytes in all, the
  // oldest dropped first.
  static constexpr size_t kMeasuredFileBytes = 4 << 20;
  static constexpr size_t kMeasuredBytes = 8 << 20;
  void PutMeasured(uint64_t epoch, uint64_t ino, uint64_t version, std::string bytes);
  std::optional<std::string> TakeMeasured(uint64_t ino, uint64_t version);
  void Invalidate();

 private:
  struct Measured {
    uint64_t ino, version;
    std::string bytes;
  };
  void Clear();  // under mu_: the attributes and folders

  mutable std::mutex mu_;
  uint64_t epoch_ = 0;
  int64_t seq_ = std::numeric_limits<int64_t>::min();
  std::unordered_map<uint64_t, NodeAttr> attrs_;
  std::optional<std::vector<AthleteFolder>> folders_;
  std::vector<Measured> measured_;  // oldest first
  size_t measured_bytes_ = 0;
};

// Where the row blocks of one activities.csv start, built at its first read:
// a read at any offset renders only from the block that holds it.
struct CsvIndex {
  std::string lo, hi;   // start_date_local range of the folder
  int64_t athlete = 0;  // whose activities; 0 everyone's
  uint64_t header_size = 0;
  uint64_t size = 0;
  uint64_t version = 0;  // NodeAttr::version of the file indexed
  struct Block {
    uint64_t offset;         // of its first row
    std::string first_date;  // that row's start_date_local
    int64_t first_id;
  };
  std::vector<Block> blocks;
};

// What the kernel must forget after the cache changed: inodes whose
// attributes or bytes changed (notify_inval_inode) and names that went away
// or moved (notify_inval_entry).
struct Invalidation {
  int64_t last_seq = 0;     // the fs_changes row this covers up to
  bool lost_track = false;  // the log was pruned past what we saw: every folder is listed
  // The athletes' folders changed from one layout to the other (one athlete
  // to several, or back): every name the kernel holds is to be forgotten.
  bool relaid = false;
  std::vector<uint64_t> inodes;
  bool several = false;                                   // the cache holds several athletes now: a folder each
  std::vector<std::pair<uint64_t, std::string>> entries;  // (parent inode, name)
};

class FsTree {
 public:
  // Opens `cache_path` read-only (WAL: never blocks a sync).
  static Result<std::unique_ptr<FsTree>> Open(const std::string& cache_path, FsMemo& memo);

  // nullopt: no such entry.
  Result<std::optional<NodeAttr>> GetAttr(uint64_t ino);
  Result<std::optional<NodeAttr>> Lookup(uint64_t parent, std::string_view name);
  // A folder's entries without "." and ".."; nullopt: no such folder.
  // stats/ files come unmeasured (DirEntry::measured).
  Result<std::optional<Listing>> List(uint64_t dir);
  Result<std::optional<std::string>> ReadLink(uint64_t ino);

  // activities.csv files are read through an index; every other file is
  // rendered whole.
  static bool IsActivitiesCsv(uint64_t ino);
  static bool IsStatsFile(uint64_t ino);
  static bool IsAthleteJson(uint64_t ino);

  // The athletes' folders, in id order: none with fewer than two athletes
  // (the root holds one athlete's layout).
  Result<std::vector<AthleteFolder>> Folders();
  Result<std::optional<std::string>> Render(uint64_t ino);
  // Render() and the version the bytes are (NodeAttr::version), read in one
  // transaction and never from the memo: what an open holds.
  struct Rendered {
    std::string bytes;
    uint64_t version = 0;
  };
  Result<std::optional<Rendered>> RenderVersion(uint64_t ino);
  Result<std::optional<CsvIndex>> IndexCsv(uint64_t ino);
  // Whether the activity's file `ino` is at `version` (NodeAttr::version)
  // in the cache: one row of activity_sync. Its rev grows with every write
  // to the activity that changes its files, so the same rev is the same
  // bytes, and a file at the version it was looked up at is still shown.
  Result<bool> ActivityFileAt(uint64_t ino, uint64_t version);

  // What a reader going through the folders reads after activity `id`: up
  // to `n` activities that follow it (by start_date_local, then id, among its
  // athlete's), each with its files' version (NodeAttr::version).
  struct ActivityVersion {
    int64_t id;
    uint64_t version;
  };
  Result<std::vector<ActivityVersion>> NextActivities(int64_t id, size_t n);

  // Some of the kinds of an activity's rendered files (.json, .csv, .gpx).
  class ActivityKinds {
   public:
    ActivityKinds With(InodeKind k) const {
      ActivityKinds r = *this;
      r.bits_ |= Bit(k);
      return r;
    }
    bool Has(InodeKind k) const { return (bits_ & Bit(k)) != 0; }

   private:
    static unsigned Bit(InodeKind k) { return 1u << static_cast<unsigned>(k); }
    unsigned bits_ = 0;
  };
  // The files of `kinds` that activity `id` shows, as Render() renders each,
  // reading the activity and its samples once for all of them.
  struct RenderedFile {
    uint64_t ino;
    std::string bytes;
  };
  Result<std::vector<RenderedFile>> RenderActivity(int64_t id, ActivityKinds kinds);

  // What the stats/ file `ino` shows as the cache is now (call it in the
  // snapshot the file is read in): which file, whose rows, and the version
  // of its bytes (NodeAttr::version). The version is the change log's
  // newest row, as every write that changes a view logs one (activities,
  // streams, athletes, and by trigger analytics_settings and athlete_zones),
  // mixed with the scope but for the single layout's: the root's files of
  // one athlete and of several differ at the same point of the log.
  // nullopt: no such file is shown.
  struct StatsNode {
    size_t index = 0;  // in StatsFiles()
    StatsScope scope;
    uint64_t version = 0;
  };
  Result<std::optional<StatsNode>> Stats(uint64_t ino);
  Result<uint64_t> StatsSize(const StatsNode& node);
  // The bytes of the stats/ file `ino` at `version`, if its lookup (StatsAttr)
  // counted them and no read has taken them yet (FsMemo::TakeMeasured).
  std::optional<std::string> TakeMeasured(uint64_t ino, uint64_t version);
  // A CSV file of stats/ read a row at a time (never held whole), from
  // this tree's connection: keep it in one snapshot (BeginSnapshot) for as
  // long as the cursor lives, the one `node` was read in.
  struct StatsCursor {
    StatsNode node;
    uint64_t pos = 0;  // offset of buf's first byte
    std::string buf;
    std::unique_ptr<StatsCsvReader> reader;
  };
  Result<std::string> ReadStats(StatsCursor& c, uint64_t offset, size_t size);
  Result<std::string> ReadCsv(const CsvIndex& index, uint64_t offset, size_t size);

  // Holds one read transaction from here to EndSnapshot(): every query in
  // between sees the cache as the first one did, whatever syncs commit
  // meanwhile (WAL readers never block the writer). How an open
  // activities.csv keeps reading the rows it was opened with.
  // Nested calls share the outermost one's transaction.
  Status BeginSnapshot();
  void EndSnapshot();
  // In a snapshot: the change log's newest row (LastChange()) in it. Two
  // snapshots with the same one show the same files: every write that
  // changes what the mount shows logs a row.
  int64_t snapshot_seq() const { return snapshot_seq_; }

  // The newest fs_changes row (0 when none); what changed after `seq`.
  Result<int64_t> LastChange();
  // PRAGMA data_version: changes whenever another connection commits.
  Result<int64_t> DataVersion();
  Result<Invalidation> ChangesSince(int64_t seq);

 private:
  FsTree(std::unique_ptr<Cache> cache, FsMemo& memo) : cache_(std::move(cache)), memo_(memo) {}

  struct ActivityNode;  // one shown activity, as the queries read it
  Result<std::optional<ActivityNode>> Activity(int64_t id);
  Result<std::optional<NodeAttr>> ActivityFileAttr(uint64_t ino);
  Result<std::optional<std::string>> RenderOriginal(const DecodedInode& d);
  Result<std::optional<NodeAttr>> FolderAttr(uint64_t ino);
  Result<std::optional<NodeAttr>> CsvAttr(uint64_t ino);
  struct CsvRange;  // the rows of one activities.csv
  Result<std::optional<NodeAttr>> CsvAttrByMonth(uint64_t ino, const CsvRange& range, uint64_t epoch);
  Result<std::optional<CsvRange>> ShownCsv(uint64_t ino);
  Result<std::optional<NodeAttr>> StatsAttr(uint64_t ino);
  Result<std::optional<NodeAttr>> AthleteAttr(int64_t athlete);
  Result<std::vector<AthleteFolder>> ReadFolders();
  // Whether `athlete`'s layout is shown (0: the root's).
  Result<bool> Shows(int64_t athlete);
  // Whose layout holds `n`'s files: 0 with one athlete.
  Result<int64_t> LayoutOf(const ActivityNode& n);
  Result<std::vector<int>> Years(int64_t athlete);
  Result<std::vector<int>> Months(int year, int64_t athlete);
  Result<std::optional<int64_t>> LastStart(const std::string& lo, const std::string& hi, int64_t athlete);
  Result<std::optional<std::string>> AthleteJson(int64_t athlete);
  Result<std::vector<ActivityNode>> ActivitiesIn(const std::string& lo, const std::string& hi, int64_t athlete);
  // The same activities, each given to `each` as it is read and not kept:
  // by-id/ lists every activity, and 100000 nodes at once were 20 MB.
  Status ForEachActivityIn(const std::string& lo, const std::string& hi, int64_t athlete,
                           const std::function<void(ActivityNode&&)>& each);
  Result<std::optional<Listing>> ListTop(int64_t athlete);

  // The memo's token for this tree's state: its snapshot's, else now's.
  uint64_t MemoEpoch();

  std::unique_ptr<Cache> cache_;
  FsMemo& memo_;
  std::optional<std::vector<AthleteFolder>> watched_folders_;  // as ChangesSince last saw them
  int snapshots_ = 0;                                          // BeginSnapshot() calls not ended
  int64_t snapshot_seq_ = 0;                                   // the outermost one's
};

}  // namespace stravafs
