// A receive connector with require_client_certificate: what the client presented during
// STARTTLS, logged, and the refusal at MAIL of a session without an acceptable certificate
// (docs/relay-for-devices.md, "Certificate-based connectors").
#include <fmt/format.h>

#include "inbound/session.h"

namespace sluice::inbound {

void Session::check_client_certificate() {
  client_certificate_ = tls::check_client_certificate(connection_.ssl(), connector_.client_certificate_names);
  const tls::ClientCertificateCheck& check = *client_certificate_;
  if (check.presented) {
    log_.info_value(check.subject, "Client certificate subject");
    log_.info_value(fmt::format("{}", fmt::join(check.dns_names, " ")), "Client certificate SAN");
  }
  log_.info(check.accepted ? std::string("Client certificate accepted")
                           : fmt::format("Client certificate not accepted: {}", check.reason));
}

bool Session::refuse_without_client_certificate() {
  if (!connector_.require_client_certificate || (client_certificate_ && client_certificate_->accepted)) return false;
  // Without STARTTLS there is no certificate (require_tls, implied, normally answers first).
  const std::string reason =
      client_certificate_ ? client_certificate_->reason : std::string("no client certificate was presented");
  const std::string subject =
      client_certificate_ && client_certificate_->presented ? client_certificate_->subject : std::string("none");
  log_.info(fmt::format("MAIL refused: {}; presented certificate subject: {}", reason, subject));
  // Permanent, as Exchange Online refuses a partner restricted to a certificate: a sender whose
  // certificate is missing or wrong will not fix it by retrying, and its admin reads the reason.
  reply(530, "5.7.1", fmt::format("Client certificate required: {}", reason));
  return true;
}

}  // namespace sluice::inbound
