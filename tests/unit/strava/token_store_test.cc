// Tests for token_store.cc with real files: the round trip, permissions
// (0600 file, 0700 dir), atomic replacement, the messages for a missing
// or damaged file, and one grant file per athlete.
#include "strava/token_store.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fake_transport.h"

namespace stravafs {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

int Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 07777);
}

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

Tokens Sample() {
  Tokens t;
  t.access_token = "a4b945687g...";
  t.refresh_token = "e5n567567...";
  t.expires_at = INT64_C(1715616200);
  t.scope = "read,activity:read_all";
  t.athlete_id = INT64_C(3000000001);  // beyond 2^31
  return t;
}

TEST_CASE("TokenStore: Save then Load round trips every field", "[token_store]") {
  TempDir tmp;
  TokenStore store(tmp / "state/stravafs");
  CHECK(store.path() == tmp / "state/stravafs/tokens.json");
  REQUIRE(store.Save(Sample()).ok());
  auto loaded = store.Load();
  REQUIRE(loaded.ok());
  CHECK(loaded->access_token == "a4b945687g...");
  CHECK(loaded->refresh_token == "e5n567567...");
  CHECK(loaded->expires_at == INT64_C(1715616200));
  CHECK(loaded->scope == "read,activity:read_all");
  CHECK(loaded->athlete_id == INT64_C(3000000001));
}

TEST_CASE("TokenStore: a 0600 file in a 0700 directory", "[token_store]") {
  TempDir tmp;
  const std::string dir = tmp / "state";
  SECTION("a directory it creates") {
    TokenStore store(dir);
    REQUIRE(store.Save(Sample()).ok());
    CHECK(Mode(dir) == 0700);
    CHECK(Mode(store.path()) == 0600);
  }
  SECTION("an existing directory that was too open") {
    fs::create_directories(dir);
    ::chmod(dir.c_str(), 0755);
    Write(dir + "/tokens.json", "{}");
    ::chmod((dir + "/tokens.json").c_str(), 0644);
    TokenStore store(dir);
    REQUIRE(store.Save(Sample()).ok());
    CHECK(Mode(dir) == 0700);
    CHECK(Mode(store.path()) == 0600);
  }
}

TEST_CASE("TokenStore: Save replaces atomically and leaves no temporary file", "[token_store]") {
  TempDir tmp;
  TokenStore store(tmp / "state");
  REQUIRE(store.Save(Sample()).ok());
  Tokens next = Sample();
  next.refresh_token = "rotated";
  next.access_token = "fresh";
  REQUIRE(store.Save(next).ok());
  CHECK(Listing(tmp / "state") == std::vector<std::string>{"tokens.json"});
  auto loaded = store.Load();
  REQUIRE(loaded.ok());
  CHECK(loaded->refresh_token == "rotated");
  CHECK(loaded->access_token == "fresh");
  // The file is plain JSON a person can read.
  std::ifstream in(store.path());
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str());
  CHECK(j["refresh_token"] == "rotated");
  CHECK(j["expires_at"] == INT64_C(1715616200));
}

TEST_CASE("TokenStore: no file means not authorized yet", "[token_store]") {
  TempDir tmp;
  TokenStore store(tmp / "state");
  auto loaded = store.Load();
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().kind() == ErrorKind::kAuth);
  CHECK(loaded.status().message() == "not authorized yet (no " + store.path() + "): run `stravafs auth`");
}

TEST_CASE("TokenStore: a damaged file asks for stravafs auth again", "[token_store]") {
  TempDir tmp;
  TokenStore store(tmp.path());
  for (const char* text :
       {"", "{", "not json", "[]", "{\"access_token\":\"a\"}", "{\"refresh_token\":42}", "{\"refresh_token\":null}"}) {
    INFO(text);
    Write(store.path(), text);
    auto loaded = store.Load();
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().kind() == ErrorKind::kAuth);
    CHECK(loaded.status().message() == store.path() + " is damaged: run `stravafs auth` again");
  }
}

// nlohmann's value() throws type_error when a key holds another type, so a
// hand-edited file makes Load() throw instead of returning a Status.
TEST_CASE("TokenStore: wrongly typed optional fields are damage, not an exception", "[token_store][bug]") {
  TempDir tmp;
  TokenStore store(tmp.path());
  for (const char* text : {R"({"refresh_token":"r","expires_at":"tomorrow"})",
                           R"({"refresh_token":"r","access_token":5})", R"({"refresh_token":"r","scope":["read"]})",
                           // Issue 15: unsigned beyond int64 wrapped to a negative number.
                           R"({"refresh_token":"r","expires_at":18446744073709551615})",
                           R"({"refresh_token":"r","athlete_id":9223372036854775808})",
                           R"({"refresh_token":"r","expires_at":1.7e9})", R"({"refresh_token":"r","base_url":1})"}) {
    INFO(text);
    Write(store.path(), text);
    Result<Tokens> loaded = Status::Error(ErrorKind::kGeneric, "not run");
    CHECK_NOTHROW(loaded = store.Load());
    CHECK_FALSE(loaded.ok());
    CHECK(loaded.status().kind() == ErrorKind::kAuth);
  }
}

TEST_CASE("TokenStore: Load accepts a file with only a refresh token", "[token_store]") {
  TempDir tmp;
  TokenStore store(tmp.path());
  Write(store.path(), R"({"refresh_token":"only"})");
  auto loaded = store.Load();
  REQUIRE(loaded.ok());
  CHECK(loaded->refresh_token == "only");
  CHECK(loaded->access_token == "");
  CHECK(loaded->expires_at == 0);
  CHECK(loaded->athlete_id == 0);
}

TEST_CASE("TokenStore: Save into an impossible directory is a kAuth error naming it", "[token_store]") {
  TempDir tmp;
  Write(tmp / "file", "x");
  TokenStore store(tmp / "file/state");
  Status s = store.Save(Sample());
  CHECK(s.kind() == ErrorKind::kAuth);
  CHECK_THAT(s.message(), Catch::StartsWith("cannot create " + (tmp / "file/state") + ": "));
}

Tokens GrantOf(int64_t athlete, const std::string& refresh, const std::string& name = "") {
  Tokens t = Sample();
  t.athlete_id = athlete;
  t.refresh_token = refresh;
  t.athlete_name = name;
  return t;
}

TEST_CASE("TokenStore: the first athlete's grant is tokens.json, each further one tokens-ID.json", "[token_store]") {
  TempDir tmp;
  TokenStore store(tmp.path());
  REQUIRE(store.Save(GrantOf(11, "r-ann", "Ann Lee")).ok());
  REQUIRE(store.Save(GrantOf(22, "r-bob", "Bob")).ok());
  REQUIRE(store.Save(GrantOf(11, "r-ann-2", "Ann Lee")).ok());  // a refresh replaces Ann's own file
  CHECK(Listing(tmp.path()) == std::vector<std::string>{"tokens-22.json", "tokens.json"});
  CHECK(Mode(tmp / "tokens-22.json") == 0600);
  CHECK(store.PathFor(11) == tmp / "tokens.json");
  CHECK(store.PathFor(22) == tmp / "tokens-22.json");
  CHECK(store.PathFor(33) == tmp / "tokens-33.json");

  std::vector<Grant> grants = store.List();
  REQUIRE(grants.size() == 2);
  CHECK(grants[0].path == tmp / "tokens.json");
  CHECK(grants[0].tokens->refresh_token == "r-ann-2");
  CHECK(grants[0].tokens->athlete_name == "Ann Lee");
  CHECK(grants[1].tokens->athlete_id == 22);

  CHECK(store.Load(22)->refresh_token == "r-bob");
  CHECK(store.Load(11)->refresh_token == "r-ann-2");
  auto several = store.Load();
  CHECK(several.status().kind() == ErrorKind::kAuth);
  CHECK(several.status().message() ==
        "several athletes are authorized here (11 (Ann Lee), 22 (Bob)): say which with `stravafs sync --athlete ID`");
  auto stranger = store.Load(33);
  CHECK(stranger.status().message() ==
        "athlete 33 is not authorized here (the grants are 11 (Ann Lee), 22 (Bob)): run `stravafs auth` as that "
        "athlete");

  // Removing Ann leaves Bob's file as the only grant, found with no id given.
  REQUIRE(store.Remove(11).ok());
  REQUIRE(store.Remove(11).ok());  // gone already: fine
  CHECK(Listing(tmp.path()) == std::vector<std::string>{"tokens-22.json"});
  CHECK(store.Load()->refresh_token == "r-bob");
  // A new first athlete takes tokens.json again.
  CHECK(store.PathFor(44) == tmp / "tokens.json");
}

TEST_CASE("TokenStore: a grant with no athlete recorded is the only athlete's, and a new grant replaces it",
          "[token_store]") {
  TempDir tmp;
  TokenStore store(tmp.path());
  REQUIRE(store.Save(GrantOf(0, "r-old")).ok());    // written by --refresh-token before stravafs asked whose
  CHECK(store.Load(11)->refresh_token == "r-old");  // the cache's athlete: the only grant there is
  REQUIRE(store.Save(GrantOf(11, "r-new", "Ann Lee")).ok());
  CHECK(Listing(tmp.path()) == std::vector<std::string>{"tokens.json"});
  CHECK(store.Load()->athlete_id == 11);

  // A refusal is remembered with the grant, and a good refresh forgets it.
  Tokens refused = GrantOf(11, "r-new", "Ann Lee");
  refused.refused_at = 1765000000;
  refused.refused = "Strava rejected the stored refresh token";
  REQUIRE(store.Save(refused).ok());
  CHECK(store.Load(11)->refused_at == 1765000000);
  CHECK(store.Load(11)->refused == "Strava rejected the stored refresh token");
  REQUIRE(store.Save(GrantOf(11, "r-newer", "Ann Lee")).ok());
  CHECK(store.Load(11)->refused_at == 0);
}

TEST_CASE("TokenStore: a damaged grant is listed as such, and other files in the folder are no grants",
          "[token_store]") {
  TempDir tmp;
  TokenStore store(tmp.path());
  REQUIRE(store.Save(GrantOf(11, "r-ann")).ok());
  Write(tmp / "tokens-22.json", "{not json");
  for (const char* stray : {"tokens-.json", "tokens-0x1.json", "tokens-012.json", "tokens-5.json.tmp.1.2",
                            "tokens.json.lock", "tokens-99999999999999999999.json"})
    Write(tmp / stray, "{}");
  std::vector<Grant> grants = store.List();
  REQUIRE(grants.size() == 2);
  CHECK(grants[1].path == tmp / "tokens-22.json");
  CHECK(grants[1].tokens.status().message() == tmp / "tokens-22.json" + " is damaged: run `stravafs auth` again");
  CHECK(store.Load(11)->refresh_token == "r-ann");
}

}  // namespace
}  // namespace stravafs
