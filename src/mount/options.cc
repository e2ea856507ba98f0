#include "mount/options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <array>
#include <string_view>

#include "config/config.h"

namespace stravafs {

namespace {

// Options that only mean something to mount(8), systemd or fstab readers.
bool FstabOnly(std::string_view o) {
  static constexpr std::array<std::string_view, 10> kWords = {"defaults", "noauto", "auto",  "user",    "nouser",
                                                              "users",    "owner",  "group", "_netdev", "nofail"};
  return std::find(kWords.begin(), kWords.end(), o) != kWords.end() || o.starts_with("x-") || o.starts_with("comment=");
}

// Generic mount flags the kernel applies to any filesystem.
bool KernelFlag(std::string_view o) {
  static constexpr std::array<std::string_view, 16> kWords = {
      "nosuid",   "suid",       "nodev",       "dev",           "noexec",     "exec",     "atime",    "noatime",
      "relatime", "norelatime", "strictatime", "nostrictatime", "nodiratime", "diratime", "lazytime", "nolazytime"};
  return std::find(kWords.begin(), kWords.end(), o) != kWords.end();
}

Status Usage(const std::string& what) { return Status::Error(ErrorKind::kUsage, what); }

Status ApplyOption(std::string_view o, MountArgs& out) {
  if (o.empty() || o == "ro" || o == "rw" || FstabOnly(o)) return Status::Ok();  // always read-only
  if (o == "allow_other") {
    out.allow_other = true;
  } else if (o == "debug") {
    out.debug = out.foreground = true;
  } else if (o.starts_with("refresh=")) {
    auto d = ParseDuration(o.substr(8));
    if (!d.ok()) return Usage("bad -o refresh: " + d.status().message());
    out.refresh = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  } else if (KernelFlag(o)) {
    out.kernel_options.emplace_back(o);
  } else {
    return Usage("unknown mount option '" + std::string(o) + "' (see mount.stravafs(8))");
  }
  return Status::Ok();
}

}  // namespace

Result<MountArgs> ParseMountArgs(const std::vector<std::string>& args) {
  MountArgs out;
  std::vector<std::string> operands;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out.help = true;
    } else if (a == "-V" || a == "--version") {
      out.version = true;
    } else if (a == "-o" || (a.starts_with("-o") && a.size() > 2)) {
      std::string list;
      if (a == "-o") {
        if (++i == args.size()) return Usage("-o needs a list of options");
        list = args[i];
      } else {
        list = a.substr(2);
      }
      size_t start = 0;
      for (;;) {
        size_t comma = list.find(',', start);
        std::string_view o =
            std::string_view(list).substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (auto s = ApplyOption(o, out); !s.ok()) return s;
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (a == "-N") {  // mount(8): a mount namespace; we mount where we run
      if (++i == args.size()) return Usage("-N needs a namespace");
    } else if (a.size() > 1 && a[0] == '-' && a != "--") {
      // Single-letter flags, possibly grouped (-fv): ours, and those mount(8) passes along.
      for (char c : a.substr(1)) {
        switch (c) {
          case 'f':
            out.foreground = true;
            break;
          case 'd':
            out.debug = out.foreground = true;
            break;
          case 's':
          case 'n':
          case 'v':
            break;  // sloppy, no mtab, verbose: nothing to do
          default:
            return Usage(std::string("unknown flag -") + c + " (see mount.stravafs(8))");
        }
      }
    } else {
      operands.push_back(a);
    }
  }
  if (out.help || out.version) return out;
  if (operands.empty()) return Usage("a mount point is needed: mount.stravafs [CONFIG] MOUNTPOINT");
  if (operands.size() > 2) return Usage("too many arguments: " + operands[2]);
  out.mountpoint = operands.back();
  if (operands.size() == 2 && operands[0] != "stravafs" && operands[0] != "none") out.config = operands[0];
  return out;
}

std::string FuseOptionString(const MountArgs& args) {
  std::string o = "ro,default_permissions,auto_unmount,fsname=stravafs,subtype=stravafs";
  if (args.allow_other) o += ",allow_other";
  for (const auto& k : args.kernel_options) o += "," + k;
  return o;
}

const char* const kMountUsage =
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

}  // namespace stravafs
