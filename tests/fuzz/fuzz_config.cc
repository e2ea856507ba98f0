// Fuzz target: stravafs.conf parsing (src/config/config.cc, INI through inih) and
// durations.
//
// Input: the text of a config file. Checks: ParseConfig never crashes; a
// config it accepts holds only values the man page allows (budget in (0, 1],
// durations not negative, base_url http(s) without a trailing slash, known
// and distinct stream types, a digits-only client_id); every duration it
// accepts prints (FormatDuration) as text that reads back as the same
// duration; errors name the file and a line of it; and a client_secret set in
// the file is never quoted in any error message, whatever else is wrong.
//
// Inputs that name a file under /dev, /proc or /sys are skipped: the parser
// reads client_secret_file whole, and /dev/zero never ends.
#include <algorithm>
#include <cstdlib>

#include "config/config.h"
#include "fuzz_check.h"

using namespace stravafs;

namespace {

constexpr const char* kPath = "/nonexistent/stravafs-fuzz/stravafs.conf";
constexpr std::string_view kSecret = "Zq9SECRETvalue4fuzz";

int64_t LineCount(std::string_view text) { return std::count(text.begin(), text.end(), '\n') + 1; }

void CheckDuration(std::string_view text) {
  auto d = ParseDuration(text);
  if (!d.ok()) {
    FUZZ_CHECK(d.status().kind() == ErrorKind::kConfig && !d.status().message().empty(), "");
    return;
  }
  FUZZ_CHECK(d->count() >= 0, fuzz::Show(text));
  const std::string printed = FormatDuration(*d);
  auto back = ParseDuration(printed);
  FUZZ_CHECK(back.ok() && *back == *d, fuzz::Show(text) + " printed " + printed);
}

void CheckError(const Status& s, std::string_view text) {
  FUZZ_CHECK(s.kind() == ErrorKind::kConfig, s.message());
  const std::string& m = s.message();
  FUZZ_CHECK(m.rfind(std::string(kPath) + ":", 0) == 0, m);
  // "PATH:LINE: ..." names a line of the file, or "PATH: ..." the whole file.
  const std::string rest = m.substr(std::string_view(kPath).size() + 1);
  if (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') {
    const int64_t line = std::atoll(rest.c_str());
    FUZZ_CHECK(line >= 1 && line <= LineCount(text) + 1, m);
  }
}

void CheckConfig(const Config& c) {
  FUZZ_CHECK(c.budget > 0 && c.budget <= 1, std::to_string(c.budget));
  for (Millis d : {c.timeout, c.lookback, c.max_age, c.mount_refresh, c.rate_window, c.rate_day, c.retry_base}) {
    FUZZ_CHECK(d.count() >= 0, std::to_string(d.count()));
    auto back = ParseDuration(FormatDuration(d));
    FUZZ_CHECK(back.ok() && *back == d, FormatDuration(d));
  }
  for (Millis d : {c.timeout, c.rate_window, c.rate_day, c.retry_base}) FUZZ_CHECK(d.count() > 0, "");
  FUZZ_CHECK(c.base_url.starts_with("https://") || c.base_url.starts_with("http://"), c.base_url);
  FUZZ_CHECK(!c.base_url.ends_with("/") && c.base_url.find("://") + 3 < c.base_url.size(), c.base_url);
  static const std::vector<std::string> kKnown = {"time",        "distance", "latlng", "altitude", "velocity_smooth",
                                                  "heartrate",   "cadence",  "watts",  "temp",     "moving",
                                                  "grade_smooth"};
  for (size_t i = 0; i < c.streams.size(); ++i) {
    FUZZ_CHECK(std::find(kKnown.begin(), kKnown.end(), c.streams[i]) != kKnown.end(), c.streams[i]);
    FUZZ_CHECK(
        std::find(c.streams.begin() + static_cast<long>(i) + 1, c.streams.end(), c.streams[i]) == c.streams.end(),
        c.streams[i]);
  }
  FUZZ_CHECK(std::all_of(c.client_id.begin(), c.client_id.end(), [](char ch) { return ch >= '0' && ch <= '9'; }),
             c.client_id);
  FUZZ_CHECK(!c.scope.empty() && c.scope.find_first_of(" \t") == std::string::npos, c.scope);
  FUZZ_CHECK(!c.cache_path.empty() && c.cache_path.front() == '/', c.cache_path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool init = [] {
    unsetenv("STRAVA_CLIENT_SECRET");
    setenv("HOME", "/nonexistent/stravafs-fuzz-home", 1);
    return true;
  }();
  (void)init;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find("/dev") != std::string::npos || text.find("/proc") != std::string::npos ||
      text.find("/sys") != std::string::npos)
    return 0;
  if (size <= 64) CheckDuration(text);

  auto config = ParseConfig(text, kPath, /*check_perms=*/false);
  if (config.ok()) {
    CheckConfig(*config);
    FUZZ_CHECK(config->path == kPath, config->path);
  } else {
    CheckError(config.status(), text);
  }

  // The same file with a secret on its first lines: whatever the error, the
  // secret is not in it.
  const std::string with_secret = "[strava]\nclient_secret = " + std::string(kSecret) + "\n" + text;
  auto secret = ParseConfig(with_secret, kPath, /*check_perms=*/false);
  if (!secret.ok()) {
    CheckError(secret.status(), with_secret);
    FUZZ_CHECK(secret.status().message().find(kSecret) == std::string::npos, secret.status().message());
  } else {
    FUZZ_CHECK(secret->client_secret == kSecret, "");
  }
  return 0;
}
