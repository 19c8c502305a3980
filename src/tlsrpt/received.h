// Reading TLS-RPT reports that other senders mailed to us (RFC 8460 5.3): the message as saved
// (.eml, the report in an application/tlsrpt+gzip or +json part), the attachment itself
// (.json.gz) or plain JSON. `sluice tlsrpt` summarises them.
#pragma once
#include <string>
#include <string_view>

#include "base/result.h"
#include "tlsrpt/report.h"

namespace sluice::tlsrpt {

/// The report in `data`, whichever of the three forms it is. Errors say what is wrong: "no
/// application/tlsrpt+gzip part", "attachment is not base64", "policies[0].policy: missing"...
Result<Report> read_report(std::string_view data);

/// The decoded body of the message's first part whose Content-Type is application/tlsrpt+gzip
/// or application/tlsrpt+json (nested multiparts are searched too).
Result<std::string> report_attachment(std::string_view message);

}  // namespace sluice::tlsrpt
