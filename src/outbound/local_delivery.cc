#include "outbound/local_delivery.h"

#include "queue/hop_count.h"

namespace sluice::outbound {

namespace {

smtp::Reply local_delivery_failed(const std::string& reason) {
  return smtp::make_reply(451, "4.3.0", "Local delivery failed: " + reason);
}

}  // namespace

std::vector<Result<void, smtp::Reply>> deliver_locally(const queue::Spool& spool, queue::MaildirStore& maildirs,
                                                       const std::string& id, const std::vector<std::string>& addresses,
                                                       std::size_t max_hop_count) {
  std::vector<Result<void, smtp::Reply>> out;
  auto message = spool.load_message(id);
  // A forwarding loop through mailboxes adds a Delivered-To: (and, re-sent, a Received:) each
  // round. The spooled copy starts with our own Received:, which the limit does not count, as on
  // receipt (inbound/session); a notification sluice made itself has none and counts 0.
  const bool looping = message && queue::exceeds_hop_limit(queue::count_local_hops(*message) - 1, max_hop_count);
  for (const auto& address : addresses) {
    if (!message) {
      out.push_back(fail(local_delivery_failed("message content missing from the spool")));
      continue;
    }
    if (looping) {
      out.push_back(fail(queue::hop_count_exceeded_reply()));
      continue;
    }
    auto delivered = maildirs.deliver(queue::split_address(address).first, address, *message);
    if (delivered)
      out.emplace_back();
    else
      out.push_back(fail(local_delivery_failed(delivered.error().message())));
  }
  return out;
}

}  // namespace sluice::outbound
