// A report as a mail (RFC 8460 5.3): multipart/report; report-type="tlsrpt", a short text part
// and the gzipped JSON as an application/tlsrpt+gzip attachment named as 5.1 says.
#pragma once
#include <chrono>
#include <string>

namespace sluice::tlsrpt {

/// Marks mail carrying a report: sluice does not count the TLS of sessions that deliver such
/// mail (RFC 8460 5.3: no reports about reports). The spooled envelope's connector is this name.
inline constexpr const char* kReportConnector = "TLSRPT";

struct ReportMail {
  std::string from;           ///< the address in From:
  std::string to;             ///< the rua's address
  std::string submitter;      ///< TLS-Report-Submitter, and the file name's receiver part
  std::string policy_domain;  ///< TLS-Report-Domain
  std::string report_id;
  std::string gzipped_json;
  std::chrono::system_clock::time_point begin, end;  ///< the report's date-range
  std::chrono::system_clock::time_point now;
  std::string message_id_seed;  ///< unique: Message-ID <seed@submitter> and the MIME boundary
};

/// RFC 8460 5.1: "<submitter>!<policy-domain>!<begin>!<end>!<id>.json.gz", times in Unix seconds;
/// the id with '!' and '/' taken out so that the name stays one.
std::string report_file_name(const std::string& submitter, const std::string& policy_domain,
                             std::chrono::system_clock::time_point begin, std::chrono::system_clock::time_point end,
                             const std::string& report_id);

/// The whole message, CRLF lines, 7bit (the attachment in base64).
std::string build_report_mail(const ReportMail& mail);

}  // namespace sluice::tlsrpt
