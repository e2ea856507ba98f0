// SQL that turns a current cache into one of an older schema version, for
// the tests of the upgrades (src/cache/schema.cc).
#pragma once

#include <string>

#include "model/analytics.h"

namespace stravafs::testing {

// What undoes schema v10 (MigrateToV10) on a current cache.
inline std::string UndoSchemaV10Sql() {
  return "DROP INDEX activities_athlete_local;\nDROP TRIGGER athletes_insert_logged;\n"
         "DROP TRIGGER athletes_update_logged;\nDROP TRIGGER athletes_delete_logged;\nPRAGMA user_version = 9;\n";
}

// What undoes schema v10 and v9 (MigrateToV9) on a current cache: tests make
// an older cache from a current one by undoing each later version's changes.
inline std::string UndoSchemaV9Sql() {
  const std::string v3 = AnalyticsSchemaSql();
  const size_t at = v3.find("CREATE VIEW hr_zones AS"), end = v3.find("\nCREATE VIEW", at + 12);
  std::string sql = UndoSchemaV10Sql() + R"SQL(
CREATE TABLE sync_state_v8 (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO sync_state_v8 SELECT key, value FROM sync_state;
DROP TABLE sync_state;
ALTER TABLE sync_state_v8 RENAME TO sync_state;
ALTER TABLE gear DROP COLUMN athlete_id;
DROP INDEX activities_athlete;
CREATE TABLE athlete_zones_v8 (
  kind TEXT NOT NULL, zone INTEGER NOT NULL, min REAL NOT NULL, max REAL, PRIMARY KEY (kind, zone)
) WITHOUT ROWID;
INSERT INTO athlete_zones_v8 SELECT kind, zone, min, max FROM athlete_zones;
PRAGMA legacy_alter_table = ON;
DROP TABLE athlete_zones;
ALTER TABLE athlete_zones_v8 RENAME TO athlete_zones;
PRAGMA legacy_alter_table = OFF;
DROP VIEW hr_zones;
)SQL" + v3.substr(at, end - at) +
                    "\n";
  for (const char* op : {"INSERT", "UPDATE", "DELETE"})
    sql += std::string("CREATE TRIGGER athlete_zones_") +
           (op[0] == 'I'   ? "insert"
            : op[0] == 'U' ? "update"
                           : "delete") +
           "_logged AFTER " + op + " ON athlete_zones\nBEGIN\nINSERT INTO fs_changes(activity_id) VALUES(0);\nEND;\n";
  return sql + "PRAGMA user_version = 8;\n";
}

}  // namespace stravafs::testing
