// The TLS failure signatures logscan counts, found in free text (a protocol log field, a Postfix
// message, a tracking log's recipient-status). Each signature is returned as the part of the
// text that names it, so "TLS negotiation failed with error SocketError" keeps its reason.
#pragma once
#include <array>
#include <cstddef>
#include <string_view>

namespace sluice::logscan {

/// At most this many signatures are reported from one text.
inline constexpr std::size_t kMaxSignaturesPerText = 4;

struct Signatures {
  std::array<std::string_view, kMaxSignaturesPerText> found{};
  std::size_t count = 0;
  void add(std::string_view s) {
    if (count < found.size()) found[count++] = s;
  }
};

/// Finds, in this order:
///   "421 4.4.2 Connection dropped due to <Reason>", "TLS negotiation failed with error <Reason>",
///   "451 5.7.3 Must issue a STARTTLS command first", "530 5.7.0 <text up to ; ( or a quote>",
///   "SSL_accept error", "SSL_connect error", "lost connection after STARTTLS",
///   "starttls=<n>/<m>" with n < m (Postfix's disconnect statistics: a STARTTLS that failed).
/// Each view points into `text`.
Signatures find_signatures(std::string_view text);

/// The signature of a send connector's failed connection, from Exchange's "Failed to connect.
/// Winsock error code: 10061, ..." or sluice's "Failed to connect to HOST (ENDPOINT): Connection
/// refused": "Failed to connect: connection refused", "... timed out", "... network unreachable",
/// "... host unreachable", else "Failed to connect". The host and address are left out (the
/// report has a column for the remote).
std::string_view connect_failure_signature(std::string_view text);

}  // namespace sluice::logscan
