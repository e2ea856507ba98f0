// TokenStore: the OAuth grants on disk, one file per athlete in
// $XDG_STATE_HOME/stravafs/: tokens.json holds the first athlete's (the only
// file of a single-athlete setup, as before there were several), and each
// further athlete's is tokens-ATHLETE_ID.json.
//
// Each file is 0600 in a 0700 directory and is replaced atomically (write a
// temporary file, fsync, rename, fsync the directory), so a crash leaves
// either the old tokens or the new ones, never half of each. Strava kills a
// refresh token the moment it rotates it: Save() must succeed before a new
// access token is used. Tokens never go anywhere else: not the cache, not
// logs, not argv, and not to a server or app other than the one that issued
// them (the file records both; TokenSource checks them before every use).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  std::string athlete_name;  // "Firstname Lastname" from the grant, "" when unknown
  // When Strava last refused to refresh these tokens (revoked, replaced),
  // and its answer; 0 and "" while it never has. `stravafs athletes` shows it.
  int64_t refused_at = 0;
  std::string refused;
};

// One grant file and what it holds (an error when it is damaged).
struct Grant {
  std::string path;
  Result<Tokens> tokens;
};

// An exclusive lock (flock) on tokens.json.lock, held around one
// load-refresh-save of any grant: two processes (two syncs on two caches, the
// mount and the extension) share the grants, and Strava kills a refresh token the
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
  // tokens.json, the first athlete's grant.
  std::string path() const { return dir_ + "/tokens.json"; }
  const std::string& dir() const { return dir_; }

  // Every grant file: tokens.json first, then by athlete id.
  std::vector<Grant> List() const;
  // The grant of `athlete_id`; with 0, the only grant there is. kAuth errors
  // say what to run: no grant at all ("run `stravafs auth`"), several when
  // none was named, or none for that athlete. A grant whose athlete is not
  // recorded (tokens.json written by --refresh-token before stravafs asked)
  // counts as anyone's while it is the only one.
  Result<Tokens> Load(int64_t athlete_id = 0) const;
  // Where the athlete's grant is (or goes): tokens.json when it holds that
  // athlete, an unrecorded one, or nothing; else tokens-ATHLETE_ID.json.
  std::string PathFor(int64_t athlete_id) const;
  Status Save(const Tokens& tokens) const;
  // Deletes the athlete's grant file; ok when there was none.
  Status Remove(int64_t athlete_id) const;

 private:
  std::string dir_;
};

}  // namespace stravafs
