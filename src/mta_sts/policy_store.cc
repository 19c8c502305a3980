#include "mta_sts/policy_store.h"

#include <fmt/format.h>

#include "base/logging.h"
#include "base/text.h"
#include "mta_sts/policy_file.h"
#include "mta_sts/txt_record.h"

namespace sluice::mta_sts {
namespace {

std::string normalized_domain(std::string_view domain) {
  while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  return ascii_lower(domain);
}

Lookup found(const CacheEntry& entry, bool from_cache) {
  Lookup result;
  result.status = Lookup::Status::Found;
  result.policy = entry.policy;
  result.from_cache = from_cache;
  return result;
}

Lookup found_in_cache_despite(const CacheEntry& entry, std::string error, std::string failure_type = "") {
  Lookup result = found(entry, true);
  result.error = std::move(error);
  result.failure_type = std::move(failure_type);
  return result;
}

Lookup no_policy(std::string error = "") {
  Lookup result;
  result.error = std::move(error);
  return result;
}

Lookup fetch_failed(const FetchFailure& failure) {
  Lookup result;
  result.status = Lookup::Status::Failed;
  result.error = failure.message;
  result.failure_type = failure.failure_type;
  return result;
}

}  // namespace

PolicyStore::PolicyStore(const net::MailLookups& dns, PolicyFetcher fetch, StoreSettings settings, WallClock clock)
    : dns_(dns), fetch_(std::move(fetch)), settings_(std::move(settings)), clock_(std::move(clock)) {}

std::chrono::system_clock::time_point PolicyStore::now() const {
  return clock_ ? clock_() : std::chrono::system_clock::now();
}

std::optional<CacheEntry> PolicyStore::cached(const std::string& domain) {
  std::unique_lock lock(mutex_);
  auto it = cache_.find(domain);
  if (it == cache_.end()) {
    lock.unlock();  // no disk reads under the lock every domain shares
    std::optional<CacheEntry> from_disk;
    if (!settings_.cache_dir.empty()) {
      auto read = read_cache_file(settings_.cache_dir, domain);
      if (read)
        from_disk = std::move(*read);
      else
        log_warning("MTA-STS: ignoring the cached policy of {}: {}", domain, read.error().message);
    }
    lock.lock();
    it = cache_.try_emplace(domain, std::move(from_disk)).first;  // a concurrent store() wins
  }
  const auto& entry = it->second;
  if (!entry || now() >= entry->fetched_at + entry->policy.max_age) return std::nullopt;
  return entry;
}

void PolicyStore::store(const std::string& domain, const CacheEntry& entry) {
  {
    std::lock_guard lock(mutex_);
    cache_[domain] = entry;
  }
  if (settings_.cache_dir.empty()) return;
  if (auto written = write_cache_file(settings_.cache_dir, domain, entry); !written)
    log_warning("MTA-STS: the policy of {} is cached in memory only: {}", domain, written.error().message);
}

std::shared_ptr<std::mutex> PolicyStore::refresh_lock(const std::string& domain) {
  std::lock_guard lock(mutex_);
  auto& slot = refreshing_[domain];
  if (!slot) slot = std::make_shared<std::mutex>();
  return slot;
}

Lookup PolicyStore::lookup(const std::string& requested) {
  const std::string domain = normalized_domain(requested);
  const net::DnsRecords txt = dns_.txt(txt_record_name(domain));
  const std::optional<CacheEntry> entry = cached(domain);
  if (txt.status == net::DnsAnswer::Status::TempFail) {
    const std::string error = fmt::format("TXT lookup of {} failed: {}", txt_record_name(domain), txt.error);
    return entry ? found_in_cache_despite(*entry, error) : no_policy(error);
  }
  // RFC 8461 5.1: no valid record means no policy unless one is cached; a missing record is not
  // an error, a malformed one is worth a line in the log.
  Result<std::optional<std::string>> id = std::optional<std::string>();
  if (txt.status == net::DnsAnswer::Status::Ok) id = parse_txt_records(txt.txt);
  if (!id || !id->has_value()) {
    const std::string error = id ? "" : fmt::format("{}: {}", txt_record_name(domain), id.error().message);
    return entry ? found_in_cache_despite(*entry, error) : no_policy(error);
  }
  if (entry && entry->policy.id == **id) return found(*entry, true);
  return refresh(domain, **id);
}

Lookup PolicyStore::refresh(const std::string& domain, const std::string& id) {
  const auto lock_of_domain = refresh_lock(domain);
  std::lock_guard refreshing(*lock_of_domain);
  // Another thread may have fetched this id, or failed to, while this one waited.
  const std::optional<CacheEntry> entry = cached(domain);
  if (entry && entry->policy.id == id) return found(*entry, true);
  std::optional<FetchFailure> failure;
  {
    std::lock_guard lock(mutex_);
    auto it = failures_.find(domain);
    if (it != failures_.end() && it->second.id == id && now() < it->second.at + settings_.retry_failed_fetch)
      failure = it->second.failure;
  }
  if (!failure) {
    auto text = fetch_(domain);
    if (text) {
      auto policy = parse_policy(*text);
      if (policy) {
        policy->id = id;
        const CacheEntry fresh{std::move(*policy), now()};
        store(domain, fresh);
        std::lock_guard lock(mutex_);
        failures_.erase(domain);
        return found(fresh, false);
      }
      failure = FetchFailure{std::string(kPolicyInvalid),
                             fmt::format("the policy of mta-sts.{} is invalid: {}", domain, policy.error().message)};
    } else {
      failure = std::move(text.error());
    }
    std::lock_guard lock(mutex_);
    failures_[domain] = RecentFailure{id, *failure, now()};
  }
  return entry ? found_in_cache_despite(*entry, failure->message, failure->failure_type) : fetch_failed(*failure);
}

}  // namespace sluice::mta_sts
