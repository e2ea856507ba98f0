// GPX decoder: expat events (xml_reader.h) to a Track. See gpx.h for what is
// read and what is refused.
#include "import/gpx.h"

#include <cstdint>
#include <exception>
#include <new>
#include <utility>
#include <vector>

#include "import/xml_reader.h"

namespace stravafs::import {
namespace {

// The GPX elements whose position in the tree matters.
enum class Tag : uint8_t { kOther, kGpx, kMetadata, kTime, kName, kTrk, kType, kTrkseg, kTrkpt, kEle };

// What the text of an open element is for.
enum class Field : uint8_t {
  kNone,
  kMetadataTime,
  kMetadataName,
  kTrackName,
  kTrackType,
  kPointTime,
  kPointEle,
  kHeartrate,
  kCadence,
  kTemp,
  kWatts,
  kSpeed,
  kDistance,
};

struct Frame {
  Tag tag;
  Field field;
};

Tag StructureTag(std::string_view name) {
  static constexpr std::pair<std::string_view, Tag> kTags[] = {
      {"trkpt", Tag::kTrkpt},   {"ele", Tag::kEle},           {"time", Tag::kTime},
      {"trkseg", Tag::kTrkseg}, {"trk", Tag::kTrk},           {"name", Tag::kName},
      {"type", Tag::kType},     {"metadata", Tag::kMetadata}, {"gpx", Tag::kGpx},
  };
  for (const auto& [tag_name, tag] : kTags) {
    if (name == tag_name) return tag;
  }
  return Tag::kOther;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_b[i]) return false;
  }
  return true;
}

// Sensor values inside a track point. Extension vocabularies differ only in
// case and synonyms, so these are matched case-insensitively.
Field SensorField(std::string_view name) {
  static constexpr std::pair<std::string_view, Field> kSensors[] = {
      {"hr", Field::kHeartrate},     {"heartrate", Field::kHeartrate}, {"cad", Field::kCadence},
      {"cadence", Field::kCadence},  {"atemp", Field::kTemp},          {"temp", Field::kTemp},
      {"temperature", Field::kTemp}, {"power", Field::kWatts},         {"powerinwatts", Field::kWatts},
      {"watts", Field::kWatts},      {"speed", Field::kSpeed},         {"distance", Field::kDistance},
  };
  for (const auto& [sensor_name, field] : kSensors) {
    if (EqualsIgnoreCase(name, sensor_name)) return field;
  }
  return Field::kNone;
}

class GpxHandler final : public XmlHandler {
 public:
  bool StartElement(std::string_view name, const XmlAttributes& attributes) override {
    if (stack_.empty() && name != "gpx") {
      Fail("not a GPX file: the root element is <" + std::string(name.substr(0, 40)) + ">");
      return false;
    }
    Frame frame{StructureTag(name), Field::kNone};
    if (point_depth_ != 0) {
      const bool direct_child = stack_.size() == point_depth_;
      if (direct_child && frame.tag == Tag::kTime) {
        frame.field = Field::kPointTime;
      } else if (direct_child && frame.tag == Tag::kEle) {
        frame.field = Field::kPointEle;
      } else {
        frame.field = SensorField(name);
      }
    } else {
      // Paths are matched from the root (stack_[0] is always <gpx>): a
      // trk, metadata or time nested elsewhere (inside <extensions>, or
      // anything a writer invents) is not the file's track. Found by
      // fuzz_xml_track: gpx/metadata/time/trk/trkseg/trkpt gave points.
      const size_t depth = stack_.size();  // of the parent
      const Tag parent = Ancestor(1), grandparent = Ancestor(2);
      const bool in_metadata = (depth == 2 && parent == Tag::kMetadata) || depth == 1;
      switch (frame.tag) {
        case Tag::kTrkpt:  // gpx/trk/trkseg/trkpt
          if (depth == 3 && parent == Tag::kTrkseg && grandparent == Tag::kTrk) BeginPoint(attributes);
          break;
        case Tag::kTime:  // GPX 1.1 gpx/metadata/time, GPX 1.0 gpx/time
          if (in_metadata) frame.field = Field::kMetadataTime;
          break;
        case Tag::kName:  // gpx/trk/name; gpx/metadata/name (1.1), gpx/name (1.0)
          if (depth == 2 && parent == Tag::kTrk && track_.summary.name.empty()) frame.field = Field::kTrackName;
          if (in_metadata) frame.field = Field::kMetadataName;
          break;
        case Tag::kType:  // gpx/trk/type
          if (depth == 2 && parent == Tag::kTrk && !type_seen_) frame.field = Field::kTrackType;
          break;
        default:
          break;
      }
    }
    stack_.push_back(frame);
    return frame.field != Field::kNone;
  }

  void EndElement(std::string_view name, std::string_view text) override {
    if (stack_.empty()) return;  // only after a failed start; ParseXml stops anyway
    const Frame frame = stack_.back();
    stack_.pop_back();
    if (point_depth_ != 0 && stack_.size() + 1 == point_depth_) {
      FinishPoint();
      return;
    }
    switch (frame.field) {
      case Field::kNone:
        break;
      case Field::kMetadataTime:
        // Only a hint for the start: a bad one is not worth refusing the file.
        metadata_time_ = ParseXmlTime(text);
        break;
      case Field::kMetadataName:
        metadata_name_ = TrimXmlSpace(text);
        break;
      case Field::kTrackName:
        track_.summary.name = TrimXmlSpace(text);
        break;
      case Field::kTrackType:
        track_.summary.sport_type = SportTypeFromName(TrimXmlSpace(text));
        type_seen_ = true;
        break;
      case Field::kPointTime:
        ReadTime(name, text, point_time_);
        break;
      case Field::kPointEle:
        ReadNumber(name, text, point_.altitude);
        break;
      case Field::kHeartrate:
        ReadNumber(name, text, point_.heartrate);
        break;
      case Field::kCadence:
        ReadNumber(name, text, point_.cadence);
        break;
      case Field::kTemp:
        ReadNumber(name, text, point_.temp);
        break;
      case Field::kWatts:
        ReadNumber(name, text, point_.watts);
        break;
      case Field::kSpeed:
        ReadNumber(name, text, point_.speed);
        break;
      case Field::kDistance:
        ReadNumber(name, text, point_.distance);
        break;
    }
  }

  // The Track, once ParseXml has succeeded.
  Result<Track> Finish() && {
    if (track_.points.empty()) return Status::Error(ErrorKind::kGeneric, "GPX: no track points");
    track_.format = "gpx";
    if (track_.summary.name.empty()) track_.summary.name = std::move(metadata_name_);
    const double first_time = track_.points.front().time;
    track_.summary.start_time = metadata_time_ && *metadata_time_ <= first_time ? *metadata_time_ : first_time;
    return std::move(track_);
  }

 private:
  // The tag `generations` levels above the element being opened.
  Tag Ancestor(size_t generations) const {
    return stack_.size() >= generations ? stack_[stack_.size() - generations].tag : Tag::kOther;
  }

  void BeginPoint(const XmlAttributes& attributes) {
    const auto coordinate = [&](std::string_view name, double limit) -> std::optional<double> {
      const std::optional<std::string_view> text = attributes.Find(name);
      if (!text) return std::nullopt;
      const std::optional<double> value = ParseXmlNumber(*text);
      if (!value || *value < -limit || *value > limit) return std::nullopt;
      return value;
    };
    point_ = TrackPoint{};
    point_time_.reset();
    // The schema requires both; a few writers (stravaweblib's GPX of indoor
    // streams) leave both out, which is a point without a position. One
    // without the other, or either unreadable, is a damaged file.
    const bool has_lat = attributes.Find("lat").has_value();
    const bool has_lon = attributes.Find("lon").has_value();
    if (!has_lat && !has_lon) {
      point_depth_ = stack_.size() + 1;
      return;
    }
    point_.lat = coordinate("lat", 90);
    point_.lng = coordinate("lon", 180);
    if (!point_.lat || !point_.lng) Fail("track point without a valid lat/lon");
    point_depth_ = stack_.size() + 1;
  }

  void FinishPoint() {
    point_depth_ = 0;
    if (!point_time_) {
      Fail("track point without time");
      return;
    }
    point_.time = *point_time_;
    track_.points.push_back(point_);
  }

  std::vector<Frame> stack_;
  size_t point_depth_ = 0;  // stack size while a trkpt is open (it is on top); 0 outside
  TrackPoint point_;
  std::optional<double> point_time_;
  Track track_;
  bool type_seen_ = false;
  std::optional<double> metadata_time_;
  std::string metadata_name_;
};

}  // namespace

Result<Track> DecodeGpx(std::string_view bytes) {
  try {
    GpxHandler handler;
    if (Status status = ParseXml(bytes, "GPX", handler); !status.ok()) return status;
    return std::move(handler).Finish();
  } catch (const std::bad_alloc&) {
    return Status::Error(ErrorKind::kGeneric, "GPX: out of memory");
  } catch (const std::exception& e) {
    return Status::Error(ErrorKind::kGeneric, std::string("GPX: internal error: ") + e.what());
  }
}

}  // namespace stravafs::import
