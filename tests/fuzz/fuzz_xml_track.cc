// Fuzz target: the GPX and TCX decoders (src/import/gpx.h, tcx.h) and the
// expat reader they share (xml_reader.h).
//
// Input: the first byte picks the decoder (bit 0: GPX or TCX) and a preamble
// (bits 1-7: one to four pieces of space, tab, LF, CRLF and UTF-8 BOMs); the
// rest is the file.
// Checks:
//   - DecodeGpx/DecodeTcx never crash and have no undefined behaviour
//     (ASan, UBSan); decoding twice gives the same result field by field;
//   - a Track they return is sane (track_check.h): points present, times
//     finite, lat in [-90, 90] and lng in [-180, 180] when present and only
//     together, no NaN or infinite value;
//   - the preamble before the file never changes the result: the same Track,
//     or the same error with its line number moved by the preamble's lines;
//   - against the document's structure as a plain expat pass sees it (local
//     names, written here from the headers' contracts): GPX gives one point
//     per gpx/trk/trkseg/trkpt, with a position exactly when the trkpt has
//     lat/lon attributes, each the attribute's number (strtod); TCX gives one
//     point per Trackpoint and one lap per Lap of the first Activity
//     (Trackpoints and Laps nested in a Trackpoint, Laps in a Lap, not
//     counted).
#include <expat.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "import/gpx.h"
#include "import/tcx.h"
#include "track_check.h"

using namespace stravafs;
using namespace stravafs::import;

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// The preamble for bits 1-7 of the first byte, and how many lines it spans.
std::string Preamble(unsigned selector, int& lines) {
  static constexpr std::string_view kPieces[] = {" ", "\t", "\n", "\r\n", kBom};
  const unsigned count = 1 + selector % 4, seed = selector / 4;
  std::string out;
  lines = 0;
  for (unsigned i = 0; i < count; ++i) {
    const std::string_view piece = kPieces[(seed + 3 * i + i * i) % std::size(kPieces)];
    out += piece;
    lines += piece.back() == '\n';
  }
  return out;
}

// The document after the white space and BOMs xml_reader.h skips.
std::string_view SkipPreamble(std::string_view s) {
  for (;;) {
    if (!s.empty() && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')) {
      s.remove_prefix(1);
    } else if (s.starts_with(kBom)) {
      s.remove_prefix(kBom.size());
    } else {
      return s;
    }
  }
}

// "LABEL: reason at line N" -> reason part and N; line -1 when there is none.
void SplitLine(const std::string& message, std::string& head, long& line) {
  const size_t at = message.rfind(" at line ");
  line = -1;
  head = message;
  if (at == std::string::npos) return;
  const std::string digits = message.substr(at + 9);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return;
  head = message.substr(0, at);
  line = std::strtol(digits.c_str(), nullptr, 10);
}

// ---- the structure of the document, from a plain expat pass --------------

std::string_view LocalName(std::string_view name) {
  const size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

struct Structure {
  // GPX: per gpx/trk/trkseg/trkpt, the lat and lon attributes (first of that local name).
  struct Point {
    std::optional<std::string> lat, lon;
  };
  std::vector<Point> gpx_points;
  // TCX: Trackpoints and Laps of the first Activity.
  size_t tcx_points = 0, tcx_laps = 0;

  std::vector<std::string> stack;                             // local names of the open elements
  size_t activity_depth = 0, point_depth = 0, lap_depth = 0;  // stack size while open, 0 = not open
  bool activity_seen = false;
};

void XMLCALL StructureStart(void* user, const XML_Char* name, const XML_Char** atts) {
  auto& s = *static_cast<Structure*>(user);
  const std::string local(LocalName(name));
  s.stack.push_back(local);
  const size_t depth = s.stack.size();
  // GPX: the contract's path, exactly.
  if (depth == 4 && s.stack[0] == "gpx" && s.stack[1] == "trk" && s.stack[2] == "trkseg" && local == "trkpt") {
    Structure::Point p;
    for (size_t i = 0; atts[i]; i += 2) {
      const std::string_view a = LocalName(atts[i]);
      if (a == "lat" && !p.lat) p.lat = atts[i + 1];
      if (a == "lon" && !p.lon) p.lon = atts[i + 1];
    }
    s.gpx_points.push_back(std::move(p));
  }
  // TCX: the first Activity in the document; inside it, Trackpoints not in
  // a Trackpoint, Laps in neither a Trackpoint nor a Lap.
  if (local == "Activity" && !s.activity_seen) {
    s.activity_seen = true;
    s.activity_depth = depth;
  } else if (s.activity_depth != 0 && s.point_depth == 0) {
    if (local == "Trackpoint") {
      ++s.tcx_points;
      s.point_depth = depth;
    } else if (local == "Lap" && s.lap_depth == 0) {
      ++s.tcx_laps;
      s.lap_depth = depth;
    }
  }
}

void XMLCALL StructureEnd(void* user, const XML_Char*) {
  auto& s = *static_cast<Structure*>(user);
  const size_t depth = s.stack.size();
  if (depth == s.point_depth) s.point_depth = 0;
  if (depth == s.lap_depth) s.lap_depth = 0;
  if (depth == s.activity_depth) s.activity_depth = 0;
  s.stack.pop_back();
}

// The elements up to the end of the root (what follows it is ignored by the
// decoders, and expat reports it as an error after the last element).
Structure ReadStructure(std::string_view document) {
  Structure s;
  XML_Parser p = XML_ParserCreate(nullptr);
  XML_SetUserData(p, &s);
  XML_SetElementHandler(p, StructureStart, StructureEnd);
  XML_Parse(p, document.data(), static_cast<int>(document.size()), /*isFinal=*/1);
  XML_ParserFree(p);
  return s;
}

void CheckGpxStructure(const Track& t, std::string_view document) {
  const Structure s = ReadStructure(document);
  FUZZ_CHECK(t.points.size() == s.gpx_points.size(), std::to_string(s.gpx_points.size()) + " gpx/trk/trkseg/trkpt, " +
                                                         std::to_string(t.points.size()) + " points");
  for (size_t i = 0; i < t.points.size(); ++i) {
    const TrackPoint& p = t.points[i];
    const Structure::Point& e = s.gpx_points[i];
    const std::string at = "point " + std::to_string(i);
    FUZZ_CHECK(p.lat.has_value() == (e.lat || e.lon), at + ": position without lat/lon or lat/lon without position");
    if (!p.lat) continue;
    FUZZ_CHECK(e.lat && e.lon, at);
    const auto number = [](const std::string& text) {
      const char* c = text.c_str();
      while (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n') ++c;
      if (*c == '+') ++c;
      return std::strtod(c, nullptr);
    };
    FUZZ_CHECK(*p.lat == number(*e.lat), at + " lat " + fuzz::ShowValue(p.lat) + " from " + fuzz::Show(*e.lat));
    FUZZ_CHECK(*p.lng == number(*e.lon), at + " lng " + fuzz::ShowValue(p.lng) + " from " + fuzz::Show(*e.lon));
  }
}

void CheckTcxStructure(const Track& t, std::string_view document) {
  const Structure s = ReadStructure(document);
  FUZZ_CHECK(t.points.size() == s.tcx_points,
             std::to_string(s.tcx_points) + " Trackpoints, " + std::to_string(t.points.size()) + " points");
  FUZZ_CHECK(t.laps.size() == s.tcx_laps,
             std::to_string(s.tcx_laps) + " Laps, " + std::to_string(t.laps.size()) + " laps");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool tcx = data[0] & 1;
  int preamble_lines = 0;
  const std::string preamble = Preamble(data[0] >> 1, preamble_lines);
  const std::string_view file(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto decode = [tcx](std::string_view bytes) { return tcx ? DecodeTcx(bytes) : DecodeGpx(bytes); };
  const char* format = tcx ? "tcx" : "gpx";

  Result<Track> first = decode(file);
  Result<Track> again = decode(file);
  const std::string prefixed_bytes = preamble + std::string(file);
  Result<Track> prefixed = decode(prefixed_bytes);
  FUZZ_CHECK(first.ok() == again.ok(), "decoded once, refused once");
  FUZZ_CHECK(first.ok() == prefixed.ok(),
             std::string("with the preamble ") + fuzz::Show(preamble) + ": " +
                 (first.ok() ? prefixed.status().message() : "decoded; without it: " + first.status().message()));
  if (!first.ok()) {
    const std::string& message = first.status().message();
    FUZZ_CHECK(message == again.status().message(), message + " / " + again.status().message());
    FUZZ_CHECK(message.rfind(tcx ? "TCX: " : "GPX: ", 0) == 0, message);
    std::string head, prefixed_head;
    long line, prefixed_line;
    SplitLine(message, head, line);
    SplitLine(prefixed.status().message(), prefixed_head, prefixed_line);
    FUZZ_CHECK(head == prefixed_head && (line < 0 ? prefixed_line < 0 : prefixed_line == line + preamble_lines),
               message + " / with the preamble " + fuzz::Show(preamble) + ": " + prefixed.status().message());
    return 0;
  }
  std::string diff = fuzz::DiffTracks(*first, *again);
  FUZZ_CHECK(diff.empty(), "decoding twice differs: " + diff);
  diff = fuzz::DiffTracks(*first, *prefixed);
  FUZZ_CHECK(diff.empty(), "the preamble " + fuzz::Show(preamble) + " changed " + diff);
  fuzz::CheckTrackSane(*first, format, /*need_points=*/true);
  const std::string_view document = SkipPreamble(file);
  if (tcx) {
    CheckTcxStructure(*first, document);
  } else {
    CheckGpxStructure(*first, document);
  }
  return 0;
}
