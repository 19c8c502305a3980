// What one delivery attempt came to, in the words Exchange's queue viewer and NDRs use, so an
// administrator recognises "421 4.4.2 Connection dropped due to SocketError" from sluice too.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.h"

namespace sluice::outbound {

/// Why a whole attempt (not one recipient) failed.
enum class Failure {
  None,
  ConnectFailed,       ///< no TCP connection (refused, unreachable, timeout)
  SocketError,         ///< the connection dropped, or the TLS handshake failed
  RemoteTransient,     ///< the remote answered 4xx to the banner, EHLO, MAIL or DATA
  RemotePermanent,     ///< the remote answered 5xx to the banner, EHLO, MAIL or DATA
  TlsUnavailable,      ///< required/verify connector, remote does not offer STARTTLS (or refused it)
  CertificateInvalid,  ///< verify connector, chain or name check failed
  Timeout,             ///< a reply did not come in time
  /// The send connector authenticates (SMTP AUTH) and could not: the server refused the
  /// credentials, does not offer the mechanism, TLS did not come about, or no OAuth token was to be
  /// had. Always a deferral: the message is not at fault, and the administrator can fix it.
  AuthenticationFailed,
};

/// Exchange's texts (reference sections 1-2):
/// - SocketError: "421 4.4.2 Connection dropped due to SocketError"
/// - ConnectFailed: "421 4.4.1 Unable to connect to <endpoint>: <reason>"
/// - TlsUnavailable: "450 4.4.317 Cannot connect to remote server: <endpoint> does not offer STARTTLS and the
///   send connector requires TLS"
/// - CertificateInvalid: "450 4.4.317 Cannot connect to remote server: certificate of <host> rejected: <reason>"
/// - Timeout: "421 4.4.2 Connection dropped due to TimedOut"
/// - AuthenticationFailed: "451 4.7.0 Cannot authenticate to <endpoint>: <detail>", the detail
///   being the server's reply as it is (e.g. "535 5.7.139 Authentication unsuccessful, ...") or what
///   went wrong before (a token endpoint's error, no TLS, no such mechanism offered)
///
/// `endpoint` is "127.0.0.1:25", except for CertificateInvalid where it is the host name the
/// certificate was checked against. `detail`: ConnectFailed's reason; CertificateInvalid's
/// reason (X509_verify_cert_error_string); for TlsUnavailable, empty when STARTTLS was not
/// offered, else the remote's refusal, giving "450 4.4.317 Cannot connect to remote server:
/// <endpoint> refused STARTTLS (<detail>) and the send connector requires TLS". RemoteTransient
/// and RemotePermanent normally carry the remote's own reply; here they give "451 4.4.0 Remote
/// server responded with: <detail>" / "554 5.4.0 ...". None gives an empty reply (code 0).
smtp::Reply failure_reply(Failure failure, const std::string& endpoint, const std::string& detail);

/// "SocketError", "TlsUnavailable", ...: for logs and tests.
std::string_view failure_name(Failure failure);

/// The queue's last-error form for a remote 4xx/5xx or a failure at the primary target, as Exchange
/// writes it: `451 4.4.0 Primary target IP address responded with: "451 5.7.3 Must issue a STARTTLS
/// command first." Attempted failover to alternate host, but that did not succeed. Either there are
/// no alternate hosts, or delivery failed to all alternate hosts. The last endpoint attempted was
/// 127.0.0.1:25`. `reply` is what the remote said (or failure_reply's reply).
/// The quoted reply gets a final "." unless it already ends with one.
std::string primary_target_text(const smtp::Reply& reply, const std::string& last_endpoint);
/// The same as a reply: 451 4.4.0 and the text after the code.
smtp::Reply primary_target_reply(const smtp::Reply& reply, const std::string& last_endpoint);

/// The failures whose reply Exchange's Queue Viewer shows as it is (SocketError, Timeout,
/// TlsUnavailable, CertificateInvalid, RemotePermanent; and AuthenticationFailed, whose reply
/// already quotes the server); any other reply it quotes in
/// primary_target_text.
bool shown_as_is(Failure failure);

/// What the queue records as an attempt's last error, as Exchange's Queue Viewer shows it:
/// the reply itself for SocketError, Timeout, TlsUnavailable, CertificateInvalid and
/// RemotePermanent ("421 4.4.2 Connection dropped due to SocketError"); primary_target_text for
/// ConnectFailed and RemoteTransient (Exchange's `451 4.4.0 Primary target IP address responded
/// with: "421 4.4.1 Unable to connect ..."`). Empty for None.
std::string queue_last_error(Failure failure, const smtp::Reply& reply, const std::string& last_endpoint);

}  // namespace sluice::outbound
