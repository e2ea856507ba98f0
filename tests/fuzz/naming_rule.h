// The naming rule of src/format/names.h, checked property by property against
// what ActivityBaseName returned. Steps 1-7 are re-implemented here plainly
// (code point by code point, one step after the other) as the reference;
// step 8 (the cut) is checked by its stated properties.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "format/names.h"
#include "fuzz_check.h"

namespace fuzz {

inline bool IsBidiControl(char32_t cp) {
  return cp == 0x200E || cp == 0x200F || cp == 0x061C || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

inline bool IsControl(char32_t cp) { return cp <= 0x1F || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F); }

inline bool IsRuleWhitespace(char32_t cp) {
  return cp == ' ' || cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

inline bool IsRuleSeparator(char32_t cp) {
  return IsControl(cp) || IsRuleWhitespace(cp) || cp == '/' || cp == '\\' || cp == ':' || cp == '*' || cp == '?' ||
         cp == '"' || cp == '<' || cp == '>' || cp == '|';
}

// Steps 1-6, one after the other.
inline std::string ReferenceSafeTitle(std::string_view name) {
  std::vector<char32_t> cps = CodePoints(name);  // 1: invalid bytes are U+FFFD each
  std::vector<char32_t> step;
  for (char32_t cp : cps)  // 2: bidi controls removed
    if (!IsBidiControl(cp)) step.push_back(cp);
  for (char32_t& cp : step)  // 3: separators become "-"
    if (IsRuleSeparator(cp)) cp = '-';
  std::vector<char32_t> collapsed;  // 4: runs of "-" become one
  for (char32_t cp : step)
    if (!(cp == '-' && !collapsed.empty() && collapsed.back() == '-')) collapsed.push_back(cp);
  size_t b = 0, e = collapsed.size();  // 5: leading and trailing "-" and "." removed
  while (b < e && (collapsed[b] == '-' || collapsed[b] == '.')) ++b;
  while (e > b && (collapsed[e - 1] == '-' || collapsed[e - 1] == '.')) --e;
  std::string out;
  for (size_t i = b; i < e; ++i) Append(out, collapsed[i]);
  return out;
}

// Step 8's list of code points that belong to the one before them.
inline bool ExtendsPrevious(char32_t cp) {
  return cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF) ||
         (cp >= 0x1F3FB && cp <= 0x1F3FF) || (cp >= 0xE0020 && cp <= 0xE007F) || (cp >= 0x0300 && cp <= 0x036F) ||
         (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
         (cp >= 0xFE20 && cp <= 0xFE2F);
}

inline bool IsRegionalIndicator(char32_t cp) { return cp >= 0x1F1E6 && cp <= 0x1F1FF; }

// Whether cutting the code points `t` before index `cut` splits what a reader
// sees as one character (step 8).
inline bool SplitsCharacter(const std::vector<char32_t>& t, size_t cut) {
  if (cut == 0 || cut >= t.size()) return false;
  if (ExtendsPrevious(t[cut]) || t[cut - 1] == 0x200D) return true;
  if (IsRegionalIndicator(t[cut]) && IsRegionalIndicator(t[cut - 1])) {
    size_t run = 0;
    for (size_t i = cut; i > 0 && IsRegionalIndicator(t[i - 1]); --i) ++run;
    return run % 2 == 1;  // the cut falls inside a flag
  }
  return false;
}

// Checks `base` == ActivityBaseName(start, name, id, sport) against the rule.
inline void CheckBaseName(std::string_view base, const stravafs::LocalStart& start, std::string_view name, int64_t id,
                          std::string_view sport) {
  const std::string show = Show(base);
  // The whole name with the longest extension fits in NAME_MAX.
  FUZZ_CHECK(base.size() + 5 <= 255, show);
  FUZZ_CHECK(IsValidUtf8(base), show);
  char prefix[40];
  std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02d_%02d%02d_", start.year, start.month, start.day, start.hour,
                start.minute);
  const std::string suffix = "_" + std::to_string(id);
  FUZZ_CHECK(base.size() > std::strlen(prefix) + suffix.size(), show);
  FUZZ_CHECK(base.substr(0, std::strlen(prefix)) == prefix, show);
  FUZZ_CHECK(base.substr(base.size() - suffix.size()) == suffix, show);
  FUZZ_CHECK(base.front() != '.' && base.front() != '-', show);
  const std::string_view title = base.substr(std::strlen(prefix), base.size() - std::strlen(prefix) - suffix.size());

  // What any title must look like.
  FUZZ_CHECK(!title.empty(), show);
  FUZZ_CHECK(title.front() != '-' && title.front() != '.' && title.back() != '-' && title.back() != '.', show);
  FUZZ_CHECK(title.find("--") == std::string_view::npos, show);
  for (char32_t cp : CodePoints(title)) {
    FUZZ_CHECK(cp != 0 && cp != '/', show);
    FUZZ_CHECK(!IsControl(cp), show);
    FUZZ_CHECK(!IsBidiControl(cp), show);
    FUZZ_CHECK(!IsRuleSeparator(cp), show);
  }

  // Which title: the name's, else the sport's, else "Activity" (step 7).
  std::string want = ReferenceSafeTitle(name);
  if (want.empty()) want = ReferenceSafeTitle(sport);
  if (want.empty()) want = "Activity";
  const size_t budget = 250 - std::strlen(prefix) - suffix.size();
  if (want.size() <= budget) {
    FUZZ_CHECK(title == want, show + " want title " + Show(want));
    return;
  }
  // Cut (step 8): a prefix of the title, within the budget, at a boundary a
  // reader sees, with "-" and "." left at the end of the cut removed.
  FUZZ_CHECK(want.substr(0, title.size()) == title, show + " not a prefix of " + Show(want));
  const std::vector<char32_t> cps = CodePoints(want);
  size_t bytes = 0, index = 0;
  while (bytes < title.size()) {
    std::string one;
    Append(one, cps[index++]);
    bytes += one.size();
  }
  FUZZ_CHECK(bytes == title.size(), show + ": cut inside a character");
  // The cut was made at `index` or after some "-"/"." that were trimmed.
  bool found = false;
  for (size_t cut = index, at = bytes; cut <= cps.size() && at <= budget; ++cut) {
    if (!SplitsCharacter(cps, cut)) found = true;
    if (found || cut == cps.size() || (cps[cut] != '-' && cps[cut] != '.')) break;
    at += 1;
  }
  FUZZ_CHECK(found, show + ": the cut splits a character of " + Show(want));
}

}  // namespace fuzz
