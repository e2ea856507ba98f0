// Plain SQL queries for tests that look straight into a cache. A query that
// does not prepare or returns no row fails the test (REQUIRE).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace stravafs::testing {

inline int64_t QueryInt(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

inline double QueryReal(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  double v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  return v;
}

// The first column of every row, as text ("NULL" for NULL).
inline std::vector<std::string> QueryColumn(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::string> out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto* p = sqlite3_column_text(st, 0);
    out.push_back(p ? reinterpret_cast<const char*>(p) : "NULL");
  }
  sqlite3_finalize(st);
  return out;
}

inline std::string QueryText(sqlite3* db, const std::string& sql) {
  auto rows = QueryColumn(db, sql);
  REQUIRE(rows.size() == 1);
  return rows[0];
}

}  // namespace stravafs::testing
