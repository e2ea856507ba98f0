// ImportTerminalProgress: how `stravafs import` (and the import step of
// `stravafs sync`) shows its work on stderr.
//
// On a terminal, one live line rewritten in place: files done of total,
// activities, rate and ETA. Elsewhere a plain line every few seconds. Every
// file that fails gets a line of its own, naming it and why. Not thread-safe.
#pragma once

#include <cstdio>

#include "import/importer.h"

namespace stravafs {

class ImportTerminalProgress final : public import::ImportObserver {
 public:
  ImportTerminalProgress(FILE* out, bool live, bool quiet);
  ~ImportTerminalProgress() override { EndLine(); }
  void OnProgress(const import::ImportProgress& p) override;
  void OnProblem(const std::string& where, const std::string& reason) override;
  void EndLine();

 private:
  FILE* out_;
  bool live_, quiet_;
  bool line_open_ = false;
  int64_t started_ms_ = 0, last_plain_ms_ = 0;
  int64_t warnings_shown_ = 0;
};

}  // namespace stravafs
