// SMTP callouts for recipient verification: the session that asks an internal-relay domain's next
// hop whether it takes an address (EHLO, STARTTLS as the send connector's policy says, MAIL
// FROM:<>, RCPT TO, QUIT), through the same route, client and send protocol log as delivery. The
// cache and the waiting RCPTs are inbound/recipient_validation's.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ssl/context.hpp>
#include <asio/thread_pool.hpp>

#include <map>
#include <memory>
#include <string>

#include "config/config.h"
#include "net/dns.h"
#include "outbound/attempt.h"
#include "protocol_log/protocol_log.h"
#include "smtp/reply.h"

namespace sluice::outbound {

struct CalloutServices {
  std::shared_ptr<const config::Config> config;  ///< a probe in progress keeps the snapshot it started with
  const net::MailLookups* resolver = nullptr;
  std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts;  ///< by send connector name
  protocol_log::Writer* send_log = nullptr;
  Transport* transport = nullptr;      ///< null: the SMTP client over TCP (tests script sessions here)
  CredentialsByConnector credentials;  ///< [send_connector.auth], by send connector name
};

class CalloutProber {
 public:
  /// Sessions run on `executor` (the network thread); DNS on the prober's own threads.
  CalloutProber(asio::any_io_executor executor, CalloutServices services);

  /// The next hop's reply to `RCPT TO:<address>`; a 451 4.4.0 saying why when it could not be
  /// asked (no send connector, DNS, connection refused, timeout, TLS, MAIL FROM:<> refused, even
  /// with a 5xx: only a reply to RCPT says anything about the recipient). Every step of the
  /// session is held to `[recipient_validation] callout_timeout`.
  asio::awaitable<smtp::Reply> probe(std::string address);
  /// A reload: probes from now on use these; those in progress finish with what they began with.
  void reconfigure(std::shared_ptr<const config::Config> config,
                   std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts,
                   CredentialsByConnector credentials);

 private:
  asio::any_io_executor executor_;
  CalloutServices services_;
  std::unique_ptr<Transport> own_transport_;
  Transport* transport_;
  asio::thread_pool dns_{2};  ///< last: joined before anything it could touch is gone
};

}  // namespace sluice::outbound
