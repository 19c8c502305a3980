// One delivery attempt of a job: the transaction tried on each target in turn until one server
// has taken part in it, with the plaintext retry a connector's fallback_to_plaintext allows. The
// SMTP session itself goes through a Transport, so that the delivery engine can be tested with
// scripted outcomes.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "outbound/send_credentials.h"
#include "outbound/smtp_client.h"
#include "tracking/events.h"

namespace sluice::outbound {

/// Runs one SMTP transaction with one target (the real one: smtp_client's deliver() over TCP).
class Transport {
 public:
  virtual ~Transport() = default;
  /// The arguments outlive the returned awaitable; never throws for network or protocol trouble.
  virtual asio::awaitable<AttemptResult> deliver(const ClientSettings& settings, const Target& target,
                                                 const Transaction& transaction, TlsAttempt tls) = 0;
};

/// The SMTP client over TCP, its sessions running on `executor` (the network thread).
class SmtpTransport : public Transport {
 public:
  explicit SmtpTransport(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  asio::awaitable<AttemptResult> deliver(const ClientSettings& settings, const Target& target,
                                         const Transaction& transaction, TlsAttempt tls) override;

 private:
  asio::any_io_executor executor_;
};

/// The client settings of a session through `connector`: its EHLO name (else the gateway's
/// hostname), its TLS context from `tls_contexts` and its credentials from `credentials` (by
/// connector name; none: null), the send log.
ClientSettings settings_for(const config::Config& config, const config::SendConnector& connector,
                            const std::map<std::string, std::shared_ptr<asio::ssl::context>>& tls_contexts,
                            const CredentialsByConnector& credentials, protocol_log::Writer* send_log,
                            const ClientTimeouts& timeouts);

struct TargetsAttempt {
  AttemptResult result;
  std::string remote_host;  ///< the host of the last target tried ("" when none was)
  std::string connector;    ///< the send connector's name ("" when the attempt could not be made)

  /// The attempt as the message tracking log names it.
  tracking::Hop hop() const;
};

/// Tries `targets` in order. Fails over to the next only while no server has taken part in the
/// message (no MAIL sent, no 5xx): once MAIL was sent, that server's answers are the outcome
/// (RFC 5321 5.1). A failed TLS handshake on a connector with fallback_to_plaintext is retried
/// in plaintext with the same target. `message_id` is for the log. Every argument outlives the
/// awaitable; `targets` is not empty.
asio::awaitable<TargetsAttempt> attempt_targets(Transport& transport, const ClientSettings& settings,
                                                const std::vector<Target>& targets, const Transaction& transaction,
                                                const std::string& message_id);

}  // namespace sluice::outbound
