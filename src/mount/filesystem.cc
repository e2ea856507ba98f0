#include "mount/filesystem.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <list>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "format/names.h"

namespace stravafs::mount {
namespace {

constexpr size_t kReserveConnections = 2;  // idle ones kept by Connections::Take
constexpr size_t kMaxIdle = 16;            // 8 workers, each with a request and a snapshot
// File nodes are numbered from here: no InodeKind has this tag.
constexpr uint64_t kFileNodeBase = uint64_t{0xFE} << kInodeKindShift;

// Which file a path names now; nullopt if none.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};
std::optional<FileId> IdOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// Whether this process holds the file at `path` open.
bool HeldOpen(const std::string& path) {
  const auto id = IdOf(path);
  if (!id) return false;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    struct stat st {};
    if (::stat(fd.path().c_str(), &st) == 0 && FileId{st.st_dev, st.st_ino} == *id) return true;
  }
  return false;
}

Status NotFound() { return Status::Error(ErrorKind::kNotFound, "no such file"); }

uint64_t ParentOf(uint64_t ino) {
  auto d = DecodeInode(ino);
  if (!d) return kRootInode;
  switch (d->kind) {
    case InodeKind::kMonthDir:
      return YearDirInode(d->year(), d->athlete());
    case InodeKind::kYearDir:
    case InodeKind::kAthleteById:
    case InodeKind::kAthleteStats:
      return AthleteDirInode(d->athlete());
    default:
      return kRootInode;  // the root, by-id, stats and the athletes' folders
  }
}

// A connection and the cache file (generation) it reads.
struct Taken {
  std::unique_ptr<FsTree> tree;
  uint64_t generation = 0;
};

// Idle read-only connections to the cache file shown now.
class Connections {
 public:
  // Shows the file at `path` now.
  Connections(std::string path, FsMemo& memo) : path_(std::move(path)), memo_(memo), file_(IdOf(path_)) {}

  // A connection, keeping kReserveConnections more idle: a cushion for
  // when the cache file was replaced by one that cannot be shown yet and no
  // connection can be opened (Poll).
  Result<Taken> Take() {
    std::unique_ptr<FsTree> taken;
    size_t idle = 0;
    uint64_t generation;
    {
      std::lock_guard lock(mu_);
      generation = generation_;
      if (!idle_.empty()) {
        taken = std::move(idle_.back());
        idle_.pop_back();
      }
      idle = idle_.size();
    }
    if (!taken) {
      auto t = OpenTree();
      if (!t.ok()) return t.status();
      taken = std::move(*t);
    }
    for (; idle < kReserveConnections; ++idle) {
      auto t = OpenTree();
      if (!t.ok()) break;
      Give(Taken{std::move(*t), generation});
    }
    return Taken{std::move(taken), generation};
  }
  void Give(Taken t) {
    std::lock_guard lock(mu_);
    if (t.generation != generation_) return;  // of a replaced cache file: closed
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(t.tree));
  }

  // The file shown now: what IdOf(path) must be for a connection to open.
  std::optional<FileId> file() {
    std::lock_guard lock(file_mu_);
    return file_;
  }
  // Runs `f` with the file shown held still (no connection opens meanwhile).
  template <typename F>
  auto WithFile(F&& f) {
    std::lock_guard lock(file_mu_);
    return f(file_);
  }
  // The cache file was replaced: connections to the old one are closed.
  void NextGeneration() {
    std::lock_guard lock(mu_);
    idle_.clear();
    ++generation_;
  }

 private:
  // A new connection to the file shown. A file that took its name since is
  // not opened before the watcher has switched to it: it may sit beside the
  // old one's -wal and -shm, which SQLite would read as its own.
  Result<std::unique_ptr<FsTree>> OpenTree() {
    std::lock_guard lock(file_mu_);
    if (IdOf(path_) != file_)
      return Status::Error(ErrorKind::kCache, "the cache " + path_ + " was replaced or removed; see the log");
    return FsTree::Open(path_, memo_);
  }

  const std::string path_;
  FsMemo& memo_;
  std::mutex file_mu_;
  std::optional<FileId> file_;

  std::mutex mu_;
  uint64_t generation_ = 0;
  std::vector<std::unique_ptr<FsTree>> idle_;
};

// A connection borrowed for one request.
class Lease {
 public:
  Lease(Connections& pool, Taken t) : pool_(pool), taken_(std::move(t)) {}
  Lease(Lease&& other) noexcept : pool_(other.pool_), taken_(std::move(other.taken_)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (taken_.tree) pool_.Give(std::move(taken_));
  }
  FsTree* operator->() const { return taken_.tree.get(); }
  // The connection, kept past the request (an open file's snapshot).
  Taken Release() { return std::move(taken_); }

 private:
  Connections& pool_;
  Taken taken_;
};

// One file node per version of a file the kernel was told about.
class Nodes {
 public:
  struct Node {
    NodeAttr attr;  // attr.ino: the inode number
    uint64_t parent = 0;
    std::string name;
    uint64_t lookups = 0;
  };

  // The node of a file at `a`'s version, made if new, counting one lookup by
  // the kernel (a lookup reply or a readdirplus entry).
  uint64_t Lookup(const NodeAttr& a, uint64_t parent, std::string_view name) {
    std::lock_guard lock(mu_);
    uint64_t id;
    auto cur = current_.find(a.ino);
    if (cur != current_.end() && Same(nodes_.at(cur->second).attr, a)) {
      id = cur->second;
    } else {
      id = kFileNodeBase + next_++;
      nodes_.emplace(id, Node{a, parent, std::string(name), 0});
      current_[a.ino] = id;
    }
    Node& n = nodes_.at(id);
    ++n.lookups;
    n.parent = parent;  // the name it was last found under, for the watcher
    n.name = name;
    return id;
  }

  std::optional<NodeAttr> Attr(uint64_t id) const {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return std::nullopt;
    return it->second.attr;
  }

  void Forget(uint64_t id, uint64_t n) {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return;
    it->second.lookups -= std::min(n, it->second.lookups);
    if (it->second.lookups > 0) return;
    if (auto cur = current_.find(it->second.attr.ino); cur != current_.end() && cur->second == id) current_.erase(cur);
    nodes_.erase(it);
  }

  // After the cache file was replaced: no node is any file's newest, so the
  // next lookup of every name makes a new node (a version number of the old
  // file says nothing about the new one). Returns where the kernel found
  // every node it still holds, to be told to forget the names.
  std::vector<std::pair<uint64_t, std::string>> Retire() {
    std::lock_guard lock(mu_);
    current_.clear();
    std::vector<std::pair<uint64_t, std::string>> names;
    names.reserve(nodes_.size());
    for (const auto& [id, n] : nodes_) names.emplace_back(n.parent, n.name);
    return names;
  }

  // Where the kernel last found inode `ino`'s newest node; nullopt if it
  // holds none (or `ino` is no file).
  std::optional<std::pair<uint64_t, std::string>> NameOf(uint64_t ino) const {
    std::lock_guard lock(mu_);
    auto cur = current_.find(ino);
    if (cur == current_.end()) return std::nullopt;
    const Node& n = nodes_.at(cur->second);
    return std::pair{n.parent, n.name};
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return nodes_.size();
  }

 private:
  static bool Same(const NodeAttr& a, const NodeAttr& b) {
    return a.version == b.version && a.size == b.size && a.mtime == b.mtime;
  }
  mutable std::mutex mu_;
  uint64_t next_ = 0;
  std::unordered_map<uint64_t, Node> nodes_;
  std::unordered_map<uint64_t, uint64_t> current_;  // inode number -> its newest node
};

// Handles of open files and folders, owned here (a handle is the address),
// so that whatever the kernel leaves open at unmount is freed with the
// Filesystem.
template <typename Handle>
class Handles {
 public:
  uint64_t Add(std::unique_ptr<Handle> h) {
    std::lock_guard lock(mu_);
    Handle* raw = h.get();
    open_.emplace(raw, std::move(h));
    return reinterpret_cast<uint64_t>(raw);
  }
  static Handle& Of(uint64_t handle) { return *reinterpret_cast<Handle*>(handle); }
  void Remove(uint64_t handle) {
    std::unique_ptr<Handle> h;  // destroyed unlocked
    std::lock_guard lock(mu_);
    if (auto it = open_.find(reinterpret_cast<Handle*>(handle)); it != open_.end()) {
      h = std::move(it->second);
      open_.erase(it);
    }
  }
  void Clear() {
    std::lock_guard lock(mu_);
    open_.clear();
  }

 private:
  std::mutex mu_;
  std::unordered_map<Handle*, std::unique_ptr<Handle>> open_;
};

// A folder's entries, read at the first ReadDir of an open.
struct DirHandle {
  uint64_t parent = kRootInode;
  std::optional<Listing> entries;
};

// Renders activities' files ahead of a reader going through a folder (see
// the header), on a thread of its own: the files of the next
// kPrefetchDepth activities in its folders' order, of the kinds read lately
// (a jq over the .json files wants no .gpx). The bytes wait for their
// first read, kept by (inode, version): the same version is the same bytes.
// A reader that finds nothing renders the file itself and claims it
// meanwhile, so that the two cores never render one file twice.
class Prefetcher {
 public:
  explicit Prefetcher(Connections& pool) : pool_(pool) {}
  ~Prefetcher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // What a copy's first read finds: the bytes, or that it renders them
  // itself (and, when `claimed`, calls Rendered() after).
  struct Found {
    std::optional<std::string> bytes;
    bool claimed = false;
  };
  // The bytes of `ino` at `version` if rendered ahead (waiting for a render
  // under way), taken: the kernel keeps what it reads.
  Found Take(uint64_t ino, uint64_t version) {
    std::unique_lock lock(mu_);
    for (;;) {
      auto it = Find(ino);
      if (it != ahead_.end() && it->version != version) {  // of no use to anyone now
        Drop(it);
        it = ahead_.end();
      }
      if (it == ahead_.end()) {
        ahead_.push_back(Ahead{ino, version, State::kClaimed, {}});
        return Found{std::nullopt, true};
      }
      if (it->state == State::kClaimed) return Found{};  // another reader renders it
      if (it->state == State::kRendering) {
        done_.wait(lock);
        continue;
      }
      bytes_ -= it->bytes.size();
      Found found{std::move(it->bytes), false};
      ahead_.erase(it);
      Read(ino, version);
      ++hits_;
      return found;
    }
  }
  // The claimed file was rendered by its reader (or failed to be).
  void Rendered(uint64_t ino, uint64_t version) {
    std::lock_guard lock(mu_);
    if (auto it = Find(ino); it != ahead_.end() && it->version == version && it->state == State::kClaimed) Drop(it);
    Read(ino, version);
  }

  // The activity's file `ino` was read: render what follows it if the
  // reader goes through a folder (it read what came next after an earlier
  // read, or another file of the same activity); else only note what comes
  // next, one index range, so that a reader here and there costs no render.
  // The thread starts here, at a request: after the daemon forked, and with
  // the signals that end the daemon blocked, as the requesting worker has
  // them.
  void After(uint64_t ino) {
    const auto d = DecodeInode(ino);
    if (!d || (d->kind != InodeKind::kActivityJson && d->kind != InodeKind::kActivityCsv &&
               d->kind != InodeKind::kActivityGpx))
      return;  // an original (.fit, .tcx): no reader goes through those
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      if (recent_.size() == kRecentKinds) recent_.pop_front();
      recent_.push_back(d->kind);
      const int64_t id = d->activity_id();
      const bool going_through = id == last_ || std::find(predicted_.begin(), predicted_.end(), id) != predicted_.end();
      last_ = id;
      auto job = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& j) { return j.id == id; });
      if (job != jobs_.end()) {
        job->render = job->render || going_through;
        return;
      }
      if (jobs_.size() == kMaxJobs) jobs_.pop_front();  // the reader moved on
      jobs_.push_back(Job{id, going_through});
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    }
    work_.notify_one();
  }

  // The cache file was replaced: nothing rendered from the old one is used.
  void Clear() {
    std::lock_guard lock(mu_);
    ++epoch_;
    jobs_.clear();
    read_.clear();
    recent_.clear();
    predicted_.clear();
    last_ = -1;
    for (auto it = ahead_.begin(); it != ahead_.end();) it = it->state == State::kReady ? Drop(it) : std::next(it);
  }

  // For tests: waits until nothing is queued or under way; the first reads
  // served from what was rendered ahead.
  size_t Idle() {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return jobs_.empty() && !busy_; });
    return hits_;
  }

 private:
  static constexpr size_t kPrefetchDepth = 2;
  static constexpr size_t kMaxJobs = 8;
  static constexpr size_t kMaxFiles = 32;               // rendered, not read yet
  static constexpr size_t kMaxBytes = size_t{4} << 20;  // likewise
  static constexpr size_t kMaxRead = 64;                // remembered as read
  static constexpr size_t kRecentKinds = 8;             // what the reader reads: .json, .csv, .gpx
  static constexpr size_t kMaxPredicted = 16;           // noted as coming next

  // An activity a file of which was read: what follows it is noted, and
  // rendered if `render`.
  struct Job {
    int64_t id;
    bool render;
  };
  enum class State { kClaimed, kRendering, kReady };
  struct Ahead {
    uint64_t ino;
    uint64_t version;
    State state;
    std::string bytes;  // kReady
  };
  using Iter = std::list<Ahead>::iterator;

  Iter Find(uint64_t ino) {
    return std::find_if(ahead_.begin(), ahead_.end(), [&](const Ahead& a) { return a.ino == ino; });
  }
  Iter Drop(Iter it) {
    bytes_ -= it->bytes.size();
    return ahead_.erase(it);
  }
  // A reader has (ino, version): not to be rendered for it again.
  void Read(uint64_t ino, uint64_t version) {
    if (read_.size() == kMaxRead) read_.pop_front();
    read_.emplace_back(ino, version);
  }
  bool WasRead(uint64_t ino, uint64_t version) const {
    return std::find(read_.begin(), read_.end(), std::pair{ino, version}) != read_.end();
  }

  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      work_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      const Job job = jobs_.front();
      jobs_.pop_front();
      busy_ = true;
      lock.unlock();
      RenderAfter(job);
      lock.lock();
      busy_ = false;
      done_.notify_all();
    }
  }

  // Notes what follows the job's activity and, if the job says so, renders
  // it, in one snapshot: the kinds of file read lately, skipping what is
  // rendered, claimed or read. Errors are left to the reads that will meet
  // them.
  void RenderAfter(const Job& job) {
    auto t = pool_.Take();
    if (!t.ok()) return;
    FsTree& tree = *t->tree;
    uint64_t epoch;
    {
      std::lock_guard lock(mu_);
      epoch = epoch_;
    }
    if (tree.BeginSnapshot().ok()) {
      auto next = tree.NextActivities(job.id, kPrefetchDepth);
      if (next.ok()) {
        std::lock_guard lock(mu_);
        for (const FsTree::ActivityVersion& a : *next) {
          if (predicted_.size() == kMaxPredicted) predicted_.pop_front();
          predicted_.push_back(a.id);
        }
      }
      if (!job.render) next = std::vector<FsTree::ActivityVersion>();
      for (const FsTree::ActivityVersion& a : next.ok() ? *next : std::vector<FsTree::ActivityVersion>()) {
        FsTree::ActivityKinds kinds;
        std::vector<uint64_t> inos;  // marked kRendering
        {
          std::lock_guard lock(mu_);
          if (stop_ || epoch != epoch_) break;
          for (InodeKind k : {InodeKind::kActivityJson, InodeKind::kActivityCsv, InodeKind::kActivityGpx}) {
            if (std::find(recent_.begin(), recent_.end(), k) == recent_.end()) continue;
            const uint64_t ino = InodeFor(k, static_cast<uint64_t>(a.id));
            if (WasRead(ino, a.version)) continue;
            if (auto it = Find(ino); it != ahead_.end()) {
              if (it->version == a.version) continue;
              Drop(it);
            }
            ahead_.push_back(Ahead{ino, a.version, State::kRendering, {}});
            inos.push_back(ino);
            kinds = kinds.With(k);
          }
        }
        if (inos.empty()) continue;
        auto files = tree.RenderActivity(a.id, kinds);
        std::lock_guard lock(mu_);
        done_.notify_all();
        for (uint64_t ino : inos) {
          auto it = Find(ino);
          if (it == ahead_.end() || it->version != a.version || it->state != State::kRendering) continue;
          FsTree::RenderedFile* file = nullptr;
          if (files.ok() && epoch == epoch_)
            for (FsTree::RenderedFile& f : *files)
              if (f.ino == ino) file = &f;
          if (!file) {  // not shown (no GPS, no streams), an error, or of a replaced cache file
            Drop(it);
            continue;
          }
          it->bytes = std::move(file->bytes);
          it->state = State::kReady;
          bytes_ += it->bytes.size();
        }
        // The oldest first: a reader that skipped them will not come back.
        while (ahead_.size() > kMaxFiles || bytes_ > kMaxBytes) {
          auto old =
              std::find_if(ahead_.begin(), ahead_.end(), [](const Ahead& a) { return a.state == State::kReady; });
          if (old == ahead_.end()) break;
          Drop(old);
        }
      }
      tree.EndSnapshot();
    }
    pool_.Give(std::move(*t));
  }

  Connections& pool_;
  std::mutex mu_;
  std::condition_variable work_;  // jobs_ or stop_
  std::condition_variable done_;  // a render ended, or the thread went idle
  std::deque<Job> jobs_;
  std::deque<int64_t> predicted_;  // what came next after the activities read lately
  int64_t last_ = -1;              // the activity of the last file read
  std::deque<InodeKind> recent_;   // the kinds of the last kRecentKinds files read
  std::list<Ahead> ahead_;
  std::deque<std::pair<uint64_t, uint64_t>> read_;  // the last kMaxRead (ino, version) readers had
  size_t bytes_ = 0;                                // of the kReady ones
  uint64_t epoch_ = 0;
  size_t hits_ = 0;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

// A read transaction that the opens of activities' files share (see the
// header): the copies that have not rendered yet hold it.
struct SharedSnapshot {
  Connections* pool = nullptr;
  Taken taken;
  int64_t begun_ms = 0;
  std::mutex mu;  // one statement at a time on its connection

  SharedSnapshot() = default;
  SharedSnapshot(const SharedSnapshot&) = delete;
  SharedSnapshot& operator=(const SharedSnapshot&) = delete;
  ~SharedSnapshot() {
    if (!taken.tree) return;
    taken.tree->EndSnapshot();
    pool->Give(std::move(taken));
  }
};
using SnapshotPtr = std::shared_ptr<SharedSnapshot>;

// One version of a file as an open reads it (see the header).
struct FileCopy {
  Connections* pool = nullptr;
  uint64_t ino = 0;
  uint64_t version = 0;
  uint64_t size = 0;
  std::mutex mu;                // reads and the first render, for every open sharing the copy
  std::string bytes;            // rendered (all but the CSV files read a block at a time)
  Taken snapshot;               // an activities.csv or a stats/ CSV: its snapshot, for good
  SnapshotPtr shared;           // an activity's file: until rendered
  Prefetcher* ahead = nullptr;  // an activity's file: where it may be rendered ahead
  std::optional<CsvIndex> csv;
  std::optional<FsTree::StatsCursor> stats;

  FileCopy() = default;
  FileCopy(const FileCopy&) = delete;
  FileCopy& operator=(const FileCopy&) = delete;
  ~FileCopy() { EndSnapshot(); }

  void EndSnapshot() {
    if (!snapshot.tree) return;
    snapshot.tree->EndSnapshot();
    pool->Give(std::move(snapshot));
  }
  // An activity's file: its bytes, once. Called under mu.
  Status Render() {
    if (!shared) return Status::Ok();
    auto found = ahead->Take(ino, version);
    if (found.bytes) {
      bytes = std::move(*found.bytes);
      shared.reset();
      return Status::Ok();
    }
    // In a transaction of its own while the cache still holds this version,
    // so that opens render side by side; else (or if no connection can be
    // had now) in the shared snapshot.
    auto own = RenderOwn();
    if (!own.ok() || !*own) {
      std::lock_guard lock(shared->mu);
      own = shared->taken.tree->Render(ino);
    }
    shared.reset();
    if (found.claimed) ahead->Rendered(ino, version);
    if (!own.ok()) return own.status();
    if (*own) bytes = std::move(**own);
    return Status::Ok();
  }

 private:
  // The bytes if the cache holds this version now; nullopt if not.
  Result<std::optional<std::string>> RenderOwn() {
    auto t = pool->Take();
    if (!t.ok()) return t.status();
    FsTree& tree = *t->tree;
    Result<std::optional<std::string>> r = std::optional<std::string>();
    if (auto s = tree.BeginSnapshot(); !s.ok()) {
      r = s;
    } else {
      auto at = tree.ActivityFileAt(ino, version);  // the same check as the open's
      if (!at.ok())
        r = at.status();
      else if (*at)
        r = tree.Render(ino);
      tree.EndSnapshot();
    }
    pool->Give(std::move(*t));
    return r;
  }
};

using CopyPtr = std::shared_ptr<FileCopy>;

// An open file: the copy it reads (which a parked copy may share).
struct OpenFile {
  CopyPtr copy;
};

// Copies that an open found at another version than the kernel expected,
// kept kParkMs for the open the kernel retries after ESTALE; several readers
// may be retrying the same version.
class Parking {
 public:
  explicit Parking(Clock& clock) : clock_(clock) {}

  void Park(uint64_t ino, CopyPtr c) {
    const int64_t now = clock_.NowMs();
    std::lock_guard lock(mu_);
    for (auto it = parked_.begin(); it != parked_.end();) {
      std::erase_if(it->second, [&](const Parked& p) { return !Fresh(p, now); });
      it = it->second.empty() ? parked_.erase(it) : std::next(it);
    }
    parked_[ino].push_back(Parked{std::move(c), now});
  }
  // The version and size of the copy last parked for `ino`, if fresh.
  std::optional<std::pair<uint64_t, uint64_t>> Peek(uint64_t ino) {
    const int64_t now = clock_.NowMs();
    std::lock_guard lock(mu_);
    auto it = parked_.find(ino);
    if (it == parked_.end() || !Fresh(it->second.back(), now)) return std::nullopt;
    return std::pair{it->second.back().copy->version, it->second.back().copy->size};
  }
  // A fresh copy parked for `ino` at `version`.
  CopyPtr Find(uint64_t ino, uint64_t version) {
    const int64_t now = clock_.NowMs();
    std::lock_guard lock(mu_);
    auto it = parked_.find(ino);
    if (it == parked_.end()) return nullptr;
    for (const Parked& p : it->second)
      if (Fresh(p, now) && p.copy->version == version) return p.copy;
    return nullptr;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    parked_.clear();
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& [ino, copies] : parked_) n += copies.size();
    return n;
  }

 private:
  struct Parked {
    CopyPtr copy;
    int64_t at_ms;
  };
  static bool Fresh(const Parked& p, int64_t now) { return now - p.at_ms < kParkMs && now >= p.at_ms; }

  Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<Parked>> parked_;  // oldest first
};

}  // namespace

class Filesystem::Impl {
 public:
  Impl(const std::string& path, Clock& clock, Logger log)
      : path_(path), log_(std::move(log)), clock_(clock), connections_(path, memo_), parking_(clock) {}
  ~Impl() {
    // What the kernel left open at unmount, before the connections they hold.
    parking_.Clear();
    files_.Clear();
    dirs_.Clear();
    RetireSnapshot();
  }

  // The snapshot the opens of activities' files share: begun afresh when
  // `fresh`, when there is none, or when it is kWatchInterval old.
  Result<SnapshotPtr> Snapshot(bool fresh) {
    const int64_t now = clock_.NowMs();
    std::lock_guard lock(snapshot_mu_);
    if (!fresh && current_ && now >= current_->begun_ms && now - current_->begun_ms < kWatchMs) return current_;
    current_.reset();
    auto t = connections_.Take();
    if (!t.ok()) return t.status();
    auto s = std::make_shared<SharedSnapshot>();
    s->pool = &connections_;
    s->begun_ms = now;
    if (auto begun = t->tree->BeginSnapshot(); !begun.ok()) {
      connections_.Give(std::move(*t));
      return begun;
    }
    s->taken = std::move(*t);
    current_ = s;
    ++snapshots_;
    return s;
  }
  // Opens from here on begin a new snapshot (those that hold one keep it).
  void RetireSnapshot() {
    SnapshotPtr old;
    std::lock_guard lock(snapshot_mu_);
    old = std::move(current_);
  }

  Result<Lease> Borrow() {
    auto t = connections_.Take();
    if (!t.ok()) return t.status();
    return Lease(connections_, std::move(*t));
  }

  // A file's attributes going to the kernel as an entry: adjusted to a copy
  // parked for the name, given the node of its version.
  Entry EntryFor(NodeAttr a, uint64_t parent, std::string_view name) {
    if (a.type != NodeType::kFile) return Entry{a.ino, a};
    if (auto p = parking_.Peek(a.ino)) std::tie(a.version, a.size) = *p;
    return Entry{nodes_.Lookup(a, parent, name), a};
  }

  Result<CopyPtr> CopyOf(Lease& t, const NodeAttr& want);
  Result<CopyPtr> ActivityCopyOf(const NodeAttr& want);
  Result<uint64_t> Open(uint64_t node, int flags);
  void SwitchIfReplaced(Notifier& notifier);
  void ForgetEverything(Notifier& notifier, FsTree& old);
  bool Poll(Notifier& notifier);

  void Say(Severity s, const std::string& line) {
    if (log_) log_(s, line);
  }

  static constexpr int64_t kWatchMs = std::chrono::milliseconds(kWatchInterval).count();

  const std::string path_;
  Logger log_;
  Clock& clock_;
  FsMemo memo_;
  Connections connections_;
  Prefetcher ahead_{connections_};  // stopped before the connections go
  Nodes nodes_;
  Parking parking_;
  Handles<DirHandle> dirs_;
  Handles<OpenFile> files_;
  std::mutex snapshot_mu_;
  SnapshotPtr current_;   // the shared snapshot (Snapshot())
  size_t snapshots_ = 0;  // begun, under snapshot_mu_

  // The watcher's (Poll's) state.
  // Its tree keeps a memo of its own: listing the old file when it was
  // replaced must not leave the old file's sizes in the one requests read.
  struct Watched {
    std::unique_ptr<FsMemo> memo;
    std::unique_ptr<FsTree> tree;
    int64_t seq = 0;
    int64_t version = 0;
  };
  Result<Watched> StartWatching();
  std::optional<Watched> watched_;
  std::string said_;  // what was last logged about a replaced file, to log each state once
};

Result<std::unique_ptr<Filesystem>> Filesystem::Open(const std::string& cache_path, Clock& clock, Logger log) {
  auto impl = std::make_unique<Impl>(cache_path, clock, std::move(log));
  // The cache must be there and readable now. The connection is not kept: a
  // daemon forks next, and an SQLite connection must not cross a fork.
  if (auto t = FsTree::Open(cache_path, impl->memo_); !t.ok()) return t.status();
  return std::unique_ptr<Filesystem>(new Filesystem(std::move(impl)));
}

Filesystem::Filesystem(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Filesystem::~Filesystem() = default;

bool Filesystem::IsFileNode(uint64_t node) { return node >= kFileNodeBase; }

Result<Entry> Filesystem::Lookup(uint64_t parent, std::string_view name) {
  auto t = impl_->Borrow();
  if (!t.ok()) return t.status();
  auto a = (*t)->Lookup(parent, name);
  if (!a.ok()) return a.status();
  if (!*a) return NotFound();  // not cached: a new activity shows at once
  return impl_->EntryFor(**a, parent, name);
}

void Filesystem::Forget(uint64_t node, uint64_t lookups) {
  if (IsFileNode(node)) impl_->nodes_.Forget(node, lookups);
}

Result<NodeAttr> Filesystem::GetAttr(uint64_t node) {
  if (IsFileNode(node)) {
    auto a = impl_->nodes_.Attr(node);
    if (!a) return NotFound();
    return *a;
  }
  auto t = impl_->Borrow();
  if (!t.ok()) return t.status();
  auto a = (*t)->GetAttr(node);
  if (!a.ok()) return a.status();
  if (!*a) return NotFound();
  return **a;
}

Result<std::string> Filesystem::ReadLink(uint64_t node) {
  auto t = impl_->Borrow();
  if (!t.ok()) return t.status();
  auto target = (*t)->ReadLink(node);
  if (!target.ok()) return target.status();
  if (!*target) return NotFound();
  return std::move(**target);
}

uint64_t Filesystem::OpenDir(uint64_t dir) {
  return impl_->dirs_.Add(std::make_unique<DirHandle>(DirHandle{ParentOf(dir), std::nullopt}));
}

void Filesystem::ReleaseDir(uint64_t handle) { impl_->dirs_.Remove(handle); }

Result<std::vector<uint64_t>> Filesystem::ReadDir(uint64_t handle, uint64_t dir, int64_t offset, bool plus,
                                                  const AddEntry& add) {
  DirHandle& h = Handles<DirHandle>::Of(handle);
  if (!h.entries || offset == 0) {
    auto t = impl_->Borrow();
    if (!t.ok()) return t.status();
    auto list = (*t)->List(dir);
    if (!list.ok()) return list.status();
    if (!*list) return NotFound();
    h.entries = std::move(**list);
  }
  std::vector<uint64_t> made;  // file nodes taken by `add`
  DirEntry scratch;
  const auto total = static_cast<int64_t>(h.entries->size() + 2);
  for (int64_t i = std::max<int64_t>(offset, 0); i < total; ++i) {
    Entry e;
    std::string dots;
    const std::string* name = &dots;
    if (i < 2) {
      // No node for "." and "..": the kernel knows them.
      dots = i == 0 ? "." : "..";
      e.attr = NodeAttr{i == 0 ? dir : h.parent, NodeType::kDir, 0, 0, 2};
    } else {
      const DirEntry& d = h.entries->At(static_cast<size_t>(i - 2), scratch);
      name = &d.name;
      e.attr = d.attr;
      // Nor for an entry whose size is not known yet: a lookup will measure it.
      if (plus && d.measured) e = impl_->EntryFor(d.attr, dir, d.name);
    }
    if (!add(*name, e, i + 1)) {
      Forget(e.node, 1);  // not sent: the kernel did not count it
      break;
    }
    if (IsFileNode(e.node)) made.push_back(e.node);
  }
  return made;
}

// A new copy of `want`'s file (inode want.ino: an athlete.json, a stats/ file
// or an activities.csv) as the cache holds it now, at whatever version that
// is; null if it is gone. `t`'s connection becomes the copy's snapshot where
// it needs one.
Result<CopyPtr> Filesystem::Impl::CopyOf(Lease& t, const NodeAttr& want) {
  const uint64_t ino = want.ino;
  auto h = std::make_shared<FileCopy>();
  h->pool = &connections_;
  h->ino = ino;
  if (FsTree::IsStatsFile(ino)) {
    // Counted at its lookup, at the version the kernel holds: not again.
    if (auto kept = t->TakeMeasured(ino, want.version); kept && kept->size() == want.size) {
      h->bytes = std::move(*kept);
      h->version = want.version;
      h->size = want.size;
      return h;
    }
  }
  const bool stats_csv = FsTree::IsStatsFile(ino) && StatsCsvReader::Csv(DecodeInode(ino)->stats_index());
  if (FsTree::IsAthleteJson(ino) || (FsTree::IsStatsFile(ino) && !stats_csv)) {
    auto r = t->RenderVersion(ino);
    if (!r.ok()) return r.status();
    if (!*r) return CopyPtr();
    h->bytes = std::move((*r)->bytes);
    h->version = (*r)->version;
    h->size = h->bytes.size();
    return h;
  }
  h->snapshot = t.Release();
  FsTree& snap = *h->snapshot.tree;
  if (auto s = snap.BeginSnapshot(); !s.ok()) return s;
  if (stats_csv) {
    auto node = snap.Stats(ino);
    if (!node.ok()) return node.status();
    if (!*node) return CopyPtr();
    h->version = (*node)->version;
    if (h->version == want.version) {
      h->size = want.size;  // the same version: the same bytes
    } else {
      auto size = snap.StatsSize(**node);
      if (!size.ok()) return size.status();
      h->size = *size;
    }
    h->stats.emplace();
    h->stats->node = **node;
  } else {
    auto index = snap.IndexCsv(ino);
    if (!index.ok()) return index.status();
    if (!*index) return CopyPtr();
    h->csv = std::move(*index);
    h->version = h->csv->version;
    h->size = h->csv->size;
  }
  return h;
}

// A new copy of an activity's file, read in the shared snapshot. One older
// than the kernel's lookup may not hold `want`'s version yet: then a fresh
// one, as the cache holds it now.
Result<CopyPtr> Filesystem::Impl::ActivityCopyOf(const NodeAttr& want) {
  for (const bool fresh : {false, true}) {
    auto snap = Snapshot(fresh);
    if (!snap.ok()) return snap.status();
    Result<std::optional<NodeAttr>> a = std::optional<NodeAttr>();
    {
      std::lock_guard lock((*snap)->mu);
      FsTree& tree = *(*snap)->taken.tree;
      auto at = tree.ActivityFileAt(want.ino, want.version);
      if (!at.ok()) return at.status();
      if (*at)
        a = std::optional<NodeAttr>(want);
      else
        a = tree.GetAttr(want.ino);  // never memoized
    }
    if (!a.ok()) return a.status();
    const bool found = *a && (*a)->type == NodeType::kFile;
    if (!fresh && (!found || (*a)->version != want.version || (*a)->size != want.size)) continue;
    if (!found) return CopyPtr();
    auto h = std::make_shared<FileCopy>();
    h->pool = &connections_;
    h->ino = want.ino;
    h->version = (*a)->version;
    h->size = (*a)->size;
    h->shared = std::move(*snap);
    h->ahead = &ahead_;
    return h;
  }
  return CopyPtr();  // not reached
}

Result<uint64_t> Filesystem::Impl::Open(uint64_t node, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
    return Status::Error(ErrorKind::kReadOnly, "the mount is read-only");
  auto want = nodes_.Attr(node);
  if (!want) return NotFound();
  CopyPtr h = parking_.Find(want->ino, want->version);
  if (!h) {
    const uint64_t ino = want->ino;
    Result<CopyPtr> copy = CopyPtr();
    if (FsTree::IsAthleteJson(ino) || FsTree::IsStatsFile(ino) || FsTree::IsActivitiesCsv(ino)) {
      auto t = Borrow();
      if (!t.ok()) return t.status();
      copy = CopyOf(*t, *want);
    } else {
      copy = ActivityCopyOf(*want);
    }
    if (!copy.ok()) return copy.status();
    if (!*copy) return NotFound();
    h = std::move(*copy);
  }
  if (h->version != want->version || h->size != want->size) {
    {
      std::lock_guard lock(h->mu);
      // An activity's file is parked rendered, holding no connection.
      if (auto s = h->Render(); !s.ok()) return s;
    }
    // The folder sizes we keep may be as old as the kernel's: drop them too.
    memo_.Invalidate();
    parking_.Park(want->ino, std::move(h));
    return Status::Error(ErrorKind::kStale, "the file changed since it was looked up");
  }
  return files_.Add(std::make_unique<OpenFile>(OpenFile{std::move(h)}));
}

Result<uint64_t> Filesystem::Open(uint64_t node, int flags) { return impl_->Open(node, flags); }

void Filesystem::Release(uint64_t handle) { impl_->files_.Remove(handle); }

Result<Bytes> Filesystem::Read(uint64_t handle, uint64_t offset, size_t size) {
  // Our own reference: once the kernel has the reply, the reader may close
  // the file and its release free the OpenFile while the reply is sent.
  CopyPtr copy = Handles<OpenFile>::Of(handle).copy;
  FileCopy& h = *copy;
  std::unique_lock lock(h.mu);
  if (h.csv || h.stats) {
    auto bytes =
        h.csv ? h.snapshot.tree->ReadCsv(*h.csv, offset, size) : h.snapshot.tree->ReadStats(*h.stats, offset, size);
    lock.unlock();
    if (!bytes.ok()) return bytes.status();
    auto owned = std::make_shared<std::string>(std::move(*bytes));
    std::string_view data = *owned;
    return Bytes{std::move(owned), data};
  }
  // An activity's file, not rendered yet: a reader may be going through a
  // folder, so what it reads next is rendered meanwhile.
  if (h.shared) impl_->ahead_.After(h.ino);
  if (auto s = h.Render(); !s.ok()) return s;
  lock.unlock();  // rendered: the bytes no longer change
  std::string_view data = h.bytes;
  data = offset >= data.size() ? std::string_view() : data.substr(offset, size);
  return Bytes{std::move(copy), data};
}

// --- the watcher ---------------------------------------------------------------------

Result<Filesystem::Impl::Watched> Filesystem::Impl::StartWatching() {
  auto memo = std::make_unique<FsMemo>();
  auto tree = FsTree::Open(path_, *memo);
  if (!tree.ok()) return tree.status();
  auto seq = (*tree)->LastChange();
  if (!seq.ok()) return seq.status();
  auto version = (*tree)->DataVersion();
  if (!version.ok()) return version.status();
  if (auto folders = (*tree)->ChangesSince(*seq); !folders.ok())  // sees the athletes' folders of now
    return folders.status();
  return Watched{std::move(memo), std::move(*tree), *seq, *version};
}

// Tells the kernel to forget every name, listing and link of the cache
// `old` shows, and every file name it holds a node for.
void Filesystem::Impl::ForgetEverything(Notifier& notifier, FsTree& old) {
  for (const auto& [parent, name] : nodes_.Retire()) notifier.ForgetName(parent, name);
  std::vector<uint64_t> dirs{kRootInode};
  while (!dirs.empty()) {
    const uint64_t dir = dirs.back();
    dirs.pop_back();
    auto list = old.List(dir);
    if (list.ok() && *list) {
      DirEntry scratch;
      for (size_t i = 0; i < (*list)->size(); ++i) {
        const DirEntry& e = (*list)->At(i, scratch);
        notifier.ForgetName(dir, e.name);
        if (e.attr.type == NodeType::kDir) dirs.push_back(e.attr.ino);
        if (e.attr.type == NodeType::kLink) notifier.ForgetInode(e.attr.ino);
      }
    }
    notifier.ForgetInode(dir);
  }
}

// A file moved in under the cache's name (`mv new.db cache.db`): shown from
// now on, if that is safe. The old file's -wal and -shm stay beside the name
// while this process reads the old file; SQLite would read them as the new
// file's own and show (or a writer would store) a mix of the two, so a new
// file is opened only once they are gone or it came with its own.
void Filesystem::Impl::SwitchIfReplaced(Notifier& notifier) {
  const std::optional<FileId> now = IdOf(path_);
  if (now == connections_.file()) return;
  auto once = [&](const std::string& what) {
    if (what == said_) return;
    said_ = what;
    Say(Severity::kWarning, what);
  };
  if (!now) return once("the cache " + path_ + " was moved away or removed; still showing the file as it was");
  for (const char* side : {"-wal", "-shm"}) {
    if (HeldOpen(path_ + side))
      return once("the cache " + path_ + " was replaced, but the old one's " + path_ + side +
                  " is still beside it, and SQLite would read it as the new file's: still showing the old "
                  "cache. Move the old cache's -wal and -shm too, to where its main file went (mv " +
                  path_ + "-wal " + path_ + "-shm SOMEWHERE/)");
  }
  std::optional<Watched> next;
  std::string failed;
  connections_.WithFile([&](std::optional<FileId>& file) {
    file = now;
    auto started = StartWatching();
    if (!started.ok() || IdOf(path_) != now) {
      file = std::nullopt;  // nothing is opened until the next file
      failed = started.ok() ? "it was replaced again" : started.status().message();
      return;
    }
    next = std::move(*started);
    connections_.NextGeneration();  // every connection to the old file is dropped at its next use
  });
  if (!next) return once("the cache " + path_ + " was replaced by a file that cannot be shown: " + failed);
  parking_.Clear();
  ahead_.Clear();
  memo_.Invalidate();
  ForgetEverything(notifier, *watched_->tree);
  watched_ = std::move(next);
  said_.clear();
  Say(Severity::kNotice, "the cache " + path_ + " was replaced by another file; showing that one");
}

bool Filesystem::Impl::Poll(Notifier& notifier) {
  RetireSnapshot();  // opens read the cache at most one interval old
  if (!watched_) {
    auto started = StartWatching();
    if (!started.ok()) {
      Say(Severity::kError, "not watching the cache: " + started.status().message());
      return false;
    }
    watched_ = std::move(*started);
    return true;
  }
  SwitchIfReplaced(notifier);
  Watched& w = *watched_;
  auto v = w.tree->DataVersion();
  if (!v.ok() || *v == w.version) return true;
  w.version = *v;
  auto inv = w.tree->ChangesSince(w.seq);
  if (!inv.ok()) {
    Say(Severity::kWarning, "reading the cache's changes: " + inv.status().message());
    return true;
  }
  // Forget what we computed first, so the kernel's next questions get fresh answers.
  memo_.Invalidate();
  w.memo->Invalidate();
  if (inv->relaid)  // every file may be in another folder now
    for (const auto& [parent, name] : nodes_.Retire()) notifier.ForgetName(parent, name);
  for (const auto& [parent, name] : inv->entries) notifier.ForgetName(parent, name);
  for (uint64_t ino : inv->inodes) {
    // A file: its name, so that the next lookup finds its new version's node
    // (the old node's pages stay right for those who have it open).
    if (auto at = nodes_.NameOf(ino))
      notifier.ForgetName(at->first, at->second);
    else
      notifier.ForgetInode(ino);  // a folder's listing, a link's target
  }
  if (inv->lost_track)
    Say(Severity::kNotice, "the cache's change log was pruned past this mount; folders were refreshed");
  if (inv->relaid)
    Say(Severity::kNotice, "the cache now holds " + std::string(inv->several ? "several athletes" : "one athlete") +
                               ": the root shows " + (inv->several ? "a folder per athlete" : "their activities"));
  w.seq = inv->last_seq;
  return true;
}

bool Filesystem::Poll(Notifier& notifier) { return impl_->Poll(notifier); }

size_t Filesystem::FileNodes() const { return impl_->nodes_.size(); }
size_t Filesystem::Parked() const { return impl_->parking_.size(); }
size_t Filesystem::Prefetched() { return impl_->ahead_.Idle(); }
size_t Filesystem::SharedSnapshots() const {
  std::lock_guard lock(impl_->snapshot_mu_);
  return impl_->snapshots_;
}

// --- StopSignal ------------------------------------------------------------------------

bool StopSignal::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [&] { return stopped_.load(); });
  return !stopped_;
}

void StopSignal::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  wake_.notify_all();
}

}  // namespace stravafs::mount
