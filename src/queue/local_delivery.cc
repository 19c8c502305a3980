#include "queue/local_delivery.h"

#include <algorithm>

#include "base/logging.h"

namespace sluice::queue {

std::pair<std::string, std::string> split_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {std::string(address), {}};
  return {std::string(address.substr(0, at)), std::string(address.substr(at + 1))};
}

LocalDelivery::LocalDelivery(Spool& spool, MaildirStore& maildirs, std::function<bool(std::string_view)> is_local)
    : spool_(spool), maildirs_(maildirs), is_local_(std::move(is_local)) {}

bool LocalDelivery::claim(const std::string& id) {
  std::lock_guard lock(mutex_);
  return in_progress_.insert(id).second;
}

void LocalDelivery::release(const std::string& id) {
  std::lock_guard lock(mutex_);
  in_progress_.erase(id);
}

void LocalDelivery::deliver(const std::string& id) {
  if (!claim(id)) return;
  struct Release {
    LocalDelivery* self;
    const std::string& id;
    ~Release() { self->release(id); }
  } release_on_exit{this, id};
  deliver_claimed(id);
}

void LocalDelivery::deliver_claimed(const std::string& id) {
  auto envelope = spool_.load_envelope(id);
  if (!envelope) return;
  std::optional<std::string> message;
  bool changed = false;
  for (auto& recipient : envelope->recipients) {
    if (recipient.state != Recipient::State::Pending && recipient.state != Recipient::State::Deferred) continue;
    auto [local, domain] = split_address(recipient.address);
    std::string key = domain;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!is_local_(key)) continue;
    if (!message) message = spool_.load_message(id);
    if (!message) {
      log_error("queue {}: message content missing", id);
      return;
    }
    ++recipient.attempts;
    std::filesystem::path file;
    if (auto ec = maildirs_.deliver(local, recipient.address, *message, &file)) {
      recipient.state = Recipient::State::Deferred;
      recipient.last_reply = "451 4.3.0 Local delivery failed: " + ec.message();
      log_warning("queue {}: delivery to <{}> failed: {}", id, recipient.address, ec.message());
    } else {
      recipient.state = Recipient::State::Delivered;
      recipient.last_reply = "250 2.0.0 Delivered to " + file.string();
    }
    changed = true;
  }
  if (!changed) return;
  bool open = std::any_of(envelope->recipients.begin(), envelope->recipients.end(), [](const Recipient& r) {
    return r.state == Recipient::State::Pending || r.state == Recipient::State::Deferred;
  });
  // A crash between the Maildir rename and this point delivers the message again after a
  // restart (docs/queue.md: the duplicate window); never the other way round.
  auto ec = open ? spool_.update(*envelope) : spool_.remove(id);
  if (ec) log_error("queue {}: cannot record delivery: {}", id, ec.message());
}

std::size_t LocalDelivery::deliver_all() {
  auto ids = spool_.list();
  for (const auto& id : ids) deliver(id);
  return ids.size();
}

}  // namespace sluice::queue
