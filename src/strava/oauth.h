// OAuth with Strava: the authorize URL, code exchange, refresh, scope checks,
// and TokenSource, which hands out a valid access token.
//
// TokenSource refreshes when the access token has under 5 minutes left (or
// when asked after a 401) and saves a rotated refresh token to disk before
// returning the new access token: Strava kills the old refresh token at once,
// so a crash between the two must not lose the only valid one.
// Not thread-safe; one per sync.
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "base/json.h"
#include "config/config.h"
#include "strava/http.h"
#include "strava/token_store.h"

namespace stravafs {

std::string AuthorizeUrl(const Config& config, const std::string& redirect_uri, const std::string& state);

// "Firstname Lastname" of an athlete object (Strava's summary or detailed
// athlete), control characters escaped, at most 100 bytes; "" without names.
std::string AthleteName(const Json& athlete);

// The scopes stravafs cannot work without that `granted` (comma-separated)
// lacks, e.g. {"activity:read_all"}.
std::vector<std::string> MissingScopes(const std::string& granted);

// POST /oauth/token with grant_type=authorization_code.
Result<Tokens> ExchangeCode(Transport& transport, const Config& config, const std::string& code);
// POST /oauth/token with grant_type=refresh_token.
Result<Tokens> RefreshTokens(Transport& transport, const Config& config, const std::string& refresh_token);

// GET /api/v3/athlete with the tokens' access token: records whose grant it
// is (athlete_id, athlete_name), for a grant whose token reply named no
// athlete (`stravafs auth --refresh-token`).
Status IdentifyAthlete(Transport& transport, const Config& config, Tokens& tokens);
// POST /oauth/deauthorize: revokes the grant at Strava. A token Strava no
// longer knows (401: revoked already) is ok.
Status Deauthorize(Transport& transport, const Config& config, const std::string& access_token);

// Reads Strava's error body ({"message":…,"errors":[{resource,field,code}]})
// into "message (resource field code)"; falls back to the HTTP status.
std::string DescribeErrorBody(long status, const std::string& body);

class TokenSource {
 public:
  TokenSource(Transport& transport, const Config& config, Clock& clock)
      : transport_(transport), config_(config), clock_(clock), store_(config.state_dir) {}

  // Whose grant to use: an athlete id, or 0 (the default) for the only one
  // there is (TokenStore::Load). Forgets the tokens held.
  void SetAthlete(int64_t athlete_id);
  // A valid access token; `force` refreshes even if the current one looks valid.
  Result<std::string> AccessToken(bool force = false);

 private:
  Transport& transport_;
  const Config& config_;
  Clock& clock_;
  TokenStore store_;
  int64_t athlete_id_ = 0;
  std::optional<Tokens> tokens_;
};

}  // namespace stravafs
