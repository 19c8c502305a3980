#include "outbound/attempt.h"

#include "base/logging.h"
#include "outbound/tls_report_feed.h"

namespace sluice::outbound {

asio::awaitable<AttemptResult> SmtpTransport::deliver(const ClientSettings& settings, const Target& target,
                                                      const Transaction& transaction, TlsAttempt tls) {
  return outbound::deliver(executor_, settings, target, transaction, tls);
}

tracking::Hop TargetsAttempt::hop() const {
  tracking::Hop hop;
  hop.connector = connector;
  hop.host = remote_host;
  hop.endpoint = result.endpoint;
  hop.local_endpoint = result.local_endpoint;
  if (result.tls) {
    hop.tls_version = result.tls_version;
    hop.tls_cipher = result.tls_cipher;
  }
  return hop;
}

ClientSettings settings_for(const config::Config& config, const config::SendConnector& connector,
                            const std::map<std::string, std::shared_ptr<asio::ssl::context>>& tls_contexts,
                            const CredentialsByConnector& credentials, protocol_log::Writer* send_log,
                            const ClientTimeouts& timeouts) {
  ClientSettings settings;
  settings.connector = &connector;
  settings.helo = connector.helo.empty() ? config.hostname : connector.helo;
  auto context = tls_contexts.find(connector.name);
  settings.tls_context = context == tls_contexts.end() ? nullptr : context->second.get();
  if (auto found = credentials.find(connector.name); found != credentials.end()) {
    settings.password = &found->second.password;
    settings.token_source = found->second.tokens.get();
  }
  settings.send_log = send_log;
  settings.timeouts = timeouts;
  return settings;
}

asio::awaitable<TargetsAttempt> attempt_targets(Transport& transport, const ClientSettings& settings,
                                                const std::vector<Target>& targets, const Transaction& transaction,
                                                const std::string& message_id) {
  TargetsAttempt out;
  out.connector = settings.connector->name;
  for (const auto& target : targets) {
    out.remote_host = target.host;
    out.result = co_await transport.deliver(settings, target, transaction, TlsAttempt::Policy);
    count_tls_session(settings.tls_reports, target, out.result);
    if (out.result.may_fall_back) {
      // The downgrade is the connector's explicit choice (fallback_to_plaintext); the client
      // logs it in the send protocol log, and this says it to the operator too.
      log_warning("queue {}: TLS with {} failed; retrying without TLS (connector \"{}\" has fallback_to_plaintext)",
                  message_id, out.result.endpoint, settings.connector->name);
      out.result = co_await transport.deliver(settings, target, transaction, TlsAttempt::Plaintext);
      count_tls_session(settings.tls_reports, target, out.result);
    }
    const auto& r = out.result;
    if (r.failure == Failure::None || r.transaction_started || r.failure == Failure::RemotePermanent) break;
  }
  co_return out;
}

}  // namespace sluice::outbound
