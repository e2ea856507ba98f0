// state.cc - see state.h. Each class guards its data with its own mutex;
// no method calls into another class, so there is no lock ordering to mind.
#include "state.h"

#include <algorithm>
#include <random>

#include "timeutil.h"

namespace emu {

namespace {

bool by_start(const Activity &a, const Activity &b) { return a.start != b.start ? a.start < b.start : a.id < b.id; }

bool visible_public(const Activity &a) { return !a.hidden && a.visibility == "everyone"; }

}  // namespace

// ---------------------------------------------------------------- activities

ActivityStore::ActivityStore(Generated g, uint64_t seed, int64_t hidden_every, int64_t end)
    : acts_(std::move(g.activities)),
      seed_(seed),
      hidden_every_(hidden_every),
      next_id_(g.next_id),
      spacing_(g.avg_spacing),
      end_(end) {
  std::stable_sort(acts_.begin(), acts_.end(), by_start);
  reindex();
}

void ActivityStore::reindex() {
  index_.clear();
  index_.reserve(acts_.size());
  for (size_t i = 0; i < acts_.size(); ++i) index_[acts_[i].id] = i;
}

size_t ActivityStore::size() const {
  std::lock_guard lk(mu_);
  return acts_.size();
}

std::vector<Activity> ActivityStore::list(const ListQuery &q) const {
  std::lock_guard lk(mu_);
  auto lo_it = acts_.begin(), hi_it = acts_.end();
  if (q.after)
    lo_it = std::upper_bound(acts_.begin(), acts_.end(), *q.after,
                             [](int64_t t, const Activity &a) { return t < a.start; });
  if (q.before)
    hi_it = std::lower_bound(acts_.begin(), acts_.end(), *q.before,
                             [](const Activity &a, int64_t t) { return a.start < t; });
  std::vector<Activity> out;
  if (hi_it <= lo_it) return out;
  const size_t lo = static_cast<size_t>(lo_it - acts_.begin());
  const size_t hi = static_cast<size_t>(hi_it - acts_.begin());
  const size_t count = hi - lo;
  const bool oldest_first = q.after && !q.before;
  const int64_t page = std::max<int64_t>(1, q.page);
  if (page - 1 > static_cast<int64_t>(count) / std::max<int64_t>(1, q.per_page)) return out;
  const size_t offset = static_cast<size_t>((page - 1) * q.per_page);
  if (offset >= count) return out;
  const size_t end = std::min(count, offset + static_cast<size_t>(q.per_page));
  for (size_t k = offset; k < end; ++k) {
    const Activity &a = acts_[oldest_first ? lo + k : hi - 1 - k];
    if (a.hidden) continue;
    if (a.visibility == "only_me" && !q.read_all) continue;
    out.push_back(a);
  }
  return out;
}

std::optional<Activity> ActivityStore::get(int64_t id) const {
  std::lock_guard lk(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return acts_[it->second];
}

std::vector<Activity> ActivityStore::all_visible_by_id() const {
  std::vector<Activity> out;
  {
    std::lock_guard lk(mu_);
    for (const Activity &a : acts_)
      if (!a.hidden) out.push_back(a);
  }
  std::sort(out.begin(), out.end(), [](const Activity &a, const Activity &b) { return a.id < b.id; });
  return out;
}

// Applies control-API fields to a; on error returns false and leaves a in an
// unspecified state (callers work on a copy).
bool ActivityStore::apply(Activity &a, const ojson &f, std::string &err) {
  if (!f.is_object()) {
    err = "body must be a JSON object";
    return false;
  }
  auto str = [&](const char *k, std::string &out) {
    if (!f.contains(k)) return true;
    if (!f[k].is_string()) {
      err = std::string(k) + " must be a string";
      return false;
    }
    out = f[k].get<std::string>();
    return true;
  };
  auto boolean = [&](const char *k, bool &out) {
    if (!f.contains(k)) return true;
    if (!f[k].is_boolean()) {
      err = std::string(k) + " must be a boolean";
      return false;
    }
    out = f[k].get<bool>();
    return true;
  };
  auto number = [&](const char *k, double &out) {
    if (!f.contains(k)) return true;
    if (!f[k].is_number()) {
      err = std::string(k) + " must be a number";
      return false;
    }
    out = f[k].get<double>();
    return true;
  };
  auto integer = [&](const char *k, int64_t &out) {
    double d = static_cast<double>(out);
    if (!number(k, d)) return false;
    out = static_cast<int64_t>(d);
    return true;
  };
  static const std::set<std::string> core = {
      "id",           "name",     "sport_type",   "type",         "description",          "private",    "visibility",
      "gear_id",      "distance", "moving_time",  "elapsed_time", "total_elevation_gain", "manual",     "trainer",
      "commute",      "flagged",  "workout_type", "start_date",   "start_date_local",     "utc_offset", "timezone",
      "has_heartrate"};

  if (!str("name", a.name)) return false;
  if (f.contains("sport_type")) {
    if (!str("sport_type", a.sport_type)) return false;
    a.type = type_for_sport(a.sport_type);
  }
  if (!str("type", a.type)) return false;
  if (f.contains("description")) {
    if (f["description"].is_null())
      a.description.reset();
    else if (f["description"].is_string())
      a.description = f["description"].get<std::string>();
    else
      return err = "description must be a string or null", false;
  }
  if (f.contains("visibility")) {
    std::string v;
    if (!str("visibility", v)) return false;
    if (v != "everyone" && v != "followers_only" && v != "only_me")
      return err = "visibility must be everyone, followers_only or only_me", false;
    a.visibility = v;
    a.is_private = v == "only_me";
  }
  if (f.contains("private")) {
    if (!boolean("private", a.is_private)) return false;
    if (!f.contains("visibility")) a.visibility = a.is_private ? "only_me" : "everyone";
  }
  if (f.contains("gear_id")) {
    if (f["gear_id"].is_null())
      a.gear_id.reset();
    else if (f["gear_id"].is_string())
      a.gear_id = f["gear_id"].get<std::string>();
    else
      return err = "gear_id must be a string or null", false;
  }
  if (!number("distance", a.distance) || !integer("moving_time", a.moving_time) ||
      !integer("elapsed_time", a.elapsed_time) || !number("total_elevation_gain", a.elev_gain) ||
      !boolean("manual", a.manual) || !boolean("trainer", a.trainer) || !boolean("commute", a.commute) ||
      !boolean("flagged", a.flagged) || !boolean("has_heartrate", a.has_hr))
    return false;
  if (a.moving_time < 0 || a.elapsed_time < 0 || a.distance < 0) return err = "negative value", false;
  if (a.elapsed_time < a.moving_time) a.elapsed_time = a.moving_time;
  if (a.has_hr && a.avg_hr <= 0) a.avg_hr = 140, a.max_hr = 170;
  if (f.contains("workout_type")) {
    if (f["workout_type"].is_null())
      a.workout_type = -1;
    else if (f["workout_type"].is_number_integer())
      a.workout_type = f["workout_type"].get<int>();
    else
      return err = "workout_type must be an integer or null", false;
  }
  // Time fields: start_date (UTC), start_date_local (wall clock), utc_offset, timezone.
  if (f.contains("timezone")) {
    std::string tz;
    if (!str("timezone", tz)) return false;
    const size_t sp = tz.find(' ');
    const std::string iana = tz.rfind("(GMT", 0) == 0 && sp != std::string::npos ? tz.substr(sp + 1) : tz;
    a.zone = zone_index(iana);
    a.timezone = a.zone >= 0 && tz.rfind("(GMT", 0) != 0 ? timezone_label(zones()[static_cast<size_t>(a.zone)]) : tz;
  }
  std::optional<int64_t> start, local;
  if (f.contains("start_date")) {
    if (f["start_date"].is_number())
      start = f["start_date"].get<int64_t>();
    else if (f["start_date"].is_string())
      start = parse_iso(f["start_date"].get<std::string>());
    if (!start) return err = "start_date must be ISO-8601 or epoch seconds", false;
  }
  if (f.contains("start_date_local")) {
    if (f["start_date_local"].is_string()) local = parse_iso(f["start_date_local"].get<std::string>());
    if (!local) return err = "start_date_local must be ISO-8601", false;
  }
  std::optional<int64_t> offset;
  if (f.contains("utc_offset")) {
    if (!f["utc_offset"].is_number()) return err = "utc_offset must be a number", false;
    offset = static_cast<int64_t>(f["utc_offset"].get<double>());
  }
  const Zone *zone = a.zone >= 0 ? &zones()[static_cast<size_t>(a.zone)] : nullptr;
  if (start) a.start = *start;
  if (offset) {
    a.utc_offset = static_cast<int>(*offset);
    if (local && !start) a.start = *local - *offset;
  } else if (local && start) {
    a.utc_offset = static_cast<int>(*local - *start);
  } else if (local) {
    if (zone)
      a.start = local_to_utc(*zone, *local);
    else
      a.start = *local - a.utc_offset;
    a.utc_offset = static_cast<int>(*local - a.start);
  } else if (zone && (start || f.contains("timezone"))) {
    a.utc_offset = offset_at(*zone, a.start);
  }
  for (auto it = f.begin(); it != f.end(); ++it)
    if (!core.count(it.key())) a.extra[it.key()] = it.value();
  return true;
}

std::optional<Activity> ActivityStore::create(const ojson &fields, std::string &err) {
  std::lock_guard lk(mu_);
  int64_t id = next_id_;
  if (fields.is_object() && fields.contains("id")) {
    if (!fields["id"].is_number_integer() || fields["id"].get<int64_t>() <= 0)
      return err = "id must be a positive integer", std::nullopt;
    id = fields["id"].get<int64_t>();
    if (index_.count(id)) return err = "id already exists", std::nullopt;
  }
  const int64_t start = acts_.empty() ? end_ - 3600 : acts_.back().start + std::max<int64_t>(3600, spacing_);
  Activity a = generate_one(seed_, id, start, 0, 0);  // created activities are never hidden
  if (!apply(a, fields, err)) return std::nullopt;
  if (id == next_id_) next_id_ += 1 + static_cast<int64_t>(mix64(seed_ ^ static_cast<uint64_t>(created_)) % 40000);
  next_id_ = std::max(next_id_, id + 1);
  ++created_;
  acts_.insert(std::upper_bound(acts_.begin(), acts_.end(), a, by_start), a);
  reindex();
  return a;
}

std::optional<Activity> ActivityStore::patch(int64_t id, const ojson &fields, std::string &err, bool &found) {
  std::lock_guard lk(mu_);
  auto it = index_.find(id);
  found = it != index_.end() && !acts_[it->second].hidden;
  if (!found) return std::nullopt;
  if (fields.is_object() && fields.contains("id") && fields["id"] != ojson(id))
    return err = "id cannot be changed", std::nullopt;
  Activity a = acts_[it->second];
  if (!apply(a, fields, err)) return std::nullopt;
  acts_.erase(acts_.begin() + static_cast<std::ptrdiff_t>(it->second));
  acts_.insert(std::upper_bound(acts_.begin(), acts_.end(), a, by_start), a);
  reindex();
  return a;
}

bool ActivityStore::remove(int64_t id) {
  std::lock_guard lk(mu_);
  auto it = index_.find(id);
  if (it == index_.end() || acts_[it->second].hidden) return false;
  acts_.erase(acts_.begin() + static_cast<std::ptrdiff_t>(it->second));
  reindex();
  return true;
}

std::map<std::string, double> ActivityStore::gear_distance() const {
  std::lock_guard lk(mu_);
  std::map<std::string, double> d;
  for (const Activity &a : acts_)
    if (!a.hidden && a.gear_id) d[*a.gear_id] += a.distance;
  return d;
}

ojson ActivityStore::stats_json(int64_t now) const {
  struct Tot {
    int64_t count = 0, moving = 0, elapsed = 0, ach = 0;
    double dist = 0, elev = 0;
  };
  Tot t[3][3];  // [recent, ytd, all][ride, run, swim]
  double biggest_ride = 0, biggest_climb = 0;
  {
    std::lock_guard lk(mu_);
    const int64_t ref = std::max(now, acts_.empty() ? now : acts_.back().start);
    int64_t y;
    unsigned m, d;
    civil_from_days(ref / 86400, y, m, d);
    const int64_t ytd = days_from_civil(y, 1, 1) * 86400;
    for (const Activity &a : acts_) {
      if (!visible_public(a)) continue;
      int kind = is_ride_type(a.type) ? 0 : a.type == "Run" ? 1 : a.type == "Swim" ? 2 : -1;
      if (kind < 0) continue;
      if (kind == 0) {
        biggest_ride = std::max(biggest_ride, a.distance);
        biggest_climb = std::max(biggest_climb, a.elev_gain);
      }
      const bool in[3] = {a.start >= ref - 28 * 86400, a.start >= ytd, true};
      for (int p = 0; p < 3; ++p) {
        if (!in[p]) continue;
        Tot &x = t[p][kind];
        ++x.count;
        x.dist += a.distance;
        x.moving += a.moving_time;
        x.elapsed += a.elapsed_time;
        x.elev += a.elev_gain;
        x.ach += a.achievement_count;
      }
    }
  }
  ojson o = ojson::object();
  o["biggest_ride_distance"] = biggest_ride;
  o["biggest_climb_elevation_gain"] = biggest_climb;
  const char *period[3] = {"recent", "ytd", "all"};
  const char *kinds[3] = {"ride", "run", "swim"};
  for (int p = 0; p < 3; ++p)
    for (int k = 0; k < 3; ++k) {
      const Tot &x = t[p][k];
      ojson j = ojson::object();
      j["count"] = x.count;
      j["distance"] = std::round(x.dist * 10) / 10;
      j["moving_time"] = x.moving;
      j["elapsed_time"] = x.elapsed;
      j["elevation_gain"] = std::round(x.elev * 10) / 10;
      if (p == 0) j["achievement_count"] = x.ach;
      o[std::string(period[p]) + "_" + kinds[k] + "_totals"] = std::move(j);
    }
  return o;
}

// ---------------------------------------------------------------- auth

std::set<std::string> parse_scopes(const std::string &s) {
  std::set<std::string> out;
  size_t p = 0;
  while (p <= s.size()) {
    size_t q = s.find_first_of(", ", p);
    if (q == std::string::npos) q = s.size();
    if (q > p) out.insert(s.substr(p, q - p));
    p = q + 1;
  }
  return out;
}

std::string join_scopes(const std::set<std::string> &s) {
  // Strava's order: read, read_all, profile:*, activity:*.
  static const char *order[] = {"read",          "read_all",          "profile:read_all", "profile:write",
                                "activity:read", "activity:read_all", "activity:write"};
  std::string out;
  for (const char *k : order)
    if (s.count(k)) out += (out.empty() ? "" : ",") + std::string(k);
  return out;
}

bool valid_scope(const std::string &s) {
  return s == "read" || s == "read_all" || s == "profile:read_all" || s == "profile:write" || s == "activity:read" ||
         s == "activity:read_all" || s == "activity:write";
}

Auth::Auth(int64_t lifetime, Namer namer, bool rotate)
    : lifetime_(lifetime), namer_(std::move(namer)), rotate_(rotate) {
  std::random_device rd;
  salt_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

std::string Auth::new_token(const char *kind) {
  if (namer_) return namer_(kind);
  // mix64 is a bijection, so the first 16 hex digits are unique per counter.
  const uint64_t w1 = mix64(salt_ ^ ++counter_);
  const uint64_t w2 = mix64(w1 ^ 0x1234567);
  const uint64_t w3 = mix64(w2 ^ 0x89abcdef);
  static const char *hx = "0123456789abcdef";
  std::string s;
  for (uint64_t w : {w1, w2, w3})
    for (int i = 60; i >= 0; i -= 4) s += hx[(w >> i) & 15];
  return s.substr(0, 40);
}

std::string Auth::mint_code(const std::set<std::string> &scopes, int64_t now, const std::string &code, int athlete) {
  std::lock_guard lk(mu_);
  std::string c = code.empty() ? new_token("code") : code;
  codes_[c] = Code{scopes, now + 600, athlete, false};
  return c;
}

std::optional<Auth::TokenReply> Auth::exchange_code(const std::string &code, int64_t now, std::string &resource,
                                                    std::string &field) {
  std::lock_guard lk(mu_);
  auto it = codes_.find(code);
  if (it == codes_.end() || it->second.used || now >= it->second.expires_at) {
    resource = "AuthorizationCode";
    field = "code";
    return std::nullopt;
  }
  it->second.used = true;
  Grant g;
  g.scopes = it->second.scopes;
  g.athlete = it->second.athlete;
  g.access = new_token("access");
  g.refresh = new_token("refresh");
  grants_.push_back(g);
  access_[g.access] = AccessInfo{grants_.size() - 1, now + lifetime_};
  refresh_[g.refresh] = grants_.size() - 1;
  return TokenReply{g.access, g.refresh, now + lifetime_, g.scopes, g.athlete};
}

std::optional<Auth::TokenReply> Auth::refresh(const std::string &token, int64_t now) {
  std::lock_guard lk(mu_);
  auto it = refresh_.find(token);
  if (it == refresh_.end()) return std::nullopt;
  Grant &g = grants_[it->second];
  if (g.revoked) return std::nullopt;
  AccessInfo &cur = access_[g.access];
  if (cur.expires_at - now > 3600) return TokenReply{g.access, g.refresh, cur.expires_at, g.scopes, g.athlete};
  const size_t gi = it->second;
  g.access = new_token("access");
  if (rotate_) {
    refresh_.erase(it);  // the old refresh token dies at once
    g.refresh = new_token("refresh");
    refresh_[g.refresh] = gi;
  }
  access_[g.access] = AccessInfo{gi, now + lifetime_};
  return TokenReply{g.access, g.refresh, now + lifetime_, g.scopes, g.athlete};
}

std::optional<Auth::Access> Auth::check(const std::string &access, int64_t now) const {
  std::lock_guard lk(mu_);
  auto it = access_.find(access);
  if (it == access_.end() || now >= it->second.expires_at) return std::nullopt;
  const Grant &g = grants_[it->second.grant];
  if (g.revoked) return std::nullopt;
  return Access{g.scopes, g.athlete};
}

bool Auth::revoke(const std::string &access, int64_t now) {
  std::lock_guard lk(mu_);
  auto it = access_.find(access);
  if (it == access_.end() || now >= it->second.expires_at) return false;
  Grant &g = grants_[it->second.grant];
  if (g.revoked) return false;
  g.revoked = true;
  refresh_.erase(g.refresh);
  return true;
}

void Auth::set_rotate(bool rotate) {
  std::lock_guard lk(mu_);
  rotate_ = rotate;
}

int Auth::revoke_athlete(int athlete) {
  std::lock_guard lk(mu_);
  int n = 0;
  for (Grant &g : grants_) {
    if (g.athlete != athlete || g.revoked) continue;
    g.revoked = true;
    refresh_.erase(g.refresh);
    ++n;
  }
  return n;
}

void Auth::revoke_all() {
  std::lock_guard lk(mu_);
  for (Grant &g : grants_) g.revoked = true;
  refresh_.clear();
}

void Auth::expire_all(int64_t now) {
  std::lock_guard lk(mu_);
  for (auto &[tok, info] : access_) info.expires_at = std::min(info.expires_at, now);
}

// ---------------------------------------------------------------- rate limit

static int64_t fdiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

RateLimiter::RateLimiter(Limits l) : l_(l) {}

void RateLimiter::roll(int64_t now) {
  const int64_t w = fdiv(now, l_.window), d = fdiv(now, l_.day);
  if (w != win_id_) win_id_ = w, use_s_ = ruse_s_ = 0;
  if (d != day_id_) day_id_ = d, use_d_ = ruse_d_ = 0;
}

RateLimiter::Snapshot RateLimiter::snap() {
  Snapshot s;
  s.l = l_;
  s.use_s = use_s_, s.use_d = use_d_, s.ruse_s = ruse_s_, s.ruse_d = ruse_d_;
  s.window_reset = (win_id_ + 1) * l_.window;
  s.day_reset = (day_id_ + 1) * l_.day;
  return s;
}

bool RateLimiter::admit(int64_t now, bool force_reject, Snapshot &after) {
  std::lock_guard lk(mu_);
  roll(now);
  const bool over = use_s_ >= l_.limit_s || use_d_ >= l_.limit_d || ruse_s_ >= l_.read_s || ruse_d_ >= l_.read_d;
  bool ok = !(force_reject || over);
  if (ok) ++use_s_, ++ruse_s_;
  ++use_d_, ++ruse_d_;  // rejected requests still count toward the daily usage
  after = snap();
  return ok;
}

RateLimiter::Snapshot RateLimiter::snapshot(int64_t now) {
  std::lock_guard lk(mu_);
  roll(now);
  return snap();
}

void RateLimiter::configure(const ojson &b, int64_t now) {
  std::lock_guard lk(mu_);
  roll(now);
  auto pair = [&](const char *k, int64_t &s, int64_t &d) {
    if (b.contains(k) && b[k].is_array() && b[k].size() == 2 && b[k][0].is_number() && b[k][1].is_number()) {
      s = b[k][0].get<int64_t>();
      d = b[k][1].get<int64_t>();
    }
  };
  if (b.contains("window") && b["window"].is_number() && b["window"].get<int64_t>() > 0) {
    l_.window = b["window"].get<int64_t>();
    win_id_ = fdiv(now, l_.window);
  }
  if (b.contains("day") && b["day"].is_number() && b["day"].get<int64_t>() > 0) {
    l_.day = b["day"].get<int64_t>();
    day_id_ = fdiv(now, l_.day);
  }
  pair("limit", l_.limit_s, l_.limit_d);
  pair("read_limit", l_.read_s, l_.read_d);
  if (b.contains("usage")) {
    pair("usage", use_s_, use_d_);
    pair("usage", ruse_s_, ruse_d_);
  }
  pair("read_usage", ruse_s_, ruse_d_);
}

void RateLimiter::set_limits(int64_t limit_s, int64_t limit_d, int64_t read_s, int64_t read_d) {
  std::lock_guard lk(mu_);
  l_.limit_s = limit_s, l_.limit_d = limit_d, l_.read_s = read_s, l_.read_d = read_d;
}

void RateLimiter::add_usage(int64_t now, int64_t short_n, int64_t daily_n) {
  std::lock_guard lk(mu_);
  roll(now);
  use_s_ += short_n, ruse_s_ += short_n;
  use_d_ += daily_n, ruse_d_ += daily_n;
}

// ---------------------------------------------------------------- faults

bool Faults::valid_kind(const std::string &k) {
  static const std::set<std::string> kinds = {"500",  "502",       "503",       "html", "empty500", "timeout",
                                              "slow", "malformed", "truncated", "cut",  "401",      "404",
                                              "429",  "inactive",  "comma",     "deep", "huge",     "huge_chunked"};
  return kinds.count(k) > 0;
}

void Faults::add(Fault f) {
  std::lock_guard lk(mu_);
  rules_.push_back(std::move(f));
}

void Faults::clear() {
  std::lock_guard lk(mu_);
  rules_.clear();
}

ojson Faults::list() const {
  std::lock_guard lk(mu_);
  ojson a = ojson::array();
  for (const Fault &f : rules_) {
    ojson o = ojson::object();
    o["match"] = f.match;
    o["kind"] = f.kind;
    o["count"] = f.count;
    o["skip"] = f.skip;
    o["delay_ms"] = f.delay_ms;
    a.push_back(std::move(o));
  }
  return a;
}

std::optional<Fault> Faults::take(const std::string &path) {
  std::lock_guard lk(mu_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (!it->match.empty() && path.find(it->match) == std::string::npos) continue;
    if (it->skip > 0) {
      --it->skip;
      return std::nullopt;
    }
    Fault f = *it;
    if (it->count > 0 && --it->count == 0) rules_.erase(it);
    return f;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- metrics

Metrics::Metrics(std::vector<int64_t> athletes) : athletes_(std::move(athletes)) {}

const std::vector<std::string> &Metrics::endpoints() {
  static const std::vector<std::string> e = {"list",  "activity", "streams", "laps",      "athlete",     "zones",
                                             "stats", "gear",     "token",   "authorize", "deauthorize", "other"};
  return e;
}

void Metrics::count(const std::string &endpoint, std::optional<int64_t> athlete) {
  std::lock_guard lk(mu_);
  ++total_;
  ++by_[endpoint];
  if (athlete) ++by_athlete_[*athlete];
}

void Metrics::rejected() {
  std::lock_guard lk(mu_);
  ++rejected_;
}

void Metrics::log(const std::string &method, const std::string &path, const std::string &query, int status) {
  ojson o = ojson::object();
  o["method"] = method;
  o["path"] = path;
  o["query"] = query;
  o["status"] = status;
  std::lock_guard lk(mu_);
  log_.push_back(std::move(o));
  while (log_.size() > 1000) log_.pop_front();
}

ojson Metrics::counters() const {
  std::lock_guard lk(mu_);
  ojson o = ojson::object();
  o["total"] = total_;
  o["rejected"] = rejected_;
  ojson by = ojson::object();
  for (const std::string &e : endpoints()) {
    auto it = by_.find(e);
    by[e] = it == by_.end() ? 0 : it->second;
  }
  o["by_endpoint"] = std::move(by);
  ojson by_athlete = ojson::object();
  for (int64_t id : athletes_) {
    auto it = by_athlete_.find(id);
    by_athlete[std::to_string(id)] = it == by_athlete_.end() ? 0 : it->second;
  }
  o["by_athlete"] = std::move(by_athlete);
  return o;
}

ojson Metrics::requests() const {
  std::lock_guard lk(mu_);
  ojson a = ojson::array();
  for (const ojson &o : log_) a.push_back(o);
  return a;
}

void Metrics::reset() {
  std::lock_guard lk(mu_);
  total_ = rejected_ = 0;
  by_.clear();
  by_athlete_.clear();
  log_.clear();
}

}  // namespace emu
