/*
** strava.so: stravafs's cache as SQL, for the sqlite3 shell, Python's sqlite3
** module or any program that loads extensions (stravafs-sqlite(7)).
**
** USAGE
**
**     sqlite3
**     sqlite> .load strava
**     sqlite> SELECT sport_type, count(*), sum(distance)/1000 AS km
**        ...>   FROM strava_activities GROUP BY 1 ORDER BY km DESC;
**     sqlite> SELECT time, heartrate FROM strava_streams(11234567890);
**     sqlite> SELECT * FROM strava_sync_status;
**
** Registers three eponymous virtual tables:
**   strava_activities   strava_activities.cc (refreshes itself when stale)
**   strava_streams      strava_streams.cc    (table-valued: one activity's samples)
**   strava_sync_status  strava_sync_status.cc
**
** HOW IT WORKS
**
** sqlite3_strava_init is found by its name, so `.load ./strava` needs no
** entry-point argument. It saves the host's API table (SQLITE_EXTENSION_INIT2):
** this module and the whole core it links (built with
** -DSTRAVAFS_SQLITE_EXTENSION) call SQLite only through it and never link a
** SQLite of their own. Each connection gets one Context, shared by the three
** registrations, so tables declared with the same config share one read-only
** cache connection and one refresh record.
*/
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <iterator>
#include <string>

#include "model/analytics.h"
#include "strava_vtab.h"

namespace {

using stravafs::vtab::Context;

// sqlite3_create_module_v2 destructor: the last registration frees the Context.
void ReleaseContext(void* p) {
  auto* context = static_cast<Context*>(p);
  if (--context->registrations == 0) delete context;
}
void ReleaseView(void* p) {
  auto* module = static_cast<stravafs::vtab::ViewModule*>(p);
  ReleaseContext(module->context);
  delete module;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int sqlite3_strava_init(sqlite3* db, char** err,
                                                                          const sqlite3_api_routines* api) {
  SQLITE_EXTENSION_INIT2(api);
  try {
    const std::pair<const char*, const sqlite3_module*> modules[] = {
        {"strava_activities", &stravafs::vtab::kActivitiesModule},
        {"strava_streams", &stravafs::vtab::kStreamsModule},
        {"strava_sync_status", &stravafs::vtab::kSyncStatusModule},
    };
    auto* context = new Context{};
    // Each registration releases once, even when it fails.
    context->registrations = static_cast<int>(std::size(modules) + stravafs::kAnalyticsViews.size());
    int result = SQLITE_OK;
    auto check = [&](int rc, const std::string& name) {
      if (rc != SQLITE_OK && result == SQLITE_OK) {
        result = rc;
        *err = sqlite3_mprintf("strava: cannot register %s: %s", name.c_str(), sqlite3_errstr(rc));
      }
    };
    for (const auto& [name, module] : modules)
      check(sqlite3_create_module_v2(db, name, module, context, ReleaseContext), name);
    for (const stravafs::AnalyticsView& view : stravafs::kAnalyticsViews) {
      const std::string name = std::string("strava_") + view.name;
      auto* aux = new stravafs::vtab::ViewModule{context, view.name};
      check(sqlite3_create_module_v2(db, name.c_str(), &stravafs::vtab::kViewModule, aux, ReleaseView), name);
    }
    return result;
  } catch (...) {
    return SQLITE_NOMEM;
  }
}
