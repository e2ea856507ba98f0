// Tests for config.cc: every key's default and parsing, durations, every error
// message (exact text), the secret's resolution and permission checks with
// real files, XDG discovery, and the example conf/stravafs.conf.
#include "config/config.h"

#include <ini.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <list>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace stravafs {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A config path that does not exist: ParseConfig only uses it for messages
// and for resolving relative paths (check_perms is false with it).
const std::string kPath = "/etc/stravafs-test/stravafs.conf";
const std::vector<std::string> kAllStreams{"time",  "distance",        "latlng", "altitude", "heartrate",   "cadence",
                                           "watts", "velocity_smooth", "temp",   "moving",   "grade_smooth"};

// Sets (or, with nullptr, unsets) an environment variable for its lifetime.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    Set(value);
  }
  ~ScopedEnv() { Set(old_ ? old_->c_str() : nullptr); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void Set(const char* value) {
    if (value)
      setenv(name_.c_str(), value, 1);
    else
      unsetenv(name_.c_str());
  }
  std::string name_;
  std::optional<std::string> old_;
};

// A fresh directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "stravafs-config-test.XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to `name` (directories created) with `mode`; returns the path.
  std::string Write(const std::string& name, const std::string& text, mode_t mode) const {
    const fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    REQUIRE(chmod(file.c_str(), mode) == 0);
    return file.string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// Every test starts from a known environment: HOME set, no XDG variables, no
// secret in the environment. Everything is restored afterwards.
struct CleanEnv {
  std::list<ScopedEnv> env;
  CleanEnv() {
    env.emplace_back("HOME", "/home/tester");
    for (const char* name :
         {"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "STRAVAFS_CONFIG", "STRAVA_CLIENT_SECRET"})
      env.emplace_back(name, nullptr);
  }
};

Config Parse(const std::string& text) {
  Result<Config> config = ParseConfig(text, kPath, /*check_perms=*/false);
  INFO(config.status().message());
  REQUIRE(config.ok());
  return std::move(config).value();
}

std::string ErrorOf(const std::string& text, const std::string& path = kPath, bool check_perms = false) {
  Result<Config> config = ParseConfig(text, path, check_perms);
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().kind() == ErrorKind::kConfig);
  return config.status().message();
}

std::string DurationError(std::string_view text) {
  Result<Millis> d = ParseDuration(text);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().kind() == ErrorKind::kConfig);
  return d.status().message();
}

// A file of the source tree, e.g. "conf/stravafs.conf". Meson compiles with
// paths relative to the build root, so a relative __FILE__ is tried from the
// working directory and from the test binary's ancestors (it sits in
// BUILD/tests/unit).
std::string SourcePath(const std::string& name) {
  const fs::path relative = fs::path(__FILE__).parent_path() / "../../.." / name;
  std::vector<fs::path> candidates{relative};
  if (relative.is_relative()) {
    fs::path dir = fs::read_symlink("/proc/self/exe").parent_path();
    for (int i = 0; i < 4; ++i, dir = dir.parent_path()) candidates.push_back(dir / relative);
  }
  for (const fs::path& candidate : candidates)
    if (fs::exists(candidate)) return candidate.lexically_normal().string();
  FAIL("cannot find " << name << " from " << __FILE__);
  return {};
}

std::string ExampleConfigPath() { return SourcePath("conf/stravafs.conf"); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// ---------------------------------------------------------------- durations

TEST_CASE("ParseDuration reads each unit", "[config][duration]") {
  CHECK(ParseDuration("250ms").value() == milliseconds(250));
  CHECK(ParseDuration("30s").value() == seconds(30));
  CHECK(ParseDuration("15m").value() == minutes(15));
  CHECK(ParseDuration("6h").value() == hours(6));
  CHECK(ParseDuration("7d").value() == hours(7 * 24));
  CHECK(ParseDuration("0").value() == milliseconds(0));
  CHECK(ParseDuration("0s").value() == milliseconds(0));
  CHECK(ParseDuration("0d").value() == milliseconds(0));
}

TEST_CASE("ParseDuration reads compound and fractional forms", "[config][duration]") {
  CHECK(ParseDuration("1h30m").value() == minutes(90));
  CHECK(ParseDuration("1d12h").value() == hours(36));
  CHECK(ParseDuration("2.5s").value() == milliseconds(2500));
  CHECK(ParseDuration("0.1s").value() == milliseconds(100));
  CHECK(ParseDuration("1.5h").value() == minutes(90));
  CHECK(ParseDuration(".5s").value() == milliseconds(500));
  CHECK(ParseDuration("1h250ms").value() == milliseconds(3'600'250));
  CHECK(ParseDuration("5ms").value() == milliseconds(5));  // not 5 minutes and an "s"
}

TEST_CASE("ParseDuration never guesses a unit", "[config][duration]") {
  CHECK(DurationError("30") == "not a duration: the unit is missing (use e.g. 30s, 30m, 30h or 30d)");
  CHECK(DurationError("1.5") == "not a duration: the unit is missing (use e.g. 1.5s, 1.5m, 1.5h or 1.5d)");
  CHECK(DurationError("00") == "not a duration: the unit is missing (use e.g. 00s, 00m, 00h or 00d)");
}

TEST_CASE("ParseDuration rejects garbage", "[config][duration]") {
  const std::string kNot = "not a duration (use e.g. 30s, 15m, 6h, 7d)";
  for (const char* text : {"", "7 days", "7 d", "7D", "7days", "s", "-5s", "+5s", "5x", "1h30", "1..5s", "1.s", "5 s",
                           " 5s", "1w", "1y", "5sec", "forever", "1e3s"}) {
    INFO('"' << text << '"');
    CHECK(DurationError(text) == kNot);
  }
  CHECK(DurationError("1.5ms") == "not a duration: finer than a millisecond");
  CHECK(DurationError("9999999999999d") == "not a duration: out of range");
  CHECK(DurationError("999999999999d999999999999d") == "not a duration: out of range");
  // [bug] Issue 15: 200000d overflowed the clocks' nanoseconds downstream.
  CHECK(ParseDuration("36500d").value() == kMaxDuration);
  CHECK(DurationError("36500d1ms") == "not a duration: longer than 36500d (100 years)");
  CHECK(DurationError("200000d") == "not a duration: longer than 36500d (100 years)");
  CHECK(DurationError("99999999999d") == "not a duration: longer than 36500d (100 years)");
}

TEST_CASE("FormatDuration renders compactly", "[config][duration]") {
  CHECK(FormatDuration(hours(7 * 24)) == "7d");
  CHECK(FormatDuration(minutes(15)) == "15m");
  CHECK(FormatDuration(minutes(90)) == "1h30m");
  CHECK(FormatDuration(milliseconds(2500)) == "2.5s");
  CHECK(FormatDuration(milliseconds(1250)) == "1.25s");
  CHECK(FormatDuration(milliseconds(1001)) == "1.001s");
  CHECK(FormatDuration(milliseconds(250)) == "250ms");
  CHECK(FormatDuration(milliseconds(0)) == "0s");
  CHECK(FormatDuration(seconds(30)) == "30s");
  CHECK(FormatDuration(seconds(90)) == "1m30s");
  CHECK(FormatDuration(hours(36)) == "1d12h");
  CHECK(FormatDuration(hours(24) + seconds(1)) == "1d1s");
  CHECK(FormatDuration(hours(1) + milliseconds(250)) == "1h250ms");
  CHECK(FormatDuration(minutes(1) + milliseconds(2500)) == "1m2.5s");
  CHECK(FormatDuration(seconds(-5)) == "-5s");
}

TEST_CASE("FormatDuration output reads back", "[config][duration]") {
  for (long long ms :
       {1LL, 250LL, 999LL, 1000LL, 1001LL, 2500LL, 61'000LL, 5'400'000LL, 86'400'000LL, 90'061'001LL, 604'800'000LL}) {
    INFO(ms);
    CHECK(ParseDuration(FormatDuration(milliseconds(ms))).value() == milliseconds(ms));
  }
}

// ---------------------------------------------------------------- defaults

TEST_CASE_METHOD(CleanEnv, "An empty file gives every default", "[config]") {
  const Config c = Parse("");
  CHECK(c.path == kPath);
  CHECK(c.client_id == "");
  CHECK(c.client_secret == "");
  CHECK(c.base_url == "https://www.strava.com");
  CHECK(c.scope == "read,activity:read_all,profile:read_all");
  CHECK(c.timeout == seconds(30));
  CHECK(c.cache_path == "/home/tester/.local/share/stravafs/cache.db");
  CHECK(c.state_dir == "/home/tester/.local/state/stravafs");
  CHECK(c.lookback == hours(7 * 24));
  CHECK(c.details == true);
  CHECK(c.streams == kAllStreams);
  CHECK(c.budget == 0.8);
  CHECK(c.max_age == minutes(15));
  CHECK(c.mount_refresh == minutes(15));
  CHECK(c.rate_window == minutes(15));
  CHECK(c.rate_day == hours(24));
  CHECK(c.retry_base == seconds(1));
}

TEST_CASE_METHOD(CleanEnv, "Empty sections and comments change nothing", "[config]") {
  const Config c = Parse("; comment\n# another\n\n[strava]\n[cache]\n[sync]\n[mount]\n[testing]\n");
  CHECK(c.base_url == "https://www.strava.com");
  CHECK(c.lookback == hours(7 * 24));
  CHECK(c.streams == kAllStreams);
}

// ---------------------------------------------------------------- every key

TEST_CASE_METHOD(CleanEnv, "Every key is read", "[config]") {
  const Config c = Parse(R"([strava]
client_id = 12345
client_secret = abc123
base_url = http://127.0.0.1:8080
scope = read,activity:read
timeout = 5s

[cache]
path = /var/tmp/strava.db

[sync]
lookback = 2d
details = no
streams = time, heartrate ,latlng
budget = 50%
max_age = 1h

[mount]
refresh = 0

[testing]
rate_window = 2s
rate_day = 20s
retry_base = 10ms
)");
  CHECK(c.client_id == "12345");
  CHECK(c.client_secret == "abc123");
  CHECK(c.base_url == "http://127.0.0.1:8080");
  CHECK(c.scope == "read,activity:read");
  CHECK(c.timeout == seconds(5));
  CHECK(c.cache_path == "/var/tmp/strava.db");
  CHECK(c.lookback == hours(48));
  CHECK(c.details == false);
  CHECK(c.streams == std::vector<std::string>{"time", "heartrate", "latlng"});
  CHECK(c.budget == 0.5);
  CHECK(c.max_age == hours(1));
  CHECK(c.mount_refresh == milliseconds(0));
  CHECK(c.rate_window == seconds(2));
  CHECK(c.rate_day == seconds(20));
  CHECK(c.retry_base == milliseconds(10));
}

TEST_CASE_METHOD(CleanEnv, "Durations in every duration key", "[config][duration]") {
  CHECK(Parse("[strava]\ntimeout = 250ms").timeout == milliseconds(250));
  CHECK(Parse("[sync]\nlookback = 0").lookback == milliseconds(0));
  CHECK(Parse("[sync]\nlookback = 6h").lookback == hours(6));
  CHECK(Parse("[sync]\nmax_age = 0").max_age == milliseconds(0));
  CHECK(Parse("[sync]\nmax_age = 30s").max_age == seconds(30));
  CHECK(Parse("[mount]\nrefresh = 1h30m").mount_refresh == minutes(90));
  CHECK(Parse("[testing]\nrate_window = 1m").rate_window == minutes(1));
  CHECK(Parse("[testing]\nrate_day = 1d").rate_day == hours(24));
  CHECK(Parse("[testing]\nretry_base = 2.5s").retry_base == milliseconds(2500));
}

TEST_CASE_METHOD(CleanEnv, "Paths: $VARIABLES are refused, a plain $ is a character", "[config][bug]") {
  // Issue 15: path = $HOME/x.db silently became <config folder>/$HOME/x.db.
  const std::string kNo =
      "environment variables are not expanded in paths; write ~/ for your home folder, or the "
      "path in full";
  CHECK(ErrorOf("[cache]\npath = $HOME/x.db") == kPath + ":2: [cache] path = \"$HOME/x.db\": " + kNo);
  CHECK(ErrorOf("[cache]\npath = /data/${USER}/x.db") == kPath + ":2: [cache] path = \"/data/${USER}/x.db\": " + kNo);
  CHECK(ErrorOf("[import]\nfolders = /a, $XDG_DATA_HOME/b") ==
        kPath + ":2: [import] folders = \"/a, $XDG_DATA_HOME/b\": " + kNo);
  CHECK(ErrorOf("[strava]\nclient_secret_file = $HOME/secret") ==
        kPath + ":2: [strava] client_secret_file = \"$HOME/secret\": " + kNo);
  CHECK(Parse("[cache]\npath = /data/price$/x.db").cache_path == "/data/price$/x.db");
  CHECK(Parse("[cache]\npath = /data/a$1/x.db").cache_path == "/data/a$1/x.db");
}

TEST_CASE_METHOD(CleanEnv, "[testing] max_reply: bytes, 1 to 2^40", "[config]") {
  CHECK(Parse("").max_reply == size_t{128} << 20);
  CHECK(Parse("[testing]\nmax_reply = 1048576").max_reply == 1048576);
  for (const char* bad : {"0", "-1", "1MB", "1e6", "", "1099511627777"}) {
    INFO(bad);
    CHECK(ErrorOf(std::string("[testing]\nmax_reply = ") + bad) ==
          kPath + ":2: [testing] max_reply = \"" + bad + "\": not a size in bytes (a whole number from 1 to 2^40)");
  }
}

TEST_CASE_METHOD(CleanEnv, "Durations that must be positive reject 0", "[config][duration]") {
  CHECK(ErrorOf("[strava]\ntimeout = 0") == kPath + ":2: [strava] timeout = \"0\": must be longer than 0");
  CHECK(ErrorOf("[testing]\nrate_window = 0s") == kPath + ":2: [testing] rate_window = \"0s\": must be longer than 0");
  CHECK(ErrorOf("[testing]\nrate_day = 0") == kPath + ":2: [testing] rate_day = \"0\": must be longer than 0");
  CHECK(ErrorOf("[testing]\nretry_base = 0") == kPath + ":2: [testing] retry_base = \"0\": must be longer than 0");
}

TEST_CASE_METHOD(CleanEnv, "Bad durations name file, line, key and the accepted forms", "[config][duration]") {
  CHECK(ErrorOf("[sync]\n\nlookback = 7 days\n") ==
        kPath + ":3: [sync] lookback = \"7 days\": not a duration (use e.g. 30s, 15m, 6h, 7d)");
  CHECK(ErrorOf("[sync]\nmax_age = 15\n") == kPath +
                                                 ":2: [sync] max_age = \"15\": not a duration: the unit is missing "
                                                 "(use e.g. 15s, 15m, 15h or 15d)");
  CHECK(ErrorOf("[mount]\nrefresh =\n") ==
        kPath + ":2: [mount] refresh = \"\": not a duration (use e.g. 30s, 15m, 6h, 7d)");
  CHECK(ErrorOf("[strava]\ntimeout = 30 s\n") ==
        kPath + ":2: [strava] timeout = \"30 s\": not a duration (use e.g. 30s, 15m, 6h, 7d)");
}

TEST_CASE_METHOD(CleanEnv, "details accepts the usual yes/no spellings", "[config]") {
  for (const char* yes : {"yes", "true", "on", "1", "Yes", "TRUE", "On"}) {
    INFO(yes);
    CHECK(Parse(std::string("[sync]\ndetails = ") + yes).details == true);
  }
  for (const char* no : {"no", "false", "off", "0", "No", "FALSE", "OFF"}) {
    INFO(no);
    CHECK(Parse(std::string("[sync]\ndetails = ") + no).details == false);
  }
  CHECK(ErrorOf("[sync]\ndetails = maybe") == kPath +
                                                  ":2: [sync] details = \"maybe\": not a yes/no value "
                                                  "(use yes, no, true, false, on, off, 1 or 0)");
  CHECK(ErrorOf("[sync]\ndetails =") == kPath +
                                            ":2: [sync] details = \"\": not a yes/no value "
                                            "(use yes, no, true, false, on, off, 1 or 0)");
}

TEST_CASE_METHOD(CleanEnv, "streams", "[config]") {
  SECTION("an empty value means no streams") {
    CHECK(Parse("[sync]\nstreams =").streams.empty());
    CHECK(Parse("[sync]\nstreams =   ; none").streams.empty());
  }
  SECTION("each known type, in the order written, whitespace trimmed") {
    CHECK(Parse("[sync]\nstreams=grade_smooth,moving,temp,watts,cadence,heartrate,"
                "velocity_smooth,altitude,latlng,distance,time")
              .streams == std::vector<std::string>{"grade_smooth", "moving", "temp", "watts", "cadence", "heartrate",
                                                   "velocity_smooth", "altitude", "latlng", "distance", "time"});
    CHECK(Parse("[sync]\nstreams =  watts\t,  temp  ").streams == std::vector<std::string>{"watts", "temp"});
  }
  SECTION("a misspelt type gets a suggestion") {
    CHECK(ErrorOf("[sync]\nstreams = time,hartrate") ==
          kPath +
              ":2: [sync] streams = \"time,hartrate\": unknown stream type \"hartrate\": "
              "did you mean heartrate?");
  }
  SECTION("an unknown type lists the known ones") {
    CHECK(ErrorOf("[sync]\nstreams = power") ==
          kPath +
              ":2: [sync] streams = \"power\": unknown stream type \"power\" (known: time, "
              "distance, latlng, altitude, velocity_smooth, heartrate, cadence, watts, temp, "
              "moving, grade_smooth)");
  }
  SECTION("empty items and repeats are errors") {
    CHECK(ErrorOf("[sync]\nstreams = time,,distance") ==
          kPath +
              ":2: [sync] streams = \"time,,distance\": empty stream name "
              "(separate names with single commas)");
    CHECK(ErrorOf("[sync]\nstreams = time,") == kPath +
                                                    ":2: [sync] streams = \"time,\": empty stream name "
                                                    "(separate names with single commas)");
    CHECK(ErrorOf("[sync]\nstreams = time, watts, time") ==
          kPath + ":2: [sync] streams = \"time, watts, time\": stream type \"time\" is listed twice");
  }
}

TEST_CASE_METHOD(CleanEnv, "budget as a percentage or a fraction", "[config]") {
  CHECK(Parse("[sync]\nbudget = 80%").budget == 0.8);
  CHECK(Parse("[sync]\nbudget = 0.8").budget == 0.8);
  CHECK(Parse("[sync]\nbudget = 100%").budget == 1.0);
  CHECK(Parse("[sync]\nbudget = 1").budget == 1.0);
  CHECK(Parse("[sync]\nbudget = 50.5%").budget == 0.505);
  CHECK(Parse("[sync]\nbudget = 0.01").budget == 0.01);
  CHECK(Parse("[sync]\nbudget = 1%").budget == 0.01);

  const std::string kRange = "out of range (more than 0%, at most 100%; e.g. 80% or 0.8)";
  const std::string kNot = "not a budget (use a percentage such as 80% or a fraction such as 0.8)";
  for (const char* bad : {"0", "0%", "120%", "1.5", "-5%", "-0.5", "100.1%"}) {
    INFO(bad);
    CHECK(ErrorOf(std::string("[sync]\nbudget = ") + bad) == kPath + ":2: [sync] budget = \"" + bad + "\": " + kRange);
  }
  for (const char* bad : {"", "%", "eighty", "80 %", "80%%", "0,8", "nan", "inf", "1e"}) {
    INFO(bad);
    CHECK(ErrorOf(std::string("[sync]\nbudget = ") + bad) == kPath + ":2: [sync] budget = \"" + bad + "\": " + kNot);
  }
}

TEST_CASE_METHOD(CleanEnv, "client_id must be digits; empty means not set", "[config]") {
  CHECK(Parse("[strava]\nclient_id = 007").client_id == "007");
  CHECK(Parse("[strava]\nclient_id =").client_id == "");
  CHECK(ErrorOf("[strava]\nclient_id = 12a45") == kPath +
                                                      ":2: [strava] client_id = \"12a45\": not a client id "
                                                      "(digits only; see https://www.strava.com/settings/api)");
  CHECK(ErrorOf("[strava]\nclient_id = -1") == kPath +
                                                   ":2: [strava] client_id = \"-1\": not a client id "
                                                   "(digits only; see https://www.strava.com/settings/api)");
}

TEST_CASE_METHOD(CleanEnv, "base_url needs a scheme and loses trailing slashes", "[config]") {
  CHECK(Parse("[strava]\nbase_url = https://www.strava.com/").base_url == "https://www.strava.com");
  CHECK(Parse("[strava]\nbase_url = http://127.0.0.1:8080///").base_url == "http://127.0.0.1:8080");
  CHECK(Parse("[strava]\nbase_url = http://localhost:1/prefix/").base_url == "http://localhost:1/prefix");
  const std::string kNot = "not a URL (use https://HOST or http://HOST:PORT)";
  for (const char* bad : {"www.strava.com", "ftp://host", "https://", "http:///", "", "HTTPS://x"}) {
    INFO(bad);
    CHECK(ErrorOf(std::string("[strava]\nbase_url = ") + bad) ==
          kPath + ":2: [strava] base_url = \"" + bad + "\": " + kNot);
  }
}

TEST_CASE_METHOD(CleanEnv, "base_url: plain http only to this machine, never a user name", "[config][bug]") {
  // Issue 15: http:// to any host sent the tokens and the client secret
  // unencrypted; https://www.strava.com@evil.example goes to evil.example.
  for (const char* ok : {"http://localhost", "http://localhost:8080", "http://127.0.0.1:1/x", "http://127.1.2.3",
                         "http://[::1]:9", "https://www.strava.com", "https://10.0.0.1:8443/strava"}) {
    INFO(ok);
    CHECK(Parse(std::string("[strava]\nbase_url = ") + ok).base_url == ok);
  }
  const std::string kPlain =
      "http:// would send the tokens and the client secret unencrypted: use https://, or http:// only to this "
      "machine (localhost, 127.0.0.1, [::1])";
  for (const char* bad : {"http://evil.example", "http://10.0.0.1:8080", "http://127.0.0.1.evil.example",
                          "http://localhost.evil.example", "http://[::2]", "http://[::1]x", "http://127.0.0"}) {
    INFO(bad);
    CHECK(ErrorOf(std::string("[strava]\nbase_url = ") + bad) ==
          kPath + ":2: [strava] base_url = \"" + bad + "\": " + kPlain);
  }
  const std::string kUser =
      "a URL with a user name or password (the part before @) is refused: it is easily misread, and the host is "
      "what follows the @";
  for (const char* bad :
       {"https://www.strava.com@evil.example", "https://user:pw@www.strava.com", "http://127.0.0.1@evil.example"}) {
    INFO(bad);
    CHECK(ErrorOf(std::string("[strava]\nbase_url = ") + bad) ==
          kPath + ":2: [strava] base_url = \"" + bad + "\": " + kUser);
  }
  CHECK(ErrorOf("[strava]\nbase_url = https://www.strava.com?x=1") ==
        kPath +
            ":2: [strava] base_url = \"https://www.strava.com?x=1\": not a URL (use https://HOST or http://HOST:PORT)");
}

TEST_CASE_METHOD(CleanEnv, "scope is a comma separated list without spaces", "[config]") {
  CHECK(Parse("[strava]\nscope = read").scope == "read");
  const std::string kNot =
      "not a scope list (comma separated, no spaces, e.g. "
      "read,activity:read_all,profile:read_all)";
  CHECK(ErrorOf("[strava]\nscope = read, activity:read_all") ==
        kPath + ":2: [strava] scope = \"read, activity:read_all\": " + kNot);
  CHECK(ErrorOf("[strava]\nscope =") == kPath + ":2: [strava] scope = \"\": " + kNot);
}

TEST_CASE_METHOD(CleanEnv, "cache path: ~ expanded, relative to the config file", "[config]") {
  CHECK(Parse("[cache]\npath = ~/strava/cache.db").cache_path == "/home/tester/strava/cache.db");
  CHECK(Parse("[cache]\npath = /srv/strava.db").cache_path == "/srv/strava.db");
  CHECK(Parse("[cache]\npath = cache.db").cache_path == "/etc/stravafs-test/cache.db");
  CHECK(Parse("[cache]\npath = ../data/./cache.db").cache_path == "/etc/data/cache.db");
  CHECK(ErrorOf("[cache]\npath =") == kPath + ":2: [cache] path = \"\": empty (give the path of the cache database)");
}

// ---------------------------------------------------------------- syntax

TEST_CASE_METHOD(CleanEnv, "Inline ; comments, indentation, CRLF and a BOM", "[config]") {
  const Config c = Parse(
      "\xEF\xBB\xBF[sync] ; the sync section\r\n"
      "  lookback = 2d ; indented, with a comment\r\n"
      "\tdetails = off\t;tab before the comment\r\n"
      "    ; an indented comment\r\n");
  CHECK(c.lookback == hours(48));
  CHECK(c.details == false);
  // inih would read an indented line as the continuation of the previous
  // value; the reader prevents that, so details above is a key of its own.
  // A ";" without whitespace before it is part of the value.
  CHECK(ErrorOf("[sync]\nbudget = 50%;x") == kPath +
                                                 ":2: [sync] budget = \"50%;x\": not a budget "
                                                 "(use a percentage such as 80% or a fraction such as 0.8)");
}

TEST_CASE_METHOD(CleanEnv, "Long comment lines are fine, long settings are not", "[config]") {
  const std::string long_comment(500, 'x');
  CHECK(Parse("; " + long_comment + "\n[sync]\nlookback = 1d ; " + long_comment + "\n").lookback == hours(24));
  CHECK(ErrorOf("[cache]\npath = /" + std::string(300, 'a') + "\n[sync]\nlookbak = 1d") ==
        kPath + ":2: line too long (at most " + std::to_string(INI_MAX_LINE - 2) + " characters before comments)");
  CHECK(INI_MAX_LINE - 2 == 198);  // as stravafs.conf(5) says, with Debian's inih
}

TEST_CASE_METHOD(CleanEnv, "Unknown keys are errors with a suggestion", "[config]") {
  CHECK(ErrorOf("[sync]\nlookbak = 7d") == kPath + ":2: unknown key \"lookbak\" in [sync]: did you mean lookback?");
  CHECK(ErrorOf("[strava]\nclient_secrets_file = x") ==
        kPath +
            ":2: unknown key \"client_secrets_file\" in [strava]: did you mean "
            "client_secret_file?");
  CHECK(ErrorOf("[mount]\nrefesh = 1h") == kPath + ":2: unknown key \"refesh\" in [mount]: did you mean refresh?");
  CHECK(ErrorOf("[cache]\npth = x") == kPath + ":2: unknown key \"pth\" in [cache]: did you mean path?");
}

TEST_CASE_METHOD(CleanEnv, "A key in the wrong section says where it belongs", "[config]") {
  CHECK(ErrorOf("[sync]\nrefresh = 1h") == kPath + ":2: unknown key \"refresh\" in [sync]: it belongs in [mount]");
  CHECK(ErrorOf("[cache]\nclient_id = 1") ==
        kPath + ":2: unknown key \"client_id\" in [cache]: it belongs in [strava]");
}

TEST_CASE_METHOD(CleanEnv, "An unknown key far from any lists the known ones", "[config]") {
  CHECK(ErrorOf("[sync]\nfoo = 1") == kPath +
                                          ":2: unknown key \"foo\" in [sync] (known keys: lookback, details, streams, "
                                          "budget, max_age)");
  CHECK(ErrorOf("[testing]\nwhatever = 1") ==
        kPath +
            ":2: unknown key \"whatever\" in [testing] (known keys: rate_window, rate_day, "
            "retry_base, max_reply)");
  CHECK(ErrorOf("[sync]\nLookback = 1d") == kPath + ":2: unknown key \"Lookback\" in [sync]: did you mean lookback?");
}

TEST_CASE_METHOD(CleanEnv, "Unknown sections are errors, even empty ones", "[config]") {
  CHECK(ErrorOf("[snyc]\nlookback = 7d") == kPath + ":1: unknown section [snyc]: did you mean [sync]?");
  CHECK(ErrorOf("[sync]\n\n[mnt]\n") == kPath + ":3: unknown section [mnt]: did you mean [mount]?");
  CHECK(ErrorOf("[general]\nx = 1") == kPath +
                                           ":1: unknown section [general] (known sections: [strava], [cache], [sync], "
                                           "[mount], [import], [testing])");
}

TEST_CASE_METHOD(CleanEnv, "Keys before any section", "[config]") {
  CHECK(ErrorOf("client_id = 1\n[strava]") ==
        kPath + ":1: key \"client_id\" is outside any section (put it under [strava])");
  CHECK(ErrorOf("\nfoo = 1") == kPath + ":2: key \"foo\" is outside any section");
}

TEST_CASE_METHOD(CleanEnv, "Duplicate keys are errors", "[config]") {
  CHECK(ErrorOf("[sync]\nlookback = 7d\nlookback = 1d") ==
        kPath + ":3: duplicate key \"lookback\" in [sync] (first set on line 2)");
  // A repeated section header is allowed, a key set in both is not.
  CHECK(Parse("[sync]\nlookback = 1d\n[mount]\n[sync]\ndetails = no").details == false);
  CHECK(ErrorOf("[sync]\nlookback = 7d\n[mount]\n[sync]\nlookback = 1d") ==
        kPath + ":5: duplicate key \"lookback\" in [sync] (first set on line 2)");
}

TEST_CASE_METHOD(CleanEnv, "inih syntax errors name the line", "[config]") {
  CHECK(ErrorOf("[sync]\nlookback = 1d\nlookback 7d\n") ==
        kPath + ":3: syntax error (expected [section], key = value, or a ; comment)");
  CHECK(ErrorOf("[sync\nlookback = 1d\n") == kPath + ":1: section header is missing \"]\"");
  CHECK(ErrorOf("[sync]\n= 7d\n") == kPath + ":2: missing key name before \"=\"");
}

TEST_CASE_METHOD(CleanEnv, "The earliest error is reported", "[config]") {
  CHECK(ErrorOf("[sync]\nlookback = x\nbogus line\nfoo = 1\n") ==
        kPath + ":2: [sync] lookback = \"x\": not a duration (use e.g. 30s, 15m, 6h, 7d)");
  CHECK(ErrorOf("[sync]\nfoo = 1\nlookback = x\n") ==
        kPath +
            ":2: unknown key \"foo\" in [sync] (known keys: lookback, details, streams, "
            "budget, max_age)");
}

// ---------------------------------------------------------------- the secret

TEST_CASE_METHOD(CleanEnv,
                 "client_secret comes from the file, a secret file or the "
                 "environment, in that order",
                 "[config][secret]") {
  TempDir dir;
  const std::string conf = dir.path() + "/stravafs.conf";
  const std::string secret_file = dir.Write("secret", "from-file\n\n", 0600);
  ScopedEnv env("STRAVA_CLIENT_SECRET", "from-env");

  CHECK(ParseConfig("[strava]\nclient_secret = inline", conf, false)->client_secret == "inline");
  CHECK(ParseConfig("[strava]\nclient_secret_file = " + secret_file, conf, false)->client_secret == "from-file");
  CHECK(ParseConfig("[strava]\nclient_secret_file = secret", conf, false)->client_secret ==
        "from-file");  // relative to the config file's directory
  CHECK(ParseConfig("[strava]\n", conf, false)->client_secret == "from-env");
  // An empty client_secret = is "not set", as in a template.
  CHECK(ParseConfig("[strava]\nclient_secret =", conf, false)->client_secret == "from-env");
  CHECK(ParseConfig("[strava]\nclient_secret =\nclient_secret_file = secret", conf, false)->client_secret ==
        "from-file");
}

TEST_CASE_METHOD(CleanEnv, "client_secret_file: ~ expanded, whitespace trimmed", "[config][secret]") {
  TempDir home;
  ScopedEnv env("HOME", home.path().c_str());
  home.Write(".config/stravafs/client_secret", "  abc123 \t\r\n", 0600);
  const Config c = Parse("[strava]\nclient_secret_file = ~/.config/stravafs/client_secret");
  CHECK(c.client_secret == "abc123");
}

TEST_CASE_METHOD(CleanEnv, "client_secret_file errors name the file", "[config][secret]") {
  TempDir dir;
  const std::string conf = dir.path() + "/stravafs.conf";
  dir.Write("empty", " \n", 0600);
  CHECK(ErrorOf("[strava]\nclient_secret_file = missing", conf) ==
        conf + ":2: [strava] client_secret_file = \"missing\": cannot read " + dir.path() +
            "/missing: No such file or directory");
  CHECK(ErrorOf("[strava]\nclient_secret_file = empty", conf) ==
        conf + ":2: [strava] client_secret_file = \"empty\": " + dir.path() + "/empty is empty");
  CHECK(ErrorOf("[strava]\nclient_secret_file = " + dir.path(), conf) == conf + ":2: [strava] client_secret_file = \"" +
                                                                             dir.path() + "\": cannot read " +
                                                                             dir.path() + ": not a regular file");
  CHECK(ErrorOf("[strava]\nclient_secret_file =", conf) ==
        conf +
            ":2: [strava] client_secret_file = \"\": empty (give the path of a file holding "
            "the client secret)");
}

TEST_CASE_METHOD(CleanEnv, "client_secret and client_secret_file together are an error", "[config][secret]") {
  CHECK(ErrorOf("[strava]\nclient_secret = abc\nclient_id = 1\nclient_secret_file = x") ==
        kPath +
            ":4: [strava] client_secret_file: client_secret is already set on line 2; "
            "keep one of them");
}

TEST_CASE_METHOD(CleanEnv, "A config file holding the secret must be private", "[config][secret]") {
  TempDir dir;
  const std::string text = "[strava]\nclient_id = 1\nclient_secret = abc\n";
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    const std::string conf = dir.Write("stravafs.conf", text, mode);
    char octal[8];
    snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    INFO(octal);
    CHECK(ErrorOf(text, conf, /*check_perms=*/true) == conf + ":3: [strava] client_secret: " + conf +
                                                           " is accessible by group or others "
                                                           "(mode " +
                                                           octal + "): chmod 600 " + conf);
    // LoadConfig checks, too; a file others may write is refused first.
    Result<Config> loaded = LoadConfig(conf);
    REQUIRE_FALSE(loaded.ok());
    if (mode & 022)
      CHECK(loaded.status().message() ==
            conf + ": " + conf + " is writable by group or others (mode " + octal + "): chmod go-w " + conf);
    else
      CHECK(loaded.status().message() == ErrorOf(text, conf, true));
  }
  const std::string conf = dir.Write("stravafs.conf", text, 0600);
  CHECK(ParseConfig(text, conf, true)->client_secret == "abc");
  CHECK(LoadConfig(conf)->client_secret == "abc");
  CHECK(dir.Write("stravafs.conf", text, 0400) == conf);
  CHECK(LoadConfig(conf).ok());

  // Without a secret in it, the config may be world-readable; without
  // check_perms nothing is checked.
  dir.Write("stravafs.conf", "[strava]\nclient_id = 1\n", 0644);
  CHECK(LoadConfig(conf).ok());
  CHECK(ParseConfig(text, dir.Write("stravafs.conf", text, 0644), false).ok());
}

TEST_CASE_METHOD(CleanEnv, "A client_secret_file must be private", "[config][secret]") {
  TempDir dir;
  const std::string conf = dir.Write("stravafs.conf", "", 0644);
  const std::string text = "[strava]\nclient_secret_file = secret\n";
  const std::string secret = dir.Write("secret", "abc\n", 0644);
  CHECK(ErrorOf(text, conf, true) == conf + ":2: [strava] client_secret_file = \"secret\": " + secret +
                                         " is accessible by group or others (mode 0644): chmod 600 " + secret);
  dir.Write("secret", "abc\n", 0600);
  CHECK(ParseConfig(text, conf, true)->client_secret == "abc");
  dir.Write("secret", "abc\n", 0644);
  CHECK(ParseConfig(text, conf, false)->client_secret == "abc");
}

TEST_CASE_METHOD(CleanEnv, "[bug] Like ssh, a config or secret file others can change is refused",
                 "[config][secret][bug]") {
  // A 0666 config, one in a 0777 folder, or a secret file owned by another
  // user passed: whoever can change the config chooses where the tokens go
  // (issue 15).
  TempDir dir;
  const std::string text = "[strava]\nclient_id = 1\n";
  const std::string conf = dir.Write("stravafs.conf", text, 0666);
  Result<Config> loaded = LoadConfig(conf);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().kind() == ErrorKind::kConfig);
  CHECK(loaded.status().message() ==
        conf + ": " + conf + " is writable by group or others (mode 0666): chmod go-w " + conf);
  ::chmod(conf.c_str(), 0644);
  CHECK(LoadConfig(conf).ok());

  // The folder, and every folder above it; a sticky one (/tmp) is fine.
  const std::string open_dir = dir.path() + "/shared";
  ::mkdir(open_dir.c_str(), 0777);
  ::chmod(open_dir.c_str(), 0777);
  const std::string inner = dir.Write("shared/deeper/stravafs.conf", text, 0644);
  CHECK(LoadConfig(inner).status().message() == inner + ": " + inner + " is in " + open_dir +
                                                    ", which is writable by group or others (mode 0777): chmod go-w " +
                                                    open_dir);
  ::chmod(open_dir.c_str(), 01777);
  CHECK(LoadConfig(inner).ok());

  // A symbolic link is judged by where it leads, too.
  const std::string target = dir.Write("target.conf", text, 0646);
  const std::string link = dir.path() + "/link.conf";
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  CHECK(LoadConfig(link).status().message() ==
        link + ": " + target + " is writable by group or others (mode 0646): chmod go-w " + target);

  // Owned by someone else (not root): the file or a folder above it. Only
  // root can give a file away (CI runs as root).
  if (::geteuid() != 0) {
    WARN("not root: the ownership checks are not exercised");
    return;
  }
  const uid_t other = 65534;
  REQUIRE(::chown(conf.c_str(), other, other) == 0);
  CHECK(LoadConfig(conf).status().message() == conf + ": " + conf + " belongs to uid 65534, not to you (uid " +
                                                   std::to_string(::geteuid()) + ") or root: use a file of your own");
  REQUIRE(::chown(conf.c_str(), 0, 0) == 0);
  const std::string theirs = dir.path() + "/theirs";
  ::mkdir(theirs.c_str(), 0755);
  const std::string in_theirs = dir.Write("theirs/stravafs.conf", text, 0644);
  REQUIRE(::chown(theirs.c_str(), other, other) == 0);
  CHECK(LoadConfig(in_theirs).status().message() ==
        in_theirs + ": " + in_theirs + " is in " + theirs + ", which belongs to uid 65534, not to you (uid " +
            std::to_string(::geteuid()) + ") or root: keep it in a folder of your own");

  // A symbolic link someone else owns, though it leads to a good file.
  const std::string good = dir.Write("good.conf", text, 0644);
  const std::string their_link = dir.path() + "/their-link.conf";
  REQUIRE(::symlink(good.c_str(), their_link.c_str()) == 0);
  REQUIRE(::lchown(their_link.c_str(), other, other) == 0);
  CHECK(LoadConfig(their_link).status().message() ==
        their_link + ": " + their_link + " belongs to uid 65534, not to you (uid " + std::to_string(::geteuid()) +
            ") or root: use a file of your own");

  // The secret file the same way.
  const std::string secret = dir.Write("secret", "abc\n", 0600);
  const std::string with_secret = "[strava]\nclient_id = 1\nclient_secret_file = secret\n";
  CHECK(ParseConfig(with_secret, conf, true)->client_secret == "abc");
  REQUIRE(::chown(secret.c_str(), other, other) == 0);
  CHECK(ErrorOf(with_secret, conf, true) == conf + ":3: [strava] client_secret_file = \"secret\": " + secret +
                                                " belongs to uid 65534, not to you (uid " +
                                                std::to_string(::geteuid()) + ") or root: use a file of your own");
}

TEST_CASE_METHOD(CleanEnv, "The secret never appears in a message", "[config][secret]") {
  const std::string secret = "s3cr3t-Value-42";
  TempDir dir;
  const std::string conf = dir.path() + "/stravafs.conf";
  dir.Write("secret", secret + "\n", 0644);
  const std::vector<std::string> texts{
      "[strava]\nclient_secret = " + secret,  // mode 0644
      "[strava]\nclient_secret = " + secret + "\nclient_secret_file = secret",
      "[strava]\nclient_secret_file = secret",  // mode 0644
      "[strava]\nclient_secret = " + secret + "\nclient_secret = " + secret,
      "[strava]\nclient_secert = " + secret,
      "[sync]\nclient_secret = " + secret,
      "client_secret = " + secret,
      "[strava]\nclient_secret " + secret,
      "[strava]\nclient_secret = " + secret + std::string(300, 'x'),
      "[strava\nclient_secret = " + secret,
  };
  for (const std::string& text : texts) {
    dir.Write("stravafs.conf", text, 0644);
    Result<Config> config = ParseConfig(text, conf, true);
    INFO(text);
    REQUIRE_FALSE(config.ok());
    INFO(config.status().message());
    CHECK(config.status().message().find("s3cr3t") == std::string::npos);
  }
}

// ---------------------------------------------------------------- discovery

TEST_CASE_METHOD(CleanEnv, "ExpandHome", "[config][xdg]") {
  CHECK(ExpandHome("~") == "/home/tester");
  CHECK(ExpandHome("~/x/y") == "/home/tester/x/y");
  CHECK(ExpandHome("/abs/~/x") == "/abs/~/x");
  CHECK(ExpandHome("~other/x") == "~other/x");
  CHECK(ExpandHome("rel") == "rel");
}

TEST_CASE_METHOD(CleanEnv, "DefaultConfigPath: STRAVAFS_CONFIG, XDG_CONFIG_HOME, ~/.config", "[config][xdg]") {
  CHECK(DefaultConfigPath() == "/home/tester/.config/stravafs/stravafs.conf");
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "/xdg/config");
    CHECK(DefaultConfigPath() == "/xdg/config/stravafs/stravafs.conf");
    ScopedEnv env("STRAVAFS_CONFIG", "/somewhere/my.conf");
    CHECK(DefaultConfigPath() == "/somewhere/my.conf");
    ScopedEnv empty("STRAVAFS_CONFIG", "");
    CHECK(DefaultConfigPath() == "/xdg/config/stravafs/stravafs.conf");
  }
  {
    ScopedEnv relative("XDG_CONFIG_HOME", "relative/config");  // ignored per the spec
    CHECK(DefaultConfigPath() == "/home/tester/.config/stravafs/stravafs.conf");
    ScopedEnv empty("XDG_CONFIG_HOME", "");
    CHECK(DefaultConfigPath() == "/home/tester/.config/stravafs/stravafs.conf");
  }
  CHECK(DefaultConfigPath() == "/home/tester/.config/stravafs/stravafs.conf");
}

TEST_CASE_METHOD(CleanEnv, "Cache and state directories follow XDG", "[config][xdg]") {
  {
    ScopedEnv data("XDG_DATA_HOME", "/xdg/data");
    ScopedEnv state("XDG_STATE_HOME", "/xdg/state");
    const Config c = Parse("");
    CHECK(c.cache_path == "/xdg/data/stravafs/cache.db");
    CHECK(c.state_dir == "/xdg/state/stravafs");
    // An explicit path wins over XDG.
    CHECK(Parse("[cache]\npath = /x.db").cache_path == "/x.db");
  }
  {
    ScopedEnv data("XDG_DATA_HOME", "data");
    ScopedEnv state("XDG_STATE_HOME", "state");
    const Config c = Parse("");
    CHECK(c.cache_path == "/home/tester/.local/share/stravafs/cache.db");
    CHECK(c.state_dir == "/home/tester/.local/state/stravafs");
  }
}

TEST_CASE_METHOD(CleanEnv, "LoadConfig finds the file by discovery", "[config][xdg]") {
  TempDir home;
  ScopedEnv env("HOME", home.path().c_str());
  const std::string at_home = home.Write(".config/stravafs/stravafs.conf", "[strava]\nclient_id = 1\n", 0600);
  Result<Config> c = LoadConfig(std::nullopt);
  REQUIRE(c.ok());
  CHECK(c->path == at_home);
  CHECK(c->client_id == "1");

  const std::string xdg = home.Write("xdg/stravafs/stravafs.conf", "[strava]\nclient_id = 2\n", 0600);
  ScopedEnv xdg_env("XDG_CONFIG_HOME", (home.path() + "/xdg").c_str());
  CHECK(LoadConfig(std::nullopt)->client_id == "2");
  CHECK(LoadConfig(std::nullopt)->path == xdg);

  const std::string own = home.Write("own.conf", "[strava]\nclient_id = 3\n", 0600);
  ScopedEnv own_env("STRAVAFS_CONFIG", own.c_str());
  CHECK(LoadConfig(std::nullopt)->client_id == "3");
  CHECK(LoadConfig(std::nullopt)->path == own);

  // An explicit path beats discovery.
  CHECK(LoadConfig(at_home)->client_id == "1");
  CHECK(LoadConfig(at_home)->path == at_home);
}

TEST_CASE_METHOD(CleanEnv, "LoadConfig explains a missing or unreadable file", "[config][xdg]") {
  TempDir home;
  ScopedEnv env("HOME", home.path().c_str());
  Result<Config> missing = LoadConfig(std::nullopt);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().kind() == ErrorKind::kConfig);
  CHECK(missing.status().message() ==
        "no config file at " + home.path() +
            "/.config/stravafs/stravafs.conf: copy the example "
            "(/usr/share/doc/stravafs/examples/stravafs.conf or conf/stravafs.conf in the "
            "source tree) there and set client_id");

  const std::string explicit_path = home.path() + "/nope.conf";
  CHECK(LoadConfig(explicit_path).status().message() ==
        "no config file at " + explicit_path +
            ": copy the example (/usr/share/doc/stravafs/examples/stravafs.conf or "
            "conf/stravafs.conf in the source tree) there and set client_id");

  CHECK(LoadConfig(home.path()).status().message() ==
        "cannot read config file " + home.path() + ": not a regular file");

  // [bug] Issue 15: /dev/zero read a gigabyte before bad_alloc, a FIFO hung.
  CHECK(LoadConfig("/dev/zero").status().message() == "cannot read config file /dev/zero: not a regular file");
  const std::string fifo = home.path() + "/fifo.conf";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(LoadConfig(fifo).status().message() == "cannot read config file " + fifo + ": not a regular file");
  const std::string big = home.Write("big.conf", "; " + std::string(2 << 20, 'x') + "\n", 0600);
  CHECK(LoadConfig(big).status().message() == "cannot read config file " + big + ": larger than 1 MiB");
  const std::string secret_zero = home.Write("zero.conf", "[strava]\nclient_secret_file = /dev/zero\n", 0600);
  CHECK(LoadConfig(secret_zero).status().message() ==
        secret_zero + ":2: [strava] client_secret_file = \"/dev/zero\": cannot read /dev/zero: not a regular file");

  const std::string bad = home.Write("bad.conf", "[sync]\nlookback = soon\n", 0600);
  CHECK(LoadConfig(bad).status().message() ==
        bad + ":2: [sync] lookback = \"soon\": not a duration (use e.g. 30s, 15m, 6h, 7d)");
}

// ---------------------------------------------------------------- the example

TEST_CASE_METHOD(CleanEnv, "conf/stravafs.conf parses to exactly the defaults", "[config][example]") {
  const std::string path = ExampleConfigPath();
  const Config c = Parse(ReadFile(path));
  const Config defaults = Parse("");
  CHECK(c.client_id == "");
  CHECK(c.client_secret == "");
  CHECK(c.base_url == defaults.base_url);
  CHECK(c.scope == defaults.scope);
  CHECK(c.timeout == defaults.timeout);
  CHECK(c.cache_path == defaults.cache_path);
  CHECK(c.lookback == defaults.lookback);
  CHECK(c.details == defaults.details);
  CHECK(c.streams == defaults.streams);
  CHECK(c.budget == defaults.budget);
  CHECK(c.max_age == defaults.max_age);
  CHECK(c.mount_refresh == defaults.mount_refresh);
  CHECK(c.rate_window == defaults.rate_window);
  CHECK(c.rate_day == defaults.rate_day);
  CHECK(c.retry_base == defaults.retry_base);
}

// The example's convention: "#" starts prose, ";" starts a setting one may
// enable. Enabling every one of them must still give a valid config whose
// values are the documented defaults.
TEST_CASE_METHOD(CleanEnv, "conf/stravafs.conf with every ; setting enabled", "[config][example]") {
  TempDir home;
  ScopedEnv env("HOME", home.path().c_str());
  home.Write(".config/stravafs/client_secret", "abc\n", 0600);
  std::istringstream in(ReadFile(ExampleConfigPath()));
  std::string text, line;
  int enabled = 0;
  while (std::getline(in, line)) {
    if (line.starts_with(';') && line.size() > 1 && line[1] != ' ') {
      line.erase(0, 1);
      ++enabled;
    }
    text += line + "\n";
  }
  CHECK(enabled >= 5);  // cache path, the secret file, the [testing] section
  const std::string conf = home.Write(".config/stravafs/stravafs.conf", text, 0600);
  Result<Config> c = ParseConfig(text, conf, /*check_perms=*/true);
  INFO(c.status().message());
  REQUIRE(c.ok());
  CHECK(c->client_secret == "abc");
  CHECK(c->cache_path == home.path() + "/.local/share/stravafs/cache.db");
  CHECK(c->rate_window == minutes(15));
  CHECK(c->rate_day == hours(24));
  CHECK(c->retry_base == seconds(1));
}

// The configurations shown in stravafs.conf(5) EXAMPLES are valid.
TEST_CASE_METHOD(CleanEnv, "The man page's example configurations parse", "[config][example]") {
  TempDir home;
  ScopedEnv env("HOME", home.path().c_str());
  home.Write(".config/stravafs/client_secret", "abc\n", 0600);
  std::istringstream in(ReadFile(SourcePath("man/stravafs.conf.5")));
  std::vector<std::string> configs;
  std::string line, block;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (line == ".nf") {
      in_block = true;
      block.clear();
    } else if (line == ".fi") {
      in_block = false;
      if (block.starts_with("[")) configs.push_back(block);
    } else if (in_block) {
      for (size_t at; (at = line.find("\\-")) != std::string::npos;) line.erase(at, 1);
      block += line + "\n";
    }
  }
  REQUIRE(configs.size() == 4);                             // the syntax sample and three EXAMPLES
  CHECK_FALSE(ParseConfig(configs[0], kPath, false).ok());  // "[section]" on purpose
  const std::string conf = home.path() + "/stravafs.conf";
  for (size_t i = 1; i < configs.size(); ++i) {
    Result<Config> c = ParseConfig(configs[i], conf, /*check_perms=*/true);
    INFO(configs[i] << c.status().message());
    CHECK(c.ok());
  }
  CHECK(ParseConfig(configs[1], conf, true)->client_secret == "abc");
  CHECK(ParseConfig(configs[2], conf, true)->streams.empty());
  CHECK(ParseConfig(configs[3], conf, true)->streams == std::vector<std::string>{"time", "heartrate", "watts"});
}

}  // namespace
}  // namespace stravafs
