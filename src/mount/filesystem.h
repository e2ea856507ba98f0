// The mount's file system, without a kernel: what fuse/mount_stravafs.cc asks
// for each request, and what it tells the kernel to forget when the cache
// changes. The adapter turns one FUSE request into one call here and the
// result into one reply; tests/unit/mount/filesystem_test.cc makes the same
// calls with a FakeClock and a recording Notifier.
//
// Nodes. The kernel keeps a file's size and pages per node id, for as long as
// it likes (a day: the watcher invalidates). Folders and links are their
// inode number (format/names.h); a file gets a new node for every version
// (NodeAttr::version) the kernel is told about, so pages cached for one
// version are never shown as part of another. A file node lives until the
// kernel forgets every lookup of it, and answers GetAttr with the attributes
// it was made with.
//
// Opens cost nothing. The first OPEN is answered ENOSYS (FUSE's no-open),
// after which the kernel opens and closes files by itself, keeping a node's
// pages, and sends only the READs of what it has not cached, naming the
// node. So a node's version must stay readable for as long as the kernel
// holds the node, whatever syncs commit meanwhile.
// - Anchors. The daemon holds a read transaction at all times, the current
//   anchor: the cache as the kernel was last told about it. Every version
//   a lookup or a listing gives the kernel is read there (in a pooled
//   connection's own transaction while the cache still is at the anchor's
//   state, so that requests run side by side; else on the anchor's
//   connection). The change log's newest row names a state
//   (FsTree::snapshot_seq).
// - When the watcher sees a commit, it begins the next anchor and retires
//   the old one. Each node the kernel holds of a file the commit changed is
//   pinned to the old anchor first and read there from then on; the kernel
//   is told to forget the names, and forgets a node nobody has open at once.
//   A node still held kRetainMs later (a reader has the file open) gets a
//   copy of its version's bytes, kept until the kernel forgets it, and the
//   old anchor's transaction ends.
// - A held transaction keeps SQLite from starting the -wal over. Once the
//   commits stop, the watcher copies the -wal's frames into the cache file
//   (a passive checkpoint, CheckpointWal) and begins a new anchor on the same
//   state, which reads the file alone; the next writer starts the -wal over.
//
// Reads. A node's first read fills a copy of its version: an activity's file,
// athlete.json and a stats/ file counted at its lookup whole; an
// activities.csv (a block of rows at a time) and a stats/ CSV (a row at a
// time) through a cursor in a transaction at the node's version. A copy is
// dropped once every byte was read (the kernel keeps the pages), after
// kRetainMs without a read, or (a cursor) once a commit has made its state
// an old one: the next read makes another at the current anchor. Likewise a
// listing lets go of its anchor once read to its end, and one read part way
// at an anchor that has since retired gives its remaining entries without a
// node (the kernel looks them up): a folder or a file held open never holds
// an old transaction for long.
//
// Reading ahead. grep -r, cat and jq go through a folder in its order. A
// first read of an activity's file (a cold one) has a thread note which
// activities come next (FsTree::NextActivities); once a first read is of
// one of those (or of another file of the same activity), it renders the
// files of the next two, on the other core, while the reader reads this
// one. A reader here and there costs one index range a file. Only the kinds
// (.json, .csv, .gpx) among the last 8 files read are rendered, each
// activity's together (its samples read once). A first read takes those
// bytes when they are its version (the same rev, the same bytes); a render
// under way is waited for. At most 32 files or 4 MB wait, the oldest
// dropped first; nothing is rendered ahead of a warm read.
//
// Connections. Requests borrow read-only connections from a pool; a cursor
// keeps one for its transaction. After the cache file was replaced (`mv
// new.db cache.db`) connections to the old file are closed at their next
// use; the nodes the kernel holds of it are read at its last anchor.
//
// Thread safety: every method may be called from any thread, except Poll(),
// which one thread calls (the watcher). Folder handles are what OpenDir
// returned and are used until released, as the kernel does.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "mount/tree.h"

namespace stravafs::mount {

// How often the watcher looks for commits and for a replaced cache file.
inline constexpr auto kWatchInterval = std::chrono::milliseconds(250);
// How long a retired anchor waits for the kernel to forget the nodes pinned
// to it, and how long a copy stays without a read.
inline constexpr int64_t kRetainMs = 1000;

// What the kernel must forget (fuse_lowlevel_notify_inval_entry / _inode).
// Called from Poll() only, never from a request.
class Notifier {
 public:
  virtual ~Notifier() = default;
  // The name `name` in folder `parent`: its next lookup asks again.
  virtual void ForgetName(uint64_t parent, const std::string& name) = 0;
  // A folder's listing or a link's target.
  virtual void ForgetInode(uint64_t ino) = 0;
};

enum class Severity { kError, kWarning, kNotice, kInfo };
using Logger = std::function<void(Severity, const std::string&)>;

// What the kernel is given for a name: the node id it will use (a file
// version's node; the inode number for a folder or a link; 0 for "no node",
// as for "." and ".." and an unmeasured listing entry) and the attributes.
struct Entry {
  uint64_t node = 0;
  NodeAttr attr;
};

// A read's bytes, kept alive by `owner` until the reply is sent (the node's
// copy may be dropped meanwhile).
struct Bytes {
  std::shared_ptr<const void> owner;
  std::string_view data;
};

class Filesystem {
 public:
  // Fails (with the cache's message) unless `cache_path` is a cache that can
  // be shown now. `clock` times kRetainMs; `log` gets the watcher's lines.
  // Keeps no connection open until the first request, so a daemon may fork
  // after it (an SQLite connection must not cross a fork).
  static Result<std::unique_ptr<Filesystem>> Open(const std::string& cache_path, Clock& clock, Logger log);
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // Whether `node` is a file version's node (else an inode number).
  static bool IsFileNode(uint64_t node);

  // A name in a folder; kNotFound if none. A file's entry counts one lookup
  // of its node by the kernel: Forget() gives it back.
  Result<Entry> Lookup(uint64_t parent, std::string_view name);
  void Forget(uint64_t node, uint64_t lookups);
  Result<NodeAttr> GetAttr(uint64_t node);
  Result<std::string> ReadLink(uint64_t node);

  // An open folder. ReadDir lists it at its first call (or at offset 0) and
  // gives `add` the entries from `offset` on: 0 ".", 1 "..", then the folder's,
  // each with the offset of the next; it stops when `add` returns false (the
  // reply is full). With `plus`, each entry `add` took counts one lookup of
  // its node: returned, so that a reply that fails can Forget them.
  using AddEntry = std::function<bool(const std::string& name, const Entry& entry, int64_t next)>;
  uint64_t OpenDir(uint64_t dir);
  Result<std::vector<uint64_t>> ReadDir(uint64_t handle, uint64_t dir, int64_t offset, bool plus, const AddEntry& add);
  void ReleaseDir(uint64_t handle);

  // An open(2) of a file node, the first the kernel sends: kReadOnly for any
  // write, kNotFound; Ok, which the adapter answers ENOSYS (no-open: the
  // kernel opens files by itself from then on).
  Status Open(uint64_t node, int flags);
  // The bytes of file node `node` from `offset`: its version's.
  Result<Bytes> Read(uint64_t node, uint64_t offset, size_t size);

  // The watcher's step, every kWatchInterval: switches to a cache file that
  // replaced the one shown, when that is safe, and tells `notifier` what a
  // commit changed. The first call only notes where the cache's change log
  // is; call it as soon as the kernel can look names up. False when the
  // cache cannot be watched (logged): stop calling.
  bool Poll(Notifier& notifier);

  // Counts, for tests: file nodes held; of those, pinned to a retired
  // anchor, and read from a copy kept; the anchors begun since Open().
  size_t FileNodes() const;
  size_t Pinned() const;
  size_t Kept() const;
  size_t Anchors() const;
  // Waits until nothing is being rendered ahead; the first reads it served.
  size_t Prefetched();

 private:
  class Impl;
  explicit Filesystem(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A stop flag that sleepers wake on: the watcher's and the refresher's.
class StopSignal {
 public:
  // Sleeps up to `d`; false once stopped.
  bool Sleep(std::chrono::milliseconds d);
  void Stop();
  const std::atomic<bool>& flag() const { return stopped_; }

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<bool> stopped_{false};
};

}  // namespace stravafs::mount
