// Status and Result: how failures travel inside src/.
//
// Every fallible function in the core returns a Status or a Result<T>. A failed
// Status carries a kind (for exit codes and retry decisions) and a message written
// for a person: it says what went wrong and, where there is one, what to do next.
// Exceptions are not used for expected failures; C callbacks (libfuse, sqlite3,
// libcurl) never see one.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace stravafs {

enum class ErrorKind {
  kOk = 0,
  kGeneric,      // anything without a more precise kind
  kUsage,        // bad command line
  kConfig,       // bad or missing configuration
  kAuth,         // no token, token revoked, client rejected
  kScope,        // token lacks a scope we need
  kNetwork,      // connection failed, timed out, TLS
  kServer,       // 5xx or a reply we could not understand, after retries
  kNotFound,     // 404
  kRateLimited,  // the daily limit (or budget) is spent: resumable later
  kLocked,       // another sync holds the cache
  kCache,        // SQLite failure or a cache we cannot use
  kInterrupted,  // SIGINT/SIGTERM: state saved, resumable
  kStale,        // the mount: a file changed since the kernel looked it up (ESTALE)
  kReadOnly,     // the mount: a write asked of a read-only file (EROFS)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(ErrorKind kind, std::string message) { return Status(kind, std::move(message)); }

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message"; ok stays ok.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(kind_, context + ": " + message_);
  }

 private:
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace stravafs
