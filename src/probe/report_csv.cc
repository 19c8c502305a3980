// CSV, one row per finding, so that a spreadsheet can sort and filter a run over many servers.
#include "probe/report.h"

#include <fmt/format.h>

#include "base/csv.h"

namespace sluice::probe {
namespace {

struct Rows {
  std::string out;
  const Assessment* a = nullptr;
  void add(std::string_view category, std::string_view item, std::string_view value, std::string_view detail) {
    out += fmt::format("{},{},{},{},{},{},{}\r\n", csv_field(a->target.label()), csv_field(a->address), a->target.port,
                       csv_field(category), csv_field(item), csv_field(value), csv_field(detail));
  }
};

}  // namespace

std::string csv_report(const std::vector<Assessment>& results) {
  Rows rows;
  rows.out = "target,address,port,category,item,value,detail\r\n";
  for (const auto& a : results) {
    rows.a = &a;
    const auto& s = a.discovery.smtp;
    rows.add("smtp", "reachable", a.reachable() ? "yes" : "no", a.error);
    if (s.banner) rows.add("smtp", "greeting", std::to_string(s.banner->code), s.banner->one_line());
    if (a.target.mode == TlsMode::StartTls && s.ehlo)
      rows.add("smtp", "starttls", a.starttls_offered() ? "offered" : "not-offered",
               s.starttls_reply ? s.starttls_reply->one_line() : "");
    if (s.mail_before_tls)
      rows.add("smtp", "plaintext-mail", s.mail_before_tls->positive() ? "accepted" : "refused",
               s.mail_before_tls->one_line());
    if (a.target.mode == TlsMode::StartTls && a.starttls_offered())
      rows.add("smtp", "starttls-injection",
               !a.injection_vulnerable   ? "unknown"
               : *a.injection_vulnerable ? "vulnerable"
                                         : "safe",
               a.injection_detail);
    for (const auto& f : a.versions) {
      std::string name = fmt::format("TLSv{}", tls::config_name(f.version));
      rows.add("tls-version", name, version_state_name(f.state), f.detail);
      for (const auto& suite : f.suites)
        rows.add("cipher-suite", name, suite.suite->name,
                 fmt::format("{} {} bits {}{}", suite.suite->iana_name, suite.suite->bits, suite.key_exchange,
                             is_weak(*suite.suite) ? " weak" : ""));
      if (f.state == VersionState::Offered) rows.add("suite-order", name, suite_order_name(f.order), "");
    }
    for (const auto& chain : a.chains) {
      const auto& leaf = chain.certificates.front();
      rows.add("certificate", "subject", leaf.subject, leaf.sha256_fingerprint);
      rows.add("certificate", "issuer", leaf.issuer, leaf.self_signed ? "self-signed" : "");
      rows.add("certificate", "not-after", leaf.not_after, fmt::format("{} days left", leaf.days_left));
      rows.add("certificate", "key", fmt::format("{} {}", leaf.key_type, leaf.key_bits), leaf.curve);
      rows.add("certificate", "signature", leaf.signature_algorithm, chain.has_sha1_signature ? "SHA-1 in chain" : "");
      rows.add("certificate", "trusted", chain.trusted ? "yes" : "no", chain.trust_error);
      rows.add("certificate", "name-match", chain.name_matches ? "yes" : "no", chain.expected_name);
    }
    for (const auto& v : a.verdicts) {
      std::string why;
      for (const auto& r : v.reasons) why += (why.empty() ? "" : " ") + r;
      rows.add("verdict", v.profile, v.pass ? "pass" : "fail", why);
    }
  }
  return rows.out;
}

}  // namespace sluice::probe
