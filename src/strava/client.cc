#include "strava/client.h"

#include <algorithm>

namespace stravafs {

namespace {

// Failures worth another attempt: the server or the network, not our request.
bool Transient(const Status& s) { return s.kind() == ErrorKind::kServer || s.kind() == ErrorKind::kNetwork; }

std::string FormatClock(int64_t epoch_ms) {
  std::string iso = FormatIsoUtc(epoch_ms / 1000);  // 2024-05-12T11:30:00Z
  return iso.substr(11, 8) + " UTC";
}

}  // namespace

Result<Json> StravaClient::Get(const std::string& path_and_query, const Check& check) {
  Json out;
  Status s = GetWith(path_and_query, [&](const std::string& body) {
    Json parsed = ParseJson(body);
    if (parsed.is_discarded())
      return Status::Error(ErrorKind::kServer, JsonDepthWithin(body)
                                                   ? "reply was not valid JSON (malformed or truncated)"
                                                   : "reply was not valid JSON (nested deeper than " +
                                                         std::to_string(kMaxJsonDepth) + " levels)");
    if (Status ok = check(parsed); !ok.ok())
      return Status::Error(ErrorKind::kServer, "unexpected reply: " + ok.message());
    out = std::move(parsed);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status StravaClient::GetWith(const std::string& path_and_query,
                             const std::function<Status(const std::string&)>& accept) {
  const std::string url = config_.base_url + "/api/v3" + path_and_query;
  int attempt = 0;
  bool refreshed = false;
  std::string last_problem;

  auto cancelled = [&] { return options_.cancel && options_.cancel->load(); };
  auto interrupted = [] { return Status::Error(ErrorKind::kInterrupted, "interrupted; run the sync again to resume"); };
  // Sleeps until `until_ms` for `reason`; false when cancelled.
  auto wait_until = [&](int64_t until_ms, const std::string& reason) {
    int64_t ms = std::max<int64_t>(0, until_ms - clock_.NowMs());
    if (observer_) observer_->OnWait(ms, reason);
    return clock_.SleepFor(ms, options_.cancel);
  };
  // After a failed attempt: back off and go again, or give up.
  auto retry = [&](ErrorKind kind, const std::string& problem) -> std::optional<Status> {
    last_problem = problem;
    if (++attempt >= options_.max_attempts)
      return Status::Error(kind, "GET " + path_and_query + " failed " + std::to_string(attempt) +
                                     " times; last: " + problem + ". Nothing was stored; run the sync again to resume");
    int64_t delay = std::min<int64_t>(config_.retry_base.count() << (attempt - 1), 60000);
    if (observer_) observer_->OnRetry(attempt, options_.max_attempts, delay, problem);
    if (!clock_.SleepFor(delay, options_.cancel)) return interrupted();
    return std::nullopt;
  };

  for (;;) {
    if (cancelled()) return interrupted();
    RateLimiter::Decision d = limiter_.Before(clock_.NowMs());
    if (d.kind == RateLimiter::Decision::kStop) {
      resume_at_ms_ = d.until_ms;
      return Status::Error(ErrorKind::kRateLimited, d.reason + "; resumes after " + FormatClock(d.until_ms));
    }
    if (d.kind == RateLimiter::Decision::kWait) {
      if (!options_.wait_for_window) {
        resume_at_ms_ = d.until_ms;
        return Status::Error(ErrorKind::kRateLimited,
                             d.reason + "; next window at " + FormatClock(d.until_ms - limiter_.Margin()));
      }
      if (!wait_until(d.until_ms, d.reason)) return interrupted();
      continue;
    }

    auto token = tokens_.AccessToken(false);
    if (!token.ok()) {
      if (!Transient(token.status())) return token.status();
      if (auto s = retry(token.status().kind(), "token refresh: " + token.status().message())) return *s;
      continue;
    }

    HttpRequest req;
    req.url = url;
    req.headers = {{"Authorization", "Bearer " + *token}, {"Accept", "application/json"}};
    req.timeout = config_.timeout;
    req.max_body = config_.max_reply;
    limiter_.Sent(clock_.NowMs());
    ++requests_;
    auto resp = transport_.Send(req);
    if (!resp.ok()) {
      if (auto s = retry(ErrorKind::kNetwork, resp.status().message())) return *s;
      continue;
    }
    limiter_.Observe(*resp, clock_.NowMs());
    long code = resp->status;

    if (code == 200) {
      if (Status ok = accept(resp->body); !ok.ok()) {
        if (auto s = retry(ErrorKind::kServer, ok.message())) return *s;
        continue;
      }
      return Status::Ok();
    }
    std::string why = DescribeErrorBody(code, resp->body);
    if (code == 401) {
      if (why.find("activity:read_permission") != std::string::npos)
        return Status::Error(ErrorKind::kScope,
                             "the stored authorization lacks the activity:read_all scope (" + why +
                                 "): run `stravafs auth` and leave \"View data about your private activities\" ticked");
      if (why.find("profile:read_permission") != std::string::npos)
        return Status::Error(ErrorKind::kScope,
                             "the stored authorization lacks the profile:read_all scope (" + why +
                                 "): run `stravafs auth` and leave \"View data about your complete Strava "
                                 "profile\" ticked");
      if (!refreshed) {
        refreshed = true;
        auto fresh = tokens_.AccessToken(true);
        if (!fresh.ok()) {
          if (!Transient(fresh.status())) return fresh.status();
          refreshed = false;  // the refresh itself failed; try it again after the backoff
          if (auto s = retry(fresh.status().kind(), "token refresh: " + fresh.status().message())) return *s;
        }
        continue;
      }
      return Status::Error(ErrorKind::kAuth, "Strava rejects the access token even after a refresh (" + why +
                                                 "): run `stravafs auth` again");
    }
    if (code == 403) {
      if (why.find("Inactive") != std::string::npos)
        return Status::Error(
            ErrorKind::kAuth,
            "Strava says the API application is inactive (" + why +
                "): since June 2026 an API application needs a paid Strava subscription, and this one has "
                "none or it lapsed; renew it on strava.com, or fill the cache from your "
                "own files instead: download your data from strava.com (Settings, My "
                "Account, Download or Delete Your Account) and run `stravafs import "
                "export.zip`");
      // Strava answers some calls a token may not make (a scope not granted,
      // /athlete/zones without profile:read_all) with 403 rather than 401.
      return Status::Error(ErrorKind::kScope, "Strava refused GET " + path_and_query + " (" + why +
                                                  "): the stored authorization may lack a scope it needs; run "
                                                  "`stravafs auth` and leave every box ticked");
    }
    if (code == 404) return Status::Error(ErrorKind::kNotFound, "GET " + path_and_query + ": not found");
    if (code == 429) {
      RateLimiter::Decision r = limiter_.OnRejected(clock_.NowMs());
      resume_at_ms_ = r.until_ms;
      if (r.kind == RateLimiter::Decision::kStop)
        return Status::Error(ErrorKind::kRateLimited, r.reason + "; resumes after " + FormatClock(r.until_ms));
      if (!options_.wait_for_window)
        return Status::Error(ErrorKind::kRateLimited,
                             r.reason + "; next window at " + FormatClock(r.until_ms - limiter_.Margin()));
      if (!wait_until(r.until_ms, r.reason)) return interrupted();
      continue;
    }
    if (code >= 500) {
      if (auto s = retry(ErrorKind::kServer, why)) return *s;
      continue;
    }
    return Status::Error(ErrorKind::kGeneric, "GET " + path_and_query + " failed: " + why);
  }
}

}  // namespace stravafs
