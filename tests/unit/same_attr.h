// Checks two node attributes are the same in every field the kernel is
// given (Catch2 CHECKs, one per field). The mount's tree and file system
// tests compare what a lookup, a listing and the memo give.
#pragma once

#include <catch2/catch.hpp>

#include "mount/tree.h"

namespace stravafs {

inline void CheckSameAttr(const NodeAttr& a, const NodeAttr& b) {
  CHECK(a.ino == b.ino);
  CHECK(a.type == b.type);
  CHECK(a.size == b.size);
  CHECK(a.mtime == b.mtime);
  CHECK(a.nlink == b.nlink);
  CHECK(a.version == b.version);
}

}  // namespace stravafs
