// TerminalProgress: how `stravafs sync` shows its work.
//
// On a terminal, one live line rewritten in place (phase, pages, activities,
// requests and rate-limit usage, ETA); waits and retries get a line of their
// own saying why and for how long. Elsewhere (cron, pipes, logs) plain lines,
// at most one every few seconds, plus every wait, retry and note. Writes to
// stderr only; stdout is kept for --json. Not thread-safe.
#pragma once

#include <cstdio>

#include "sync/sync_engine.h"

namespace stravafs {

class TerminalProgress final : public SyncProgress {
 public:
  TerminalProgress(FILE* out, bool live, bool quiet, Clock& clock, const Config& config, const RateLimiter& limiter);
  ~TerminalProgress() override { EndLine(); }

  void OnUpdate(const std::string& phase, const SyncReport& so_far) override;
  void OnNote(const std::string& text) override;
  void OnWait(int64_t ms, const std::string& reason) override;
  void OnRetry(int attempt, int max, int64_t delay_ms, const std::string& reason) override;
  // Clears the live line so the next output starts clean.
  void EndLine();

 private:
  void Line(const std::string& text);
  FILE* out_;
  bool live_, quiet_;
  Clock& clock_;
  const Config& config_;
  const RateLimiter& limiter_;
  bool line_open_ = false;
  int64_t last_plain_ms_ = 0;
  int64_t started_ms_ = 0;
};

}  // namespace stravafs
