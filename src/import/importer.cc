#include "import/importer.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

#include "base/utf8.h"
#include "cache/activity_store.h"
#include "cache/athlete_store.h"
#include "cache/import_store.h"
#include "import/compressed.h"
#include "import/csv.h"
#include "import/export_csv.h"
#include "import/fit.h"
#include "import/gpx.h"
#include "import/shape.h"
#include "import/tcx.h"

namespace stravafs::import {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMatchSlack = 60;  // s: a device file within this of an activity held is the same one
constexpr size_t kMaxFailuresKept = 100;
constexpr uint64_t kMaxCsvBytes = uint64_t{256} << 20;  // activities.csv of 100k rows is ~60 MB

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The activity-file formats by name: "fit", "gpx", "tcx", or "".
std::string FormatOfName(std::string_view name) {
  std::string n = Lower(name);
  if (n.ends_with(".gz")) n.resize(n.size() - 3);
  for (const char* ext : {"fit", "gpx", "tcx"})
    if (n.ends_with(std::string(".") + ext)) return ext;
  return "";
}

bool IsZipName(std::string_view name) { return Lower(name).ends_with(".zip"); }

// The format of decompressed bytes, by content first (a .fit named .gpx is
// still FIT), then by name.
std::string SniffFormat(std::string_view bytes, std::string_view name) {
  if (bytes.size() >= 12 && bytes.substr(8, 4) == ".FIT") return "fit";
  const std::string_view head = bytes.substr(0, 4096);
  if (head.find("<TrainingCenterDatabase") != std::string_view::npos) return "tcx";
  if (head.find("<gpx") != std::string_view::npos) return "gpx";
  return FormatOfName(name);
}

Result<Track> Decode(const std::string& format, std::string_view bytes) {
  if (format == "fit") return DecodeFit(bytes);
  if (format == "gpx") return DecodeGpx(bytes);
  if (format == "tcx") return DecodeTcx(bytes);
  return Status::Error(ErrorKind::kGeneric, "not a FIT, GPX or TCX file");
}

// Strava's deprecated coarse `type` for a sport_type.
std::string CoarseType(const std::string& sport) {
  if (sport == "TrailRun") return "Run";
  if (sport == "MountainBikeRide" || sport == "GravelRide") return "Ride";
  if (sport == "EMountainBikeRide") return "EBikeRide";
  return sport;
}

// Sports close enough that a device file and an activity held are the same
// recording: equal, or of one family (a watch's "Ride" is Strava's GravelRide).
std::string SportFamily(const std::string& sport) {
  const std::string s = Lower(sport);
  if (s.find("ride") != std::string::npos || s.find("cycl") != std::string::npos) return "ride";
  if (s.find("run") != std::string::npos) return "run";
  if (s.find("swim") != std::string::npos) return "swim";
  if (s == "walk" || s == "hike") return "foot";
  return s;
}

bool SportsCompatible(const std::string& a, const std::string& b) {
  return a.empty() || b.empty() || a == "Workout" || b == "Workout" || SportFamily(a) == SportFamily(b);
}

// Strava's default title from the local hour: "Morning Run".
std::string DefaultName(int64_t local_epoch, const std::string& sport) {
  const int64_t hour = ((local_epoch % 86400 + 86400) % 86400) / 3600;
  const char* part = hour < 5    ? "Night"
                     : hour < 11 ? "Morning"
                     : hour < 13 ? "Lunch"
                     : hour < 17 ? "Afternoon"
                     : hour < 21 ? "Evening"
                                 : "Night";
  std::string words;
  for (char c : sport.empty() ? std::string("Activity") : sport) {
    if (std::isupper(static_cast<unsigned char>(c)) && !words.empty()) words += ' ';
    words += c;
  }
  return std::string(part) + " " + words;
}

// "(GMT+01:00) Europe/Berlin", as Strava writes `timezone` (the GMT part is
// the zone's standard offset); a fixed offset without a named zone when the
// file's offset is not the configured zone's.
std::string TimezoneText(const TimeZone& zone, int64_t start, int64_t offset) {
  std::string name;
  int64_t standard = offset;
  if (zone.OffsetAt(start) == offset) {
    name = zone.name();
    if (zone.IsDstAt(start)) standard -= 3600;
  } else if (offset % 3600 == 0) {
    name = offset == 0 ? "Etc/UTC"
                       : "Etc/GMT" + std::string(offset > 0 ? "-" : "+") + std::to_string(std::llabs(offset) / 3600);
  }
  char gmt[32];
  std::snprintf(gmt, sizeof gmt, "(GMT%c%02lld:%02lld)", standard < 0 ? '-' : '+',
                static_cast<long long>(std::llabs(standard) / 3600),
                static_cast<long long>(std::llabs(standard) % 3600 / 60));
  return name.empty() ? gmt : std::string(gmt) + " " + name;
}

std::string Hex12(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(v & 0xffffffffffffULL));
  return buf;
}

// A file to import, wherever it lives (a folder, a zip entry).
struct Input {
  std::string key;   // import_files.path: absolute, or ZIP!ENTRY
  std::string name;  // its file name, for the original and external_id
  int64_t size = 0, mtime = 0;
  std::function<Result<std::string>()> read;  // the bytes as stored
};

class Run {
 public:
  Run(Cache& cache, const ImportOptions& options, ImportObserver* observer)
      : cache_(cache), store_(cache), options_(options), observer_(observer) {}

  ImportReport Go(const std::vector<std::string>& paths);

 private:
  bool Cancelled() const { return options_.cancel && options_.cancel->load(); }
  void Fail(const std::string& where, const std::string& why);
  void Progress();
  // Commits every options_.batch activities, so a kill loses one batch at most.
  Status Checkpoint(bool force = false);

  Status ImportPath(const std::string& path);
  Status ScanFolder(const fs::path& dir);
  Status ImportExportFolder(const fs::path& dir);
  // `named`: the user named this zip (else a folder scan found it, and a zip
  // that is not an export is passed over without complaint).
  Status ImportZip(const std::string& path, int64_t size, int64_t mtime, bool named);
  Status ImportLoose(const fs::path& file);

  // Reads the export's CSV files (activities, profile, bikes, shoes).
  Status ReadExportCsvs(const std::string& where,
                        const std::function<Result<std::optional<std::string>>(const std::string&)>& read);
  Status ImportFile(const Input& in, const ExportActivity* row);
  Status ApplyRow(const ExportActivity& row);
  Status StoreActivity(int64_t id, Source source, const Json& json, const Shaped* shaped, bool manual);
  Status Attach(int64_t id, const Shaped& shaped);
  Status KeepOriginal(int64_t id, const Input& in, const std::string& format, size_t size, std::string_view raw);
  Json ActivityJson(int64_t id, const ExportActivity* row, const Track* track, const Shaped* shaped,
                    const std::string& file_name);
  std::optional<std::string> GearId(const std::string& gear_name) const;
  Input FileInput(const fs::path& file, const struct stat& st);

  Cache& cache_;
  ImportStore store_;
  const ImportOptions& options_;
  ImportObserver* observer_;
  ImportReport report_;
  ImportProgress progress_;
  int64_t last_progress_ms_ = 0;
  int pending_ = 0;
  bool in_tx_ = false;
  std::optional<int64_t> athlete_id_;   // an export's rows': its profile's, else the first held
  std::optional<int64_t> loose_owner_;  // loose files': ImportOptions::athlete, else the only one held
  std::string ambiguous_owner_;         // why loose files have no owner: several athletes held
  std::vector<std::pair<ExportGear, std::string>> gear_;  // with the id stored under
  // The export being imported: its rows by file name ("activities/1.fit.gz"),
  // and which rows are done.
  std::vector<ExportActivity> rows_;
  std::unordered_map<std::string, size_t> row_of_file_;
  std::vector<bool> row_done_;
};

void Run::Fail(const std::string& where, const std::string& why) {
  ++report_.failed;
  if (report_.failures.size() < kMaxFailuresKept) report_.failures.emplace_back(where, why);
  if (observer_) observer_->OnProblem(where, why);
}

void Run::Progress() {
  if (!observer_) return;
  const int64_t now = NowMs();
  if (now - last_progress_ms_ < 100 && progress_.files_done < progress_.files_total) return;
  last_progress_ms_ = now;
  progress_.activities = report_.added + report_.updated + report_.attached;
  observer_->OnProgress(progress_);
}

Status Run::Checkpoint(bool force) {
  if (in_tx_ && (force || ++pending_ >= options_.batch)) {
    if (auto s = cache_.Commit(); !s.ok()) return s;
    in_tx_ = false;
    pending_ = 0;
  }
  if (!in_tx_ && !force) {
    if (auto s = cache_.Begin(); !s.ok()) return s;
    in_tx_ = true;
  }
  return Status::Ok();
}

ImportReport Run::Go(const std::vector<std::string>& paths) {
  report_.started_ms = NowMs();
  auto held = AthleteStore(cache_).Held();
  Status status = held.status();
  if (held.ok() && !held->empty()) athlete_id_ = held->front();
  if (options_.athlete != 0) {
    loose_owner_ = options_.athlete;
  } else if (held.ok() && held->size() == 1) {
    loose_owner_ = held->front();
  } else if (held.ok() && held->size() > 1) {
    std::string names;
    for (int64_t id : *held) {
      const std::string name = AthleteStore(cache_).Name(id);
      names += (names.empty() ? "" : ", ") + std::to_string(id) + (name.empty() ? "" : " (" + name + ")");
    }
    ambiguous_owner_ =
        "this cache holds several athletes (" + names +
        "): name whose files these are with `stravafs import --athlete ATHLETE` (or `[import] athlete` for "
        "[import] folders)";
  }
  if (status.ok()) status = cache_.Begin();
  in_tx_ = status.ok();
  for (const std::string& path : paths) {  // folders add theirs as they are scanned
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && !IsZipName(path)) ++progress_.files_total;
  }
  for (const std::string& path : paths) {
    if (!status.ok()) break;
    status = ImportPath(path);
    if (status.ok() && Cancelled())
      status = Status::Error(ErrorKind::kInterrupted,
                             "interrupted: what was imported is kept; run the same import again to finish");
  }
  if (status.ok()) {
    status = Checkpoint(true);
  } else if (in_tx_) {
    // Keep what the batch holds when the failure was not the cache's own.
    if (status.kind() == ErrorKind::kCache)
      cache_.Rollback();
    else if (auto s = cache_.Commit(); !s.ok())
      cache_.Rollback();
    in_tx_ = false;
  }
  progress_.files_done = progress_.files_total;
  last_progress_ms_ = 0;
  Progress();
  report_.status = status;
  report_.finished_ms = NowMs();
  return std::move(report_);
}

Input Run::FileInput(const fs::path& file, const struct stat& st) {
  Input in;
  in.key = file.string();
  in.name = file.filename().string();
  in.size = st.st_size;
  in.mtime = st.st_mtime;
  const uint64_t cap = options_.max_file_bytes;
  in.read = [file, cap]() -> Result<std::string> {
    std::ifstream f(file, std::ios::binary);
    if (!f) return Status::Error(ErrorKind::kGeneric, "cannot open the file");
    std::string bytes;
    char buf[1 << 16];
    while (f.read(buf, sizeof buf) || f.gcount() > 0) {
      bytes.append(buf, static_cast<size_t>(f.gcount()));
      if (bytes.size() > cap)
        return Status::Error(ErrorKind::kGeneric, "larger than " + std::to_string(cap >> 20) + " MB");
    }
    if (f.bad()) return Status::Error(ErrorKind::kGeneric, "read error");
    return bytes;
  };
  return in;
}

Status Run::ImportPath(const std::string& raw_path) {
  std::error_code ec;
  const fs::path path = fs::absolute(raw_path, ec).lexically_normal();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    Fail(raw_path, std::string("cannot read: ") + std::strerror(errno));
    return Status::Ok();
  }
  if (S_ISDIR(st.st_mode)) {
    if (fs::is_regular_file(path / "activities.csv", ec)) return ImportExportFolder(path);
    return ScanFolder(path);
  }
  if (!S_ISREG(st.st_mode)) {
    Fail(raw_path, "not a regular file or folder");
    return Status::Ok();
  }
  if (IsZipName(path.filename().string())) return ImportZip(path.string(), st.st_size, st.st_mtime, true);
  if (FormatOfName(path.filename().string()).empty()) {
    Fail(raw_path, "not a .fit, .gpx, .tcx (each also .gz) or .zip file");
    return Status::Ok();
  }
  return ImportLoose(path);
}

Status Run::ScanFolder(const fs::path& dir) {
  std::vector<fs::path> files, zips, exports;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) {
    Fail(dir.string(), "cannot list: " + ec.message());
    return Status::Ok();
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      Fail(dir.string(), "cannot list: " + ec.message());
      break;
    }
    std::error_code e2;
    if (it->is_directory(e2)) {
      if (fs::is_regular_file(it->path() / "activities.csv", e2)) {
        exports.push_back(it->path());
        it.disable_recursion_pending();
      }
      continue;
    }
    if (!it->is_regular_file(e2)) continue;  // links to files are followed; sockets and fifos are not
    const std::string name = it->path().filename().string();
    if (IsZipName(name))
      zips.push_back(it->path());
    else if (!FormatOfName(name).empty())
      files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  std::sort(zips.begin(), zips.end());
  std::sort(exports.begin(), exports.end());
  progress_.files_total += static_cast<int64_t>(files.size());
  for (const fs::path& e : exports)
    if (auto s = ImportExportFolder(e); !s.ok() || Cancelled()) return s;
  for (const fs::path& z : zips) {
    struct stat st {};
    if (::stat(z.c_str(), &st) != 0) continue;
    if (auto s = ImportZip(z.string(), st.st_size, st.st_mtime, false); !s.ok() || Cancelled()) return s;
  }
  for (const fs::path& f : files)
    if (auto s = ImportLoose(f); !s.ok() || Cancelled()) return s;
  // Failed files removed since are no longer failures (see ForgetGoneFailures).
  return store_.ForgetGoneFailures(dir.string());
}

Status Run::ImportLoose(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    Fail(file.string(), std::string("cannot read: ") + std::strerror(errno));
    ++progress_.files_done;
    return Status::Ok();
  }
  Status s = ImportFile(FileInput(file, st), nullptr);
  ++progress_.files_done;
  Progress();
  return s;
}

Status Run::ReadExportCsvs(const std::string& where,
                           const std::function<Result<std::optional<std::string>>(const std::string&)>& read) {
  rows_.clear();
  row_of_file_.clear();
  // The athlete first: every activity names its owner.
  if (auto profile = read("profile.csv"); profile.ok() && *profile) {
    auto p = ReadExportProfile(**profile);
    if (!p.ok()) {
      Fail(where + "/profile.csv", p.status().message());
    } else if (p->id) {
      // Its activities are this athlete's (the export's ids are Strava's,
      // so nothing in it is mistaken for another athlete's), in a cache of
      // several athletes too; a new athlete is stored from the profile.
      auto held = AthleteStore(cache_).Held();
      if (!held.ok()) return held.status();
      athlete_id_ = *p->id;
      if (std::find(held->begin(), held->end(), *p->id) == held->end()) {
        Json a = Json::object();
        a["id"] = *p->id;
        a["resource_state"] = 2;
        a["firstname"] = p->first_name;
        a["lastname"] = p->last_name;
        if (!p->city.empty()) a["city"] = p->city;
        if (!p->state.empty()) a["state"] = p->state;
        if (!p->country.empty()) a["country"] = p->country;
        if (!p->sex.empty()) a["sex"] = p->sex;
        if (p->weight) a["weight"] = *p->weight;
        if (auto s = AthleteStore(cache_).StoreAthlete(a); !s.ok()) return s;
      }
    }
  } else if (!profile.ok()) {
    Fail(where + "/profile.csv", profile.status().message());
  }
  for (const auto& [file, bikes] : {std::pair{"bikes.csv", true}, std::pair{"shoes.csv", false}}) {
    auto text = read(file);
    if (!text.ok()) {
      Fail(where + "/" + file, text.status().message());
      continue;
    }
    if (!*text) continue;
    auto gear = ReadExportGear(**text, bikes);
    if (!gear.ok()) {
      Fail(where + "/" + file, gear.status().message());
      continue;
    }
    for (const ExportGear& g : *gear) {
      // Strava's ids are b or g and digits; these can never be one of them.
      // The name makes the id, so importing an export again finds its gear.
      // A gear of that name another athlete holds (two of a family with a
      // "Road bike") leaves theirs alone: this athlete's id has their id in
      // it as well.
      std::string id = std::string(bikes ? "xb" : "xg") + Hex12(Fingerprint(g.name));
      if (athlete_id_) {
        auto owner = AthleteStore(cache_).GearOwner(id);
        if (!owner.ok()) return owner.status();
        if (*owner && **owner != *athlete_id_)
          id = std::string(bikes ? "xb" : "xg") + Hex12(Fingerprint(g.name + "\n" + std::to_string(*athlete_id_)));
      }
      Json j = Json::object();
      j["id"] = id;
      j["name"] = g.name;
      if (!g.brand.empty()) j["brand_name"] = g.brand;
      if (!g.model.empty()) j["model_name"] = g.model;
      j["resource_state"] = 2;
      if (auto s = AthleteStore(cache_).StoreGear(j, athlete_id_.value_or(0)); !s.ok()) return s;
      gear_.emplace_back(g, id);
    }
  }
  auto text = read("activities.csv");
  if (!text.ok()) return text.status();
  if (!*text) return Status::Error(ErrorKind::kGeneric, "no activities.csv");
  auto all = ReadExportActivities(**text);
  if (!all.ok()) return all.status();
  for (const ExportWarning& w : all->warnings)
    if (observer_) observer_->OnProblem(where + "/activities.csv", w.ToString());
  report_.warnings += static_cast<int64_t>(all->warnings.size() + all->suppressed_warnings);
  rows_ = std::move(all->activities);
  report_.rows += static_cast<int64_t>(rows_.size());
  row_done_.assign(rows_.size(), false);
  for (size_t i = 0; i < rows_.size(); ++i)
    if (!rows_[i].filename.empty()) row_of_file_[fs::path(rows_[i].filename).lexically_normal().string()] = i;
  return Status::Ok();
}

Status Run::ImportExportFolder(const fs::path& dir) {
  auto read = [&](const std::string& name) -> Result<std::optional<std::string>> {
    const fs::path p = dir / name;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::optional<std::string>();
    if (static_cast<uint64_t>(st.st_size) > kMaxCsvBytes)
      return Status::Error(ErrorKind::kGeneric,
                           p.string() + " is larger than " + std::to_string(kMaxCsvBytes >> 20) + " MB");
    auto bytes = FileInput(p, st).read();
    if (!bytes.ok()) return bytes.status().WithContext(p.string());
    return std::optional<std::string>(std::move(*bytes));
  };
  if (auto s = ReadExportCsvs(dir.string(), read); !s.ok()) {
    if (s.kind() == ErrorKind::kCache) return s;
    Fail(s.kind() == ErrorKind::kUsage ? dir.string() : (dir / "activities.csv").string(), s.message());
    return Status::Ok();
  }
  // Every row with a file, in the CSV's order; then the files no row names.
  progress_.files_total += static_cast<int64_t>(row_of_file_.size());
  for (size_t i = 0; i < rows_.size() && !Cancelled(); ++i) {
    const ExportActivity& row = rows_[i];
    if (row.filename.empty()) continue;
    const fs::path file = (dir / row.filename).lexically_normal();
    struct stat st {};
    Status s;
    if (file.string().rfind(dir.string(), 0) != 0 || ::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      Fail(file.string(), "named by activities.csv (activity " + std::to_string(row.id) + ") but missing");
      s = ApplyRow(row);
    } else {
      s = ImportFile(FileInput(file, st), &row);
    }
    row_done_[i] = true;
    ++progress_.files_done;
    Progress();
    if (!s.ok()) return s;
  }
  for (size_t i = 0; i < rows_.size() && !Cancelled(); ++i)
    if (!row_done_[i])
      if (auto s = ApplyRow(rows_[i]); !s.ok()) return s;
  std::error_code ec;
  if (fs::is_directory(dir / "activities", ec)) {
    std::vector<fs::path> loose;
    for (const auto& e : fs::directory_iterator(dir / "activities", ec)) {
      const std::string rel = fs::relative(e.path(), dir, ec).lexically_normal().string();
      if (!row_of_file_.count(rel) && !FormatOfName(e.path().filename().string()).empty()) loose.push_back(e.path());
    }
    std::sort(loose.begin(), loose.end());
    progress_.files_total += static_cast<int64_t>(loose.size());
    for (const fs::path& f : loose)
      if (auto s = ImportLoose(f); !s.ok() || Cancelled()) return s;
  }
  if (Cancelled()) return Status::Ok();
  // The failures of files removed since ("fix or remove them and run the
  // import again") would otherwise count in `status` for ever.
  return store_.ForgetGoneFailures(dir.string());
}

Status Run::ImportZip(const std::string& path, int64_t size, int64_t mtime, bool named) {
  auto known = store_.Find(path);
  if (!known.ok()) return known.status();
  if (*known && (*known)->size == size && (*known)->mtime == mtime && (*known)->outcome == "done") {
    ++report_.unchanged;
    return Status::Ok();
  }
  // Pass 1: the CSV files, wherever the zip's top folder puts them.
  std::map<std::string, std::string> csvs;
  std::string root;  // the folder of activities.csv inside the zip, "" or "x/"
  {
    auto zip = ZipReader::Open(path);
    if (!zip.ok()) {
      Fail(path, zip.status().message());
      return Status::Ok();
    }
    ZipEntry entry;
    while (true) {
      auto more = (*zip)->Next(entry);
      if (!more.ok()) {
        Fail(path, more.status().message());
        return Status::Ok();
      }
      if (!*more) break;
      const fs::path p(entry.path);
      const std::string name = p.filename().string();
      if (!entry.is_regular_file) continue;
      if (name != "activities.csv" && name != "profile.csv" && name != "bikes.csv" && name != "shoes.csv") continue;
      const std::string dir = p.parent_path().string();
      if (dir.find('/') != std::string::npos) continue;  // at the top, or in one top folder
      auto bytes = (*zip)->ReadEntry(kMaxCsvBytes);
      if (!bytes.ok()) {
        Fail(path + "!" + entry.path, bytes.status().message());
        continue;
      }
      if (name == "activities.csv") root = dir.empty() ? "" : dir + "/";
      csvs[entry.path] = std::move(*bytes);
    }
  }
  if (csvs.count(root + "activities.csv") == 0) {
    if (!named) return store_.Record(path, size, mtime, std::nullopt, std::nullopt, "done");
    Fail(path, "not a Strava export: no activities.csv in the archive");
    return Status::Ok();
  }
  auto read = [&](const std::string& name) -> Result<std::optional<std::string>> {
    auto it = csvs.find(root + name);
    if (it == csvs.end()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(it->second));
  };
  if (auto s = ReadExportCsvs(path, read); !s.ok()) {
    if (s.kind() == ErrorKind::kCache) return s;
    Fail(s.kind() == ErrorKind::kUsage ? path : path + "!" + root + "activities.csv", s.message());
    return Status::Ok();
  }
  csvs.clear();
  // Pass 2: the activity files, one entry at a time.
  auto zip = ZipReader::Open(path);
  if (!zip.ok()) {
    Fail(path, zip.status().message());
    return Status::Ok();
  }
  progress_.files_total += static_cast<int64_t>(row_of_file_.size());
  const int64_t failed_before = report_.failed;
  bool complete = true;
  ZipEntry entry;
  while (!Cancelled()) {
    auto more = (*zip)->Next(entry);
    if (!more.ok()) {
      Fail(path, more.status().message());
      complete = false;
      break;
    }
    if (!*more) break;
    if (!entry.is_regular_file || FormatOfName(entry.path).empty()) continue;
    // The entry's name is only ever a key: nothing is written to disk, so
    // `..` or an absolute name reaches nowhere.
    std::string rel = entry.path;
    if (!root.empty() && rel.rfind(root, 0) == 0) rel.erase(0, root.size());
    rel = fs::path(rel).lexically_normal().string();
    auto row = row_of_file_.find(rel);
    if (row == row_of_file_.end()) ++progress_.files_total;
    Input in;
    in.key = path + "!" + entry.path;
    in.name = fs::path(entry.path).filename().string();
    in.size = static_cast<int64_t>(entry.size.value_or(0));
    in.mtime = mtime;
    ZipReader* reader = zip->get();
    const uint64_t cap = options_.max_file_bytes;
    in.read = [reader, cap]() { return reader->ReadEntry(cap); };
    Status s = ImportFile(in, row == row_of_file_.end() ? nullptr : &rows_[row->second]);
    if (row != row_of_file_.end()) row_done_[row->second] = true;
    ++progress_.files_done;
    Progress();
    if (!s.ok()) return s;
  }
  if (Cancelled()) return Status::Ok();
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (row_done_[i]) continue;
    if (!rows_[i].filename.empty()) {
      Fail(path + "!" + root + rows_[i].filename,
           "named by activities.csv (activity " + std::to_string(rows_[i].id) + ") but not in the archive");
      ++progress_.files_done;
    }
    if (auto s = ApplyRow(rows_[i]); !s.ok()) return s;
  }
  // The whole archive is done: the next run passes it over unread. With a
  // failed entry it is walked again, and only that entry is read.
  if (complete && report_.failed == failed_before)
    return store_.Record(path, size, mtime, std::nullopt, std::nullopt, "done");
  return Status::Ok();
}

Status Run::ImportFile(const Input& in, const ExportActivity* row) {
  auto known = store_.Find(in.key);
  if (!known.ok()) return known.status();
  if (*known && (*known)->size == in.size && (*known)->mtime == in.mtime && (*known)->outcome != "failed") {
    ++report_.unchanged;
    return row ? ApplyRow(*row) : Status::Ok();
  }
  ++report_.files;
  const std::string display = in.key;
  auto fail = [&](const std::string& why, std::optional<uint64_t> content) -> Status {
    Fail(display, why);
    if (auto s = store_.Record(in.key, in.size, in.mtime, content, std::nullopt, "failed", why); !s.ok()) return s;
    if (auto s = Checkpoint(); !s.ok()) return s;
    return row ? ApplyRow(*row) : Status::Ok();  // its summary still comes from the CSV
  };
  auto raw = in.read();
  if (!raw.ok()) return fail(raw.status().message(), std::nullopt);
  std::string inflated;
  const bool gz = LooksGzip(*raw);
  if (gz) {
    auto out = Gunzip(*raw, options_.max_file_bytes);
    if (!out.ok()) return fail(out.status().message(), std::nullopt);
    inflated = std::move(*out);
  }
  const std::string_view bytes = gz ? std::string_view(inflated) : std::string_view(*raw);
  const uint64_t content = Fingerprint(bytes);
  auto seen = store_.FindContent(content);
  if (!seen.ok()) return seen.status();
  if (*seen && (!row || **seen == row->id)) {
    ++report_.duplicates;
    if (auto s = store_.Record(in.key, in.size, in.mtime, content, **seen, "duplicate"); !s.ok()) return s;
    if (auto s = Checkpoint(); !s.ok()) return s;
    return row ? ApplyRow(*row) : Status::Ok();
  }
  const std::string format = SniffFormat(bytes, in.name);
  auto track = Decode(format, bytes);
  if (!track.ok()) return fail(track.status().message(), content);
  const Shaped shaped = ShapeTrack(*track);
  if (shaped.samples == 0 && !row) return fail(format + ": no recorded points", content);
  if (!row && !ambiguous_owner_.empty()) return fail(ambiguous_owner_, content);

  int64_t id = 0;
  const char* outcome = "imported";
  std::optional<Source> held;
  if (row) {
    id = row->id;
  } else {
    const double start = track->summary.start_time.value_or(shaped.summary.start_time.value_or(0));
    auto near = store_.StartingNear(static_cast<int64_t>(std::llround(start)), kMatchSlack, loose_owner_.value_or(0));
    if (!near.ok()) return near.status();
    if (*near && SportsCompatible((*near)->sport_type, track->summary.sport_type))
      id = (*near)->id;
    else
      id = FileActivityId(content);
  }
  auto source = store_.SourceOf(id);
  if (!source.ok()) return source.status();
  held = *source;
  if (held && (*held == Source::kApi || !row) && id != FileActivityId(content)) {
    // An activity held from elsewhere: this file only fills what it lacks.
    if (auto s = Attach(id, shaped); !s.ok()) return s;
    outcome = "attached";
    ++report_.attached;
  } else {
    const Json json = ActivityJson(id, row, &*track, &shaped, in.name);
    if (auto s = StoreActivity(id, row ? Source::kExport : Source::kFile, json, &shaped, false); !s.ok()) return s;
  }
  if (auto s = KeepOriginal(id, in, format, bytes.size(), *raw); !s.ok()) return s;
  if (auto s = store_.Record(in.key, in.size, in.mtime, content, id, outcome); !s.ok()) return s;
  return Checkpoint();
}

Status Run::KeepOriginal(int64_t id, const Input& in, const std::string& format, size_t size, std::string_view raw) {
  if (!options_.originals) return Status::Ok();
  auto has = store_.HasOriginal(id);
  if (!has.ok()) return has.status();
  if (*has) return Status::Ok();
  return store_.StoreOriginal(id, in.name, format, static_cast<int64_t>(size), raw);
}

Status Run::Attach(int64_t id, const Shaped& shaped) {
  if (shaped.samples == 0) return Status::Ok();
  auto has = store_.HasStreams(id);
  if (!has.ok()) return has.status();
  if (*has) return Status::Ok();
  return ActivityStore(cache_).StoreStreams(id, shaped.streams);
}

Status Run::ApplyRow(const ExportActivity& row) {
  auto source = store_.SourceOf(row.id);
  if (!source.ok()) return source.status();
  if (*source && **source == Source::kApi) return Checkpoint();  // Strava's API gave more than the CSV holds
  Json json = ActivityJson(row.id, &row, nullptr, nullptr, "");
  if (*source) {
    // The row alone knows no local time but the configured zone's: the one a
    // FIT file gave this activity before stays.
    for (const char* key : {"start_date_local", "timezone", "utc_offset"}) json.erase(key);
  }
  if (auto s = StoreActivity(row.id, Source::kExport, json, nullptr, row.filename.empty()); !s.ok()) return s;
  return Checkpoint();
}

Status Run::StoreActivity(int64_t id, Source source, const Json& json, const Shaped* shaped, bool manual) {
  Stmt* q = cache_.Prepare("SELECT json FROM activities WHERE id=?");
  if (!q) return cache_.Check(SQLITE_ERROR, "reading an activity");
  q->Bind(1, id);
  std::optional<std::string> held;
  if (q->Step()) held = q->Text(0);
  if (auto s = cache_.Check(q->rc(), "reading an activity"); !s.ok()) return s;
  q->Reset();
  if (!held) {
    auto row = RowFromJson(json);
    if (!row.ok()) return row.status();
    if (auto r = ActivityStore(cache_).UpsertRow(*row, 0); !r.ok()) return r.status();
    if (auto s = ActivityStore(cache_).StoreDetail(json); !s.ok()) return s;
    if (auto s = store_.SetSource(id, source); !s.ok()) return s;
    ++report_.added;
  } else {
    // What is held, with this import's keys laid over it: a later export or
    // a file adds to an activity without dropping what it lacks.
    Json merged = ParseJson(*held);
    if (merged.is_discarded() || !merged.is_object()) merged = Json::object();
    const std::string before = merged.dump();
    merged.update(json);
    if (!json.contains("laps") && merged.contains("laps") && !merged["laps"].is_array()) merged.erase("laps");
    if (merged.dump() != before) {
      if (auto s = ActivityStore(cache_).StoreDetail(merged); !s.ok()) return s;
      ++report_.updated;
    }
  }
  if (shaped && shaped->samples > 0) return ActivityStore(cache_).StoreStreams(id, shaped->streams);
  if (!held && manual) return ActivityStore(cache_).MarkNoStreams(id);
  return Status::Ok();
}

std::optional<std::string> Run::GearId(const std::string& gear_name) const {
  if (gear_name.empty()) return std::nullopt;
  for (const auto& [gear, id] : gear_)
    if (ExportGearMatches(gear, gear_name)) return id;
  return std::nullopt;
}

Json Run::ActivityJson(int64_t id, const ExportActivity* row, const Track* track, const Shaped* shaped,
                       const std::string& file_name) {
  const TrackSummary* file = track ? &track->summary : nullptr;
  const PointSummary* points = shaped ? &shaped->summary : nullptr;
  Json j = Json::object();
  j["resource_state"] = 3;
  j["id"] = id;
  if (const auto owner = row ? athlete_id_ : loose_owner_) j["athlete"] = Json{{"id", *owner}, {"resource_state", 1}};

  double start = row ? row->start_date : 0;
  if (!row && file && file->start_time)
    start = *file->start_time;
  else if (!row && points && points->start_time)
    start = *points->start_time;
  const int64_t start_s = static_cast<int64_t>(std::floor(start));
  const int64_t offset = file && file->utc_offset ? static_cast<int64_t>(std::llround(*file->utc_offset))
                                                  : options_.zone.OffsetAt(start_s);
  std::string sport = row && !row->sport_type.empty() ? row->sport_type : file ? file->sport_type : "";
  if (sport.empty()) sport = "Workout";
  std::string name = row ? row->name : file ? file->name : "";
  // Only a file of its own gets Strava's default title: an export row's name
  // is Strava's, empty included (the API gives "" too), and a made-up one
  // would differ from what a later API sync writes.
  if (name.empty() && !row) name = DefaultName(start_s + offset, sport);

  j["name"] = name;
  j["sport_type"] = sport;
  j["type"] = CoarseType(sport);
  j["start_date"] = FormatIsoUtc(start_s);
  j["start_date_local"] = FormatIsoUtc(start_s + offset);
  j["timezone"] = TimezoneText(options_.zone, start_s, offset);
  j["utc_offset"] = static_cast<double>(offset);

  // Each number: the CSV's (Strava's own), else the file's, else the points'.
  auto put = [&](const char* key, std::optional<double> from_row, std::optional<double> from_file,
                 std::optional<double> from_points, bool integer = false) {
    std::optional<double> v = from_row ? from_row : from_file ? from_file : from_points;
    if (!v || !std::isfinite(*v)) return;
    if (integer)
      j[key] = static_cast<int64_t>(std::llround(*v));
    else
      j[key] = *v;
  };
  using O = std::optional<double>;
  const O none;
  put("distance", row ? row->distance : none, file ? file->distance : none, points ? points->distance : none);
  put("moving_time", row ? row->moving_time : none, file ? file->moving_time : none,
      points ? points->moving_time : none, true);
  put("elapsed_time", row ? row->elapsed_time : none, file ? file->elapsed_time : none,
      points ? points->elapsed_time : none, true);
  put("total_elevation_gain", row ? row->elevation_gain : none, file ? file->total_ascent : none,
      points ? points->total_elevation_gain : none);
  put("elev_high", row ? row->elevation_high : none, none, points ? points->elev_high : none);
  put("elev_low", row ? row->elevation_low : none, none, points ? points->elev_low : none);
  put("average_speed", row ? row->average_speed : none, file ? file->average_speed : none,
      points ? points->average_speed : none);
  put("max_speed", row ? row->max_speed : none, file ? file->max_speed : none, points ? points->max_speed : none);
  put("average_heartrate", row ? row->average_heartrate : none, file ? file->average_heartrate : none,
      points ? points->average_heartrate : none);
  put("max_heartrate", row ? row->max_heartrate : none, file ? file->max_heartrate : none,
      points ? points->max_heartrate : none);
  j["has_heartrate"] = j.contains("average_heartrate");
  put("average_cadence", row ? row->average_cadence : none, file ? file->average_cadence : none,
      points ? points->average_cadence : none);
  put("average_watts", row ? row->average_watts : none, file ? file->average_watts : none,
      points ? points->average_watts : none);
  put("max_watts", row ? row->max_watts : none, file ? file->max_watts : none, points ? points->max_watts : none);
  put("weighted_average_watts", row ? row->weighted_average_watts : none, none, none);
  put("kilojoules", row ? row->kilojoules : none, file ? file->kilojoules : none, points ? points->kilojoules : none);
  if (points && points->average_watts) j["device_watts"] = true;
  put("calories", row ? row->calories : none, file ? file->calories : none, none);
  put("average_temp", row ? row->average_temp : none, none, points ? points->average_temp : none);
  put("suffer_score", row ? row->relative_effort : none, none, none);
  put("perceived_exertion", row ? row->perceived_exertion : none, none, none);

  j["commute"] = row && row->commute.value_or(false);
  j["trainer"] = sport.rfind("Virtual", 0) == 0;
  j["manual"] = row ? row->filename.empty() : false;
  if (row && row->flagged) j["flagged"] = *row->flagged;
  if (row && !row->description.empty()) j["description"] = row->description;
  if (row) {
    if (auto gear = GearId(row->gear_name)) j["gear_id"] = *gear;
  }
  if (points && points->start_latlng) {
    j["start_latlng"] = Json::array({points->start_latlng->first, points->start_latlng->second});
    j["end_latlng"] = Json::array({points->end_latlng->first, points->end_latlng->second});
  } else if (track || (row && row->filename.empty())) {
    j["start_latlng"] = Json::array();
    j["end_latlng"] = Json::array();
  }
  if (points || (row && row->filename.empty())) {
    Json map = Json::object();
    map["id"] = "a" + std::to_string(id);
    map["polyline"] = points ? points->polyline : "";
    map["summary_polyline"] = points ? points->summary_polyline : "";
    map["resource_state"] = 3;
    j["map"] = std::move(map);
  }
  if (file && !file->device_name.empty()) j["device_name"] = file->device_name;
  const std::string external = row && !row->filename.empty() ? fs::path(row->filename).filename().string() : file_name;
  if (!external.empty()) j["external_id"] = external;
  if (track) {
    Json laps = LapsJson(*track, static_cast<double>(offset));
    if (!laps.empty()) j["laps"] = std::move(laps);
  }
  return j;
}

}  // namespace

int64_t FileActivityId(uint64_t content_fingerprint) {
  return kFileIdBase + static_cast<int64_t>(content_fingerprint & (static_cast<uint64_t>(kFileIdBase) - 1));
}

Json ImportReportToJson(const ImportReport& r) {
  Json j = Json::object();
  j["ok"] = r.status.ok() && r.failed == 0;
  j["files"] = r.files;
  j["unchanged"] = r.unchanged;
  j["added"] = r.added;
  j["updated"] = r.updated;
  j["attached"] = r.attached;
  j["duplicates"] = r.duplicates;
  j["failed"] = r.failed;
  j["rows"] = r.rows;
  j["warnings"] = r.warnings;
  Json failures = Json::array();
  for (const auto& [where, why] : r.failures) failures.push_back(Json{{"path", where}, {"error", why}});
  j["failures"] = std::move(failures);
  j["error"] = r.status.ok() ? Json(nullptr) : Json(r.status.message());
  j["seconds"] = static_cast<double>(r.finished_ms - r.started_ms) / 1000.0;
  return j;
}

Result<int64_t> ConfiguredOwner(Cache& cache, const Config& config) {
  if (config.import_athlete.empty()) return int64_t{0};
  auto id = AthleteStore(cache).Named(config.import_athlete);
  if (!id.ok()) return Status::Error(ErrorKind::kConfig, config.path + ": [import] athlete: " + id.status().message());
  return id;
}

ImportReport RunImport(Cache& cache, const std::vector<std::string>& paths, const ImportOptions& options,
                       ImportObserver* observer) {
  Run run(cache, options, observer);
  return run.Go(paths);
}

}  // namespace stravafs::import
