#include "strava/token_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "base/json.h"

namespace stravafs {

namespace {

Status Errno(const std::string& what) { return Status::Error(ErrorKind::kAuth, what + ": " + std::strerror(errno)); }

}  // namespace

Result<TokenLock> TokenLock::Acquire(const std::string& dir, int64_t wait_ms) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Error(ErrorKind::kAuth, "cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return Errno("cannot make " + dir + " private");
  const std::string path = dir + "/tokens.json.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("cannot open " + path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || std::chrono::steady_clock::now() >= deadline) {
      const Status s =
          errno == EWOULDBLOCK
              ? Status::Error(ErrorKind::kAuth, "another stravafs held " + path + " (refreshing the tokens) too long")
              : Errno("cannot lock " + path);
      ::close(fd);
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return TokenLock(fd);
}

TokenLock::~TokenLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

namespace {

Result<Tokens> ReadGrant(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT)
      return Status::Error(ErrorKind::kAuth, "not authorized yet (no " + path + "): run `stravafs auth`");
    return Errno("cannot read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  auto j = ParseJson(text.str());
  if (j.is_discarded() || !j.is_object() || !j.contains("refresh_token") || !j["refresh_token"].is_string())
    return Status::Error(ErrorKind::kAuth, path + " is damaged: run `stravafs auth` again");
  auto wrong = [&](const char* key, bool (Json::*is)() const noexcept) { return j.contains(key) && !(j[key].*is)(); };
  if (wrong("access_token", &Json::is_string) || wrong("scope", &Json::is_string) ||
      wrong("base_url", &Json::is_string) || wrong("client_id", &Json::is_string) ||
      wrong("athlete_name", &Json::is_string) || wrong("refused", &Json::is_string) ||
      (j.contains("refused_at") && !FitsInt64(j["refused_at"])) ||
      (j.contains("expires_at") && !FitsInt64(j["expires_at"])) ||
      (j.contains("athlete_id") && !FitsInt64(j["athlete_id"])))
    return Status::Error(ErrorKind::kAuth, path + " is damaged: run `stravafs auth` again");
  Tokens t;
  t.refresh_token = j["refresh_token"];
  t.access_token = j.value("access_token", "");
  t.expires_at = j.value("expires_at", int64_t{0});
  t.scope = j.value("scope", "");
  t.athlete_id = j.value("athlete_id", int64_t{0});
  t.base_url = j.value("base_url", "");
  t.client_id = j.value("client_id", "");
  t.athlete_name = j.value("athlete_name", "");
  t.refused_at = j.value("refused_at", int64_t{0});
  t.refused = j.value("refused", "");
  return t;
}

// "tokens-123.json" -> 123; 0 for any other name.
int64_t AthleteOfFileName(const std::string& name) {
  static constexpr std::string_view kPrefix = "tokens-", kSuffix = ".json";
  if (name.size() <= kPrefix.size() + kSuffix.size() || !name.starts_with(kPrefix) || !name.ends_with(kSuffix))
    return 0;
  const std::string digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos || digits[0] == '0') return 0;
  return std::stoll(digits);
}

std::string Describe(const Grant& g) {
  if (!g.tokens.ok()) return g.path + " (damaged)";
  const Tokens& t = *g.tokens;
  std::string s = t.athlete_id ? std::to_string(t.athlete_id) : "an unrecorded athlete";
  if (!t.athlete_name.empty()) s += " (" + t.athlete_name + ")";
  return s;
}

}  // namespace

std::vector<Grant> TokenStore::List() const {
  std::vector<Grant> out;
  if (::access(path().c_str(), F_OK) == 0) out.push_back({path(), ReadGrant(path())});
  std::vector<std::pair<int64_t, std::string>> others;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec))
    if (int64_t id = AthleteOfFileName(e.path().filename().string()); id != 0) others.emplace_back(id, e.path());
  std::sort(others.begin(), others.end());
  for (auto& [id, p] : others) out.push_back({p, ReadGrant(p)});
  return out;
}

std::string TokenStore::PathFor(int64_t athlete_id) const {
  const std::string own = dir_ + "/tokens-" + std::to_string(athlete_id) + ".json";
  if (athlete_id != 0 && ::access(own.c_str(), F_OK) == 0) return own;
  auto first = ReadGrant(path());
  if (athlete_id == 0 || !first.ok() || first->athlete_id == 0 || first->athlete_id == athlete_id) return path();
  return own;
}

Result<Tokens> TokenStore::Load(int64_t athlete_id) const {
  if (athlete_id != 0) {  // where Save writes it, so a refresh reads back what it saved
    auto own = ReadGrant(PathFor(athlete_id));
    if (own.ok() && own->athlete_id == athlete_id) return own;
  }
  std::vector<Grant> grants = List();
  if (grants.empty()) return ReadGrant(path());  // "not authorized yet"
  if (grants.size() == 1 && (athlete_id == 0 || !grants[0].tokens.ok() || grants[0].tokens->athlete_id == 0 ||
                             grants[0].tokens->athlete_id == athlete_id))
    return std::move(grants[0].tokens);
  std::string list;
  for (const Grant& g : grants) {
    if (athlete_id != 0 && g.tokens.ok() && g.tokens->athlete_id == athlete_id) return *g.tokens;
    list += (list.empty() ? "" : ", ") + Describe(g);
  }
  if (athlete_id == 0)
    return Status::Error(ErrorKind::kAuth, "several athletes are authorized here (" + list +
                                               "): say which with `stravafs sync --athlete ID`");
  return Status::Error(ErrorKind::kAuth, "athlete " + std::to_string(athlete_id) +
                                             " is not authorized here (the grants are " + list +
                                             "): run `stravafs auth` as that athlete");
}

Status TokenStore::Remove(int64_t athlete_id) const {
  for (const Grant& g : List())
    if (g.tokens.ok() && g.tokens->athlete_id == athlete_id) {
      if (::unlink(g.path.c_str()) != 0 && errno != ENOENT) return Errno("cannot delete " + g.path);
      int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
      }
    }
  return Status::Ok();
}

Status TokenStore::Save(const Tokens& t) const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::Error(ErrorKind::kAuth, "cannot create " + dir_ + ": " + ec.message());
  if (::chmod(dir_.c_str(), 0700) != 0) return Errno("cannot make " + dir_ + " private");

  Json j = {{"access_token", t.access_token}, {"refresh_token", t.refresh_token},
            {"expires_at", t.expires_at},     {"scope", t.scope},
            {"athlete_id", t.athlete_id},     {"base_url", t.base_url},
            {"client_id", t.client_id}};
  if (!t.athlete_name.empty()) j["athlete_name"] = t.athlete_name;
  if (t.refused_at != 0) {
    j["refused_at"] = t.refused_at;
    j["refused"] = t.refused;
  }
  std::string body = j.dump(2) + "\n";
  const std::string target = PathFor(t.athlete_id);
  // Unique per thread too: two threads of one process may save at once.
  std::string tmp = target + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(::gettid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("cannot write " + tmp);
  const char* p = body.data();
  size_t left = body.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Errno("cannot write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    Status s = Errno("cannot flush " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    Status s = Errno("cannot replace " + target);
    ::unlink(tmp.c_str());
    return s;
  }
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace stravafs
