// Where a writer of format/ puts its bytes: a string, or a counter.
//
// Each file format has one writer, a template over its sink. Rendering a file
// writes into a StringSink; measuring it (the sizes the cache keeps, so that
// a listing never renders) runs the very same writer into a CountSink, so a
// file's size equals its bytes by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stravafs {

class StringSink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void Append(std::string_view s) { out_.append(s); }
  void Append(char c) { out_ += c; }
  void Fill(size_t n, char c) { out_.append(n, c); }

 private:
  std::string& out_;
};

class CountSink {
 public:
  void Append(std::string_view s) { n_ += static_cast<int64_t>(s.size()); }
  void Append(char) { ++n_; }
  void Fill(size_t n, char) { n_ += static_cast<int64_t>(n); }
  int64_t count() const { return n_; }

 private:
  int64_t n_ = 0;
};

}  // namespace stravafs
