#include "strava/rate_limiter.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace stravafs {

std::optional<std::pair<int64_t, int64_t>> ParseRatePair(const std::string& value) {
  size_t comma = value.find(',');
  if (comma == std::string::npos) return std::nullopt;
  auto parse = [](std::string_view s) -> std::optional<int64_t> {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0 || s.empty()) return std::nullopt;
    return v;
  };
  auto a = parse(std::string_view(value).substr(0, comma));
  auto b = parse(std::string_view(value).substr(comma + 1));
  if (!a || !b) return std::nullopt;
  return std::pair{*a, *b};
}

void RateLimiter::Roll(int64_t now_ms) {
  int64_t w = now_ms / window_ms_, d = now_ms / day_ms_;
  if (w != window_index_) {
    overall_.short_usage = read_.short_usage = 0;
    window_index_ = w;
  }
  if (d != day_index_) {
    overall_.daily_usage = read_.daily_usage = 0;
    day_index_ = d;
  }
}

int64_t RateLimiter::Allowed(int64_t limit) const {
  // The epsilon keeps 29% of 100 at 29 (0.29 * 100 is 28.999... in binary).
  return std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(limit) * budget_ + 1e-9)));
}

void RateLimiter::Sent(int64_t now_ms) {
  Roll(now_ms);
  for (Pair* p : {&overall_, &read_}) {
    ++p->short_usage;
    ++p->daily_usage;
  }
}

void RateLimiter::Observe(const HttpResponse& r, int64_t now_ms) {
  Roll(now_ms);
  auto take = [&](const char* limit_header, const char* usage_header, Pair& p) {
    if (auto v = r.header(limit_header))
      if (auto pair = ParseRatePair(*v)) std::tie(p.short_limit, p.daily_limit) = *pair;
    if (auto v = r.header(usage_header))
      if (auto pair = ParseRatePair(*v)) std::tie(p.short_usage, p.daily_usage) = *pair;
  };
  take("X-RateLimit-Limit", "X-RateLimit-Usage", overall_);
  take("X-ReadRateLimit-Limit", "X-ReadRateLimit-Usage", read_);
}

RateUsage RateLimiter::Usage() const {
  // Whichever leaves less room is the one that binds.
  auto room = [&](int64_t limit, int64_t usage) { return limit > 0 ? limit - usage : INT64_MAX; };
  const Pair& s =
      room(read_.short_limit, read_.short_usage) < room(overall_.short_limit, overall_.short_usage) ? read_ : overall_;
  const Pair& d =
      room(read_.daily_limit, read_.daily_usage) < room(overall_.daily_limit, overall_.daily_usage) ? read_ : overall_;
  return {s.short_limit, d.daily_limit, s.short_usage, d.daily_usage};
}

RateLimiter::Decision RateLimiter::Before(int64_t now_ms) {
  Roll(now_ms);
  const std::string percent = std::to_string(std::lround(budget_ * 100)) + "%";
  // Each limit (overall and read) is held to its own budget.
  for (const Pair* p : {&overall_, &read_}) {
    const char* which = p == &read_ ? "read " : "";
    if (p->daily_limit > 0 && p->daily_usage >= Allowed(p->daily_limit))
      return {Decision::kStop, NextDayMs(now_ms),
              std::string("daily ") + which + "rate limit budget spent: " + std::to_string(p->daily_usage) + " of " +
                  std::to_string(p->daily_limit) + " requests used today, budget " + percent};
  }
  for (const Pair* p : {&overall_, &read_}) {
    const char* which = p == &read_ ? "read " : "";
    if (p->short_limit > 0 && p->short_usage >= Allowed(p->short_limit))
      return {Decision::kWait, NextWindowMs(now_ms) + Margin(),
              std::string("15-minute ") + which + "rate limit budget spent: " + std::to_string(p->short_usage) +
                  " of " + std::to_string(p->short_limit) + " requests used, budget " + percent};
  }
  return {};
}

RateLimiter::Decision RateLimiter::OnRejected(int64_t now_ms) {
  RateUsage u = Usage();
  if (u.daily_limit > 0 && u.daily_usage >= u.daily_limit) {
    return {Decision::kStop, NextDayMs(now_ms),
            "Strava's daily rate limit is spent (" + std::to_string(u.daily_usage) + " of " +
                std::to_string(u.daily_limit) + " requests today, shared with your other apps)"};
  }
  // Mark the short window full so Before() waits too.
  overall_.short_usage = std::max(overall_.short_usage, overall_.short_limit);
  read_.short_usage = std::max(read_.short_usage, read_.short_limit);
  return {Decision::kWait, NextWindowMs(now_ms) + Margin(),
          "Strava answered 429 Rate Limit Exceeded (other apps share this limit)"};
}

}  // namespace stravafs
