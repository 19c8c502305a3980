// One probe connection: connect, greet, STARTTLS (or implicit TLS), one TLS handshake with the
// versions and suites asked for, QUIT. Never sends a message. Everything seen is in the result.
#pragma once
#include <openssl/x509.h>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probe/target.h"
#include "smtp/reply.h"
#include "tls/version.h"

namespace sluice::probe {

struct Timeouts {
  std::chrono::milliseconds connect{5000};
  std::chrono::milliseconds banner{15000};  ///< tarpits delay the greeting on purpose
  std::chrono::milliseconds command{10000};
  std::chrono::milliseconds handshake{10000};
};

/// What one connection should try.
struct AttemptSpec {
  tls::Version min = tls::Version::Tls1_0;
  tls::Version max = tls::Version::Tls1_3;
  std::string cipher_list;   ///< suites for TLS 1.2 and older; empty: every suite OpenSSL has
  std::string ciphersuites;  ///< TLS 1.3 suites; empty: all five
  /// The first connection to a server: also asks MAIL FROM:<> in plaintext (then RSET) and reads
  /// the capabilities again after the handshake.
  bool discovery = false;
  /// Sends "STARTTLS\r\nNOOP\r\n" in one write (the CVE-2011-0411 test) and tells whether the
  /// NOOP is answered inside TLS.
  bool injection_test = false;
  /// An enumeration step: send OpenSSL's ClientHello, read the server's answer by hand up to its
  /// choice of suite and group (server_flight.h), then end with an alert. Such a session cannot
  /// end with QUIT, and its certificates are only the raw ones a TLS 1.2 server sent; the first
  /// connection per version always finishes its handshake.
  bool hello_only = false;
};

enum class Outcome {
  Negotiated,       ///< the handshake completed
  HandshakeFailed,  ///< the server (or we) refused this handshake: an answer about TLS
  NoStartTls,       ///< EHLO did not offer STARTTLS
  StartTlsRefused,  ///< STARTTLS was answered with something other than 220
  Refused,          ///< the greeting was not 220 (421 busy, 554 go away)
  ConnectFailed,
  Timeout,  ///< a step took longer than its timeout (tarpit, filtering firewall)
  Broken,   ///< the connection dropped or the server spoke something other than SMTP
};
std::string_view outcome_name(Outcome o);
/// True for outcomes that say nothing about TLS: the same question may be asked again.
bool inconclusive(Outcome o);

using CertificatePtr = std::shared_ptr<X509>;

struct Negotiated {
  tls::Version version = tls::Version::Unknown;
  bool complete = true;  ///< false for a hello_only step
  std::string cipher;    ///< OpenSSL name
  int bits = 0;
  std::string key_exchange;            ///< "X25519", "secp256r1", "ffdhe2048", "DH 1024", "RSA"
  std::vector<CertificatePtr> chain;   ///< as the server sent it, leaf first
  std::vector<std::string> chain_der;  ///< hello_only: the same, unparsed (TLS 1.2 and older)
};

struct SmtpFacts {
  std::optional<smtp::Reply> banner;
  std::chrono::milliseconds banner_delay{0};
  std::optional<smtp::Reply> ehlo;  ///< the reply to EHLO in plaintext
  std::optional<smtp::Reply> starttls_reply;
  std::optional<smtp::Reply> mail_before_tls;  ///< discovery: the reply to MAIL FROM:<> in plaintext
  std::optional<smtp::Reply> ehlo_after_tls;   ///< discovery: the reply to EHLO inside TLS
  /// injection_test: true when the pipelined NOOP was answered inside TLS (vulnerable), false when
  /// not; nullopt when the test could not run.
  std::optional<bool> injection_answered;
  std::size_t bytes_after_starttls_reply = 0;  ///< plaintext the server sent after its 220
  bool quit_answered = false;                  ///< injection_test only: the 221 was read
};

struct AttemptResult {
  Outcome outcome = Outcome::Broken;
  std::string detail;  ///< why: the alert, the OpenSSL reason, the reply, the socket error
  std::string alert;   ///< TLS alert the server sent, e.g. "protocol version"; empty if none
  Negotiated tls;
  SmtpFacts smtp;
  std::chrono::milliseconds elapsed{0};
};

struct AttemptContext {
  asio::ssl::context* ssl = nullptr;  ///< from make_probe_context()
  Timeouts timeouts;
  std::string helo = "probe.sluice.invalid";
};

/// A client context that can speak every version and suite (security level 0), verifies nothing
/// during the handshake (the chain is checked afterwards, to report on it rather than refuse it).
std::shared_ptr<asio::ssl::context> make_probe_context();

/// Runs one connection to `address` for `target`. Never throws for network or protocol trouble.
/// References (the executor too: no non-trivial temporaries in co_await, GCC PR 99576) must
/// outlive the awaitable.
asio::awaitable<AttemptResult> run_attempt(const asio::any_io_executor& executor, const Target& target,
                                           asio::ip::tcp::endpoint address, const AttemptContext& context,
                                           const AttemptSpec& spec);

}  // namespace sluice::probe
