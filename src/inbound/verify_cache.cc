#include "inbound/verify_cache.h"

namespace sluice::inbound {

std::optional<AddressStatus> VerifyCache::find(const std::string& key, TimePoint now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (now >= it->second.expires) {
    uses_.erase(it->second.use);
    entries_.erase(it);
    return std::nullopt;
  }
  uses_.splice(uses_.begin(), uses_, it->second.use);
  return it->second.status;
}

void VerifyCache::store(const std::string& key, AddressStatus status, TimePoint now) {
  const auto lifetime = status == AddressStatus::Exists ? positive_ : negative_;
  auto it = entries_.find(key);
  if (lifetime.count() == 0) {
    if (it != entries_.end()) {
      uses_.erase(it->second.use);
      entries_.erase(it);
    }
    return;
  }
  if (it != entries_.end()) {
    it->second.status = status;
    it->second.expires = now + lifetime;
    uses_.splice(uses_.begin(), uses_, it->second.use);
    return;
  }
  if (entries_.size() >= capacity_) {
    entries_.erase(uses_.back());
    uses_.pop_back();
  }
  uses_.push_front(key);
  entries_.emplace(key, Entry{status, now + lifetime, uses_.begin()});
}

}  // namespace sluice::inbound
