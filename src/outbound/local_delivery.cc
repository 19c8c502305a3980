#include "outbound/local_delivery.h"

namespace sluice::outbound {

std::vector<Result<void>> deliver_locally(const queue::Spool& spool, queue::MaildirStore& maildirs,
                                          const std::string& id, const std::vector<std::string>& addresses) {
  std::vector<Result<void>> out;
  auto message = spool.load_message(id);
  for (const auto& address : addresses) {
    if (!message) {
      out.push_back(fail("message content missing from the spool"));
      continue;
    }
    auto delivered = maildirs.deliver(queue::split_address(address).first, address, *message);
    if (delivered)
      out.emplace_back();
    else
      out.push_back(fail(delivered.error().message()));
  }
  return out;
}

}  // namespace sluice::outbound
