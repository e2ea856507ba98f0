#include "mount/filesystem.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <list>
#include <set>
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
  // A connection of the caller's, computing with `memo`, to the file shown.
  Result<Taken> OpenOwn(FsMemo& memo) {
    uint64_t generation;
    {
      std::lock_guard lock(mu_);
      generation = generation_;
    }
    std::lock_guard lock(file_mu_);
    if (IdOf(path_) != file_)
      return Status::Error(ErrorKind::kCache, "the cache " + path_ + " was replaced or removed; see the log");
    auto t = FsTree::Open(path_, memo);
    if (!t.ok()) return t.status();
    return Taken{std::move(*t), generation};
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

// A read transaction held: the cache as the kernel was last told about it
// (the current anchor), or as it was before a commit, for the versions the
// kernel may still read from then (a retired one). See the header.
struct Anchor {
  std::unique_ptr<FsMemo> memo;         // its own: never the requests', as its state may be older
  Taken taken;                          // its own connection, computing with `memo`
  int64_t seq = 0;                      // the change log's newest row in it
  std::atomic<int64_t> retired_ms{-1};  // when a newer one took over; -1 while current
  std::mutex mu;                        // one statement at a time on its connection

  Anchor() = default;
  Anchor(const Anchor&) = delete;
  Anchor& operator=(const Anchor&) = delete;
  ~Anchor() {
    if (taken.tree) taken.tree->EndSnapshot();
  }
};
using AnchorPtr = std::shared_ptr<Anchor>;

struct FileCopy;
using CopyPtr = std::shared_ptr<FileCopy>;

// One file node per version of a file the kernel was told about.
class Nodes {
 public:
  struct Node {
    NodeAttr attr;  // attr.ino: the inode number
    uint64_t parent = 0;
    std::string name;
    uint64_t lookups = 0;
    // Where its version is, when the current anchor no longer holds it.
    AnchorPtr pinned;
    // Its bytes as being read; with `kept`, the only place they are left.
    CopyPtr copy;
    bool kept = false;
  };

  // The node of a file at `a`'s version, made if new, counting one lookup by
  // the kernel (a lookup reply or a readdirplus entry). `at`: the anchor `a`
  // was read at. A retired one (a listing that began before a commit) pins
  // the node it makes there, and leaves the inode's newest node as it is.
  uint64_t Lookup(const NodeAttr& a, uint64_t parent, std::string_view name, const AnchorPtr& at) {
    std::lock_guard lock(mu_);
    uint64_t id;
    auto cur = current_.find(a.ino);
    if (cur != current_.end() && Same(nodes_.at(cur->second).attr, a)) {
      id = cur->second;
    } else {
      id = kFileNodeBase + next_++;
      Node& n = nodes_.emplace(id, Node{a, parent, std::string(name), 0, nullptr, nullptr, false}).first->second;
      if (at->retired_ms < 0 || cur == current_.end()) current_[a.ino] = id;
      if (at->retired_ms >= 0) Pin(id, n, at);
    }
    Node& n = nodes_.at(id);
    ++n.lookups;
    n.parent = parent;  // the name it was last found under, for the watcher
    n.name = name;
    return id;
  }

  // A node as a read finds it; nullopt if the kernel forgot it.
  struct View {
    NodeAttr attr;
    AnchorPtr pinned;
    CopyPtr copy;
  };
  std::optional<View> Get(uint64_t id) const {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return std::nullopt;
    return View{it->second.attr, it->second.pinned, it->second.copy};
  }
  std::optional<NodeAttr> Attr(uint64_t id) const {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return std::nullopt;
    return it->second.attr;
  }
  // The node's copy: `made` unless another read attached one first.
  CopyPtr Attach(uint64_t id, CopyPtr made) {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return made;  // forgotten meanwhile: the read still gets its bytes
    if (!it->second.copy) {
      it->second.copy = std::move(made);
      copied_.insert(id);
    }
    return it->second.copy;
  }
  // Drops the node's copy `c` (read whole, or idle), unless kept.
  void Detach(uint64_t id, const FileCopy* c) {
    CopyPtr dropped;  // freed unlocked
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end() || it->second.copy.get() != c || it->second.kept) return;
    dropped = std::move(it->second.copy);
    copied_.erase(id);
  }
  // The nodes holding a copy that may be dropped.
  std::vector<std::pair<uint64_t, CopyPtr>> Copies() const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<uint64_t, CopyPtr>> out;
    for (uint64_t id : copied_)
      if (const Node& n = nodes_.at(id); !n.kept) out.emplace_back(id, n.copy);
    return out;
  }

  // A commit changed inode `ino` (or, for PinAll, any file): the node the
  // kernel holds of its version at `at` is read there from now on.
  void Pin(uint64_t ino, const AnchorPtr& at) {
    std::lock_guard lock(mu_);
    if (auto cur = current_.find(ino); cur != current_.end()) Pin(cur->second, nodes_.at(cur->second), at);
  }
  void PinAll(const AnchorPtr& at) {
    std::lock_guard lock(mu_);
    for (const auto& [ino, id] : current_) Pin(id, nodes_.at(id), at);
  }
  // The pinned nodes, with their anchor and copy.
  std::vector<std::pair<uint64_t, View>> Pinned() const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<uint64_t, View>> out;
    for (uint64_t id : pinned_) {
      const Node& n = nodes_.at(id);
      out.emplace_back(id, View{n.attr, n.pinned, n.copy});
    }
    return out;
  }
  // The pinned node `id`, if still pinned to `at`: read from `copy` (its
  // version's bytes, whole) from now on, or, with none, from the current
  // anchor (which holds its version again).
  void Unpin(uint64_t id, const Anchor* at, CopyPtr copy) {
    AnchorPtr released;  // freed unlocked: may end a transaction
    CopyPtr replaced;
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end() || it->second.pinned.get() != at) return;
    Node& n = it->second;
    released = std::move(n.pinned);
    pinned_.erase(id);
    if (!copy) return;
    replaced = std::exchange(n.copy, std::move(copy));
    n.kept = true;
    ++kept_;
    copied_.erase(id);
  }

  void Forget(uint64_t id, uint64_t n) {
    Node gone;  // freed unlocked: its copy and anchor
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return;
    it->second.lookups -= std::min(n, it->second.lookups);
    if (it->second.lookups > 0) return;
    if (auto cur = current_.find(it->second.attr.ino); cur != current_.end() && cur->second == id) current_.erase(cur);
    pinned_.erase(id);
    copied_.erase(id);
    if (it->second.kept) --kept_;
    gone = std::move(it->second);
    nodes_.erase(it);
  }

  // After the cache file was replaced, or the files moved to other folders:
  // no node is any file's newest, so the next lookup of every name makes a
  // new node (a version number of the old file says nothing about the new
  // one). Returns where the kernel found every node it still holds, to be
  // told to forget the names.
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
  // Nodes read at a retired anchor; nodes whose copy is all that is left.
  size_t pinned() const {
    std::lock_guard lock(mu_);
    return pinned_.size();
  }
  size_t kept() const {
    std::lock_guard lock(mu_);
    return kept_;
  }

 private:
  static bool Same(const NodeAttr& a, const NodeAttr& b) {
    return a.version == b.version && a.size == b.size && a.mtime == b.mtime;
  }
  // Under mu_.
  void Pin(uint64_t id, Node& n, const AnchorPtr& at) {
    if (n.pinned || n.kept) return;  // read from an older anchor already, or from its copy
    n.pinned = at;
    pinned_.insert(id);
  }

  mutable std::mutex mu_;
  uint64_t next_ = 0;
  std::unordered_map<uint64_t, Node> nodes_;
  std::unordered_map<uint64_t, uint64_t> current_;  // inode number -> its newest node
  std::set<uint64_t> pinned_;                       // nodes with an anchor
  std::set<uint64_t> copied_;                       // nodes with a copy not kept
  size_t kept_ = 0;                                 // nodes with a kept copy
};

// Handles of open folders, owned here (a handle is the address), so that
// whatever the kernel leaves open at unmount is freed with the Filesystem.
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
  // Where the entries were read, until it retires or the listing was read
  // to its end: a folder held open must not hold an old transaction (which
  // would keep the -wal from starting over), so entries sent after come
  // without a node (the kernel looks them up).
  AnchorPtr at;
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

// One version of a file as the kernel reads it: a node's bytes, from its
// first read. Whole (an activity's file, athlete.json, a stats/ file counted
// at its lookup or with no CSV to stream), or a cursor that renders what is
// read (an activities.csv a block of rows at a time, a stats/ CSV a row at a
// time) in a transaction at the node's version: a connection of its own, or
// the anchor's.
struct FileCopy {
  NodeAttr attr;
  Connections* pool = nullptr;
  std::mutex mu;  // the first read's filling, and every read of a cursor
  bool filled = false;
  std::string bytes;  // whole
  Taken own;
  AnchorPtr anchor;                     // when not `own`
  std::atomic<int64_t> cursor_seq{-1};  // a cursor's state (Anchor::seq); -1 if whole
  std::optional<CsvIndex> csv;
  std::optional<FsTree::StatsCursor> stats;
  std::atomic<uint64_t> served{0};  // bytes sent, to drop the copy once all were
  std::atomic<int64_t> used_ms{0};

  FileCopy(const NodeAttr& a, Connections* p, int64_t now) : attr(a), pool(p), used_ms(now) {}
  FileCopy(const FileCopy&) = delete;
  FileCopy& operator=(const FileCopy&) = delete;
  ~FileCopy() {
    stats.reset();  // its statement, before the transaction ends
    if (own.tree) {
      own.tree->EndSnapshot();
      pool->Give(std::move(own));
    }
  }
  bool whole() const { return !csv && !stats; }
};

// Whether `ino` is one of an activity's files (.json, .csv, .gpx, an
// original), whose version is its activity_sync.rev.
bool IsActivityFile(uint64_t ino) {
  return !FsTree::IsActivitiesCsv(ino) && !FsTree::IsAthleteJson(ino) && !FsTree::IsStatsFile(ino);
}

// The bytes of `attr`'s version of any file, read whole in `tree`'s
// snapshot; nullopt if the snapshot holds another version or none.
Result<std::optional<std::string>> WholeAt(FsTree& tree, const NodeAttr& attr) {
  const uint64_t ino = attr.ino;
  if (FsTree::IsActivitiesCsv(ino)) {
    auto index = tree.IndexCsv(ino);
    if (!index.ok()) return index.status();
    if (!*index || (*index)->version != attr.version || (*index)->size != attr.size)
      return std::optional<std::string>();
    auto bytes = tree.ReadCsv(**index, 0, attr.size);
    if (!bytes.ok()) return bytes.status();
    return std::optional<std::string>(std::move(*bytes));
  }
  if (FsTree::IsAthleteJson(ino) || FsTree::IsStatsFile(ino)) {
    auto r = tree.RenderVersion(ino);
    if (!r.ok()) return r.status();
    if (!*r || (*r)->version != attr.version || (*r)->bytes.size() != attr.size) return std::optional<std::string>();
    return std::optional<std::string>(std::move((*r)->bytes));
  }
  auto at = tree.ActivityFileAt(ino, attr.version);
  if (!at.ok()) return at.status();
  if (!*at) return std::optional<std::string>();
  return tree.Render(ino);
}

// Whether the snapshot holds the file at `attr`'s version.
Result<bool> HoldsVersion(FsTree& tree, const NodeAttr& attr) {
  if (IsActivityFile(attr.ino)) return tree.ActivityFileAt(attr.ino, attr.version);
  if (FsTree::IsStatsFile(attr.ino)) {  // its version without computing it
    auto node = tree.Stats(attr.ino);
    if (!node.ok()) return node.status();
    return *node && (*node)->version == attr.version;
  }
  auto a = tree.GetAttr(attr.ino);
  if (!a.ok()) return a.status();
  return *a && (*a)->version == attr.version && (*a)->size == attr.size;
}

// What a read gets when the version of its node is nowhere (a bug).
Status Lost(const NodeAttr& attr) {
  return Status::Error(ErrorKind::kCache, "inode " + std::to_string(attr.ino) + ": version " +
                                              std::to_string(attr.version) + " is no longer held");
}

}  // namespace

class Filesystem::Impl {
 public:
  Impl(const std::string& path, Clock& clock, Logger log)
      : path_(path), log_(std::move(log)), clock_(clock), connections_(path, memo_) {}
  ~Impl() {
    // What the kernel left open at unmount, before the connections they hold.
    dirs_.Clear();
  }

  // The current anchor, begun at the first call.
  Result<AnchorPtr> Current() {
    std::lock_guard lock(anchor_mu_);
    if (!current_) {
      auto a = MakeAnchor();
      if (!a.ok()) return a.status();
      current_ = std::move(*a);
    }
    return current_;
  }
  Result<AnchorPtr> MakeAnchor() {
    auto a = std::make_shared<Anchor>();
    a->memo = std::make_unique<FsMemo>();
    auto t = connections_.OpenOwn(*a->memo);
    if (!t.ok()) return t.status();
    if (auto s = t->tree->BeginSnapshot(); !s.ok()) return s;
    a->seq = t->tree->snapshot_seq();
    a->taken = std::move(*t);
    ++anchors_;
    return a;
  }

  // A pooled connection in a transaction at `a`'s state, if `a` is current
  // and the cache is still there: requests then run side by side.
  std::optional<Taken> OwnAt(const Anchor& a) {
    if (a.retired_ms.load() >= 0) return std::nullopt;
    auto t = connections_.Take();
    if (!t.ok()) return std::nullopt;
    if (t->generation == a.taken.generation && t->tree->BeginSnapshot().ok()) {
      if (t->tree->snapshot_seq() == a.seq) return std::move(*t);
      t->tree->EndSnapshot();
    }
    connections_.Give(std::move(*t));
    return std::nullopt;
  }
  // f(tree) in a transaction at `a`'s state: a pooled connection's, else
  // the anchor's own (one statement at a time).
  template <typename F>
  auto At(const AnchorPtr& a, F&& f) -> decltype(f(std::declval<FsTree&>())) {
    if (auto own = OwnAt(*a)) {
      auto r = f(*own->tree);
      own->tree->EndSnapshot();
      connections_.Give(std::move(*own));
      return r;
    }
    std::lock_guard lock(a->mu);
    return f(*a->taken.tree);
  }

  // A file's attributes going to the kernel as an entry, read at `at`:
  // given the node of its version.
  Entry EntryFor(const NodeAttr& a, uint64_t parent, std::string_view name, const AnchorPtr& at) {
    if (a.type != NodeType::kFile) return Entry{a.ino, a};
    return Entry{nodes_.Lookup(a, parent, name, at), a};
  }

  Status Fill(FileCopy& c, const AnchorPtr& at);
  Result<Bytes> Read(uint64_t node, uint64_t offset, size_t size);
  Result<bool> Advance(Notifier& notifier, const AnchorPtr& old);
  void Settle();
  void Rotate();
  void SwitchIfReplaced(Notifier& notifier);
  void ForgetEverything(Notifier& notifier, FsTree& old);
  bool Poll(Notifier& notifier);

  void Say(Severity s, const std::string& line) {
    if (log_) log_(s, line);
  }
  // Says `line` unless it was the last said this way (said_ is cleared when
  // another cache file is shown): a state that lasts is not logged each poll.
  void Once(Severity s, const std::string& line) {
    if (line == said_) return;
    said_ = line;
    Say(s, line);
  }

  const std::string path_;
  Logger log_;
  Clock& clock_;
  FsMemo memo_;
  Connections connections_;
  Prefetcher ahead_{connections_};  // stopped before the connections go
  Nodes nodes_;
  Handles<DirHandle> dirs_;
  std::mutex anchor_mu_;
  AnchorPtr current_;  // under anchor_mu_
  std::atomic<size_t> anchors_{0};

  // The watcher's (Poll's) state.
  // Its tree keeps a memo of its own: listing the old file when it was
  // replaced must not leave the old file's sizes in the one requests read.
  struct Watched {
    std::unique_ptr<FsMemo> memo;
    std::unique_ptr<FsTree> tree;
    int64_t version = 0;
  };
  Result<Watched> StartWatching();
  std::optional<Watched> watched_;
  bool rotate_ = false;  // the -wal may hold frames a checkpoint would copy
  std::string said_;     // what was last logged about a lasting state, to log each once
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
  auto at = impl_->Current();
  if (!at.ok()) return at.status();
  auto a = impl_->At(*at, [&](FsTree& t) { return t.Lookup(parent, name); });
  if (!a.ok()) return a.status();
  if (!*a) return NotFound();  // not cached: a new activity shows at once
  return impl_->EntryFor(**a, parent, name, *at);
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
  auto at = impl_->Current();
  if (!at.ok()) return at.status();
  auto a = impl_->At(*at, [&](FsTree& t) { return t.GetAttr(node); });
  if (!a.ok()) return a.status();
  if (!*a) return NotFound();
  return **a;
}

Result<std::string> Filesystem::ReadLink(uint64_t node) {
  auto at = impl_->Current();
  if (!at.ok()) return at.status();
  auto target = impl_->At(*at, [&](FsTree& t) { return t.ReadLink(node); });
  if (!target.ok()) return target.status();
  if (!*target) return NotFound();
  return std::move(**target);
}

uint64_t Filesystem::OpenDir(uint64_t dir) {
  return impl_->dirs_.Add(std::make_unique<DirHandle>(DirHandle{ParentOf(dir), std::nullopt, nullptr}));
}

void Filesystem::ReleaseDir(uint64_t handle) { impl_->dirs_.Remove(handle); }

Result<std::vector<uint64_t>> Filesystem::ReadDir(uint64_t handle, uint64_t dir, int64_t offset, bool plus,
                                                  const AddEntry& add) {
  DirHandle& h = Handles<DirHandle>::Of(handle);
  if (!h.entries || offset == 0) {
    auto at = impl_->Current();
    if (!at.ok()) return at.status();
    auto list = impl_->At(*at, [&](FsTree& t) { return t.List(dir); });
    if (!list.ok()) return list.status();
    if (!*list) return NotFound();
    h.entries = std::move(**list);
    h.at = std::move(*at);
  }
  if (h.at && h.at->retired_ms >= 0) h.at.reset();
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
      // Nor for an entry whose size is not known yet (a lookup will measure
      // it), or read at an anchor that retired since.
      if (plus && d.measured && h.at) e = impl_->EntryFor(d.attr, dir, d.name, h.at);
    }
    if (!add(*name, e, i + 1)) {
      Forget(e.node, 1);  // not sent: the kernel did not count it
      return made;
    }
    if (IsFileNode(e.node)) made.push_back(e.node);
  }
  // Listed to its end: a folder kept open after (a file manager's window)
  // must not keep the state it was read at, whose transaction would keep the
  // -wal from starting over. Entries asked for again come without a node.
  h.at.reset();
  return made;
}

Status Filesystem::Open(uint64_t node, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
    return Status::Error(ErrorKind::kReadOnly, "the mount is read-only");
  if (!impl_->nodes_.Attr(node)) return NotFound();
  return Status::Ok();
}

// The copy's bytes or cursor, at its node's version, which `at` holds.
Status Filesystem::Impl::Fill(FileCopy& c, const AnchorPtr& at) {
  const NodeAttr& want = c.attr;
  const uint64_t ino = want.ino;
  Result<std::optional<std::string>> whole = std::optional<std::string>();
  if (IsActivityFile(ino)) {
    // A reader may be going through a folder: what it reads next is
    // rendered meanwhile, and this file may have been.
    ahead_.After(ino);
    auto found = ahead_.Take(ino, want.version);
    if (found.bytes)
      whole = std::move(found.bytes);
    else
      whole = At(at, [&](FsTree& t) { return WholeAt(t, want); });
    if (found.claimed) ahead_.Rendered(ino, want.version);
  } else if (auto kept = FsTree::IsStatsFile(ino) ? memo_.TakeMeasured(ino, want.version) : std::nullopt;
             kept && kept->size() == want.size) {
    whole = std::move(kept);  // counted at its lookup, at this version: not again
  } else if (FsTree::IsActivitiesCsv(ino) ||
             (FsTree::IsStatsFile(ino) && StatsCsvReader::Csv(DecodeInode(ino)->stats_index()))) {
    // A cursor, on a connection of its own if one can be had at this state.
    std::optional<Taken> own = OwnAt(*at);
    std::unique_lock<std::mutex> anchor_lock;
    if (!own) {
      if (!FsTree::IsActivitiesCsv(ino)) {  // a stats/ cursor keeps a statement: not on a shared connection
        std::lock_guard lock(at->mu);
        whole = WholeAt(*at->taken.tree, want);
        if (!whole.ok()) return whole.status();
        if (!*whole) return Lost(want);
        c.bytes = std::move(**whole);
        return Status::Ok();
      }
      anchor_lock = std::unique_lock(at->mu);
    }
    FsTree& tree = own ? *own->tree : *at->taken.tree;
    if (FsTree::IsActivitiesCsv(ino)) {
      auto index = tree.IndexCsv(ino);
      if (!index.ok()) return index.status();
      if (!*index || (*index)->version != want.version || (*index)->size != want.size) return Lost(want);
      c.csv = std::move(*index);
    } else {
      auto node = tree.Stats(ino);
      if (!node.ok()) return node.status();
      if (!*node || (*node)->version != want.version) return Lost(want);
      c.stats.emplace();
      c.stats->node = **node;
    }
    if (own)
      c.own = std::move(*own);
    else
      c.anchor = at;
    c.cursor_seq = at->seq;
    return Status::Ok();
  } else {
    whole = At(at, [&](FsTree& t) { return WholeAt(t, want); });
  }
  if (!whole.ok()) return whole.status();
  if (!*whole) return Lost(want);
  c.bytes = std::move(**whole);
  return Status::Ok();
}

Result<Bytes> Filesystem::Impl::Read(uint64_t node, uint64_t offset, size_t size) {
  // The anchor first, then the node: a node not pinned when read is at the
  // anchor current before (a commit pins a node before its anchor retires).
  auto current = Current();
  if (!current.ok()) return current.status();
  auto view = nodes_.Get(node);
  if (!view) return NotFound();
  if (offset >= view->attr.size) return Bytes{};  // the kernel knows the size: rare, and nothing to render
  const AnchorPtr& at = view->pinned ? view->pinned : *current;
  const int64_t now = clock_.NowMs();
  CopyPtr copy =
      view->copy ? view->copy : nodes_.Attach(node, std::make_shared<FileCopy>(view->attr, &connections_, now));
  FileCopy& c = *copy;
  c.used_ms = now;
  std::unique_lock lock(c.mu);
  if (!c.filled) {
    if (auto s = Fill(c, at); !s.ok()) {
      Say(Severity::kError, "reading a file: " + s.message());
      return s;
    }
    c.filled = true;
  }
  Bytes out;
  if (c.whole()) {
    lock.unlock();  // filled: the bytes no longer change
    std::string_view data = c.bytes;
    data = offset >= data.size() ? std::string_view() : data.substr(offset, size);
    out = Bytes{copy, data};
  } else {
    std::unique_lock<std::mutex> anchor_lock;
    if (c.anchor) anchor_lock = std::unique_lock(c.anchor->mu);
    FsTree& tree = c.anchor ? *c.anchor->taken.tree : *c.own.tree;
    auto bytes = c.csv ? tree.ReadCsv(*c.csv, offset, size) : tree.ReadStats(*c.stats, offset, size);
    if (!bytes.ok()) return bytes.status();
    auto owned = std::make_shared<std::string>(std::move(*bytes));
    std::string_view data = *owned;
    out = Bytes{std::move(owned), data};
  }
  // Read through: the kernel keeps the pages, and a copy holds memory (and
  // a cursor a transaction). A later read makes another.
  if (c.served.fetch_add(out.data.size()) + out.data.size() >= c.attr.size) nodes_.Detach(node, &c);
  return out;
}

Result<Bytes> Filesystem::Read(uint64_t node, uint64_t offset, size_t size) { return impl_->Read(node, offset, size); }

// --- the watcher ---------------------------------------------------------------------

Result<Filesystem::Impl::Watched> Filesystem::Impl::StartWatching() {
  auto memo = std::make_unique<FsMemo>();
  auto tree = FsTree::Open(path_, *memo);
  if (!tree.ok()) return tree.status();
  auto version = (*tree)->DataVersion();
  if (!version.ok()) return version.status();
  // In a transaction that ends (a statement left stepped would hold one,
  // and keep SQLite from starting the -wal over).
  if (auto s = (*tree)->BeginSnapshot(); !s.ok()) return s;
  auto folders = (*tree)->ChangesSince((*tree)->snapshot_seq());  // sees the athletes' folders of now
  (*tree)->EndSnapshot();
  if (!folders.ok()) return folders.status();
  return Watched{std::move(memo), std::move(*tree), *version};
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
  if (!now)
    return Once(Severity::kWarning,
                "the cache " + path_ + " was moved away or removed; still showing the file as it was");
  for (const char* side : {"-wal", "-shm"}) {
    if (HeldOpen(path_ + side))
      return Once(Severity::kWarning,
                  "the cache " + path_ + " was replaced, but the old one's " + path_ + side +
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
  if (!next)
    return Once(Severity::kWarning, "the cache " + path_ + " was replaced by a file that cannot be shown: " + failed);
  auto anchor = MakeAnchor();
  if (!anchor.ok())
    return Once(Severity::kWarning,
                "the cache " + path_ + " was replaced by a file that cannot be shown: " + anchor.status().message());
  // What the kernel holds of the old file is read there until it forgets it.
  AnchorPtr old;
  {
    std::lock_guard lock(anchor_mu_);
    old = std::exchange(current_, std::move(*anchor));
  }
  if (old) {
    old->retired_ms = clock_.NowMs();
    nodes_.PinAll(old);
  }
  ahead_.Clear();
  memo_.Invalidate();
  ForgetEverything(notifier, *watched_->tree);
  watched_ = std::move(next);
  said_.clear();
  Say(Severity::kNotice, "the cache " + path_ + " was replaced by another file; showing that one");
}

// A commit since `old`: the next anchor, the nodes of the files it changed
// pinned to `old`, and the kernel told. False if commits kept coming
// between the watcher's snapshot and the anchor's: the next poll tries again.
Result<bool> Filesystem::Impl::Advance(Notifier& notifier, const AnchorPtr& old) {
  FsTree& watcher = *watched_->tree;
  for (int tries = 0; tries < 3; ++tries) {
    if (auto s = watcher.BeginSnapshot(); !s.ok()) return s;
    struct End {
      FsTree& t;
      ~End() { t.EndSnapshot(); }
    } end{watcher};
    if (watcher.snapshot_seq() == old->seq) return true;  // nothing shown changed (a sync's own bookkeeping)
    auto next = MakeAnchor();
    if (!next.ok()) return next.status();
    if ((*next)->seq != watcher.snapshot_seq()) continue;  // a commit came between the two
    auto inv = watcher.ChangesSince(old->seq);
    if (!inv.ok()) return inv.status();
    // Every node of a file that changed is read at `old` from now on, and
    // only then do requests read at the next anchor.
    old->retired_ms = clock_.NowMs();
    if (inv->relaid || inv->lost_track) {
      nodes_.PinAll(old);
    } else {
      for (uint64_t ino : inv->inodes) nodes_.Pin(ino, old);
    }
    {
      std::lock_guard lock(anchor_mu_);
      current_ = std::move(*next);
    }
    if (inv->relaid)  // every file may be in another folder now
      for (const auto& [parent, name] : nodes_.Retire()) notifier.ForgetName(parent, name);
    for (const auto& [parent, name] : inv->entries) notifier.ForgetName(parent, name);
    for (uint64_t ino : inv->inodes) {
      // A file: its name, so that the next lookup finds its new version's node
      // (the old node stays readable for those who have it open).
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
    return true;
  }
  return false;
}

// The nodes pinned kRetainMs ago that the kernel still holds (a reader has
// the file open): read from the current anchor if it holds their version
// again, else from a copy of their bytes, so that the old anchor's
// transaction ends. And copies idle as long are dropped.
void Filesystem::Impl::Settle() {
  const int64_t now = clock_.NowMs();
  auto cur = Current();
  if (!cur.ok()) return;
  for (auto& [id, view] : nodes_.Pinned()) {
    const Anchor& a = *view.pinned;
    if (now - a.retired_ms < kRetainMs) continue;
    if (a.taken.generation == (*cur)->taken.generation) {
      auto same = At(*cur, [&](FsTree& t) { return HoldsVersion(t, view.attr); });
      if (same.ok() && *same) {
        nodes_.Unpin(id, &a, nullptr);
        continue;
      }
    }
    CopyPtr whole;
    if (view.copy) {
      std::lock_guard lock(view.copy->mu);
      if (view.copy->filled && view.copy->whole()) whole = view.copy;
    }
    if (!whole) {
      Result<std::optional<std::string>> bytes = std::optional<std::string>();
      {
        std::lock_guard lock(view.pinned->mu);
        bytes = WholeAt(*view.pinned->taken.tree, view.attr);
      }
      if (!bytes.ok() || !*bytes) {
        Once(Severity::kWarning, "keeping a file's old version for a reader: " +
                                     (bytes.ok() ? Lost(view.attr).message() : bytes.status().message()));
        continue;  // tried again at the next poll
      }
      whole = std::make_shared<FileCopy>(view.attr, &connections_, now);
      whole->bytes = std::move(**bytes);
      whole->filled = true;
    }
    nodes_.Unpin(id, &a, std::move(whole));
  }
  // A cursor at an older state holds its transaction: the next read makes
  // one at the current anchor, which holds the same version (the node is
  // not pinned).
  for (auto& [id, copy] : nodes_.Copies())
    if (const int64_t seq = copy->cursor_seq; now - copy->used_ms >= kRetainMs || (seq >= 0 && seq != (*cur)->seq))
      nodes_.Detach(id, copy.get());
}

// The current anchor's transaction keeps SQLite from starting the -wal over:
// once commits stop, its frames are copied into the cache file and a new
// anchor begins, which reads the file alone.
void Filesystem::Impl::Rotate() {
  if (!rotate_ || nodes_.pinned() > 0) return;  // a retired anchor still reads an older -wal
  auto done = CheckpointWal(path_);
  if (!done.ok()) {
    rotate_ = false;
    return Once(Severity::kWarning, "the cache's -wal grows while the mount runs: " + done.status().message());
  }
  if (!*done) return;  // another reader is behind: the next poll tries again
  auto next = MakeAnchor();
  if (!next.ok()) return;
  std::lock_guard lock(anchor_mu_);
  if ((*next)->seq != current_->seq) return;  // a commit came: the next poll advances
  current_->retired_ms = clock_.NowMs();      // nothing is pinned to it: the same state
  current_ = std::move(*next);
  rotate_ = false;
}

bool Filesystem::Impl::Poll(Notifier& notifier) {
  if (!watched_) {
    auto cur = Current();
    auto started = cur.ok() ? StartWatching() : Result<Watched>(cur.status());
    if (!started.ok()) {
      Say(Severity::kError, "not watching the cache: " + started.status().message());
      return false;
    }
    watched_ = std::move(*started);
    // A commit between the first request's anchor and the watcher's start.
    auto advanced = Advance(notifier, *cur);
    if (!advanced.ok() || !*advanced) watched_->version = -1;  // the next poll tries again
    return true;
  }
  SwitchIfReplaced(notifier);
  Settle();
  Watched& w = *watched_;
  auto v = w.tree->DataVersion();
  if (!v.ok()) return true;
  if (*v == w.version) {
    Rotate();
    return true;
  }
  rotate_ = true;  // any commit, also one that changed nothing shown, adds frames
  AnchorPtr old;
  {
    std::lock_guard lock(anchor_mu_);
    old = current_;
  }
  auto advanced = Advance(notifier, old);
  if (!advanced.ok())
    Say(Severity::kWarning, "reading the cache's changes: " + advanced.status().message());
  else if (*advanced)
    w.version = *v;
  return true;
}

bool Filesystem::Poll(Notifier& notifier) { return impl_->Poll(notifier); }

size_t Filesystem::FileNodes() const { return impl_->nodes_.size(); }
size_t Filesystem::Pinned() const { return impl_->nodes_.pinned(); }
size_t Filesystem::Kept() const { return impl_->nodes_.kept(); }
size_t Filesystem::Prefetched() { return impl_->ahead_.Idle(); }
size_t Filesystem::Anchors() const { return impl_->anchors_; }

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
