// Who a client is, for SMTP AUTH on a receive connector (docs/relay-for-devices.md): the check
// of a user name and password, and what the session keeps up across sessions (the delay that
// grows with an address's failures, each user's message rate).
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "auth/user_database.h"

namespace sluice::inbound {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  /// The user `name` is, when `password` is its password; null otherwise (unknown user too).
  /// The password check costs milliseconds by design (yescrypt): implementations run it on
  /// `blocking`, off the network thread. The references must outlive the call (no temporaries
  /// in a co_await expression, GCC PR 99576). The entry is a snapshot: a later reload of the
  /// users file does not change it.
  virtual asio::awaitable<std::shared_ptr<const auth::User>> verify(const std::string& name,
                                                                    const std::string& password,
                                                                    const asio::any_io_executor& blocking) = 0;
};

/// How AuthPenalty's delay grows.
struct AuthPenaltySchedule {
  std::chrono::milliseconds base{1000};  ///< the delay after the second failure
  std::chrono::milliseconds max{15000};
  std::chrono::seconds memory{900};  ///< an address is forgotten this long after its last failure
};

/// The delay before a 535 for a client address with recent failures: none for the first, then
/// `base` doubled per further failure up to `max` (Dovecot's auth penalty, the same idea). An
/// address is forgotten `memory` after its last failure, and at once after a success from it.
/// Used on the network thread only.
class AuthPenalty {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using Schedule = AuthPenaltySchedule;
  explicit AuthPenalty(Schedule schedule = {}, Clock clock = {});

  /// Counts one failure from `client`; returns how long to wait before answering it.
  std::chrono::milliseconds failed(const asio::ip::address& client);
  void succeeded(const asio::ip::address& client) { failures_.erase(client); }
  std::size_t tracked() const { return failures_.size(); }

 private:
  struct Record {
    std::size_t count = 0;
    std::chrono::steady_clock::time_point last;
  };
  void forget_old(std::chrono::steady_clock::time_point now);

  Schedule schedule_;
  Clock clock_;
  std::map<asio::ip::address, Record> failures_;
};

/// Each user's messages in its rate window (auth::User::rate), across sessions: a sliding window
/// of the times its messages were queued. Used on the network thread only.
class UserRates {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit UserRates(Clock clock = {});

  /// True when `user` may start another message now (its rate, if any, not used up).
  bool allows(const auth::User& user);
  /// A message of `user` was queued.
  void queued(const auth::User& user);

 private:
  /// The user's times inside its window, older ones dropped.
  std::deque<std::chrono::steady_clock::time_point>& window(const auth::User& user);

  Clock clock_;
  std::unordered_map<std::string, std::deque<std::chrono::steady_clock::time_point>> sent_;
};

}  // namespace sluice::inbound
