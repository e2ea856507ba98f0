#include "cache/sync_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "model/activity.h"

namespace stravafs {

Result<SyncLock> SyncLock::Acquire(const std::string& cache_path, int64_t wait_ms) {
  const std::string path = cache_path + ".lock";
  // The first sync creates the cache's folder, private like the cache.
  std::filesystem::path dir = std::filesystem::path(cache_path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    ::chmod(dir.c_str(), 0700);
  }
  // O_NOFOLLOW: the lock is truncated and written below, and a symbolic link
  // there made that overwrite whatever it named (issue 15).
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == ELOOP)
    return Status::Error(ErrorKind::kLocked,
                         path + " is a symbolic link; a lock file never is: remove it (rm " + path + ")");
  if (fd < 0) return Status::Error(ErrorKind::kLocked, "cannot open " + path + ": " + std::strerror(errno));
  (void)!::fchmod(fd, 0600);  // one made elsewhere (a copied folder) becomes private
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      Status s = Status::Error(ErrorKind::kLocked, "cannot lock " + path + ": " + std::strerror(errno));
      ::close(fd);
      return s;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      char holder[128] = {0};
      ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
      std::string who = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "another process";
      while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
      ::close(fd);
      return Status::Error(ErrorKind::kLocked, "another sync is updating " + cache_path + " (" + who +
                                                   "); wait for it to finish, or stop it");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string me = "pid " + std::to_string(::getpid()) + ", started " + FormatIsoUtc(::time(nullptr)) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, me.data(), me.size(), 0);
  return SyncLock(fd);
}

SyncLock::~SyncLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace stravafs
