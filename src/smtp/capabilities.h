// The SMTP service extensions a server offers in its reply to EHLO (RFC 5321 4.1.1.1), as every
// client of the gateway reads them: outbound delivery and the TLS probe.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.h"

namespace sluice::smtp {

/// What the remote's EHLO reply offered (keywords are case-insensitive, RFC 5321 2.4).
struct Capabilities {
  bool esmtp = false;  ///< EHLO succeeded (false after a HELO fallback: no extensions)
  bool starttls = false;
  bool pipelining = false;
  bool size = false;             ///< SIZE advertised
  std::uint64_t size_limit = 0;  ///< its value; 0 when absent, unparsable, or "no limit"
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool requiretls = false;  ///< RFC 8689 (counts only when offered inside TLS: the caller checks)
  bool move = false;        ///< XMOVE: takes moved queue entries (queue/move_parameters.h)
  /// SASL mechanisms of the AUTH keyword (RFC 4954), upper-case; also the obsolete "AUTH=LOGIN PLAIN"
  /// form that old servers still send.
  std::vector<std::string> auth_mechanisms;
  bool offers_auth(std::string_view mechanism) const;  ///< case-insensitive
};

/// Reads the keyword lines (all but the first, which is the server's greeting) of a 250 reply
/// to EHLO. Any other reply offers nothing: a server that refused EHLO has no extensions.
Capabilities parse_capabilities(const Reply& ehlo);

}  // namespace sluice::smtp
