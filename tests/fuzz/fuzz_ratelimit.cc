// Fuzz target: the rate-limit headers and the limiter that reads them
// (src/strava/rate_limiter.cc, src/strava/http.cc).
//
// Input (FuzzedDataProvider): a budget and window lengths, then a sequence of
// events at non-decreasing times: a reply whose header lines arrive as curl
// delivers them (AddHeaderLine), a request sent, a 429, a decision asked for.
// Checks: header lines are kept trimmed and the last response's only;
// HttpResponse::header finds the first name that matches case-insensitively;
// ParseRatePair accepts exactly two non-negative decimal integers and what it
// returns prints back to the same pair; the limiter never overflows (UBSan),
// a wait or stop always ends in the future, at a window boundary plus the
// margin (wait) or at the day boundary (stop), with a reason; and a window
// whose usage the headers put at the limit is never a go.
#include <fuzzer/FuzzedDataProvider.h>

#include <cctype>

#include "fuzz_check.h"
#include "strava/http.h"
#include "strava/rate_limiter.h"

using namespace stravafs;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// The reference reading of "15-min,daily": two decimal numbers, spaces around each allowed.
std::optional<std::pair<int64_t, int64_t>> ReferencePair(std::string_view v) {
  const size_t comma = v.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view s) -> std::optional<int64_t> {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    // A sign is allowed on zero only ("-0", "-00" read as 0, as from_chars reads them).
    if (s.starts_with('-') && s.size() > 1 && s.find_first_not_of('0', 1) == std::string_view::npos) s.remove_prefix(1);
    if (s.empty()) return std::nullopt;
    unsigned __int128 n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + static_cast<unsigned>(c - '0');
      if (n > static_cast<unsigned __int128>(INT64_MAX)) return std::nullopt;
    }
    return static_cast<int64_t>(n);
  };
  auto a = number(v.substr(0, comma)), b = number(v.substr(comma + 1));
  if (!a || !b) return std::nullopt;
  return std::pair{*a, *b};
}

void CheckPair(const std::string& v) {
  auto got = ParseRatePair(v);
  auto want = ReferencePair(v);
  FUZZ_CHECK(got == want, fuzz::Show(v));
  if (got) {
    FUZZ_CHECK(got->first >= 0 && got->second >= 0, fuzz::Show(v));
    FUZZ_CHECK(ParseRatePair(std::to_string(got->first) + "," + std::to_string(got->second)) == got, fuzz::Show(v));
  }
}

const char* const kNames[] = {"X-RateLimit-Limit",     "X-RateLimit-Usage", "X-ReadRateLimit-Limit",
                              "X-ReadRateLimit-Usage", "x-ratelimit-usage", "X-Ratelimit-Limit",
                              "Content-Type"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const double budget = in.ConsumeIntegralInRange(1, 100) / 100.0;
  const int64_t window = in.ConsumeIntegralInRange<int64_t>(1, 900000);
  const int64_t day = window * in.ConsumeIntegralInRange<int64_t>(1, 96);
  RateLimiter limiter(budget, window, day);
  int64_t now = in.ConsumeIntegralInRange<int64_t>(0, int64_t{1} << 42);

  while (in.remaining_bytes() > 0) {
    now += in.ConsumeIntegralInRange<int64_t>(0, 2 * window);
    switch (in.ConsumeIntegralInRange(0, 3)) {
      case 0: {  // a reply, header line by header line
        HttpResponse r;
        r.status = 200;
        const int lines = in.ConsumeIntegralInRange(0, 8);
        for (int i = 0; i < lines; ++i) {
          std::string line;
          switch (in.ConsumeIntegralInRange(0, 3)) {
            case 0:
              line = in.ConsumeRandomLengthString(64);
              break;
            case 1:
              line = "HTTP/1.1 200 OK\r\n";
              break;
            default:
              line = std::string(kNames[in.ConsumeIntegralInRange<size_t>(0, std::size(kNames) - 1)]) + ":" +
                     in.ConsumeRandomLengthString(32) + "\r\n";
              break;
          }
          const bool status_line = line.rfind("HTTP/", 0) == 0;
          const size_t before = r.headers.size();
          AddHeaderLine(line, r.headers);
          if (status_line) {
            FUZZ_CHECK(r.headers.empty(), fuzz::Show(line));
          } else {
            FUZZ_CHECK(r.headers.size() == before + (line.find(':') != std::string::npos ? 1 : 0), fuzz::Show(line));
          }
        }
        for (const auto& [name, value] : r.headers) {
          FUZZ_CHECK(name.find(':') == std::string::npos, fuzz::Show(name));
          for (const std::string* s : {&name, &value})
            FUZZ_CHECK(s->empty() || (!IsSpace(s->front()) && !IsSpace(s->back())), fuzz::Show(*s));
          CheckPair(value);
          // header() finds the first entry whose name matches, in any case.
          const auto found = r.header(Lower(name));
          FUZZ_CHECK(found, fuzz::Show(name));
          for (const auto& [n2, v2] : r.headers) {
            if (Lower(n2) == Lower(name)) {
              FUZZ_CHECK(*found == v2, fuzz::Show(name));
              break;
            }
          }
        }
        limiter.Observe(r, now);
        // A window the headers put at the limit is never a go.
        bool full = false;
        for (const char* usage_name : {"X-RateLimit-Usage", "X-ReadRateLimit-Usage"}) {
          const std::string limit_name =
              usage_name == std::string("X-RateLimit-Usage") ? "X-RateLimit-Limit" : "X-ReadRateLimit-Limit";
          auto u = r.header(usage_name), l = r.header(limit_name);
          if (!u || !l) continue;
          auto up = ParseRatePair(*u), lp = ParseRatePair(*l);
          if (up && lp && ((lp->first > 0 && up->first >= lp->first) || (lp->second > 0 && up->second >= lp->second)))
            full = true;
        }
        if (full) FUZZ_CHECK(limiter.Before(now).kind != RateLimiter::Decision::kGo, "go at a full window");
        break;
      }
      case 1:
        limiter.Sent(now);
        break;
      case 2: {
        const RateLimiter::Decision d = limiter.OnRejected(now);
        FUZZ_CHECK(d.kind != RateLimiter::Decision::kGo && d.until_ms > now && !d.reason.empty(), d.reason);
        break;
      }
      default: {
        const RateLimiter::Decision d = limiter.Before(now);
        if (d.kind == RateLimiter::Decision::kWait) {
          FUZZ_CHECK(d.until_ms > now && d.until_ms == limiter.NextWindowMs(now) + limiter.Margin(), d.reason);
          FUZZ_CHECK(!d.reason.empty(), "");
        } else if (d.kind == RateLimiter::Decision::kStop) {
          FUZZ_CHECK(d.until_ms > now && d.until_ms % day == 0, d.reason);
          FUZZ_CHECK(!d.reason.empty(), "");
        }
        break;
      }
    }
    const RateUsage u = limiter.Usage();
    FUZZ_CHECK(u.short_limit >= 0 && u.daily_limit >= 0 && u.short_usage >= 0 && u.daily_usage >= 0, "");
  }
  return 0;
}
