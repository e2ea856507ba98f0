// analytics-bench-gen CACHE N SAMPLES: writes a cache of N activities with
// SAMPLES stream samples each for analytics_bench.sh, through the real write
// path (ActivityStore::UpsertRow and ActivityStore::StoreStreams, so every summary table
// is filled exactly as a sync fills it), without the emulator or HTTP, which
// would take far longer for 20 million samples and measure nothing here.
// Deterministic: the same arguments make the same cache.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "model/activity.h"
#include "cache/db.h"
#include "cache/activity_store.h"
#include "cache/athlete_store.h"

using stravafs::ActivityStore;
using stravafs::AthleteStore;
using stravafs::Cache;
using stravafs::Json;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s CACHE N SAMPLES\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const long n = std::atol(argv[2]), samples = std::atol(argv[3]);
  auto opened = Cache::Open(path, Cache::Mode::kReadWrite);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().message().c_str());
    return 1;
  }
  Cache& cache = **opened;
  std::mt19937_64 rng(7);
  auto unit = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  static const char* kSports[] = {"Run", "Ride", "Run", "VirtualRide", "Swim", "TrailRun", "Walk", "Ride"};
  if (auto s = AthleteStore(cache).StoreAthlete({{"id", 1}, {"firstname", "Bench"}, {"ftp", 250}}); !s.ok()) return 1;
  const int64_t start0 = 1262304000;  // 2010-01-01; one every 4 hours: 100000 span 16.4 years
  for (long i = 0; i < n;) {
    stravafs::Transaction tx(cache);
    if (!tx.status().ok()) return 1;
    for (long batch = 0; batch < 500 && i < n; ++batch, ++i) {
      const std::string sport = kSports[i % 8];
      const bool ride = sport.find("Ride") != std::string::npos;
      const double speed = ride ? 7 + 3 * unit() : sport == "Swim" ? 0.8 : 2.5 + unit();
      const int64_t start = start0 + i * 14400 + static_cast<int64_t>(unit() * 3600);
      // Samples every second, with a pause now and then; rides hold power.
      stravafs::StreamSet streams;
      std::vector<double>&time = streams["time"], &distance = streams["distance"], &hr = streams["heartrate"],
      &watts = streams["watts"];
      double t = 0, d = 0;
      const bool has_hr = i % 5 != 0;
      for (long k = 0; k < samples; ++k) {
        time.push_back(t);
        distance.push_back(d);
        if (has_hr) hr.push_back(110 + static_cast<int>(70 * unit()));
        if (ride) watts.push_back(static_cast<int>(100 + 250 * unit()));
        const double dt = unit() < 0.01 ? 30 : 1;
        t += dt;
        d += dt > 1 ? 0 : speed * (0.8 + 0.4 * unit());
      }
      Json a = {{"id", 1000000 + i},
                {"resource_state", 2},
                {"athlete", {{"id", 1}}},
                {"name", sport + " " + std::to_string(i)},
                {"sport_type", sport},
                {"type", sport},
                {"distance", d},
                {"moving_time", static_cast<int64_t>(t)},
                {"elapsed_time", static_cast<int64_t>(t) + 30},
                {"total_elevation_gain", static_cast<int>(unit() * 300)},
                {"kudos_count", static_cast<int>(unit() * 20)},
                {"pr_count", static_cast<int>(unit() * 3)},
                {"start_date", stravafs::FormatIsoUtc(start)},
                {"start_date_local", stravafs::FormatIsoUtc(start + 3600)},
                {"utc_offset", 3600.0},
                {"timezone", "(GMT+01:00) Europe/Paris"}};
      if (auto r = ActivityStore(cache).UpsertRow(*stravafs::RowFromJson(a), 1); !r.ok()) {
        std::fprintf(stderr, "%s\n", r.status().message().c_str());
        return 1;
      }
      if (auto s = ActivityStore(cache).StoreStreams(1000000 + i, streams); !s.ok()) {
        std::fprintf(stderr, "%s\n", s.message().c_str());
        return 1;
      }
    }
    if (auto s = tx.Commit(); !s.ok()) return 1;
  }
  return 0;
}
