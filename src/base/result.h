// The one way a fallible operation reports failure: a value or an error, never both. The error
// type defaults to Error (a reason for people to read); SMTP paths use smtp::Reply, which keeps
// the code, enhanced code and text a decision needs. No exceptions for expected failures.
#pragma once
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace sluice {

/// A failure that callers only report: the human-readable reason ("disk full", "no such file").
struct Error {
  std::string message;
};

/// Wraps an error so that `return fail(...)` converts to any Result with that error type.
template <typename E>
struct Failed {
  E error;
};
template <typename E>
Failed<std::decay_t<E>> fail(E&& error) {
  return {std::forward<E>(error)};
}
/// The common case: fail("reason") gives an Error.
inline Failed<Error> fail(std::string message) { return {Error{std::move(message)}}; }
inline Failed<Error> fail(const char* message) { return {Error{message}}; }

template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}
  /// A default value, as std::expected has (run_blocking needs it for its result slot).
  Result() requires std::is_default_constructible_v<T> : data_(std::in_place_index<0>) {}
  template <typename F, typename = std::enable_if_t<std::is_constructible_v<E, F&&>>>
  Result(Failed<F> failed) : data_(std::in_place_index<1>, E(std::move(failed.error))) {}

  bool ok() const { return data_.index() == 0; }
  bool has_value() const { return ok(); }  ///< as std::optional and std::expected say it
  explicit operator bool() const { return ok(); }

  /// Only when ok(); std::bad_variant_access otherwise (a programming error, not a failure).
  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  /// The value, or `fallback` when there is none.
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

  /// Only when !ok().
  const E& error() const { return std::get<1>(data_); }
  E& error() { return std::get<1>(data_); }

 private:
  std::variant<T, E> data_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  template <typename F, typename = std::enable_if_t<std::is_constructible_v<E, F&&>>>
  Result(Failed<F> failed) : error_(E(std::move(failed.error))), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  /// Only when !ok().
  const E& error() const { return error_; }
  E& error() { return error_; }

 private:
  E error_{};
  bool ok_ = true;
};

/// A lower layer's error code (zero for success) as a Result that keeps it.
inline Result<void, std::error_code> as_result(std::error_code ec) {
  if (ec) return fail(ec);
  return {};
}

}  // namespace sluice
