// state.h - the emulator's mutable state, one class per concern:
//   ActivityStore  activities sorted by start time + id index, CRUD, listing
//   Auth           authorization codes, grants, access/refresh tokens, each
//                  bound to the athlete who approved (a number: 0, 1, ...)
//   RateLimiter    Strava's two windows (short + daily) for overall and read
//   Faults         queued fault-injection rules
//   Metrics        counters by endpoint and by athlete, the last 1000 requests
// Every public method of every class takes that object's own mutex, so all
// of them are safe to call from cpp-httplib's worker threads. Methods return
// copies, never references into the guarded data.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "generator.h"

namespace emu {

class ActivityStore {
 public:
  // end: --end (epoch s), default start of a created activity in an empty store.
  ActivityStore(Generated g, uint64_t seed, int64_t hidden_every, int64_t end);

  struct ListQuery {
    std::optional<int64_t> before, after;
    int64_t page = 1, per_page = 30;
    bool read_all = false;  // token may see only_me activities
  };
  // Strava paging: slice first, then drop hidden and (without read_all)
  // only_me activities, so pages can come back short.
  std::vector<Activity> list(const ListQuery &q) const;
  // Any activity, hidden ones included (callers decide).
  std::optional<Activity> get(int64_t id) const;
  // Every non-hidden activity, sorted by id.
  std::vector<Activity> all_visible_by_id() const;
  // Control API. create/patch return std::nullopt + error text on bad input.
  std::optional<Activity> create(const ojson &fields, std::string &err);
  std::optional<Activity> patch(int64_t id, const ojson &fields, std::string &err, bool &found);
  bool remove(int64_t id);
  std::map<std::string, double> gear_distance() const;
  ojson stats_json(int64_t now) const;
  size_t size() const;

 private:
  void reindex();  // caller holds mu_
  static bool apply(Activity &a, const ojson &fields, std::string &err);

  mutable std::mutex mu_;
  std::vector<Activity> acts_;  // sorted by (start, id)
  std::unordered_map<int64_t, size_t> index_;
  uint64_t seed_;
  int64_t hidden_every_;
  int64_t next_id_;
  int64_t created_ = 0;
  int64_t spacing_;
  int64_t end_;
};

// Scope set helpers ("read,activity:read_all").
std::set<std::string> parse_scopes(const std::string &s);
std::string join_scopes(const std::set<std::string> &s);
bool valid_scope(const std::string &s);

class Auth {
 public:
  // Makes the name of a new token or code; kind is "access", "refresh" or
  // "code". Called with Auth's mutex held.
  using Namer = std::function<std::string(const std::string &kind)>;
  // namer: empty = 40 random hex digits. rotate: false = a refresh hands back
  // the same refresh token (Strava may rotate it, or not).
  explicit Auth(int64_t token_lifetime, Namer namer = {}, bool rotate = true);
  // code: the code's name; empty = a new one. athlete: who approved it; the
  // grant it is exchanged for answers for that athlete.
  std::string mint_code(const std::set<std::string> &scopes, int64_t now, const std::string &code = "",
                        int athlete = 0);

  struct TokenReply {
    std::string access, refresh;
    int64_t expires_at = 0;
    std::set<std::string> scopes;
    int athlete = 0;
  };
  // What a valid access token may do, and for whom.
  struct Access {
    std::set<std::string> scopes;
    int athlete = 0;
  };
  // Both return std::nullopt with resource/field filled in on error.
  std::optional<TokenReply> exchange_code(const std::string &code, int64_t now, std::string &resource,
                                          std::string &field);
  std::optional<TokenReply> refresh(const std::string &refresh_token, int64_t now);
  // A valid access token's grant, std::nullopt if unknown/expired/revoked.
  std::optional<Access> check(const std::string &access, int64_t now) const;
  // Revokes the token's grant (only that one).
  bool revoke(const std::string &access, int64_t now);
  void set_rotate(bool rotate);
  // Revokes every grant of one athlete (as that athlete removing the app
  // would); returns how many were still live.
  int revoke_athlete(int athlete);
  // Revokes every grant of every athlete.
  void revoke_all();
  void expire_all(int64_t now);

 private:
  std::string new_token(const char *kind);  // caller holds mu_
  struct Grant {
    std::set<std::string> scopes;
    std::string access, refresh;
    int athlete = 0;
    bool revoked = false;
  };
  struct Code {
    std::set<std::string> scopes;
    int64_t expires_at = 0;
    int athlete = 0;
    bool used = false;
  };
  struct AccessInfo {
    size_t grant = 0;
    int64_t expires_at = 0;
  };
  mutable std::mutex mu_;
  int64_t lifetime_;
  Namer namer_;
  bool rotate_;
  uint64_t counter_ = 0, salt_ = 0;
  std::vector<Grant> grants_;
  std::unordered_map<std::string, AccessInfo> access_;
  std::unordered_map<std::string, size_t> refresh_;
  std::unordered_map<std::string, Code> codes_;
};

class RateLimiter {
 public:
  struct Limits {
    int64_t limit_s = 200, limit_d = 2000, read_s = 100, read_d = 1000;
    int64_t window = 900, day = 86400;
  };
  struct Snapshot {
    Limits l;
    int64_t use_s = 0, use_d = 0, ruse_s = 0, ruse_d = 0;
    int64_t window_reset = 0, day_reset = 0;
  };
  explicit RateLimiter(Limits l);
  // Counts one API request. Returns false (and counts it against the daily
  // usage only) when a limit was already reached. force_reject: count it as
  // a rejected request without checking (fault kind "429").
  bool admit(int64_t now, bool force_reject, Snapshot &after);
  Snapshot snapshot(int64_t now);
  void configure(const ojson &body, int64_t now);  // POST /_emulator/ratelimit
  // Sets the four limits (not the window lengths).
  void set_limits(int64_t limit_s, int64_t limit_d, int64_t read_s, int64_t read_d);
  // Requests made by other apps of the same client id: they share the limits.
  void add_usage(int64_t now, int64_t short_n, int64_t daily_n);

 private:
  void roll(int64_t now);  // caller holds mu_
  Snapshot snap();         // caller holds mu_
  std::mutex mu_;
  Limits l_;
  int64_t use_s_ = 0, use_d_ = 0, ruse_s_ = 0, ruse_d_ = 0;
  int64_t win_id_ = 0, day_id_ = 0;
};

struct Fault {
  std::string match, kind;
  int64_t count = 1, skip = 0, delay_ms = -1;
};

class Faults {
 public:
  static bool valid_kind(const std::string &k);
  void add(Fault f);
  void clear();
  ojson list() const;
  // The first queued rule whose match applies takes the request: it either
  // uses up one of its skips (no fault) or fires (count decremented).
  std::optional<Fault> take(const std::string &path);

 private:
  mutable std::mutex mu_;
  std::deque<Fault> rules_;
};

class Metrics {
 public:
  // athletes: the ids counted by athlete (all of them, also at 0).
  explicit Metrics(std::vector<int64_t> athletes = {});
  static const std::vector<std::string> &endpoints();
  // athlete: the id of the token's athlete, when the request has a valid one.
  void count(const std::string &endpoint, std::optional<int64_t> athlete = std::nullopt);
  void rejected();
  void log(const std::string &method, const std::string &path, const std::string &query, int status);
  ojson counters() const;
  ojson requests() const;
  void reset();

 private:
  mutable std::mutex mu_;
  int64_t total_ = 0, rejected_ = 0;
  std::map<std::string, int64_t> by_;
  std::vector<int64_t> athletes_;
  std::map<int64_t, int64_t> by_athlete_;
  std::deque<ojson> log_;
};

}  // namespace emu
