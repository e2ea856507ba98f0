// Tests for mount/options.cc: every way mount.stravafs is called (by hand,
// by mount(8) from fstab, by the systemd unit) and every refusal.
#include "mount/options.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "fake_transport.h"

namespace stravafs {
namespace {

Result<MountArgs> Parse(std::vector<std::string> args) { return ParseMountArgs(args); }

TEST_CASE("a mount point alone uses the default config, detached", "[mount_options]") {
  auto a = Parse({"/home/alice/strava"});
  REQUIRE(a.ok());
  CHECK(a->mountpoint == "/home/alice/strava");
  CHECK_FALSE(a->config.has_value());
  CHECK_FALSE(a->foreground);
  CHECK_FALSE(a->allow_other);
  CHECK_FALSE(a->refresh.has_value());
  CHECK(FuseOptionString(*a) == "ro,default_permissions,auto_unmount,fsname=stravafs,subtype=stravafs");
}

TEST_CASE("two operands: the first is the config, except the word stravafs or none", "[mount_options]") {
  auto a = Parse({"/etc/my.conf", "/mnt/s"});
  REQUIRE(a.ok());
  CHECK(a->config == std::optional<std::string>("/etc/my.conf"));
  CHECK(a->mountpoint == "/mnt/s");
  for (const char* word : {"stravafs", "none"}) {
    auto b = Parse({word, "/mnt/s"});
    REQUIRE(b.ok());
    CHECK_FALSE(b->config.has_value());
  }
}

TEST_CASE("mount(8)'s call from an fstab line is accepted; fstab-only options are dropped", "[mount_options]") {
  auto a = Parse({"/home/alice/.config/stravafs/stravafs.conf", "/home/alice/strava", "-n", "-o",
                  "rw,noauto,user,_netdev,nofail,x-systemd.automount,x-systemd.idle-timeout=60,comment=x,"
                  "defaults,nosuid,nodev,noatime"});
  REQUIRE(a.ok());
  CHECK(a->kernel_options == std::vector<std::string>{"nosuid", "nodev", "noatime"});
  CHECK(FuseOptionString(*a) ==
        "ro,default_permissions,auto_unmount,fsname=stravafs,subtype=stravafs,nosuid,nodev,noatime");
  CHECK_FALSE(a->foreground);
}

TEST_CASE("options may come anywhere, grouped or glued", "[mount_options]") {
  auto a = Parse({"-fv", "-oallow_other", "/mnt/s", "-o", "refresh=30m"});
  REQUIRE(a.ok());
  CHECK(a->foreground);
  CHECK(a->allow_other);
  REQUIRE(a->refresh.has_value());
  CHECK(a->refresh->count() == 30 * 60 * 1000);
  CHECK(FuseOptionString(*a) == "ro,default_permissions,auto_unmount,fsname=stravafs,subtype=stravafs,allow_other");
}

TEST_CASE("-d and -o debug mean foreground with debug output", "[mount_options]") {
  for (auto args : {std::vector<std::string>{"-d", "/m"}, std::vector<std::string>{"-o", "debug", "/m"}}) {
    auto a = Parse(args);
    REQUIRE(a.ok());
    CHECK(a->debug);
    CHECK(a->foreground);
  }
}

TEST_CASE("refresh=0 turns the background sync off", "[mount_options]") {
  auto a = Parse({"/m", "-o", "refresh=0"});
  REQUIRE(a.ok());
  REQUIRE(a->refresh.has_value());
  CHECK(a->refresh->count() == 0);
}

TEST_CASE("refusals name the word at fault", "[mount_options]") {
  auto unknown = Parse({"/m", "-o", "nosuid,bogus=1"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().kind() == ErrorKind::kUsage);
  CHECK(unknown.status().message().find("unknown mount option 'bogus=1'") != std::string::npos);

  auto bad_refresh = Parse({"/m", "-o", "refresh=soon"});
  REQUIRE_FALSE(bad_refresh.ok());
  CHECK(bad_refresh.status().message().find("refresh") != std::string::npos);

  auto flag = Parse({"-x", "/m"});
  REQUIRE_FALSE(flag.ok());
  CHECK(flag.status().message().find("-x") != std::string::npos);

  CHECK_FALSE(Parse({}).ok());
  CHECK(Parse({}).status().message().find("mount point") != std::string::npos);
  auto three = Parse({"a", "b", "c"});
  REQUIRE_FALSE(three.ok());
  CHECK(three.status().message().find("c") != std::string::npos);
  CHECK_FALSE(Parse({"/m", "-o"}).ok());
}

TEST_CASE("--help and --version need no mount point", "[mount_options]") {
  auto h = Parse({"--help"});
  REQUIRE(h.ok());
  CHECK(h->help);
  auto v = Parse({"-V"});
  REQUIRE(v.ok());
  CHECK(v->version);
}

TEST_CASE("a mount point is checked before libfuse sees it", "[mount_options]") {
  testing::TempDir tmp;
  const std::string dir = tmp.path() + "/mnt", file = tmp.path() + "/file";
  auto missing = CheckMountpoint(dir);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.message() == "mount point " + dir + " does not exist: create it with mkdir -p " + dir);
  std::ofstream(file) << "x";
  CHECK(CheckMountpoint(file).message() == "mount point " + file + " is not a directory");
  auto proc = CheckMountpoint("/proc");  // a mount of its own
  REQUIRE_FALSE(proc.ok());
  CHECK(proc.message().find("/proc is already a mount point: unmount it first") != std::string::npos);
  REQUIRE(std::filesystem::create_directory(dir));
  CHECK(CheckMountpoint(dir).ok() == (access("/dev/fuse", F_OK) == 0));
}

}  // namespace
}  // namespace stravafs
