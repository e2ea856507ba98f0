// The browser authorization: a one-shot loopback listener for Strava's redirect.
//
// Listens on 127.0.0.1 only (never a public interface), on an ephemeral port
// unless told otherwise. Only GET /callback is served; other paths get 404,
// other methods 405, and a request whose `state` differs from ours 400 while
// the listener keeps waiting for the real one. Times out after `timeout`.
#pragma once

#include <functional>
#include <string>

#include "config/config.h"
#include "base/status.h"

namespace stravafs {

struct AuthRedirect {
  std::string code;
  std::string scope;  // as granted by the user
};

// Starts the listener, calls `ready(redirect_uri)` once it accepts
// connections, and returns what the redirect brought. kAuth errors for
// access_denied, kScope for missing scopes (naming them), and a timeout.
Result<AuthRedirect> AwaitAuthRedirect(const std::string& expected_state, int port, Millis timeout,
                                       const std::function<void(const std::string&)>& ready);

// 32 random hex characters for `state`.
std::string RandomState();

}  // namespace stravafs
