// The one-word reason in "TLS negotiation failed with error <reason>" (docs/protocol-log.md),
// in the style of Exchange's SocketError / NoCredentials so log searches work the same way.
#pragma once
#include <string_view>

namespace sluice::tls {

/// Classifies a failed handshake. `openssl_error`: the first code from ERR_get_error() after
/// the failed SSL call (0 if the queue was empty); `peer_closed`: the connection ended (EOF or
/// reset) during the handshake; `timed_out`: our handshake timer fired. Returns one of
/// "Timeout", "UnsupportedProtocol", "NoCipherOverlap", "NoCredentials", "CertificateVerifyFailed",
/// "PeerRejectedCertificate", "SocketError", "ProtocolError". A specific OpenSSL reason wins over
/// `peer_closed`: a peer that sends a protocol_version alert and hangs up is UnsupportedProtocol.
std::string_view handshake_failure_reason(unsigned long openssl_error, bool peer_closed, bool timed_out);

}  // namespace sluice::tls
