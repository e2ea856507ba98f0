// Tests for mount/tree.cc without mounting: a real cache written through Cache
// (as the sync writes it), read through FsTree (as the mount reads it).
// Sizes are checked against the bytes actually rendered, names against
// lookups, activities.csv against reads at every kind of offset, and the
// change log against what the kernel must forget.
#include "mount/tree.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <zlib.h>

#include "cache/db.h"
#include "cache/activity_store.h"
#include "cache/athlete_store.h"
#include "cache/import_store.h"
#include "format/json_file.h"
#include "format/names.h"
#include "format/render.h"
#include "fake_transport.h"
#include "same_attr.h"
#include "upsert_summary.h"
#include "streams_of.h"

namespace stravafs {
namespace {

using testing::TempDir;

Json Activity(int64_t id, const std::string& start_utc, const std::string& name, const std::string& sport = "Run") {
  Json j = Json::object();
  j["resource_state"] = 2;
  j["id"] = id;
  j["name"] = name;
  j["sport_type"] = sport;
  j["type"] = sport;
  j["distance"] = 5000.5 + static_cast<double>(id % 7);
  j["moving_time"] = 1500;
  j["elapsed_time"] = 1620;
  j["start_date"] = start_utc;
  auto epoch = ParseIsoUtc(start_utc);
  REQUIRE(epoch.has_value());
  j["start_date_local"] = FormatIsoUtc(*epoch + 3600);  // Europe/Berlin in winter
  j["timezone"] = "(GMT+01:00) Europe/Berlin";
  j["utc_offset"] = 3600.0;
  j["athlete"] = {{"id", 7}, {"resource_state", 1}};
  return j;
}

Json Streams(int n, bool gps) {
  Json time = Json::array(), hr = Json::array(), latlng = Json::array(), alt = Json::array();
  for (int i = 0; i < n; ++i) {
    time.push_back(i * 5);
    hr.push_back(120 + i % 30);
    latlng.push_back(Json::array({52.52 + i * 1e-4, 13.405 + i * 1e-4}));
    alt.push_back(34.5 + i * 0.25);
  }
  Json s = {{"time", {{"data", time}}}, {"heartrate", {{"data", hr}}}, {"altitude", {{"data", alt}}}};
  if (gps) s["latlng"] = {{"data", latlng}};
  return s;
}

struct Fixture {
  TempDir dir;
  std::string path = dir.path() + "/cache.db";
  std::unique_ptr<Cache> writer;
  FsMemo memo;
  std::unique_ptr<FsTree> tree;

  Fixture() {
    auto c = Cache::Open(path, Cache::Mode::kReadWrite);
    INFO(c.status().message());
    REQUIRE(c.ok());
    writer = std::move(*c);
    REQUIRE(AthleteStore(*writer)
                .StoreAthlete({{"id", 7}, {"firstname", "Ana"}, {"lastname", "Bä\"r"}, {"resource_state", 3}})
                .ok());
  }
  void Put(const Json& a) { REQUIRE(UpsertSummary(*writer, a, 1).ok()); }
  FsTree& Tree() {
    if (!tree) {
      auto t = FsTree::Open(path, memo);
      INFO(t.status().message());
      REQUIRE(t.ok());
      tree = std::move(*t);
    }
    return *tree;
  }
  std::vector<DirEntry> List(uint64_t ino) {
    auto l = Tree().List(ino);
    INFO(l.status().message());
    REQUIRE(l.ok());
    REQUIRE(l->has_value());
    return (*l)->All();
  }
  std::vector<std::string> Names(uint64_t ino) {
    std::vector<std::string> names;
    for (const auto& e : List(ino)) names.push_back(e.name);
    return names;
  }
  // Every byte of a file, read the way the mount reads it.
  std::string Bytes(uint64_t ino) {
    if (FsTree::IsActivitiesCsv(ino)) {
      auto index = Tree().IndexCsv(ino);
      REQUIRE(index.ok());
      REQUIRE(index->has_value());
      auto all = Tree().ReadCsv(**index, 0, (*index)->size + 100);
      REQUIRE(all.ok());
      return *all;
    }
    auto r = Tree().Render(ino);
    INFO(r.status().message());
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    return **r;
  }
  NodeAttr Attr(uint64_t ino) {
    auto a = Tree().GetAttr(ino);
    REQUIRE(a.ok());
    REQUIRE(a->has_value());
    return **a;
  }
};

// Walks the whole tree: every file's size equals its bytes, every entry is
// found by lookup under the same inode with the same attributes.
int64_t CheckTree(Fixture& f, uint64_t dir) {
  int64_t files = 0;
  for (const auto& e : f.List(dir)) {
    auto looked = f.Tree().Lookup(dir, e.name);
    REQUIRE(looked.ok());
    INFO(e.name);
    REQUIRE(looked->has_value());
    CHECK((*looked)->ino == e.attr.ino);
    // stats/ files are listed unmeasured: the lookup measures them.
    CHECK(e.measured == !FsTree::IsStatsFile(e.attr.ino));
    const uint64_t size = e.measured ? e.attr.size : (*looked)->size;
    CHECK((*looked)->size == size);
    CHECK((*looked)->type == e.attr.type);
    NodeAttr a = f.Attr(e.attr.ino);
    CHECK(a.size == size);
    CHECK(a.nlink == e.attr.nlink);
    CHECK(a.mtime == e.attr.mtime);
    if (e.attr.type == NodeType::kDir) {
      files += CheckTree(f, e.attr.ino);
    } else if (e.attr.type == NodeType::kFile) {
      std::string bytes = f.Bytes(e.attr.ino);
      CHECK(bytes.size() == size);
      CHECK(size > 0);
      ++files;
    } else {
      auto target = f.Tree().ReadLink(e.attr.ino);
      REQUIRE(target.ok());
      REQUIRE(target->has_value());
      CHECK((*target)->size() == e.attr.size);
    }
  }
  return files;
}

// Purges `athlete`, the second of two, and returns what the change log then
// says: the layout is one athlete's again.
Invalidation PurgeToOneLayout(Fixture& f, int64_t athlete) {
  auto before = f.Tree().LastChange();
  REQUIRE(before.ok());
  REQUIRE(AthleteStore(*f.writer).Purge(athlete).ok());
  auto back = f.Tree().ChangesSince(*before);
  REQUIRE(back.ok());
  CHECK(back->relaid);
  return *back;
}

// Three activities across a year's end: 11000000002 (2023-12-30, streams
// without a position), 11000000001 (2024-01-01 local) and 11000000003
// (2024-05-12, a ride with GPS streams, named with a newline).
void PutAcrossYears(Fixture& f) {
  f.Put(Activity(11000000001, "2023-12-31T23:30:00Z", "Silvesterlauf"));  // local: 2024-01-01 00:30
  f.Put(Activity(11000000002, "2023-12-30T08:00:00Z", "Morning Run"));
  f.Put(Activity(11000000003, "2024-05-12T06:30:00Z", "Ride/with\nnewline", "Ride"));
  REQUIRE(ActivityStore(*f.writer).StoreStreams(11000000003, StreamsOf(Streams(40, true))).ok());
  REQUIRE(ActivityStore(*f.writer).StoreStreams(11000000002, StreamsOf(Streams(10, false))).ok());
}

TEST_CASE("the tree: folders from start_date_local, files per what is held", "[fs_tree]") {
  Fixture f;
  PutAcrossYears(f);

  CHECK(f.Names(kRootInode) ==
        std::vector<std::string>{"athlete.json", "activities.csv", "by-id", "stats", "2023", "2024"});
  CHECK(f.Attr(kRootInode).nlink == 2 + 2 + 1 + 1);
  CHECK(f.Names(YearDirInode(2024)) == std::vector<std::string>{"activities.csv", "01", "05"});
  CHECK(f.Attr(YearDirInode(2024)).nlink == 4);
  CHECK(f.Attr(MonthDirInode(2024, 5)).nlink == 2);
  CHECK(f.Names(MonthDirInode(2024, 1)) ==
        std::vector<std::string>{"activities.csv", "2024-01-01_0030_Silvesterlauf_11000000001.json"});
  CHECK(f.Names(MonthDirInode(2024, 5)) ==
        std::vector<std::string>{"activities.csv", "2024-05-12_0730_Ride-with-newline_11000000003.json",
                                 "2024-05-12_0730_Ride-with-newline_11000000003.csv",
                                 "2024-05-12_0730_Ride-with-newline_11000000003.gpx"});
  // Streams without a position: a .csv, no .gpx.
  CHECK(f.Names(MonthDirInode(2023, 12)) == std::vector<std::string>{"activities.csv",
                                                                     "2023-12-30_0900_Morning-Run_11000000002.json",
                                                                     "2023-12-30_0900_Morning-Run_11000000002.csv"});
  CHECK(f.Names(kByIdDirInode) == std::vector<std::string>{"11000000002.json", "11000000001.json", "11000000003.json"});
  auto target = f.Tree().ReadLink(ByIdLinkInode(11000000003));
  REQUIRE(target.ok());
  CHECK(**target == "../2024/05/2024-05-12_0730_Ride-with-newline_11000000003.json");
  // 3 JSON + 2 streams CSV + 1 GPX + athlete.json + activities.csv in the root, 2 years and 3 months,
  // and the 12 files of stats/.
  CHECK(CheckTree(f, kRootInode) == 3 + 2 + 1 + 1 + 1 + 2 + 3 + 12);
  // mtimes: an activity's start; a folder's newest start.
  CHECK(f.Attr(ActivityFileInode(ActivityFile::kJson, 11000000003)).mtime == *ParseIsoUtc("2024-05-12T06:30:00Z"));
  CHECK(f.Attr(YearDirInode(2023)).mtime == *ParseIsoUtc("2023-12-30T08:00:00Z"));
  CHECK(f.Attr(kRootInode).mtime == *ParseIsoUtc("2024-05-12T06:30:00Z"));
}

TEST_CASE("file contents are the renderers' bytes", "[fs_tree]") {
  Fixture f;
  Json a = Activity(11000000003, "2024-05-12T06:30:00Z", "Évening \"Ride\", with commas", "Ride");
  f.Put(a);
  REQUIRE(ActivityStore(*f.writer).StoreStreams(11000000003, StreamsOf(Streams(25, true))).ok());
  CHECK(f.Bytes(ActivityFileInode(ActivityFile::kJson, 11000000003)) == RenderJsonFile(a));
  auto samples = ActivityStore(*f.writer).LoadSamples(11000000003);
  REQUIRE(samples.ok());
  REQUIRE(samples->size() == 25);
  CHECK(f.Bytes(ActivityFileInode(ActivityFile::kCsv, 11000000003)) == RenderStreamsCsv(*samples));
  CHECK(f.Bytes(ActivityFileInode(ActivityFile::kGpx, 11000000003)) == RenderGpx(a, *samples));
  CHECK(f.Bytes(kRootCsvInode) == ActivitiesCsvHeader() + ActivityCsvRow(*RowFromJson(a)));
  CHECK(f.Bytes(MonthCsvInode(2024, 5)) == ActivitiesCsvHeader() + ActivityCsvRow(*RowFromJson(a)));
  CHECK(f.Bytes(kAthleteJsonInode).find("\"lastname\": \"Bä\\\"r\"") != std::string::npos);
}

TEST_CASE("what a reader reads next: the following activities, and their files rendered together", "[fs_tree]") {
  Fixture f;
  PutAcrossYears(f);
  auto version = [&](int64_t id) { return f.Attr(ActivityFileInode(ActivityFile::kJson, id)).version; };

  // In the folders' order (start_date_local), across years, with versions.
  auto next = f.Tree().NextActivities(11000000002, 5);
  REQUIRE(next.ok());
  REQUIRE(next->size() == 2);
  CHECK((*next)[0].id == 11000000001);
  CHECK((*next)[0].version == version(11000000001));
  CHECK((*next)[1].id == 11000000003);
  CHECK((*next)[1].version == version(11000000003));
  next = f.Tree().NextActivities(11000000002, 1);
  REQUIRE(next.ok());
  CHECK(next->size() == 1);
  next = f.Tree().NextActivities(11000000003, 2);
  REQUIRE(next.ok());
  CHECK(next->empty());

  // Each file as Render() makes it; only those the activity shows.
  const auto all = FsTree::ActivityKinds()
                       .With(InodeKind::kActivityJson)
                       .With(InodeKind::kActivityCsv)
                       .With(InodeKind::kActivityGpx);
  auto inos = [](const std::vector<FsTree::RenderedFile>& files) {
    std::vector<uint64_t> out;
    for (const auto& file : files) out.push_back(file.ino);
    return out;
  };
  auto ride = f.Tree().RenderActivity(11000000003, all);
  REQUIRE(ride.ok());
  CHECK(inos(*ride) == std::vector<uint64_t>{ActivityFileInode(ActivityFile::kJson, 11000000003),
                                             ActivityFileInode(ActivityFile::kCsv, 11000000003),
                                             ActivityFileInode(ActivityFile::kGpx, 11000000003)});
  for (const auto& file : *ride) CHECK(file.bytes == f.Bytes(file.ino));
  auto no_gps = f.Tree().RenderActivity(11000000002, all);  // no .gpx
  REQUIRE(no_gps.ok());
  CHECK(inos(*no_gps) == std::vector<uint64_t>{ActivityFileInode(ActivityFile::kJson, 11000000002),
                                               ActivityFileInode(ActivityFile::kCsv, 11000000002)});
  for (const auto& file : *no_gps) CHECK(file.bytes == f.Bytes(file.ino));
  auto no_streams = f.Tree().RenderActivity(11000000001, FsTree::ActivityKinds().With(InodeKind::kActivityCsv));
  REQUIRE(no_streams.ok());
  CHECK(no_streams->empty());
  auto json_only = f.Tree().RenderActivity(11000000003, FsTree::ActivityKinds().With(InodeKind::kActivityJson));
  REQUIRE(json_only.ok());
  CHECK(inos(*json_only) == std::vector<uint64_t>{ActivityFileInode(ActivityFile::kJson, 11000000003)});
}

TEST_CASE("an activity's files are at the version they were looked up at until the activity changes", "[fs_tree]") {
  Fixture f;
  constexpr int64_t kId = 11000000003;
  Json a = Activity(kId, "2024-05-12T06:30:00Z", "Evening Ride", "Ride");
  f.Put(a);
  const uint64_t json = ActivityFileInode(ActivityFile::kJson, kId);
  const uint64_t gpx = ActivityFileInode(ActivityFile::kGpx, kId);
  auto version = [&](uint64_t ino) {
    auto attr = f.Tree().GetAttr(ino);
    REQUIRE(attr.ok());
    REQUIRE(attr->has_value());
    return (*attr)->version;
  };
  auto at = [&](uint64_t ino, uint64_t v) {
    auto r = f.Tree().ActivityFileAt(ino, v);
    REQUIRE(r.ok());
    return *r;
  };
  const uint64_t v1 = version(json);
  CHECK(at(json, v1));
  CHECK_FALSE(at(json, v1 + 1));
  // Streams give the activity a .gpx, and every file a new version.
  REQUIRE(ActivityStore(*f.writer).StoreStreams(kId, StreamsOf(Streams(25, true))).ok());
  const uint64_t v2 = version(gpx);
  CHECK(v2 != v1);
  CHECK(version(json) == v2);
  CHECK_FALSE(at(json, v1));
  CHECK(at(json, v2));
  CHECK(at(gpx, v2));
  // A rename: new versions again.
  a["name"] = "Morning Ride";
  f.Put(a);
  CHECK_FALSE(at(json, v2));
  CHECK(at(json, version(json)));
  // Gone: at no version.
  const uint64_t v3 = version(json);
  REQUIRE(ActivityStore(*f.writer).DeleteActivity(kId).ok());
  CHECK_FALSE(at(json, v3));
  CHECK_FALSE(at(ActivityFileInode(ActivityFile::kJson, kId + 1), 0));
}

// gzip(1)'s format, as an export's .fit.gz holds it.
std::string Gzip(const std::string& data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_CASE("an imported original shows beside the activity, decompressed, as a new version", "[fs_tree][import]") {
  Fixture f;
  f.Put(Activity(11000000003, "2024-05-12T06:30:00Z", "Ride", "Ride"));
  f.Put(Activity(11000000004, "2024-05-13T06:30:00Z", "Run"));
  f.Put(Activity(11000000005, "2024-05-14T06:30:00Z", "Walk", "Walk"));
  const uint64_t may = MonthDirInode(2024, 5);
  const uint64_t rev_before = f.Attr(ActivityFileInode(ActivityFile::kJson, 11000000003)).version;
  const std::string fit = std::string(12, 'x') + ".FIT and the rest of a FIT file";
  const std::string tcx = "<?xml version=\"1.0\"?><TrainingCenterDatabase/>";
  ImportStore store(*f.writer);
  REQUIRE(store.StoreOriginal(11000000003, "1.fit.gz", "fit", static_cast<int64_t>(fit.size()), Gzip(fit)).ok());
  REQUIRE(store.StoreOriginal(11000000004, "2.tcx", "tcx", static_cast<int64_t>(tcx.size()), tcx).ok());
  REQUIRE(store.StoreOriginal(11000000005, "3.gpx", "gpx", 10, "<gpx></gpx>").ok());
  const auto names = f.Names(may);
  CHECK(std::count(names.begin(), names.end(), "2024-05-12_0730_Ride_11000000003.fit") == 1);
  CHECK(std::count(names.begin(), names.end(), "2024-05-13_0730_Run_11000000004.tcx") == 1);
  // A GPX original is not shown: the .gpx is the activity's track.
  CHECK(std::count_if(names.begin(), names.end(), [](const std::string& n) {
          return n.find("11000000005.") != std::string::npos && n.find(".json") == std::string::npos;
        }) == 0);
  CHECK(f.Bytes(ActivityFileInode(ActivityFile::kFit, 11000000003)) == fit);
  CHECK(f.Attr(ActivityFileInode(ActivityFile::kFit, 11000000003)).size == fit.size());
  CHECK(f.Bytes(ActivityFileInode(ActivityFile::kTcx, 11000000004)) == tcx);
  // Adding a file beside an activity is a new version of its files.
  CHECK(f.Attr(ActivityFileInode(ActivityFile::kFit, 11000000003)).version != rev_before);
  CHECK_FALSE(f.Tree().GetAttr(ActivityFileInode(ActivityFile::kTcx, 11000000003))->has_value());
  CheckTree(f, kRootInode);
}

TEST_CASE("activities.csv reads at any offset give the same bytes", "[fs_tree]") {
  Fixture f;
  // 700 activities in one month: three index blocks of 256 rows.
  std::vector<Json> all;
  REQUIRE(f.writer->Begin().ok());
  for (int i = 0; i < 700; ++i) {
    char start[32];
    std::snprintf(start, sizeof start, "2024-03-%02dT%02d:%02d:00Z", 1 + i / 30, (i / 2) % 24, (i * 7) % 60);
    all.push_back(Activity(12000000000 + i * 13, start, i % 3 ? "Run " + std::to_string(i) : "Comma, \"quote\"\nline"));
    f.Put(all.back());
  }
  REQUIRE(f.writer->Commit().ok());
  std::sort(all.begin(), all.end(), [](const Json& x, const Json& y) {
    return std::make_pair(x["start_date_local"].get<std::string>(), x["id"].get<int64_t>()) <
           std::make_pair(y["start_date_local"].get<std::string>(), y["id"].get<int64_t>());
  });
  std::string expected = ActivitiesCsvHeader();
  for (const Json& a : all) expected += ActivityCsvRow(*RowFromJson(a));

  for (uint64_t ino : {kRootCsvInode, YearCsvInode(2024), MonthCsvInode(2024, 3)}) {
    CHECK(f.Attr(ino).size == expected.size());
    auto index = f.Tree().IndexCsv(ino);
    REQUIRE(index.ok());
    REQUIRE(index->has_value());
    CHECK((*index)->blocks.size() == 3);
    CHECK(f.Bytes(ino) == expected);
    std::mt19937_64 rng(42);
    for (int k = 0; k < 200; ++k) {
      uint64_t off = rng() % (expected.size() + 10);
      size_t len = 1 + rng() % 70000;
      auto got = f.Tree().ReadCsv(**index, off, len);
      REQUIRE(got.ok());
      std::string want = off < expected.size() ? expected.substr(off, len) : "";
      INFO("offset " << off << " length " << len);
      CHECK(*got == want);
    }
    // Sequential 4 KiB reads, as cat does them.
    std::string joined;
    for (uint64_t off = 0; off < expected.size(); off += 4096) {
      auto got = f.Tree().ReadCsv(**index, off, 4096);
      REQUIRE(got.ok());
      joined += *got;
    }
    CHECK(joined == expected);
  }
}

TEST_CASE("a stats/ file's lookup keeps its bytes for the first read of that version", "[fs_tree]") {
  Fixture f;
  for (int i = 0; i < 40; ++i)
    f.Put(
        Activity(14000000000 + i, "2024-03-" + std::to_string(10 + i % 19) + "T07:00:00Z", "Run " + std::to_string(i)));
  const uint64_t facts = StatsFileInode(*StatsFileIndex("activity_facts.csv"));
  const uint64_t chart = StatsFileInode(*StatsFileIndex("calendar.svg"));
  for (uint64_t ino : {facts, chart}) {
    const NodeAttr attr = f.Attr(ino);  // measured: counted, and kept
    auto kept = f.Tree().TakeMeasured(ino, attr.version);
    REQUIRE(kept.has_value());
    CHECK(*kept == f.Bytes(ino));
    CHECK(kept->size() == attr.size);
    CHECK_FALSE(f.Tree().TakeMeasured(ino, attr.version).has_value());  // taken once
  }
  // Only the version measured is given, and a change of the cache drops
  // what was kept with everything else the memo holds.
  const NodeAttr before = f.Attr(facts);
  CHECK_FALSE(f.Tree().TakeMeasured(facts, before.version).has_value());  // memoized: not measured again
  f.memo.Invalidate();
  const NodeAttr again = f.Attr(facts);
  CHECK_FALSE(f.Tree().TakeMeasured(facts, again.version + 1).has_value());
  f.Put(Activity(14000000100, "2024-04-01T07:00:00Z", "Later"));
  f.memo.Invalidate();
  CHECK_FALSE(f.Tree().TakeMeasured(facts, again.version).has_value());
  const NodeAttr after = f.Attr(facts);
  CHECK(after.version != again.version);
  auto kept = f.Tree().TakeMeasured(facts, after.version);
  REQUIRE(kept.has_value());
  CHECK(*kept == f.Bytes(facts));
  CHECK(kept->find("Later") != std::string::npos);
}

TEST_CASE("what the memo keeps of measured stats/ files is bounded, the oldest going first", "[fs_tree]") {
  FsMemo memo;
  const uint64_t epoch = memo.epoch(1);
  const std::string big(FsMemo::kMeasuredFileBytes, 'x');
  memo.PutMeasured(epoch, 1, 10, std::string(FsMemo::kMeasuredFileBytes + 1, 'y'));  // too big to keep
  CHECK_FALSE(memo.TakeMeasured(1, 10).has_value());
  memo.PutMeasured(epoch, 1, 10, big);
  memo.PutMeasured(epoch, 2, 20, big);
  memo.PutMeasured(epoch, 3, 30, "abc");  // over kMeasuredBytes: the first goes
  CHECK_FALSE(memo.TakeMeasured(1, 10).has_value());
  CHECK(memo.TakeMeasured(3, 30) == "abc");
  CHECK(memo.TakeMeasured(2, 20) == big);
  // A newer measure of a file replaces the older; one computed before a
  // change is dropped.
  memo.PutMeasured(epoch, 4, 40, "old");
  memo.PutMeasured(epoch, 4, 41, "new");
  CHECK_FALSE(memo.TakeMeasured(4, 40).has_value());
  CHECK(memo.TakeMeasured(4, 41) == "new");
  memo.Invalidate();
  memo.PutMeasured(epoch, 5, 50, "late");
  CHECK_FALSE(memo.TakeMeasured(5, 50).has_value());
}

TEST_CASE("stats/ CSV files read a row at a time give the rendered bytes, in any order", "[fs_tree]") {
  Fixture f;
  REQUIRE(f.writer->Begin().ok());
  for (int i = 0; i < 3000; ++i) {  // activity_facts.csv: a few hundred KB
    char start[32];
    std::snprintf(start, sizeof start, "20%02d-%02d-%02dT07:%02d:00Z", 20 + i / 365, 1 + (i / 28) % 12, 1 + i % 28,
                  i % 60);
    f.Put(Activity(13000000000 + i, start, "Run " + std::to_string(i)));
  }
  REQUIRE(f.writer->Commit().ok());
  const uint64_t ino = StatsFileInode(*StatsFileIndex("activity_facts.csv"));
  const std::string expected = f.Bytes(ino);
  REQUIRE(expected.size() > 300000);
  const NodeAttr attr = f.Attr(ino);
  CHECK(attr.size == expected.size());

  REQUIRE(f.Tree().BeginSnapshot().ok());
  auto node = f.Tree().Stats(ino);
  REQUIRE(node.ok());
  REQUIRE(node->has_value());
  CHECK((*node)->index == *StatsFileIndex("activity_facts.csv"));
  CHECK((*node)->scope == kSingleLayoutStats);
  CHECK((*node)->version == attr.version);
  auto size = f.Tree().StatsSize(**node);
  REQUIRE(size.ok());
  CHECK(*size == expected.size());
  FsTree::StatsCursor c;
  c.node = **node;
  auto read = [&](uint64_t off, size_t len) {
    auto got = f.Tree().ReadStats(c, off, len);
    REQUIRE(got.ok());
    INFO("offset " << off << " length " << len);
    CHECK(*got == (off < expected.size() ? expected.substr(off, len) : ""));
  };
  // As the kernel reads: 128 KiB in order, then out of order, a reread from
  // the start, a jump past what is kept, and past the end.
  for (uint64_t off = 0; off < expected.size() + 131072; off += 131072) read(off, 131072);
  read(131072, 131072);
  read(0, 4096);
  read(262144, 4096);
  read(100, 7);
  read(expected.size() - 10, 100);
  std::mt19937_64 rng(7);
  for (int k = 0; k < 50; ++k) read(rng() % (expected.size() + 10), 1 + rng() % 200000);
  // A sync commits meanwhile: the cursor keeps reading its snapshot.
  f.Put(Activity(13000009999, "2030-01-01T07:00:00Z", "After"));
  read(0, expected.size() + 1);
  read(0, 4096);  // left part way, as a reader that stops early leaves it
  f.Tree().EndSnapshot();
  // The connection's next snapshot is the cache as it is now, not the
  // cursor's (its statement must not hold the old one open).
  f.Put(Activity(13000010000, "2030-02-01T07:00:00Z", "Later"));
  REQUIRE(f.Tree().BeginSnapshot().ok());
  auto later = f.Tree().GetAttr(ActivityFileInode(ActivityFile::kJson, 13000010000));
  REQUIRE(later.ok());
  CHECK(later->has_value());
  f.Tree().EndSnapshot();
  CHECK(f.Bytes(ino).size() > expected.size());
}

TEST_CASE("a snapshot keeps reading the activities.csv it was opened with", "[fs_tree]") {
  Fixture f;
  f.Put(Activity(12000000001, "2024-03-01T08:00:00Z", "First"));
  const std::string before = f.Bytes(kRootCsvInode);
  REQUIRE(f.Tree().BeginSnapshot().ok());
  auto index = f.Tree().IndexCsv(kRootCsvInode);
  REQUIRE(index.ok());
  REQUIRE(index->has_value());
  // A sync commits while the file is open: a new row sorts before the old one.
  f.Put(Activity(12000000000, "2024-02-01T08:00:00Z", "Earlier"));
  auto during = f.Tree().ReadCsv(**index, 0, (*index)->size + 100);
  REQUIRE(during.ok());
  CHECK(*during == before);
  CHECK((*index)->size == before.size());
  f.Tree().EndSnapshot();
  const std::string after = f.Bytes(kRootCsvInode);
  CHECK(after.size() > before.size());
  CHECK(after.find("Earlier") != std::string::npos);
}

TEST_CASE("lookups accept exactly the current names", "[fs_tree]") {
  Fixture f;
  f.Put(Activity(11000000003, "2024-05-12T06:30:00Z", "Ride", "Ride"));
  FsTree& t = f.Tree();
  const uint64_t may = MonthDirInode(2024, 5);
  auto found = [&](uint64_t parent, const std::string& name) {
    auto r = t.Lookup(parent, name);
    REQUIRE(r.ok());
    return r->has_value();
  };
  CHECK(found(may, "2024-05-12_0730_Ride_11000000003.json"));
  CHECK_FALSE(found(may, "2024-05-12_0730_Ride_11000000003.gpx"));   // no streams
  CHECK_FALSE(found(may, "2024-05-12_0730_Walk_11000000003.json"));  // not its name
  CHECK_FALSE(found(MonthDirInode(2024, 6), "2024-05-12_0730_Ride_11000000003.json"));
  CHECK_FALSE(found(may, "2024-05-12_0730_Ride_11000000004.json"));
  CHECK_FALSE(found(may, "2024-05-12_0730_Ride_.json"));
  CHECK_FALSE(found(may, "x.txt"));
  CHECK(found(kByIdDirInode, "11000000003.json"));
  CHECK_FALSE(found(kByIdDirInode, "011000000003.json"));
  CHECK_FALSE(found(kByIdDirInode, "11000000003"));
  CHECK_FALSE(found(kRootInode, "2025"));
  CHECK_FALSE(found(kRootInode, "202"));
  CHECK(found(YearDirInode(2024), "05"));
  CHECK_FALSE(found(YearDirInode(2024), "5"));
  CHECK_FALSE(found(YearDirInode(2024), "13"));
  CHECK_FALSE(t.GetAttr(YearDirInode(2025))->has_value());
  CHECK_FALSE(t.GetAttr(MonthCsvInode(2024, 6))->has_value());
  CHECK_FALSE(t.GetAttr(ActivityFileInode(ActivityFile::kJson, 42))->has_value());
}

TEST_CASE("hostile names list and look up as themselves", "[fs_tree]") {
  Fixture f;
  const std::vector<std::string> names = {
      "../../etc/passwd",     std::string("nul\0byte", 8), ".hidden", "-rf", "\t", std::string(400, 'x'),
      "\u202Eevil\u202C.exe", "🏃‍♀️🇩🇪",     "a/b\\c"};
  for (size_t i = 0; i < names.size(); ++i)
    f.Put(Activity(13000000000 + static_cast<int64_t>(i), "2024-07-0" + std::to_string(1 + i % 9) + "T10:00:00Z",
                   names[i]));
  int64_t files = CheckTree(f, kRootInode);
  CHECK(files == static_cast<int64_t>(names.size()) + 1 + 1 + 1 + 1 + 12);
  for (const auto& e : f.List(MonthDirInode(2024, 7))) {
    CHECK(e.name.size() <= 255);
    CHECK(e.name.find('/') == std::string::npos);
    CHECK(e.name[0] != '.');
    CHECK(e.name[0] != '-');
  }
}

TEST_CASE("the change log says what the kernel must forget", "[fs_tree]") {
  Fixture f;
  Json a = Activity(11000000003, "2024-05-12T06:30:00Z", "Ride", "Ride");
  f.Put(a);
  f.Put(Activity(11000000004, "2024-05-13T06:30:00Z", "Swim", "Swim"));
  FsTree& t = f.Tree();
  auto start = t.LastChange();
  REQUIRE(start.ok());
  CHECK(*start > 0);
  auto none = t.ChangesSince(*start);
  REQUIRE(none.ok());
  CHECK(none->inodes.empty());
  CHECK(none->entries.empty());
  CHECK(none->last_seq == *start);

  // Renamed and moved a month later: the old names go, both folders change.
  a["name"] = "Gravel";
  a["start_date"] = "2024-06-01T06:30:00Z";
  a["start_date_local"] = "2024-06-01T08:30:00Z";
  f.Put(a);
  REQUIRE(ActivityStore(*f.writer).DeleteActivity(11000000004).ok());
  auto inv = t.ChangesSince(*start);
  REQUIRE(inv.ok());
  CHECK(inv->last_seq > *start);
  CHECK_FALSE(inv->lost_track);
  std::set<std::pair<uint64_t, std::string>> entries(inv->entries.begin(), inv->entries.end());
  const uint64_t may = MonthDirInode(2024, 5);
  CHECK(entries == std::set<std::pair<uint64_t, std::string>>{{may, "2024-05-12_0730_Ride_11000000003.json"},
                                                              {may, "2024-05-12_0730_Ride_11000000003.csv"},
                                                              {may, "2024-05-12_0730_Ride_11000000003.gpx"},
                                                              {may, "2024-05-12_0730_Ride_11000000003.fit"},
                                                              {may, "2024-05-12_0730_Ride_11000000003.tcx"},
                                                              {may, "2024-05-13_0730_Swim_11000000004.json"},
                                                              {may, "2024-05-13_0730_Swim_11000000004.csv"},
                                                              {may, "2024-05-13_0730_Swim_11000000004.gpx"},
                                                              {may, "2024-05-13_0730_Swim_11000000004.fit"},
                                                              {may, "2024-05-13_0730_Swim_11000000004.tcx"},
                                                              {kByIdDirInode, "11000000004.json"}});
  std::set<uint64_t> inodes(inv->inodes.begin(), inv->inodes.end());
  for (uint64_t ino :
       {kRootInode, kRootCsvInode, kByIdDirInode, YearDirInode(2024), YearCsvInode(2024), may, MonthCsvInode(2024, 5),
        MonthDirInode(2024, 6), MonthCsvInode(2024, 6), ActivityFileInode(ActivityFile::kJson, 11000000003),
        ByIdLinkInode(11000000003), ActivityFileInode(ActivityFile::kJson, 11000000004)})
    CHECK(inodes.count(ino) == 1);

  // A new activity: no stale names to drop, only its folders.
  auto before_new = t.LastChange();
  REQUIRE(before_new.ok());
  f.Put(Activity(11000000005, "2025-01-02T06:30:00Z", "New"));
  auto added = t.ChangesSince(*before_new);
  REQUIRE(added.ok());
  CHECK(added->entries.empty());
  std::set<uint64_t> added_inodes(added->inodes.begin(), added->inodes.end());
  CHECK(added_inodes.count(YearDirInode(2025)) == 1);
  CHECK(added_inodes.count(MonthDirInode(2025, 1)) == 1);
  CHECK(added_inodes.count(ActivityFileInode(ActivityFile::kJson, 11000000005)) == 0);

  // An unchanged listing logs nothing.
  auto before_same = t.LastChange();
  REQUIRE(before_same.ok());
  f.Put(Activity(11000000005, "2025-01-02T06:30:00Z", "New"));
  auto same = t.LastChange();
  REQUIRE(same.ok());
  CHECK(*same == *before_same);
}

TEST_CASE("several athletes: a folder each at the root, and the switch between layouts", "[fs_tree]") {
  Fixture f;
  f.Put(Activity(11000000001, "2024-05-12T06:30:00Z", "Ana's run"));
  f.Put(Activity(11000000002, "2023-03-01T06:30:00Z", "Ana's old run"));
  FsTree& t = f.Tree();
  auto start = t.LastChange();
  REQUIRE(start.ok());
  REQUIRE(t.ChangesSince(*start).ok());  // the watcher sees one athlete
  const auto single = f.Names(kRootInode);
  CHECK(single == std::vector<std::string>{"athlete.json", "activities.csv", "by-id", "stats", "2023", "2024"});

  // Bo arrives with a ride in Ana's month.
  REQUIRE(AthleteStore(*f.writer).StoreAthlete({{"id", 9}, {"firstname", "Bo"}, {"resource_state", 3}}).ok());
  Json ride = Activity(11000000003, "2024-05-20T06:30:00Z", "Bo's ride", "Ride");
  ride["athlete"]["id"] = 9;
  f.Put(ride);
  auto inv = t.ChangesSince(*start);
  REQUIRE(inv.ok());
  CHECK(inv->relaid);
  std::set<std::pair<uint64_t, std::string>> entries(inv->entries.begin(), inv->entries.end());
  for (const char* name : {"athlete.json", "by-id", "2023", "2024", "Ana-Bä-r", "Bo"})
    CHECK(entries.count({kRootInode, name}) == 1);
  CHECK(inv->several);
  std::set<uint64_t> inodes(inv->inodes.begin(), inv->inodes.end());
  for (uint64_t ino : {kRootInode, YearDirInode(2024), MonthDirInode(2023, 3), MonthDirInode(2024, 5, 7),
                       MonthDirInode(2024, 5, 9), AthleteDirInode(9), AthleteCsvInode(7)})
    CHECK(inodes.count(ino) == 1);

  f.memo.Invalidate();  // as the watcher does
  CHECK(f.Names(kRootInode) == std::vector<std::string>{"activities.csv", "stats", "Ana-Bä-r", "Bo"});
  CHECK(f.Attr(kRootInode).nlink == 2 + 3);
  for (std::string_view gone : {"athlete.json", "by-id", "2024", "Ana"}) {
    auto l = t.Lookup(kRootInode, gone);
    REQUIRE(l.ok());
    CHECK_FALSE(l->has_value());
  }
  for (uint64_t gone : {YearDirInode(2024), MonthCsvInode(2024, 5), kByIdDirInode, kAthleteJsonInode}) {
    auto a = t.GetAttr(gone);
    REQUIRE(a.ok());
    CHECK_FALSE(a->has_value());
  }
  const uint64_t ana = AthleteDirInode(7), bo = AthleteDirInode(9);
  CHECK(f.Names(ana) == std::vector<std::string>{"athlete.json", "activities.csv", "by-id", "stats", "2023", "2024"});
  CHECK(f.Names(bo) == std::vector<std::string>{"athlete.json", "activities.csv", "by-id", "stats", "2024"});
  CHECK(f.Attr(ana).nlink == 2 + 2 + 2);
  CHECK(f.Names(MonthDirInode(2024, 5, 9)) ==
        std::vector<std::string>{"activities.csv", "2024-05-20_0730_Bo's-ride_11000000003.json"});
  CHECK(f.Names(ByIdDirInode(9)) == std::vector<std::string>{"11000000003.json"});
  CHECK(f.Names(ByIdDirInode(7)) == std::vector<std::string>{"11000000002.json", "11000000001.json"});
  // One athlete's names are not found in the other's folders.
  for (auto [dir, name] : std::vector<std::pair<uint64_t, std::string>>{
           {ByIdDirInode(7), "11000000003.json"},
           {MonthDirInode(2024, 5, 7), "2024-05-20_0730_Bo's-ride_11000000003.json"},
           {bo, "2023"}}) {
    auto l = t.Lookup(dir, name);
    REQUIRE(l.ok());
    CHECK_FALSE(l->has_value());
  }
  CHECK(Json::parse(f.Bytes(AthleteJsonInode(9)))["firstname"] == "Bo");
  CHECK(Json::parse(f.Bytes(AthleteJsonInode(7)))["firstname"] == "Ana");
  auto lines = [](const std::string& csv) { return std::count(csv.begin(), csv.end(), '\n'); };
  CHECK(lines(f.Bytes(AthleteCsvInode(9))) == 2);
  CHECK(lines(f.Bytes(AthleteCsvInode(7))) == 3);
  CHECK(lines(f.Bytes(kRootCsvInode)) == 4);
  CHECK(lines(f.Bytes(MonthCsvInode(2024, 5, 7))) == 2);
  // 2 + 1 JSON, athlete.json and activities.csv each, everyone's activities.csv,
  // Ana's 2 years and months, Bo's 1 and 1, 3 year and 3 month activities.csv,
  // and the three stats/: everyone's, Ana's and Bo's.
  CHECK(CheckTree(f, kRootInode) == 3 + 2 + 2 + 1 + 3 + 3 + 3 * 12);

  // An activity of an athlete the cache does not hold: in everyone's
  // activities.csv only (mount.stravafs(8)).
  Json stray = Activity(11000000004, "2024-05-21T06:30:00Z", "Whose run");
  stray["athlete"]["id"] = 55;
  f.Put(stray);
  f.memo.Invalidate();
  CHECK(lines(f.Bytes(kRootCsvInode)) == 5);
  CHECK(f.Names(ByIdDirInode(7)) == std::vector<std::string>{"11000000002.json", "11000000001.json"});
  CHECK(f.Names(ByIdDirInode(9)) == std::vector<std::string>{"11000000003.json"});
  CHECK(f.Names(kRootInode) == std::vector<std::string>{"activities.csv", "stats", "Ana-Bä-r", "Bo"});
  CHECK_FALSE(f.Tree().Lookup(kByIdDirInode, "11000000004.json")->has_value());

  // Bo purged: back to one layout, every inode as before.
  const Invalidation back = PurgeToOneLayout(f, 9);
  std::set<std::pair<uint64_t, std::string>> back_entries(back.entries.begin(), back.entries.end());
  CHECK(back_entries.count({kRootInode, "Bo"}) == 1);
  CHECK(back_entries.count({ByIdDirInode(9), "11000000003.json"}) == 1);
  f.memo.Invalidate();
  CHECK(f.Names(kRootInode) == single);
  CHECK(f.Attr(YearDirInode(2024)).ino == YearDirInode(2024));

  // No change of athletes, no switch.
  auto quiet = t.ChangesSince(back.last_seq);
  REQUIRE(quiet.ok());
  CHECK_FALSE(quiet->relaid);
  CHECK(quiet->inodes.empty());
}

// The CSV lines of a stats/ file, each split into its first field and the
// rest (an athlete id has no comma or quote).
std::vector<std::pair<std::string, std::string>> StatsLines(const std::string& csv) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t at = 0; at < csv.size();) {
    const size_t end = csv.find("\r\n", at);
    REQUIRE(end != std::string::npos);
    const std::string line = csv.substr(at, end - at);
    const size_t comma = line.find(',');
    REQUIRE(comma != std::string::npos);
    out.emplace_back(line.substr(0, comma), line.substr(comma + 1));
    at = end + 2;
  }
  return out;
}

TEST_CASE("several athletes: a stats/ each, and everyone's with athlete_id at the root", "[fs_tree]") {
  Fixture f;
  f.Put(Activity(11000000001, "2024-05-12T06:30:00Z", "Ana's run"));
  f.Put(Activity(11000000002, "2023-03-01T06:30:00Z", "Ana's old run"));
  REQUIRE(ActivityStore(*f.writer).StoreStreams(11000000001, StreamsOf(Streams(40, true))).ok());
  FsTree& t = f.Tree();
  auto start = t.LastChange();
  REQUIRE(start.ok());
  REQUIRE(t.ChangesSince(*start).ok());  // the watcher sees one athlete

  // One athlete: the root's stats/, without athlete_id; no athlete has one.
  const size_t n = StatsFiles().size();
  std::vector<std::string> single(n);
  for (size_t i = 0; i < n; ++i) single[i] = f.Bytes(StatsFileInode(i));
  const size_t facts = *StatsFileIndex("activity_facts.csv");
  CHECK(StatsLines(single[facts])[0].first == "id");
  for (uint64_t none : {StatsDirInode(7), StatsFileInode(facts, 7)}) {
    auto a = t.GetAttr(none);
    REQUIRE(a.ok());
    CHECK_FALSE(a->has_value());
  }

  // Bo arrives, with a ride in Ana's month and a run of his own.
  REQUIRE(AthleteStore(*f.writer).StoreAthlete({{"id", 9}, {"firstname", "Bo"}, {"resource_state", 3}}).ok());
  for (auto [id, start_utc, sport] : {std::tuple{11000000003, "2024-05-20T06:30:00Z", "Ride"},
                                      std::tuple{11000000004, "2024-06-02T06:30:00Z", "Run"}}) {
    Json a = Activity(id, start_utc, "Bo's", sport);
    a["athlete"]["id"] = 9;
    f.Put(a);
  }
  auto inv = t.ChangesSince(*start);
  REQUIRE(inv.ok());
  CHECK(inv->relaid);
  std::set<uint64_t> inodes(inv->inodes.begin(), inv->inodes.end());
  for (int64_t athlete : {0, 7, 9}) {
    CHECK(inodes.count(StatsDirInode(athlete)) == 1);
    for (size_t i = 0; i < n; ++i) CHECK(inodes.count(StatsFileInode(i, athlete)) == 1);
  }
  f.memo.Invalidate();  // as the watcher does

  // Each athlete's folder has a stats/ of the same files as the root's.
  const uint64_t ana_stats = StatsDirInode(7), bo_stats = StatsDirInode(9);
  CHECK(f.Names(ana_stats) == f.Names(kStatsDirInode));
  CHECK(f.Names(bo_stats) == f.Names(kStatsDirInode));
  CHECK(f.Names(bo_stats).size() == n);
  CHECK(f.Attr(ana_stats).mtime == *ParseIsoUtc("2024-05-12T06:30:00Z"));
  CHECK(f.Attr(bo_stats).mtime == *ParseIsoUtc("2024-06-02T06:30:00Z"));
  CHECK(f.Attr(kStatsDirInode).mtime == *ParseIsoUtc("2024-06-02T06:30:00Z"));
  for (auto [dir, athlete] : {std::pair{ana_stats, int64_t{7}}, std::pair{bo_stats, int64_t{9}}}) {
    auto l = t.Lookup(AthleteDirInode(athlete), "stats");
    REQUIRE(l.ok());
    REQUIRE(l->has_value());
    CHECK((*l)->ino == dir);
    auto file = t.Lookup(dir, "calendar.svg");
    REQUIRE(file.ok());
    REQUIRE(file->has_value());
    CHECK((*file)->ino == StatsFileInode(*StatsFileIndex("calendar.svg"), athlete));
    auto none = t.Lookup(dir, "activities.csv");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
  }

  // Ana's files are the bytes the root showed of her alone: her rows, her charts.
  for (size_t i = 0; i < n; ++i) {
    INFO(StatsFiles()[i].name);
    CHECK(f.Bytes(StatsFileInode(i, 7)) == single[i]);
  }
  // The root's: everyone's rows, athlete_id first; Bo's: only his, without it.
  const auto everyone = StatsLines(f.Bytes(StatsFileInode(facts)));
  CHECK(everyone[0] == std::pair<std::string, std::string>{"athlete_id", StatsLines(single[facts])[0].first + "," +
                                                                             StatsLines(single[facts])[0].second});
  std::multiset<std::string> whose;
  for (size_t l = 1; l < everyone.size(); ++l) whose.insert(everyone[l].first);
  CHECK(whose == std::multiset<std::string>{"7", "7", "9", "9"});
  const auto bo_facts = StatsLines(f.Bytes(StatsFileInode(facts, 9)));
  CHECK(bo_facts[0].first == "id");
  std::set<std::string> bo_ids;
  for (size_t l = 1; l < bo_facts.size(); ++l) bo_ids.insert(bo_facts[l].first);
  CHECK(bo_ids == std::set<std::string>{"11000000003", "11000000004"});
  for (size_t i = 0; i < n; ++i) {  // the root's is another file than before: another version
    if (!StatsCsvReader::Csv(i)) continue;
    REQUIRE(t.BeginSnapshot().ok());
    auto root = t.Stats(StatsFileInode(i));
    auto last = t.LastChange();
    t.EndSnapshot();
    REQUIRE(root.ok());
    REQUIRE(root->has_value());
    REQUIRE(last.ok());
    CHECK((*root)->scope == StatsScope{0, true});
    CHECK((*root)->version != static_cast<uint64_t>(*last));
  }
  // An athlete the cache does not hold has none.
  for (uint64_t none : {StatsDirInode(55), StatsFileInode(facts, 55)}) {
    auto a = t.GetAttr(none);
    REQUIRE(a.ok());
    CHECK_FALSE(a->has_value());
  }
  CHECK(CheckTree(f, kRootInode) > 3 * 12);  // every stats/ file's size is its bytes

  // A change of one athlete's activities: every stats/ is to be forgotten.
  auto before_edit = t.LastChange();
  REQUIRE(before_edit.ok());
  f.Put(Activity(11000000005, "2024-06-03T06:30:00Z", "Ana's new run"));
  auto edit = t.ChangesSince(*before_edit);
  REQUIRE(edit.ok());
  std::set<uint64_t> edited(edit->inodes.begin(), edit->inodes.end());
  for (int64_t athlete : {0, 7, 9})
    for (size_t i = 0; i < n; ++i) CHECK(edited.count(StatsFileInode(i, athlete)) == 1);

  // Bo purged: one layout again, and the root's stats/ what it was, his forgotten too.
  REQUIRE(ActivityStore(*f.writer).DeleteActivity(11000000005).ok());
  const Invalidation back = PurgeToOneLayout(f, 9);
  std::set<uint64_t> back_inodes(back.inodes.begin(), back.inodes.end());
  CHECK(back_inodes.count(StatsDirInode(9)) == 1);
  CHECK(back_inodes.count(StatsFileInode(facts, 9)) == 1);
  CHECK(back_inodes.count(StatsFileInode(facts)) == 1);
  f.memo.Invalidate();
  for (size_t i = 0; i < n; ++i) {
    INFO(StatsFiles()[i].name);
    CHECK(f.Bytes(StatsFileInode(i)) == single[i]);
    CHECK(f.Attr(StatsFileInode(i)).size == single[i].size());
  }
  for (uint64_t gone : {StatsDirInode(7), StatsFileInode(facts, 9)}) {
    auto a = t.GetAttr(gone);
    REQUIRE(a.ok());
    CHECK_FALSE(a->has_value());
  }
}

TEST_CASE("the memo serves the state it was computed in, and never a value of another", "[fs_tree]") {
  Fixture f;
  f.Put(Activity(11000000003, "2024-05-12T06:30:00Z", "Ride", "Ride"));
  REQUIRE(f.Tree().BeginSnapshot().ok());
  const uint64_t old_size = f.Attr(kRootCsvInode).size;
  f.Put(Activity(11000000004, "2024-05-13T06:30:00Z", "Swim", "Swim"));
  CHECK(f.Attr(kRootCsvInode).size == old_size);  // the snapshot's state
  f.Tree().EndSnapshot();
  CHECK(f.Attr(kRootCsvInode).size > old_size);  // a newer state: not the memo's value

  auto attr = [](uint64_t size) { return NodeAttr{kRootCsvInode, NodeType::kFile, size, 0, 1}; };
  FsMemo memo;
  const uint64_t at5 = memo.epoch(5);
  memo.Put(at5, attr(1));
  REQUIRE(memo.Get(memo.epoch(5), kRootCsvInode).has_value());
  CHECK(memo.Get(memo.epoch(5), kRootCsvInode)->size == 1);
  CHECK(memo.epoch(4) == FsMemo::kStale);  // an older state: matches nothing
  memo.Put(memo.epoch(4), attr(2));
  CHECK_FALSE(memo.Get(FsMemo::kStale, kRootCsvInode).has_value());
  CHECK(memo.Get(at5, kRootCsvInode)->size == 1);
  const uint64_t at6 = memo.epoch(6);  // a newer one drops what the memo held
  CHECK_FALSE(memo.Get(at6, kRootCsvInode).has_value());
  CHECK_FALSE(memo.Get(at5, kRootCsvInode).has_value());
  memo.Put(at5, attr(3));  // computed at the state before
  CHECK_FALSE(memo.Get(at6, kRootCsvInode).has_value());
  memo.Invalidate();  // a replaced cache file: a token from before puts nothing
  memo.Put(at6, attr(4));
  CHECK_FALSE(memo.Get(kRootCsvInode).has_value());
}

TEST_CASE("sizing everyone's activities.csv leaves each month's and year's in the memo, as their own", "[fs_tree]") {
  Fixture f;
  f.Put(Activity(11000000001, "2023-03-01T06:30:00Z", "March"));
  f.Put(Activity(11000000002, "2023-03-20T06:30:00Z", "March again, a longer name"));
  f.Put(Activity(11000000003, "2023-12-31T22:30:00Z", "New year's eve"));  // 2024-01-01 local
  f.Put(Activity(11000000004, "2024-01-05T06:30:00Z", "January"));
  f.Put(Activity(11000000005, "2024-05-12T06:30:00Z", "May", "Ride"));
  f.Put(Activity(11000000006, "2024-05-01T06:30:00Z", "May first"));
  const std::vector<uint64_t> months = {MonthCsvInode(2023, 3), MonthCsvInode(2024, 1), MonthCsvInode(2024, 5)};
  const std::vector<uint64_t> years = {YearCsvInode(2023), YearCsvInode(2024)};

  // What each file's own lookup makes, each in a tree with a memo of its own.
  auto own = [&](uint64_t ino) {
    FsMemo memo;
    auto t = FsTree::Open(f.path, memo);
    REQUIRE(t.ok());
    auto a = (*t)->GetAttr(ino);
    REQUIRE(a.ok());
    REQUIRE(a->has_value());
    return **a;
  };
  const NodeAttr root = f.Attr(kRootCsvInode);
  CheckSameAttr(root, own(kRootCsvInode));
  for (uint64_t ino : months) {
    INFO(ino);
    auto kept = f.memo.Get(ino);
    REQUIRE(kept.has_value());
    CheckSameAttr(*kept, own(ino));
    CHECK(kept->mtime > 0);
  }
  for (uint64_t ino : years) {
    INFO(ino);
    auto kept = f.memo.Get(ino);
    REQUIRE(kept.has_value());
    CheckSameAttr(*kept, own(ino));
  }
  CHECK(f.memo.Get(YearCsvInode(2024)).value().size + f.memo.Get(YearCsvInode(2023)).value().size ==
        root.size + ActivitiesCsvHeader().size());
  CHECK_FALSE(f.memo.Get(MonthCsvInode(2024, 2)).has_value());  // no activity, no file

  // A year's leaves its months, not everyone's.
  f.memo.Invalidate();
  CheckSameAttr(f.Attr(YearCsvInode(2024)), own(YearCsvInode(2024)));
  CHECK(f.memo.Get(MonthCsvInode(2024, 5)).has_value());
  CHECK_FALSE(f.memo.Get(MonthCsvInode(2023, 3)).has_value());
  CHECK_FALSE(f.memo.Get(kRootCsvInode).has_value());

  // With several athletes the root's file is everyone's, and the folders
  // are each athlete's: nothing of it is left for them.
  REQUIRE(AthleteStore(*f.writer).StoreAthlete({{"id", 9}, {"firstname", "Bo"}, {"resource_state", 3}}).ok());
  Json ride = Activity(11000000007, "2024-05-20T06:30:00Z", "Bo's ride", "Ride");
  ride["athlete"]["id"] = 9;
  f.Put(ride);
  f.memo.Invalidate();
  CheckSameAttr(f.Attr(kRootCsvInode), own(kRootCsvInode));
  for (uint64_t ino : {MonthCsvInode(2024, 5), YearCsvInode(2024), MonthCsvInode(2024, 5, 7), YearCsvInode(2024, 7)})
    CHECK_FALSE(f.memo.Get(ino).has_value());
  CheckSameAttr(f.Attr(AthleteCsvInode(7)), own(AthleteCsvInode(7)));
  for (uint64_t ino : {MonthCsvInode(2024, 5, 7), YearCsvInode(2024, 7), MonthCsvInode(2023, 3, 7)}) {
    INFO(ino);
    auto kept = f.memo.Get(ino);
    REQUIRE(kept.has_value());
    CheckSameAttr(*kept, own(ino));
  }
  CHECK_FALSE(f.memo.Get(MonthCsvInode(2024, 5, 9)).has_value());
  CHECK(own(MonthCsvInode(2024, 5, 9)).size < f.memo.Get(MonthCsvInode(2024, 5, 7))->size);
}

TEST_CASE("inode numbers are the same from every connection and after reopening", "[fs_tree]") {
  Fixture f;
  f.Put(Activity(11000000003, "2024-05-12T06:30:00Z", "Ride", "Ride"));
  auto first = f.List(MonthDirInode(2024, 5));
  f.tree.reset();
  f.writer.reset();
  auto second = f.List(MonthDirInode(2024, 5));
  REQUIRE(first.size() == second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    CHECK(first[i].name == second[i].name);
    CHECK(first[i].attr.ino == second[i].attr.ino);
  }
  CHECK(second[1].attr.ino == ActivityFileInode(ActivityFile::kJson, 11000000003));
}

}  // namespace
}  // namespace stravafs
