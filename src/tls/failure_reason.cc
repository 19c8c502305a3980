#include "tls/failure_reason.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace sluice::tls {

std::string_view handshake_failure_reason(unsigned long openssl_error, bool peer_closed, bool timed_out) {
  if (timed_out) return "Timeout";
  if (openssl_error != 0 && ERR_GET_LIB(openssl_error) == ERR_LIB_SSL) {
    switch (ERR_GET_REASON(openssl_error)) {
      // Versions: what an old peer produces on either side (checked against OpenSSL 3.0: a
      // TLS 1.0 ClientHello gives UNSUPPORTED_PROTOCOL, an SSL 3 one VERSION_TOO_LOW, an SSL 2
      // one UNKNOWN_PROTOCOL; the client then sees the protocol_version alert).
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_UNSUPPORTED_SSL_VERSION:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_VERSION_TOO_HIGH:
      case SSL_R_UNKNOWN_PROTOCOL:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_INAPPROPRIATE_FALLBACK:
        return "UnsupportedProtocol";
      // Nothing in common to build keys with. A handshake_failure alert is what an OpenSSL or
      // SCHANNEL server sends when it shares no suite with us.
      case SSL_R_NO_SHARED_CIPHER:
      case SSL_R_NO_CIPHERS_AVAILABLE:
      case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
      case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
      case SSL_R_NO_SUITABLE_KEY_SHARE:
      case SSL_R_NO_SUITABLE_GROUPS:
      case SSL_R_INSUFFICIENT_SECURITY:
      case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
        return "NoCipherOverlap";
      case SSL_R_NO_CERTIFICATE_ASSIGNED:
      case SSL_R_NO_CERTIFICATE_SET:
      case SSL_R_MISSING_RSA_CERTIFICATE:
      case SSL_R_MISSING_RSA_ENCRYPTING_CERT:
      case SSL_R_MISSING_RSA_SIGNING_CERT:
        return "NoCredentials";
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return "CertificateVerifyFailed";
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return "PeerRejectedCertificate";
      case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return "SocketError";
      default:
        break;
    }
  }
  if (peer_closed) return "SocketError";
  if (openssl_error != 0 && ERR_GET_LIB(openssl_error) == ERR_LIB_SYS) return "SocketError";
  // Includes WRONG_VERSION_NUMBER: OpenSSL reports it for bytes that are not a TLS record at
  // all (a client that sends "EHLO" after STARTTLS), not for old TLS versions.
  return "ProtocolError";
}

}  // namespace sluice::tls
