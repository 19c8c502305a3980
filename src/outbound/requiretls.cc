#include "outbound/requiretls.h"

#include <fmt/format.h>

#include <utility>

namespace sluice::outbound {

bool requiretls_enforced(const Transaction& transaction) {
  return transaction.requiretls && !transaction.mail_from.empty();
}

Result<std::vector<Target>, smtp::Reply> requiretls_targets(const Transaction& transaction, std::vector<Target> targets,
                                                            const std::string& domain) {
  if (!requiretls_enforced(transaction)) return targets;
  std::vector<Target> kept;
  for (auto& target : targets)
    if (target.tls.authenticated()) kept.push_back(std::move(target));
  if (!kept.empty()) return kept;
  return fail(smtp::make_reply(
      550, "5.7.10",
      fmt::format("REQUIRETLS: no authenticated TLS to {} (no DANE or enforced MTA-STS policy, and the send "
                  "connector does not verify certificates); message not sent",
                  domain)));
}

std::optional<smtp::Reply> requiretls_refusal(const Transaction& transaction, const TlsRequirement& tls,
                                              const std::string& host, bool tls_active,
                                              const smtp::Capabilities& offered) {
  if (!requiretls_enforced(transaction)) return std::nullopt;
  // requiretls_targets() kept only authenticated targets, and the client never leaves those in
  // plaintext; checked again here, since this is the last point before the message would go.
  if (!tls_active || !tls.authenticated())
    return smtp::make_reply(550, "5.7.10",
                            fmt::format("REQUIRETLS: no authenticated TLS session with {}; message not sent", host));
  if (!offered.requiretls)
    return smtp::make_reply(550, "5.7.30",
                            fmt::format("REQUIRETLS support required: {} does not offer REQUIRETLS", host));
  return std::nullopt;
}

bool sends_requiretls(const Transaction& transaction, bool tls_active, const smtp::Capabilities& offered) {
  return transaction.requiretls && tls_active && offered.requiretls;
}

void settle_requiretls(const Transaction& transaction, AttemptResult& result) {
  if (!requiretls_enforced(transaction) || result.transaction_started) return;
  smtp::Reply reply;
  if (result.reply.enhanced == "5.7.30" || result.reply.enhanced == "5.7.10") {
    reply = result.reply;
  } else if (result.failure == Failure::TlsUnavailable || result.failure == Failure::CertificateInvalid) {
    reply = smtp::make_reply(550, "5.7.10", "REQUIRETLS: " + result.reply.one_line());
  } else {
    return;  // connection trouble, a remote's 4xx: retried as any message
  }
  result.failure = Failure::RemotePermanent;
  result.reply = reply;
  for (auto& recipient : result.recipients)
    if (!recipient.positive()) recipient = reply;
}

}  // namespace sluice::outbound
