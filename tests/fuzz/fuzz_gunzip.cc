// Fuzz target: Gunzip (src/base/gzip.h), which inflates every .fit.gz,
// .gpx.gz and .tcx.gz of an import and the originals the mount shows.
//
// Input: the first byte picks the bound (0 to 64 KiB: small, so that bombs
// show cheaply), the second the mode; the rest is the data.
//   mode even: the data as a gzip file, as it comes;
//   mode odd:  the data is the payload: compressed here with zlib (deflate,
//              gzip or zlib wrapper, a level, optionally as two gzip members
//              and with NUL padding), then inflated, and also in damaged
//              forms (cut short, or with bytes after the end).
// Checks:
//   - Gunzip never crashes and has no undefined behaviour (ASan, UBSan);
//   - the output never exceeds the bound; a refusal for size names the bound;
//   - the same input gives the same result twice;
//   - a payload compressed by zlib comes back exactly when it fits the bound,
//     and is refused as too large when it does not; two members come back
//     concatenated; NUL padding after the last member is ignored;
//   - a single gzip member cut short by any number of bytes is an error,
//     never data; bytes after the end that are neither NUL nor another
//     member are an error.
#include <zlib.h>

#include <string>

#include "base/gzip.h"
#include "fuzz_check.h"

using namespace stravafs;

namespace {

constexpr size_t kBounds[] = {0, 1, 2, 7, 64, 100, 512, 1000, 4096, 10000, 32768, 65535, 65536};

Result<std::string> GunzipChecked(std::string_view bytes, size_t bound) {
  Result<std::string> r = Gunzip(bytes, bound);
  Result<std::string> again = Gunzip(bytes, bound);
  FUZZ_CHECK(r.ok() == again.ok(), "once inflated, once refused");
  if (r.ok()) {
    FUZZ_CHECK(r->size() <= bound, std::to_string(r->size()) + " bytes out, bound " + std::to_string(bound));
    FUZZ_CHECK(*r == *again, "inflated twice, different bytes");
  } else {
    FUZZ_CHECK(r.status().message() == again.status().message(), r.status().message());
    FUZZ_CHECK(r.status().message().rfind("gzip: ", 0) == 0, r.status().message());
  }
  return r;
}

bool IsTooLarge(const Result<std::string>& r, size_t bound) {
  return !r.ok() && r.status().message().find("exceeds " + std::to_string(bound) + " bytes") != std::string::npos;
}

// zlib's deflate of `data`: window_bits 15 + 16 writes gzip, 15 zlib.
std::string Compress(std::string_view data, int level, int window_bits, int strategy) {
  z_stream zs{};
  FUZZ_CHECK(deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, strategy) == Z_OK, "deflateInit2");
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END, "deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// `options` (the mode byte, bit 0 set): bits 1-3 the level (0 stored to 7),
// bits 4-5 the wrapper and strategy (0: zlib; 1, 2: gzip; 3: gzip, Huffman
// only), bit 6 two members, bit 7 NUL padding.
void CheckPayload(std::string_view payload, size_t bound, uint8_t options) {
  const int level = options >> 1 & 7;
  const bool zlib_wrapper = (options >> 4 & 3) == 0;
  const bool two_members = !zlib_wrapper && (options >> 6 & 1);
  const bool padding = options >> 7 & 1;
  const int strategy = (options >> 4 & 3) == 3 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY;
  const int window_bits = zlib_wrapper ? 15 : 15 + 16;

  std::string gz;
  const size_t cut = two_members ? payload.size() / 3 : payload.size();
  gz = Compress(payload.substr(0, cut), level, window_bits, strategy);
  if (two_members) gz += Compress(payload.substr(cut), level, window_bits, strategy);
  std::string padded = gz;
  if (padding) padded.append(1 + static_cast<size_t>(level), '\0');

  const Result<std::string> r = GunzipChecked(padded, bound);
  if (payload.size() <= bound) {
    FUZZ_CHECK(r.ok(), "zlib's own output refused: " + r.status().message());
    FUZZ_CHECK(*r == payload, "inflated " + std::to_string(r->size()) + " bytes, not the " +
                                  std::to_string(payload.size()) + " compressed");
  } else {
    FUZZ_CHECK(IsTooLarge(r, bound), r.ok() ? "inflated past the bound" : r.status().message());
  }

  // Damage: a single member cut short is never data.
  if (!two_members) {
    for (size_t drop : {size_t{1}, size_t{4}, size_t{8}, gz.size() / 2, gz.size() - 1}) {
      if (drop == 0 || drop >= gz.size()) continue;
      const Result<std::string> cut_short = GunzipChecked(std::string_view(gz).substr(0, gz.size() - drop), bound);
      FUZZ_CHECK(!cut_short.ok(), "a stream cut by " + std::to_string(drop) + " bytes inflated to " +
                                      std::to_string(cut_short->size()) + " bytes");
    }
  }
  // Bytes after the end that are not NUL padding and not a gzip member.
  std::string trailing = gz + "x";
  trailing.append(static_cast<size_t>(level % 3), '\0');
  FUZZ_CHECK(!GunzipChecked(trailing, bound).ok(), "trailing garbage accepted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t bound = kBounds[data[0] % std::size(kBounds)];
  const uint8_t mode = data[1];
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  if (mode % 2 == 0) {
    (void)GunzipChecked(rest, bound);
  } else {
    CheckPayload(rest, bound, mode);
  }
  return 0;
}
