// Tests for token_store.cc with real files: the round trip, permissions
// (0600 file, 0700 dir), atomic replacement, and the messages for a missing
// or damaged file.
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

}  // namespace
}  // namespace stravafs
