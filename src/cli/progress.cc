#include "cli/progress.h"

#include <cmath>

namespace stravafs {

TerminalProgress::TerminalProgress(FILE* out, bool live, bool quiet, Clock& clock, const Config& config,
                                   const RateLimiter& limiter)
    : out_(out),
      live_(live),
      quiet_(quiet),
      clock_(clock),
      config_(config),
      limiter_(limiter),
      started_ms_(clock.NowMs()) {}

void TerminalProgress::EndLine() {
  if (line_open_) {
    std::fputs("\r\033[K", out_);
    line_open_ = false;
    std::fflush(out_);
  }
}

void TerminalProgress::Line(const std::string& text) {
  EndLine();
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void TerminalProgress::OnUpdate(const std::string& phase, const SyncReport& r) {
  if (quiet_) return;
  int64_t now = clock_.NowMs();
  if (!live_ && now - last_plain_ms_ < 5000) return;
  last_plain_ms_ = now;

  std::string text = phase + ": ";
  if (phase == "listing") {
    text += std::to_string(r.pages) + " pages, " + std::to_string(r.listed) + " activities (" +
            std::to_string(r.added) + " new, " + std::to_string(r.changed) + " changed)";
  } else {
    text += std::to_string(r.details) + " details, " + std::to_string(r.streams + r.no_streams) + " streams, " +
            std::to_string(r.deep_pending) + " to go";
  }
  RateUsage u = limiter_.Usage();
  if (u.short_limit > 0)
    text += " · rate " + std::to_string(u.short_usage) + "/" + std::to_string(u.short_limit) + " (15 min), " +
            std::to_string(u.daily_usage) + "/" + std::to_string(u.daily_limit) + " (day)";
  // ETA of the deep phase: bounded by the budget's pace once the window binds.
  if (phase != "listing" && r.deep_pending > 0 && r.details + r.streams + r.no_streams > 0) {
    double per_ms = static_cast<double>(r.details + r.streams + r.no_streams) /
                    static_cast<double>(std::max<int64_t>(1, now - started_ms_));
    if (u.short_limit > 0) {
      double budget_pace =
          std::floor(u.short_limit * config_.budget) / static_cast<double>(config_.rate_window.count());
      per_ms = std::min(per_ms, budget_pace);
    }
    if (per_ms > 0)
      text += " · ETA " +
              FormatDuration(Millis(static_cast<int64_t>(static_cast<double>(r.deep_pending) / per_ms) / 1000 * 1000));
  }
  if (live_) {
    std::fprintf(out_, "\r\033[K%s", text.c_str());
    line_open_ = true;
    std::fflush(out_);
  } else {
    Line(text);
  }
}

void TerminalProgress::OnNote(const std::string& text) {
  if (!quiet_) Line(text);
}

void TerminalProgress::OnWait(int64_t ms, const std::string& reason) {
  // Whole seconds: "14m38s" reads better than "14m38.422s".
  Line("waiting " + FormatDuration(Millis((ms + 999) / 1000 * 1000)) + " for the next rate-limit window: " + reason);
}

void TerminalProgress::OnRetry(int attempt, int max, int64_t delay_ms, const std::string& reason) {
  Line("retrying in " + FormatDuration(Millis(delay_ms)) + " (attempt " + std::to_string(attempt + 1) + " of " +
       std::to_string(max) + "): " + reason);
}

}  // namespace stravafs
