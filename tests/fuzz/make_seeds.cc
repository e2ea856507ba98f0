// make-seeds: writes the fuzz targets' seed corpora from the emulator's
// deterministic generator (tests/emulator), so the fuzzers start from what
// Strava really sends (as the emulator models it: names in many scripts with
// emoji and hostile characters, time zones, optional keys left out or null,
// integers for whole floats, manual activities, GPS tracks).
//
//   make-seeds OUTDIR     writes OUTDIR/<target>/<name> for every target
//
// The same binary always writes the same files (fixed seed and end date).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "../emulator/generator.h"
#include "../emulator/render.h"
#include "../emulator/timeutil.h"

namespace fs = std::filesystem;

namespace {

fs::path g_out;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_out / target);
  std::ofstream(g_out / target / name, std::ios::binary) << bytes;
}

std::string Le64(int64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(static_cast<uint64_t>(v) >> (8 * i));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make-seeds OUTDIR\n");
    return 2;
  }
  g_out = argv[1];
  emu::GenParams params;
  params.count = 60;
  params.seed = 2024;
  params.end = emu::days_from_civil(2026, 11, 1) * 86400;
  const emu::Generated gen = emu::generate(params);
  emu::RenderCtx ctx{params.athlete_id, 12, nullptr};
  const std::vector<std::string> all = {"time",      "distance", "latlng", "altitude", "velocity_smooth",
                                        "heartrate", "cadence",  "watts",  "temp",     "moving", "grade_smooth"};

  int n = 0;
  emu::ojson page = emu::ojson::array();
  for (const emu::Activity& a : gen.activities) {
    const std::string id = std::to_string(n++);
    // activity: summaries (compact, as listed) and details (as fetched, dump()).
    if (n % 3 == 0) Write("activity", "summary-" + id + ".json", emu::summary_json(a, ctx).dump());
    if (n % 6 == 1) Write("activity", "detail-" + id + ".json", emu::detail_json(a, ctx).dump());
    if (n <= 4) page.push_back(emu::summary_json(a, ctx));
    // streams: both shapes, all types or a few.
    if (n % 5 == 0) {
      Write("streams", "by-type-" + id + ".json", emu::streams_json(a, ctx, all, true).dump());
      Write("streams", "array-" + id + ".json", emu::streams_json(a, ctx, {"time", "latlng", "heartrate"}, false).dump());
    }
    // names: id, start_date_local, sport type and name as fuzz_names.cc reads them.
    if (n % 2 == 0) {
      const emu::ojson s = emu::summary_json(a, ctx);
      std::string local = s["start_date_local"].get<std::string>().substr(0, 19);
      const std::string sport = s["sport_type"].get<std::string>();
      Write("names", "name-" + id, Le64(a.id) + local + static_cast<char>(sport.size()) + sport + a.name);
    }
  }
  Write("activity", "page.json", page.dump());
  Write("activity", "empty-page.json", "[]");

  // config: the documented example and a few shapes of values.
  Write("config", "minimal.conf", "[strava]\nclient_id = 12345\n");
  Write("config", "full.conf",
        "; comment\n[strava]\nclient_id = 12345\nclient_secret = abc\nbase_url = http://127.0.0.1:8080/\n"
        "scope = read,activity:read_all\ntimeout = 2.5s\n\n[cache]\npath = cache.db\n\n[sync]\nlookback = 7d\n"
        "details = yes\nstreams = time, latlng ,heartrate\nbudget = 80%\nmax_age = 1h30m\n\n[mount]\nrefresh = 0\n\n"
        "[testing]\nrate_window = 900ms\nrate_day = 1d\nretry_base = 10ms\n");
  Write("config", "errors.conf", "[strava]\nclient_id = x12\n[snyc]\nlookback = 7\n[sync]\nbudget = 0.8\nbudget = 1\n");
  Write("config", "secret-file.conf", "[strava]\nclient_secret_file = ~/.config/stravafs/client_secret\n");

  // ratelimit and render read their input through FuzzedDataProvider: any
  // bytes do; a few of different lengths from the generator's words.
  emu::Rng rng(7);
  for (int i = 0; i < 8; ++i) {
    std::string bytes;
    const int len = 16 << (i % 5);
    for (int k = 0; k < len; ++k) bytes += static_cast<char>(rng.next() & 0xFF);
    Write("ratelimit", "random-" + std::to_string(i), bytes);
    Write("render", "random-" + std::to_string(i), bytes);
  }
  // Real header lines for the rate limiter (as FuzzedDataProvider reads a string).
  Write("ratelimit", "headers", std::string("\x50\x01\x00\x03X-RateLimit-Usage: 8,151\r\nX-ReadRateLimit-Limit: 100,1000\r\n", 62));
  return 0;
}
