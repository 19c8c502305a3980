// The server's first flight (ServerHello up to its key exchange), read from the raw bytes.
// A cipher suite enumeration only needs to know which suite and group the server chose; letting
// OpenSSL process the flight would also parse every certificate, check a DH public value with a
// full-size exponentiation and verify a signature, per step. Reading the records directly costs
// microseconds, and the step ends before the client's key exchange, so the server never has to
// decrypt an RSA premaster secret or derive a shared key either.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::probe {

/// How a TLS 1.2-and-older ServerKeyExchange is laid out, decided by the chosen suite.
enum class KeyExchangeKind { Ecdhe, Dhe, Other };

struct ServerFlight {
  enum class Status {
    Incomplete,  ///< more bytes needed
    Chosen,      ///< the server chose its version, suite and key exchange
    Alert,       ///< the server answered with an alert
    Invalid,     ///< not TLS, or a malformed message; `problem` says what
  };
  Status status = Status::Incomplete;
  std::uint16_t version = 0;              ///< negotiated, supported_versions taken into account (0x0304 = TLS 1.3)
  std::uint16_t cipher = 0;               ///< IANA code point
  bool hello_retry = false;               ///< TLS 1.3 HelloRetryRequest: the server wants another key share
  std::uint16_t group = 0;                ///< TLS 1.3 key share group, or TLS 1.2 ECDHE named curve; 0 if none
  int dh_bits = 0;                        ///< DHE: significant bits of the prime p
  std::vector<std::string> certificates;  ///< TLS 1.2 and older: DER, as sent (leaf first)
  std::uint8_t alert = 0;                 ///< the alert's description, with Status::Alert
  std::string problem;
};

/// Reads as much of `bytes` (everything the server sent after our ClientHello) as is needed.
/// TLS 1.3 is decided at the ServerHello (the rest is encrypted); older versions at the
/// ServerKeyExchange, or at ServerHelloDone when the suite has none (RSA key exchange).
/// `kind_of` maps the chosen suite to how its ServerKeyExchange reads.
ServerFlight read_server_flight(std::string_view bytes,
                                const std::function<KeyExchangeKind(std::uint16_t cipher)>& kind_of);

/// "X25519", "secp256r1", "ffdhe2048", ...: the names a completed handshake reports.
std::string group_label(std::uint16_t group);

/// The fatal handshake_failure alert that ends a step once the server has chosen: a polite end
/// where QUIT is no longer possible.
std::string handshake_failure_alert(std::uint16_t version);

}  // namespace sluice::probe
