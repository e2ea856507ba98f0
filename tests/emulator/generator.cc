// generator.cc - deterministic athlete/activity generator (see generator.h).
// Pure functions over explicit Rng objects and constant tables: thread-safe.
#include "generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "timeutil.h"

namespace emu {

using namespace std::string_literals;

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

namespace {

struct Sport {
  const char *sport;
  int weight;         // out of 100
  double dmin, dmax;  // km; 0/0: duration based
  double vmin, vmax;  // m/s
  double emin, emax;  // elevation gain, m per km
  double gps_p;       // GPS track when not on a trainer
  double trainer_p;
  double hr_p;
  double cmin, cmax;      // cadence, 0: none
  double power_p;         // power meter
  double durmin, durmax;  // minutes for duration based sports
  const char *label;      // default name: "Morning <label>"
};

const std::vector<Sport> &sports() {
  static const std::vector<Sport> s = {
      {"Run", 25, 3, 21, 2.6, 4.2, 0, 15, 0.97, 0.08, 0.85, 78, 92, 0.1, 0, 0, "Run"},
      {"TrailRun", 6, 5, 32, 1.8, 3.0, 20, 80, 1, 0, 0.85, 75, 88, 0.05, 0, 0, "Trail Run"},
      {"Ride", 15, 20, 160, 6, 10, 3, 15, 1, 0, 0.75, 80, 95, 0.55, 0, 0, "Ride"},
      {"GravelRide", 5, 20, 110, 5, 8, 5, 15, 1, 0, 0.7, 78, 90, 0.4, 0, 0, "Gravel Ride"},
      {"MountainBikeRide", 4, 10, 55, 3.5, 6, 15, 40, 1, 0, 0.7, 70, 85, 0.3, 0, 0, "Mountain Bike Ride"},
      {"VirtualRide", 6, 15, 70, 7, 10.5, 3, 15, 0.5, 1, 0.8, 82, 95, 1, 0, 0, "Virtual Ride"},
      {"EBikeRide", 2, 15, 60, 5, 8, 5, 20, 1, 0, 0.4, 65, 80, 0.3, 0, 0, "E-Bike Ride"},
      {"Swim", 6, 1, 4, 0.6, 1.2, 0, 0, 0.4, 0, 0.5, 0, 0, 0, 0, 0, "Swim"},
      {"Walk", 8, 2, 10, 1.1, 1.6, 0, 20, 0.95, 0, 0.6, 50, 60, 0, 0, 0, "Walk"},
      {"Hike", 5, 5, 25, 0.8, 1.4, 30, 100, 1, 0, 0.6, 45, 55, 0, 0, 0, "Hike"},
      {"AlpineSki", 2, 10, 50, 4, 12, 50, 200, 1, 0, 0.6, 0, 0, 0, 0, 0, "Alpine Ski"},
      {"NordicSki", 2, 5, 30, 2.5, 5, 5, 25, 1, 0, 0.7, 0, 0, 0, 0, 0, "Nordic Ski"},
      {"Rowing", 2, 5, 15, 3, 4.5, 0, 0, 0.5, 0.5, 0.7, 24, 32, 0.3, 0, 0, "Row"},
      {"Kayaking", 2, 5, 20, 1.5, 2.5, 0, 0, 1, 0, 0.4, 0, 0, 0, 0, 0, "Kayaking"},
      {"WeightTraining", 4, 0, 0, 0, 0, 0, 0, 0, 0, 0.8, 0, 0, 0, 30, 90, "Weight Training"},
      {"Yoga", 2, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0, 0, 0, 20, 75, "Yoga"},
      {"Workout", 2, 0, 0, 0, 0, 0, 0, 0, 0, 0.8, 0, 0, 0, 20, 60, "Workout"},
      {"Padel", 1, 0, 0, 0.5, 0.9, 0, 0, 0, 0, 0.9, 0, 0, 0, 60, 120, "Padel"},
      {"Pickleball", 1, 0, 0, 0.4, 0.8, 0, 0, 0, 0, 0.8, 0, 0, 0, 45, 120, "Pickleball"},
  };
  return s;
}

int sport_index(const std::string &name) {
  const auto &s = sports();
  for (size_t i = 0; i < s.size(); ++i)
    if (name == s[i].sport) return static_cast<int>(i);
  return -1;
}

int pick_sport(Rng &r) {
  int64_t x = r.range(0, 99);
  const auto &s = sports();
  for (size_t i = 0; i < s.size(); ++i) {
    x -= s[i].weight;
    if (x < 0) return static_cast<int>(i);
  }
  return 0;
}

template <class T>
const T &pick(Rng &r, const std::vector<T> &v) {
  return v[static_cast<size_t>(r.range(0, static_cast<int64_t>(v.size()) - 1))];
}

double round_to(double v, double unit) {
  const double inv = std::round(1.0 / unit);  // 10, 100: exact decimal results
  return std::round(v * inv) / inv;
}

// Hostile and multi-script names, each placed on at least one activity.
const std::vector<std::string> &hostile_names() {
  static const std::vector<std::string> n = [] {
    std::string longname = "Ultra ";
    while (longname.size() < 320) longname += "Überlänge-Lauf durch den Schwarzwald 🌲 ";
    return std::vector<std::string>{
        "Morning Run",
        "Sonntagslauf über die Brücke – Grüße an Jürgen",
        "Randonnée à Élancourt : côte très raide, ça grimpe !",
        "富士山ヒルクライム（朝練）",
        "北京长城骑行",
        "Утренняя пробежка по набережной",
        "ركض الصباح في الحديقة",
        "ריצת בוקר בפארק",
        "Run רִיצָה 5k mixed bidi",
        "🏃‍♂️💨 Fast 5k 🔥",
        "👩‍👩‍👧‍👦 Family ride 🇳🇿",
        "🚴🏽‍♀️ Climb 🏔️",
        "../../etc/passwd",
        "a/b\\c",
        "ctrl\x01"s + "char\x7f" + "del",
        "tab\there",
        "line one\nline two",
        "He said \"go\", then ran",
        ".hidden run",
        "-rf Ride",
        "",
        "   ",
        longname,
        "nul\0byte"s,
        "<b>&amp;</b>",
        ".",
        "..",
        "CON",
        "trailing dot and space. ",
        "Cafe\xcc\x81 ride (NFD)",
        "Café ride (NFC)",
        "\xe2\x80\xae"
        "gnp.exe right-to-left override",
        "percent %2F and %00 and %s",
        "semi;colon|pipe*star?question:colon",
        "Zero\xe2\x80\x8bwidth space",
        "\xef\xbb\xbf"
        "BOM run",
        "한강 라이딩",
        "सुबह की दौड़",
        "วิ่งตอนเช้า",
        "Ελληνικό τρέξιμο",
        "İstanbul Boğaz koşusu",
        "Łódź — ślady na śniegu",
    };
  }();
  return n;
}

const std::vector<std::string> &custom_names() {
  static const std::vector<std::string> n = {
      "Tempolauf am Rhein",
      "Intervalle 6×400m",
      "Sortie vélo à l'Alpe d'Huez",
      "Grunewald-Runde",
      "Crème brûlée recovery 🍮",
      "皇居ラン",
      "朝のジョギング",
      "环湖骑行",
      "Пробежка в парке",
      "parkrun 🏃‍♀️‍➡️",
      "Zürich Seeufer",
      "Commute 🚲",
      "Long run w/ Anna & Tom",
      "Recovery spin",
      "Hill repeats x8",
      "Lunch Run 🥪",
      "Sortie longue",
      "Bergtour 🏔️ Zugspitze",
      "Coastal path 🌊",
  };
  return n;
}

const std::vector<std::string> &descriptions() {
  static const std::vector<std::string> d = {
      "Felt strong today.",
      "Legs heavy after yesterday.\nStill happy with the pace.",
      "With the club 🏃‍♀️🏃‍♂️",
      "Windy! 💨",
      "Beautiful sunrise 🌅 — worth getting up for.",
      "Intervals: 6×800m @ 3:45/km, 400m jog",
      "Neue Schuhe getestet. Gut!",
      "Route: home → lake → home",
      "<script>alert(1)</script>",
      "",
  };
  return d;
}

const char *daypart(int local_hour) {
  if (local_hour < 5) return "Night";
  if (local_hour < 11) return "Morning";
  if (local_hour < 14) return "Lunch";
  if (local_hour < 18) return "Afternoon";
  if (local_hour < 22) return "Evening";
  return "Night";
}

enum Special {
  kManual,
  kManualOld,
  kTrainerRide,
  kTreadmill,
  kOnlyMe,
  kOnlyMe2,
  kFollowers,
  kSameMinuteDup,
  kSameMinute,
  kLocalDate,
  kOldStyle,
  kIntNumbers,
  kNoGear,
  kSpecialCount
};

int64_t spread(int64_t k, int64_t K, int64_t N) {
  if (N >= K) return ((2 * k + 1) * N) / (2 * K);
  return k;  // k < N only
}

void set_zone(Activity &a, int zone) {
  const Zone &z = zones()[static_cast<size_t>(zone)];
  a.zone = zone;
  a.timezone = timezone_label(z);
  a.utc_offset = offset_at(z, a.start);
}

std::string hex_digits(Rng &r, int n) {
  static const char *hx = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < n; ++i) s += hx[r.next() & 15];
  return s;
}

std::string dec_digits(Rng &r, int n) {
  std::string s;
  s += static_cast<char>('1' + r.range(0, 8));
  for (int i = 1; i < n; ++i) s += static_cast<char>('0' + r.range(0, 9));
  return s;
}

// Everything but id/start/zone/name: sport statistics, flags, device data.
void fill_stats(Activity &a, Rng &r, int sport, bool force_manual, bool force_trainer) {
  const Sport &sp = sports()[static_cast<size_t>(sport)];
  a.sport_type = sp.sport;
  a.type = type_for_sport(a.sport_type);
  a.manual = force_manual || r.chance(0.04);
  a.trainer = force_trainer || r.chance(sp.trainer_p);
  if (a.sport_type == "VirtualRide") a.trainer = true;
  a.gps = !a.trainer && sp.gps_p > 0 && r.chance(sp.gps_p);
  if (a.sport_type == "VirtualRide") a.gps = r.chance(sp.gps_p);  // Zwift has a fake world
  a.int_numbers = r.chance(0.15);

  double v = sp.vmin > 0 ? r.uniform(sp.vmin, sp.vmax) : 0;
  if (sp.dmax > 0) {
    a.distance = round_to(r.uniform(sp.dmin, sp.dmax) * 1000, 0.1);
    a.moving_time = std::max<int64_t>(60, std::llround(a.distance / v));
  } else {
    a.moving_time = std::llround(r.uniform(sp.durmin, sp.durmax) * 60);
    a.distance = round_to(v * static_cast<double>(a.moving_time), 0.1);
  }
  a.elapsed_time = a.moving_time;
  if (!a.manual && r.chance(0.5)) a.elapsed_time += r.range(0, a.moving_time * 15 / 100);
  a.elev_gain = round_to(a.distance / 1000 * r.uniform(sp.emin, sp.emax), 0.1);
  if (a.int_numbers) a.elev_gain = std::round(a.elev_gain);
  if (!a.gps && a.sport_type != "VirtualRide") a.elev_gain = 0;
  a.base_alt = round_to(a.sport_type == "AlpineSki" ? r.uniform(1200, 2500) : r.uniform(0, 600), 0.1);
  a.max_speed = (a.manual || v == 0) ? 0 : round_to(v * r.uniform(1.3, 2.2), 0.1);

  a.has_hr = !a.manual && r.chance(sp.hr_p);
  if (a.has_hr) {
    a.avg_hr = round_to(r.uniform(110, 165), 0.1);
    a.max_hr = std::round(a.avg_hr + r.uniform(8, 30));
    a.suffer_score = std::round(static_cast<double>(a.moving_time) / 60 * r.uniform(0.3, 1.5));
  }
  a.hr_opt_out = false;
  if (!a.manual && sp.cmax > 0 && r.chance(0.85)) a.avg_cadence = round_to(r.uniform(sp.cmin, sp.cmax), 0.1);
  const bool ride = is_ride_type(a.type);
  if (!a.manual && (r.chance(sp.power_p) || a.sport_type == "VirtualRide")) {
    a.has_power = a.device_watts = true;
    a.avg_watts = round_to(r.uniform(120, 280), 0.1);
    a.weighted_watts = std::round(a.avg_watts * r.uniform(1.02, 1.12));
  } else if (!a.manual && ride) {
    a.has_power = true;  // Strava's estimate: no meter, no weighted average
    a.device_watts = false;
    a.avg_watts = round_to(r.uniform(90, 200), 0.1);
  }
  if (a.has_power) a.kilojoules = round_to(a.avg_watts * static_cast<double>(a.moving_time) / 1000, 0.1);
  if (!a.manual && r.chance(0.45)) {
    a.has_temp = true;
    a.avg_temp = static_cast<int>(r.range(-5, 32));
  }
  a.calories = round_to(static_cast<double>(a.moving_time) / 60 * r.uniform(5, 12), 0.1);

  if (a.type == "Run")
    a.workout_type = r.chance(0.8) ? 0 : static_cast<int>(r.range(1, 3));
  else if (ride)
    a.workout_type = r.chance(0.8) ? 10 : static_cast<int>(r.range(11, 12));

  const std::string &st = a.sport_type;
  if (st == "Ride" || st == "VirtualRide")
    a.gear_id = "b12345";
  else if (st == "GravelRide")
    a.gear_id = "b23456";
  else if (st == "MountainBikeRide")
    a.gear_id = "b34567";
  else if (st == "TrailRun")
    a.gear_id = "g78901";
  else if (st == "Run" || st == "Walk" || st == "Hike")
    a.gear_id = r.chance(0.7) ? "g67890" : "g89012";
  if (a.gear_id && r.chance(0.12)) a.gear_id.reset();

  a.commute = (ride || a.type == "Run") && !a.trainer && r.chance(0.05);
  const double vis = r.unit();
  if (vis < 0.06)
    a.visibility = "only_me";
  else if (vis < 0.11)
    a.visibility = "followers_only";
  else
    a.visibility = "everyone";
  a.is_private = a.visibility == "only_me";

  a.achievement_count = r.chance(0.3) ? static_cast<int>(r.range(1, 6)) : 0;
  a.pr_count = a.type == "Run" && a.achievement_count > 0 ? static_cast<int>(r.range(0, 3)) : 0;
  a.kudos_count = static_cast<int>(r.range(0, 25));
  a.comment_count = r.chance(0.2) ? static_cast<int>(r.range(1, 4)) : 0;
  a.athlete_count = r.chance(0.15) ? static_cast<int>(r.range(2, 8)) : 1;

  if (r.chance(0.3)) a.description = pick(r, descriptions());

  if (!a.manual) {
    static const std::vector<std::string> foot = {"Garmin Forerunner 965", "Garmin fēnix 7X",  "Apple Watch Ultra 2",
                                                  "COROS PACE 3",          "Polar Vantage V3", "Strava iPhone App"};
    static const std::vector<std::string> bike = {"Garmin Edge 840", "Wahoo ELEMNT BOLT", "Hammerhead Karoo 2",
                                                  "Strava Android App"};
    if (st == "VirtualRide")
      a.device_name = "Zwift";
    else if (st == "Rowing" && a.trainer)
      a.device_name = "Concept2 PM5";
    else if (ride)
      a.device_name = pick(r, bike);
    else
      a.device_name = pick(r, foot);
    const std::string &dn = a.device_name;
    if (dn == "Zwift")
      a.external_id = "zwift-activity-" + dec_digits(r, 19) + ".fit";
    else if (dn.rfind("Garmin", 0) == 0)
      a.external_id = "garmin_ping_" + dec_digits(r, 12);
    else if (dn.rfind("Wahoo", 0) == 0)
      a.external_id = dec_digits(r, 13) + ".fit";
    else if (dn.rfind("Strava", 0) == 0)
      a.external_id = hex_digits(r, 8) + "-" + hex_digits(r, 4) + "-" + hex_digits(r, 4) + "-" + hex_digits(r, 4) +
                      "-" + hex_digits(r, 12) + "-activity.fit";
    else
      a.external_id = hex_digits(r, 32) + ".fit";
    a.upload_id = a.id + 1000000000LL + r.range(0, 999);
  }
  // Optional keys without data: mostly left out, sometimes null.
  for (unsigned k = 0; k < kOptKeyCount; ++k) {
    if (r.chance(0.2))
      a.null_mask |= 1u << k;
    else
      a.omit_mask |= 1u << k;
  }
  a.latlng_null = !a.has_gps() && r.chance(0.2);
}

void fill_place(Activity &a, Rng &r) {
  const Zone &z = zones()[static_cast<size_t>(std::max(a.zone, 0))];
  double lat = z.lat, lng = z.lng;
  if (a.sport_type == "VirtualRide") lat = -11.6363, lng = 166.9523;  // Watopia
  a.lat0 = lat + r.uniform(-0.05, 0.05);
  a.lng0 = lng + r.uniform(-0.05, 0.05);
}

std::string default_name(const Activity &a, int sport) {
  const int64_t local = a.start + a.utc_offset;
  int64_t sod = local % 86400;
  if (sod < 0) sod += 86400;
  return std::string(daypart(static_cast<int>(sod / 3600))) + " " + sports()[static_cast<size_t>(sport)].label;
}

int pick_zone(Rng &r) {
  if (r.chance(0.45)) return 0;
  return static_cast<int>(r.range(1, static_cast<int64_t>(zones().size()) - 1));
}

}  // namespace

const std::vector<Gear> &gear_list() {
  static const std::vector<Gear> g = {
      {"b12345", "Canyon Aeroad", "The Red One", "Canyon", "Aeroad CF SLX", "Race bike", true, true, false, 3},
      {"b23456", "Open U.P.", "", "Open", "U.P.", "Gravel — all roads", true, false, false, 5},
      {"b34567", "Santa Cruz Hightower", "Old MTB", "Santa Cruz", "Hightower", "", true, false, true, 1},
      {"g67890", "Nike Pegasus 40", "", "Nike", "Pegasus 40", "Daily trainer 👟", false, true, false, 0},
      {"g78901", "Hoka Speedgoat 5", "Trail", "Hoka", "Speedgoat 5", "", false, false, false, 0},
      {"g89012", "Asics Novablast 4", "", "ASICS", "Novablast 4", "", false, false, true, 0},
  };
  return g;
}

std::string gear_id_for(const std::string &first_athletes_id, int number) {
  if (number == 0) return first_athletes_id;
  return first_athletes_id.substr(0, 1) +
         std::to_string(std::stoll(first_athletes_id.substr(1)) + int64_t{number} * 1000000);
}

std::string first_gear_id(const std::string &id) {
  if (id.size() < 2 || id.find_first_not_of("0123456789", 1) != std::string::npos || id.size() > 18) return id;
  return id.substr(0, 1) + std::to_string(std::stoll(id.substr(1)) % 1000000);
}

std::vector<Gear> gear_list(int number) {
  std::vector<Gear> out = gear_list();
  for (Gear &g : out) g.id = gear_id_for(g.id, number);
  return out;
}

std::string type_for_sport(const std::string &s) {
  if (s == "TrailRun" || s == "VirtualRun") return "Run";
  if (s == "GravelRide" || s == "MountainBikeRide" || s == "EMountainBikeRide") return "Ride";
  if (s == "Padel" || s == "Pickleball" || s == "Badminton" || s == "Squash" || s == "TableTennis" || s == "Tennis" ||
      s == "HighIntensityIntervalTraining")
    return "Workout";
  return s;
}

bool is_foot_sport(const std::string &s) {
  return s == "Run" || s == "TrailRun" || s == "Walk" || s == "Hike" || s == "VirtualRun";
}

bool is_ride_type(const std::string &t) { return t == "Ride" || t == "VirtualRide" || t == "EBikeRide"; }

Generated generate(const GenParams &p) {
  Generated out;
  const int64_t N = std::max<int64_t>(0, p.count);
  Rng r(mix64(p.seed) ^ 0x5eed0000abcdefULL);
  const int64_t ten_years = 315576000;  // 3652.5 days
  const int64_t avg = std::max<int64_t>(1, N > 0 ? std::min<int64_t>(86400, ten_years / N) : 86400);
  out.avg_spacing = avg;

  // Deterministic placement of the forced cases.
  const auto &hn = hostile_names();
  const int64_t H = static_cast<int64_t>(hn.size());
  std::vector<int> name_at(static_cast<size_t>(N), -1);
  for (int64_t k = 0; k < H && k < N; ++k) name_at[static_cast<size_t>(spread(k, H, N))] = static_cast<int>(k);
  std::vector<int> special_at(static_cast<size_t>(N), -1);
  for (int64_t k = 0; k < kSpecialCount && k < N; ++k) {
    int64_t idx = (spread(k, kSpecialCount, N) + (N > 2 * kSpecialCount ? 1 : 0)) % N;
    special_at[static_cast<size_t>(idx)] = static_cast<int>(k);
  }

  out.activities.reserve(static_cast<size_t>(N));
  int64_t id = p.first_id + r.range(0, 999999);
  for (int64_t i = 0; i < N; ++i) {
    Activity a;
    id += 1 + r.range(0, 40000);  // random gaps, ascending
    a.id = id;
    const int64_t slot = p.end - (N - i) * avg;
    a.start = slot + r.range(0, avg - 1);
    const int sp = special_at[static_cast<size_t>(i)];
    int sport = pick_sport(r);
    if (sp == kManual) sport = sport_index("Run");
    if (sp == kManualOld) sport = sport_index("Workout");
    if (sp == kTrainerRide) sport = sport_index("VirtualRide");
    if (sp == kTreadmill) sport = sport_index("Run");
    if (sp == kOldStyle) sport = sport_index("Swim");
    set_zone(a, pick_zone(r));
    fill_stats(a, r, sport, sp == kManual || sp == kManualOld, sp == kTrainerRide || sp == kTreadmill);
    if (sp == kTrainerRide) {
      a.gps = false;
      a.has_hr = true;
      a.avg_hr = 142.5;
      a.max_hr = 171;
      a.avg_cadence = 88.4;
      a.omit_mask &= ~(1u << kAvgHr);
    }
    if (sp == kTreadmill) a.gps = false;
    if (sp == kManualOld) a.latlng_null = true;
    if (sp == kOldStyle) {
      a.gps = false;
      a.latlng_null = true;
    }
    if (sp == kOnlyMe || sp == kOnlyMe2) a.visibility = "only_me", a.is_private = true;
    if (sp == kFollowers) a.visibility = "followers_only", a.is_private = false;
    if (sp == kIntNumbers) {
      a.int_numbers = true;
      a.elev_gain = std::round(a.elev_gain);
      if (a.elev_gain == 0 && a.has_gps()) a.elev_gain = 12;
    }
    if (sp == kNoGear) a.gear_id.reset();
    if (a.gear_id) a.gear_id = gear_id_for(*a.gear_id, p.number);
    fill_place(a, r);
    a.hidden = p.hidden_every > 0 && (i + 1) % p.hidden_every == 0;
    a.seed = mix64(p.seed ^ mix64(static_cast<uint64_t>(a.id)));
    const int ni = name_at[static_cast<size_t>(i)];
    if (ni >= 0)
      a.name = hn[static_cast<size_t>(ni)];
    else if (r.chance(0.15))
      a.name = pick(r, custom_names());
    else if (a.sport_type == "VirtualRide" && r.chance(0.5))
      a.name = "Zwift - Watopia Figure 8 in Watopia";
    else
      a.name = default_name(a, sport);
    out.activities.push_back(std::move(a));
  }

  auto &acts = out.activities;
  auto fits = [&](size_t i, int64_t t) {
    return (i == 0 || acts[i - 1].start < t) && (i + 1 >= acts.size() || t < acts[i + 1].start);
  };
  // Pairs starting within the same minute (second one: a second device).
  for (size_t i = 0; i < acts.size(); ++i) {
    const int sp = special_at[i];
    if ((sp != kSameMinuteDup && sp != kSameMinute) || acts.size() < 2) continue;
    const size_t j = i + 1 < acts.size() ? i : i - 1;
    const int64_t t0 = acts[j].start / 60 * 60 + r.range(0, 9);
    const int64_t t1 = t0 + r.range(5, 45);
    if (!(j == 0 || acts[j - 1].start < t0) || !(j + 2 >= acts.size() || t1 < acts[j + 2].start)) continue;
    acts[j].start = t0;
    acts[j + 1].start = t1;
    set_zone(acts[j], acts[j].zone);
    set_zone(acts[j + 1], acts[j].zone);
    fill_place(acts[j + 1], r);
    if (sp == kSameMinuteDup) acts[j + 1].name = acts[j].name;
  }
  // Local date differs from the UTC date: pick a zone that makes it so.
  for (size_t i = 0; i < acts.size(); ++i) {
    if (special_at[i] != kLocalDate) continue;
    for (size_t zi = 0; zi < zones().size(); ++zi) {
      const int64_t local = acts[i].start + offset_at(zones()[zi], acts[i].start);
      if (local / 86400 != acts[i].start / 86400) {
        set_zone(acts[i], static_cast<int>(zi));
        fill_place(acts[i], r);
        break;
      }
    }
  }
  // Activities right at DST transitions: just after spring-forward, and both
  // occurrences of the repeated hour after fall-back (same local wall clock).
  if (!acts.empty()) {
    const int64_t first = acts.front().start;
    int64_t y0, y1;
    unsigned m, d;
    civil_from_days(first / 86400, y0, m, d);
    civil_from_days(p.end / 86400, y1, m, d);
    for (int zi : {1, 0, 4, 5}) {  // London/LA share Berlin's/NY's instants
      const Zone &z = zones()[static_cast<size_t>(zi)];
      std::vector<int64_t> ts;
      for (int64_t y = y1; y >= y0 && ts.size() < 2; --y) {
        auto tr = transitions(z, y);
        for (auto it = tr.rbegin(); it != tr.rend() && ts.size() < 2; ++it)
          if (*it > first && *it < p.end) ts.push_back(*it);
      }
      for (int64_t T : ts) {
        auto it =
            std::lower_bound(acts.begin(), acts.end(), T, [](const Activity &a, int64_t t) { return a.start < t; });
        size_t j = static_cast<size_t>(it - acts.begin());
        if (j >= acts.size()) j = acts.size() - 1;
        const bool fall_back = offset_at(z, T) < offset_at(z, T - 1);
        if (fall_back && j + 1 < acts.size() && fits(j, T - 1800 + 7) &&
            (j + 2 >= acts.size() || T + 1800 + 7 < acts[j + 2].start)) {
          acts[j].start = T - 1800 + 7;      // 01:30:07 daylight time
          acts[j + 1].start = T + 1800 + 7;  // 01:30:07 standard time
          set_zone(acts[j], zi);
          set_zone(acts[j + 1], zi);
          fill_place(acts[j], r);
          fill_place(acts[j + 1], r);
        } else if (!fall_back && fits(j, T + 600)) {
          acts[j].start = T + 600;  // ten minutes after the clocks jumped
          set_zone(acts[j], zi);
          fill_place(acts[j], r);
        }
      }
    }
  }
  out.next_id = id + 1 + r.range(0, 40000);
  return out;
}

Activity generate_one(uint64_t seed, int64_t id, int64_t start, int64_t index, int64_t hidden_every) {
  Rng r(mix64(seed ^ 0xc0ffee) ^ mix64(static_cast<uint64_t>(id)));
  Activity a;
  a.id = id;
  a.start = start;
  const int sport = pick_sport(r);
  set_zone(a, pick_zone(r));
  fill_stats(a, r, sport, false, false);
  fill_place(a, r);
  a.hidden = hidden_every > 0 && (index + 1) % hidden_every == 0;
  a.seed = mix64(seed ^ mix64(static_cast<uint64_t>(a.id)));
  a.name = default_name(a, sport);
  return a;
}

}  // namespace emu
