#include "outbound/tls_report_feed.h"

#include <fmt/format.h>
#include <openssl/x509_vfy.h>

#include "net/connection.h"
#include "tls/dane.h"

namespace sluice::outbound {
namespace {

/// "192.0.2.1" of "192.0.2.1:25", "2001:db8::1" of "[2001:db8::1]:25".
std::string address_of_endpoint_text(const std::string& text) {
  if (text.starts_with('[')) return text.substr(1, text.find(']') - 1);
  return text.substr(0, text.rfind(':'));
}

/// RFC 8460 4.4: an STS policy-string is the policy's lines (CRLF or LF), empty ones left out.
std::vector<std::string> sts_policy_lines_of(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.emplace_back(line);
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return lines;
}

}  // namespace

std::string tls_result_type_of(long x509_error) {
  switch (x509_error) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return "certificate-host-mismatch";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "certificate-expired";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return "certificate-not-trusted";
    default:
      return kValidationFailure;
  }
}

tlsrpt::Policy tls_report_policy(const Target& target) {
  tlsrpt::Policy policy;
  policy.domain = target.tls.policy_domain.empty() ? target.host : target.tls.policy_domain;
  switch (target.tls.source) {
    case PolicySource::Dane:
      policy.type = std::string(tlsrpt::kPolicyTlsa);
      for (const auto& r : target.tls.tlsa) policy.strings.push_back(tls::tlsa_presentation(r));
      break;
    case PolicySource::MtaSts:
      policy.type = std::string(tlsrpt::kPolicySts);
      policy.strings = sts_policy_lines_of(target.tls.sts_policy_text);
      policy.mx_hosts = target.tls.sts_mx_patterns;
      break;
    default:
      policy.type = std::string(tlsrpt::kNoPolicyFound);
  }
  return policy;
}

std::optional<tlsrpt::Session> tls_report_session(const Target& target, const AttemptResult& result,
                                                  std::chrono::system_clock::time_point now) {
  if (result.local_endpoint.empty()) return std::nullopt;  // never connected: nothing about TLS to say
  std::string type = result.tls_result_type;
  // The DANE check's refusal (tls/dane) names itself in the reply; RFC 8460 4.3.1 has no more
  // precise type for a certificate that matches no usable TLSA record.
  if (type.empty() && result.reply.one_line().find("TLSA mismatch") != std::string::npos) type = kValidationFailure;
  if (!result.tls && type.empty()) return std::nullopt;
  tlsrpt::Session session;
  session.when = now;
  session.policy = tls_report_policy(target);
  session.result_type = type;
  session.sending_mta_ip = address_of_endpoint_text(result.local_endpoint);
  session.receiving_ip = address_of_endpoint_text(net::endpoint_text(target.endpoint));
  session.receiving_mx_hostname = target.host;
  return session;
}

void count_policy_failure(tlsrpt::Collector* collector, const PolicyFailure& failure) {
  if (!collector) return;
  Target target;
  target.host = failure.host;
  target.tls = failure.policy;
  tlsrpt::Session session;
  session.when = collector->now();
  session.policy = tls_report_policy(target);
  session.result_type = failure.result_type;
  session.receiving_mx_hostname = failure.host;
  session.additional_information = failure.detail;
  collector->record(session);
}

void count_tls_session(tlsrpt::Collector* collector, const Target& target, const AttemptResult& result) {
  if (!collector) return;
  if (auto session = tls_report_session(target, result, collector->now())) collector->record(*session);
}

}  // namespace sluice::outbound
