#include "probe/domain_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "mta_sts/policy_file.h"
#include "mta_sts/txt_record.h"
#include "tls/dane.h"
#include "tls/tlsa_match.h"

namespace sluice::probe {
namespace {

MtaStsFindings look_up_mta_sts(const std::string& domain, const net::MailLookups& dns,
                               const mta_sts::PolicyFetcher& fetch, std::uint16_t https_port) {
  MtaStsFindings out;
  out.txt_name = mta_sts::txt_record_name(domain);
  out.txt = dns.txt(out.txt_name);
  if (out.txt.status != net::DnsAnswer::Status::Ok) return out;
  auto id = mta_sts::parse_txt_records(out.txt.txt);
  if (!id) {
    out.record_error = id.error().message;
    return out;
  }
  if (!*id) return out;  // TXT records, but none of them MTA-STS
  out.id = **id;
  out.url = mta_sts::policy_url(domain, https_port);
  auto text = fetch(domain);
  if (!text) {
    out.fetch_error = text.error().message;
    out.failure_type = text.error().failure_type;
    return out;
  }
  auto policy = mta_sts::parse_policy(*text);
  if (!policy) {
    out.fetch_error = "the policy is invalid: " + policy.error().message;
    out.failure_type = std::string(mta_sts::kPolicyInvalid);
    return out;
  }
  policy->id = *out.id;
  out.policy = std::move(*policy);
  return out;
}

TlsRptFindings look_up_tlsrpt(const std::string& domain, const net::MailLookups& dns) {
  TlsRptFindings out;
  out.txt_name = tlsrpt::record_name(domain);
  out.txt = dns.txt(out.txt_name);
  if (out.txt.status != net::DnsAnswer::Status::Ok) return out;
  // Other TXT records may share the name; only when one claims to be TLS-RPT is its absence of
  // validity an error rather than "no record".
  bool claimed = std::any_of(out.txt.txt.begin(), out.txt.txt.end(),
                             [](const std::string& t) { return t.rfind("v=TLSRPTv1", 0) == 0; });
  if (!claimed) return out;
  auto record = tlsrpt::select_record(out.txt.txt);
  if (record)
    out.record = std::move(*record);
  else
    out.error = record.error().message;
  return out;
}

MxHostFindings look_up_tlsa(const net::MxHost& mx, std::uint16_t port, const net::MailLookups& dns) {
  MxHostFindings out;
  out.host = mx.name;
  out.preference = mx.implicit ? -1 : mx.preference;
  out.tlsa_name = fmt::format("_{}._tcp.{}", port, mx.name);
  out.tlsa = dns.tlsa(out.tlsa_name);
  out.usable = tls::usable_tlsa(out.tlsa.tlsa);
  for (const auto& r : out.tlsa.tlsa)
    if (auto why = tls::tlsa_unusable_reason(r); !why.empty())
      out.unusable.push_back(fmt::format("{}: {}", tls::tlsa_text(r), why));
  return out;
}

PresentedChain judge_chain(const ChainFacts& chain, const std::vector<tls::TlsaRecord>& usable) {
  PresentedChain out;
  if (!chain.certificates.empty()) out.subject = chain.certificates.front().subject;
  out.trusted = chain.trusted;
  out.trust_error = chain.trust_error;
  out.name_matches = chain.name_matches;
  for (const auto& record : usable)
    if (int depth = tls::tlsa_matching_depth(record, chain.der); depth >= 0) {
      out.tlsa_match = fmt::format("{} (depth {})", tls::tlsa_text(record), depth);
      break;
    }
  return out;
}

std::string why_no_certificate(const Assessment& a) {
  if (!a.error.empty()) return "not assessed: " + a.error;
  if (a.target.mode == TlsMode::StartTls && !a.starttls_offered()) return "STARTTLS is not offered";
  return "no TLS handshake completed";
}

}  // namespace

std::string_view level_name(PolicyVerdict::Level level) {
  switch (level) {
    case PolicyVerdict::Level::Ok:
      return "ok";
    case PolicyVerdict::Level::Warning:
      return "warning";
    case PolicyVerdict::Level::Problem:
      return "problem";
  }
  return "problem";
}

bool DomainPolicy::pass() const {
  return std::none_of(verdicts.begin(), verdicts.end(),
                      [](const PolicyVerdict& v) { return v.level == PolicyVerdict::Level::Problem; });
}

DomainPolicy look_up_domain_policy(const std::string& domain, std::uint16_t port, const net::MailLookups& dns,
                                   const mta_sts::PolicyFetcher& fetch, std::uint16_t https_port) {
  DomainPolicy out;
  out.domain = domain;
  out.port = port;
  out.mx = dns.mx(domain);
  if (out.mx.status == net::DnsAnswer::Status::Ok)
    for (const auto& mx : out.mx.hosts) out.hosts.push_back(look_up_tlsa(mx, port, dns));
  // Equal preferences come shuffled; a report is easier to compare run to run in a fixed order.
  std::stable_sort(out.hosts.begin(), out.hosts.end(), [](const MxHostFindings& a, const MxHostFindings& b) {
    return std::tie(a.preference, a.host) < std::tie(b.preference, b.host);
  });
  out.mta_sts = look_up_mta_sts(domain, dns, fetch, https_port);
  out.tlsrpt = look_up_tlsrpt(domain, dns);
  return out;
}

void note_presented_certificates(DomainPolicy& policy, const std::vector<Assessment>& results) {
  for (auto& host : policy.hosts) {
    auto a = std::find_if(results.begin(), results.end(), [&](const Assessment& r) {
      return r.target.mx_domain == policy.domain && r.target.host == host.host;
    });
    host.chains.clear();
    if (a == results.end()) {
      host.not_seen = "not probed";
      continue;
    }
    for (const auto& chain : a->chains) host.chains.push_back(judge_chain(chain, host.usable));
    if (host.chains.empty()) host.not_seen = why_no_certificate(*a);
  }
}

}  // namespace sluice::probe
