// Config: the parsed stravafs.conf (see stravafs.conf(5)).
//
// Discovery: --config FILE, else $STRAVAFS_CONFIG, else
// $XDG_CONFIG_HOME/stravafs/stravafs.conf (~/.config/...). Every key has a
// default; unknown sections/keys and bad values are errors naming file, line
// and key. A file that holds a secret (client_secret, or the client_secret_file
// it names) must not be readable by group or others.
//
// A Config is a plain value: copy it freely; it is not tied to any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stravafs {

using Millis = std::chrono::milliseconds;

// The largest reply body taken by default, counted as decoded (after gzip):
// far above Strava's largest replies (the streams of a day-long activity at
// 1 s are about 10 MB), far below what would exhaust memory. A 1 MB gzip
// reply that inflated to 1 GiB drove a sync to 2.1 GB RSS before this bound
// (issue 15). [testing] max_reply lowers it.
inline constexpr size_t kMaxReplyBytes = size_t{128} << 20;

struct Config {
  std::string path;  // the file this came from

  // [strava]
  std::string client_id;      // required by auth and sync
  std::string client_secret;  // resolved: client_secret, client_secret_file or $STRAVA_CLIENT_SECRET
  std::string base_url = "https://www.strava.com";  // no trailing slash; API under /api/v3
  std::string scope = "read,activity:read_all,profile:read_all";
  Millis timeout{std::chrono::seconds(30)};  // per HTTP request

  // [cache]
  std::string cache_path;  // expanded; default $XDG_DATA_HOME/stravafs/cache.db
  std::string state_dir;   // tokens live here: $XDG_STATE_HOME/stravafs (not configurable)

  // [sync]
  Millis lookback{std::chrono::hours(24 * 7)};
  bool details = true;
  // Every type of kStravaStreamTypes (base/stream_types.h), in the order
  // the API is asked for them; tests/unit/model/streams_test.cc checks both
  // name the same types.
  std::vector<std::string> streams{"time",  "distance",        "latlng", "altitude", "heartrate",   "cadence",
                                   "watts", "velocity_smooth", "temp",   "moving",   "grade_smooth"};
  double budget = 0.8;  // fraction (0, 1] of each rate-limit window
  Millis max_age{std::chrono::minutes(15)};

  // [mount]
  Millis mount_refresh{std::chrono::minutes(15)};  // 0 = never

  // [import]
  std::vector<std::string> import_folders;  // expanded; every sync imports new files from these
  std::string import_timezone;              // IANA name for files without a local time; "" = the system's
  bool import_originals = true;             // keep each imported original file in the cache
  std::string import_athlete;               // whose loose files are, in a cache of several: an id or a name

  // [testing]: for the emulator's short windows; never needed against Strava.
  Millis rate_window{std::chrono::minutes(15)};  // length of the short rate-limit window
  Millis rate_day{std::chrono::hours(24)};       // length of the daily window
  Millis retry_base{std::chrono::seconds(1)};    // first retry backoff, doubled each time
  size_t max_reply = kMaxReplyBytes;             // bytes: the largest reply body taken
};

// The longest duration anything takes: 100 years.
inline constexpr Millis kMaxDuration{int64_t{36500} * 86'400'000};

// Parses "250ms", "30s", "15m", "6h", "7d", or "0". A bare number is an error
// (the unit is never guessed), and so is one longer than kMaxDuration.
Result<Millis> ParseDuration(std::string_view text);

// Renders a duration for people: "7d", "15m", "1h30m", "2.5s", "0s".
std::string FormatDuration(Millis d);

// Expands a leading "~/" with $HOME.
std::string ExpandHome(const std::string& path);

// Where the config is looked for when no --config is given.
std::string DefaultConfigPath();

// Loads the config from `explicit_path` if given, else by discovery. A missing
// file is an error that says where it looked and how to create one.
Result<Config> LoadConfig(const std::optional<std::string>& explicit_path);

// The same, except that when no file is named (neither `explicit_path` nor
// $STRAVAFS_CONFIG) and the default one does not exist, every key has its
// default: what needs no Strava application (import, status, the mount)
// works without a config file.
Result<Config> LoadConfigOrDefaults(const std::optional<std::string>& explicit_path);

// Parses config text as if read from `path` (used by LoadConfig and tests).
// `path` is used for messages, for the permission check when `check_perms`,
// and as the base of relative paths in values (cache path,
// client_secret_file), and nothing else.
Result<Config> ParseConfig(const std::string& text, const std::string& path, bool check_perms);

}  // namespace stravafs
