#include "mount/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "format/render.h"
#include "model/analytics.h"

namespace stravafs {

namespace {

// One CSV per analytics view, then the two charts.
const std::vector<StatsFile>& Files() {
  static const std::vector<StatsFile> files = [] {
    std::vector<StatsFile> out;
    for (const AnalyticsView& v : kAnalyticsViews) {
      const std::string from = std::string("SELECT * FROM ") + v.name;
      const std::string order = std::string(" ORDER BY ") + v.order_by;
      out.push_back({std::string(v.name) + ".csv", from + order, from + " WHERE athlete_id = ?1" + order});
    }
    out.push_back({"weekly_distance.svg", "", ""});
    out.push_back({"calendar.svg", "", ""});
    return out;
  }();
  return files;
}
constexpr size_t kWeeklySvg = kAnalyticsViews.size(), kCalendarSvg = kAnalyticsViews.size() + 1;

constexpr const char* kColors[] = {"#e4572e", "#2e86ab", "#17bebb", "#a5a58d"};  // per kSportGroups

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string HoursMinutes(double hours) {
  const long minutes = std::lround(hours * 60);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", minutes / 60, minutes % 60);
  return buf;
}

// The smallest "nice" step (1, 2, 2.5 or 5 times a power of ten) that covers
// `max` in at most `ticks` steps.
double NiceStep(double max, int ticks) {
  if (max <= 0) return 1;
  const double raw = max / ticks;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

// The columns from `first` on: 1 leaves out the views' athlete_id.
void AppendRow(const Stmt& st, int first, std::string& out) {
  for (int c = first; c < st.Columns(); ++c) {
    if (c > first) out += ',';
    switch (st.Type(c)) {
      case SQLITE_NULL:
        break;
      case SQLITE_INTEGER:
        out += std::to_string(st.Int(c));
        break;
      case SQLITE_FLOAT:
        out += FormatNumber(st.Real(c));
        break;
      default:
        out += CsvField(st.Text(c));
        break;
    }
  }
  out += "\r\n";
}

// The charts read the activity_facts of their scope: every row, or one
// athlete's, as ?9 is 0 or the athlete.
constexpr const char* kChartScope = "(?9 = 0 OR athlete_id = ?9)";

// The Monday of the newest activity's week, and the Monday `weeks - 1` weeks
// before it: the charts' span. nullopt when there are no activities.
struct Span {
  std::string first_monday, last_monday;
};
Result<std::optional<Span>> ChartSpan(Cache& cache, int weeks, int64_t athlete) {
  Stmt* st =
      cache.Prepare(std::string("SELECT max(week_start), date(max(week_start), printf('-%d days', 7 * (?1 - 1))) "
                                "FROM activity_facts WHERE ") +
                    kChartScope);
  if (!st->prepared()) return cache.Check(st->rc(), "reading the analytics views");
  st->Bind(1, int64_t{weeks}).Bind(9, athlete);
  std::optional<Span> span;
  if (st->Step() && !st->IsNull(0)) span = Span{st->Text(1), st->Text(0)};
  if (auto s = cache.Check(st->rc() == SQLITE_ROW ? SQLITE_OK : st->rc(), "reading the analytics views"); !s.ok())
    return s;
  st->Reset();
  return span;
}

Result<std::string> WeeklyFile(Cache& cache, int64_t athlete) {
  constexpr int kWeeks = 52;
  auto span = ChartSpan(cache, kWeeks, athlete);
  if (!span.ok()) return span.status();
  std::vector<WeekBar> bars;
  std::map<std::string, size_t> at;  // week_start -> bar
  if (*span) {
    // Every week of the span, with its ISO label, as activity_facts computes it.
    Stmt* weeks = cache.Prepare(
        "WITH RECURSIVE w(n, d) AS (SELECT 0, ?1 UNION ALL SELECT n + 1, date(d, '+7 days') FROM w WHERE n < ?2 - 1) "
        "SELECT d, printf('%04d-W%02d', CAST(strftime('%Y', d, '+3 days') AS INTEGER), "
        "(CAST(strftime('%j', d, '+3 days') AS INTEGER) - 1) / 7 + 1) FROM w ORDER BY n");
    if (!weeks->prepared()) return cache.Check(weeks->rc(), "reading the analytics views");
    weeks->Bind(1, (*span)->first_monday).Bind(2, int64_t{kWeeks});
    while (weeks->Step()) {
      at[weeks->Text(0)] = bars.size();
      bars.push_back(WeekBar{weeks->Text(1), {}});
    }
    if (auto s = cache.Check(weeks->rc(), "reading the analytics views"); !s.ok()) return s;
    weeks->Reset();
    // weekly_totals' sums, over the span only (start_date_local is indexed).
    Stmt* st =
        cache.Prepare(std::string("SELECT week_start, sport_group, total(distance_km) FROM activity_facts "
                                  "WHERE start_date_local >= ?1 AND start_date_local < date(?2, '+7 days') AND ") +
                      kChartScope + " GROUP BY week_start, sport_group");
    if (!st->prepared()) return cache.Check(st->rc(), "reading the analytics views");
    st->Bind(1, (*span)->first_monday).Bind(2, (*span)->last_monday).Bind(9, athlete);
    while (st->Step()) {
      auto bar = at.find(st->Text(0));
      if (bar == at.end()) continue;
      const std::string group = st->Text(1);
      for (size_t g = 0; g < kSportGroups.size(); ++g)
        if (group == kSportGroups[g]) bars[bar->second].km[g] += st->Real(2);
    }
    if (auto s = cache.Check(st->rc(), "reading the analytics views"); !s.ok()) return s;
    st->Reset();
  }
  return WeeklyDistanceSvg(bars);
}

Result<std::string> CalendarFile(Cache& cache, int64_t athlete) {
  constexpr int kWeeks = 53;
  auto span = ChartSpan(cache, kWeeks, athlete);
  if (!span.ok()) return span.status();
  std::vector<DayCell> days;
  std::map<std::string, size_t> at;
  if (*span) {
    Stmt* all = cache.Prepare(
        "WITH RECURSIVE d(n, day) AS (SELECT 0, ?1 UNION ALL SELECT n + 1, date(day, '+1 day') FROM d "
        "WHERE n < ?2 - 1) SELECT day FROM d ORDER BY n");
    if (!all->prepared()) return cache.Check(all->rc(), "reading the analytics views");
    all->Bind(1, (*span)->first_monday).Bind(2, int64_t{7 * kWeeks});
    while (all->Step()) {
      at[all->Text(0)] = days.size();
      days.push_back(DayCell{all->Text(0)});
    }
    if (auto s = cache.Check(all->rc(), "reading the analytics views"); !s.ok()) return s;
    all->Reset();
    Stmt* st = cache.Prepare(
        std::string("SELECT local_date, count(*), total(distance_km), total(moving_time_h) FROM activity_facts "
                    "WHERE start_date_local >= ?1 AND start_date_local < date(?2, '+7 days') AND ") +
        kChartScope + " GROUP BY local_date");
    if (!st->prepared()) return cache.Check(st->rc(), "reading the analytics views");
    st->Bind(1, (*span)->first_monday).Bind(2, (*span)->last_monday).Bind(9, athlete);
    while (st->Step()) {
      auto day = at.find(st->Text(0));
      if (day == at.end()) continue;
      DayCell& c = days[day->second];
      c.activities = static_cast<int>(st->Int(1));
      c.km = st->Real(2);
      c.hours = st->Real(3);
    }
    if (auto s = cache.Check(st->rc(), "reading the analytics views"); !s.ok()) return s;
    st->Reset();
  }
  return CalendarSvg(days);
}

constexpr const char* kSvgHead =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
    "font-family=\"sans-serif\" font-size=\"11\">\n"
    "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n";

std::string Head(int w, int h) {
  char buf[512];
  std::snprintf(buf, sizeof buf, kSvgHead, w, h, w, h);
  return buf;
}

}  // namespace

std::span<const StatsFile> StatsFiles() { return Files(); }

std::optional<size_t> StatsFileIndex(std::string_view name) {
  for (size_t i = 0; i < Files().size(); ++i)
    if (name == Files()[i].name) return i;
  return std::nullopt;
}

bool StatsCsvReader::Csv(size_t index) { return index < Files().size() && !Files()[index].query.empty(); }

void StatsCsvReader::Restart() {
  if (st_ != nullptr) st_->Reset();
  st_ = nullptr;
  done_ = false;
}

Result<bool> StatsCsvReader::Next(std::string& out) {
  if (done_) return false;
  if (!Csv(index_)) return Status::Error(ErrorKind::kCache, "no such stats file");
  // athlete_id is every view's first column.
  const int first = scope_.athlete_column ? 0 : 1;
  if (st_ == nullptr) {  // the header: the view's column names
    const StatsFile& file = Files()[index_];
    st_ = cache_.Prepare(scope_.athlete == 0 ? file.query : file.athlete_query);
    if (!st_->prepared()) return cache_.Check(st_->rc(), "reading the analytics views");
    if (scope_.athlete != 0) st_->Bind(1, scope_.athlete);
    for (int c = first; c < st_->Columns(); ++c) {
      if (c > first) out += ',';
      out += CsvField(st_->Name(c));
    }
    out += "\r\n";
    return true;
  }
  if (st_->Step()) {
    AppendRow(*st_, first, out);
    return true;
  }
  done_ = true;
  if (auto s = cache_.Check(st_->rc(), "reading the analytics views"); !s.ok()) return s;
  st_->Reset();
  return false;
}

Result<std::string> RenderStatsFile(Cache& cache, size_t index, const StatsScope& scope) {
  if (index == kWeeklySvg) return WeeklyFile(cache, scope.athlete);
  if (index == kCalendarSvg) return CalendarFile(cache, scope.athlete);
  StatsCsvReader reader(cache, index, scope);
  std::string out;
  for (;;) {
    auto more = reader.Next(out);
    if (!more.ok()) return more.status();
    if (!*more) return out;
  }
}

Result<uint64_t> MeasureStatsFile(Cache& cache, size_t index, const StatsScope& scope, std::string* keep,
                                  size_t keep_limit) {
  if (!StatsCsvReader::Csv(index)) {
    auto bytes = RenderStatsFile(cache, index, scope);
    if (!bytes.ok()) return bytes.status();
    const uint64_t size = bytes->size();
    if (keep && size <= keep_limit) *keep = std::move(*bytes);
    return size;
  }
  StatsCsvReader reader(cache, index, scope);
  uint64_t size = 0;
  std::string row;
  for (;;) {
    row.clear();
    auto more = reader.Next(row);
    if (!more.ok()) return more.status();
    if (!*more) return size;
    size += row.size();
    if (!keep) continue;
    if (size <= keep_limit) {
      keep->append(row);
    } else {
      std::string().swap(*keep);  // too big to hold: counted only
      keep = nullptr;
    }
  }
}

std::string WeeklyDistanceSvg(std::span<const WeekBar> weeks) {
  constexpr int kW = 960, kH = 400, kLeft = 56, kRight = 16, kTop = 56, kBottom = 56;
  constexpr double kPlotW = kW - kLeft - kRight, kPlotH = kH - kTop - kBottom;
  double max = 0;
  for (const WeekBar& w : weeks) {
    double sum = 0;
    for (double km : w.km) sum += km;
    max = std::max(max, sum);
  }
  const double step = NiceStep(max, 5);
  const double top = std::max(step, std::ceil(max / step) * step);
  auto y = [&](double km) { return kTop + kPlotH - km / top * kPlotH; };

  std::string out = Head(kW, kH);
  std::string title = "Weekly distance by sport";
  if (!weeks.empty()) title += ", " + weeks.front().label + " to " + weeks.back().label;
  out += "<text x=\"" + std::to_string(kLeft) + "\" y=\"24\" font-size=\"16\" font-weight=\"bold\">" +
         XmlEscape(title) + "</text>\n";
  // The legend, top right.
  for (size_t g = 0; g < kSportGroups.size(); ++g) {
    const int x = kW - kRight - 70 * static_cast<int>(kSportGroups.size() - g);
    out += "<rect x=\"" + std::to_string(x) + "\" y=\"32\" width=\"10\" height=\"10\" fill=\"" + kColors[g] +
           "\"/><text x=\"" + std::to_string(x + 14) + "\" y=\"41\">" + kSportGroups[g] + "</text>\n";
  }
  // Gridlines and the km axis.
  for (double v = 0; v <= top + step / 2; v += step) {
    const std::string yy = Fmt("%.1f", y(v));
    out += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" + std::to_string(kW - kRight) + "\" y1=\"" + yy +
           "\" y2=\"" + yy + "\" stroke=\"#dddddd\"/>\n";
    out += "<text x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + Fmt("%.1f", y(v) + 4) + "\" text-anchor=\"end\">" +
           Fmt("%g", v) + "</text>\n";
  }
  out += "<text x=\"14\" y=\"" + Fmt("%.1f", kTop + kPlotH / 2) + "\" transform=\"rotate(-90 14 " +
         Fmt("%.1f", kTop + kPlotH / 2) + ")\" text-anchor=\"middle\">km</text>\n";
  // The bars, stacked in kSportGroups order from the axis up.
  const double slot = weeks.empty() ? kPlotW : kPlotW / static_cast<double>(weeks.size());
  for (size_t i = 0; i < weeks.size(); ++i) {
    const double x = kLeft + slot * static_cast<double>(i) + slot * 0.1;
    double base = 0;
    for (size_t g = 0; g < kSportGroups.size(); ++g) {
      const double km = weeks[i].km[g];
      if (km <= 0) continue;
      out += "<rect x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y(base + km)) + "\" width=\"" +
             Fmt("%.1f", slot * 0.8) + "\" height=\"" + Fmt("%.1f", y(base) - y(base + km)) + "\" fill=\"" +
             kColors[g] + "\"><title>" + XmlEscape(weeks[i].label) + " " + kSportGroups[g] + ": " + Fmt("%.1f", km) +
             " km</title></rect>\n";
      base += km;
    }
    if (i % 4 == 0)
      out += "<text x=\"" + Fmt("%.1f", x + slot * 0.4) + "\" y=\"" + std::to_string(kH - kBottom + 16) +
             "\" text-anchor=\"middle\" font-size=\"10\">" + XmlEscape(weeks[i].label) + "</text>\n";
  }
  out += "<line x1=\"" + std::to_string(kLeft) + "\" x2=\"" + std::to_string(kW - kRight) + "\" y1=\"" +
         Fmt("%.1f", y(0)) + "\" y2=\"" + Fmt("%.1f", y(0)) + "\" stroke=\"#333333\"/>\n";
  out += "</svg>\n";
  return out;
}

std::string CalendarSvg(std::span<const DayCell> days) {
  constexpr int kCell = 12, kStep = 14, kLeft = 36, kTop = 52;
  struct Shade {
    double up_to;  // hours
    const char* color;
    const char* label;
  };
  static constexpr Shade kShades[] = {{0, "#ebedf0", "rest"},
                                      {0.5, "#c6e48b", "up to 0:30"},
                                      {1, "#7bc96f", "up to 1:00"},
                                      {2, "#239a3b", "up to 2:00"},
                                      {1e300, "#196127", "more"}};
  const int weeks = static_cast<int>((days.size() + 6) / 7);
  const int w = kLeft + weeks * kStep + 16, h = kTop + 7 * kStep + 40;
  std::string out = Head(w, h);
  std::string title = "Moving time per day";
  if (!days.empty()) title += ", " + days.front().date + " to " + days.back().date;
  out += "<text x=\"" + std::to_string(kLeft) + "\" y=\"22\" font-size=\"16\" font-weight=\"bold\">" +
         XmlEscape(title) + "</text>\n";
  static constexpr const char* kWeekdays[] = {"Mon", "", "Wed", "", "Fri", "", "Sun"};
  for (int d = 0; d < 7; ++d)
    if (*kWeekdays[d])
      out += "<text x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + std::to_string(kTop + d * kStep + 10) +
             "\" text-anchor=\"end\" font-size=\"9\">" + kWeekdays[d] + "</text>\n";
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < days.size(); ++i) {
    const DayCell& c = days[i];
    const int col = static_cast<int>(i / 7), row = static_cast<int>(i % 7);
    const int x = kLeft + col * kStep, y = kTop + row * kStep;
    if (c.date.size() == 10 && c.date.compare(8, 2, "01") == 0) {
      const int month = std::stoi(c.date.substr(5, 2));
      out += "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(kTop - 6) + "\" font-size=\"9\">" +
             kMonths[(month + 11) % 12] + "</text>\n";
    }
    const Shade* shade = &kShades[0];
    if (c.hours > 0)
      for (const Shade& s : kShades)
        if (s.up_to > 0 && c.hours <= s.up_to) {
          shade = &s;
          break;
        }
    out += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\" width=\"" + std::to_string(kCell) +
           "\" height=\"" + std::to_string(kCell) + "\" rx=\"2\" fill=\"" + shade->color + "\"><title>" +
           XmlEscape(c.date) + ": " + std::to_string(c.activities) +
           (c.activities == 1 ? " activity, " : " activities, ") + Fmt("%.1f", c.km) + " km, " + HoursMinutes(c.hours) +
           "</title></rect>\n";
  }
  // The legend, under the grid.
  int x = kLeft;
  const int y = kTop + 7 * kStep + 14;
  for (const Shade& s : kShades) {
    out += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\" width=\"" + std::to_string(kCell) +
           "\" height=\"" + std::to_string(kCell) + "\" rx=\"2\" fill=\"" + s.color + "\"/><text x=\"" +
           std::to_string(x + kCell + 4) + "\" y=\"" + std::to_string(y + 10) + "\" font-size=\"9\">" + s.label +
           "</text>\n";
    x += 86;
  }
  out += "</svg>\n";
  return out;
}

}  // namespace stravafs
