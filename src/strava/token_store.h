// TokenStore: the OAuth tokens on disk, $XDG_STATE_HOME/stravafs/tokens.json.
//
// The file is 0600 in a 0700 directory and is replaced atomically (write a
// temporary file, fsync, rename, fsync the directory), so a crash leaves
// either the old tokens or the new ones, never half of each. Strava kills a
// refresh token the moment it rotates it: Save() must succeed before a new
// access token is used. Tokens never go anywhere else: not the cache, not
// logs, not argv, and not to a server or app other than the one that issued
// them (the file records both; TokenSource checks them before every use).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace stravafs {

struct Tokens {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_at = 0;  // epoch seconds
  std::string scope;       // as granted, "" when unknown
  int64_t athlete_id = 0;  // 0 when unknown
  // Where the tokens were issued: the config's base_url and client_id at the
  // time. Empty in files written before stravafs recorded them; such tokens
  // are bound to the config that first refreshes them.
  std::string base_url;
  std::string client_id;
};

// An exclusive lock (flock) on tokens.json.lock, held around one
// load-refresh-save: two processes (two syncs on two caches, the mount and
// the extension) share tokens.json, and Strava kills a refresh token the
// moment another refresh rotates it. Released when destroyed.
class TokenLock {
 public:
  // Waits up to `wait_ms` for another holder.
  static Result<TokenLock> Acquire(const std::string& dir, int64_t wait_ms);
  TokenLock(TokenLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  TokenLock& operator=(TokenLock&&) = delete;
  ~TokenLock();

 private:
  explicit TokenLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

class TokenStore {
 public:
  explicit TokenStore(std::string dir) : dir_(std::move(dir)) {}
  std::string path() const { return dir_ + "/tokens.json"; }
  const std::string& dir() const { return dir_; }

  // kAuth error "not authorized yet: run `stravafs auth`" when there is no file.
  Result<Tokens> Load() const;
  Status Save(const Tokens& tokens) const;

 private:
  std::string dir_;
};

}  // namespace stravafs
