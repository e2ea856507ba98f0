// Tests for import/export_csv.cc: activities.csv in its English, German and
// pre-2019 shapes, warnings for bad cells, profile/bikes/shoes, dates and
// sport types. The headers are the real ones (see export_csv.cc for sources).
#include "import/export_csv.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace stravafs::import {
namespace {

// An English export's header as of 2026 (103 columns).
constexpr const char* kEnglishHeader =
    "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,Distance,"
    "Max Heart Rate,Relative Effort,Commute,Activity Private Note,Activity Gear,Filename,Athlete Weight,"
    "Bike Weight,Elapsed Time,Moving Time,Distance,Max Speed,Average Speed,Elevation Gain,Elevation Loss,"
    "Elevation Low,Elevation High,Max Grade,Average Grade,Average Positive Grade,Average Negative Grade,"
    "Max Cadence,Average Cadence,Max Heart Rate,Average Heart Rate,Max Watts,Average Watts,Calories,"
    "Max Temperature,Average Temperature,Relative Effort,Total Work,Number of Runs,Uphill Time,Downhill Time,"
    "Other Time,Perceived Exertion,Type,Start Time,Weighted Average Power,Power Count,Prefer Perceived Exertion,"
    "Perceived Relative Effort,Commute,Total Weight Lifted,From Upload,Grade Adjusted Distance,"
    "Weather Observation Time,Weather Condition,Weather Temperature,Apparent Temperature,Dewpoint,Humidity,"
    "Weather Pressure,Wind Speed,Wind Gust,Wind Bearing,Precipitation Intensity,Sunrise Time,Sunset Time,"
    "Moon Phase,Bike,Gear,Precipitation Probability,Precipitation Type,Cloud Cover,Weather Visibility,UV Index,"
    "Weather Ozone,Jump Count,Total Grit,Average Flow,Flagged,Average Elapsed Speed,Dirt Distance,"
    "Newly Explored Distance,Newly Explored Dirt Distance,Activity Count,Total Steps,Carbon Saved,Pool Length,"
    "Training Load,Intensity,Average Grade Adjusted Pace,Timer Time,Total Cycles,Recovery,With Pet,Competition,"
    "Long Run,For a Cause,With Kid,Downhill Distance,Total Sets,Total Reps,Media";

// A German export's header (92 columns), as quoted in peers' bug reports.
constexpr const char* kGermanHeader =
    "Aktivit\xC3\xA4ts-ID,Aktivit\xC3\xA4tsdatum,Name der Aktivit\xC3\xA4t,Aktivit\xC3\xA4tsart,"
    "Aktivit\xC3\xA4tsbeschreibung,Verstrichene Zeit,Distanz,Max. Herzfrequenz,Relative Leistung,Pendeln,"
    "Hinweis zur Privatsph\xC3\xA4re f\xC3\xBCr Aktivit\xC3\xA4ten,Aktivit\xC3\xA4tsausr\xC3\xBCstung,Dateiname,"
    "Sportlergewicht,Fahrradgewicht,Verstrichene Zeit,Bewegungszeit,Distanz,H\xC3\xB6"
    "chstgeschw.,"
    "Durchschnittliche Geschwindigkeit,H\xC3\xB6henzunahme,H\xC3\xB6henunterschied,Min. H\xC3\xB6he,"
    "Max. H\xC3\xB6he,Max. Steigung,Durchschnittliche Steigung,Durchschnittliche positive Steigung,"
    "Durchschnittliche negative Steigung,Max. Tritt-/Schrittfrequenz,Durchschnittliche Trittfrequenz,"
    "Max. Herzfrequenz,Durchschnittliche Herzfrequenz,Max. Watt,Durchschnittliche Watt,Kalorien,"
    "Max. Temperatur,Durchschnittliche Temperatur,Relative Leistung,Gesamtarbeit,Anzahl L\xC3\xA4ufe,"
    "Bergaufzeit,Bergabzeit,Andere Zeit,Gef\xC3\xBChlte Anstrengung,Art,Startzeit,"
    "Gewichtete durchschnittliche Leistung,Leistungszahl,Gef\xC3\xBChlte Anstrengung verwenden,"
    "Gef\xC3\xBChlte relative Leistung,Pendeln,Insgesamt gestemmtes Gewicht,Von Upload,"
    "Auf Steigung angepasste Distanz,Wetterbeobachtungszeit,Wetterlage,Wetter: Temperatur,"
    "Scheinbare Temperatur,Taupunkt,Luftfeuchtigkeit,Wetter: Druck,Windgeschwindigkeit,Windb\xC3\xB6"
    "e,"
    "Windrichtung,Niederschlagsintensit\xC3\xA4t,Sonnenaufgangszeit,Sonnenuntergangszeit,Mondphase,Fahrrad,"
    "Ausr\xC3\xBCstung,Niederschlagswahrscheinlichkeit,Niederschlagsart,Wolkendecke,Wetter: Sichtbarkeit,"
    "UV-Index,Wetter: Ozon,Sprunganzahl,Schwierigkeit insgesamt,Durchschnittlicher Flow,Markiert,"
    "Durchschnittsgeschwindigkeit im Aufzeichnungszeitraum,Auf Schotter zur\xC3\xBC"
    "ckgelegte Distanz,"
    "Neu getestete Distanz,Neu getestete Schotterdistanz,Aktivit\xC3\xA4tsanzahl,Schritte insgesamt,"
    "Eingesparte CO\xE2\x82\x82-Emissionen,Pool-L\xC3\xA4nge,Trainingsbelastung,Intensit\xC3\xA4t,"
    "Durchschnittliches auf Steigung angepasstes Tempo,Medien";

std::vector<std::string> SplitHeader(std::string_view header) {
  std::vector<std::string> names;
  size_t start = 0;
  for (;;) {
    const size_t comma = header.find(',', start);
    names.emplace_back(header.substr(start, comma - start));
    if (comma == std::string_view::npos) return names;
    start = comma + 1;
  }
}

std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// A row for `header`, its cells given as {{name, occurrence}, value}; every
// other cell is empty.
using Cells = std::map<std::pair<std::string, int>, std::string>;
std::string Row(std::string_view header, const Cells& cells, const char* eol = "\r\n") {
  std::map<std::string, int> seen;
  std::string line;
  bool first = true;
  for (const std::string& name : SplitHeader(header)) {
    const int occurrence = seen[name]++;
    if (!first) line += ',';
    first = false;
    const auto it = cells.find({name, occurrence});
    if (it != cells.end()) line += CsvField(it->second);
  }
  return line + eol;
}

const ExportActivity* ById(const ExportActivities& all, int64_t id) {
  for (const ExportActivity& a : all.activities) {
    if (a.id == id) return &a;
  }
  return nullptr;
}

bool HasWarning(const std::vector<ExportWarning>& warnings, int64_t line, std::string_view column,
                std::string_view text) {
  for (const ExportWarning& w : warnings) {
    if (w.line == line && w.column == column && w.message.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("activities.csv, English: every column by name and occurrence", "[export_csv]") {
  const std::string header = kEnglishHeader;
  REQUIRE(SplitHeader(header).size() == 103);
  const std::string description =
      "Felt \"great\", legs fine \xF0\x9F\x8F\x83\xF0\x9F\x94\xA5\r\n"
      "2nd line, with a comma\r\n"
      "fueled every 30'";
  std::string csv = "\xEF\xBB\xBF" + header + "\r\n";
  csv += Row(header, {{{"Activity ID", 0}, "7412369851"},
                      {{"Activity Date", 0}, "May 29, 2022, 3:53:35 PM"},
                      {{"Activity Name", 0}, "Morning Run, easy"},
                      {{"Activity Type", 0}, "Run"},
                      {{"Activity Description", 0}, description},
                      {{"Elapsed Time", 0}, "3932"},
                      {{"Distance", 0}, "10.52"},
                      {{"Max Heart Rate", 0}, "171"},
                      {{"Relative Effort", 0}, "88"},
                      {{"Commute", 0}, "false"},
                      {{"Activity Gear", 0}, "Saucony Endorphin Speed 3"},
                      {{"Filename", 0}, "activities/7898765432.fit.gz"},
                      {{"Athlete Weight", 0}, "72.0"},
                      {{"Elapsed Time", 1}, "3932.0"},
                      {{"Moving Time", 0}, "3810.0"},
                      {{"Distance", 1}, "10521.3"},
                      {{"Max Speed", 0}, "4.512"},
                      {{"Average Speed", 0}, "2.761"},
                      {{"Elevation Gain", 0}, "84.2"},
                      {{"Elevation Loss", 0}, "83.9"},
                      {{"Elevation Low", 0}, "-2.4"},
                      {{"Elevation High", 0}, "41.0"},
                      {{"Max Grade", 0}, "12.5"},
                      {{"Average Grade", 0}, "0.003"},
                      {{"Max Cadence", 0}, "96.0"},
                      {{"Average Cadence", 0}, "84.5"},
                      {{"Max Heart Rate", 1}, "171.0"},
                      {{"Average Heart Rate", 0}, "148.2"},
                      {{"Calories", 0}, "712.0"},
                      {{"Average Temperature", 0}, "18.0"},
                      {{"Relative Effort", 1}, "88.0"},
                      {{"Perceived Exertion", 0}, "6.0"},
                      {{"Commute", 1}, "0.0"},
                      {{"From Upload", 0}, "1.0"},
                      {{"Flagged", 0}, "0.0"},
                      {{"Total Steps", 0}, "11234.0"}});
  csv += Row(header, {{{"Activity ID", 0}, "7412369852"},
                      {{"Activity Date", 0}, "Oct 6, 2022, 11:19:20\xE2\x80\xAFPM"},  // U+202F before PM
                      {{"Activity Name", 0}, "Zwift - Watopia"},
                      {{"Activity Type", 0}, "Virtual Ride"},
                      {{"Elapsed Time", 0}, "3600"},
                      {{"Distance", 0}, "32.10"},
                      {{"Commute", 0}, "true"},
                      {{"Activity Gear", 0}, "Trainer bike"},
                      {{"Filename", 0}, "activities/7898765433.fit.gz"},
                      {{"Elapsed Time", 1}, "3600.0"},
                      {{"Moving Time", 0}, "3590.0"},
                      {{"Distance", 1}, "32104.0"},
                      {{"Max Watts", 0}, "512.0"},
                      {{"Average Watts", 0}, "210.0"},
                      {{"Weighted Average Power", 0}, "221.0"},
                      {{"Total Work", 0}, "753900.0"},  // J: 210 W x 3590 s
                      {{"Commute", 1}, "1.0"},
                      {{"Flagged", 0}, "1.0"}});
  // A manual activity: no file, no precise columns at all.
  csv += Row(header,
             {{{"Activity ID", 0}, "7412369853"},
              {{"Activity Date", 0}, "Jan 3, 2019, 12:15:00 AM"},
              {{"Activity Name", 0}, "Gym"},
              {{"Activity Type", 0}, "Weight Training"},
              {{"Elapsed Time", 0}, "2700"},
              {{"Distance", 0}, "0.00"},
              {{"Commute", 0}, "false"}},
             "");  // and no line end after the last row

  const Result<ExportActivities> got = ReadExportActivities(csv);
  REQUIRE(got.ok());
  const ExportActivities& all = *got;
  CHECK(all.language == ExportLanguage::kEnglish);
  REQUIRE(all.activities.size() == 3);
  for (const ExportWarning& w : all.warnings) INFO(w.ToString());
  CHECK(all.warnings.empty());

  const ExportActivity& run = all.activities[0];
  CHECK(run.line == 2);
  CHECK(run.id == 7412369851);
  CHECK(run.start_date == 1653839615);
  CHECK(run.name == "Morning Run, easy");
  CHECK(run.activity_type == "Run");
  CHECK(run.sport_type == "Run");
  CHECK(run.description == description);
  CHECK(run.gear_name == "Saucony Endorphin Speed 3");
  CHECK(run.filename == "activities/7898765432.fit.gz");
  CHECK(run.elapsed_time == 3932);
  CHECK(run.moving_time == 3810);
  CHECK(run.distance == Approx(10521.3));  // the meters column, not 10.52 km
  CHECK(run.max_speed == Approx(4.512));
  CHECK(run.average_speed == Approx(2.761));
  CHECK(run.elevation_gain == Approx(84.2));
  CHECK(run.elevation_loss == Approx(83.9));
  CHECK(run.elevation_low == Approx(-2.4));
  CHECK(run.elevation_high == Approx(41.0));
  CHECK(run.max_grade == Approx(12.5));
  CHECK(run.average_grade == Approx(0.003));
  CHECK(run.max_cadence == 96);
  CHECK(run.average_cadence == Approx(84.5));
  CHECK(run.max_heartrate == 171);
  CHECK(run.average_heartrate == Approx(148.2));
  CHECK(run.calories == 712);
  CHECK(run.average_temp == 18);
  CHECK(run.relative_effort == 88);
  CHECK(run.perceived_exertion == 6);
  CHECK(run.commute == false);
  CHECK(run.flagged == false);
  CHECK_FALSE(run.max_watts);
  CHECK_FALSE(run.kilojoules);

  const ExportActivity& ride = all.activities[1];
  CHECK(ride.line == 5);  // the description above spans three lines
  CHECK(ride.start_date == 1665098360);
  CHECK(ride.sport_type == "VirtualRide");
  CHECK(ride.distance == Approx(32104));
  CHECK(ride.max_watts == 512);
  CHECK(ride.average_watts == 210);
  CHECK(ride.weighted_average_watts == 221);
  CHECK(ride.kilojoules == Approx(753.9));
  CHECK(ride.commute == true);
  CHECK(ride.flagged == true);
  CHECK(ride.description.empty());

  const ExportActivity& gym = all.activities[2];
  CHECK(gym.start_date == 1546474500);  // 12:15 AM is 00:15
  CHECK(gym.sport_type == "WeightTraining");
  CHECK(gym.filename.empty());
  CHECK(gym.elapsed_time == 2700);  // from the display column when the precise one is empty
  CHECK(gym.distance == 0);
  CHECK_FALSE(gym.moving_time);
  CHECK(gym.commute == false);
}

TEST_CASE("activities.csv, English: the column set may shrink or reorder", "[export_csv]") {
  // An export from mid-2019: one Distance, in km, and no precise columns.
  const std::string csv =
      "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,Distance,"
      "Commute,Activity Gear,Filename\n"
      "1836776031,\"Sep 12, 2018, 3:02:23 PM\",Evening Ride,Ride,,783,3.68,true,Merida,"
      "activities/1836776031.gpx\n"
      "1836776032,\"Sep 12, 2018, 5:00:00 PM\",Pool,Swim,,1800,\"1,500\",false,,\n";
  const Result<ExportActivities> got = ReadExportActivities(csv);
  REQUIRE(got.ok());
  REQUIRE(got->activities.size() == 2);
  const ExportActivity& ride = got->activities[0];
  CHECK(ride.start_date == 1536764543);
  CHECK(ride.distance == Approx(3680));
  CHECK(ride.elapsed_time == 783);
  CHECK(ride.commute == true);
  CHECK(ride.gear_name == "Merida");
  CHECK(got->activities[1].distance == Approx(1500));  // swims are shown in meters
  CHECK(got->warnings.empty());

  // Reordered columns resolve the same.
  const std::string reordered =
      "Distance,Activity Type,Activity Date,Distance,Activity ID\n"
      "5.00,Run,\"Sep 12, 2018, 3:02:23 PM\",5003.5,42\n";
  const Result<ExportActivities> r = ReadExportActivities(reordered);
  REQUIRE(r.ok());
  REQUIRE(r->activities.size() == 1);
  CHECK(r->activities[0].id == 42);
  CHECK(r->activities[0].distance == Approx(5003.5));
}

TEST_CASE("activities.csv: the short header of exports before mid-2019", "[export_csv]") {
  const std::string csv =
      "id,date,name,type,description,elapsed_time,distance,commute,gear,filename\n"
      "1836776031,2018-09-12 15:02:23,Evening Ride,Ride,,783,3681.0,true,Merida,activities/1836776031.gpx\n"
      "83514080,2010-05-22 19:39:29,Old one,Ride,\"multi\nline\",4000,25000.5,false,,activities/83514080.gpx.gz\n";
  const Result<ExportActivities> got = ReadExportActivities(csv);
  REQUIRE(got.ok());
  CHECK(got->language == ExportLanguage::kLegacy);
  REQUIRE(got->activities.size() == 2);
  const ExportActivity& a = got->activities[0];
  CHECK(a.id == 1836776031);
  CHECK(a.start_date == 1536764543);
  CHECK(a.distance == Approx(3681));  // meters in this format
  CHECK(a.elapsed_time == 783);
  CHECK(a.commute == true);
  CHECK(a.gear_name == "Merida");
  CHECK(a.sport_type == "Ride");
  CHECK(a.filename == "activities/1836776031.gpx");
  CHECK(got->activities[1].description == "multi\nline");
  CHECK(got->warnings.empty());
}

TEST_CASE("activities.csv, German: names, day-first dates and decimal commas", "[export_csv]") {
  const std::string header = kGermanHeader;
  REQUIRE(SplitHeader(header).size() == 92);
  const std::string id = "Aktivit\xC3\xA4ts-ID";
  const std::string date = "Aktivit\xC3\xA4tsdatum";
  const std::string name = "Name der Aktivit\xC3\xA4t";
  const std::string type = "Aktivit\xC3\xA4tsart";
  std::string csv = header + "\n";
  csv += Row(header,
             {{{id, 0}, "12345"},
              {{date, 0}, "20.09.2026, 14:12:12"},
              {{name, 0}, "Nachmittagslauf"},
              {{type, 0}, "Lauf"},
              {{"Verstrichene Zeit", 0}, "9999"},
              {{"Verstrichene Zeit", 1}, "3000.0"},
              {{"Bewegungszeit", 0}, "2950.0"},
              {{"Distanz", 0}, "10,20"},
              {{"Distanz", 1}, "10203.7"},
              {{"H\xC3\xB6henzunahme", 0}, "100.5"},
              {{"Durchschnittliche Herzfrequenz", 0}, "140.0"},
              {{"Max. Herzfrequenz", 0}, "999"},
              {{"Max. Herzfrequenz", 1}, "160.0"},
              {{"Durchschnittliche Geschwindigkeit", 0}, "3.459"},
              {{"Kalorien", 0}, "650,5"},  // a lone comma in a precise column: decimal
              {{"Pendeln", 0}, "false"},
              {{"Pendeln", 1}, "1.0"},
              {{"Aktivit\xC3\xA4tsausr\xC3\xBCstung", 0}, "Brooks Ghost 15"},
              {{"Dateiname", 0}, "activities/12345.gpx"}},
             "\n");
  csv += Row(header,
             {{{id, 0}, "12346"},
              {{date, 0}, "21.09.2026, 07:00:00"},
              {{name, 0}, "Pendeln"},
              {{type, 0}, "Radfahrt"},
              {{"Distanz", 0}, "12,35"}},  // display only: km with a decimal comma
             "\n");
  csv += Row(header,
             {{{id, 0}, "12347"},
              {{date, 0}, "22.09.2026, 18:30:00"},
              {{name, 0}, "Becken"},
              {{type, 0}, "Schwimmen"},
              {{"Distanz", 0}, "1.500"}},  // display only: meters with a thousands dot
             "\n");
  csv +=
      Row(header, {{{id, 0}, "12348"}, {{date, 0}, "23.09.2026, 18:30:00"}, {{type, 0}, "Virtuelle Radfahrt"}}, "\n");

  const Result<ExportActivities> got = ReadExportActivities(csv);
  REQUIRE(got.ok());
  CHECK(got->language == ExportLanguage::kGerman);
  REQUIRE(got->activities.size() == 4);
  for (const ExportWarning& w : got->warnings) INFO(w.ToString());
  CHECK(got->warnings.empty());

  const ExportActivity& run = got->activities[0];
  CHECK(run.id == 12345);
  CHECK(run.start_date == 1789913532);
  CHECK(run.name == "Nachmittagslauf");
  CHECK(run.sport_type == "Run");
  CHECK(run.elapsed_time == 3000);
  CHECK(run.moving_time == 2950);
  CHECK(run.distance == Approx(10203.7));
  CHECK(run.elevation_gain == Approx(100.5));
  CHECK(run.average_heartrate == 140);
  CHECK(run.max_heartrate == 160);
  CHECK(run.average_speed == Approx(3.459));
  CHECK(run.calories == Approx(650.5));
  CHECK(run.commute == true);
  CHECK(run.gear_name == "Brooks Ghost 15");
  CHECK(run.filename == "activities/12345.gpx");

  CHECK(got->activities[1].sport_type == "Ride");
  CHECK(got->activities[1].distance == Approx(12350));
  CHECK(got->activities[2].sport_type == "Swim");
  CHECK(got->activities[2].distance == Approx(1500));
  CHECK(got->activities[3].sport_type == "VirtualRide");
}

TEST_CASE("activities.csv: an unknown header is an error that names it", "[export_csv]") {
  const Result<ExportActivities> fr = ReadExportActivities(
      "ID de l'activit\xC3\xA9,Date de l'activit\xC3\xA9,Nom de "
      "l'activit\xC3\xA9,Type,Description,Temps,Distance\n1,x,y,z,,,\n");
  REQUIRE_FALSE(fr.ok());
  const std::string& m = fr.status().message();
  CHECK(m.find("activities.csv: unknown header (first columns: ID de l'activit\xC3\xA9, ") == 0);
  CHECK(m.find(", ...); stravafs reads English and German exports") != std::string::npos);

  const Result<ExportActivities> empty = ReadExportActivities("");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message().find("empty") != std::string::npos);

  const Result<ExportActivities> no_date = ReadExportActivities("Activity ID,Activity Name\n1,x\n");
  REQUIRE_FALSE(no_date.ok());
  CHECK(no_date.status().message().find("\"Activity Date\"") != std::string::npos);

  const Result<ExportActivities> broken =
      ReadExportActivities("Activity ID,Activity Date,Activity Name\n1,\"Sep 12, 2018, 3:02:23 PM\",\"open\n");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.status().message().find("activities.csv: line 2") == 0);
}

TEST_CASE("activities.csv: bad cells become warnings, unusable rows are skipped", "[export_csv]") {
  std::string runners15;
  for (int i = 0; i < 15; ++i) runners15 += "\xF0\x9F\x8F\x83";
  const std::string csv =
      std::string() +
      "Activity ID,Activity Date,Activity Name,Activity Type,Elapsed Time,Distance,Moving Time,Distance,"
      "Max Speed,Average Heart Rate,Commute\n"
      "1,\"Sep 12, 2018, 3:02:23 PM\",Fine,Run,600,1.00,590,1000.0,fast,140,maybe\n"
      ",\"Sep 12, 2018, 3:02:23 PM\",No id,Run,,,,,,,\n"
      "abc,\"Sep 12, 2018, 3:02:23 PM\",Bad id,Run,,,,,,,\n"
      "4,yesterday,Bad date,Run,,,,,,,\n"
      "5,\"Feb 30, 2018, 3:02:23 PM\",Impossible date,Run,,,,,,,\n"
      "6,\"Sep 12, 2018, 3:02:23 PM\",Short row,Quidditch\n"
      "7,\"Sep 12, 2018, 3:02:23 PM\",Odd,Run,1:02:03,,,n/a,1e400,NaN,1.0\n"
      "8,\"Sep 12, 2018, 3:02:23 PM\",Neg,Run,-5,,,,a" +
      runners15 + ",,\n";
  const Result<ExportActivities> got = ReadExportActivities(csv);
  REQUIRE(got.ok());
  REQUIRE(got->activities.size() == 4);
  const std::vector<ExportWarning>& w = got->warnings;

  const ExportActivity* fine = ById(*got, 1);
  REQUIRE(fine);
  CHECK(fine->distance == 1000);
  CHECK_FALSE(fine->max_speed);
  CHECK(fine->average_heartrate == 140);
  CHECK_FALSE(fine->commute);
  CHECK(HasWarning(w, 2, "Max Speed", "not a number: \"fast\""));
  CHECK(HasWarning(w, 2, "Commute", "not true or false: \"maybe\""));

  CHECK(HasWarning(w, 3, "Activity ID", "row skipped"));
  CHECK(HasWarning(w, 4, "Activity ID", "\"abc\""));
  CHECK(HasWarning(w, 5, "Activity Date", "date not understood: \"yesterday\"; row skipped"));
  CHECK(HasWarning(w, 6, "Activity Date", "row skipped"));

  const ExportActivity* short_row = ById(*got, 6);
  REQUIRE(short_row);
  CHECK(short_row->name == "Short row");
  CHECK(short_row->sport_type == "Quidditch");  // English names compact
  CHECK(HasWarning(w, 7, "", "the row has 4 fields, the header 11"));

  const ExportActivity* odd = ById(*got, 7);
  REQUIRE(odd);
  CHECK(odd->elapsed_time == 3723);  // h:mm:ss
  CHECK_FALSE(odd->distance);
  CHECK_FALSE(odd->max_speed);
  CHECK_FALSE(odd->average_heartrate);
  CHECK(odd->commute == true);
  CHECK(HasWarning(w, 8, "Distance", "\"n/a\""));
  CHECK(HasWarning(w, 8, "Max Speed", "\"1e400\""));
  CHECK(HasWarning(w, 8, "Average Heart Rate", "\"NaN\""));

  const ExportActivity* neg = ById(*got, 8);
  REQUIRE(neg);
  CHECK_FALSE(neg->elapsed_time);
  CHECK(HasWarning(w, 9, "Elapsed Time", "\"-5\""));
  // A long cell is cut on a character boundary.
  std::string runners9;
  for (int i = 0; i < 9; ++i) runners9 += "\xF0\x9F\x8F\x83";
  CHECK(HasWarning(w, 9, "Max Speed", "not a number: \"a" + runners9 + "...\""));

  CHECK(w.front().ToString() == "line 2: Max Speed: not a number: \"fast\"");
}

TEST_CASE("activities.csv: numbers that overflow to infinity are bad cells", "[export_csv][bug]") {
  // fuzz_export_csv: "1e308:00" summed to an infinite duration and a display
  // distance of 1e306 km to infinite meters (tests/fuzz/regress/export_csv).
  const Result<ExportActivities> got = ReadExportActivities(
      "Activity ID,Activity Date,Elapsed Time,Distance\n"
      "1,\"Sep 12, 2018, 3:02:23 PM\",1e308:00,1e306\n"
      "2,\"Sep 12, 2018, 3:02:23 PM\",1:00,5.5\n");
  REQUIRE(got.ok());
  REQUIRE(got->activities.size() == 2);
  const ExportActivity* huge = ById(*got, 1);
  REQUIRE(huge);
  CHECK_FALSE(huge->elapsed_time);
  CHECK_FALSE(huge->distance);
  CHECK(HasWarning(got->warnings, 2, "Elapsed Time", "\"1e308:00\""));
  CHECK(HasWarning(got->warnings, 2, "Distance", "not a distance: \"1e306\""));
  const ExportActivity* fine = ById(*got, 2);
  REQUIRE(fine);
  CHECK(fine->elapsed_time == 60);
  CHECK(fine->distance == 5500);
}

TEST_CASE("activities.csv: an unknown German activity type leaves sport_type empty, with a warning", "[export_csv]") {
  const std::string csv =
      "Aktivit\xC3\xA4ts-ID,Aktivit\xC3\xA4tsdatum,Aktivit\xC3\xA4tsart\n"
      "9,\"01.02.2024, 10:00:00\",Bogenschie\xC3\x9F"
      "en\n";
  const Result<ExportActivities> got = ReadExportActivities(csv);
  REQUIRE(got.ok());
  REQUIRE(got->activities.size() == 1);
  CHECK(got->activities[0].sport_type.empty());
  CHECK(got->activities[0].activity_type ==
        "Bogenschie\xC3\x9F"
        "en");
  CHECK(HasWarning(got->warnings, 2, "Aktivit\xC3\xA4tsart", "unknown activity type"));
}

TEST_CASE("ExportActivityReader streams rows from chunks", "[export_csv]") {
  std::string csv = "Activity ID,Activity Date,Activity Name,Activity Description\n";
  for (int i = 1; i <= 50; ++i) {
    csv += std::to_string(i) + ",\"Sep 12, 2018, 3:02:23 PM\",\"Run " + std::to_string(i) + "\",\"two\nlines\"\n";
  }
  size_t pos = 0;
  Result<ExportActivityReader> reader = ExportActivityReader::Open(CsvReader([&]() -> Result<std::string_view> {
    const std::string_view chunk = std::string_view(csv).substr(pos, 7);
    pos += chunk.size();
    return chunk;
  }));
  REQUIRE(reader.ok());
  ExportActivity a;
  int64_t n = 0;
  for (;;) {
    Result<bool> got = reader->Next(a);
    REQUIRE(got.ok());
    if (!*got) break;
    ++n;
    CHECK(a.id == n);
    CHECK(a.line == 2 * n);
    CHECK(a.description == "two\nlines");
  }
  CHECK(n == 50);
}

TEST_CASE("ParseExportDate: the formats exports write, as UTC", "[export_csv]") {
  CHECK(ParseExportDate("May 29, 2022, 3:53:35 PM") == 1653839615);
  CHECK(ParseExportDate("May 29, 2022, 3:53:35\xC2\xA0PM") == 1653839615);
  CHECK(ParseExportDate("May 29, 2022, 3:53:35\xE2\x80\xAFPM") == 1653839615);
  CHECK(ParseExportDate(" May 29, 2022 , 3:53:35 pm ") == 1653839615);
  CHECK(ParseExportDate("September 29, 2022, 3:53:35 PM") == 1664466815);
  CHECK(ParseExportDate("Jan 3, 2019, 12:15:00 AM") == 1546474500);
  CHECK(ParseExportDate("Jan 3, 2019, 12:15:00 PM") == 1546474500 + 12 * 3600);
  CHECK(ParseExportDate("29 May 2022, 15:53:35") == 1653839615);
  CHECK(ParseExportDate("29.05.2022, 15:53:35") == 1653839615);
  CHECK(ParseExportDate("29.05.2022 15:53:35") == 1653839615);
  CHECK(ParseExportDate("29. Mai 2022, 15:53:35") == 1653839615);
  CHECK(ParseExportDate("1. M\xC3\xA4rz 2022, 08:00:00") == 1646121600);
  CHECK(ParseExportDate("2018-09-12 15:02:23") == 1536764543);
  CHECK(ParseExportDate("2024-06-01T06:00:00Z") == 1717221600);
  CHECK(ParseExportDate("Feb 29, 2024, 12:00:00 PM") == 1709208000);
  CHECK(ParseExportDate("May 29, 2022, 3:53 PM") == 1653839580);

  for (const char* bad : {"", "yesterday", "Feb 29, 2023, 12:00:00 PM", "May 32, 2022, 3:53:35 PM",
                          "May 29, 2022, 13:53:35 PM", "May 29, 2022, 0:53:35 AM", "29.13.2022, 15:53:35",
                          "29/05/2022, 15:53:35", "05/29/2022 3:53:35 PM", "Foo 29, 2022, 3:53:35 PM", "May 29, 2022",
                          "May 29, 2022, 3:53:35 PM extra", "2022-05-29 25:00:00", "1234567890123, 1, 1"}) {
    INFO(bad);
    CHECK_FALSE(ParseExportDate(bad));
  }
}

TEST_CASE("SportTypeFromExportType: English, German, compaction", "[export_csv]") {
  using L = ExportLanguage;
  CHECK(SportTypeFromExportType("Run", L::kEnglish) == "Run");
  CHECK(SportTypeFromExportType("Virtual Ride", L::kEnglish) == "VirtualRide");
  CHECK(SportTypeFromExportType("Nordic Ski", L::kEnglish) == "NordicSki");
  CHECK(SportTypeFromExportType("E-Bike Ride", L::kEnglish) == "EBikeRide");
  CHECK(SportTypeFromExportType("Rock Climb", L::kEnglish) == "RockClimbing");
  CHECK(SportTypeFromExportType("Canoe", L::kEnglish) == "Canoeing");
  CHECK(SportTypeFromExportType("Stair-Stepper", L::kEnglish) == "StairStepper");
  CHECK(SportTypeFromExportType("  weight   training ", L::kEnglish) == "WeightTraining");
  CHECK(SportTypeFromExportType("Stand Up Paddling", L::kEnglish) == "StandUpPaddling");
  CHECK(SportTypeFromExportType("MountainBikeRide", L::kEnglish) == "MountainBikeRide");
  CHECK(SportTypeFromExportType("Some new sport", L::kLegacy) == "SomeNewSport");
  CHECK(SportTypeFromExportType("Caf\xC3\xA9 ride", L::kEnglish).empty());
  CHECK(SportTypeFromExportType("", L::kEnglish).empty());

  CHECK(SportTypeFromExportType("Lauf", L::kGerman) == "Run");
  CHECK(SportTypeFromExportType("Radfahrt", L::kGerman) == "Ride");
  CHECK(SportTypeFromExportType("Virtuelle Radfahrt", L::kGerman) == "VirtualRide");
  CHECK(SportTypeFromExportType("Schwimmen", L::kGerman) == "Swim");
  CHECK(SportTypeFromExportType("Training", L::kGerman) == "Workout");
  CHECK(SportTypeFromExportType("E-Bike-Radfahrt", L::kGerman) == "EBikeRide");
  CHECK(SportTypeFromExportType("Fu\xC3\x9F"
                                "ball",
                                L::kGerman) == "Soccer");
  CHECK(SportTypeFromExportType("Run", L::kGerman) == "Run");  // English names are known in either
  CHECK(SportTypeFromExportType("Quidditch", L::kGerman).empty());
}

TEST_CASE("profile.csv", "[export_csv]") {
  const Result<ExportProfile> en = ReadExportProfile(
      "Athlete ID,Email Address,First Name,Last Name,Sex,Description,Weight,City,State,Country\n"
      "9000001,demo@example.com,Demo,Rider,M,\"Rides, mostly\",74.5,\"Wilmslow\",England,United Kingdom\n");
  REQUIRE(en.ok());
  CHECK(en->id == 9000001);
  CHECK(en->first_name == "Demo");
  CHECK(en->last_name == "Rider");
  CHECK(en->sex == "M");
  CHECK(en->description == "Rides, mostly");
  CHECK(en->weight == Approx(74.5));
  CHECK(en->city == "Wilmslow");
  CHECK(en->state == "England");
  CHECK(en->country == "United Kingdom");

  const Result<ExportProfile> de = ReadExportProfile(
      "\xEF\xBB\xBFSportler-ID,E-Mail-Adresse,Vorname,Nachname,Geschlecht,Gewicht,Stadt,Bundesland,Land\r\n"
      "42,x@example.com,Erika,Mustermann,Weiblich,\"61,5\",K\xC3\xB6ln,NRW,Deutschland\r\n");
  REQUIRE(de.ok());
  CHECK(de->id == 42);
  CHECK(de->first_name == "Erika");
  CHECK(de->sex == "F");
  CHECK(de->weight == Approx(61.5));
  CHECK(de->city == "K\xC3\xB6ln");

  const Result<ExportProfile> header_only = ReadExportProfile("Athlete ID,First Name\n");
  REQUIRE(header_only.ok());
  CHECK_FALSE(header_only->id);
  CHECK(ReadExportProfile("").ok());

  const Result<ExportProfile> unknown = ReadExportProfile("foo,bar\n1,2\n");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("profile.csv: unknown header (first columns: foo, bar)") == 0);
}

TEST_CASE("bikes.csv and shoes.csv", "[export_csv]") {
  const Result<std::vector<ExportGear>> bikes = ReadExportGear(
      "Bike Name,Bike Brand,Bike Model,Bike Default Sport Types\n"
      "Ox,Bianchi,Advantage,Ride\n"
      "\"Winter, steel\",Surly,Cross-Check,\"Ride,GravelRide\"\n",
      true);
  REQUIRE(bikes.ok());
  REQUIRE(bikes->size() == 2);
  CHECK((*bikes)[0].name == "Ox");
  CHECK((*bikes)[0].brand == "Bianchi");
  CHECK((*bikes)[0].model == "Advantage");
  CHECK((*bikes)[0].bike);
  CHECK((*bikes)[1].name == "Winter, steel");

  const Result<std::vector<ExportGear>> shoes = ReadExportGear(
      "Shoe Name,Shoe Brand,Shoe Model,Shoe Default Sport Types\n"
      "New forest runners,Saucony,Trail runner 2200,\n"
      ",Brooks,Ghost 15,Run\n"
      ",,,\n",
      false);
  REQUIRE(shoes.ok());
  REQUIRE(shoes->size() == 2);
  CHECK_FALSE((*shoes)[0].bike);
  CHECK((*shoes)[1].name == "Brooks Ghost 15");  // a nameless shoe is called "<brand> <model>"

  CHECK(ExportGearMatches((*bikes)[0], "Ox"));
  CHECK(ExportGearMatches((*bikes)[0], " ox "));
  CHECK_FALSE(ExportGearMatches((*bikes)[0], "Oxford"));
  CHECK(ExportGearMatches((*shoes)[0], "New forest runners"));
  CHECK(ExportGearMatches((*shoes)[0], "Saucony Trail runner 2200"));
  CHECK(ExportGearMatches((*shoes)[0], "Saucony Trail runner 2200 New forest runners"));
  CHECK(ExportGearMatches((*shoes)[1], "Brooks Ghost 15"));
  CHECK_FALSE(ExportGearMatches((*shoes)[1], ""));

  const Result<std::vector<ExportGear>> de =
      ReadExportGear("Fahrradname,Fahrradmarke,Fahrradmodell\nRenner,Canyon,Ultimate\n", true);
  REQUIRE(de.ok());
  REQUIRE(de->size() == 1);
  CHECK((*de)[0].name == "Renner");
  CHECK((*de)[0].brand == "Canyon");
  CHECK((*de)[0].model == "Ultimate");

  const Result<std::vector<ExportGear>> none = ReadExportGear("Shoe Name,Shoe Brand,Shoe Model\n", false);
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK(ReadExportGear("", true).ok());

  const Result<std::vector<ExportGear>> unknown = ReadExportGear("x,y\n1,2\n", true);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("bikes.csv: unknown header") == 0);
}

// Run with: t "[export_csv_speed]" (hidden from the default run; time it at -O2).
TEST_CASE("activities.csv: 10,000 rows of the full English header", "[.][export_csv_speed]") {
  const std::string header = kEnglishHeader;
  std::string csv = header + "\r\n";
  for (int i = 1; i <= 10000; ++i) {
    csv += Row(header, {{{"Activity ID", 0}, std::to_string(1000000000 + i)},
                        {{"Activity Date", 0}, "May 29, 2022, 3:53:35 PM"},
                        {{"Activity Name", 0}, "Morning Run " + std::to_string(i)},
                        {{"Activity Type", 0}, i % 2 ? "Run" : "Virtual Ride"},
                        {{"Activity Description", 0}, "Intervals, 6x800m\nfelt \"ok\""},
                        {{"Elapsed Time", 0}, "3932"},
                        {{"Distance", 0}, "10.52"},
                        {{"Filename", 0}, "activities/" + std::to_string(i) + ".fit.gz"},
                        {{"Elapsed Time", 1}, "3932.0"},
                        {{"Moving Time", 0}, "3810.0"},
                        {{"Distance", 1}, "10521.3"},
                        {{"Max Speed", 0}, "4.512"},
                        {{"Average Speed", 0}, "2.761"},
                        {{"Elevation Gain", 0}, "84.2"},
                        {{"Max Heart Rate", 1}, "171.0"},
                        {{"Average Heart Rate", 0}, "148.2"},
                        {{"Calories", 0}, "712.0"},
                        {{"Commute", 1}, "0.0"},
                        {{"Weather Condition", 0}, "3"},
                        {{"Humidity", 0}, "0.71"},
                        {{"Total Steps", 0}, "11234.0"}});
  }
  const auto start = std::chrono::steady_clock::now();
  const Result<ExportActivities> got = ReadExportActivities(csv);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(got.ok());
  CHECK(got->activities.size() == 10000);
  CHECK(got->warnings.empty());
  WARN("10,000 rows, " << csv.size() / 1024 << " KiB: " << seconds * 1000 << " ms");
  CHECK(seconds < 1.0);
}

}  // namespace
}  // namespace stravafs::import
