// What SMTP callouts found out, remembered as Postfix's verify(8) does: an address that exists
// for the positive lifetime, one that does not for the (shorter) negative lifetime; a temporary
// failure is never remembered. Bounded: when full, the entry used longest ago goes first.
#pragma once
#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

namespace sluice::inbound {

enum class AddressStatus { Exists, Unknown };

class VerifyCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  VerifyCache(std::chrono::seconds positive_lifetime, std::chrono::seconds negative_lifetime, std::size_t capacity)
      : positive_(positive_lifetime), negative_(negative_lifetime), capacity_(capacity == 0 ? 1 : capacity) {}

  /// The remembered status of `key` (a lower-cased address), unless it has expired at `now`.
  std::optional<AddressStatus> find(const std::string& key, TimePoint now);
  /// Remembers `status` from `now` for its lifetime (a lifetime of 0 remembers nothing).
  void store(const std::string& key, AddressStatus status, TimePoint now);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    AddressStatus status;
    TimePoint expires;
    std::list<std::string>::iterator use;  ///< its place in `uses_`
  };
  std::chrono::seconds positive_, negative_;
  std::size_t capacity_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> uses_;  ///< keys, most recently used first
};

}  // namespace sluice::inbound
