// The sender's MTA-STS policy discovery (RFC 8461 5.1): the _mta-sts TXT record says whether a
// domain has a policy and its id; the policy is fetched when the id is new and kept, in memory and
// on disk, for its max_age, so that a policy host that is down, or a TXT record an attacker
// suppressed, does not turn MTA-STS off.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "mta_sts/policy.h"
#include "mta_sts/policy_cache_file.h"
#include "mta_sts/policy_fetch.h"
#include "net/dns.h"

namespace sluice::mta_sts {

using WallClock = std::function<std::chrono::system_clock::time_point()>;

struct StoreSettings {
  /// Where policies are kept across restarts (<state_dir>/mta-sts); empty: in memory only.
  std::filesystem::path cache_dir;
  /// After a failed fetch, the same domain and id are not fetched again for this long: a policy
  /// host that is down would otherwise cost every message to that domain a fetch timeout.
  std::chrono::seconds retry_failed_fetch{300};
};

class PolicyStore : public PolicySource {
 public:
  /// `dns` must outlive the store; `clock` empty: the system clock.
  PolicyStore(const net::MailLookups& dns, PolicyFetcher fetch, StoreSettings settings, WallClock clock = {});

  /// RFC 8461 5.1, in order: no TXT record (or a malformed one, or a lookup that failed) with a
  /// live cached policy: that policy; without one: NoPolicy (`error` set when the record was
  /// malformed or the lookup failed). A TXT id equal to the cached policy's: the cache, no fetch.
  /// Otherwise a fetch; a valid policy is stored and Found; a failure falls back on a live cached
  /// policy (Found, from_cache, `error` and `failure_type` set), else Failed. Thread-safe;
  /// concurrent lookups of one domain make one fetch.
  Lookup lookup(const std::string& domain) override;

 private:
  struct RecentFailure {
    std::string id;
    FetchFailure failure;
    std::chrono::system_clock::time_point at;
  };

  std::chrono::system_clock::time_point now() const;
  /// The live (unexpired) cached policy of `domain`: memory, else the disk once after a start.
  std::optional<CacheEntry> cached(const std::string& domain);
  void store(const std::string& domain, const CacheEntry& entry);
  Lookup refresh(const std::string& domain, const std::string& id);
  std::shared_ptr<std::mutex> refresh_lock(const std::string& domain);

  const net::MailLookups& dns_;
  PolicyFetcher fetch_;
  StoreSettings settings_;
  WallClock clock_;
  std::mutex mutex_;                                        ///< guards the maps below
  std::map<std::string, std::optional<CacheEntry>> cache_;  ///< nullopt: looked for on disk, none there
  std::map<std::string, RecentFailure> failures_;
  std::map<std::string, std::shared_ptr<std::mutex>> refreshing_;  ///< one fetch of a domain at a time
};

}  // namespace sluice::mta_sts
