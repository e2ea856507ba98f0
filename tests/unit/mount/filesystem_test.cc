// Tests for mount/filesystem.cc without a kernel: the calls the FUSE adapter
// makes, over a real cache written through Cache (as a sync writes it), with
// a FakeClock for the retention of old versions and a recording Notifier for
// the watcher. Covers: lookups and their nodes (one per file version,
// counted and forgotten), opens (checks only: no-open) and reads of a node
// (the renderers' bytes, at any offset), the anchor every request reads at
// until the watcher's poll, the nodes of changed files pinned to the old
// anchor (their old bytes, whole and unmixed, then a kept copy), reading
// ahead (by version, bounded, and never across a replaced cache file),
// listings (readdir and readdirplus, a full reply, offsets), what the
// watcher tells the kernel to forget after a commit, and a cache file
// replaced under its name.
#include "mount/filesystem.h"

#include <fcntl.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "base/iso_time.h"
#include "cache/activity_store.h"
#include "cache/athlete_store.h"
#include "cache/db.h"
#include "fake_clock.h"
#include "fake_transport.h"
#include "format/names.h"
#include "mount/stats.h"
#include "same_attr.h"
#include "upsert_summary.h"

namespace stravafs {
namespace {

using mount::Entry;
using mount::Filesystem;
using mount::kRetainMs;
using mount::Severity;
using testing::FakeClock;
using testing::TempDir;

Json Activity(int64_t id, const std::string& start_utc, const std::string& name, double distance = 5000.5) {
  Json j = Json::object();
  j["resource_state"] = 2;
  j["id"] = id;
  j["name"] = name;
  j["sport_type"] = "Run";
  j["type"] = "Run";
  j["distance"] = distance;
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

// The activity most cases use, and where the mount shows it.
constexpr int64_t kRide = 11000000003;
const std::string kRideStart = "2024-05-12T06:30:00Z";
const std::string kRideJson = "2024-05-12_0730_Ride_11000000003.json";
const uint64_t kMay = MonthDirInode(2024, 5);
const uint64_t kRideJsonIno = ActivityFileInode(ActivityFile::kJson, kRide);

ErrorKind KindOf(const Status& s) { return s.kind(); }

// What the watcher told the kernel to forget.
struct Recorder : mount::Notifier {
  std::set<std::pair<uint64_t, std::string>> names;
  std::set<uint64_t> inodes;
  size_t calls = 0;
  void ForgetName(uint64_t parent, const std::string& name) override {
    names.emplace(parent, name);
    ++calls;
  }
  void ForgetInode(uint64_t ino) override {
    inodes.insert(ino);
    ++calls;
  }
  void Clear() {
    names.clear();
    inodes.clear();
    calls = 0;
  }
};

struct Fixture {
  TempDir dir;
  std::string path = dir / "cache.db";
  std::unique_ptr<Cache> writer;
  FakeClock clock;
  std::vector<std::pair<Severity, std::string>> logged;
  std::unique_ptr<Filesystem> fs;
  Recorder watcher;

  Fixture() {
    auto c = Cache::Open(path, Cache::Mode::kReadWrite);
    INFO(c.status().message());
    REQUIRE(c.ok());
    writer = std::move(*c);
    REQUIRE(AthleteStore(*writer).StoreAthlete({{"id", 7}, {"firstname", "Ana"}, {"resource_state", 3}}).ok());
  }
  void Put(const Json& a) { REQUIRE(UpsertSummary(*writer, a, 1).ok()); }
  Filesystem& Fs() {
    if (!fs) {
      auto f =
          Filesystem::Open(path, clock, [this](Severity s, const std::string& line) { logged.emplace_back(s, line); });
      INFO(f.status().message());
      REQUIRE(f.ok());
      fs = std::move(*f);
    }
    return *fs;
  }
  Entry Look(uint64_t parent, const std::string& name) {
    auto e = Fs().Lookup(parent, name);
    INFO(name << ": " << e.status().message());
    REQUIRE(e.ok());
    return *e;
  }
  NodeAttr Attr(uint64_t node) {
    auto a = Fs().GetAttr(node);
    INFO(a.status().message());
    REQUIRE(a.ok());
    return *a;
  }
  // The open(2) the kernel sends first for a node: only checked (no-open,
  // no handle); reads name the node. Returns it.
  uint64_t OpenFile(uint64_t node) {
    Status s = Fs().Open(node, O_RDONLY);
    INFO(s.message());
    REQUIRE(s.ok());
    return node;
  }
  std::string Read(uint64_t node, uint64_t offset, size_t size) {
    auto b = Fs().Read(node, offset, size);
    INFO(b.status().message());
    REQUIRE(b.ok());
    return std::string(b->data);
  }
  // Every byte of a node, 4 KiB at a time, as the kernel reads a file for
  // cat: up to the node's size, which it knows (it asks no read past it).
  // Short if a read comes back empty before the end.
  std::string ReadAll(uint64_t node) {
    const uint64_t size = Attr(node).size;
    std::string all;
    while (all.size() < size) {
      std::string part = Read(node, all.size(), 4096);
      if (part.empty()) break;
      all += part;
    }
    return all;
  }
  // The file `name` in `dir` as a reader reads it: looked up, opened and
  // read to the end.
  std::string ReadName(uint64_t dir, const std::string& name) { return ReadAll(OpenFile(Look(dir, name).node)); }
  // The watcher's step (the first only starts watching).
  void Poll() { REQUIRE(Fs().Poll(watcher)); }
  // What the cache holds now for `ino`, read through an FsTree of its own.
  std::string Expected(uint64_t ino) {
    FsMemo memo;
    auto t = FsTree::Open(path, memo);
    REQUIRE(t.ok());
    if (FsTree::IsActivitiesCsv(ino)) {
      auto index = (*t)->IndexCsv(ino);
      REQUIRE(index.ok());
      REQUIRE(index->has_value());
      auto all = (*t)->ReadCsv(**index, 0, (*index)->size + 100);
      REQUIRE(all.ok());
      return *all;
    }
    auto r = (*t)->Render(ino);
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    return **r;
  }
};

TEST_CASE("lookups: kinds, sizes and one node per file version, counted", "[filesystem]") {
  Fixture f;
  f.Put(Activity(kRide, kRideStart, "Ride"));
  Filesystem& fs = f.Fs();
  CHECK(fs.FileNodes() == 0);

  const Entry athlete = f.Look(kRootInode, "athlete.json");
  CHECK(athlete.attr.type == NodeType::kFile);
  CHECK(athlete.attr.ino == kAthleteJsonInode);
  CHECK(athlete.attr.size == f.Expected(kAthleteJsonInode).size());
  CHECK(Filesystem::IsFileNode(athlete.node));
  const Entry csv = f.Look(kRootInode, "activities.csv");
  CHECK(csv.attr.type == NodeType::kFile);
  CHECK(csv.attr.ino == kRootCsvInode);
  CHECK(csv.attr.size == f.Expected(kRootCsvInode).size());
  CHECK(Filesystem::IsFileNode(csv.node));
  CHECK(csv.node != athlete.node);
  CHECK(fs.FileNodes() == 2);

  // Folders and links are their inode numbers, and are not counted.
  for (const auto& [parent, name, ino] :
       std::vector<std::tuple<uint64_t, std::string, uint64_t>>{{kRootInode, "by-id", kByIdDirInode},
                                                                {kRootInode, "stats", kStatsDirInode},
                                                                {kRootInode, "2024", YearDirInode(2024)},
                                                                {YearDirInode(2024), "05", kMay}}) {
    INFO(name);
    const Entry e = f.Look(parent, name);
    CHECK(e.attr.type == NodeType::kDir);
    CHECK(e.attr.ino == ino);
    CHECK(e.node == ino);
    CHECK_FALSE(Filesystem::IsFileNode(e.node));
    CheckSameAttr(f.Attr(e.node), e.attr);
  }
  const std::string target = "../2024/05/" + kRideJson;
  const Entry link = f.Look(kByIdDirInode, "11000000003.json");
  CHECK(link.attr.type == NodeType::kLink);
  CHECK(link.node == ByIdLinkInode(kRide));
  CHECK(link.attr.size == target.size());
  auto read_link = fs.ReadLink(link.node);
  REQUIRE(read_link.ok());
  CHECK(*read_link == target);
  CHECK(KindOf(fs.ReadLink(ByIdLinkInode(42)).status()) == ErrorKind::kNotFound);
  CHECK(fs.FileNodes() == 2);

  const Entry json = f.Look(kMay, kRideJson);
  CHECK(json.attr.type == NodeType::kFile);
  CHECK(json.attr.ino == kRideJsonIno);
  CHECK(json.attr.size == f.Expected(kRideJsonIno).size());
  CHECK(json.attr.mtime == *ParseIsoUtc(kRideStart));
  CHECK(Filesystem::IsFileNode(json.node));
  CHECK(json.node != kRideJsonIno);
  CheckSameAttr(f.Attr(json.node), json.attr);
  CHECK(fs.FileNodes() == 3);

  // Missing names.
  CHECK(KindOf(fs.Lookup(kMay, "2024-05-12_0730_Walk_11000000003.json").status()) == ErrorKind::kNotFound);
  CHECK(KindOf(fs.Lookup(kMay, "2024-05-12_0730_Ride_11000000003.gpx").status()) == ErrorKind::kNotFound);
  CHECK(KindOf(fs.Lookup(kRootInode, "2025").status()) == ErrorKind::kNotFound);
  CHECK(fs.FileNodes() == 3);

  // The same version looked up again: the same node, one more lookup.
  const Entry again = f.Look(kMay, kRideJson);
  CHECK(again.node == json.node);
  CHECK(fs.FileNodes() == 3);
  fs.Forget(json.node, 1);
  CHECK(fs.FileNodes() == 3);
  CheckSameAttr(f.Attr(json.node), json.attr);
  fs.Forget(json.node, 1);  // every lookup given back: gone
  CHECK(fs.FileNodes() == 2);
  CHECK(KindOf(fs.GetAttr(json.node).status()) == ErrorKind::kNotFound);
  // More than was looked up drops it too; forgetting a folder changes nothing.
  fs.Forget(csv.node, 10);
  CHECK(fs.FileNodes() == 1);
  CHECK(KindOf(fs.GetAttr(csv.node).status()) == ErrorKind::kNotFound);
  fs.Forget(kMay, 1);
  CHECK(f.Attr(kMay).type == NodeType::kDir);
  CHECK(fs.FileNodes() == 1);
  // Looked up afresh: a node again, with the same attributes.
  const Entry fresh = f.Look(kMay, kRideJson);
  CHECK(Filesystem::IsFileNode(fresh.node));
  CheckSameAttr(fresh.attr, json.attr);
  CHECK(fs.FileNodes() == 2);
}

TEST_CASE("reads of a node give the renderers' bytes at any offset; opens refuse writes", "[filesystem]") {
  Fixture f;
  REQUIRE(f.writer->Begin().ok());
  for (int i = 0; i < 100; ++i) {  // an activities.csv of several 4 KiB reads
    char start[32];
    std::snprintf(start, sizeof start, "2024-05-%02dT%02d:15:00Z", 1 + i % 28, 6 + i % 12);
    f.Put(Activity(12000000000 + i, start, "Run " + std::to_string(i)));
  }
  f.Put(Activity(kRide, kRideStart, "Ride"));
  REQUIRE(f.writer->Commit().ok());
  Filesystem& fs = f.Fs();

  const Entry json = f.Look(kMay, kRideJson);
  const std::string expected = f.Expected(kRideJsonIno);
  REQUIRE(expected.size() > 100);
  REQUIRE(json.attr.size == expected.size());
  for (int flags : {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_WRONLY | O_CREAT}) {
    INFO("flags " << flags);
    CHECK(KindOf(fs.Open(json.node, flags)) == ErrorKind::kReadOnly);
  }
  CHECK(fs.Open(json.node, O_RDONLY).ok());
  CHECK(fs.Open(json.node, O_RDONLY | O_NONBLOCK).ok());
  // Reads name the node (no handle): any offset, any size, any order; a
  // read through drops the node's copy and the next read renders it again.
  CHECK(f.Read(json.node, 10, 20) == expected.substr(10, 20));
  CHECK(f.Read(json.node, 0, 4096) == expected);
  CHECK(f.Read(json.node, 0, expected.size()) == expected);
  CHECK(f.Read(json.node, 1, expected.size() - 2) == expected.substr(1, expected.size() - 2));
  CHECK(f.Read(json.node, expected.size() - 5, 100) == expected.substr(expected.size() - 5));
  CHECK(f.Read(json.node, expected.size(), 10).empty());
  CHECK(f.Read(json.node, expected.size() + 4096, 10).empty());
  CHECK(fs.FileNodes() == 1);
  // The bytes outlive the copy (dropped: read through) and the node: the
  // reply may be sent after the kernel forgot it.
  auto bytes = fs.Read(json.node, 0, expected.size());
  REQUIRE(bytes.ok());
  fs.Forget(json.node, 1);
  CHECK(fs.FileNodes() == 0);
  CHECK(std::string(bytes->data) == expected);
  // A node the kernel forgot (or never had) is opened and read no more.
  CHECK(KindOf(fs.Open(json.node, O_RDONLY)) == ErrorKind::kNotFound);
  CHECK(KindOf(fs.Read(json.node, 0, 10).status()) == ErrorKind::kNotFound);
  CHECK(KindOf(fs.Open(json.node + 1000, O_RDONLY)) == ErrorKind::kNotFound);
  CHECK(KindOf(fs.Read(json.node + 1000, 0, 10).status()) == ErrorKind::kNotFound);

  const Entry csv = f.Look(kRootInode, "activities.csv");
  const std::string csv_expected = f.Expected(kRootCsvInode);
  REQUIRE(csv_expected.size() > 3 * 4096);
  f.OpenFile(csv.node);
  const std::string all = f.ReadAll(csv.node);
  CHECK(all.size() == csv.attr.size);
  CHECK(all == csv_expected);
  CHECK(f.Read(csv.node, 5000, 3000) == csv_expected.substr(5000, 3000));
  CHECK(f.Read(csv.node, 100, 50) == csv_expected.substr(100, 50));  // backwards, in the same copy
  CHECK(f.Read(csv.node, csv_expected.size() - 1, 3000) == csv_expected.substr(csv_expected.size() - 1));
  CHECK(f.Read(csv.node, csv_expected.size(), 3000).empty());
  CHECK(f.ReadAll(csv.node) == csv_expected);  // again from the start

  const Entry athlete = f.Look(kRootInode, "athlete.json");
  CHECK(f.ReadAll(f.OpenFile(athlete.node)) == f.Expected(kAthleteJsonInode));
  CHECK(fs.FileNodes() == 2);
}

TEST_CASE("a node looked up before a commit reads its version whole, before and after the watcher's poll",
          "[filesystem]") {
  Fixture f;
  Json ride = Activity(kRide, kRideStart, "Ride");
  f.Put(ride);
  Filesystem& fs = f.Fs();
  f.Poll();  // starts watching
  const Entry a = f.Look(kMay, kRideJson);
  const Entry athlete = f.Look(kRootInode, "athlete.json");
  const std::string bytes_a = f.ReadAll(f.OpenFile(a.node));
  const std::string athlete_bytes = f.ReadAll(f.OpenFile(athlete.node));
  REQUIRE(bytes_a == f.Expected(kRideJsonIno));
  REQUIRE(athlete_bytes == f.Expected(kAthleteJsonInode));
  REQUIRE(a.attr.size == bytes_a.size());

  ride["distance"] = 12345.25;  // same name, other bytes and size
  f.Put(ride);
  const std::string bytes_b = f.Expected(kRideJsonIno);
  REQUIRE(bytes_b.size() != bytes_a.size());

  // Until the watcher polls, requests see the cache as the kernel was last
  // told about it: a lookup gives the same node, which reads the old bytes.
  const Entry a_again = f.Look(kMay, kRideJson);
  CHECK(a_again.node == a.node);
  CheckSameAttr(a_again.attr, a.attr);
  CHECK(f.ReadAll(f.OpenFile(a.node)) == bytes_a);
  CHECK(fs.FileNodes() == 2);
  CHECK(fs.Pinned() == 0);
  CHECK(f.watcher.calls == 0);

  // The watcher polls: the nodes of the files the commit changed (and
  // athlete.json, which follows any commit) are pinned to the old anchor,
  // and the kernel is told to forget their names.
  f.Poll();
  CHECK(f.watcher.names.count({kMay, kRideJson}) == 1);
  CHECK(f.watcher.names.count({kRootInode, "athlete.json"}) == 1);
  CHECK(fs.Pinned() == 2);
  CHECK(fs.Kept() == 0);
  // a's copy went when it was read through: rendered again, at the old anchor.
  CHECK(f.ReadAll(a.node) == bytes_a);
  CheckSameAttr(f.Attr(a.node), a.attr);

  // The kernel looks the name up again: the new version's node.
  const Entry b = f.Look(kMay, kRideJson);
  CHECK(Filesystem::IsFileNode(b.node));
  CHECK(b.node != a.node);
  CHECK(b.attr.size == bytes_b.size());
  CHECK(b.attr.version != a.attr.version);
  CheckSameAttr(f.Attr(b.node), b.attr);
  CHECK(fs.FileNodes() == 3);
  CHECK(f.ReadAll(f.OpenFile(b.node)) == bytes_b);
  CHECK(f.ReadAll(a.node) == bytes_a);
  CheckSameAttr(f.Attr(a.node), a.attr);  // the old node keeps its attributes while held
  // athlete.json did not change: its node, with the same bytes.
  CHECK(f.Look(kRootInode, "athlete.json").node == athlete.node);
  CHECK(f.ReadAll(athlete.node) == athlete_bytes);

  // kRetainMs after the old anchor retired, the next poll settles its
  // nodes: a, still held, gets a copy of its bytes; athlete.json, whose
  // version the current anchor holds too, is just unpinned.
  f.clock.Advance(kRetainMs - 1);
  f.Poll();
  CHECK(fs.Pinned() == 2);  // not yet
  CHECK(fs.Kept() == 0);
  f.clock.Advance(1);
  f.Poll();
  CHECK(fs.Pinned() == 0);
  CHECK(fs.Kept() == 1);
  CHECK(fs.FileNodes() == 3);
  CHECK(f.ReadAll(a.node) == bytes_a);
  CHECK(f.Read(a.node, 7, 9) == bytes_a.substr(7, 9));
  CHECK(f.ReadAll(a.node) == bytes_a);  // kept: read through, still there
  CHECK(f.ReadAll(athlete.node) == athlete_bytes);
  CHECK(f.ReadAll(b.node) == bytes_b);
  CHECK(fs.Kept() == 1);

  // Another sync commits. Before the poll, b is what lookups give and reads.
  ride["distance"] = 7.5;
  f.Put(ride);
  const std::string bytes_c = f.Expected(kRideJsonIno);
  REQUIRE(bytes_c.size() != bytes_b.size());
  CHECK(f.Look(kMay, kRideJson).node == b.node);
  CHECK(f.ReadAll(b.node) == bytes_b);
  f.Poll();
  CHECK(fs.Pinned() == 2);  // b and athlete.json; a reads its kept copy
  CHECK(fs.Kept() == 1);
  const Entry c = f.Look(kMay, kRideJson);
  CHECK(c.node != b.node);
  CHECK(c.node != a.node);
  CHECK(c.attr.size == bytes_c.size());
  CHECK(f.ReadAll(f.OpenFile(c.node)) == bytes_c);
  CHECK(f.ReadAll(b.node) == bytes_b);
  CHECK(f.ReadAll(a.node) == bytes_a);
  CHECK(fs.FileNodes() == 4);

  // The kernel forgets a (its kept copy goes) and b (pinned, never kept).
  fs.Forget(a.node, 2);
  CHECK(fs.Kept() == 0);
  fs.Forget(b.node, 2);
  CHECK(fs.Pinned() == 1);
  f.clock.Advance(kRetainMs);
  f.Poll();
  CHECK(fs.Kept() == 0);
  CHECK(fs.Pinned() == 0);
  CHECK(fs.FileNodes() == 2);
  CHECK(f.ReadAll(c.node) == bytes_c);
  // Forgotten, a node answers no more.
  for (uint64_t gone : {a.node, b.node}) {
    CHECK(KindOf(fs.GetAttr(gone).status()) == ErrorKind::kNotFound);
    CHECK(KindOf(fs.Open(gone, O_RDONLY)) == ErrorKind::kNotFound);
    CHECK(KindOf(fs.Read(gone, 0, 10).status()) == ErrorKind::kNotFound);
  }
  CHECK(f.logged.empty());
}

TEST_CASE("an activities.csv node reads its rows as looked up; after the poll a lookup reads the new rows",
          "[filesystem]") {
  Fixture f;
  f.Put(Activity(kRide, kRideStart, "Ride"));
  Filesystem& fs = f.Fs();
  f.Poll();
  const uint64_t may_csv = MonthCsvInode(2024, 5);
  const Entry a = f.Look(kMay, "activities.csv");
  const std::string old = f.Expected(may_csv);
  CHECK(a.attr.ino == may_csv);
  REQUIRE(a.attr.size == old.size());
  const Entry root = f.Look(kRootInode, "activities.csv");
  const std::string old_root = f.Expected(kRootCsvInode);
  REQUIRE(root.attr.size == old_root.size());
  REQUIRE(old.size() > 30);
  // A reader reads the month's first bytes.
  CHECK(f.Read(f.OpenFile(a.node), 0, 10) == old.substr(0, 10));

  // A sync adds a row to the month (and to the root's).
  f.Put(Activity(11000000004, "2024-05-13T06:30:00Z", "Later"));
  const std::string now = f.Expected(may_csv);
  REQUIRE(now.size() > old.size());
  REQUIRE(f.Expected(kRootCsvInode).size() > old_root.size());
  // The reader goes on before the poll, and after it: the rows it began.
  CHECK(f.Read(a.node, 10, 10) == old.substr(10, 10));
  CHECK(f.Look(kMay, "activities.csv").node == a.node);
  f.Poll();
  CHECK(fs.Pinned() == 2);
  CHECK(f.Read(a.node, 20, old.size()) == old.substr(20));
  CHECK(f.Read(a.node, old.size(), 100).empty());
  // The root's, first read now: its rows as looked up, at the old anchor.
  CHECK(f.ReadAll(f.OpenFile(root.node)) == old_root);

  // Looked up after the poll: the new rows.
  const Entry b = f.Look(kMay, "activities.csv");
  CHECK(b.node != a.node);
  CHECK(b.attr.size == now.size());
  CHECK(f.ReadAll(f.OpenFile(b.node)) == now);
  const Entry root_now = f.Look(kRootInode, "activities.csv");
  CHECK(root_now.node != root.node);
  CHECK(f.ReadAll(root_now.node) == f.Expected(kRootCsvInode));
  CHECK(fs.FileNodes() == 4);

  // The reader of the root's is done: forgotten, never kept. The month's
  // is read again, from its start, and still held kRetainMs on: kept, the
  // old rows whole.
  fs.Forget(root.node, 1);
  CHECK(fs.Pinned() == 1);
  CHECK(f.Read(a.node, 0, 10) == old.substr(0, 10));
  f.clock.Advance(kRetainMs);
  f.Poll();
  CHECK(fs.Pinned() == 0);
  CHECK(fs.Kept() == 1);
  CHECK(f.Read(a.node, 10, old.size()) == old.substr(10));
  CHECK(f.ReadAll(a.node) == old);
  CHECK(f.ReadAll(b.node) == now);
  CHECK(fs.FileNodes() == 3);
}

TEST_CASE("stats/ of several athletes: each reads its own rows; the root's is a new version", "[filesystem]") {
  Fixture f;
  f.Put(Activity(kRide, kRideStart, "Ride"));
  Filesystem& fs = f.Fs();
  f.Poll();
  const std::string facts = "activity_facts.csv";
  const Entry single = f.Look(kStatsDirInode, facts);
  const std::string single_bytes = f.ReadAll(f.OpenFile(single.node));
  CHECK(single_bytes.size() == single.attr.size);
  CHECK(single_bytes.rfind("id,", 0) == 0);

  // Bo arrives with a run: the root's file the kernel looked up is another
  // file now (everyone's rows, with athlete_id). Its node keeps reading the
  // rows it was looked up with.
  REQUIRE(AthleteStore(*f.writer).StoreAthlete({{"id", 9}, {"firstname", "Bo"}, {"resource_state", 3}}).ok());
  Json run = Activity(11000000009, "2024-05-13T06:30:00Z", "Bo's run");
  run["athlete"]["id"] = 9;
  f.Put(run);
  CHECK(f.Look(kStatsDirInode, facts).node == single.node);  // before the poll
  f.Poll();
  CHECK(fs.Pinned() == 1);
  CHECK(f.ReadAll(single.node) == single_bytes);
  const Entry root = f.Look(kStatsDirInode, facts);
  CHECK(root.node != single.node);
  const std::string root_bytes = f.ReadAll(f.OpenFile(root.node));
  CHECK(root_bytes.size() == root.attr.size);
  CHECK(root_bytes.rfind("athlete_id,id,", 0) == 0);
  CHECK(f.ReadAll(single.node) == single_bytes);

  // Each athlete's stats/: Ana's rows are the bytes the root showed of her alone.
  for (auto [folder, athlete] : {std::pair{"Ana", int64_t{7}}, std::pair{"Bo", int64_t{9}}}) {
    const Entry stats = f.Look(f.Look(kRootInode, folder).attr.ino, "stats");
    CHECK(stats.attr.ino == StatsDirInode(athlete));
    const Entry file = f.Look(stats.attr.ino, facts);
    CHECK(file.attr.ino == StatsFileInode(*StatsFileIndex(facts), athlete));
    const std::string bytes = f.ReadAll(f.OpenFile(file.node));
    CHECK(bytes.size() == file.attr.size);
    if (athlete == 7) CHECK(bytes == single_bytes);
    if (athlete == 9) CHECK(bytes.find("Bo's run") != std::string::npos);
    CHECK(bytes.find(athlete == 7 ? "Bo's run" : "Ride") == std::string::npos);
    const Entry chart = f.Look(stats.attr.ino, "calendar.svg");  // rendered at the lookup
    CHECK(f.ReadAll(f.OpenFile(chart.node)).size() == chart.attr.size);
  }

  // Still held kRetainMs on, the old root file is kept.
  f.clock.Advance(kRetainMs);
  f.Poll();
  CHECK(fs.Pinned() == 0);
  CHECK(fs.Kept() == 1);
  CHECK(f.ReadAll(single.node) == single_bytes);
  CHECK(f.logged.size() == 1);  // the new layout, noted
}

TEST_CASE("a stats/ file is computed once for its lookup and its first read", "[filesystem]") {
  Fixture f;
  f.Put(Activity(kRide, kRideStart, "Ride"));
  Filesystem& fs = f.Fs();
  f.Poll();
  for (const std::string name : {"activity_facts.csv", "calendar.svg"}) {
    INFO(name);
    const uint64_t ino = StatsFileInode(*StatsFileIndex(name));
    const std::string before = f.Expected(ino);
    const Entry e = f.Look(kStatsDirInode, name);  // computed to be measured, the bytes kept
    REQUIRE(e.attr.size == before.size());
    // A sync commits before the watcher has looked: the first read takes
    // the bytes its lookup counted, the version the kernel holds, not the
    // cache's now.
    Json later = Activity(11000000005 + (name == "calendar.svg"), "2024-05-14T06:30:00Z", "Later " + name);
    f.Put(later);
    const std::string after = f.Expected(ino);
    REQUIRE(after != before);
    CHECK(f.ReadAll(f.OpenFile(e.node)) == before);
    // Taken by that first read: the next one computes the file again, at
    // the version looked up (the node is pinned to it once the watcher saw
    // the commit).
    f.Poll();
    CHECK(fs.Pinned() == 1);
    CHECK(f.ReadAll(e.node) == before);
    const Entry now = f.Look(kStatsDirInode, name);
    CHECK(now.node != e.node);
    CHECK(now.attr.size == after.size());
    CHECK(f.ReadAll(f.OpenFile(now.node)) == after);
    CHECK(f.ReadAll(e.node) == before);
    fs.Forget(e.node, 1);
    fs.Forget(now.node, 1);
    CHECK(fs.FileNodes() == 0);
  }
}

TEST_CASE("a node keeps reading the version it was looked up at, unmixed, whatever commits come", "[filesystem]") {
  Fixture f;
  Json ride = Activity(kRide, kRideStart, "Ride");
  f.Put(ride);
  Filesystem& fs = f.Fs();
  f.Poll();
  const std::string json_before = f.Expected(kRideJsonIno);
  const std::string csv_before = f.Expected(kRootCsvInode);
  REQUIRE(json_before.size() > 40);
  REQUIRE(csv_before.size() > 40);
  const uint64_t j = f.OpenFile(f.Look(kMay, kRideJson).node);
  const uint64_t c = f.OpenFile(f.Look(kRootInode, "activities.csv").node);
  // A reader has read the first bytes of each.
  CHECK(f.Read(j, 0, 10) == json_before.substr(0, 10));
  CHECK(f.Read(c, 0, 10) == csv_before.substr(0, 10));

  // A sync commits in the middle of the reads.
  ride["distance"] = 12345.25;
  f.Put(ride);
  f.Put(Activity(11000000001, "2024-01-02T06:30:00Z", "Earlier"));
  REQUIRE(f.Expected(kRideJsonIno) != json_before);
  REQUIRE(f.Expected(kRootCsvInode) != csv_before);
  CHECK(f.Read(j, 10, 10) == json_before.substr(10, 10));
  CHECK(f.Read(c, 10, 10) == csv_before.substr(10, 10));
  // The watcher polls: the reads go on in the old version.
  f.Poll();
  CHECK(fs.Pinned() == 2);
  CHECK(f.Read(j, 20, 10) == json_before.substr(20, 10));
  CHECK(f.Read(c, 20, 10) == csv_before.substr(20, 10));
  // Still held kRetainMs on: a copy of each kept, the rest read from it.
  f.clock.Advance(kRetainMs);
  f.Poll();
  CHECK(fs.Pinned() == 0);
  CHECK(fs.Kept() == 2);
  CHECK(f.Read(j, 30, json_before.size()) == json_before.substr(30));
  CHECK(f.Read(c, 30, csv_before.size()) == csv_before.substr(30));
  CHECK(f.ReadAll(j) == json_before);
  CHECK(f.ReadAll(c) == csv_before);
  // The new versions are what lookups give now.
  CHECK(f.ReadName(kMay, kRideJson) == f.Expected(kRideJsonIno));
  CHECK(f.ReadName(kRootInode, "activities.csv") == f.Expected(kRootCsvInode));
  CHECK(fs.FileNodes() == 4);
}

TEST_CASE("listings: offsets, a full reply, and readdirplus nodes", "[filesystem]") {
  Fixture f;
  f.Put(Activity(11000000001, "2024-05-01T06:30:00Z", "One"));
  f.Put(Activity(11000000002, "2024-05-02T06:30:00Z", "Two"));
  f.Put(Activity(11000000003, "2024-05-03T06:30:00Z", "Three"));
  Filesystem& fs = f.Fs();
  f.Poll();
  const std::vector<std::string> files = {"2024-05-01_0730_One_11000000001.json",
                                          "2024-05-02_0730_Two_11000000002.json",
                                          "2024-05-03_0730_Three_11000000003.json"};

  struct Added {
    std::string name;
    Entry entry;
    int64_t next;
  };
  std::vector<Added> added;
  std::optional<Added> refused;
  size_t room = 0;
  const Filesystem::AddEntry add = [&](const std::string& name, const Entry& e, int64_t next) {
    if (added.size() == room) {
      refused = Added{name, e, next};
      return false;
    }
    added.push_back(Added{name, e, next});
    return true;
  };

  const uint64_t h = fs.OpenDir(kMay);
  room = 3;  // ".", ".." and activities.csv fit; the first activity does not
  auto first = fs.ReadDir(h, kMay, 0, true, add);
  REQUIRE(first.ok());
  REQUIRE(added.size() == 3);
  CHECK(added[0].name == ".");
  CHECK(added[0].entry.node == 0);
  CHECK(added[0].entry.attr.ino == kMay);
  CHECK(added[0].entry.attr.type == NodeType::kDir);
  CHECK(added[0].next == 1);
  CHECK(added[1].name == "..");
  CHECK(added[1].entry.node == 0);
  CHECK(added[1].entry.attr.ino == YearDirInode(2024));
  CHECK(added[1].entry.attr.type == NodeType::kDir);
  CHECK(added[1].next == 2);
  CHECK(added[2].name == "activities.csv");
  CHECK(added[2].entry.attr.ino == MonthCsvInode(2024, 5));
  CHECK(added[2].entry.attr.size == f.Expected(MonthCsvInode(2024, 5)).size());
  CHECK(Filesystem::IsFileNode(added[2].entry.node));
  CHECK(added[2].next == 3);
  CHECK(*first == std::vector<uint64_t>{added[2].entry.node});
  // The refused entry counts no lookup.
  REQUIRE(refused.has_value());
  CHECK(refused->name == files[0]);
  CHECK(fs.FileNodes() == 1);
  if (Filesystem::IsFileNode(refused->entry.node))
    CHECK(KindOf(fs.GetAttr(refused->entry.node).status()) == ErrorKind::kNotFound);

  // A new activity meanwhile, seen by the watcher: the open listing goes
  // on as it was read, but gives no node read at the retired anchor (a
  // folder held open would hold its transaction): the kernel looks the
  // names up.
  f.Put(Activity(11000000004, "2024-05-04T06:30:00Z", "Four"));
  f.Poll();
  CHECK(fs.Pinned() == 1);  // the month's activities.csv
  added.clear();
  refused.reset();
  room = 100;
  auto rest = fs.ReadDir(h, kMay, 3, true, add);
  REQUIRE(rest.ok());
  REQUIRE(added.size() == 3);
  CHECK_FALSE(refused.has_value());
  for (size_t i = 0; i < 3; ++i) {
    INFO(i);
    CHECK(added[i].name == files[i]);
    CHECK(added[i].next == static_cast<int64_t>(4 + i));
    CHECK(added[i].entry.node == 0);
    CHECK(added[i].entry.attr.type == NodeType::kFile);
    CHECK(added[i].entry.attr.ino == ActivityFileInode(ActivityFile::kJson, 11000000001 + static_cast<int64_t>(i)));
  }
  CHECK(rest->empty());
  CHECK(fs.FileNodes() == 1);
  CHECK(fs.Pinned() == 1);
  // A lookup of a listed file: its node, at the current anchor.
  const Entry looked = f.Look(kMay, files[1]);
  CHECK(Filesystem::IsFileNode(looked.node));
  CHECK(looked.attr.size == f.Expected(looked.attr.ino).size());
  CHECK(fs.FileNodes() == 2);
  CHECK(fs.Pinned() == 1);
  // Past the end: nothing.
  added.clear();
  auto end = fs.ReadDir(h, kMay, 6, true, add);
  REQUIRE(end.ok());
  CHECK(added.empty());
  CHECK(end->empty());

  // Offset 0 lists afresh; without plus no lookup is counted.
  added.clear();
  auto again = fs.ReadDir(h, kMay, 0, false, add);
  REQUIRE(again.ok());
  CHECK(again->empty());
  std::vector<std::string> names;
  for (const Added& a : added) names.push_back(a.name);
  CHECK(names == std::vector<std::string>{".", "..", "activities.csv", files[0], files[1], files[2],
                                          "2024-05-04_0730_Four_11000000004.json"});
  CHECK(added.back().entry.attr.ino == ActivityFileInode(ActivityFile::kJson, 11000000004));
  CHECK(added.back().next == 7);
  CHECK(fs.FileNodes() == 2);
  fs.ReleaseDir(h);

  // stats/ files are listed unmeasured: no node until a lookup measures them.
  const uint64_t hs = fs.OpenDir(kStatsDirInode);
  added.clear();
  auto stats = fs.ReadDir(hs, kStatsDirInode, 0, true, add);
  REQUIRE(stats.ok());
  CHECK(stats->empty());
  CHECK(added.size() == 2 + 12);
  for (const Added& a : added) {
    INFO(a.name);
    CHECK(a.entry.node == 0);
  }
  CHECK(fs.FileNodes() == 2);
  fs.ReleaseDir(hs);

  // The root, with plus: folders are their inodes, files get nodes.
  const uint64_t hr = fs.OpenDir(kRootInode);
  added.clear();
  auto root = fs.ReadDir(hr, kRootInode, 2, true, add);
  REQUIRE(root.ok());
  std::map<std::string, Entry> by_name;
  for (const Added& a : added) by_name[a.name] = a.entry;
  CHECK(by_name.size() == 5);
  CHECK(by_name["by-id"].node == kByIdDirInode);
  CHECK(by_name["stats"].node == kStatsDirInode);
  CHECK(by_name["2024"].node == YearDirInode(2024));
  CHECK(Filesystem::IsFileNode(by_name["athlete.json"].node));
  CHECK(Filesystem::IsFileNode(by_name["activities.csv"].node));
  CHECK(*root == std::vector<uint64_t>{by_name["athlete.json"].node, by_name["activities.csv"].node});
  CHECK(fs.FileNodes() == 4);
  fs.ReleaseDir(hr);

  // by-id/, a link per activity (kept compact, made into entries as sent),
  // read in two replies that split it between two links.
  const uint64_t hb = fs.OpenDir(kByIdDirInode);
  added.clear();
  refused.reset();
  room = 4;
  REQUIRE(fs.ReadDir(hb, kByIdDirInode, 0, true, add).ok());
  REQUIRE(added.size() == 4);
  CHECK(refused->next == 5);
  room = 100;
  auto links = fs.ReadDir(hb, kByIdDirInode, refused->next - 1, true, add);
  REQUIRE(links.ok());
  CHECK(links->empty());  // links are no file nodes
  std::vector<std::string> link_names;
  for (size_t i = 2; i < added.size(); ++i) {
    const Added& a = added[i];
    INFO(a.name);
    link_names.push_back(a.name);
    const int64_t id = std::stoll(a.name);
    CHECK(a.next == static_cast<int64_t>(i + 1));
    CHECK(a.entry.node == ByIdLinkInode(id));
    CHECK(a.entry.attr.ino == ByIdLinkInode(id));
    CHECK(a.entry.attr.type == NodeType::kLink);
    auto target = fs.ReadLink(a.entry.node);
    REQUIRE(target.ok());
    CHECK(a.entry.attr.size == target->size());
    CheckSameAttr(*fs.GetAttr(a.entry.node), a.entry.attr);
  }
  CHECK(link_names ==
        std::vector<std::string>{"11000000001.json", "11000000002.json", "11000000003.json", "11000000004.json"});
  CHECK(fs.FileNodes() == 4);
  fs.ReleaseDir(hb);

  // A folder that is not there.
  const uint64_t hm = fs.OpenDir(YearDirInode(2030));
  CHECK(KindOf(fs.ReadDir(hm, YearDirInode(2030), 0, true, add).status()) == ErrorKind::kNotFound);
  fs.ReleaseDir(hm);
}

TEST_CASE("the watcher tells the kernel what a commit changed", "[filesystem]") {
  Fixture f;
  Json ride = Activity(kRide, kRideStart, "Ride");
  f.Put(ride);
  Filesystem& fs = f.Fs();
  Recorder n;
  CHECK(fs.Poll(n));  // starts watching
  CHECK(n.calls == 0);
  CHECK(fs.Poll(n));
  CHECK(n.calls == 0);

  f.Look(kMay, kRideJson);
  f.Look(kRootInode, "athlete.json");
  const uint64_t csv_size = f.Look(kRootInode, "activities.csv").attr.size;
  ride["distance"] = 12345.25;  // changed in place
  f.Put(ride);
  CHECK(fs.Pinned() == 0);
  CHECK(fs.Poll(n));
  CHECK(fs.Pinned() == 3);  // the three nodes the kernel holds, read at the old anchor
  // The names of the files the kernel holds a node for (athlete.json after
  // any commit: its row logs no change), and the folders' listings.
  CHECK(n.names == std::set<std::pair<uint64_t, std::string>>{
                       {kMay, kRideJson}, {kRootInode, "athlete.json"}, {kRootInode, "activities.csv"}});
  for (uint64_t ino : {kRootInode, YearDirInode(2024), kMay}) {
    INFO(ino);
    CHECK(n.inodes.count(ino) == 1);
  }
  // The lookup the kernel makes next finds the new version (the sizes kept
  // were dropped too).
  const Entry now = f.Look(kMay, kRideJson);
  CHECK(now.attr.size == f.Expected(kRideJsonIno).size());
  CHECK(f.Look(kRootInode, "activities.csv").attr.size == f.Expected(kRootCsvInode).size());
  CHECK(f.Expected(kRootCsvInode).size() != csv_size);

  // No commit: nothing.
  n.Clear();
  CHECK(fs.Poll(n));
  CHECK(n.calls == 0);

  // Renamed: every old name goes.
  ride["name"] = "Gravel";
  f.Put(ride);
  CHECK(fs.Poll(n));
  const std::string base = "2024-05-12_0730_Ride_11000000003";
  CHECK(n.names == std::set<std::pair<uint64_t, std::string>>{{kMay, base + ".json"},
                                                              {kMay, base + ".csv"},
                                                              {kMay, base + ".gpx"},
                                                              {kMay, base + ".fit"},
                                                              {kMay, base + ".tcx"},
                                                              {kRootInode, "athlete.json"},
                                                              {kRootInode, "activities.csv"}});
  CHECK(n.inodes.count(kMay) == 1);
  CHECK(n.inodes.count(ByIdLinkInode(kRide)) == 1);
  CHECK(KindOf(fs.Lookup(kMay, kRideJson).status()) == ErrorKind::kNotFound);
  CHECK(f.Look(kMay, "2024-05-12_0730_Gravel_11000000003.json").attr.ino == kRideJsonIno);
  CHECK(f.logged.empty());
}

TEST_CASE("a cache replaced under its name is shown once the old one's -wal and -shm are gone", "[filesystem]") {
  Fixture f;
  f.Put(Activity(kRide, kRideStart, "Ride"));
  Filesystem& fs = f.Fs();
  Recorder n;
  REQUIRE(fs.Poll(n));
  const Entry json = f.Look(kMay, kRideJson);
  const std::string old_json = f.ReadAll(f.OpenFile(json.node));
  REQUIRE(old_json == f.Expected(kRideJsonIno));
  CHECK(f.Attr(kMay).type == NodeType::kDir);

  // Another cache, written and closed, moved over the one shown.
  const std::string other = f.dir / "new.db";
  {
    auto c = Cache::Open(other, Cache::Mode::kReadWrite);
    REQUIRE(c.ok());
    REQUIRE(AthleteStore(**c).StoreAthlete({{"id", 7}, {"firstname", "Ana"}, {"resource_state", 3}}).ok());
    REQUIRE(UpsertSummary(**c, Activity(11000000009, "2025-03-01T06:30:00Z", "New"), 1).ok());
  }
  f.writer.reset();  // the Filesystem's connections still hold the old -wal and -shm
  REQUIRE(std::rename(other.c_str(), f.path.c_str()) == 0);

  // The old -wal is still beside it: the old cache stays shown, and that is
  // logged once.
  CHECK(fs.Poll(n));
  CHECK(n.calls == 0);
  REQUIRE(f.logged.size() == 1);
  CHECK(f.logged[0].first == Severity::kWarning);
  CHECK(f.logged[0].second.find("still showing the old cache") != std::string::npos);
  CHECK(fs.Poll(n));
  CHECK(f.logged.size() == 1);
  CHECK(f.Look(kMay, kRideJson).node == json.node);
  CHECK(KindOf(fs.Lookup(kRootInode, "2025").status()) == ErrorKind::kNotFound);

  // Moved away with their main file: the new cache is shown.
  for (const char* side : {"-wal", "-shm"})
    REQUIRE(std::rename((f.path + side).c_str(), (f.dir / "old.db" + side).c_str()) == 0);
  CHECK(fs.Poll(n));
  REQUIRE(f.logged.size() == 2);
  CHECK(f.logged[1].first == Severity::kNotice);
  CHECK(f.logged[1].second.find("replaced by another file") != std::string::npos);
  // The kernel forgets every name it holds and every name and listing of the old cache.
  CHECK(n.names.count({kMay, kRideJson}) == 1);
  CHECK(n.names.count({kRootInode, "2024"}) == 1);
  CHECK(n.names.count({kByIdDirInode, "11000000003.json"}) == 1);
  CHECK(n.inodes.count(kRootInode) == 1);
  CHECK(n.inodes.count(kMay) == 1);
  CHECK(n.inodes.count(ByIdLinkInode(kRide)) == 1);

  // Nothing of the old cache is shown: not its folders, nor their attributes
  // (kept for the old file, they must not outlive the switch).
  CHECK(KindOf(fs.Lookup(kMay, kRideJson).status()) == ErrorKind::kNotFound);
  CHECK(KindOf(fs.Lookup(kRootInode, "2024").status()) == ErrorKind::kNotFound);
  CHECK(KindOf(fs.GetAttr(YearDirInode(2024)).status()) == ErrorKind::kNotFound);
  CHECK(f.Attr(kRootInode).mtime == *ParseIsoUtc("2025-03-01T06:30:00Z"));
  CHECK(f.Look(kRootInode, "activities.csv").attr.size == f.Expected(kRootCsvInode).size());
  CHECK(f.Look(kRootInode, "2025").node == YearDirInode(2025));
  const Entry fresh = f.Look(MonthDirInode(2025, 3), "2025-03-01_0730_New_11000000009.json");
  CHECK(f.ReadAll(f.OpenFile(fresh.node)) == f.Expected(ActivityFileInode(ActivityFile::kJson, 11000000009)));
  // The old file's node answers as it was made, and reads the old file's
  // bytes (at its last anchor).
  CheckSameAttr(f.Attr(json.node), json.attr);
  CHECK(fs.Pinned() == 1);
  CHECK(f.ReadAll(json.node) == old_json);
  n.Clear();
  CHECK(fs.Poll(n));
  CHECK(n.calls == 0);
  CHECK(f.logged.size() == 2);
  // Still held kRetainMs on: a copy kept, the old file's last anchor ended.
  f.clock.Advance(kRetainMs);
  CHECK(fs.Poll(n));
  CHECK(fs.Pinned() == 0);
  CHECK(fs.Kept() == 1);
  CHECK(f.ReadAll(json.node) == old_json);
  CHECK(n.calls == 0);
  CHECK(f.logged.size() == 2);
}

TEST_CASE("requests share one anchor until the watcher sees a commit, which begins exactly one more", "[filesystem]") {
  Fixture f;
  Json ride = Activity(kRide, kRideStart, "Ride");
  f.Put(ride);
  Filesystem& fs = f.Fs();
  CHECK(fs.Anchors() == 0);  // nothing open before the first request (a daemon forks after Open)
  const Entry a = f.Look(kMay, kRideJson);
  CHECK(fs.Anchors() == 1);
  f.Poll();  // starts watching, at that anchor
  CHECK(fs.Anchors() == 1);
  const std::string bytes_a = f.Expected(kRideJsonIno);

  // Lookups, reads, attributes and listings without a commit: one anchor.
  for (int i = 0; i < 5; ++i) {
    CHECK(f.Look(kMay, kRideJson).node == a.node);
    CHECK(f.ReadAll(f.OpenFile(a.node)) == bytes_a);
    CHECK(f.Attr(kMay).type == NodeType::kDir);
    CHECK(fs.ReadLink(ByIdLinkInode(kRide)).ok());
    const uint64_t dh = fs.OpenDir(kMay);
    CHECK(fs.ReadDir(dh, kMay, 0, false, [](const std::string&, const Entry&, int64_t) { return true; }).ok());
    fs.ReleaseDir(dh);
    f.Poll();
  }
  CHECK(fs.Anchors() == 1);

  // A sync commits: until the watcher polls, requests still read at the
  // anchor, and begin none.
  ride["distance"] = 12345.25;
  f.Put(ride);
  const std::string bytes_b = f.Expected(kRideJsonIno);
  REQUIRE(bytes_b != bytes_a);
  CHECK(f.Look(kMay, kRideJson).node == a.node);
  CHECK(f.ReadAll(a.node) == bytes_a);
  CHECK(fs.Anchors() == 1);
  // The poll begins exactly one.
  f.Poll();
  CHECK(fs.Anchors() == 2);
  const Entry b = f.Look(kMay, kRideJson);
  REQUIRE(b.node != a.node);
  CHECK(b.attr.size == bytes_b.size());
  for (int i = 0; i < 5; ++i) {
    CHECK(f.ReadAll(f.OpenFile(b.node)) == bytes_b);
    CHECK(f.ReadAll(a.node) == bytes_a);
    CHECK(f.Look(kMay, kRideJson).node == b.node);
  }
  CHECK(fs.Anchors() == 2);
  // No commit, a node still pinned to the old anchor (whose -wal frames
  // must stay): the polls begin none.
  f.Poll();
  f.Poll();
  CHECK(fs.Anchors() == 2);
  CHECK(fs.Pinned() == 1);

  // Once nothing is pinned (the kernel forgot a), the watcher copies the
  // -wal into the cache file and begins one anchor at the same state, once.
  // (Once the thread that renders ahead is idle: a reader there may hold a
  // read mark behind the -wal's end, and the checkpoint would wait a poll.)
  fs.Forget(a.node, 7);
  CHECK(fs.FileNodes() == 1);
  (void)fs.Prefetched();
  f.Poll();
  CHECK(fs.Anchors() == 3);
  f.Poll();
  f.Poll();
  CHECK(fs.Anchors() == 3);
  CHECK(f.Look(kMay, kRideJson).node == b.node);
  CHECK(f.ReadAll(b.node) == bytes_b);
  CHECK(fs.Anchors() == 3);
  CHECK(f.logged.empty());
}

TEST_CASE("a commit between the first request and the watcher's first poll is seen", "[filesystem]") {
  Fixture f;
  Json ride = Activity(kRide, kRideStart, "Ride");
  f.Put(ride);
  Filesystem& fs = f.Fs();
  // The kernel looks a name up as soon as the mount is there; the watcher
  // thread may start after that, and after a sync's commit.
  const Entry a = f.Look(kMay, kRideJson);
  ride["distance"] = 12345.25;
  f.Put(ride);
  const std::string bytes_b = f.Expected(kRideJsonIno);
  f.Poll();  // starts watching
  f.Poll();
  const Entry b = f.Look(kMay, kRideJson);
  CHECK(b.node != a.node);
  CHECK(b.attr.size == bytes_b.size());
  CHECK(f.ReadAll(f.OpenFile(b.node)) == bytes_b);
  CHECK(fs.FileNodes() == 2);
}

TEST_CASE("a reader going through a folder has the next files rendered ahead; reads take only their version",
          "[filesystem]") {
  Fixture f;
  std::vector<Json> runs;
  for (int i = 0; i < 6; ++i) {
    char start[32];
    std::snprintf(start, sizeof start, "2024-05-%02dT06:30:00Z", 1 + i);
    runs.push_back(Activity(12000000000 + i, start, "Run " + std::to_string(i)));
    f.Put(runs.back());
  }
  Filesystem& fs = f.Fs();
  f.Poll();
  // The month's .json files in listing order, as a reader goes through them.
  std::vector<std::pair<std::string, uint64_t>> files;  // name, inode
  const uint64_t dh = fs.OpenDir(kMay);
  REQUIRE(fs.ReadDir(dh, kMay, 0, false, [&](const std::string& name, const Entry& e, int64_t) {
              if (name.ends_with(".json")) files.emplace_back(name, e.attr.ino);
              return true;
            }).ok());
  fs.ReleaseDir(dh);
  REQUIRE(files.size() == 6);
  auto read = [&](size_t i) { return f.ReadName(kMay, files[i].first); };

  // A first read renders only itself: a reader here and there costs no
  // render ahead. It notes what comes next (two activities).
  CHECK(read(0) == f.Expected(files[0].second));
  CHECK(fs.Prefetched() == 0);
  CHECK(read(1) == f.Expected(files[1].second));
  CHECK(fs.Prefetched() == 0);
  // That was what came next: the reader goes through the folder, and the
  // next two are rendered ahead; each read takes its bytes.
  CHECK(read(2) == f.Expected(files[2].second));
  CHECK(fs.Prefetched() == 1);

  // The file 3 was rendered ahead at its first version; a sync writes a
  // second. Its new node's read gets the new bytes, not the ones ahead.
  const std::string before = f.Expected(files[3].second);
  runs[3]["distance"] = 4321.5;
  f.Put(runs[3]);
  const std::string after = f.Expected(files[3].second);
  REQUIRE(after != before);
  f.Poll();  // the watcher sees it: lookups give the new version
  CHECK(read(3) == after);
  CHECK(fs.Prefetched() == 1);
  // The reader goes on, and the next are rendered ahead at their versions.
  CHECK(read(4) == f.Expected(files[4].second));
  CHECK(fs.Prefetched() == 2);
  CHECK(read(5) == f.Expected(files[5].second));
  CHECK(fs.Prefetched() == 3);
}

// The .json files of May 2024, in listing order.
std::vector<std::string> MayJsonFiles(Filesystem& fs) {
  std::vector<std::string> files;
  const uint64_t dh = fs.OpenDir(kMay);
  REQUIRE(fs.ReadDir(dh, kMay, 0, false, [&](const std::string& name, const Entry&, int64_t) {
              if (name.ends_with(".json")) files.push_back(name);
              return true;
            }).ok());
  fs.ReleaseDir(dh);
  return files;
}

TEST_CASE("what waits rendered ahead is bounded: the oldest files go first", "[filesystem]") {
  Fixture f;
  constexpr int kRuns = 72;
  for (int i = 0; i < kRuns; ++i) {
    char start[32];
    std::snprintf(start, sizeof start, "2024-05-%02dT%02d:00:00Z", 1 + i / 12, 2 * (i % 12));
    f.Put(Activity(12000000000 + i, start, "Run " + std::to_string(i)));
  }
  Filesystem& fs = f.Fs();
  const std::vector<std::string> files = MayJsonFiles(fs);
  REQUIRE(files.size() == kRuns);
  auto read = [&](size_t i) {
    f.ReadName(kMay, files[i]);
    return fs.Prefetched();
  };

  // Going through, but reading every other file: each read has the next two
  // rendered, and leaves one of them waiting, unread.
  CHECK(read(0) == 0);
  CHECK(read(1) == 0);
  size_t hits = 0;
  for (size_t i = 3; i < kRuns - 2; i += 2) CHECK(read(i) == ++hits);
  REQUIRE(hits > 32);  // more left waiting than the bound
  // The oldest left were dropped; the newest still wait.
  CHECK(read(2) == hits);
  CHECK(read(kRuns - 4) == hits + 1);
}

TEST_CASE("what waits rendered ahead is bounded in bytes too", "[filesystem]") {
  Fixture f;
  constexpr int kRuns = 16;  // fewer files than the bound of 32 can leave waiting
  for (int i = 0; i < kRuns; ++i) {
    char start[32];
    std::snprintf(start, sizeof start, "2024-05-%02dT07:00:00Z", 1 + i);
    Json run = Activity(12100000000 + i, start, "Long " + std::to_string(i));
    run["description"] = std::string(700 * 1024, static_cast<char>('a' + i));  // a .json of 700 KB
    f.Put(run);
  }
  Filesystem& fs = f.Fs();
  const std::vector<std::string> files = MayJsonFiles(fs);
  REQUIRE(files.size() == kRuns);
  auto read = [&](size_t i) {
    CHECK(f.ReadName(kMay, files[i]).size() > 700 * 1024);
    return fs.Prefetched();
  };
  CHECK(read(0) == 0);
  CHECK(read(1) == 0);
  size_t hits = 0;
  for (size_t i = 3; i < kRuns - 2; i += 2) CHECK(read(i) == ++hits);
  // Eight left waiting, 5.6 MB: over the 4 MB bound, so the oldest went.
  CHECK(read(2) == hits);
  CHECK(read(kRuns - 4) == hits + 1);
}

TEST_CASE("what was rendered ahead from a cache file is not read from the file that replaced it", "[filesystem]") {
  Fixture f;
  const std::vector<std::string> names = {"2024-05-01_0730_One_12000000001.json",
                                          "2024-05-02_0730_Two_12000000002.json",
                                          "2024-05-03_0730_Three_12000000003.json"};
  f.Put(Activity(12000000001, "2024-05-01T06:30:00Z", "One"));
  f.Put(Activity(12000000002, "2024-05-02T06:30:00Z", "Two"));
  f.Put(Activity(12000000003, "2024-05-03T06:30:00Z", "Three", 1000));
  Filesystem& fs = f.Fs();
  Recorder n;
  REQUIRE(fs.Poll(n));
  const Entry old_third = f.Look(kMay, names[2]);
  for (size_t i : {0, 1}) {  // going through the folder: the third is rendered ahead
    f.ReadName(kMay, names[i]);
    CHECK(fs.Prefetched() == 0);  // what comes next noted, or rendered
  }

  // Another cache with the same activities written the same way: the third
  // at the same version, with other bytes.
  const std::string other = f.dir / "new.db";
  {
    auto c = Cache::Open(other, Cache::Mode::kReadWrite);
    REQUIRE(c.ok());
    REQUIRE(AthleteStore(**c).StoreAthlete({{"id", 7}, {"firstname", "Ana"}, {"resource_state", 3}}).ok());
    REQUIRE(UpsertSummary(**c, Activity(12000000001, "2024-05-01T06:30:00Z", "One"), 1).ok());
    REQUIRE(UpsertSummary(**c, Activity(12000000002, "2024-05-02T06:30:00Z", "Two"), 1).ok());
    REQUIRE(UpsertSummary(**c, Activity(12000000003, "2024-05-03T06:30:00Z", "Three", 2000), 1).ok());
  }
  f.writer.reset();
  REQUIRE(std::rename(other.c_str(), f.path.c_str()) == 0);
  for (const char* side : {"-wal", "-shm"})
    REQUIRE(std::rename((f.path + side).c_str(), (f.dir / "old.db" + side).c_str()) == 0);
  CHECK(fs.Poll(n));
  REQUIRE(f.logged.size() == 1);
  CHECK(f.logged[0].second.find("replaced by another file") != std::string::npos);

  const Entry new_third = f.Look(kMay, names[2]);
  REQUIRE(new_third.attr.version == old_third.attr.version);
  const std::string expected = f.Expected(ActivityFileInode(ActivityFile::kJson, 12000000003));
  REQUIRE(expected.find("2000") != std::string::npos);
  CHECK(f.ReadAll(f.OpenFile(new_third.node)) == expected);
  CHECK(fs.Prefetched() == 0);
}

// A sync's worth of commits: 40 activities in the month `month` ("2024-05"),
// a transaction each, of `round`'s ids.
void PutSyncRound(Fixture& f, int round, const std::string& month) {
  for (int i = 0; i < 40; ++i)
    f.Put(Activity(12000000000 + round * 100 + i, month + "-" + std::to_string(10 + i % 18) + "T06:30:00Z",
                   "Round " + std::to_string(round) + " " + std::string(300, 'x')));
}

TEST_CASE("the mount's read transaction lets the -wal start over once commits stop", "[filesystem]") {
  // The anchor is a read transaction held at all times; SQLite starts the
  // -wal over only when no reader is inside it. The watcher copies the
  // frames into the file once commits stop and begins its transaction anew
  // (reading the file alone), so a mount that runs for months over daily
  // syncs keeps the -wal at one sync's size.
  Fixture f;
  f.Put(Activity(kRide, kRideStart, "Ride"));
  Recorder rec;
  REQUIRE(f.Fs().Poll(rec));  // the first poll: starts watching
  (void)f.Look(kMay, kRideJson);
  const std::string wal = f.path + "-wal";
  auto wal_size = [&] { return std::filesystem::file_size(wal); };
  auto sync = [&](int round) { PutSyncRound(f, round, "2024-05"); };
  const size_t anchors = f.Fs().Anchors();
  sync(0);
  REQUIRE(f.Fs().Poll(rec));  // the commits: a new anchor
  CHECK(f.Fs().Anchors() == anchors + 1);
  REQUIRE(f.Fs().Poll(rec));  // none since: the -wal copied, the anchor begun anew
  CHECK(f.Fs().Anchors() == anchors + 2);
  const auto first = wal_size();
  REQUIRE(first > 0);
  for (int round = 1; round <= 4; ++round) {
    sync(round);
    REQUIRE(f.Fs().Poll(rec));
    REQUIRE(f.Fs().Poll(rec));
    (void)f.Look(kMay, kRideJson);  // requests meanwhile
    INFO("round " << round);
    CHECK(wal_size() < first * 3 / 2);  // started over: not grown by each sync (5x by the last)
  }
  // Nothing to copy after a poll without commits: no new anchor either.
  const size_t settled = f.Fs().Anchors();
  REQUIRE(f.Fs().Poll(rec));
  REQUIRE(f.Fs().Poll(rec));
  CHECK(f.Fs().Anchors() == settled);
}

TEST_CASE("a folder listed to its end and held open lets the -wal start over", "[filesystem]") {
  // A program that lists a folder and keeps it open (a file manager's
  // window) sends no RELEASEDIR until it closes it: the listing must not
  // keep the state it was read at.
  Fixture f;
  f.Put(Activity(kRide, kRideStart, "Ride"));
  Recorder rec;
  REQUIRE(f.Fs().Poll(rec));
  Filesystem& fs = f.Fs();
  const uint64_t h = fs.OpenDir(kMay);
  size_t listed = 0;
  const Filesystem::AddEntry add = [&](const std::string&, const Entry&, int64_t) { return ++listed, true; };
  auto made = fs.ReadDir(h, kMay, 0, true, add);
  REQUIRE(made.ok());
  REQUIRE(listed == 4);  // ".", "..", activities.csv, the ride's .json
  for (uint64_t node : *made) fs.Forget(node, 1);
  const std::string wal = f.path + "-wal";
  auto sync = [&](int round) {
    PutSyncRound(f, round, "2024-06");  // not the folder held open
    REQUIRE(fs.Poll(rec));              // the commits: a new anchor
    REQUIRE(fs.Poll(rec));              // none since: the -wal copied, the anchor begun anew
  };
  sync(0);
  const auto first = std::filesystem::file_size(wal);
  REQUIRE(first > 0);
  for (int round = 1; round <= 4; ++round) {
    sync(round);
    INFO("round " << round);
    CHECK(std::filesystem::file_size(wal) < first * 3 / 2);  // 5x by the last if the listing held its state
  }
  fs.ReleaseDir(h);
  CHECK(f.logged.empty());
}

TEST_CASE("a reader part way through an activities.csv lets the -wal start over after a commit", "[filesystem]") {
  // No release says when a reader is done: a cursor at the state before a
  // commit (its version unchanged) is dropped at the next poll, and the
  // next read makes one at the current anchor, so that its transaction
  // does not keep the checkpoint from copying every frame.
  Fixture f;
  f.Put(Activity(kRide, kRideStart, "Ride"));
  f.Poll();
  Filesystem& fs = f.Fs();
  const Entry may = f.Look(kMay, "activities.csv");
  const std::string rows = f.Expected(MonthCsvInode(2024, 5));
  CHECK(f.Read(may.node, 0, 10) == rows.substr(0, 10));
  const size_t anchors = fs.Anchors();
  f.Put(Activity(11000000005, "2024-06-01T06:30:00Z", "June"));  // another month: May's rows are the same
  f.Poll();
  CHECK(fs.Anchors() == anchors + 1);
  CHECK(fs.Pinned() == 0);
  f.Poll();  // no commit since: the cursor goes, then the -wal is copied and the anchor begun anew
  CHECK(fs.Anchors() == anchors + 2);
  CHECK(f.Read(may.node, 10, rows.size()) == rows.substr(10));
  CHECK(f.Look(kMay, "activities.csv").node == may.node);
}

}  // namespace
}  // namespace stravafs
