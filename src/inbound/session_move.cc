// The receiving side of `sluice queue move` (docs/queue.md, "Moving a queue to another node"):
// XMOVE in EHLO and its MAIL and RCPT parameters, taken only on a connector with
// accept_moved_mail and only from a client that may relay here.
#include "inbound/session.h"

#include <fmt/format.h>

#include "inbound/permissions.h"

namespace sluice::inbound {

bool Session::may_move() const { return connector_.accept_moved_mail && may_relay(connector_, client_, user_.get()); }

bool Session::offers_move() const {
  if (!connector_.accept_moved_mail) return false;
  // Before AUTH the client cannot relay yet but may after it (RFC 4954 needs no second EHLO).
  const bool may_authenticate = connector_.relay == config::RelayPermission::Authenticated && offers_auth() && !user_;
  return may_move() || may_authenticate;
}

bool Session::take_move_mail_parameter(Transaction& t, const std::string& keyword, const std::string& value) {
  if (!may_move()) {
    reply(550, "5.7.1", "Moved mail is accepted only from clients that may relay here");
    return false;
  }
  if (!t.moved) t.moved.emplace();
  if (auto read = queue::read_move_mail_parameter(*t.moved, keyword, value); !read) {
    reply(501, "5.5.4", read.error().message);
    return false;
  }
  return true;
}

bool Session::take_move_recipient_parameters(const smtp::PathArgument& path,
                                             std::optional<queue::MovedRecipient>& moved) {
  for (const auto& [key, value] : path.params) {
    if (!transaction_->moved || !queue::is_move_parameter(key)) {
      reply(555, "5.5.4", fmt::format("Unsupported RCPT parameter {}", key));
      return false;
    }
    if (!moved) moved.emplace();
    if (auto read = queue::read_move_recipient_parameter(*moved, key, value); !read) {
      reply(501, "5.5.4", read.error().message);
      return false;
    }
  }
  return true;
}

}  // namespace sluice::inbound
