// mount.stravafs: the cache as a read-only folder tree (mount.stravafs(8)).
//
// A thin libfuse low-level adapter over FsTree (src/mount/tree.h): each handler
// asks the tree, then replies. Handlers never touch the network; each borrows
// a read-only SQLite connection from a pool (Connections). Two helper threads
// run beside the loop:
//   - the watcher polls PRAGMA data_version and, when any process committed
//     to the cache, reads fs_changes and tells the kernel exactly what to
//     forget (the notify calls must not come from a handler); it also
//     notices a cache file replaced under its name and switches to it;
//   - the refresher runs `stravafs sync` in-process every [mount] refresh.
// The kernel may then cache names, attributes and bytes for a day: every
// version of a file is a node of its own (Nodes, below), so what the kernel
// keeps of one version is never read as another's.
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "cache/db.h"
#include "base/clock.h"
#include "config/config.h"
#include "format/names.h"
#include "mount/tree.h"
#include "mount/options.h"
#include "sync/sync_session.h"
#include "cache/sync_lock.h"
#include "cache/sync_state.h"
#include "import/importer.h"

namespace stravafs {
namespace {

constexpr const char* kProg = "mount.stravafs";
constexpr double kKernelCacheSeconds = 86400;  // names and attributes; the watcher invalidates
constexpr auto kWatchInterval = std::chrono::milliseconds(250);
constexpr size_t kReserveConnections = 2;  // idle ones kept by Connections::Take

constexpr const char* kUsageText =
    "usage: mount.stravafs [CONFIG] MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]\n"
    "\n"
    "Shows the stravafs cache at MOUNTPOINT as folders of JSON, CSV and GPX files.\n"
    "CONFIG is a stravafs.conf (default: $STRAVAFS_CONFIG, then\n"
    "$XDG_CONFIG_HOME/stravafs/stravafs.conf); the word `stravafs` means the default.\n"
    "\n"
    "  -f                  stay in the foreground\n"
    "  -d                  foreground, and print every request (debug)\n"
    "  -o allow_other      let other users in (needs user_allow_other in /etc/fuse.conf)\n"
    "  -o refresh=DURATION sync in the background this often (0: never; default [mount] refresh)\n"
    "  -o nosuid,noatime,... generic mount flags; ro/rw and fstab-only options are accepted\n"
    "\n"
    "Unmount with `fusermount3 -u MOUNTPOINT`. See mount.stravafs(8).\n";

// --- logging: stderr in the foreground, syslog once detached ---------------------

std::atomic<bool> g_syslog{false};

std::string Printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Printf(const char* fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

void Log(int priority, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void Log(int priority, const char* fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (g_syslog)
    syslog(priority, "%s", buf);
  else
    std::fprintf(stderr, "%s: %s\n", kProg, buf);
}

// --- the daemon's shared state ---------------------------------------------------

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

struct Daemon {
  std::string cache_path;
  FsMemo memo;
  fuse_session* se = nullptr;
  std::atomic<bool> stopping{false};
  // The cache file shown, and how many times it was replaced under us
  // (`mv new.db cache.db`): connections opened before are dropped (Watch).
  std::mutex file_mu;
  std::optional<FileId> file;
  std::atomic<uint64_t> generation{0};
  std::mutex mu;
  std::condition_variable wake;  // stopping

  // Sleeps up to `d`; false once the daemon is stopping.
  bool Sleep(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    wake.wait_for(lock, d, [&] { return stopping.load(); });
    return !stopping;
  }
  void Stop() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    wake.notify_all();
  }
};

Daemon* Of(fuse_req_t req) { return static_cast<Daemon*>(fuse_req_userdata(req)); }

// A new connection to the cache file the daemon shows. A file that took its
// name since is not opened before the watcher has switched to it: it may sit
// beside the old one's -wal and -shm, which SQLite would read as its own.
Result<std::unique_ptr<FsTree>> OpenTree(Daemon& d) {
  {
    std::lock_guard lock(d.file_mu);
    if (IdOf(d.cache_path) != d.file)
      return Status::Error(ErrorKind::kCache, "the cache " + d.cache_path + " was replaced or removed; see the log");
  }
  return FsTree::Open(d.cache_path, d.memo);
}

// Idle read-only connections to the cache file shown now: a handler borrows
// one for a request (Lease), an open file keeps one for its snapshot. Only
// the first requests open connections; after the cache file was replaced by
// one that cannot be shown yet (Watch), the ones open still show the old.
class Connections {
 public:
  struct Taken {
    std::unique_ptr<FsTree> tree;
    uint64_t generation = 0;
  };
  // A connection, keeping kReserveConnections more idle: a cushion for
  // when the cache file was replaced by one that cannot be shown yet and no
  // connection can be opened (Watch).
  Result<Taken> Take(Daemon& d) {
    const uint64_t generation = d.generation;
    std::unique_ptr<FsTree> taken;
    size_t idle = 0;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty() && generation_ == generation) {
        taken = std::move(idle_.back());
        idle_.pop_back();
      }
      idle = generation_ == generation ? idle_.size() : 0;
    }
    if (!taken) {
      auto t = OpenTree(d);
      if (!t.ok()) return t.status();
      taken = std::move(*t);
    }
    for (; idle < kReserveConnections; ++idle) {
      auto t = OpenTree(d);
      if (!t.ok()) break;
      Give(std::move(*t), generation);
    }
    return Taken{std::move(taken), generation};
  }
  void Give(std::unique_ptr<FsTree> t, uint64_t generation) {
    std::lock_guard lock(mu_);
    if (generation != generation_) return;  // of a replaced cache file: closed
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(t));
  }
  // The cache file was replaced: connections to the old one are closed.
  void Clear(uint64_t generation) {
    std::lock_guard lock(mu_);
    idle_.clear();
    generation_ = generation;
  }

 private:
  static constexpr size_t kMaxIdle = 16;  // 8 workers, each with a request and a snapshot
  std::mutex mu_;
  uint64_t generation_ = 0;
  std::vector<std::unique_ptr<FsTree>> idle_;
};

Connections g_connections;

// A connection borrowed for one request.
class Lease {
 public:
  Lease() = default;
  explicit Lease(Connections::Taken t) : taken_(std::move(t)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (taken_.tree) g_connections.Give(std::move(taken_.tree), taken_.generation);
  }
  explicit operator bool() const { return taken_.tree != nullptr; }
  FsTree* operator->() const { return taken_.tree.get(); }
  FsTree& operator*() const { return *taken_.tree; }
  // The connection, kept past the request (an open file's snapshot).
  Connections::Taken Release() { return std::move(taken_); }

 private:
  Connections::Taken taken_;
};

Lease Tree(fuse_req_t req) {
  auto t = g_connections.Take(*Of(req));
  if (!t.ok()) {
    Log(LOG_ERR, "%s", t.status().message().c_str());
    return Lease();
  }
  return Lease(std::move(*t));
}

// A failed query is the cache's fault, never the caller's: EIO, and a line
// in the log that says which.
void ReplyFailure(fuse_req_t req, const Status& s) {
  Log(LOG_ERR, "%s", s.message().c_str());
  fuse_reply_err(req, EIO);
}

struct stat StatOf(const NodeAttr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  switch (a.type) {
    case NodeType::kDir:
      st.st_mode = S_IFDIR | 0555;
      break;
    case NodeType::kFile:
      st.st_mode = S_IFREG | 0444;
      break;
    case NodeType::kLink:
      st.st_mode = S_IFLNK | 0777;
      break;
  }
  st.st_nlink = a.nlink;
  st.st_uid = getuid();
  st.st_gid = getgid();
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_atim.tv_sec = st.st_mtim.tv_sec = st.st_ctim.tv_sec = a.mtime;
  return st;
}

fuse_entry_param EntryOf(const NodeAttr& a) {
  fuse_entry_param e{};
  e.ino = a.ino;
  e.attr = StatOf(a);
  e.attr_timeout = kKernelCacheSeconds;
  e.entry_timeout = kKernelCacheSeconds;
  return e;
}

// --- handlers ----------------------------------------------------------------------

void OpInit(void*, fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  // by-id links are read once, then from the page cache (the watcher
  // invalidates a link whose activity moved).
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // A node's bytes never change (a new version is a new node): the kernel
  // need not compare mtimes to guess.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

// --- nodes: one per version of a file --------------------------------------------
//
// The kernel keeps a file's size and pages per node id, for as long as it
// likes. Folders and links are their inode number; a file gets a new node id
// for every version (NodeAttr::version) the kernel is told about, so pages
// cached for one version are never shown as part of another, and a
// version's pages stay cached until the version is replaced. Its st_ino
// stays the inode number (format/names.h), whatever the version.
//
// A node lives until the kernel forgets every lookup of it. getattr answers
// a node with the attributes it was made with: a file opened before a sync
// keeps its size. The watcher makes the kernel look a changed file's name up
// again, which finds the new version's node.
constexpr uint64_t kFileNodeBase = uint64_t{0xFE} << kInodeKindShift;  // no InodeKind

class Nodes {
 public:
  struct Node {
    NodeAttr attr;  // attr.ino: the inode number
    fuse_ino_t parent = 0;
    std::string name;
    uint64_t lookups = 0;
  };

  static bool IsFileNode(fuse_ino_t id) { return id >= kFileNodeBase; }

  // The node of a file at `a`'s version, made if new, counting one lookup by
  // the kernel (a lookup reply or a readdirplus entry).
  fuse_ino_t Lookup(const NodeAttr& a, fuse_ino_t parent, std::string_view name) {
    std::lock_guard lock(mu_);
    fuse_ino_t id;
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

  std::optional<NodeAttr> Attr(fuse_ino_t id) {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return std::nullopt;
    return it->second.attr;
  }

  void Forget(fuse_ino_t id, uint64_t n) {
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
  std::vector<std::pair<fuse_ino_t, std::string>> Retire() {
    std::lock_guard lock(mu_);
    current_.clear();
    std::vector<std::pair<fuse_ino_t, std::string>> names;
    names.reserve(nodes_.size());
    for (const auto& [id, n] : nodes_) names.emplace_back(n.parent, n.name);
    return names;
  }

  // Where the kernel last found inode `ino`'s newest node; nullopt if it
  // holds none (or `ino` is no file).
  std::optional<std::pair<fuse_ino_t, std::string>> NameOf(uint64_t ino) {
    std::lock_guard lock(mu_);
    auto cur = current_.find(ino);
    if (cur == current_.end()) return std::nullopt;
    const Node& n = nodes_.at(cur->second);
    return std::pair{n.parent, n.name};
  }

 private:
  static bool Same(const NodeAttr& a, const NodeAttr& b) {
    return a.version == b.version && a.size == b.size && a.mtime == b.mtime;
  }
  std::mutex mu_;
  uint64_t next_ = 0;
  std::unordered_map<fuse_ino_t, Node> nodes_;
  std::unordered_map<uint64_t, fuse_ino_t> current_;  // inode number -> its newest node
};

Nodes g_nodes;

// A file's attributes are going to the kernel as an entry: adjusted to a
// copy parked for the name (Parking, below), given the node of its version.
fuse_entry_param Entry(NodeAttr a, fuse_ino_t parent, std::string_view name);

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Lease t = Tree(req);
  if (!t) return (void)fuse_reply_err(req, EIO);
  auto a = t->Lookup(parent, name);
  if (!a.ok()) return ReplyFailure(req, a.status());
  if (!*a) return (void)fuse_reply_err(req, ENOENT);  // not cached: a new activity shows at once
  fuse_entry_param e = Entry(**a, parent, name);
  if (fuse_reply_entry(req, &e) != 0 && Nodes::IsFileNode(e.ino)) g_nodes.Forget(e.ino, 1);
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  if (Nodes::IsFileNode(ino)) g_nodes.Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i)
    if (Nodes::IsFileNode(forgets[i].ino)) g_nodes.Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (Nodes::IsFileNode(ino)) {
    auto a = g_nodes.Attr(ino);
    if (!a) return (void)fuse_reply_err(req, ENOENT);
    struct stat st = StatOf(*a);
    return (void)fuse_reply_attr(req, &st, kKernelCacheSeconds);
  }
  Lease t = Tree(req);
  if (!t) return (void)fuse_reply_err(req, EIO);
  auto a = t->GetAttr(ino);
  if (!a.ok()) return ReplyFailure(req, a.status());
  if (!*a) return (void)fuse_reply_err(req, ENOENT);
  struct stat st = StatOf(**a);
  fuse_reply_attr(req, &st, kKernelCacheSeconds);
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  Lease t = Tree(req);
  if (!t) return (void)fuse_reply_err(req, EIO);
  auto target = t->ReadLink(ino);
  if (!target.ok()) return ReplyFailure(req, target.status());
  if (!*target) return (void)fuse_reply_err(req, ENOENT);
  fuse_reply_readlink(req, (*target)->c_str());
}

// Handles of open files and folders, owned here (fi->fh is the address), so
// that whatever the kernel leaves open at unmount is freed when the daemon
// ends.
template <typename Handle>
class OpenHandles {
 public:
  uint64_t Add(std::unique_ptr<Handle> h) {
    std::lock_guard lock(mu_);
    Handle* raw = h.get();
    open_.emplace(raw, std::move(h));
    return reinterpret_cast<uint64_t>(raw);
  }
  void Remove(uint64_t fh) {
    std::unique_ptr<Handle> h;  // destroyed unlocked
    std::lock_guard lock(mu_);
    if (auto it = open_.find(reinterpret_cast<Handle*>(fh)); it != open_.end()) {
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

// A folder's entries, read at the first readdir of an open; offsets are
// indexes into it (0 ".", 1 "..", then the entries).
struct DirHandle {
  fuse_ino_t parent = kRootInode;
  std::optional<std::vector<DirEntry>> entries;
};

OpenHandles<DirHandle> g_dirs;

fuse_ino_t ParentOf(fuse_ino_t ino) {
  auto d = DecodeInode(ino);
  if (d && d->kind == InodeKind::kMonthDir) return YearDirInode(d->year());
  return kRootInode;  // the root, by-id and the years
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  fi->fh = g_dirs.Add(std::make_unique<DirHandle>(DirHandle{ParentOf(ino), std::nullopt}));
  fi->cache_readdir = 1;  // the kernel keeps the listing until the watcher invalidates it
  fi->keep_cache = 1;
  if (fuse_reply_open(req, fi) != 0) g_dirs.Remove(fi->fh);
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  auto* h = reinterpret_cast<DirHandle*>(fi->fh);
  if (!h->entries || off == 0) {
    Lease t = Tree(req);
    if (!t) return (void)fuse_reply_err(req, EIO);
    auto list = t->List(ino);
    if (!list.ok()) return ReplyFailure(req, list.status());
    if (!*list) return (void)fuse_reply_err(req, ENOENT);
    h->entries = std::move(**list);
  }
  std::vector<char> buf(size);
  size_t used = 0;
  std::vector<fuse_ino_t> made;  // file nodes in the reply
  const auto total = static_cast<off_t>(h->entries->size() + 2);
  for (off_t i = off; i < total; ++i) {
    const char* name;
    NodeAttr attr;
    bool measured = true;
    if (i < 2) {
      name = i == 0 ? "." : "..";
      attr = NodeAttr{i == 0 ? ino : h->parent, NodeType::kDir, 0, 0, 2};
    } else {
      const DirEntry& e = (*h->entries)[static_cast<size_t>(i - 2)];
      name = e.name.c_str();
      attr = e.attr;
      measured = e.measured;
    }
    size_t n;
    if (plus) {
      // Sent entries count as lookups: measure first, make the node only if it fits.
      if (fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0) > size - used) break;
      fuse_entry_param e = EntryOf(attr);
      // No node for "." and ".." (the kernel knows them), nor for an entry
      // whose size is not known yet: a lookup will measure it.
      if (i < 2 || !measured)
        e.ino = 0;
      else
        e = Entry(attr, ino, name);
      if (Nodes::IsFileNode(e.ino)) made.push_back(e.ino);
      n = fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e, i + 1);
    } else {
      struct stat st = StatOf(attr);
      n = fuse_add_direntry(req, buf.data() + used, size - used, name, &st, i + 1);
    }
    if (n > size - used) break;  // full: the kernel asks again from i
    used += n;
  }
  if (fuse_reply_buf(req, buf.data(), used) != 0)  // interrupted: the kernel counted none of them
    for (fuse_ino_t id : made) g_nodes.Forget(id, 1);
}

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDir(req, ino, size, off, fi, false);
}
void OpReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReadDir(req, ino, size, off, fi, true);
}
void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  g_dirs.Remove(fi->fh);
  fuse_reply_err(req, 0);
}

// --- files: what an open reads ----------------------------------------------------

// Every open gets its own copy of the file as the cache held it at that
// moment, and its reads are served from that copy only, so an open reads one
// whole version however a sync interleaves with it, and the pages it fills
// belong to that version's node: the kernel may keep them (keep_cache).
// The copy is a read transaction on a connection of its own
// (FsTree::BeginSnapshot) that renders what is read: a block of rows at a
// time for an activities.csv, the whole file at the first read for an
// activity's file (an open whose pages the kernel holds never renders).
// A stats/ CSV file (a view, over every activity) is rendered a row at a
// time as it is read, never held whole. athlete.json and the two charts are
// rendered at the open.
//
// The node opened says which version the kernel expects: the one it looked
// the name up as, up to kWatchInterval before the watcher says a sync
// committed. An open whose copy is another version is answered ESTALE: the
// kernel looks the name up afresh (LOOKUP_REVAL), finds the new version's
// node and opens again. The copy is parked for that retry (and any other
// open of its version within a second share it), and the fresh lookup is
// told the parked copy's version even if another sync has committed in
// between, so the retry always agrees. A name that went away reads as
// ENOENT, as after a rename on any file system.
struct FileCopy {
  uint64_t ino = 0;
  uint64_t version = 0;
  uint64_t size = 0;
  std::mutex mu;                     // reads and the first render, for every open sharing the copy
  std::string bytes;                 // rendered (all but activities.csv)
  std::unique_ptr<FsTree> snapshot;  // until rendered, or for good for an activities.csv or a stats/ CSV
  uint64_t generation = 0;           // of the cache file the snapshot reads
  std::optional<CsvIndex> csv;
  std::optional<FsTree::StatsCursor> stats;

  FileCopy() = default;
  FileCopy(const FileCopy&) = delete;
  FileCopy& operator=(const FileCopy&) = delete;
  ~FileCopy() { EndSnapshot(); }

  void EndSnapshot() {
    if (!snapshot) return;
    snapshot->EndSnapshot();
    g_connections.Give(std::move(snapshot), generation);
  }
  // An activity's file: its bytes from the snapshot, once. Called under mu.
  Status Render() {
    if (!snapshot || csv || stats) return Status::Ok();
    auto r = snapshot->Render(ino);
    EndSnapshot();
    if (!r.ok()) return r.status();
    if (*r) bytes = std::move(**r);
    return Status::Ok();
  }
};

using CopyPtr = std::shared_ptr<FileCopy>;

// An open file: the copy it reads (which a parked copy may share).
struct OpenFile {
  CopyPtr copy;
};
OpenHandles<OpenFile> g_open;

// Copies that an open found at another version than the kernel expected,
// kept a second for the open the kernel retries after ESTALE. A copy stays
// parked for that second: several readers may be retrying the same version.
class Parking {
 public:
  void Park(uint64_t ino, CopyPtr c) {
    std::lock_guard lock(mu_);
    for (auto it = parked_.begin(); it != parked_.end();) {
      std::erase_if(it->second, [](const Parked& p) { return !Fresh(p); });
      it = it->second.empty() ? parked_.erase(it) : std::next(it);
    }
    parked_[ino].push_back(Parked{std::move(c), std::chrono::steady_clock::now()});
  }
  // The version and size of the copy last parked for `ino`, if fresh.
  std::optional<std::pair<uint64_t, uint64_t>> Peek(uint64_t ino) {
    std::lock_guard lock(mu_);
    auto it = parked_.find(ino);
    if (it == parked_.end() || !Fresh(it->second.back())) return std::nullopt;
    return std::pair{it->second.back().copy->version, it->second.back().copy->size};
  }
  // A fresh copy parked for `ino` at `version`.
  CopyPtr Find(uint64_t ino, uint64_t version) {
    std::lock_guard lock(mu_);
    auto it = parked_.find(ino);
    if (it == parked_.end()) return nullptr;
    for (const Parked& p : it->second)
      if (Fresh(p) && p.copy->version == version) return p.copy;
    return nullptr;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    parked_.clear();
  }

 private:
  struct Parked {
    CopyPtr copy;
    std::chrono::steady_clock::time_point at;
  };
  static bool Fresh(const Parked& p) { return std::chrono::steady_clock::now() - p.at < std::chrono::seconds(1); }

  std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<Parked>> parked_;  // oldest first
};

Parking g_parking;

fuse_entry_param Entry(NodeAttr a, fuse_ino_t parent, std::string_view name) {
  if (a.type != NodeType::kFile) return EntryOf(a);
  if (auto p = g_parking.Peek(a.ino)) std::tie(a.version, a.size) = *p;
  fuse_entry_param e = EntryOf(a);
  e.ino = g_nodes.Lookup(a, parent, name);
  return e;
}

// A new copy of `want`'s file (inode want.ino) as the cache holds it now,
// at whatever version that is; null if it is gone.
// `t`'s connection becomes the copy's snapshot where it needs one.
Result<CopyPtr> CopyOf(Lease& t, const NodeAttr& want) {
  const uint64_t ino = want.ino;
  auto h = std::make_shared<FileCopy>();
  h->ino = ino;
  const auto stats = DecodeInode(ino);
  const bool stats_csv = FsTree::IsStatsFile(ino) && StatsCsvReader::Csv(stats->payload);
  if (ino == kAthleteJsonInode || (FsTree::IsStatsFile(ino) && !stats_csv)) {
    auto r = t->RenderVersion(ino);
    if (!r.ok()) return r.status();
    if (!*r) return CopyPtr();
    h->bytes = std::move((*r)->bytes);
    h->version = (*r)->version;
    h->size = h->bytes.size();
    return h;
  }
  Connections::Taken snap = t.Release();
  if (auto s = snap.tree->BeginSnapshot(); !s.ok()) return s;
  h->snapshot = std::move(snap.tree);
  h->generation = snap.generation;
  if (stats_csv) {
    auto version = h->snapshot->LastChange();
    if (!version.ok()) return version.status();
    h->version = static_cast<uint64_t>(*version);
    if (h->version == want.version) {
      h->size = want.size;  // the same version: the same bytes
    } else {
      auto size = h->snapshot->StatsSize(ino);
      if (!size.ok()) return size.status();
      h->size = *size;
    }
    h->stats.emplace();
    h->stats->index = stats->payload;
  } else if (FsTree::IsActivitiesCsv(ino)) {
    auto index = h->snapshot->IndexCsv(ino);
    if (!index.ok()) return index.status();
    if (!*index) return CopyPtr();
    h->csv = std::move(*index);
    h->version = h->csv->version;
    h->size = h->csv->size;
  } else {
    auto a = h->snapshot->GetAttr(ino);  // an activity's file: never memoized
    if (!a.ok()) return a.status();
    if (!*a || (*a)->type != NodeType::kFile) return CopyPtr();
    h->version = (*a)->version;
    h->size = (*a)->size;
  }
  return h;
}

void OpOpen(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) return (void)fuse_reply_err(req, EROFS);
  auto want = g_nodes.Attr(node);
  if (!want) return (void)fuse_reply_err(req, ENOENT);
  CopyPtr h = g_parking.Find(want->ino, want->version);
  if (!h) {
    Lease t = Tree(req);
    if (!t) return (void)fuse_reply_err(req, EIO);
    auto copy = CopyOf(t, *want);
    if (!copy.ok()) return ReplyFailure(req, copy.status());
    if (!*copy) return (void)fuse_reply_err(req, ENOENT);
    h = std::move(*copy);
  }
  if (h->version != want->version || h->size != want->size) {
    {
      std::lock_guard lock(h->mu);
      // An activity's file is parked rendered, holding no connection.
      if (auto s = h->Render(); !s.ok()) return ReplyFailure(req, s);
    }
    // The folder sizes we keep may be as old as the kernel's: drop them too.
    Of(req)->memo.Invalidate();
    g_parking.Park(want->ino, std::move(h));
    return (void)fuse_reply_err(req, ESTALE);
  }
  fi->keep_cache = 1;  // this node's pages can only be this version's
  fi->noflush = 1;
  fi->fh = g_open.Add(std::make_unique<OpenFile>(OpenFile{std::move(h)}));
  if (fuse_reply_open(req, fi) != 0) g_open.Remove(fi->fh);  // interrupted: no release will come
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  g_open.Remove(fi->fh);
  fuse_reply_err(req, 0);
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  // Our own reference: once the kernel has the reply, the reader may close
  // the file and its RELEASE free the OpenFile while fuse_reply_buf's
  // writev is still returning (ASan checks the buffer after the syscall).
  const CopyPtr copy = reinterpret_cast<OpenFile*>(fi->fh)->copy;
  FileCopy& h = *copy;
  std::unique_lock lock(h.mu);
  if (h.csv || h.stats) {
    auto bytes = h.csv ? h.snapshot->ReadCsv(*h.csv, static_cast<uint64_t>(off), size)
                       : h.snapshot->ReadStats(*h.stats, static_cast<uint64_t>(off), size);
    lock.unlock();
    if (!bytes.ok()) return ReplyFailure(req, bytes.status());
    fuse_reply_buf(req, bytes->data(), bytes->size());
    return;
  }
  if (auto s = h.Render(); !s.ok()) return ReplyFailure(req, s);
  lock.unlock();  // rendered: the bytes no longer change
  const auto o = static_cast<size_t>(off);
  if (o >= h.bytes.size()) return (void)fuse_reply_buf(req, nullptr, 0);
  fuse_reply_buf(req, h.bytes.data() + o, std::min(size, h.bytes.size() - o));
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st {};
  st.f_bsize = st.f_frsize = 4096;
  st.f_namemax = kMaxFileNameBytes;
  fuse_reply_statfs(req, &st);
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops ops{};
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.readlink = OpReadlink;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.readdirplus = OpReaddirplus;
  ops.releasedir = OpReleasedir;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.release = OpRelease;
  ops.statfs = OpStatfs;
  return ops;
}();

// --- the watcher ---------------------------------------------------------------------

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

// Tells the kernel to forget every name, listing and link of the cache
// `old` shows, and every file name it holds a node for.
void ForgetEverything(Daemon& d, FsTree& old) {
  for (const auto& [parent, name] : g_nodes.Retire())
    fuse_lowlevel_notify_inval_entry(d.se, parent, name.c_str(), name.size());
  std::vector<uint64_t> dirs{kRootInode};
  while (!dirs.empty()) {
    const uint64_t dir = dirs.back();
    dirs.pop_back();
    auto list = old.List(dir);
    if (list.ok() && *list) {
      for (const DirEntry& e : **list) {
        fuse_lowlevel_notify_inval_entry(d.se, dir, e.name.c_str(), e.name.size());
        if (e.attr.type == NodeType::kDir) dirs.push_back(e.attr.ino);
        if (e.attr.type == NodeType::kLink) fuse_lowlevel_notify_inval_inode(d.se, e.attr.ino, 0, 0);
      }
    }
    fuse_lowlevel_notify_inval_inode(d.se, dir, 0, 0);
  }
}

// The watcher's connection and where it is in the cache's change log.
struct Watched {
  std::unique_ptr<FsTree> tree;
  int64_t seq = 0;
  int64_t version = 0;
};

Result<Watched> StartWatching(Daemon& d) {
  auto tree = FsTree::Open(d.cache_path, d.memo);
  if (!tree.ok()) return tree.status();
  auto seq = (*tree)->LastChange();
  if (!seq.ok()) return seq.status();
  auto version = (*tree)->DataVersion();
  if (!version.ok()) return version.status();
  return Watched{std::move(*tree), *seq, *version};
}

// A file moved in under the cache's name (`mv new.db cache.db`, issue 15):
// shown from now on, if that is safe. The old file's -wal and -shm stay
// beside the name while this daemon reads the old file; SQLite would read
// them as the new file's own and show (or a writer would store) a mix of
// the two, so a new file is opened only once they are gone or it came with
// its own.
// `said` is what was last logged, so that each state is logged once.
void SwitchIfReplaced(Daemon& d, Watched& w, std::string& said) {
  const std::optional<FileId> now = IdOf(d.cache_path);
  {
    std::lock_guard lock(d.file_mu);
    if (now == d.file) return;
  }
  auto once = [&](const std::string& what) {
    if (what == said) return;
    said = what;
    Log(LOG_WARNING, "%s", what.c_str());
  };
  if (!now) return once("the cache " + d.cache_path + " was moved away or removed; still showing the file as it was");
  for (const char* side : {"-wal", "-shm"}) {
    if (HeldOpen(d.cache_path + side))
      return once(
          Printf("the cache %s was replaced, but the old one's %s%s is still beside it, and SQLite would read "
                 "it as the new file's: still showing the old cache. Move the old cache's -wal and -shm "
                 "too, to where its main file went (mv %s-wal %s-shm SOMEWHERE/)",
                 d.cache_path.c_str(), d.cache_path.c_str(), side, d.cache_path.c_str(), d.cache_path.c_str()));
  }
  Watched next;
  {
    std::lock_guard lock(d.file_mu);
    d.file = now;
    auto started = StartWatching(d);
    if (!started.ok() || IdOf(d.cache_path) != now) {
      d.file = std::nullopt;  // nothing is opened until the next file
      return once("the cache " + d.cache_path + " was replaced by a file that cannot be shown: " +
                  (started.ok() ? "it was replaced again" : started.status().message()));
    }
    next = std::move(*started);
    ++d.generation;  // every connection to the old file is dropped at its next use
  }
  g_connections.Clear(d.generation);
  g_parking.Clear();
  d.memo.Invalidate();
  ForgetEverything(d, *w.tree);
  w = std::move(next);
  said.clear();
  Log(LOG_NOTICE, "the cache %s was replaced by another file; showing that one", d.cache_path.c_str());
}

void Watch(Daemon& d) {
  auto started = StartWatching(d);
  if (!started.ok()) return Log(LOG_ERR, "not watching the cache: %s", started.status().message().c_str());
  Watched w = std::move(*started);
  std::string said;
  while (d.Sleep(kWatchInterval)) {
    SwitchIfReplaced(d, w, said);
    auto v = w.tree->DataVersion();
    if (!v.ok() || *v == w.version) continue;
    w.version = *v;
    auto inv = w.tree->ChangesSince(w.seq);
    if (!inv.ok()) {
      Log(LOG_WARNING, "reading the cache's changes: %s", inv.status().message().c_str());
      continue;
    }
    // Forget what we computed first, so the kernel's next questions get fresh answers.
    d.memo.Invalidate();
    for (const auto& [parent, name] : inv->entries)
      fuse_lowlevel_notify_inval_entry(d.se, parent, name.c_str(), name.size());
    if (auto at = g_nodes.NameOf(kAthleteJsonInode))  // the athlete's row logs no change
      fuse_lowlevel_notify_inval_entry(d.se, at->first, at->second.c_str(), at->second.size());
    for (uint64_t ino : inv->inodes) {
      // A file: its name, so that the next lookup finds its new version's
      // node (the old node's pages stay right for those who have it open).
      if (auto at = g_nodes.NameOf(ino))
        fuse_lowlevel_notify_inval_entry(d.se, at->first, at->second.c_str(), at->second.size());
      else
        fuse_lowlevel_notify_inval_inode(d.se, ino, 0, 0);  // a folder's listing, a link's target
    }
    if (inv->lost_track) Log(LOG_NOTICE, "the cache's change log was pruned past this mount; folders were refreshed");
    w.seq = inv->last_seq;
  }
}

// --- the refresher: the mount's own background sync --------------------------------

class LogProgress : public SyncProgress {
 public:
  void OnWait(int64_t ms, const std::string& reason) override {
    Log(LOG_INFO, "background sync waits %llds: %s", static_cast<long long>(ms / 1000), reason.c_str());
  }
};

// Seconds since the last successful sync; nullopt if none.
std::optional<int64_t> SinceLastSync(const std::string& cache_path) {
  auto cache = Cache::Open(cache_path, Cache::Mode::kReadOnly);
  if (!cache.ok()) return std::nullopt;
  auto state = ReadSyncState(**cache);
  if (!state.ok() || state->last_success.empty()) return std::nullopt;
  auto t = ParseIsoUtc(state->last_success);
  if (!t) return std::nullopt;
  return SystemClock().NowMs() / 1000 - *t;
}

// Imports new files from [import] folders, as `stravafs sync` does first.
void RunImport(Daemon& d, Cache& cache, const Config& config) {
  import::ImportOptions options;
  options.originals = config.import_originals;
  options.cancel = &d.stopping;
  auto zone = TimeZone::Load(config.import_timezone);
  if (!zone.ok()) return Log(LOG_WARNING, "background import: %s", zone.status().message().c_str());
  options.zone = *zone;
  const import::ImportReport r = import::RunImport(cache, config.import_folders, options, nullptr);
  for (const auto& [where, why] : r.failures) Log(LOG_WARNING, "background import: %s: %s", where.c_str(), why.c_str());
  if (!r.status.ok() && r.status.kind() != ErrorKind::kInterrupted)
    return Log(LOG_WARNING, "background import stopped: %s", r.status.message().c_str());
  if (r.files > 0)
    Log(LOG_INFO, "background import: %lld files read, %lld activities added, %lld attached, %lld failed",
        static_cast<long long>(r.files), static_cast<long long>(r.added), static_cast<long long>(r.attached),
        static_cast<long long>(r.failed));
}

void RunOneSync(Daemon& d, const Config& config) {
  auto lock = SyncLock::Acquire(config.cache_path, 0);
  if (!lock.ok()) return Log(LOG_INFO, "background sync skipped: %s", lock.status().message().c_str());
  auto cache = Cache::Open(config.cache_path, Cache::Mode::kReadWrite);
  if (!cache.ok()) return Log(LOG_ERR, "background sync: %s", cache.status().message().c_str());
  if (!config.import_folders.empty()) RunImport(d, **cache, config);
  if (config.client_id.empty()) return;  // files are the only source
  LogProgress progress;
  SyncOptions options;
  options.cancel = &d.stopping;
  SyncReport r = SyncSession(config, ClientOptions{}).Run(**cache, options, progress);
  if (!r.status.ok() && r.status.kind() != ErrorKind::kInterrupted)
    return Log(LOG_WARNING, "background sync stopped: %s", r.status.message().c_str());
  Log(LOG_INFO, "background sync: %s, %s", DescribeChanges(r).c_str(), Plural(r.requests, "request").c_str());
}

// Syncs whenever the cache is older than `every`: at once after mounting a
// stale cache, then every `every` after the last success (a sync run by cron
// or by hand counts too).
void Refresh(Daemon& d, const Config& config, std::chrono::milliseconds every) {
  const int64_t every_s = std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(every).count());
  for (;;) {
    auto age = SinceLastSync(config.cache_path);
    int64_t wait_s = age ? std::max<int64_t>(0, every_s - *age) : 0;
    if (wait_s > 0) {
      if (!d.Sleep(std::chrono::seconds(wait_s))) return;
      continue;  // someone may have synced meanwhile
    }
    RunOneSync(d, config);
    if (!d.Sleep(std::chrono::seconds(every_s))) return;  // also paces a sync that keeps failing
  }
}

// --- mounting --------------------------------------------------------------------------

// systemd's Type=notify: "READY=1" to $NOTIFY_SOCKET, if there is one.
void NotifySystemd(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || (path[0] != '/' && path[0] != '@')) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
               static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  close(fd);
}

// The errors a person can act on, found before libfuse gives its own.
Status CheckMountpoint(const std::string& mnt) {
  struct stat st {
  }, up{};
  if (stat(mnt.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return Status::Error(ErrorKind::kGeneric,
                           "mount point " + mnt + " does not exist: create it with mkdir -p " + mnt);
    if (errno == ENOTCONN)
      return Status::Error(ErrorKind::kGeneric,
                           mnt + " is a mount whose daemon died: unmount it with fusermount3 -u " + mnt);
    return Status::Error(ErrorKind::kGeneric, "mount point " + mnt + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return Status::Error(ErrorKind::kGeneric, "mount point " + mnt + " is not a directory");
  std::string parent = mnt + "/..";
  if (stat(parent.c_str(), &up) == 0 && (st.st_dev != up.st_dev || st.st_ino == up.st_ino))
    return Status::Error(ErrorKind::kGeneric,
                         mnt + " is already a mount point: unmount it first (fusermount3 -u " + mnt + ")");
  if (access("/dev/fuse", F_OK) != 0)
    return Status::Error(
        ErrorKind::kGeneric,
        "/dev/fuse is missing: load the fuse module (modprobe fuse); in a container, pass the device in");
  return Status::Ok();
}

constexpr int kExitMountFailed = 1;
constexpr int kExitUsage = 2;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", kProg, message.c_str());
  return code;
}

int Main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  auto args = ParseMountArgs(words);
  if (!args.ok())
    return Fail(kExitUsage, args.status().message() +
                                "\nusage: mount.stravafs [CONFIG] MOUNTPOINT [-f] [-d] [-o OPTIONS]; see --help");
  if (args->help) return std::fputs(kUsageText, stdout), 0;
  if (args->version) return std::printf("mount.stravafs %s\n", STRAVAFS_VERSION), 0;

  auto config = LoadConfigOrDefaults(args->config);  // a cache filled by import needs no config
  if (!config.ok()) return Fail(kExitUsage, config.status().message());
  std::error_code ec;
  config->cache_path = std::filesystem::absolute(config->cache_path, ec).string();  // we chdir("/")
  // Without a [strava] client_id the refresher can only import [import]
  // folders; with neither, the default refresh has nothing to do and is off,
  // while an explicit -o refresh= is a mistake worth saying.
  auto refresh = args->refresh.value_or(config->mount_refresh);
  if (refresh.count() > 0 && config->client_id.empty() && config->import_folders.empty()) {
    if (args->refresh)
      return Fail(kExitUsage, "refresh needs [strava] client_id or [import] folders in " + config->path +
                                  " (or mount with -o refresh=0)");
    refresh = std::chrono::milliseconds(0);
  }

  std::string mnt = std::filesystem::absolute(args->mountpoint, ec).lexically_normal().string();
  if (mnt.size() > 1 && mnt.back() == '/') mnt.pop_back();
  Daemon daemon;
  daemon.cache_path = config->cache_path;
  {  // the cache must be there and readable before anything is mounted
    daemon.file = IdOf(config->cache_path);
    FsMemo memo;
    auto tree = FsTree::Open(config->cache_path, memo);
    if (!tree.ok()) return Fail(kExitMountFailed, tree.status().message());
  }
  if (auto s = CheckMountpoint(mnt); !s.ok()) return Fail(kExitMountFailed, s.message());

  std::vector<std::string> fargs = {kProg, "-o", FuseOptionString(*args)};
  if (args->debug) fargs.emplace_back("-d");
  std::vector<char*> fargv;
  for (auto& a : fargs) fargv.push_back(a.data());
  fuse_args fa = FUSE_ARGS_INIT(static_cast<int>(fargv.size()), fargv.data());
  // fuse_session_new's option parsing copies the arguments into memory that
  // is ours to free (fuse_opt_free_args), on every way out.
  struct ArgsOwner {
    fuse_args* args;
    ~ArgsOwner() { fuse_opt_free_args(args); }
  } args_owner{&fa};
  daemon.se = fuse_session_new(&fa, &kOps, sizeof kOps, &daemon);
  if (daemon.se == nullptr) return Fail(kExitMountFailed, "cannot start a FUSE session");
  if (fuse_session_mount(daemon.se, mnt.c_str()) != 0) {
    fuse_session_destroy(daemon.se);
    return Fail(kExitMountFailed, "cannot mount at " + mnt + " (see the message above)");
  }
  // Mounted: the parent returns to the shell now; errors go to syslog.
  if (!args->foreground) {
    openlog(kProg, LOG_PID, LOG_DAEMON);
    g_syslog = true;
  }
  if (fuse_daemonize(args->foreground ? 1 : 0) != 0) {
    fuse_session_unmount(daemon.se);
    fuse_session_destroy(daemon.se);
    return Fail(kExitMountFailed, "cannot detach from the terminal");
  }
  if (fuse_set_signal_handlers(daemon.se) != 0) {
    fuse_session_unmount(daemon.se);
    fuse_session_destroy(daemon.se);
    return Fail(kExitMountFailed, "cannot install signal handlers");
  }
  Log(LOG_INFO, "mounted %s at %s", daemon.cache_path.c_str(), mnt.c_str());
  NotifySystemd("READY=1");

  std::thread watcher([&] { Watch(daemon); });
  std::thread refresher;
  if (refresh.count() > 0) refresher = std::thread([&] { Refresh(daemon, *config, refresh); });

  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 0);
  fuse_loop_cfg_set_max_threads(loop, 8);
  int rc = fuse_session_loop_mt(daemon.se, loop);
  fuse_loop_cfg_destroy(loop);

  NotifySystemd("STOPPING=1");
  daemon.Stop();
  watcher.join();
  if (refresher.joinable()) refresher.join();
  g_parking.Clear();  // what the kernel left open at unmount
  g_open.Clear();
  g_dirs.Clear();
  fuse_remove_signal_handlers(daemon.se);
  fuse_session_unmount(daemon.se);
  fuse_session_destroy(daemon.se);
  Log(LOG_INFO, "unmounted %s", mnt.c_str());
  return rc >= 0 ? 0 : kExitMountFailed;  // a signal's number, or 0 when unmounted
}

}  // namespace
}  // namespace stravafs

int main(int argc, char** argv) { return stravafs::Main(argc, argv); }
