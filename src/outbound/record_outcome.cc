#include "outbound/record_outcome.h"

#include "base/logging.h"

namespace sluice::outbound {

using queue::Envelope;
using State = queue::Recipient::State;

bool hop_failed(const AttemptResult& result) {
  return !result.transaction_started && result.failure != Failure::None && result.failure != Failure::RemotePermanent;
}

smtp::Reply last_error(const AttemptResult& result, const smtp::Reply& reply) {
  // No server was reached (DNS failed, or an internal error): there is no primary target whose
  // answer could be quoted, and Exchange too shows "451 4.4.0 DNS query failed ..." as it is.
  // Otherwise the rule of the Queue Viewer (queue_last_error), for this recipient's reply. A reply
  // that reaches here in an attempt that went through (None) or ended in a 5xx (RemotePermanent)
  // is the recipient's own 4xx at RCPT, which is quoted like any remote reply.
  const bool own_rcpt_reply = result.failure == Failure::None || result.failure == Failure::RemotePermanent;
  if (result.endpoint.empty() || (!own_rcpt_reply && shown_as_is(result.failure))) return reply;
  return primary_target_reply(reply, result.endpoint);
}

namespace {

/// Defers `r` to its retry time, or fails it (lifetime over: the bounce says 4.4.7 with its
/// last error). True when it failed.
bool defer_or_fail(const Envelope& envelope, queue::Recipient& r, const RetryTime& retry) {
  if (auto next = retry(envelope, r)) {
    r.state = State::Deferred;
    r.next_attempt = *next;
    return false;
  }
  r.state = State::Failed;
  return true;
}

}  // namespace

std::vector<std::size_t> record_attempt(Envelope& envelope, const std::vector<std::size_t>& recipients,
                                        const AttemptResult& result, TimePoint now, const RetryTime& retry) {
  std::vector<std::size_t> failed;
  for (std::size_t k = 0; k < recipients.size(); ++k) {
    auto& r = envelope.recipients[recipients[k]];
    if (!r.waiting()) continue;
    ++r.attempts;
    r.last_attempt = now;
    if (!result.tls_policy.empty()) r.tls_policy = result.tls_policy;
    const smtp::Reply& reply = k < result.recipients.size() ? result.recipients[k] : result.reply;
    if (k < result.recipients.size() && reply.positive() && result.data_accepted) {
      r.state = State::Delivered;
      r.last_reply = reply;
      continue;
    }
    if (reply.permanent()) {
      r.state = State::Failed;
      r.last_reply = reply;
      failed.push_back(recipients[k]);
      continue;
    }
    r.last_reply = last_error(result, reply);
    if (defer_or_fail(envelope, r, retry)) failed.push_back(recipients[k]);
  }
  return failed;
}

std::vector<std::size_t> record_local(Envelope& envelope, const std::vector<std::size_t>& recipients,
                                      const std::vector<Result<void, smtp::Reply>>& results, bool discard,
                                      TimePoint now, const RetryTime& retry) {
  std::vector<std::size_t> failed;
  for (std::size_t k = 0; k < recipients.size() && k < results.size(); ++k) {
    auto& r = envelope.recipients[recipients[k]];
    ++r.attempts;
    r.last_attempt = now;
    if (results[k]) {
      r.state = State::Delivered;
      r.last_reply = smtp::make_reply(
          250, "2.0.0", discard ? "Discarded (local_delivery = \"discard\")" : "Delivered to the local mailbox");
      continue;
    }
    r.last_reply = results[k].error();
    log_warning("queue {}: local delivery to <{}> failed: {}", envelope.id, r.address, r.last_reply.one_line());
    if (r.last_reply.permanent()) {
      r.state = State::Failed;
      failed.push_back(recipients[k]);
    } else if (defer_or_fail(envelope, r, retry)) {
      failed.push_back(recipients[k]);
    }
  }
  return failed;
}

std::vector<std::size_t> expire_recipients(Envelope& envelope, const std::vector<std::size_t>& recipients,
                                           const std::function<smtp::Reply(const queue::Recipient&)>& hop_error) {
  std::vector<std::size_t> failed;
  for (auto i : recipients) {
    auto& r = envelope.recipients[i];
    if (!r.waiting()) continue;
    r.state = State::Failed;
    if (r.last_reply.empty()) {
      r.last_reply = hop_error(r);
      if (r.last_reply.empty())
        r.last_reply = smtp::make_reply(451, "4.4.7", "Message expired before a delivery attempt could be made");
    }
    failed.push_back(i);
  }
  return failed;
}

std::vector<std::size_t> remove_recipients(Envelope& envelope) {
  std::vector<std::size_t> failed;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    auto& r = envelope.recipients[i];
    if (!r.waiting()) continue;
    r.state = State::Failed;
    r.last_reply = smtp::make_reply(550, "5.0.0",
                                    "Message removed from the queue by an administrator (last error: " +
                                        (r.last_reply.empty() ? std::string("none") : r.last_reply.one_line()) + ")");
    failed.push_back(i);
  }
  return failed;
}

}  // namespace sluice::outbound
