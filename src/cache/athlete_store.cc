#include "cache/athlete_store.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include "base/utf8.h"
#include "cache/activity_store.h"

namespace stravafs {

Result<int64_t> PickAthlete(const std::vector<std::pair<int64_t, std::string>>& known, const std::string& text,
                            const std::string& where) {
  if (!text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos)
    return std::stoll(text);
  auto lower = [](std::string v) {
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  const std::string want = lower(text);
  std::vector<int64_t> found;
  for (const auto& [id, full] : known) {
    if (full.empty()) continue;
    const std::string name = lower(full);
    if (name == want || name.substr(0, name.find(' ')) == want) found.push_back(id);
  }
  if (found.size() == 1) return found[0];
  return Status::Error(
      ErrorKind::kUsage,
      "\"" + EscapeControls(text) + "\" " + (found.empty() ? "names no athlete " : "names several athletes ") + where);
}

Status AthleteStore::StoreAthlete(const Json& a) {
  if (!a.is_object() || !a.contains("id") || !FitsInt64(a["id"]))
    return Status::Error(ErrorKind::kServer, "athlete reply has no integer id");
  Stmt* st = cache_.Prepare(
      "INSERT OR REPLACE INTO athletes(id, username, firstname, lastname, city, state, country, sex, "
      "premium, created_at, weight, ftp, json) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
  st->Bind(1, a["id"].get<int64_t>());
  int i = 2;
  for (const char* k : {"username", "firstname", "lastname", "city", "state", "country", "sex"}) {
    auto it = a.find(k);
    if (it != a.end() && it->is_string())
      st->Bind(i, it->get<std::string>());
    else
      st->BindNull(i);
    ++i;
  }
  if (auto it = a.find("premium"); it != a.end() && it->is_boolean())
    st->Bind(9, int64_t{it->get<bool>()});
  else
    st->BindNull(9);
  if (auto it = a.find("created_at"); it != a.end() && it->is_string())
    st->Bind(10, it->get<std::string>());
  else
    st->BindNull(10);
  for (auto [k, col] : {std::pair{"weight", 11}, std::pair{"ftp", 12}}) {
    auto it = a.find(k);
    if (it != a.end() && it->is_number())
      st->Bind(col, it->get<double>());
    else
      st->BindNull(col);
  }
  st->Bind(13, a.dump());
  st->Step();
  return cache_.Check(st->rc(), "storing the athlete");
}

Status AthleteStore::StoreGear(const Json& g, int64_t athlete) {
  if (!g.is_object() || !g.contains("id") || !g["id"].is_string())
    return Status::Error(ErrorKind::kServer, "gear reply has no string id");
  Stmt* st = cache_.Prepare(
      "INSERT OR REPLACE INTO gear(id, name, brand_name, model_name, distance, primary_gear, retired, json, "
      "athlete_id) VALUES(?,?,?,?,?,?,?,?,?)");
  st->Bind(1, g["id"].get<std::string>());
  int i = 2;
  for (const char* k : {"name", "brand_name", "model_name"}) {
    auto it = g.find(k);
    if (it != g.end() && it->is_string())
      st->Bind(i, it->get<std::string>());
    else
      st->BindNull(i);
    ++i;
  }
  if (auto it = g.find("distance"); it != g.end() && it->is_number())
    st->Bind(5, it->get<double>());
  else
    st->BindNull(5);
  for (auto [k, col] : {std::pair{"primary", 6}, std::pair{"retired", 7}}) {
    auto it = g.find(k);
    if (it != g.end() && it->is_boolean())
      st->Bind(col, int64_t{it->get<bool>()});
    else
      st->BindNull(col);
  }
  st->Bind(8, g.dump());
  if (athlete)
    st->Bind(9, athlete);
  else
    st->BindNull(9);
  st->Step();
  return cache_.Check(st->rc(), "storing gear");
}

Result<std::optional<int64_t>> AthleteStore::GearOwner(const std::string& id) {
  Stmt* st = cache_.Prepare("SELECT athlete_id FROM gear WHERE id = ?1 AND athlete_id IS NOT NULL AND athlete_id != 0");
  st->Bind(1, id);
  std::optional<int64_t> owner;
  if (st->Step()) owner = st->Int(0);
  if (auto s = cache_.Check(st->rc() == SQLITE_ROW ? SQLITE_OK : st->rc(), "reading gear"); !s.ok()) return s;
  st->Reset();
  return owner;
}

Status AthleteStore::StoreAthleteZones(const Json& zones, int64_t athlete) {
  struct Zone {
    std::string kind;
    int64_t zone;
    double min;
    std::optional<double> max;
    bool operator==(const Zone&) const = default;
  };
  std::vector<Zone> fresh, held;
  for (auto [key, kind] : {std::pair{"heart_rate", "heartrate"}, std::pair{"power", "power"}}) {
    auto it = zones.find(key);
    if (it == zones.end() || !it->is_object() || !it->contains("zones")) continue;
    int64_t zone = 0;
    for (const Json& z : (*it)["zones"]) {
      const double max = z["max"].get<double>();
      fresh.push_back({kind, ++zone, z["min"].get<double>(), max < 0 ? std::nullopt : std::optional<double>(max)});
    }
  }
  Stmt* q = cache_.Prepare(
      "SELECT kind, zone, min, max FROM athlete_zones WHERE athlete_id=? ORDER BY kind = 'power', kind, zone");
  q->Bind(1, athlete);
  while (q->Step())
    held.push_back(
        {q->Text(0), q->Int(1), q->Real(2), q->IsNull(3) ? std::nullopt : std::optional<double>(q->Real(3))});
  if (auto s = cache_.Check(q->rc(), "reading the athlete's zones"); !s.ok()) return s;
  // Unchanged (the usual daily answer): no write, so the mount's stats/
  // files, which follow every change of this table, are not recomputed.
  if (fresh == held) return Status::Ok();
  Stmt* del = cache_.Prepare("DELETE FROM athlete_zones WHERE athlete_id=?");
  del->Bind(1, athlete);
  del->Step();
  if (auto s = cache_.Check(del->rc(), "storing the athlete's zones"); !s.ok()) return s;
  Stmt* ins = cache_.Prepare("INSERT INTO athlete_zones(athlete_id, kind, zone, min, max) VALUES(?,?,?,?,?)");
  for (const Zone& z : fresh) {
    ins->Bind(1, athlete).Bind(2, z.kind).Bind(3, z.zone).Bind(4, z.min);
    if (z.max)
      ins->Bind(5, *z.max);
    else
      ins->BindNull(5);
    ins->Step();
    if (auto s = cache_.Check(ins->rc(), "storing the athlete's zones"); !s.ok()) return s;
    ins->Reset();
  }
  return Status::Ok();
}

Result<std::vector<std::string>> AthleteStore::MissingGearIds(int64_t athlete) {
  Stmt* st = cache_.Prepare(
      "SELECT DISTINCT gear_id FROM activities WHERE gear_id IS NOT NULL AND gear_id <> '' "
      "AND (?1 = 0 OR athlete_id = ?1) AND gear_id NOT IN (SELECT id FROM gear) ORDER BY gear_id");
  st->Bind(1, athlete);
  std::vector<std::string> ids;
  while (st->Step()) ids.push_back(st->Text(0));
  if (auto s = cache_.Check(st->rc(), "listing gear"); !s.ok()) return s;
  return ids;
}

Result<int64_t> AthleteStore::Purge(int64_t athlete) {
  auto others = Held();
  if (!others.ok()) return others.status();
  std::erase(*others, athlete);
  // The only athlete: everything goes, activities of no known owner and the
  // import log included. Otherwise what names this athlete.
  const bool all = others->empty();
  std::vector<int64_t> ids;
  Stmt* list = cache_.Prepare("SELECT id FROM activities WHERE ?1 OR athlete_id = ?2");
  list->Bind(1, int64_t{all}).Bind(2, athlete);
  while (list->Step()) ids.push_back(list->Int(0));
  if (auto s = cache_.Check(list->rc(), "listing the activities"); !s.ok()) return s;
  list->Reset();
  ActivityStore activities(cache_);
  Stmt* forget = cache_.Prepare("DELETE FROM import_files WHERE activity_id = ?");
  for (int64_t id : ids) {
    if (auto s = activities.DeleteActivity(id); !s.ok()) return s;
    forget->Bind(1, id);
    forget->Step();
    if (auto s = cache_.Check(forget->rc(), "forgetting imported files"); !s.ok()) return s;
    forget->Reset();
  }
  for (const char* sql : {"DELETE FROM athletes WHERE ?1 OR id = ?2", "DELETE FROM gear WHERE ?1 OR athlete_id = ?2",
                          "DELETE FROM athlete_zones WHERE ?1 OR athlete_id = ?2",
                          "DELETE FROM sync_state WHERE ?1 OR athlete_id = ?2", "DELETE FROM import_files WHERE ?1"}) {
    Stmt* st = cache_.Prepare(sql);
    st->Bind(1, int64_t{all}).Bind(2, athlete);  // (import_files' has no ?2: a bind that does nothing)
    st->Step();
    if (auto s = cache_.Check(st->rc(), "purging the athlete"); !s.ok()) return s;
    st->Reset();
  }
  return static_cast<int64_t>(ids.size());
}

std::string AthleteStore::Name(int64_t athlete) {
  Stmt* st = cache_.Prepare(
      "SELECT trim(coalesce(firstname, '') || ' ' || coalesce(lastname, '')) FROM athletes "
      "WHERE id = ?");
  st->Bind(1, athlete);
  std::string name = st->Step() ? st->Text(0) : "";
  st->Reset();
  return name;
}

Result<int64_t> AthleteStore::Named(const std::string& text) {
  auto held = Held();
  if (!held.ok()) return held.status();
  std::vector<std::pair<int64_t, std::string>> known;
  for (int64_t id : *held) known.emplace_back(id, Name(id));
  auto id = PickAthlete(known, text, "in " + cache_.path() + ": give the id (`stravafs status` lists them)");
  if (id.ok() && std::find(held->begin(), held->end(), *id) == held->end())
    return Status::Error(ErrorKind::kUsage, "athlete " + std::to_string(*id) + " is not in " + cache_.path() +
                                                ": import their export first, or sync them (`stravafs sync --athlete " +
                                                std::to_string(*id) + "`)");
  return id;
}

Result<std::vector<int64_t>> AthleteStore::Held() {
  Stmt* st = cache_.Prepare("SELECT id FROM athletes ORDER BY id");
  std::vector<int64_t> ids;
  while (st->Step()) ids.push_back(st->Int(0));
  if (auto s = cache_.Check(st->rc(), "reading the athletes"); !s.ok()) return s;
  return ids;
}

Result<std::optional<int64_t>> AthleteStore::HeldAthlete() {
  Stmt* st = cache_.Prepare("SELECT id FROM athletes ORDER BY id LIMIT 1");
  std::optional<int64_t> id;
  if (st->Step()) id = st->Int(0);
  if (auto s = cache_.Check(st->rc(), "reading the athlete"); !s.ok()) return s;
  st->Reset();
  return id;
}

}  // namespace stravafs
