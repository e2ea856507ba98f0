// The command line of mount.stravafs (mount.stravafs(8)), parsed without side
// effects so every accepted and refused form is unit-tested.
//
//   mount.stravafs [CONFIG] MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]] ...
//
// mount(8) calls helpers as `mount.stravafs SPEC DIR [-sfnv] [-N NS] -o OPTS`,
// with SPEC the first field of the fstab line: a config path, or the word
// "stravafs" (or "none") for the default config. Options may come before,
// between or after the two operands.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace stravafs {

struct MountArgs {
  std::optional<std::string> config;  // nullopt: the default lookup
  std::string mountpoint;
  bool foreground = false;  // -f
  bool debug = false;       // -d: foreground, and libfuse prints every request
  bool allow_other = false;
  std::optional<std::chrono::milliseconds> refresh;  // -o refresh=; nullopt: the config's [mount] refresh
  std::vector<std::string> kernel_options;           // passed on as they are (nosuid, noatime, ...)
  bool help = false, version = false;
};

// argv without the program name. A kUsage error names the offending word.
Result<MountArgs> ParseMountArgs(const std::vector<std::string>& args);

// The -o string handed to libfuse: always read-only, private unless
// allow_other, the type shown as fuse.stravafs, and auto_unmount (a daemon
// that dies is unmounted by fusermount3 rather than leaving a dead mount).
std::string FuseOptionString(const MountArgs& args);

// What --help prints.
extern const char* const kMountUsage;

// The errors a person can act on about mount point `mnt` (missing, not a
// folder, a dead or live mount already, no /dev/fuse), found before libfuse
// gives its own.
Status CheckMountpoint(const std::string& mnt);

}  // namespace stravafs
