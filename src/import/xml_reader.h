// XmlReader: the single streaming expat pass the GPX and TCX decoders share,
// and the locale-independent text-to-value helpers both need.
//
// Contract of ParseXml:
// - The bytes are parsed once, in file order, without building a tree. The
//   handler sees each start and end tag with the element's *local* name: the
//   part after any "prefix:", so `gpxtpx:hr`, `ns3:hr` and `hr` are the same
//   element, whatever namespace the file declared (or forgot to declare).
// - Text is collected only for the elements the handler asks for, into one
//   reused buffer, so there is no allocation per element or character.
// - Leading ASCII white space and UTF-8 byte-order marks before `<?xml` are
//   skipped (real exports have them; expat alone refuses them). Line numbers
//   in errors still count from the start of the original bytes.
// - Any DOCTYPE is refused before its internal subset is read, so there are
//   no entity declarations, no entity expansion (no billion laughs) and no
//   external entities or DTDs to fetch.
// - Bytes after the root element has closed are ignored: the document is
//   complete, and some writers append padding or a second copy.
// - Failures are "<label>: <reason> at line N", where the reason is expat's
//   message for malformed XML or the handler's own (see XmlHandler::Fail).
// - No exception escapes: one thrown inside a handler (std::bad_alloc) stops
//   the parse and becomes the error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stravafs::import {

// The attributes of one start tag. Views into expat's memory: valid only
// during the StartElement call that received them.
class XmlAttributes {
 public:
  explicit XmlAttributes(const char** name_value_pairs) : pairs_(name_value_pairs) {}

  // The value of the attribute with this local name (prefix ignored);
  // nullopt when the tag has none.
  std::optional<std::string_view> Find(std::string_view local_name) const;

 private:
  const char** pairs_;
};

// Receives the elements of one document. Implementations keep their own
// context (usually a stack of what each open element means).
class XmlHandler {
 public:
  virtual ~XmlHandler() = default;

  // Returns true to receive the element's text in EndElement. Text is the
  // character data directly inside the element (not inside its children).
  virtual bool StartElement(std::string_view local_name, const XmlAttributes& attributes) = 0;
  // `text` is empty unless StartElement asked for it; it is raw (untrimmed)
  // and valid only during the call.
  virtual void EndElement(std::string_view local_name, std::string_view text) = 0;

  // Stops the parse; ParseXml then fails with "<label>: <reason> at line N".
  // The first reason wins.
  void Fail(std::string reason);
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }

 protected:
  // Reads a number field: blank text or "NaN" (what some writers put for "no
  // reading") leave `field` unchanged; anything else that is not a finite
  // number fails the parse naming the element and the text.
  void ReadNumber(std::string_view element, std::string_view text, std::optional<double>& field);
  // Reads a timestamp field (ParseXmlTime) the same way: blank text leaves
  // `field` unchanged, anything unreadable fails the parse.
  void ReadTime(std::string_view element, std::string_view text, std::optional<double>& field);

  // Fails with "bad <element> value '...'" (the value shortened for the message).
  void FailBadValue(std::string_view element, std::string_view value);

 private:
  std::string failure_;
};

// Parses `bytes` with `handler`. `label` ("GPX", "TCX") starts every message.
Status ParseXml(std::string_view bytes, std::string_view label, XmlHandler& handler);

// `text` without XML white space (space, tab, CR, LF) at either end.
std::string_view TrimXmlSpace(std::string_view text);

// A finite decimal number as XML writes it ("12", "-3.5", "+1.5e3",
// surrounded by white space), parsed with std::from_chars: independent of the
// process locale. nullopt for anything else (including NaN and infinities).
std::optional<double> ParseXmlNumber(std::string_view text);

// An ISO 8601 / xsd:dateTime timestamp, "2024-05-01T07:00:00Z", with optional
// fractional seconds and a zone of "Z", "+HH:MM", "+HHMM" or "+HH" (either
// sign). A time without a zone is taken as UTC, which is what GPX requires
// and what TCX writers mean. A space is accepted in place of the "T".
// Returns seconds since the Unix epoch (fractions kept); nullopt when the text
// is not such a timestamp or names an impossible date or time.
std::optional<double> ParseXmlTime(std::string_view text);

}  // namespace stravafs::import
