// Fuzz target: streams ingest (GET /activities/{id}/streams, both shapes:
// key_by_type=true's object and the older array of {"type": ...}) through the
// sync's own reader and the cache, and the .csv and .gpx the mount renders
// from the samples stored.
//
// Input: the JSON text of a streams reply, read by api::ParseStreams (simdjson)
// and, as the oracle, by nlohmann. A cache in /dev/shm (or $TMPDIR)
// holds one activity with a hostile name; each input is stored in a
// transaction that is rolled back. Checks, for a reply api::ParseStreams
// accepts (nlohmann reads it too, and every stream has a data array):
//   - StoreStreams succeeds, and the samples read back are one per index of
//     the longest known stream, each value the one sent (numbers as doubles,
//     booleans 0/1, latlng only as a pair of numbers);
//   - the sizes written at sync time (activity_sync.streams_csv_size,
//     gpx_size) equal the length of the files the mount renders from the
//     stored samples and JSON (RenderStreamsCsv, RenderGpxText);
//   - the .csv is RFC 4180 with a record per sample and 13 fields each, and
//     the .gpx is well-formed XML with one trkpt per positioned sample.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "cache/db.h"
#include "cache/activity_store.h"
#include "format/render.h"
#include "fuzz_check.h"
#include "strava/api.h"

using namespace stravafs;

namespace {

constexpr int64_t kId = 11234567890;

// Column of the samples for each stream type; latlng is lat and lng.
const std::pair<const char*, std::optional<double> StreamSample::*> kTypes[] = {
    {"time", &StreamSample::time},           {"distance", &StreamSample::distance},
    {"altitude", &StreamSample::altitude},   {"velocity_smooth", &StreamSample::velocity},
    {"heartrate", &StreamSample::heartrate}, {"cadence", &StreamSample::cadence},
    {"watts", &StreamSample::watts},         {"temp", &StreamSample::temp},
    {"moving", &StreamSample::moving},       {"grade_smooth", &StreamSample::grade}};

std::string g_dir;

Cache& TheCache() {
  static std::unique_ptr<Cache> cache = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : (tmp && *tmp ? tmp : "/tmp");
    // A crash (a failed check traps) skips atexit: clear what such runs left.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("stravafs-fuzz-streams-", 0) != 0) continue;
      const long pid = std::atol(name.c_str() + std::strlen("stravafs-fuzz-streams-"));
      if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove_all(e.path(), ec);
    }
    g_dir = base + "/stravafs-fuzz-streams-" + std::to_string(getpid());
    std::atexit([] { std::filesystem::remove_all(g_dir); });
    auto c = Cache::Open(g_dir + "/cache.db", Cache::Mode::kReadWrite);
    if (!c.ok()) fuzz::Fail(__FILE__, __LINE__, "cannot open the cache", c.status().message());
    (void)(*c)->Exec("PRAGMA synchronous=OFF");  // speed only: a fuzz cache need not survive a crash
    const Json activity = Json::parse(R"({"resource_state":2,"athlete":{"id":3141592653,"resource_state":1},
      "name":"Morgenlauf <am> & \"Fluss\" 'ü' 🏃‍♀️\r\n]]>","distance":10234.5,"moving_time":3000,
      "elapsed_time":3100,"total_elevation_gain":12,"type":"Run","sport_type":"Trail<Run>&","id":11234567890,
      "start_date":"2024-05-12T05:30:00Z","start_date_local":"2024-05-12T07:30:00Z",
      "timezone":"(GMT+01:00) Europe/Berlin","utc_offset":7200.0,"start_latlng":[52.5,13.4],
      "end_latlng":[52.51,13.41],"map":{"id":"a1","summary_polyline":"abc","resource_state":2}})");
    if (auto s = ActivityStore(**c).UpsertRow(*RowFromJson(activity), 1); !s.ok())
      fuzz::Fail(__FILE__, __LINE__, "cannot store the activity", s.status().message());
    return std::move(*c);
  }();
  return *cache;
}

// The double the cache holds for one stream value. A number beyond a
// double's range (nlohmann reads it as infinity) is none: no JSON value is.
std::optional<double> Expected(const Json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  if (v.is_number_unsigned()) return static_cast<double>(v.get<uint64_t>());
  if (v.is_number_integer()) return static_cast<double>(v.get<int64_t>());
  if (v.is_number() && std::isfinite(v.get<double>())) return v.get<double>();
  return std::nullopt;
}

std::string Num(const std::optional<double>& v) {
  if (!v) return "NULL";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", *v);
  return buf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto streams = api::ParseStreams(text);  // the sync's own reader
  if (!streams.ok()) return 0;             // refused: retried by the sync, never stored
  // The oracle: nlohmann's reading of the same text, keyed by type.
  const Json reply = Json::parse(text, nullptr, false);
  FUZZ_CHECK(!reply.is_discarded(), "ParseStreams took text nlohmann does not read as JSON");
  Json keyed = Json::object();
  if (reply.is_object()) {
    keyed = reply;
  } else {
    FUZZ_CHECK(reply.is_array(), "ParseStreams took a reply that is neither object nor array");
    for (const Json& s : reply)
      if (s.is_object() && s.contains("type") && s["type"].is_string()) keyed[s["type"].get<std::string>()] = s;
  }
  for (const auto& [type, s] : keyed.items())
    FUZZ_CHECK(s.is_object() && s.contains("data") && s["data"].is_array(), "ParseStreams took stream " + type);

  Cache& cache = TheCache();
  Transaction tx(cache);
  FUZZ_CHECK(tx.status().ok(), tx.status().message());
  Status stored = ActivityStore(cache).StoreStreams(kId, *streams);
  FUZZ_CHECK(stored.ok(), stored.message());
  auto samples = ActivityStore(cache).LoadSamples(kId);
  FUZZ_CHECK(samples.ok(), samples.status().message());

  // One sample per index of the longest stream StoreStreams knows.
  size_t length = 0;
  auto data_of = [&](const char* type) -> const Json* {
    auto it = keyed.find(type);
    if (it == keyed.end() || !it->is_object()) return nullptr;
    auto d = it->find("data");
    return d != it->end() && d->is_array() ? &*d : nullptr;
  };
  for (const char* type : {"time", "distance", "latlng", "altitude", "velocity_smooth", "heartrate", "cadence", "watts",
                           "temp", "moving", "grade_smooth"})
    if (const Json* d = data_of(type)) length = std::max(length, d->size());
  FUZZ_CHECK(samples->size() == length, std::to_string(samples->size()) + " samples, want " + std::to_string(length));
  for (size_t i = 0; i < length; ++i) {
    const StreamSample& s = (*samples)[i];
    FUZZ_CHECK(s.seq == static_cast<int64_t>(i), "");
    for (const auto& [type, member] : kTypes) {
      const Json* d = data_of(type);
      const std::optional<double> want = d && i < d->size() ? Expected((*d)[i]) : std::nullopt;
      const std::optional<double>& got = s.*member;
      FUZZ_CHECK(got == want, std::string(type) + "[" + std::to_string(i) + "]: stored " + Num(got) + ", sent " +
                                  ((d && i < d->size()) ? (*d)[i].dump() : "nothing"));
    }
    const Json* ll = data_of("latlng");
    std::optional<double> lat, lng;
    if (ll && i < ll->size()) {
      const Json& p = (*ll)[i];
      if (p.is_array() && p.size() == 2 && Expected(p[0]) && Expected(p[1]) && !p[0].is_boolean() &&
          !p[1].is_boolean()) {
        lat = Expected(p[0]);
        lng = Expected(p[1]);
      }
    }
    FUZZ_CHECK(s.lat == lat && s.lng == lng, "latlng[" + std::to_string(i) + "]: stored " + Num(s.lat) + "," +
                                                 Num(s.lng) + ", sent " +
                                                 (ll && i < ll->size() ? (*ll)[i].dump() : ""));
  }

  // The sizes kept for the mount are those of the files it renders.
  Stmt* q = cache.Prepare("SELECT streams_csv_size, gpx_size FROM activity_sync WHERE id=?");
  q->Bind(1, kId);
  FUZZ_CHECK(q->Step(), "");
  const std::optional<int64_t> csv_size = q->IsNull(0) ? std::nullopt : std::optional<int64_t>(q->Int(0));
  const std::optional<int64_t> gpx_size = q->IsNull(1) ? std::nullopt : std::optional<int64_t>(q->Int(1));
  q->Reset();
  Stmt* j = cache.Prepare("SELECT json FROM activities WHERE id=?");
  j->Bind(1, kId);
  FUZZ_CHECK(j->Step(), "");
  const std::string json = j->Text(0);
  j->Reset();

  const std::string csv = RenderStreamsCsv(*samples);
  if (samples->empty()) {
    FUZZ_CHECK(!csv_size, "");
  } else {
    FUZZ_CHECK(csv_size && *csv_size == static_cast<int64_t>(csv.size()),
               "streams_csv_size " + (csv_size ? std::to_string(*csv_size) : "NULL") + " rendered " +
                   std::to_string(csv.size()));
  }
  std::string error;
  auto records = fuzz::ParseCsv(csv, error);
  FUZZ_CHECK(records && records->size() == samples->size() + 1, error + "\n" + fuzz::Show(csv));
  for (const auto& r : *records) FUZZ_CHECK(r.size() == 13, fuzz::Show(csv));

  if (!HasGps(*samples)) {
    FUZZ_CHECK(!gpx_size, "a gpx_size without positions");
  } else {
    const std::string gpx = RenderGpxText(json, *samples);
    FUZZ_CHECK(
        gpx_size && *gpx_size == static_cast<int64_t>(gpx.size()),
        "gpx_size " + (gpx_size ? std::to_string(*gpx_size) : "NULL") + " rendered " + std::to_string(gpx.size()));
    const fuzz::XmlDocument doc = fuzz::ParseXml(gpx);
    FUZZ_CHECK(doc.well_formed, doc.error + "\n" + fuzz::Show(gpx));
    size_t trkpts = 0, points = 0;
    for (const auto& e : doc.elements) trkpts += e.path == "gpx/trk/trkseg/trkpt";
    for (const auto& s : *samples) points += s.lat && s.lng && std::isfinite(*s.lat) && std::isfinite(*s.lng);
    FUZZ_CHECK(trkpts == points, std::to_string(trkpts) + " trkpt, " + std::to_string(points) + " positions");
  }
  return 0;  // tx rolls back: the next input starts from the same cache
}
