// Reading stravafs.conf: inih splits the file into sections and key = value
// pairs; this file knows the keys, their defaults and how to read each value.
//
// Parsing runs in two steps so that every error can name its line: inih calls
// Handler() for each pair, which checks the section and key and keeps the raw
// value with its line; then each kept value is interpreted by its key's Apply
// function. All errors are collected and the one on the earliest line is
// returned, so a person fixes the file top to bottom.
//
// Messages never quote the value of client_secret or the secret file's
// contents, and never quote a raw line (it might be a mistyped secret).
#include "config/config.h"

#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include "base/stream_types.h"

namespace stravafs {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDurationHint = "use e.g. 30s, 15m, 6h, 7d";
constexpr std::string_view kExamplePaths =
    "/usr/share/doc/stravafs/examples/stravafs.conf or conf/stravafs.conf in "
    "the source tree";

constexpr std::array<std::string_view, 6> kSections = {"strava", "cache", "sync", "mount", "import", "testing"};

Status ConfigError(std::string message) { return Status::Error(ErrorKind::kConfig, std::move(message)); }

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

std::string Join(const auto& items, std::string_view sep, std::string_view before = "", std::string_view after = "") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out.append(before).append(item).append(after);
  }
  return out;
}

// Edit distance counting a swap of neighbours as one edit ("snyc" is one
// edit from "sync"), for "did you mean ...?" on misspelt names.
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The candidate closest to `word`, if it is close enough to be a typo: one
// edit for names of one or two letters, two for longer ones.
std::optional<std::string_view> Closest(std::string_view word, const auto& candidates) {
  std::optional<std::string_view> best;
  size_t best_distance = 0;
  for (std::string_view candidate : candidates) {
    const size_t d = Distance(word, candidate);
    const size_t allowed = std::min(word.size(), candidate.size()) >= 3 ? 2 : 1;
    if (d <= allowed && (!best || d < best_distance)) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string HomeDir() {
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  // No $HOME (e.g. started by a bare service manager): ask the user database.
  std::array<char, 4096> buffer{};
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_dir)
    return found->pw_dir;
  return {};
}

// $VAR if it is an absolute path, else ~/fallback. The XDG Base Directory spec
// says relative values are invalid and must be ignored.
std::string XdgDir(const char* var, std::string_view fallback) {
  if (const char* value = std::getenv(var); value && value[0] == '/') return value;
  return HomeDir() + "/" + std::string(fallback);
}

// ~ expanded; a relative path is taken relative to the config file's
// directory (not the working directory, which a daemon changes to /).
// A path from the config: ~ and ~/ expanded, relative to the config's folder.
// Variables are not expanded: "$HOME/x.db" silently became a path relative
// to the config's folder (issue 15), so a '$' before a name or a brace is
// refused with what to write instead; any other '$' is a plain character.
Result<std::string> ResolvePath(std::string_view raw, const std::string& config_path) {
  for (size_t i = raw.find('$'); i != std::string_view::npos; i = raw.find('$', i + 1)) {
    const char next = i + 1 < raw.size() ? raw[i + 1] : '\0';
    if (next == '{' || next == '_' || std::isalpha(static_cast<unsigned char>(next)))
      return ConfigError(
          "environment variables are not expanded in paths; write ~/ for your home folder, or the "
          "path in full");
  }
  fs::path p = ExpandHome(std::string(raw));
  if (p.is_relative()) p = fs::path(config_path).parent_path() / p;
  std::error_code ignored;
  const fs::path absolute = fs::absolute(p, ignored);
  return (absolute.empty() ? p : absolute).lexically_normal().string();
}

// Reads all of `path` into `out`; returns 0 or the errno of the failure.
// Config and secret files are small regular files: /dev/zero read a
// gigabyte before bad_alloc, and a FIFO hung (issue 15).
constexpr size_t kMaxConfigFileBytes = 1 << 20;
constexpr int kNotRegularFile = -1;

// 0, an errno, EFBIG past kMaxConfigFileBytes, or kNotRegularFile.
int ReadWholeFile(const std::string& path, std::string& out) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return kNotRegularFile;
  }
  std::array<char, 8192> chunk{};
  int error = 0;
  for (;;) {
    const ssize_t n = read(fd, chunk.data(), chunk.size());
    if (n > 0) {
      out.append(chunk.data(), static_cast<size_t>(n));
      if (out.size() > kMaxConfigFileBytes) {
        error = EFBIG;
        break;
      }
    } else if (n == 0 || errno != EINTR) {
      error = n == 0 ? 0 : errno;
      break;
    }
  }
  close(fd);
  return error;
}

// What ReadWholeFile's result means, for a message.
std::string ReadProblem(int error) {
  if (error == kNotRegularFile) return "not a regular file";
  if (error == EFBIG) return "larger than " + std::to_string(kMaxConfigFileBytes >> 20) + " MiB";
  return std::strerror(error);
}

std::string ModeText(mode_t mode) {
  std::array<char, 8> text{};
  std::snprintf(text.data(), text.size(), "%04o", static_cast<unsigned>(mode & 07777));
  return text.data();
}

// Empty when only its owner can change `path`, else why not and how to fix
// it. Like ssh with its config: the file and every folder above it must
// belong to the user or root and be writable by nobody else, since whoever
// can change the config chooses where the tokens go (issue 15). A folder with
// the sticky bit (/tmp) is fine: others cannot replace what is in it.
std::string OwnershipProblem(const std::string& path) {
  const uid_t me = ::geteuid();
  auto owned = [&](const struct stat& st) { return st.st_uid == me || st.st_uid == 0; };
  std::error_code ec;
  // Both the path as named and where its symbolic links lead.
  std::vector<fs::path> files{fs::absolute(path, ec)};
  if (fs::path real = fs::canonical(path, ec); !ec && real != files.front()) files.push_back(real);
  for (size_t i = 0; i < files.size(); ++i) {
    struct stat st {};
    if (::lstat(files[i].c_str(), &st) != 0)
      return "cannot check the permissions of " + files[i].string() + ": " + std::strerror(errno);
    const std::string name = files[i].string();
    if (!owned(st))
      return name + " belongs to uid " + std::to_string(st.st_uid) + ", not to you (uid " + std::to_string(me) +
             ") or root: use a file of your own";
    if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)))
      return name + " is writable by group or others (mode " + ModeText(st.st_mode) + "): chmod go-w " + name;
    for (fs::path dir = files[i].parent_path();; dir = dir.parent_path()) {
      if (::stat(dir.c_str(), &st) != 0)
        return "cannot check the permissions of " + dir.string() + ": " + std::strerror(errno);
      if (!owned(st))
        return name + " is in " + dir.string() + ", which belongs to uid " + std::to_string(st.st_uid) +
               ", not to you (uid " + std::to_string(me) + ") or root: keep it in a folder of your own";
      if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
        return name + " is in " + dir.string() + ", which is writable by group or others (mode " +
               ModeText(st.st_mode) + "): chmod go-w " + dir.string();
      if (dir == dir.root_path() || dir.empty()) break;
    }
  }
  return {};
}

// Empty when `path` is private to its owner, else why not and how to fix it.
std::string PermissionProblem(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "cannot check the permissions of " + path + ": " + std::strerror(errno);
  if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) == 0) return {};
  return path + " is accessible by group or others (mode " + ModeText(st.st_mode) + "): chmod 600 " + path;
}

// ---- value readers: each returns an error message without the key prefix.

Status ReadDuration(std::string_view value, Millis& out, bool allow_zero) {
  Result<Millis> d = ParseDuration(value);
  if (!d.ok()) return d.status();
  if (!allow_zero && d->count() == 0) return ConfigError("must be longer than 0");
  out = *d;
  return Status::Ok();
}

Status ReadBool(std::string_view value, bool& out) {
  std::string lower(value);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "yes" || lower == "true" || lower == "on" || lower == "1") {
    out = true;
  } else if (lower == "no" || lower == "false" || lower == "off" || lower == "0") {
    out = false;
  } else {
    return ConfigError("not a yes/no value (use yes, no, true, false, on, off, 1 or 0)");
  }
  return Status::Ok();
}

Status ReadStreams(std::string_view value, std::vector<std::string>& out) {
  std::vector<std::string> streams;
  // An empty value means "no streams", not one empty name.
  for (size_t start = 0; !value.empty() && start <= value.size();) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    const std::string_view name = Trim(value.substr(start, comma - start));
    start = comma + 1;
    if (name.empty()) return ConfigError("empty stream name (separate names with single commas)");
    if (std::find(kStravaStreamTypes.begin(), kStravaStreamTypes.end(), name) == kStravaStreamTypes.end()) {
      std::string message = "unknown stream type \"" + std::string(name) + "\"";
      if (auto guess = Closest(name, kStravaStreamTypes))
        return ConfigError(message + ": did you mean " + std::string(*guess) + "?");
      return ConfigError(message + " (known: " + Join(kStravaStreamTypes, ", ") + ")");
    }
    if (std::find(streams.begin(), streams.end(), name) != streams.end())
      return ConfigError("stream type \"" + std::string(name) + "\" is listed twice");
    streams.emplace_back(name);
  }
  out = std::move(streams);
  return Status::Ok();
}

Status ReadBudget(std::string_view value, double& out) {
  const bool percent = value.ends_with('%');
  if (percent) value.remove_suffix(1);
  double number = 0;
  // from_chars, not strtod: a config must not mean something else under a
  // locale whose decimal separator is a comma.
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || !std::isfinite(number))
    return ConfigError("not a budget (use a percentage such as 80% or a fraction such as 0.8)");
  if (percent) number /= 100;
  if (!(number > 0 && number <= 1)) return ConfigError("out of range (more than 0%, at most 100%; e.g. 80% or 0.8)");
  out = number;
  return Status::Ok();
}

Status ReadClientId(std::string_view value, std::string& out) {
  if (!std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
    return ConfigError("not a client id (digits only; see https://www.strava.com/settings/api)");
  out = value;  // empty = not set; the commands that need it say so
  return Status::Ok();
}

// True for the hosts a plain-http base_url may name: this machine only
// (localhost, 127.0.0.0/8, [::1]), with or without a port.
bool IsLoopbackHost(std::string_view authority) {
  std::string_view host = authority;
  if (host.starts_with('[')) {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return false;
    return host.substr(1, close - 1) == "::1";
  }
  if (const size_t colon = host.find(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  if (host == "localhost") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;  // 127.a.b.c, each part a number
  for (char ch : host) {
    if (ch == '.') {
      ++dots;
    } else if (ch < '0' || ch > '9') {
      return false;
    }
  }
  return dots == 3 && !host.ends_with('.') && host.find("..") == std::string_view::npos;
}

// Where the tokens and the client secret go: https:// anywhere, plain
// http:// only to this machine (the emulator, a local proxy), and never a
// URL with a user name (https://www.strava.com@evil.example goes to
// evil.example).
Status ReadBaseUrl(std::string_view value, std::string& out) {
  std::string_view rest = value;
  bool plain = false;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
    plain = true;
  } else {
    rest = {};
  }
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty()) return ConfigError("not a URL (use https://HOST or http://HOST:PORT)");
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos)
    return ConfigError(
        "a URL with a user name or password (the part before @) is refused: it is easily "
        "misread, and the host is what follows the @");
  if (authority.empty() || rest.find_first_of("?# \t") != std::string_view::npos)
    return ConfigError("not a URL (use https://HOST or http://HOST:PORT)");
  if (plain && !IsLoopbackHost(authority))
    return ConfigError(
        "http:// would send the tokens and the client secret unencrypted: use https://, "
        "or http:// only to this machine (localhost, 127.0.0.1, [::1])");
  out = value.substr(0, rest.data() + rest.size() - value.data());
  return Status::Ok();
}

Status ReadScope(std::string_view value, std::string& out) {
  if (value.empty() || value.find_first_of(" \t") != std::string_view::npos)
    return ConfigError(
        "not a scope list (comma separated, no spaces, e.g. "
        "read,activity:read_all,profile:read_all)");
  out = value;
  return Status::Ok();
}

// Comma-separated folders (commas, not spaces, because device folders often
// have spaces in their names); each resolved like [cache] path.
Status ReadFolders(std::string_view value, const std::string& config_path, std::vector<std::string>& out) {
  std::vector<std::string> folders;
  for (size_t start = 0; !value.empty() && start <= value.size();) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    const std::string_view folder = Trim(value.substr(start, comma - start));
    start = comma + 1;
    if (folder.empty()) return ConfigError("empty folder name (separate folders with single commas)");
    auto resolved = ResolvePath(folder, config_path);
    if (!resolved.ok()) return resolved.status();
    folders.push_back(std::move(*resolved));
  }
  out = std::move(folders);
  return Status::Ok();
}

// An IANA zone name the system's zoneinfo holds ("Europe/Berlin"), or empty.
Status ReadTimezone(std::string_view value, std::string& out) {
  if (!value.empty()) {
    const std::string name(value);
    bool safe = name.front() != '/' && name.find("..") == std::string::npos;
    struct stat st {};
    if (!safe || stat(("/usr/share/zoneinfo/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return ConfigError(
          "not a time zone this system knows (use an IANA name such as Europe/Berlin, "
          "as listed under /usr/share/zoneinfo; empty means the system's zone)");
  }
  out = value;
  return Status::Ok();
}

// ---- the keys

struct Key {
  std::string_view section;
  std::string_view name;
  // Interprets the value into `config`; nullptr for the secret keys, which
  // are resolved together after all keys are read.
  Status (*apply)(std::string_view value, const std::string& config_path, Config& config);
};

// clang-format off
const Key kKeys[] = {
    {"strava", "client_id", [](std::string_view v, const std::string&, Config& c) { return ReadClientId(v, c.client_id); }},
    {"strava", "client_secret", nullptr},
    {"strava", "client_secret_file", nullptr},
    {"strava", "base_url", [](std::string_view v, const std::string&, Config& c) { return ReadBaseUrl(v, c.base_url); }},
    {"strava", "scope", [](std::string_view v, const std::string&, Config& c) { return ReadScope(v, c.scope); }},
    {"strava", "timeout", [](std::string_view v, const std::string&, Config& c) { return ReadDuration(v, c.timeout, false); }},
    {"cache", "path", [](std::string_view v, const std::string& p, Config& c) {
       if (v.empty()) return ConfigError("empty (give the path of the cache database)");
       auto resolved = ResolvePath(v, p);
       if (!resolved.ok()) return resolved.status();
       c.cache_path = std::move(*resolved);
       return Status::Ok(); }},
    {"sync", "lookback", [](std::string_view v, const std::string&, Config& c) { return ReadDuration(v, c.lookback, true); }},
    {"sync", "details", [](std::string_view v, const std::string&, Config& c) { return ReadBool(v, c.details); }},
    {"sync", "streams", [](std::string_view v, const std::string&, Config& c) { return ReadStreams(v, c.streams); }},
    {"sync", "budget", [](std::string_view v, const std::string&, Config& c) { return ReadBudget(v, c.budget); }},
    {"sync", "max_age", [](std::string_view v, const std::string&, Config& c) { return ReadDuration(v, c.max_age, true); }},
    {"mount", "refresh", [](std::string_view v, const std::string&, Config& c) { return ReadDuration(v, c.mount_refresh, true); }},
    {"import", "folders", [](std::string_view v, const std::string& p, Config& c) { return ReadFolders(v, p, c.import_folders); }},
    {"import", "timezone", [](std::string_view v, const std::string&, Config& c) { return ReadTimezone(v, c.import_timezone); }},
    {"import", "originals", [](std::string_view v, const std::string&, Config& c) { return ReadBool(v, c.import_originals); }},
    {"import", "athlete", [](std::string_view v, const std::string&, Config& c) { c.import_athlete = std::string(v); return Status::Ok(); }},
    {"testing", "rate_window", [](std::string_view v, const std::string&, Config& c) { return ReadDuration(v, c.rate_window, false); }},
    {"testing", "rate_day", [](std::string_view v, const std::string&, Config& c) { return ReadDuration(v, c.rate_day, false); }},
    {"testing", "retry_base", [](std::string_view v, const std::string&, Config& c) { return ReadDuration(v, c.retry_base, false); }},
    {"testing", "max_reply", [](std::string_view v, const std::string&, Config& c) {
       size_t bytes = 0;
       const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), bytes);
       if (ec != std::errc() || end != v.data() + v.size() || bytes == 0 || bytes > (size_t{1} << 40))
         return ConfigError("not a size in bytes (a whole number from 1 to 2^40)");
       c.max_reply = bytes;
       return Status::Ok(); }},
};
// clang-format on

bool IsSection(std::string_view s) { return std::find(kSections.begin(), kSections.end(), s) != kSections.end(); }

const Key* FindKey(std::string_view section, std::string_view name) {
  for (const Key& key : kKeys)
    if (key.section == section && key.name == name) return &key;
  return nullptr;
}

std::vector<std::string_view> KeysOf(std::string_view section) {
  std::vector<std::string_view> names;
  for (const Key& key : kKeys)
    if (key.section == section) names.push_back(key.name);
  return names;
}

// ---- the parse

struct Setting {
  std::string value;
  int line = 0;
};

struct Error {
  int line = 0;
  std::string message;
};

// State shared by Reader() and Handler(); lives for one ParseConfig() call.
struct Parse {
  std::string_view text;
  size_t pos = 0;
  int line = 0;  // of the line inih is working on: it reads, then calls back
  std::map<std::pair<std::string, std::string>, Setting> settings;
  std::vector<Error> errors;
};

// Feeds inih one line at a time. Comments and indentation are removed here,
// not by inih, because inline comments and multi-line values are compile-time
// options of the library (Debian's build enables both: an indented line would
// silently continue the previous value) and because inih reads into a fixed
// buffer (`size`), so a long comment would otherwise be split into a bogus
// line. A `;` starts a comment at the start of a line or after whitespace.
char* Reader(char* buffer, int size, void* stream) {
  auto& parse = *static_cast<Parse*>(stream);
  if (parse.pos >= parse.text.size()) return nullptr;
  size_t end = parse.text.find('\n', parse.pos);
  if (end == std::string_view::npos) end = parse.text.size();
  std::string_view line = parse.text.substr(parse.pos, end - parse.pos);
  parse.pos = end + 1;
  ++parse.line;

  if (parse.line == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
  line = Trim(line);
  if (line.starts_with(';') || line.starts_with('#')) line = {};
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == ';' && (line[i - 1] == ' ' || line[i - 1] == '\t')) {
      line = Trim(line.substr(0, i));
      break;
    }
  }

  const size_t room = static_cast<size_t>(size) - 2;  // '\n' and '\0'
  if (line.size() > room) {
    parse.errors.push_back(
        {parse.line, "line too long (at most " + std::to_string(room) + " characters before comments)"});
    line = {};
  }
  // inih does not report empty sections, so unknown ones are caught here.
  if (line.starts_with('[')) {
    const size_t close = line.find(']');
    const std::string_view name = line.substr(1, close - 1);
    if (close == std::string_view::npos) {
      parse.errors.push_back({parse.line, "section header is missing \"]\""});
    } else if (!IsSection(name)) {
      std::string message = "unknown section [" + std::string(name) + "]";
      if (auto guess = Closest(name, kSections))
        message += ": did you mean [" + std::string(*guess) + "]?";
      else
        message += " (known sections: " + Join(kSections, ", ", "[", "]") + ")";
      parse.errors.push_back({parse.line, message});
    }
  }
  std::copy(line.begin(), line.end(), buffer);
  buffer[line.size()] = '\n';
  buffer[line.size() + 1] = '\0';
  return buffer;
}

// Called by inih for each key = value. Always returns 1 (success to inih):
// errors are recorded with their line here and inih's own return value is
// left to mean "syntax error".
int Handler(void* user, const char* section_c, const char* name_c, const char* value) {
  auto& parse = *static_cast<Parse*>(user);
  const std::string section = section_c, name = name_c;
  auto error = [&](std::string message) {
    parse.errors.push_back({parse.line, std::move(message)});
    return 1;
  };
  if (name.empty()) return error("missing key name before \"=\"");
  if (section.empty()) {
    for (const Key& key : kKeys)
      if (key.name == name)
        return error("key \"" + name + "\" is outside any section (put it under [" + std::string(key.section) + "])");
    return error("key \"" + name + "\" is outside any section");
  }
  if (!IsSection(section)) return 1;  // Reader() reported the section
  if (!FindKey(section, name)) {
    const std::vector<std::string_view> known = KeysOf(section);
    std::string message = "unknown key \"" + name + "\" in [" + section + "]";
    if (auto guess = Closest(name, known)) return error(message + ": did you mean " + std::string(*guess) + "?");
    for (const Key& key : kKeys)
      if (key.name == name) return error(message + ": it belongs in [" + std::string(key.section) + "]");
    return error(message + " (known keys: " + Join(known, ", ") + ")");
  }
  auto [it, inserted] = parse.settings.try_emplace({section, name}, Setting{value, parse.line});
  if (!inserted)
    return error("duplicate key \"" + name + "\" in [" + section + "] (first set on line " +
                 std::to_string(it->second.line) + ")");
  return 1;
}

}  // namespace

Result<Millis> ParseDuration(std::string_view text) {
  if (text == "0") return Millis(0);
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  auto not_a_duration = [] { return ConfigError("not a duration (" + std::string(kDurationHint) + ")"); };
  if (text.empty()) return not_a_duration();

  // One or more <number><unit>, e.g. "7d", "1h30m", "2.5s": what
  // FormatDuration writes reads back.
  int64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    const bool first = rest.data() == text.data();
    const std::string_view whole = rest.substr(0, rest.find_first_not_of("0123456789"));
    rest.remove_prefix(whole.size());
    std::string_view fraction;
    if (rest.starts_with('.')) {
      rest.remove_prefix(1);
      fraction = rest.substr(0, rest.find_first_not_of("0123456789"));
      rest.remove_prefix(fraction.size());
      if (fraction.empty()) return not_a_duration();
    }
    if (whole.empty() && fraction.empty()) return not_a_duration();
    if (rest.empty() && first) {  // a bare number: the unit is never guessed
      const std::string n(text);
      return ConfigError("not a duration: the unit is missing (use e.g. " + n + "s, " + n + "m, " + n + "h or " + n +
                         "d)");
    }
    // "ms" is listed before "m", so "5ms" is never read as 5 minutes.
    const auto* unit =
        std::find_if(std::begin(kUnits), std::end(kUnits), [&](auto& u) { return rest.starts_with(u.first); });
    if (unit == std::end(kUnits)) return not_a_duration();
    rest.remove_prefix(unit->first.size());

    // Exact integer arithmetic: 0.1s is 100ms, not 99.999...
    if (whole.size() > 12 || fraction.size() > 9) return ConfigError("not a duration: out of range");
    int64_t whole_value = 0, fraction_value = 0, scale = 1;
    std::from_chars(whole.data(), whole.data() + whole.size(), whole_value);
    std::from_chars(fraction.data(), fraction.data() + fraction.size(), fraction_value);
    for (size_t i = 0; i < fraction.size(); ++i) scale *= 10;
    if ((fraction_value * unit->second) % scale != 0) return ConfigError("not a duration: finer than a millisecond");
    int64_t ms = 0;
    if (__builtin_mul_overflow(whole_value, unit->second, &ms) ||
        __builtin_add_overflow(ms, fraction_value * unit->second / scale, &ms) ||
        __builtin_add_overflow(total, ms, &total))
      return ConfigError("not a duration: out of range");
  }
  // Every duration becomes a deadline on a clock counting nanoseconds in 64
  // bits (292 years from its epoch): longer ones overflowed, so that
  // refresh=200000d spun at 90% CPU and auth --timeout 200000d gave up at once.
  if (total > kMaxDuration.count())
    return ConfigError("not a duration: longer than " + FormatDuration(kMaxDuration) + " (100 years)");
  return Millis(total);
}

std::string FormatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms < 0) return "-" + FormatDuration(Millis(-ms));
  std::string out;
  for (auto [unit, size] :
       {std::pair{"d", int64_t{86'400'000}}, std::pair{"h", int64_t{3'600'000}}, std::pair{"m", int64_t{60'000}}}) {
    if (ms >= size) out += std::to_string(ms / size) + unit;
    ms %= size;
  }
  const int64_t seconds = ms / 1000, millis = ms % 1000;
  if (millis == 0) {
    if (seconds > 0) out += std::to_string(seconds) + "s";
  } else if (seconds == 0) {
    out += std::to_string(millis) + "ms";
  } else {
    std::array<char, 8> fraction{};
    std::snprintf(fraction.data(), fraction.size(), "%03d", static_cast<int>(millis));
    std::string digits = fraction.data();
    while (digits.ends_with('0')) digits.pop_back();
    out += std::to_string(seconds) + "." + digits + "s";
  }
  return out;
}

std::string ExpandHome(const std::string& path) {
  if (path == "~") return HomeDir();
  if (path.starts_with("~/")) return HomeDir() + path.substr(1);
  return path;
}

std::string DefaultConfigPath() {
  if (const char* env = std::getenv("STRAVAFS_CONFIG"); env && *env) return env;
  return XdgDir("XDG_CONFIG_HOME", ".config") + "/stravafs/stravafs.conf";
}

Result<Config> LoadConfig(const std::optional<std::string>& explicit_path) {
  const std::string path = explicit_path ? *explicit_path : DefaultConfigPath();
  std::string text;
  if (const int error = ReadWholeFile(path, text); error == ENOENT) {
    return ConfigError("no config file at " + path + ": copy the example (" + std::string(kExamplePaths) +
                       ") there and set client_id");  // (only auth and sync need one)
  } else if (error != 0) {
    return ConfigError("cannot read config file " + path + ": " + ReadProblem(error));
  }
  if (std::string problem = OwnershipProblem(path); !problem.empty()) return ConfigError(path + ": " + problem);
  return ParseConfig(text, path, /*check_perms=*/true);
}

Result<Config> LoadConfigOrDefaults(const std::optional<std::string>& explicit_path) {
  const char* env = std::getenv("STRAVAFS_CONFIG");
  const bool named = explicit_path || (env && *env);
  const std::string path = DefaultConfigPath();
  if (!named && ::access(path.c_str(), F_OK) != 0 && errno == ENOENT)
    return ParseConfig("", path, /*check_perms=*/false);
  return LoadConfig(explicit_path);
}

Result<Config> ParseConfig(const std::string& text, const std::string& path, bool check_perms) {
  Config config;
  config.path = path;
  config.cache_path = XdgDir("XDG_DATA_HOME", ".local/share") + "/stravafs/cache.db";
  config.state_dir = XdgDir("XDG_STATE_HOME", ".local/state") + "/stravafs";

  Parse parse;
  parse.text = text;
  const int syntax_line = ini_parse_stream(Reader, &parse, Handler, &parse);
  std::vector<Error>& errors = parse.errors;
  if (syntax_line > 0)
    errors.push_back({syntax_line, "syntax error (expected [section], key = value, or a ; comment)"});
  else if (syntax_line < 0)
    errors.push_back({0, "inih could not parse the file (error " + std::to_string(syntax_line) + ")"});

  auto setting = [&](const char* section, const char* name) -> const Setting* {
    auto it = parse.settings.find({section, name});
    return it == parse.settings.end() ? nullptr : &it->second;
  };
  for (const auto& [where, s] : parse.settings) {
    const Key* key = FindKey(where.first, where.second);
    if (!key->apply) continue;
    if (Status st = key->apply(s.value, path, config); !st.ok())
      errors.push_back({s.line, "[" + where.first + "] " + where.second + " = \"" + s.value + "\": " + st.message()});
  }

  // The secret: client_secret, else client_secret_file, else the environment.
  const Setting* inline_secret = setting("strava", "client_secret");
  const Setting* secret_file = setting("strava", "client_secret_file");
  if (inline_secret && inline_secret->value.empty()) inline_secret = nullptr;
  if (inline_secret && secret_file) {
    errors.push_back({secret_file->line, "[strava] client_secret_file: client_secret is already set on line " +
                                             std::to_string(inline_secret->line) + "; keep one of them"});
  } else if (inline_secret) {
    config.client_secret = inline_secret->value;
    if (check_perms) {
      if (std::string problem = PermissionProblem(path); !problem.empty())
        errors.push_back({inline_secret->line, "[strava] client_secret: " + problem});
    }
  } else if (secret_file) {
    const std::string prefix = "[strava] client_secret_file = \"" + secret_file->value + "\": ";
    const Result<std::string> resolved = ResolvePath(secret_file->value, path);
    const std::string file = resolved.ok() ? *resolved : "";
    std::string contents;
    std::string problem;
    if (secret_file->value.empty())
      problem = "empty (give the path of a file holding the client secret)";
    else if (!resolved.ok())
      problem = resolved.status().message();
    else if (const int error = ReadWholeFile(file, contents); error != 0)
      problem = "cannot read " + file + ": " + ReadProblem(error);
    else if (Trim(contents).empty())
      problem = file + " is empty";
    else if (check_perms && (problem = OwnershipProblem(file)).empty())
      problem = PermissionProblem(file);
    if (problem.empty())
      config.client_secret = Trim(contents);
    else
      errors.push_back({secret_file->line, prefix + problem});
  } else if (const char* env = std::getenv("STRAVA_CLIENT_SECRET")) {
    config.client_secret = env;
  }

  if (errors.empty()) return config;
  // The earliest line first; among errors on one line, the first recorded.
  const Error& first =
      *std::min_element(errors.begin(), errors.end(), [](const Error& a, const Error& b) { return a.line < b.line; });
  if (first.line == 0) return ConfigError(path + ": " + first.message);
  return ConfigError(path + ":" + std::to_string(first.line) + ": " + first.message);
}

}  // namespace stravafs
