// SyncLock: one sync per cache at a time, across processes.
//
// An flock(2) on "<cache>.lock", which the kernel releases when the holder
// dies, even by kill -9, so a crash never leaves a stale lock. The holder
// writes its pid and start time into the file so a second sync can say who
// holds it. Move-only; released on destruction.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace stravafs {

class SyncLock {
 public:
  // Waits up to `wait_ms` for the lock; kLocked error naming the holder if
  // it stays taken.
  static Result<SyncLock> Acquire(const std::string& cache_path, int64_t wait_ms);
  SyncLock(SyncLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  SyncLock& operator=(SyncLock&&) = delete;
  SyncLock(const SyncLock&) = delete;
  ~SyncLock();

 private:
  explicit SyncLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace stravafs
