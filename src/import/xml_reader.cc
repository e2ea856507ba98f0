// XmlReader: expat driven in one pass for the GPX and TCX decoders, plus the
// number and timestamp parsing they share. See xml_reader.h for the contract.
#include "import/xml_reader.h"

#include <expat.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>

namespace stravafs::import {
namespace {

// The part of "prefix:local" after the last colon, found in the one pass that
// also finds the end (this runs for every tag and attribute name).
std::string_view LocalName(const char* qualified_name) {
  const char* local = qualified_name;
  const char* p = qualified_name;
  for (; *p != '\0'; ++p) {
    if (*p == ':') local = p + 1;
  }
  return std::string_view(local, static_cast<size_t>(p - local));
}

// Everything the expat callbacks share, reached through the user-data pointer.
struct ParseState {
  XML_Parser parser = nullptr;
  XmlHandler* handler = nullptr;
  size_t depth = 0;       // open elements
  size_t text_depth = 0;  // depth of the element whose text is collected, 0 = none
  bool root_closed = false;
  // Set once the parse is stopped. Expat may still deliver a callback or two
  // after XML_StopParser (the end of an empty element whose start stopped
  // it); the handler must not see them, as its state no longer matches.
  bool stopped = false;
  std::string text;               // reused for every collected element
  const char* refusal = nullptr;  // why the document itself was refused (DOCTYPE)
};

void Stop(ParseState& state) {
  if (state.stopped) return;
  state.stopped = true;
  XML_StopParser(state.parser, XML_FALSE);
}

// An exception must not unwind through expat's C frames: it becomes the
// handler's failure and stops the parse.
void FailFromException(ParseState& state) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    state.handler->Fail("out of memory");
  } catch (const std::exception& e) {
    state.handler->Fail(std::string("internal error: ") + e.what());
  } catch (...) {
    state.handler->Fail("internal error");
  }
  Stop(state);
}

void XMLCALL OnStartElement(void* user_data, const XML_Char* name, const XML_Char** attributes) {
  auto& state = *static_cast<ParseState*>(user_data);
  if (state.stopped) return;
  try {
    ++state.depth;
    if (state.handler->StartElement(LocalName(name), XmlAttributes(attributes))) {
      state.text.clear();
      state.text_depth = state.depth;
    }
    if (state.handler->failed()) Stop(state);
  } catch (...) {
    FailFromException(state);
  }
}

void XMLCALL OnEndElement(void* user_data, const XML_Char* name) {
  auto& state = *static_cast<ParseState*>(user_data);
  if (state.stopped) return;
  try {
    std::string_view text;
    if (state.text_depth == state.depth) {
      text = state.text;
      state.text_depth = 0;
    }
    state.handler->EndElement(LocalName(name), text);
    if (--state.depth == 0) state.root_closed = true;
    if (state.handler->failed()) Stop(state);
  } catch (...) {
    FailFromException(state);
  }
}

void XMLCALL OnCharacterData(void* user_data, const XML_Char* data, int length) {
  auto& state = *static_cast<ParseState*>(user_data);
  if (state.stopped || state.depth != state.text_depth) return;
  try {
    state.text.append(data, static_cast<size_t>(length));
  } catch (...) {
    FailFromException(state);
  }
}

void XMLCALL OnDoctype(void* user_data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  auto& state = *static_cast<ParseState*>(user_data);
  state.refusal = "a DOCTYPE is refused (DTDs and entities are not read)";
  Stop(state);
}

// Unreachable while every DOCTYPE is refused; kept so that no entity can ever
// be declared even if the DOCTYPE rule changes.
void XMLCALL OnEntityDecl(void* user_data, const XML_Char*, int, const XML_Char*, int, const XML_Char*, const XML_Char*,
                          const XML_Char*, const XML_Char*) {
  auto& state = *static_cast<ParseState*>(user_data);
  state.refusal = "an entity declaration is refused";
  Stop(state);
}

struct ParserDeleter {
  void operator()(XML_Parser parser) const { XML_ParserFree(parser); }
};

// How many bytes of white space and BOMs precede the document, and how many
// lines they span (so error line numbers match the file).
struct Preamble {
  size_t bytes = 0;
  unsigned long lines = 0;
};

Preamble SkipPreamble(std::string_view bytes) {
  Preamble p;
  while (p.bytes < bytes.size()) {
    const char c = bytes[p.bytes];
    if (c == '\n' || (c == '\r' && (p.bytes + 1 == bytes.size() || bytes[p.bytes + 1] != '\n'))) {
      ++p.lines;
      ++p.bytes;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++p.bytes;
    } else if (bytes.substr(p.bytes, 3) == "\xEF\xBB\xBF") {
      p.bytes += 3;
    } else {
      break;
    }
  }
  return p;
}

// Howard Hinnant's days_from_civil: days since 1970-01-01 of a proleptic
// Gregorian date, exact for every year we accept.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Reads exactly `count` decimal digits at `pos`, advancing it.
bool ReadDigits(std::string_view s, size_t& pos, size_t count, unsigned& value) {
  if (pos + count > s.size()) return false;
  value = 0;
  for (size_t i = 0; i < count; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  pos += count;
  return true;
}

bool ReadChar(std::string_view s, size_t& pos, char expected) {
  if (pos >= s.size() || s[pos] != expected) return false;
  ++pos;
  return true;
}

}  // namespace

std::optional<std::string_view> XmlAttributes::Find(std::string_view local_name) const {
  if (pairs_ == nullptr) return std::nullopt;
  for (const char** p = pairs_; p[0] != nullptr; p += 2) {
    if (LocalName(p[0]) == local_name) return std::string_view(p[1]);
  }
  return std::nullopt;
}

void XmlHandler::Fail(std::string reason) {
  if (failure_.empty()) failure_ = reason.empty() ? std::string("invalid content") : std::move(reason);
}

void XmlHandler::ReadNumber(std::string_view element, std::string_view text, std::optional<double>& field) {
  if (const std::optional<double> value = ParseXmlNumber(text)) {
    field = value;
    return;
  }
  const std::string_view trimmed = TrimXmlSpace(text);
  if (trimmed.empty()) return;
  if (trimmed.size() == 3 && (trimmed[0] | 0x20) == 'n' && (trimmed[1] | 0x20) == 'a' && (trimmed[2] | 0x20) == 'n') {
    return;
  }
  FailBadValue(element, trimmed);
}

void XmlHandler::ReadTime(std::string_view element, std::string_view text, std::optional<double>& field) {
  if (const std::optional<double> value = ParseXmlTime(text)) {
    field = value;
    return;
  }
  const std::string_view trimmed = TrimXmlSpace(text);
  if (!trimmed.empty()) FailBadValue(element, trimmed);
}

void XmlHandler::FailBadValue(std::string_view element, std::string_view value) {
  constexpr size_t kShown = 40;  // enough to recognise the value, bounded for the message
  std::string shown(value.substr(0, kShown));
  if (value.size() > kShown) shown += "...";
  Fail("bad <" + std::string(element) + "> value '" + shown + "'");
}

Status ParseXml(std::string_view bytes, std::string_view label, XmlHandler& handler) {
  const auto error = [&](const std::string& reason, unsigned long line) {
    return Status::Error(ErrorKind::kGeneric, std::string(label) + ": " + reason + " at line " + std::to_string(line));
  };
  try {
    const Preamble preamble = SkipPreamble(bytes);
    const std::string_view document = bytes.substr(preamble.bytes);

    // The encoding is left to the document (UTF-8 by default; expat also
    // knows UTF-16, ISO-8859-1 and US-ASCII) and handed to us as UTF-8.
    // Namespace processing stays off: names are matched by local name, and
    // a file with an undeclared prefix is still read.
    std::unique_ptr<XML_ParserStruct, ParserDeleter> parser(XML_ParserCreate(nullptr));
    if (!parser) return Status::Error(ErrorKind::kGeneric, std::string(label) + ": out of memory");

    ParseState state;
    state.parser = parser.get();
    state.handler = &handler;
    XML_SetUserData(parser.get(), &state);
    XML_SetElementHandler(parser.get(), OnStartElement, OnEndElement);
    XML_SetCharacterDataHandler(parser.get(), OnCharacterData);
    XML_SetStartDoctypeDeclHandler(parser.get(), OnDoctype);
    XML_SetEntityDeclHandler(parser.get(), OnEntityDecl);
    XML_SetParamEntityParsing(parser.get(), XML_PARAM_ENTITY_PARSING_NEVER);

    // XML_Parse takes an int length. One call for the whole document lets
    // expat parse in place without copying; only documents over 1 GiB are
    // fed in parts.
    constexpr size_t kMaxPart = size_t{1} << 30;
    size_t pos = 0;
    XML_Status status = XML_STATUS_OK;
    do {
      const size_t part = std::min(kMaxPart, document.size() - pos);
      const bool last = pos + part == document.size();
      status = XML_Parse(parser.get(), document.data() + pos, static_cast<int>(part), last);
      pos += part;
      if (last) break;
    } while (status == XML_STATUS_OK);

    const unsigned long line = XML_GetCurrentLineNumber(parser.get()) + preamble.lines;
    if (handler.failed()) return error(handler.failure(), line);
    if (state.refusal != nullptr) return error(state.refusal, line);
    if (status != XML_STATUS_OK && !state.root_closed) {
      return error(XML_ErrorString(XML_GetErrorCode(parser.get())), line);
    }
    return Status::Ok();
  } catch (const std::bad_alloc&) {
    return Status::Error(ErrorKind::kGeneric, std::string(label) + ": out of memory");
  } catch (const std::exception& e) {
    return Status::Error(ErrorKind::kGeneric, std::string(label) + ": internal error: " + e.what());
  }
}

std::string_view TrimXmlSpace(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t begin = 0, end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

std::optional<double> ParseXmlNumber(std::string_view text) {
  text = TrimXmlSpace(text);
  // from_chars takes no leading '+', which xsd:decimal allows.
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> ParseXmlTime(std::string_view text) {
  const std::string_view s = TrimXmlSpace(text);
  size_t pos = 0;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(s, pos, 4, year) || !ReadChar(s, pos, '-') || !ReadDigits(s, pos, 2, month) ||
      !ReadChar(s, pos, '-') || !ReadDigits(s, pos, 2, day)) {
    return std::nullopt;
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
  ++pos;
  if (!ReadDigits(s, pos, 2, hour) || !ReadChar(s, pos, ':') || !ReadDigits(s, pos, 2, minute) ||
      !ReadChar(s, pos, ':') || !ReadDigits(s, pos, 2, second)) {
    return std::nullopt;
  }
  // Seconds up to 60 admit a leap second; it simply counts as the next one.
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  double fraction = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    const size_t first = pos;
    uint64_t numerator = 0, denominator = 1;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      // Digits past nanoseconds cannot change a double of epoch seconds.
      if (pos - first < 9) {
        numerator = numerator * 10 + static_cast<uint64_t>(s[pos] - '0');
        denominator *= 10;
      }
      ++pos;
    }
    if (pos == first) return std::nullopt;
    fraction = static_cast<double>(numerator) / static_cast<double>(denominator);
  }
  int64_t offset_seconds = 0;
  if (pos < s.size()) {
    const char zone = s[pos++];
    if (zone == 'Z' || zone == 'z') {
      // UTC
    } else if (zone == '+' || zone == '-') {
      unsigned zone_hours = 0, zone_minutes = 0;
      if (!ReadDigits(s, pos, 2, zone_hours)) return std::nullopt;
      if (pos < s.size()) {
        ReadChar(s, pos, ':');
        if (!ReadDigits(s, pos, 2, zone_minutes)) return std::nullopt;
      }
      if (zone_hours > 23 || zone_minutes > 59) return std::nullopt;
      offset_seconds = (zone == '+' ? 1 : -1) * static_cast<int64_t>(zone_hours * 3600 + zone_minutes * 60);
    } else {
      return std::nullopt;
    }
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t whole = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return static_cast<double>(whole) + fraction;
}

}  // namespace stravafs::import
