// Error values and Expected<T>: how every module reports failure.
//
// No exceptions cross module borders. A function that can fail returns
// Expected<T> (a T or an Error) or Status (nothing or an Error). Errors gain
// context as they travel up, so the message that reaches a log line or an
// ElementalHost condition reads as a chain:
//   "installing host: pulling oci://...: blob sha256:...: digest mismatch"
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace elemental {

// Error is a human-readable message plus an optional numeric code (an HTTP
// status for API errors, an errno for system errors, 0 otherwise).
class Error {
 public:
  Error() = default;
  explicit Error(std::string message, int code = 0) : message_(std::move(message)), code_(code) {}

  const std::string& message() const { return message_; }
  int code() const { return code_; }

  // Returns a copy with "context: " in front of the message; the code is kept.
  [[nodiscard]] Error Wrap(const std::string& context) const {
    return Error(context + ": " + message_, code_);
  }

 private:
  std::string message_;
  int code_ = 0;
};

// Builds an Error from errno-style codes: "context: strerror(err)".
Error ErrnoError(const std::string& context, int err);

// Tag type so that `return Unexpected(err)` reads well.
struct Unexpected {
  explicit Unexpected(Error e) : error(std::move(e)) {}
  Error error;
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Expected(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT
  Expected(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!has_value()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Status: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Unexpected u) : err_(std::move(u.error)), ok_(false) {}  // NOLINT
  Status(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT

  static Status Ok() { return Status(); }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

}  // namespace elemental
