#include "strava/token_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/json.h"

namespace stravafs {

namespace {

Status Errno(const std::string& what) { return Status::Error(ErrorKind::kAuth, what + ": " + std::strerror(errno)); }

}  // namespace

Result<TokenLock> TokenLock::Acquire(const std::string& dir, int64_t wait_ms) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Error(ErrorKind::kAuth, "cannot create " + dir + ": " + ec.message());
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

Result<Tokens> TokenStore::Load() const {
  std::ifstream in(path());
  if (!in) {
    if (errno == ENOENT)
      return Status::Error(ErrorKind::kAuth, "not authorized yet (no " + path() + "): run `stravafs auth`");
    return Errno("cannot read " + path());
  }
  std::stringstream text;
  text << in.rdbuf();
  auto j = ParseJson(text.str());
  if (j.is_discarded() || !j.is_object() || !j.contains("refresh_token") || !j["refresh_token"].is_string())
    return Status::Error(ErrorKind::kAuth, path() + " is damaged: run `stravafs auth` again");
  auto wrong = [&](const char* key, bool (Json::*is)() const noexcept) { return j.contains(key) && !(j[key].*is)(); };
  if (wrong("access_token", &Json::is_string) || wrong("scope", &Json::is_string) ||
      wrong("base_url", &Json::is_string) || wrong("client_id", &Json::is_string) ||
      (j.contains("expires_at") && !FitsInt64(j["expires_at"])) ||
      (j.contains("athlete_id") && !FitsInt64(j["athlete_id"])))
    return Status::Error(ErrorKind::kAuth, path() + " is damaged: run `stravafs auth` again");
  Tokens t;
  t.refresh_token = j["refresh_token"];
  t.access_token = j.value("access_token", "");
  t.expires_at = j.value("expires_at", int64_t{0});
  t.scope = j.value("scope", "");
  t.athlete_id = j.value("athlete_id", int64_t{0});
  t.base_url = j.value("base_url", "");
  t.client_id = j.value("client_id", "");
  return t;
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
  std::string body = j.dump(2) + "\n";
  // Unique per thread too: two threads of one process may save at once.
  std::string tmp = path() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(::gettid());
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
  if (::rename(tmp.c_str(), path().c_str()) != 0) {
    Status s = Errno("cannot replace " + path());
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
