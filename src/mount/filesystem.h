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
// Opens. Every open reads its own copy of one whole version of the file,
// however a sync interleaves with it: the file as the cache held it at the
// open, or up to one watch interval before.
// - An activity's file is looked up at the open in a read transaction that
//   opens share (FsTree::BeginSnapshot on a pooled connection): begun by an
//   open once the last one is kWatchInterval old or the watcher has polled
//   since, and ended once no copy that has not rendered holds it. So an open whose bytes
//   the kernel already has (a warm one: no read follows) costs the cache one
//   indexed row, not a transaction. The copy renders the whole file at its
//   first read, in a transaction of its own while the cache still holds its
//   version (so that opens render side by side), else in the shared one.
// - An activities.csv or a stats/ CSV holds a read transaction of its own and
//   renders what is read: a block of rows at a time, a row at a time. A stats/
//   file whose lookup kept the bytes it counted (FsMemo::TakeMeasured) at the
//   version opened takes them instead, and holds no transaction.
// - athlete.json and the charts are rendered at the open.
//
// Reading ahead. grep -r, cat and jq go through a folder in its order. A
// first read of an activity's file (a cold one) has a thread note which
// activities come next (FsTree::NextActivities); once a first read is of
// one of those (or of another file of the same activity), it renders the
// files of the next two, on the other core, while the reader reads this
// one. A reader here and there costs one index range a file. Only the kinds
// (.json, .csv, .gpx) among the last 8 files read are rendered, each
// activity's together (its samples read once). A copy takes those bytes at
// its first read when they are its version (the same rev, the same bytes);
// a render under way is waited for. At most 32 files or 4 MB wait, the
// oldest dropped first; nothing is rendered ahead of a warm read.
//
// The node opened says which version the kernel expects: the one it looked
// the name up as, up to one watch interval before the watcher says a sync
// committed. An open whose copy is another version (in a fresh transaction,
// when the shared one disagrees) fails with kStale (ESTALE): the kernel
// looks the name up afresh, finds the new version's node and opens again.
// The copy is parked for that retry for a second (other opens of its
// version share it), and the fresh lookup is told the parked copy's version
// even if another sync has committed in between, so the retry always
// agrees. A name that went away is kNotFound (ENOENT).
//
// Connections. Requests borrow read-only connections from a pool; an open
// activities.csv or stats/ CSV keeps one for its snapshot, and the shared
// snapshot one while it lasts. After the cache file was replaced (`mv
// new.db cache.db`) connections to the old file are closed at their next
// use.
//
// Thread safety: every method may be called from any thread, except Poll(),
// which one thread calls (the watcher). Handles are what OpenDir/Open
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
// How long a copy found at another version stays parked for the retry.
inline constexpr int64_t kParkMs = 1000;

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

// A read's bytes, kept alive by `owner` until the reply is sent (the file may
// be released meanwhile).
struct Bytes {
  std::shared_ptr<const void> owner;
  std::string_view data;
};

class Filesystem {
 public:
  // Fails (with the cache's message) unless `cache_path` is a cache that can
  // be shown now. `clock` times the parking; `log` gets the watcher's lines.
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

  // An open file (open(2) flags): kReadOnly for any write, kNotFound, kStale
  // (look it up again), or the handle.
  Result<uint64_t> Open(uint64_t node, int flags);
  Result<Bytes> Read(uint64_t handle, uint64_t offset, size_t size);
  void Release(uint64_t handle);

  // The watcher's step, every kWatchInterval: switches to a cache file that
  // replaced the one shown, when that is safe, and tells `notifier` what a
  // commit changed. The first call only notes where the cache's change log
  // is; call it as soon as the kernel can look names up. False when the
  // cache cannot be watched (logged): stop calling.
  bool Poll(Notifier& notifier);

  // Counts, for tests: file nodes held, copies parked, and the snapshots
  // that opens shared, begun since Open().
  size_t FileNodes() const;
  size_t Parked() const;
  size_t SharedSnapshots() const;
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
