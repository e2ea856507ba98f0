// timeutil.cc - see timeutil.h. Pure functions and constant tables only.
#include "timeutil.h"

#include <cstdio>

namespace emu {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t &y, unsigned &m, unsigned &d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

int weekday(int64_t days) {
  int64_t w = (days + 4) % 7;  // 1970-01-01 was a Thursday
  if (w < 0) w += 7;
  return static_cast<int>(w);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string iso_z(int64_t epoch) {
  const int64_t days = floor_div(epoch, 86400);
  const int64_t secs = epoch - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y), m, d,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}

static bool digits(std::string_view s, size_t pos, size_t n, int64_t &out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::optional<int64_t> parse_iso(std::string_view s) {
  int64_t y, mo, d, h = 0, mi = 0, se = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  size_t p = 10;
  int64_t offset = 0;
  if (p < s.size()) {
    if (s[p] != 'T' && s[p] != ' ') return std::nullopt;
    if (!digits(s, p + 1, 2, h) || s.size() < p + 6 || s[p + 3] != ':' || !digits(s, p + 4, 2, mi)) return std::nullopt;
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!digits(s, p + 1, 2, se)) return std::nullopt;
      p += 3;
    }
    if (p < s.size() && s[p] == '.') {
      ++p;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
    }
    if (p < s.size()) {
      if (s[p] == 'Z' || s[p] == 'z') {
        ++p;
      } else if (s[p] == '+' || s[p] == '-') {
        int64_t oh, om = 0;
        if (!digits(s, p + 1, 2, oh)) return std::nullopt;
        size_t q = p + 3;
        if (q < s.size() && s[q] == ':') ++q;
        if (q < s.size()) {
          if (!digits(s, q, 2, om)) return std::nullopt;
          q += 2;
        }
        offset = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
        p = q;
      }
    }
    if (p != s.size() || h > 23 || mi > 59 || se > 60) return std::nullopt;
  }
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + se -
         offset;
}

const std::vector<Zone> &zones() {
  static const std::vector<Zone> z = {
      {"Europe/Berlin", 3600, DstRule::EU, 52.5163, 13.3777, "Germany"},
      {"America/New_York", -18000, DstRule::US, 40.7812, -73.9665, "United States"},
      {"America/Los_Angeles", -28800, DstRule::US, 37.7694, -122.4862, "United States"},
      {"Europe/London", 0, DstRule::EU, 51.5074, -0.1278, "United Kingdom"},
      {"Australia/Sydney", 36000, DstRule::AU, -33.8688, 151.2093, "Australia"},
      {"Pacific/Auckland", 43200, DstRule::NZ, -36.8485, 174.7633, "New Zealand"},
      {"Asia/Kolkata", 19800, DstRule::None, 19.0760, 72.8777, "India"},
      {"Asia/Tokyo", 32400, DstRule::None, 35.6852, 139.7528, "Japan"},
      {"America/Sao_Paulo", -10800, DstRule::BR, -23.5505, -46.6333, "Brazil"},
      {"UTC", 0, DstRule::None, 64.1466, -21.9426, "Iceland"},
      {"Asia/Kathmandu", 20700, DstRule::None, 27.7172, 85.3240, "Nepal"},
  };
  return z;
}

int zone_index(std::string_view name) {
  const auto &z = zones();
  for (size_t i = 0; i < z.size(); ++i)
    if (name == z[i].name) return static_cast<int>(i);
  return -1;
}

static int64_t nth_sunday(int64_t y, unsigned m, int n) {
  const int64_t d1 = days_from_civil(y, m, 1);
  return d1 + (7 - weekday(d1)) % 7 + 7 * (n - 1);
}

static int64_t last_sunday(int64_t y, unsigned m) {
  const int64_t dl = (m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1)) - 1;
  return dl - weekday(dl);
}

// [start, end) of DST in UTC for the zone in the given year. For southern
// zones DST is in force outside [end, start).
static void dst_bounds(const Zone &z, int64_t y, int64_t &start, int64_t &end) {
  const int64_t so = z.std_offset;
  switch (z.rule) {
    case DstRule::US:  // 2nd Sunday March 02:00 std .. 1st Sunday Nov 02:00 DST
      start = nth_sunday(y, 3, 2) * 86400 + 7200 - so;
      end = nth_sunday(y, 11, 1) * 86400 + 7200 - (so + 3600);
      break;
    case DstRule::EU:  // last Sunday March 01:00 UTC .. last Sunday Oct 01:00 UTC
      start = last_sunday(y, 3) * 86400 + 3600;
      end = last_sunday(y, 10) * 86400 + 3600;
      break;
    case DstRule::AU:  // 1st Sunday Oct 02:00 std; ends 1st Sunday April 03:00 DST
      start = nth_sunday(y, 10, 1) * 86400 + 7200 - so;
      end = nth_sunday(y, 4, 1) * 86400 + 10800 - (so + 3600);
      break;
    case DstRule::NZ:  // last Sunday Sept 02:00 std; ends 1st Sunday April 03:00 DST
      start = last_sunday(y, 9) * 86400 + 7200 - so;
      end = nth_sunday(y, 4, 1) * 86400 + 10800 - (so + 3600);
      break;
    case DstRule::None:
    case DstRule::BR:
      start = end = 0;
      break;
  }
}

// Brazil: DST from start day 03:00 UTC to end day 02:00 UTC (tzdata).
struct BrPeriod {
  int sy, sm, sd, ey, em, ed;
};
static const BrPeriod kBrazil[] = {
    {1999, 10, 3, 2000, 2, 27},  {2000, 10, 8, 2001, 2, 18},  {2001, 10, 14, 2002, 2, 17}, {2002, 11, 3, 2003, 2, 16},
    {2003, 10, 19, 2004, 2, 15}, {2004, 11, 2, 2005, 2, 20},  {2005, 10, 16, 2006, 2, 19}, {2006, 11, 5, 2007, 2, 25},
    {2007, 10, 14, 2008, 2, 17}, {2008, 10, 19, 2009, 2, 15}, {2009, 10, 18, 2010, 2, 21}, {2010, 10, 17, 2011, 2, 20},
    {2011, 10, 16, 2012, 2, 26}, {2012, 10, 21, 2013, 2, 17}, {2013, 10, 20, 2014, 2, 16}, {2014, 10, 19, 2015, 2, 22},
    {2015, 10, 18, 2016, 2, 21}, {2016, 10, 16, 2017, 2, 19}, {2017, 10, 15, 2018, 2, 18}, {2018, 11, 4, 2019, 2, 17},
};

static int64_t br_start(const BrPeriod &p) {
  return days_from_civil(p.sy, static_cast<unsigned>(p.sm), static_cast<unsigned>(p.sd)) * 86400 + 3 * 3600;
}
static int64_t br_end(const BrPeriod &p) {
  return days_from_civil(p.ey, static_cast<unsigned>(p.em), static_cast<unsigned>(p.ed)) * 86400 + 2 * 3600;
}

static int64_t utc_year(int64_t t) {
  int64_t y;
  unsigned m, d;
  civil_from_days(floor_div(t, 86400), y, m, d);
  return y;
}

int offset_at(const Zone &z, int64_t utc) {
  if (z.rule == DstRule::None) return z.std_offset;
  if (z.rule == DstRule::BR) {
    for (const BrPeriod &p : kBrazil)
      if (utc >= br_start(p) && utc < br_end(p)) return z.std_offset + 3600;
    return z.std_offset;
  }
  int64_t start, end;
  dst_bounds(z, utc_year(utc), start, end);
  bool dst;
  if (z.rule == DstRule::AU || z.rule == DstRule::NZ)
    dst = utc < end || utc >= start;
  else
    dst = utc >= start && utc < end;
  return z.std_offset + (dst ? 3600 : 0);
}

std::vector<int64_t> transitions(const Zone &z, int64_t year) {
  if (z.rule == DstRule::None) return {};
  if (z.rule == DstRule::BR) {
    std::vector<int64_t> out;
    for (const BrPeriod &p : kBrazil) {
      if (p.ey == year) out.push_back(br_end(p));
      if (p.sy == year) out.push_back(br_start(p));
    }
    return out;
  }
  int64_t start, end;
  dst_bounds(z, year, start, end);
  if (start < end) return {start, end};
  return {end, start};
}

int64_t local_to_utc(const Zone &z, int64_t local) {
  // Try the offset before and after a possible transition; prefer the
  // earlier instant (the first occurrence of an ambiguous wall clock).
  const int64_t a = local - (z.std_offset + 3600);
  if (offset_at(z, a) == z.std_offset + 3600) return a;
  return local - offset_at(z, local - z.std_offset);
}

std::string timezone_label(const Zone &z) {
  const int o = z.std_offset;
  const int a = o < 0 ? -o : o;
  char buf[96];
  std::snprintf(buf, sizeof buf, "(GMT%c%02d:%02d) %s", o < 0 ? '-' : '+', a / 3600, a / 60 % 60, z.name);
  return buf;
}

}  // namespace emu
