#include "strava/oauth.h"

#include <sstream>

#include "base/json.h"
#include "base/utf8.h"

namespace stravafs {

namespace {

// Scopes without which a sync cannot be complete.
constexpr const char* kRequiredScopes[] = {"read", "activity:read_all"};

Result<Tokens> PostToken(Transport& transport, const Config& config,
                         std::vector<std::pair<std::string, std::string>> fields, bool is_code) {
  if (config.client_id.empty())
    return Status::Error(ErrorKind::kConfig, config.path + ": [strava] client_id is not set (see stravafs.conf(5))");
  if (config.client_secret.empty())
    return Status::Error(ErrorKind::kConfig, config.path +
                                                 ": no client secret: set [strava] client_secret_file, client_secret "
                                                 "or $STRAVA_CLIENT_SECRET");
  fields.insert(fields.begin(), {{"client_id", config.client_id}, {"client_secret", config.client_secret}});
  HttpRequest req;
  req.method = "POST";
  req.url = config.base_url + "/oauth/token";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = FormEncode(fields);
  req.timeout = config.timeout;
  req.max_body = config.max_reply;
  auto resp = transport.Send(req);
  if (!resp.ok()) return resp.status().WithContext("cannot reach " + config.base_url + "/oauth/token");
  if (resp->status != 200) {
    std::string why = DescribeErrorBody(resp->status, resp->body);
    ErrorKind kind = resp->status >= 500 || resp->status == 429 ? ErrorKind::kServer : ErrorKind::kAuth;
    if (resp->status == 400 || resp->status == 401) {
      if (why.find("client_id") != std::string::npos || why.find("Application") != std::string::npos)
        return Status::Error(kind, "Strava rejected the client id or secret (" + why +
                                       "): check [strava] client_id and the secret in " + config.path);
      return Status::Error(kind, is_code ? "Strava rejected the authorization code (" + why +
                                               "): codes are single-use and short-lived; run `stravafs auth` again"
                                         : "Strava rejected the stored refresh token (" + why +
                                               "): it was revoked or replaced; run `stravafs auth` again");
    }
    return Status::Error(kind, "token request failed: " + why);
  }
  auto j = ParseJson(resp->body);
  if (j.is_discarded() || !j.is_object() || !j.contains("access_token") || !j["access_token"].is_string() ||
      !j.contains("refresh_token") || !j["refresh_token"].is_string() || !j.contains("expires_at") ||
      !FitsInt64(j["expires_at"]))
    return Status::Error(ErrorKind::kServer, "Strava's token reply was not understood (no tokens in it); try again");
  Tokens t;
  t.base_url = config.base_url;
  t.client_id = config.client_id;
  t.access_token = j["access_token"];
  t.refresh_token = j["refresh_token"];
  t.expires_at = j["expires_at"].get<int64_t>();
  if (j.contains("athlete") && j["athlete"].is_object() && j["athlete"].contains("id") &&
      FitsInt64(j["athlete"]["id"]))  // (an id beyond int64 would wrap: left unknown)
    t.athlete_id = j["athlete"]["id"].get<int64_t>();
  if (j.contains("athlete") && j["athlete"].is_object()) t.athlete_name = AthleteName(j["athlete"]);
  return t;
}

}  // namespace

std::string AthleteName(const Json& athlete) {
  std::string name;
  for (const char* key : {"firstname", "lastname"})
    if (athlete.contains(key) && athlete[key].is_string() && !athlete[key].get_ref<const std::string&>().empty())
      name += (name.empty() ? "" : " ") + athlete[key].get<std::string>();
  name = EscapeControls(name);
  constexpr size_t kMaxName = 100;  // a name, not a page
  return name.substr(0, Utf8Prefix(name, kMaxName));
}

std::string AuthorizeUrl(const Config& config, const std::string& redirect_uri, const std::string& state) {
  return config.base_url + "/oauth/authorize?" +
         FormEncode({{"client_id", config.client_id},
                     {"redirect_uri", redirect_uri},
                     {"response_type", "code"},
                     {"approval_prompt", "auto"},
                     {"scope", config.scope},
                     {"state", state}});
}

std::vector<std::string> MissingScopes(const std::string& granted) {
  std::vector<std::string> have, missing;
  std::stringstream in(granted);
  for (std::string s; std::getline(in, s, ',');) have.push_back(s);
  for (const char* need : kRequiredScopes)
    if (std::find(have.begin(), have.end(), need) == have.end()) missing.emplace_back(need);
  return missing;
}

// The server's own words are escaped (EscapeControls): they reach the
// terminal, last_error in the cache and syslog.
std::string DescribeErrorBody(long status, const std::string& body) {
  auto j = ParseJson(body);
  std::string out = "HTTP " + std::to_string(status);
  if (j.is_discarded() || !j.is_object()) return out;
  if (j.contains("message") && j["message"].is_string()) out += " " + j["message"].get<std::string>();
  if (j.contains("errors") && j["errors"].is_array()) {
    for (const auto& e : j["errors"]) {
      if (!e.is_object()) continue;
      std::string part;
      for (const char* k : {"resource", "field", "code"})
        if (e.contains(k) && e[k].is_string() && !e[k].get<std::string>().empty())
          part += (part.empty() ? "" : " ") + e[k].get<std::string>();
      if (!part.empty()) out += " [" + part + "]";
    }
  }
  out = EscapeControls(out);
  // A page of text is no message: cut (on a character boundary).
  constexpr size_t kMaxMessage = 500;
  if (const size_t cut = Utf8Prefix(out, kMaxMessage); cut < out.size()) out = out.substr(0, cut) + "...";
  return out;
}

Result<Tokens> ExchangeCode(Transport& transport, const Config& config, const std::string& code) {
  return PostToken(transport, config, {{"code", code}, {"grant_type", "authorization_code"}}, true);
}

Result<Tokens> RefreshTokens(Transport& transport, const Config& config, const std::string& refresh_token) {
  return PostToken(transport, config, {{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}}, false);
}

void TokenSource::SetAthlete(int64_t athlete_id) {
  if (athlete_id != athlete_id_) tokens_.reset();
  athlete_id_ = athlete_id;
}

Status IdentifyAthlete(Transport& transport, const Config& config, Tokens& tokens) {
  HttpRequest req;
  req.url = config.base_url + "/api/v3/athlete";
  req.headers = {{"Authorization", "Bearer " + tokens.access_token}, {"Accept", "application/json"}};
  req.timeout = config.timeout;
  req.max_body = config.max_reply;
  auto resp = transport.Send(req);
  if (!resp.ok()) return resp.status().WithContext("cannot reach " + req.url);
  if (resp->status != 200)
    return Status::Error(resp->status >= 500 || resp->status == 429 ? ErrorKind::kServer : ErrorKind::kAuth,
                         "cannot learn whose grant this is: " + DescribeErrorBody(resp->status, resp->body));
  auto j = ParseJson(resp->body);
  if (j.is_discarded() || !j.is_object() || !j.contains("id") || !FitsInt64(j["id"]) || j["id"].get<int64_t>() <= 0)
    return Status::Error(ErrorKind::kServer, "Strava's athlete reply was not understood (no id in it); try again");
  tokens.athlete_id = j["id"].get<int64_t>();
  tokens.athlete_name = AthleteName(j);
  return Status::Ok();
}

Status Deauthorize(Transport& transport, const Config& config, const std::string& access_token) {
  HttpRequest req;
  req.method = "POST";
  req.url = config.base_url + "/oauth/deauthorize";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  req.body = FormEncode({{"access_token", access_token}});
  req.timeout = config.timeout;
  req.max_body = config.max_reply;
  auto resp = transport.Send(req);
  if (!resp.ok()) return resp.status().WithContext("cannot reach " + req.url);
  if (resp->status == 200 || resp->status == 401) return Status::Ok();
  return Status::Error(resp->status >= 500 || resp->status == 429 ? ErrorKind::kServer : ErrorKind::kAuth,
                       "Strava did not revoke the grant: " + DescribeErrorBody(resp->status, resp->body));
}

Result<std::string> TokenSource::AccessToken(bool force) {
  if (!tokens_) {
    auto loaded = store_.Load(athlete_id_);
    if (!loaded.ok()) return loaded.status();
    tokens_ = *loaded;
  }
  // Never to another server or app: a config (or a database naming one)
  // that points elsewhere gets neither the access token nor the refresh
  // token and the client secret that a refresh would send.
  auto bound_elsewhere = [&](const Tokens& t) -> Status {
    if ((t.base_url.empty() || t.base_url == config_.base_url) &&
        (t.client_id.empty() || t.client_id == config_.client_id))
      return Status::Ok();
    return Status::Error(ErrorKind::kAuth,
                         store_.PathFor(t.athlete_id) + " holds tokens issued by " + t.base_url + " for client_id " +
                             t.client_id + ", but " + config_.path + " names " + config_.base_url + " and client_id " +
                             config_.client_id +
                             "; they are never sent elsewhere: fix the config, or run `stravafs auth` with it");
  };
  if (Status s = bound_elsewhere(*tokens_); !s.ok()) return s;
  int64_t now = clock_.NowMs() / 1000;
  auto usable = [&](const Tokens& t) { return !t.access_token.empty() && t.expires_at - now > 300; };
  if (!force && usable(*tokens_)) return tokens_->access_token;

  // One process refreshes at a time, and each first reads what another may
  // have saved meanwhile: refreshing with a refresh token another process
  // already rotated would be refused ("run stravafs auth") though the grant
  // is fine (issue 15).
  auto lock = TokenLock::Acquire(store_.dir(), 2 * config_.timeout.count() + 5000);
  if (!lock.ok()) return lock.status();
  if (auto disk = store_.Load(tokens_->athlete_id);
      disk.ok() && (disk->refresh_token != tokens_->refresh_token || disk->access_token != tokens_->access_token)) {
    if (Status s = bound_elsewhere(*disk); !s.ok()) return s;  // re-authorized elsewhere meanwhile
    const std::string rejected = tokens_->access_token;
    tokens_ = *disk;
    if (usable(*tokens_) && (!force || tokens_->access_token != rejected)) return tokens_->access_token;
  }

  auto fresh = RefreshTokens(transport_, config_, tokens_->refresh_token);
  if (!fresh.ok()) {
    // Remembered for `stravafs athletes`: the grant may be dead. Best effort.
    if (fresh.status().kind() == ErrorKind::kAuth && tokens_->refused_at == 0) {
      Tokens refused = *tokens_;
      refused.refused_at = now;
      refused.refused = fresh.status().message();
      (void)store_.Save(refused);
    }
    return fresh.status();
  }
  fresh->scope = tokens_->scope;
  if (fresh->athlete_id == 0) fresh->athlete_id = tokens_->athlete_id;
  fresh->athlete_name = tokens_->athlete_name;
  // Durable before use: the old refresh token may already be dead.
  if (auto s = store_.Save(*fresh); !s.ok())
    return s.WithContext("a new refresh token could not be saved (Strava already replaced the old one)");
  tokens_ = *fresh;
  return tokens_->access_token;
}

}  // namespace stravafs
