#include "cli/import_progress.h"

#include <chrono>

#include "config/config.h"

namespace stravafs {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kMaxWarningLines = 20;  // CSV warnings beyond this are only counted in the summary

}  // namespace

ImportTerminalProgress::ImportTerminalProgress(FILE* out, bool live, bool quiet)
    : out_(out), live_(live), quiet_(quiet), started_ms_(NowMs()) {}

void ImportTerminalProgress::EndLine() {
  if (!line_open_) return;
  std::fputs("\r\033[K", out_);
  std::fflush(out_);
  line_open_ = false;
}

void ImportTerminalProgress::OnProgress(const import::ImportProgress& p) {
  if (quiet_) return;
  const int64_t now = NowMs();
  if (!live_ && now - last_plain_ms_ < 5000) return;
  last_plain_ms_ = now;
  std::string text = "import: " + std::to_string(p.files_done) + "/" + std::to_string(p.files_total) + " files, " +
                     std::to_string(p.activities) + " activities";
  const double seconds = static_cast<double>(now - started_ms_) / 1000.0;
  if (seconds > 0.5 && p.files_done > 0) {
    const double rate = static_cast<double>(p.files_done) / seconds;
    char buf[64];
    std::snprintf(buf, sizeof buf, ", %.0f files/s", rate);
    text += buf;
    if (p.files_total > p.files_done)
      text +=
          ", ETA " +
          FormatDuration(Millis(static_cast<int64_t>(static_cast<double>(p.files_total - p.files_done) / rate) * 1000));
  }
  if (live_) {
    std::fprintf(out_, "\r\033[K%s", text.c_str());
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s\n", text.c_str());
  }
  std::fflush(out_);
}

void ImportTerminalProgress::OnProblem(const std::string& where, const std::string& reason) {
  // CSV warnings can number in the thousands; failures are always shown.
  if (reason.rfind("line ", 0) == 0 && ++warnings_shown_ > kMaxWarningLines) return;
  EndLine();
  std::fprintf(out_, "stravafs: %s: %s\n", where.c_str(), reason.c_str());
  std::fflush(out_);
}

}  // namespace stravafs
