// Oracles shared by the fuzz targets: a check that aborts, an RFC 4180 CSV
// reader, an XML well-formedness check (expat), and the naming rule of
// format/names.h written out property by property.
//
// Each is written independently of the code it checks (no call into the
// function under test), so that a bug there is not repeated here.
#pragma once

#include <expat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz {

// Prints what failed and traps, so libFuzzer saves the input as a crash.
[[noreturn]] inline void Fail(const char* file, int line, const char* what, std::string_view detail) {
  std::fprintf(stderr, "\n%s:%d: CHECK FAILED: %s\n", file, line, what);
  if (!detail.empty())
    std::fprintf(stderr, "  %.*s\n", static_cast<int>(std::min<size_t>(detail.size(), 4000)), detail.data());
  std::fflush(stderr);
  __builtin_trap();
}

#define FUZZ_CHECK(cond, detail)                                    \
  do {                                                              \
    if (!(cond)) ::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

// Printable form of bytes, for messages: non-printable bytes as \xNN.
inline std::string Show(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// ---- UTF-8, strictly (RFC 3629) -------------------------------------------

// The code point at s[pos] and its length; len 0 when the bytes there are not
// a valid sequence (overlong, surrogate, above U+10FFFF, truncated).
struct CodePoint {
  char32_t cp = 0;
  size_t len = 0;
};

inline CodePoint DecodeStrict(std::string_view s, size_t pos) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(pos);
  if (c < 0x80) return {c, 1};
  size_t n;
  char32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return {};
  }
  if (pos + n > s.size()) return {};
  for (size_t i = 1; i < n; ++i) {
    if ((b(pos + i) & 0xC0) != 0x80) return {};
    cp = cp << 6 | (b(pos + i) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {};
  return {cp, n};
}

inline bool IsValidUtf8(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    const CodePoint c = DecodeStrict(s, pos);
    if (c.len == 0) return false;
    pos += c.len;
  }
  return true;
}

inline void Append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The code points of `s`, each invalid byte as U+FFFD (the documented repair).
inline std::vector<char32_t> CodePoints(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t pos = 0; pos < s.size();) {
    const CodePoint c = DecodeStrict(s, pos);
    out.push_back(c.len ? c.cp : 0xFFFD);
    pos += c.len ? c.len : 1;
  }
  return out;
}

inline std::string Repaired(std::string_view s) {
  std::string out;
  for (char32_t cp : CodePoints(s)) Append(out, cp);
  return out;
}

// ---- CSV (RFC 4180) ----------------------------------------------------------

// The records of `text`, each a list of fields with quoting undone; nullopt
// (and `error` says why) for text RFC 4180 does not allow: a quote inside an
// unquoted field, text after a closing quote, a bare CR or LF outside quotes
// (records end in CRLF), an unterminated quoted field, or a last record
// without its CRLF.
inline std::optional<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text, std::string& error) {
  std::vector<std::vector<std::string>> records;
  size_t i = 0;
  while (i < text.size()) {
    std::vector<std::string> record;
    for (;;) {
      std::string field;
      if (i < text.size() && text[i] == '"') {
        ++i;
        for (;;) {
          if (i >= text.size()) return error = "unterminated quoted field", std::nullopt;
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          field += text[i++];
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\r')
          return error = "text after a closing quote at byte " + std::to_string(i), std::nullopt;
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          if (text[i] == '"')
            return error = "quote inside an unquoted field at byte " + std::to_string(i), std::nullopt;
          field += text[i++];
        }
      }
      record.push_back(std::move(field));
      if (i >= text.size()) return error = "the last record has no CRLF", std::nullopt;
      if (text[i] == ',') {
        ++i;
        continue;
      }
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        i += 2;
        break;
      }
      return error = "a bare CR or LF at byte " + std::to_string(i), std::nullopt;
    }
    records.push_back(std::move(record));
  }
  return records;
}

// ---- XML ---------------------------------------------------------------------

// What an XML document holds, as expat reads it: whether it is well-formed,
// the text of each element (by its path, e.g. "gpx/trk/name"), and the
// attributes of each element, in document order.
struct XmlElement {
  std::string path;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;
};

struct XmlDocument {
  bool well_formed = false;
  std::string error;
  std::vector<XmlElement> elements;
};

inline XmlDocument ParseXml(std::string_view text) {
  struct State {
    XmlDocument doc;
    std::vector<size_t> open;  // indexes into doc.elements
    std::string path;
  } state;
  XML_Parser p = XML_ParserCreate("UTF-8");
  XML_SetUserData(p, &state);
  XML_SetElementHandler(
      p,
      [](void* user, const XML_Char* name, const XML_Char** atts) {
        auto& s = *static_cast<State*>(user);
        XmlElement e;
        e.path = s.path.empty() ? name : s.path + "/" + name;
        for (size_t i = 0; atts[i]; i += 2) e.attributes.emplace_back(atts[i], atts[i + 1]);
        s.path = e.path;
        s.open.push_back(s.doc.elements.size());
        s.doc.elements.push_back(std::move(e));
      },
      [](void* user, const XML_Char*) {
        auto& s = *static_cast<State*>(user);
        s.open.pop_back();
        s.path = s.open.empty() ? "" : s.doc.elements[s.open.back()].path;
      });
  XML_SetCharacterDataHandler(p, [](void* user, const XML_Char* data, int len) {
    auto& s = *static_cast<State*>(user);
    if (!s.open.empty()) s.doc.elements[s.open.back()].text.append(data, static_cast<size_t>(len));
  });
  const bool ok = XML_Parse(p, text.data(), static_cast<int>(text.size()), /*isFinal=*/1) == XML_STATUS_OK;
  state.doc.well_formed = ok;
  if (!ok)
    state.doc.error = std::string(XML_ErrorString(XML_GetErrorCode(p))) + " at line " +
                      std::to_string(XML_GetCurrentLineNumber(p)) + " column " +
                      std::to_string(XML_GetCurrentColumnNumber(p));
  XML_ParserFree(p);
  return state.doc;
}

}  // namespace fuzz
