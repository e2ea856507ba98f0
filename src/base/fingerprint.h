// A stable 64-bit fingerprint of bytes (FNV-1a): notices an edited summary,
// names an imported file's content, versions a rendered file.
#pragma once

#include <cstdint>
#include <string_view>

namespace stravafs {

inline uint64_t Fingerprint(std::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace stravafs
