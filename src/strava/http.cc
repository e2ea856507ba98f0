// The libcurl Transport, and URL/form encoding.
//
// One CURL easy handle per CurlTransport, reused across requests so the
// connection (and TLS session) stays alive: a sync makes hundreds of calls to
// the same host. curl never sees an exception: its callbacks only append.
#include "strava/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace stravafs {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// The body as curl decodes it, up to a bound: a longer one stops the
// transfer (returning less than given makes curl fail with
// CURLE_WRITE_ERROR) and is reported as too large.
struct BodySink {
  std::string* body;
  size_t max;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  if (n * size > sink->max - std::min(sink->max, sink->body->size())) {
    sink->too_large = true;
    return 0;
  }
  sink->body->append(data, size * n);
  return size * n;
}

std::string MiB(size_t bytes) {
  return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

// The headers of the last response only (see AddHeaderLine).
size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  AddHeaderLine(std::string_view(data, size * n), *static_cast<Headers*>(user));
  return size * n;
}

class CurlTransport final : public Transport {
 public:
  CurlTransport() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    curl_ = curl_easy_init();
  }
  ~CurlTransport() override { curl_easy_cleanup(curl_); }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<HttpResponse> Send(const HttpRequest& req) override {
    if (curl_ == nullptr) return Status::Error(ErrorKind::kNetwork, "libcurl failed to initialise");
    curl_easy_reset(curl_);
    HttpResponse resp;
    char error[CURL_ERROR_SIZE] = {0};

    curl_slist* headers = nullptr;
    for (const auto& [name, value] : req.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
    // Strava may answer with an empty 404; "Expect: 100-continue" only slows posts.
    headers = curl_slist_append(headers, "Expect:");

    curl_easy_setopt(curl_, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<long long>(req.timeout.count(), 15000)));
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, OnBody);
    BodySink sink{&resp.body, req.max_body};
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &sink);
    // A Content-Length over the bound fails before the body is read; the
    // sink counts what is decoded (chunked, gzip).
    curl_easy_setopt(curl_, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(req.max_body));
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &resp.headers);
    curl_easy_setopt(curl_, CURLOPT_ACCEPT_ENCODING, "");  // gzip when offered
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, "stravafs/" STRAVAFS_VERSION);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req.method == "POST") {
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, req.body.c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
    } else if (req.method != "GET") {
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }

    CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED)
      return Status::Error(ErrorKind::kServer, "reply refused: larger than " + MiB(req.max_body) + " (decoded)");
    if (rc != CURLE_OK) {
      std::string what = error[0] ? error : curl_easy_strerror(rc);
      return Status::Error(ErrorKind::kNetwork, what);
    }
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &resp.status);
    return resp;
  }

 private:
  CURL* curl_ = nullptr;
};

}  // namespace

void AddHeaderLine(std::string_view line, Headers& headers) {
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    headers.emplace_back(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  }
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (EqualsIgnoreCase(n, name)) return v;
  return std::nullopt;
}

std::unique_ptr<Transport> MakeCurlTransport() { return std::make_unique<CurlTransport>(); }

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += UrlEncode(k) + "=" + UrlEncode(v);
  }
  return out;
}

}  // namespace stravafs
