// TCX decoder: expat events (xml_reader.h) to a Track. See tcx.h for what is
// read and what is refused.
#include "import/tcx.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <new>
#include <utility>
#include <vector>

#include "import/xml_reader.h"

namespace stravafs::import {
namespace {

// The TCX elements whose position in the tree matters.
enum class Tag : uint8_t {
  kOther,
  kRoot,
  kActivity,
  kId,
  kNotes,
  kCreator,
  kName,
  kLap,
  kTotalTimeSeconds,
  kDistanceMeters,
  kMaximumSpeed,
  kCalories,
  kAverageHeartRateBpm,
  kMaximumHeartRateBpm,
  kValue,
  kCadence,
  kLx,
  kAvgWatts,
  kAvgRunCadence,
  kTrackpoint,
  kTime,
  kPosition,
  kLatitudeDegrees,
  kLongitudeDegrees,
  kAltitudeMeters,
  kHeartRateBpm,
  kTpx,
  kSpeed,
  kWatts,
  kRunCadence,
};

// What the text of an open element is for.
enum class Field : uint8_t {
  kNone,
  kActivityId,
  kNotes,
  kCreatorName,
  kLapTotalTime,
  kLapDistance,
  kLapMaxSpeed,
  kLapCalories,
  kLapAverageHeartrate,
  kLapMaxHeartrate,
  kLapCadence,
  kLapAverageWatts,
  kLapAverageRunCadence,
  kPointTime,
  kPointLat,
  kPointLng,
  kPointAltitude,
  kPointDistance,
  kPointHeartrate,
  kPointCadence,
  kPointSpeed,
  kPointWatts,
  kPointRunCadence,
};

struct Frame {
  Tag tag;
  Field field;
};

Tag TagOf(std::string_view name) {
  // Most frequent first: the per-point elements dominate a file.
  static constexpr std::pair<std::string_view, Tag> kTags[] = {
      {"Trackpoint", Tag::kTrackpoint},
      {"Time", Tag::kTime},
      {"Position", Tag::kPosition},
      {"LatitudeDegrees", Tag::kLatitudeDegrees},
      {"LongitudeDegrees", Tag::kLongitudeDegrees},
      {"AltitudeMeters", Tag::kAltitudeMeters},
      {"DistanceMeters", Tag::kDistanceMeters},
      {"HeartRateBpm", Tag::kHeartRateBpm},
      {"Value", Tag::kValue},
      {"Cadence", Tag::kCadence},
      {"TPX", Tag::kTpx},
      {"Speed", Tag::kSpeed},
      {"Watts", Tag::kWatts},
      {"RunCadence", Tag::kRunCadence},
      {"Lap", Tag::kLap},
      {"TotalTimeSeconds", Tag::kTotalTimeSeconds},
      {"MaximumSpeed", Tag::kMaximumSpeed},
      {"Calories", Tag::kCalories},
      {"AverageHeartRateBpm", Tag::kAverageHeartRateBpm},
      {"MaximumHeartRateBpm", Tag::kMaximumHeartRateBpm},
      {"LX", Tag::kLx},
      {"AvgWatts", Tag::kAvgWatts},
      {"AvgRunCadence", Tag::kAvgRunCadence},
      {"Activity", Tag::kActivity},
      {"Id", Tag::kId},
      {"Notes", Tag::kNotes},
      {"Creator", Tag::kCreator},
      {"Name", Tag::kName},
      {"TrainingCenterDatabase", Tag::kRoot},
  };
  for (const auto& [tag_name, tag] : kTags) {
    if (name == tag_name) return tag;
  }
  return Tag::kOther;
}

class TcxHandler final : public XmlHandler {
 public:
  bool StartElement(std::string_view name, const XmlAttributes& attributes) override {
    const Tag tag = TagOf(name);
    if (stack_.empty() && tag != Tag::kRoot) {
      Fail("not a TCX file: the root element is <" + std::string(name.substr(0, 40)) + ">");
      return false;
    }
    Frame frame{tag, Field::kNone};
    if (point_depth_ != 0) {
      frame.field = PointField(tag);
    } else if (activity_depth_ != 0 && tag == Tag::kTrackpoint) {
      BeginPoint();
    } else if (lap_depth_ != 0) {
      frame.field = LapField(tag);
    } else if (activity_depth_ != 0) {
      const size_t depth = stack_.size() - activity_depth_;  // 0 = direct child of Activity
      if (tag == Tag::kLap) {
        BeginLap(attributes);
      } else if (tag == Tag::kId && depth == 0) {
        frame.field = Field::kActivityId;
      } else if (tag == Tag::kNotes && depth == 0) {
        frame.field = Field::kNotes;
      } else if (tag == Tag::kName && depth == 1 && Ancestor(1) == Tag::kCreator) {
        frame.field = Field::kCreatorName;
      }
    } else if (tag == Tag::kActivity && !activity_seen_) {
      activity_seen_ = true;
      activity_depth_ = stack_.size() + 1;
      if (const auto sport = attributes.Find("Sport")) {
        track_.summary.sport_type = SportTypeFromName(TrimXmlSpace(*sport));
      }
    }
    stack_.push_back(frame);
    return frame.field != Field::kNone;
  }

  void EndElement(std::string_view name, std::string_view text) override {
    if (stack_.empty()) return;  // only after a failed start; ParseXml stops anyway
    const Frame frame = stack_.back();
    stack_.pop_back();
    const size_t closing_depth = stack_.size() + 1;
    if (closing_depth == point_depth_) return FinishPoint();
    if (closing_depth == lap_depth_) return FinishLap();
    if (closing_depth == activity_depth_) {
      activity_depth_ = 0;
      return;
    }
    switch (frame.field) {
      case Field::kNone:
        break;
      case Field::kActivityId:
        // Id is a timestamp by convention, not by schema: tolerate others.
        id_time_ = ParseXmlTime(text);
        break;
      case Field::kNotes:
        track_.summary.name = TrimXmlSpace(text);
        break;
      case Field::kCreatorName:
        track_.summary.device_name = TrimXmlSpace(text);
        break;
      case Field::kLapTotalTime:
        // The lap's timer time, as Garmin's devices write it (pauses left
        // out): its moving time. Finish() works out the wall-clock time.
        ReadNumber(name, text, track_.laps.back().moving_time);
        break;
      case Field::kLapDistance:
        ReadNumber(name, text, track_.laps.back().distance);
        break;
      case Field::kLapMaxSpeed:
        ReadNumber(name, text, track_.laps.back().max_speed);
        break;
      case Field::kLapCalories:
        ReadNumber(name, text, track_.laps.back().calories);
        break;
      case Field::kLapAverageHeartrate:
        ReadNumber("AverageHeartRateBpm", text, track_.laps.back().average_heartrate);
        break;
      case Field::kLapMaxHeartrate:
        ReadNumber("MaximumHeartRateBpm", text, track_.laps.back().max_heartrate);
        break;
      case Field::kLapCadence:
        ReadNumber(name, text, track_.laps.back().average_cadence);
        break;
      case Field::kLapAverageWatts:
        ReadNumber(name, text, track_.laps.back().average_watts);
        break;
      case Field::kLapAverageRunCadence:
        ReadNumber(name, text, lap_run_cadence_);
        break;
      case Field::kPointTime:
        ReadTime(name, text, point_time_);
        break;
      case Field::kPointLat:
        ReadNumber(name, text, point_.lat);
        break;
      case Field::kPointLng:
        ReadNumber(name, text, point_.lng);
        break;
      case Field::kPointAltitude:
        ReadNumber(name, text, point_.altitude);
        break;
      case Field::kPointDistance:
        ReadNumber(name, text, point_.distance);
        break;
      case Field::kPointHeartrate:
        ReadNumber("HeartRateBpm", text, point_.heartrate);
        break;
      case Field::kPointCadence:
        ReadNumber(name, text, point_.cadence);
        break;
      case Field::kPointSpeed:
        ReadNumber(name, text, point_.speed);
        break;
      case Field::kPointWatts:
        ReadNumber(name, text, point_.watts);
        break;
      case Field::kPointRunCadence:
        ReadNumber(name, text, point_run_cadence_);
        break;
    }
  }

  // The Track, once ParseXml has succeeded.
  Result<Track> Finish() && {
    if (!activity_seen_) return Status::Error(ErrorKind::kGeneric, "TCX: no activity");
    if (track_.points.empty()) return Status::Error(ErrorKind::kGeneric, "TCX: no track points");
    track_.format = "tcx";
    TrackSummary& summary = track_.summary;
    if (id_time_) {
      summary.start_time = id_time_;
    } else if (!track_.laps.empty()) {
      summary.start_time = track_.laps.front().start_time;
    } else {
      summary.start_time = track_.points.front().time;
    }
    // A total is only the laps' sum when every lap states its part.
    const auto sum = [&](std::optional<double> TrackLap::*field) -> std::optional<double> {
      if (track_.laps.empty()) return std::nullopt;
      double total = 0;
      for (const TrackLap& lap : track_.laps) {
        if (!(lap.*field)) return std::nullopt;
        total += *(lap.*field);
      }
      // Finite laps can add up to infinity (two of 1.5e308 m): no total then
      // (found by fuzz_xml_track's no-infinity check).
      if (!std::isfinite(total)) return std::nullopt;
      return total;
    };
    const auto max = [&](std::optional<double> TrackLap::*field) -> std::optional<double> {
      std::optional<double> largest;
      for (const TrackLap& lap : track_.laps) {
        if (lap.*field && (!largest || *(lap.*field) > *largest)) largest = lap.*field;
      }
      return largest;
    };
    // A lap's wall-clock time runs from its StartTime to the next lap's, the
    // last lap's to its last point; never less than TotalTimeSeconds (writers
    // that put the wall-clock time there, like gpsbabel, or round it up).
    // Reading TotalTimeSeconds as the elapsed time made every lap with a pause
    // (and a loose file's elapsed_time) too short.
    double last_point = -INFINITY;
    for (const TrackPoint& p : track_.points) last_point = std::max(last_point, p.time);
    for (size_t k = 0; k < track_.laps.size(); ++k) {
      TrackLap& lap = track_.laps[k];
      const double end = k + 1 < track_.laps.size() ? track_.laps[k + 1].start_time : last_point;
      if (std::isfinite(end) && end > lap.start_time)
        lap.elapsed_time = std::max(end - lap.start_time, lap.moving_time.value_or(0));
      else
        lap.elapsed_time = lap.moving_time;
    }
    summary.distance = sum(&TrackLap::distance);
    summary.elapsed_time = sum(&TrackLap::elapsed_time);
    summary.moving_time = sum(&TrackLap::moving_time);
    summary.calories = sum(&TrackLap::calories);
    summary.max_speed = max(&TrackLap::max_speed);
    summary.max_heartrate = max(&TrackLap::max_heartrate);
    return std::move(track_);
  }

 private:
  Tag Ancestor(size_t generations) const {
    return stack_.size() >= generations ? stack_[stack_.size() - generations].tag : Tag::kOther;
  }

  Field PointField(Tag tag) const {
    const size_t depth = stack_.size() - point_depth_;  // 0 = direct child of Trackpoint
    const Tag parent = Ancestor(1);
    switch (tag) {
      case Tag::kTime:
        return depth == 0 ? Field::kPointTime : Field::kNone;
      case Tag::kLatitudeDegrees:
        return depth == 1 && parent == Tag::kPosition ? Field::kPointLat : Field::kNone;
      case Tag::kLongitudeDegrees:
        return depth == 1 && parent == Tag::kPosition ? Field::kPointLng : Field::kNone;
      case Tag::kAltitudeMeters:
        return depth == 0 ? Field::kPointAltitude : Field::kNone;
      case Tag::kDistanceMeters:
        return depth == 0 ? Field::kPointDistance : Field::kNone;
      case Tag::kValue:
        return depth == 1 && parent == Tag::kHeartRateBpm ? Field::kPointHeartrate : Field::kNone;
      case Tag::kCadence:
        return depth == 0 ? Field::kPointCadence : Field::kNone;
      case Tag::kSpeed:
        return parent == Tag::kTpx ? Field::kPointSpeed : Field::kNone;
      case Tag::kWatts:
        return parent == Tag::kTpx ? Field::kPointWatts : Field::kNone;
      case Tag::kRunCadence:
        return parent == Tag::kTpx ? Field::kPointRunCadence : Field::kNone;
      default:
        return Field::kNone;
    }
  }

  Field LapField(Tag tag) const {
    const size_t depth = stack_.size() - lap_depth_;  // 0 = direct child of Lap
    const Tag parent = Ancestor(1);
    switch (tag) {
      case Tag::kTotalTimeSeconds:
        return depth == 0 ? Field::kLapTotalTime : Field::kNone;
      case Tag::kDistanceMeters:
        return depth == 0 ? Field::kLapDistance : Field::kNone;
      case Tag::kMaximumSpeed:
        return depth == 0 ? Field::kLapMaxSpeed : Field::kNone;
      case Tag::kCalories:
        return depth == 0 ? Field::kLapCalories : Field::kNone;
      case Tag::kCadence:
        return depth == 0 ? Field::kLapCadence : Field::kNone;
      case Tag::kValue:
        if (depth != 1) return Field::kNone;
        if (parent == Tag::kAverageHeartRateBpm) return Field::kLapAverageHeartrate;
        if (parent == Tag::kMaximumHeartRateBpm) return Field::kLapMaxHeartrate;
        return Field::kNone;
      case Tag::kAvgWatts:
        return parent == Tag::kLx ? Field::kLapAverageWatts : Field::kNone;
      case Tag::kAvgRunCadence:
        return parent == Tag::kLx ? Field::kLapAverageRunCadence : Field::kNone;
      default:
        return Field::kNone;
    }
  }

  void BeginLap(const XmlAttributes& attributes) {
    TrackLap& lap = track_.laps.emplace_back();
    lap_run_cadence_.reset();
    lap_depth_ = stack_.size() + 1;
    const std::optional<std::string_view> start = attributes.Find("StartTime");
    const std::optional<double> start_time = start ? ParseXmlTime(*start) : std::nullopt;
    if (!start_time) {
      Fail("lap without a valid StartTime");
      return;
    }
    lap.start_time = *start_time;
  }

  void FinishLap() {
    lap_depth_ = 0;
    TrackLap& lap = track_.laps.back();
    if (!lap.average_cadence) lap.average_cadence = lap_run_cadence_;
  }

  void BeginPoint() {
    point_ = TrackPoint{};
    point_time_.reset();
    point_run_cadence_.reset();
    point_depth_ = stack_.size() + 1;
  }

  void FinishPoint() {
    point_depth_ = 0;
    if (!point_time_) {
      Fail("track point without time");
      return;
    }
    point_.time = *point_time_;
    if (!point_.lat || !point_.lng) {
      point_.lat.reset();
      point_.lng.reset();
    } else if (*point_.lat < -90 || *point_.lat > 90 || *point_.lng < -180 || *point_.lng > 180) {
      Fail("track point with a position out of range");
      return;
    }
    if (!point_.cadence) point_.cadence = point_run_cadence_;
    track_.points.push_back(point_);
  }

  std::vector<Frame> stack_;
  // Stack sizes while the first Activity, a Lap in it, or a Trackpoint is
  // open (the element is then on top); 0 outside.
  size_t activity_depth_ = 0, lap_depth_ = 0, point_depth_ = 0;
  bool activity_seen_ = false;
  std::optional<double> id_time_;
  std::optional<double> lap_run_cadence_;
  TrackPoint point_;
  std::optional<double> point_time_;
  std::optional<double> point_run_cadence_;
  Track track_;
};

}  // namespace

Result<Track> DecodeTcx(std::string_view bytes) {
  try {
    TcxHandler handler;
    if (Status status = ParseXml(bytes, "TCX", handler); !status.ok()) return status;
    return std::move(handler).Finish();
  } catch (const std::bad_alloc&) {
    return Status::Error(ErrorKind::kGeneric, "TCX: out of memory");
  } catch (const std::exception& e) {
    return Status::Error(ErrorKind::kGeneric, std::string("TCX: internal error: ") + e.what());
  }
}

}  // namespace stravafs::import
