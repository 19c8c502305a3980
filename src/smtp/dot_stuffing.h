// The sending side of DATA (RFC 5321 4.5.2): the one encoder of a message into the bytes sent
// after 354, shared by the outbound client and the demo's submitter; the receiving side is
// smtp/data_decoder.h.
#pragma once
#include <string>
#include <string_view>

namespace sluice::smtp {

/// The bytes sent after DATA's 354: line ends normalised to CRLF (a bare CR or LF becomes CRLF,
/// so no server can see an end of data we did not mean, the SMTP smuggling class), a "." at the
/// start of a line doubled, a final CRLF added when missing, then the terminating ".\r\n".
std::string dot_stuff(std::string_view message);

}  // namespace sluice::smtp
