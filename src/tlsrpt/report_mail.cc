#include "tlsrpt/report_mail.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/base64.h"

namespace sluice::tlsrpt {
namespace {

long long unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

/// RFC 5322 3.3, in UTC: "Tue, 08 Dec 2026 00:10:00 +0000".
std::string mail_date(std::chrono::system_clock::time_point t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(seconds - day);
  const std::chrono::weekday weekday(day);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays[weekday.c_encoding()], unsigned(ymd.day()),
                     kMonths[unsigned(ymd.month()) - 1], int(ymd.year()), hms.hours().count(), hms.minutes().count(),
                     hms.seconds().count());
}

/// Base64 in lines of 76 (RFC 2045 6.8).
std::string base64_lines(const std::string& data) {
  const std::string encoded = base64_encode(data);
  std::string out;
  for (std::size_t at = 0; at < encoded.size(); at += 76) out += encoded.substr(at, 76) + "\r\n";
  return out;
}

}  // namespace

std::string report_file_name(const std::string& submitter, const std::string& policy_domain,
                             std::chrono::system_clock::time_point begin, std::chrono::system_clock::time_point end,
                             const std::string& report_id) {
  std::string id = report_id;
  std::erase_if(id, [](char c) { return c == '!' || c == '/' || c == '"' || c == '\\'; });
  return fmt::format("{}!{}!{}!{}!{}.json.gz", submitter, policy_domain, unix_seconds(begin), unix_seconds(end), id);
}

std::string build_report_mail(const ReportMail& m) {
  const std::string boundary = "=_sluice_tlsrpt_" + m.message_id_seed;
  const std::string file = report_file_name(m.submitter, m.policy_domain, m.begin, m.end, m.report_id);
  std::string out;
  out += fmt::format("From: <{}>\r\n", m.from);
  out += fmt::format("Date: {}\r\n", mail_date(m.now));
  out += fmt::format("To: <{}>\r\n", m.to);
  // RFC 8460 5.3: the subject names domain, submitter and report id, folded as its example is.
  out += fmt::format("Subject: Report Domain: {}\r\n Submitter: {}\r\n Report-ID: <{}>\r\n", m.policy_domain,
                     m.submitter, m.report_id);
  out += fmt::format("Message-ID: <{}@{}>\r\n", m.message_id_seed, m.submitter);
  out += fmt::format("TLS-Report-Domain: {}\r\n", m.policy_domain);
  out += fmt::format("TLS-Report-Submitter: {}\r\n", m.submitter);
  out += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: nobody should answer a report
  out += "MIME-Version: 1.0\r\n";
  out += fmt::format("Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n\tboundary=\"{}\"\r\n", boundary);
  out += "\r\nThis is a MIME-encapsulated message.\r\n";
  out += fmt::format("\r\n--{}\r\n", boundary);
  out += "Content-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
  out += fmt::format("This is an aggregate TLS report (RFC 8460) from {} for {}.\r\n", m.submitter, m.policy_domain);
  out += fmt::format("\r\n--{}\r\n", boundary);
  out += "Content-Type: application/tlsrpt+gzip\r\nContent-Transfer-Encoding: base64\r\n";
  out += fmt::format("Content-Disposition: attachment;\r\n\tfilename=\"{}\"\r\n\r\n", file);
  out += base64_lines(m.gzipped_json);
  out += fmt::format("\r\n--{}--\r\n", boundary);
  return out;
}

}  // namespace sluice::tlsrpt
