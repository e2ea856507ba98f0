// The HTTP transport: the one door between stravafs and the network.
//
// The Strava client and the sync engine take a Transport& and never create
// one, so tests can hand them a fake that records and fails calls on demand.
// CurlTransport is the real one. A Transport is used by one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace stravafs {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;  // sent as is; set a Content-Type header with it
  std::chrono::milliseconds timeout{30000};
  size_t max_body = kMaxReplyBytes;  // (config.h) a longer reply is an error (kServer) naming the bound
};

struct HttpResponse {
  long status = 0;
  Headers headers;  // names as received
  std::string body;

  // The first header named `name`, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
};

// Takes one header line as curl reports it ("Name: value\r\n"): a status
// line ("HTTP/...") starts a new response and drops the headers kept so far
// (curl reports those of every intermediate response too, e.g. "100
// Continue"); a line with a colon adds its name and value, both trimmed;
// anything else (the blank line that ends the headers) is ignored.
void AddHeaderLine(std::string_view line, Headers& headers);

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one request. A reply of any HTTP status is ok(); only a failure to
  // get a reply at all (DNS, connect, timeout, TLS, truncated transfer) is a
  // Status of kind kNetwork.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

// libcurl implementation. Thread-compatible: one instance per thread.
std::unique_ptr<Transport> MakeCurlTransport();

// Percent-encodes for a URL query or a form body.
std::string UrlEncode(std::string_view s);

// "a=1&b=2" from pairs, each side percent-encoded.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace stravafs
