// mount.stravafs: the cache as a read-only folder tree (mount.stravafs(8)).
//
// libfuse glue only: each handler asks mount::Filesystem (src/mount/
// filesystem.h: nodes per file version, anchors, no-open reads), then
// replies, through Guard and ErrnoOf. Handlers never touch
// the network. Two threads run beside the loop:
//   - the watcher calls Filesystem::Poll every 250 ms and passes on what
//     the kernel must forget (the notify calls must not come from a handler);
//   - the refresher (src/mount/refresher.h) syncs every [mount] refresh.
// The kernel may cache names, attributes and bytes for a day.
#define FUSE_USE_VERSION 312
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "config/config.h"
#include "format/names.h"
#include "mount/filesystem.h"
#include "mount/options.h"
#include "mount/refresher.h"

namespace stravafs {
namespace {

constexpr const char* kProg = "mount.stravafs";
constexpr double kKernelCacheSeconds = 86400;  // names and attributes; the watcher invalidates

// --- logging: stderr in the foreground, syslog once detached ---------------------

std::atomic<bool> g_syslog{false};

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

// --- replies ---------------------------------------------------------------------------

struct Daemon {
  std::unique_ptr<mount::Filesystem> fs;
  mount::StopSignal stop;
};

mount::Filesystem& Fs(fuse_req_t req) { return *static_cast<Daemon*>(fuse_req_userdata(req))->fs; }

// The one mapping from a failure to what the kernel is told. A failed query
// is the cache's fault, never the caller's: EIO, and a line in the log that
// says which.
int ErrnoOf(const Status& s) {
  switch (s.kind()) {
    case ErrorKind::kOk:
      return 0;
    case ErrorKind::kNotFound:
      return ENOENT;
    case ErrorKind::kStale:
      return ESTALE;
    case ErrorKind::kReadOnly:
      return EROFS;
    default:
      Log(LOG_ERR, "%s", s.message().c_str());
      return EIO;
  }
}

void ReplyError(fuse_req_t req, const Status& s) { fuse_reply_err(req, ErrnoOf(s)); }

// Every handler runs its body through Guard: an exception (bad_alloc) is
// logged and answered EIO instead of unwinding into libfuse's C loop. Bodies
// reply last, so no request is answered twice. Forgets take no reply.
template <typename F>
void Guard(fuse_req_t req, F&& body, bool replies = true) noexcept {
  try {
    body();
    return;
  } catch (const std::exception& e) {
    Log(LOG_ERR, "internal error: %s", e.what());
  } catch (...) {
    Log(LOG_ERR, "internal error");
  }
  if (replies)
    fuse_reply_err(req, EIO);
  else
    fuse_reply_none(req);
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
  // Every node is the mounting user's. Asked once: two system calls per
  // entry added up in a listing of thousands (readdirplus sends each one's).
  static const uid_t uid = getuid();
  static const gid_t gid = getgid();
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  st.st_atim.tv_sec = st.st_mtim.tv_sec = st.st_ctim.tv_sec = a.mtime;
  return st;
}

// An entry for the kernel: its node id (0: none, no lookup counted) and the
// attributes, both kept a day (the watcher invalidates).
fuse_entry_param EntryOf(const mount::Entry& entry) {
  fuse_entry_param e{};
  e.ino = entry.node;
  e.attr = StatOf(entry.attr);
  e.attr_timeout = kKernelCacheSeconds;
  e.entry_timeout = kKernelCacheSeconds;
  return e;
}

// --- handlers ----------------------------------------------------------------------

// Whether the kernel opens files by itself when OPEN is answered ENOSYS.
std::atomic<bool> g_no_open{false};

void OpInit(void*, fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  // Always: in libfuse's default (auto) mode the kernel lists some folders
  // without the entries' attributes and then looks each file up, one round
  // trip more per file for a reader going through folders (2819 LOOKUPs in
  // a cold grep -r over 8249 files).
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
  // by-id links are read once, then from the page cache (the watcher
  // invalidates a link whose activity moved).
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // A node's bytes never change (a new version is a new node): the kernel
  // need not compare mtimes to guess.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  // Opens cost no round trip: OpOpen answers ENOSYS.
  if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) {
    conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
    g_no_open = true;
  }
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] {
    auto entry = Fs(req).Lookup(parent, name);
    if (!entry.ok()) return ReplyError(req, entry.status());
    fuse_entry_param e = EntryOf(*entry);
    if (fuse_reply_entry(req, &e) != 0) Fs(req).Forget(e.ino, 1);  // interrupted: not counted
  });
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Guard(
      req,
      [&] {
        Fs(req).Forget(ino, nlookup);
        fuse_reply_none(req);
      },
      false);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Guard(
      req,
      [&] {
        for (size_t i = 0; i < count; ++i) Fs(req).Forget(forgets[i].ino, forgets[i].nlookup);
        fuse_reply_none(req);
      },
      false);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Guard(req, [&] {
    auto a = Fs(req).GetAttr(ino);
    if (!a.ok()) return ReplyError(req, a.status());
    struct stat st = StatOf(*a);
    fuse_reply_attr(req, &st, kKernelCacheSeconds);
  });
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, [&] {
    auto target = Fs(req).ReadLink(ino);
    if (!target.ok()) return ReplyError(req, target.status());
    fuse_reply_readlink(req, target->c_str());
  });
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, [&] {
    fi->fh = Fs(req).OpenDir(ino);
    fi->cache_readdir = 1;  // the kernel keeps the listing until the watcher invalidates it
    fi->keep_cache = 1;
    if (fuse_reply_open(req, fi) != 0) Fs(req).ReleaseDir(fi->fh);  // interrupted: no release will come
  });
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  std::vector<char> buf(size);
  size_t used = 0;
  auto add = [&](const std::string& name, const mount::Entry& entry, int64_t next) {
    size_t n;
    if (plus) {
      fuse_entry_param e = EntryOf(entry);
      n = fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &e, next);
    } else {
      struct stat st = StatOf(entry.attr);
      n = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st, next);
    }
    if (n > size - used) return false;  // full: the kernel asks again from here
    used += n;
    return true;
  };
  auto made = Fs(req).ReadDir(fi->fh, ino, off, plus, add);
  if (!made.ok()) return ReplyError(req, made.status());
  if (fuse_reply_buf(req, buf.data(), used) != 0)  // interrupted: the kernel counted none of them
    for (uint64_t node : *made) Fs(req).Forget(node, 1);
}

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, [&] { ReadDir(req, ino, size, off, fi, false); });
}
void OpReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Guard(req, [&] { ReadDir(req, ino, size, off, fi, true); });
}
void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Guard(req, [&] {
    Fs(req).ReleaseDir(fi->fh);
    fuse_reply_err(req, 0);
  });
}

// Answered ENOSYS: FUSE's no-open. The kernel then opens and closes files by
// itself (no OPEN, FLUSH or RELEASE), keeps a node's pages, and READs name
// the node (filesystem.h). A kernel without it gets an open that holds
// nothing: READs name the node all the same.
void OpOpen(fuse_req_t req, fuse_ino_t node, fuse_file_info* fi) {
  Guard(req, [&] {
    auto s = Fs(req).Open(node, fi->flags);
    if (!s.ok()) return ReplyError(req, s);
    if (g_no_open) return (void)fuse_reply_err(req, ENOSYS);
    fi->fh = 0;
    fi->keep_cache = 1;  // this node's pages can only be this version's
    fi->noflush = 1;
    fuse_reply_open(req, fi);
  });
}

void OpRead(fuse_req_t req, fuse_ino_t node, size_t size, off_t off, fuse_file_info*) {
  Guard(req, [&] {
    auto bytes = Fs(req).Read(node, static_cast<uint64_t>(off), size);
    if (!bytes.ok()) return ReplyError(req, bytes.status());
    fuse_reply_buf(req, bytes->data.data(), bytes->data.size());  // bytes->owner holds them until sent
  });
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
  ops.statfs = OpStatfs;
  return ops;
}();

// --- the watcher and the refresher ---------------------------------------------------

// What the watcher tells the kernel to forget.
class KernelNotifier : public mount::Notifier {
 public:
  explicit KernelNotifier(fuse_session* se) : se_(se) {}
  void ForgetName(uint64_t parent, const std::string& name) override {
    fuse_lowlevel_notify_inval_entry(se_, parent, name.c_str(), name.size());
  }
  void ForgetInode(uint64_t ino) override { fuse_lowlevel_notify_inval_inode(se_, ino, 0, 0); }

 private:
  fuse_session* se_;
};

void LogLine(mount::Severity s, const std::string& line) {
  static constexpr int kPriority[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO};
  Log(kPriority[static_cast<int>(s)], "%s", line.c_str());
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

// auto_unmount after kill -9. fusermount3 waits for its socket to the daemon to
// close, then unmounts only if opening the mount point fails with ENOTCONN,
// that is, once the kernel has released the daemon's /dev/fuse file. A dead
// process's files are released last-closed first (task_work runs LIFO), and
// closed in fd order. libfuse's socket has a higher fd than /dev/fuse, so it
// went first: on a loaded machine fusermount3 then saw the mount still up (its
// open ended in ECONNABORTED) and left a dead mount behind, 2 times in 60.
// A copy of /dev/fuse above every open fd makes the device go first. Returns
// the copy, or -1 (then the race is only as rare as before).
int HoldDeviceLast(int dev) {
  int top = dev;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec))
    top = std::max(top, std::atoi(e.path().filename().c_str()));
  return fcntl(dev, F_DUPFD_CLOEXEC, top + 1);
}

constexpr int kExitMountFailed = 1;
constexpr int kExitUsage = 2;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", kProg, message.c_str());
  return code;
}

// Runs `f` when the scope ends: how Main undoes each step, in reverse, on
// every way out.
template <typename F>
class Undo {
 public:
  explicit Undo(F f) : f_(std::move(f)) {}
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;
  ~Undo() { f_(); }

 private:
  F f_;
};

// In libfuse's example order (passthrough_hp): session, signal handlers,
// mount, daemonize, loop; then unmount, handlers and session undone.
int Main(int argc, char** argv) {
  // One malloc arena for the whole daemon. glibc gives each thread that
  // allocates while another holds an arena an arena of its own (up to 8 per
  // core); the 8 workers, the watcher and the refresher spread their nodes,
  // listings and SQLite pages over ten, and what one frees another cannot
  // reuse. Measured at 100000 summaries after find, cat of every file and
  // stats/: peak RSS 71 MB with the default, 60 MB with 2 arenas, 53 MB
  // with 1 (tests/bench/README.md). Set before any thread starts. The workers spend their time in the
  // kernel and SQLite, not waiting on malloc's lock.
  mallopt(M_ARENA_MAX, 1);
  std::vector<std::string> words(argv + 1, argv + argc);
  auto args = ParseMountArgs(words);
  if (!args.ok())
    return Fail(kExitUsage, args.status().message() +
                                "\nusage: mount.stravafs [CONFIG] MOUNTPOINT [-f] [-d] [-o OPTIONS]; see --help");
  if (args->help) return std::fputs(kMountUsage, stdout), 0;
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
  Daemon daemon;  // outlives the session, whose requests use it
  auto fs = mount::Filesystem::Open(config->cache_path, SystemClock(), LogLine);
  if (!fs.ok()) return Fail(kExitMountFailed, fs.status().message());
  daemon.fs = std::move(*fs);
  if (auto s = CheckMountpoint(mnt); !s.ok()) return Fail(kExitMountFailed, s.message());

  std::vector<std::string> fargs = {kProg, "-o", FuseOptionString(*args)};
  if (args->debug) fargs.emplace_back("-d");
  std::vector<char*> fargv;
  for (auto& a : fargs) fargv.push_back(a.data());
  fuse_args fa = FUSE_ARGS_INIT(static_cast<int>(fargv.size()), fargv.data());
  // fuse_session_new's option parsing copies the arguments into memory that
  // is ours to free.
  Undo free_args([&] { fuse_opt_free_args(&fa); });
  fuse_session* se = fuse_session_new(&fa, &kOps, sizeof kOps, &daemon);
  if (se == nullptr) return Fail(kExitMountFailed, "cannot start a FUSE session");
  Undo destroy([&] { fuse_session_destroy(se); });
  if (fuse_set_signal_handlers(se) != 0) return Fail(kExitMountFailed, "cannot install signal handlers");
  Undo remove_handlers([&] { fuse_remove_signal_handlers(se); });
  if (fuse_session_mount(se, mnt.c_str()) != 0)
    return Fail(kExitMountFailed, "cannot mount at " + mnt + " (see the message above)");
  Undo unmount([&] {
    fuse_session_unmount(se);
    Log(LOG_INFO, "unmounted %s", mnt.c_str());
  });
  int device_copy = HoldDeviceLast(fuse_session_fd(se));
  Undo release_copy([&] {
    if (device_copy >= 0) close(device_copy);
  });
  // Mounted: the parent returns to the shell now; errors go to syslog.
  if (!args->foreground) {
    openlog(kProg, LOG_PID, LOG_DAEMON);
    g_syslog = true;
  }
  if (fuse_daemonize(args->foreground ? 1 : 0) != 0) return Fail(kExitMountFailed, "cannot detach from the terminal");
  Log(LOG_INFO, "mounted %s at %s", config->cache_path.c_str(), mnt.c_str());
  NotifySystemd("READY=1");

  // SIGTERM, SIGINT and SIGHUP end the loop through libfuse's handler, which
  // must interrupt the thread that waits for the loop's end: this one.
  // libfuse's workers block them; the watcher and the refresher (and what
  // they start: curl's resolver) block them too, so a signal never lands
  // on a thread whose wait it does not end.
  sigset_t ours, before;
  sigemptyset(&ours);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&ours, sig);
  pthread_sigmask(SIG_BLOCK, &ours, &before);
  std::thread watcher, refresher;
  Undo join([&] {
    daemon.stop.Stop();
    if (watcher.joinable()) watcher.join();
    if (refresher.joinable()) refresher.join();
  });
  watcher = std::thread([&] {
    KernelNotifier notifier(se);
    for (bool go = daemon.fs->Poll(notifier); go && daemon.stop.Sleep(mount::kWatchInterval);)
      go = daemon.fs->Poll(notifier);
  });
  if (refresh.count() > 0)
    refresher = std::thread([&] { mount::RunRefresher(*config, refresh, daemon.stop, LogLine); });
  pthread_sigmask(SIG_SETMASK, &before, nullptr);

  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 0);
  fuse_loop_cfg_set_max_threads(loop, 8);
  int rc = fuse_session_loop_mt(se, loop);
  fuse_loop_cfg_destroy(loop);
  NotifySystemd("STOPPING=1");
  return rc >= 0 ? 0 : kExitMountFailed;  // a signal's number, or 0 when unmounted
}

}  // namespace
}  // namespace stravafs

int main(int argc, char** argv) { return stravafs::Main(argc, argv); }
