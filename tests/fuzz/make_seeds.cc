// make-seeds: writes the fuzz targets' seed corpora from the emulator's
// deterministic generator (tests/emulator), so the fuzzers start from what
// Strava really sends (as the emulator models it: names in many scripts with
// emoji and hostile characters, time zones, optional keys left out or null,
// integers for whole floats, manual activities, GPS tracks).
//
//   make-seeds OUTDIR     writes OUTDIR/<target>/<name> for every target
//
// The import targets (fit, xml_track, export_csv, gunzip) get the files of a
// small bulk export the emulator writes (export_writer.h: FIT with its
// encoding options, Strava's GPX, Garmin's TCX, activities.csv in English,
// German and the old short header, profile/bikes/shoes), each behind the
// bytes that pick the target's mode. The export's decompressed activity
// files are also left in OUTDIR/raw/ for tests/fuzz/run to convert with
// gpsbabel (seeds of a second writer).
//
// The same binary always writes the same files (fixed seed and end date).
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../emulator/export_writer.h"
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

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A file's bytes, decompressed when it is gzip (gzread passes others through).
std::string ReadMaybeGzip(const fs::path& path) {
  std::string out;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return out;
  char buf[65536];
  for (int n; (n = gzread(f, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

// The first `rows` records of a CSV whose records end at an LF outside quotes.
std::string FirstRows(const std::string& csv, int rows) {
  bool quoted = false;
  for (size_t i = 0; i < csv.size(); ++i) {
    if (csv[i] == '"') quoted = !quoted;
    if (csv[i] == '\n' && !quoted && --rows < 0) return csv.substr(0, i + 1);
  }
  return csv;
}

// Seeds for the import targets from a small bulk export (see the top).
void WriteImportSeeds(const std::vector<emu::Activity>& activities, int64_t end) {
  const std::string kChunkSeed("\x2a\x17\x05\x9c", 4);  // fuzz_export_csv's chunking
  int variant = 0;
  for (const char* lang : {"en", "de", "old"}) {
    emu::ExportOptions opt;
    opt.dir = (g_out / "export" / lang).string();
    opt.samples = 12;  // small files: the targets' max_len is 16 KiB
    opt.end = end;
    opt.german = std::string(lang) == "de";
    opt.old_header = std::string(lang) == "old";
    emu::ExportStats stats;
    std::string err;
    if (!emu::write_export(activities, opt, stats, err)) {
      std::fprintf(stderr, "make-seeds: %s\n", err.c_str());
      std::exit(1);
    }
    const std::string csv = ReadFile(fs::path(opt.dir) / "activities.csv");
    Write("export_csv", std::string("activities-") + lang + ".csv", kChunkSeed + FirstRows(csv, 6));
    if (variant++ > 0) continue;  // the activity files are the same in every language
    Write("export_csv", "profile.csv", kChunkSeed + ReadFile(fs::path(opt.dir) / "profile.csv"));
    Write("export_csv", "bikes.csv", kChunkSeed + ReadFile(fs::path(opt.dir) / "bikes.csv"));
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(fs::path(opt.dir) / "activities")) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    int fits = 0, gpxs = 0, tcxs = 0, gzips = 0;
    for (const fs::path& path : files) {
      const std::string name = path.filename().string();
      const std::string bytes = ReadMaybeGzip(path);
      std::string base = name.substr(0, name.find('.'));
      if (name.find(".fit") != std::string::npos && fits++ < 6) {
        // fuzz_fit mode 1 (CRCs fixed; these are right already) and mode 0.
        Write("fit", base + ".fit", std::string(1, fits % 2 ? '\x01' : '\x00') + bytes);
        Write("raw", base + ".fit", bytes);
      } else if (name.find(".gpx") != std::string::npos && gpxs++ < 4) {
        // fuzz_xml_track: bit 0 clear is GPX; the other bits pick a preamble.
        Write("xml_track", base + ".gpx", std::string(1, static_cast<char>(gpxs << 2)) + bytes);
        Write("raw", base + ".gpx", bytes);
      } else if (name.find(".tcx") != std::string::npos && tcxs++ < 4) {
        Write("xml_track", base + ".tcx", std::string(1, static_cast<char>(tcxs << 2 | 1)) + bytes);
        Write("raw", base + ".tcx", bytes);
      }
      if (name.ends_with(".gz") && gzips++ < 4) {
        // fuzz_gunzip: the 64 KiB bound (index 12 of its table), mode 0 (as is).
        Write("gunzip", name, std::string("\x0c\x00", 2) + ReadFile(path));
      }
    }
  }
  fs::remove_all(g_out / "export");
  // fuzz_gunzip's payload mode: a few payloads, each wrapper.
  Write("gunzip", "payload-gzip", std::string("\x0b\x2b", 2) + "time,lat,lng\n1,47.1,8.5\n2,47.2,8.6\n");
  Write("gunzip", "payload-zlib", std::string("\x07\x03", 2) + std::string(300, 'a'));
  Write("gunzip", "payload-members", std::string("\x0a\xd5", 2) + "two members, padded");
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
  const std::vector<std::string> all = {"time",    "distance", "latlng", "altitude", "velocity_smooth", "heartrate",
                                        "cadence", "watts",    "temp",   "moving",   "grade_smooth"};

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
      Write("streams", "array-" + id + ".json",
            emu::streams_json(a, ctx, {"time", "latlng", "heartrate"}, false).dump());
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

  emu::GenParams import_params = params;
  import_params.count = 16;
  WriteImportSeeds(emu::generate(import_params).activities, params.end);

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
  Write("ratelimit", "headers",
        std::string("\x50\x01\x00\x03X-RateLimit-Usage: 8,151\r\nX-ReadRateLimit-Limit: 100,1000\r\n", 62));
  return 0;
}
