// SQL that turns a current cache into one of an older schema version, for
// the tests of the upgrades (src/cache/schema.cc).
#pragma once

#include <string>

#include "model/analytics.h"

namespace stravafs::testing {

// A piece of `sql` from `from` up to `to` (or its end).
inline std::string Between(const std::string& sql, const std::string& from, const std::string& to = "") {
  const size_t at = sql.find(from);
  const size_t end = to.empty() ? std::string::npos : sql.find(to, at + from.size());
  return sql.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// What undoes schema v11 (MigrateToV11) on a current cache: v10's views, its
// summary tables and triggers made again as v3, v4 and v9 made them.
inline std::string UndoSchemaV11Sql() {
  const std::string v3 = AnalyticsSchemaSql();
  std::string sql = R"SQL(
DROP VIEW training_90d; DROP VIEW personal_records; DROP VIEW best_efforts; DROP VIEW zone_time;
DROP VIEW zone_bounds; DROP VIEW power_zones; DROP VIEW hr_zones; DROP VIEW weekly_totals;
DROP VIEW monthly_totals; DROP VIEW yearly_totals; DROP VIEW activity_facts; DROP VIEW analytics_athletes;
DROP TRIGGER analytics_activity_insert; DROP TRIGGER analytics_activity_insert_figures;
DROP TRIGGER analytics_activity_delete; DROP TRIGGER analytics_activity_day; DROP TRIGGER analytics_activity_rank;
DROP TRIGGER analytics_efforts_insert; DROP TRIGGER analytics_efforts_delete; DROP TRIGGER analytics_efforts_update;
DROP TABLE effort_ranks; DROP TABLE training_days; DROP TABLE training_day_hr_seconds;
DROP INDEX activities_local_date; DROP INDEX activities_totals;
DROP TRIGGER analytics_settings_insert_logged; DROP TRIGGER analytics_settings_update_logged;
DROP TRIGGER analytics_settings_delete_logged; DROP TRIGGER athlete_zones_insert_logged;
DROP TRIGGER athlete_zones_update_logged; DROP TRIGGER athlete_zones_delete_logged;
)SQL";
  sql += Between(v3, "CREATE INDEX activities_totals", ";") + ";\n";
  sql += Between(v3, "CREATE VIEW hr_zones AS") + AnalyticsSchemaV4Sql();
  sql += "DROP VIEW hr_zones;\n" + Between(AnalyticsSchemaV9Sql(), "CREATE VIEW hr_zones AS", "CREATE TRIGGER");
  return sql + "PRAGMA user_version = 10;\n";
}

// What undoes schema v11 and v10 (MigrateToV10) on a current cache.
inline std::string UndoSchemaV10Sql() {
  return UndoSchemaV11Sql() +
         "DROP INDEX activities_athlete_local;\nDROP TRIGGER athletes_insert_logged;\n"
         "DROP TRIGGER athletes_update_logged;\nDROP TRIGGER athletes_delete_logged;\nPRAGMA user_version = 9;\n";
}

// What undoes schema v11, v10 and v9 (MigrateToV9) on a current cache: tests make
// an older cache from a current one by undoing each later version's changes.
inline std::string UndoSchemaV9Sql() {
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
)SQL" + Between(AnalyticsSchemaSql(), "CREATE VIEW hr_zones AS", "\nCREATE VIEW") +
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
