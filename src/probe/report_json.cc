// JSON report, schema "sluice-probe/1" (docs/probe.md). Fields are only ever added, never
// renamed or removed, within one schema version.
#include <fmt/format.h>

#include "probe/report.h"
#include "probe/verdict.h"

namespace sluice::probe {
namespace {

using nlohmann::json;

json reply_or_null(const std::optional<smtp::Reply>& r) { return r ? json(r->one_line()) : json(nullptr); }

json extensions(const std::optional<smtp::Reply>& ehlo) {
  json out = json::array();
  if (ehlo && ehlo->code == 250)
    for (std::size_t i = 1; i < ehlo->lines.size(); ++i) out.push_back(ehlo->lines[i]);
  return out;
}

bool in_office365(const CipherSuite& s) {
  for (auto n : office365_suites())
    if (n == s.iana_name) return true;
  return false;
}

json smtp_part(const Assessment& a) {
  const auto& s = a.discovery.smtp;
  json j;
  j["reachable"] = a.reachable();
  j["banner"] = reply_or_null(s.banner);
  j["banner_code"] = s.banner ? json(s.banner->code) : json(nullptr);
  j["banner_delay_ms"] = s.banner ? json(s.banner_delay.count()) : json(nullptr);
  j["ehlo_name"] = nullptr;
  if (s.ehlo && s.ehlo->code == 250 && !s.ehlo->lines.empty())
    j["ehlo_name"] = s.ehlo->lines.front().substr(0, s.ehlo->lines.front().find(' '));
  j["capabilities"] = extensions(s.ehlo);
  j["starttls_offered"] = a.starttls_offered();
  j["starttls_reply"] = reply_or_null(s.starttls_reply);
  j["capabilities_after_tls"] = s.ehlo_after_tls ? extensions(s.ehlo_after_tls) : json(nullptr);
  if (s.mail_before_tls)
    j["plaintext_mail"] = {{"reply", s.mail_before_tls->one_line()},
                           {"code", s.mail_before_tls->code},
                           {"refused", !s.mail_before_tls->positive()}};
  else
    j["plaintext_mail"] = nullptr;
  j["starttls_injection"] = {{"vulnerable", a.injection_vulnerable ? json(*a.injection_vulnerable) : json(nullptr)},
                             {"detail", a.injection_detail}};
  return j;
}

json version_part(const VersionFinding& f) {
  json j;
  j["version"] = std::string(tls::config_name(f.version));
  j["state"] = std::string(version_state_name(f.state));
  j["detail"] = f.detail;
  j["order"] = std::string(suite_order_name(f.order));
  j["enumeration_complete"] = f.enumeration_complete;
  j["suites"] = json::array();
  for (const auto& s : f.suites)
    j["suites"].push_back({{"name", s.suite->name},
                           {"iana", s.suite->iana_name},
                           {"id", fmt::format("0x{:04X}", s.suite->id)},
                           {"bits", s.suite->bits},
                           {"key_exchange", s.key_exchange},
                           {"weak", is_weak(*s.suite)},
                           {"office365", in_office365(*s.suite)}});
  return j;
}

json certificate_part(const CertificateFacts& c) {
  return {{"subject", c.subject},
          {"issuer", c.issuer},
          {"dns_names", c.dns_names},
          {"ip_addresses", c.ip_addresses},
          {"not_before", c.not_before},
          {"not_after", c.not_after},
          {"days_left", c.days_left},
          {"key_type", c.key_type},
          {"key_bits", c.key_bits},
          {"curve", c.curve.empty() ? json(nullptr) : json(c.curve)},
          {"signature_algorithm", c.signature_algorithm},
          {"sha1_signed", c.sha1_signed},
          {"self_signed", c.self_signed},
          {"sha256", c.sha256_fingerprint}};
}

}  // namespace

nlohmann::json json_report(const std::vector<Assessment>& results, std::string_view profile) {
  json out;
  out["schema"] = "sluice-probe/1";
  out["profile"] = std::string(profile);
  bool all = true;
  out["targets"] = json::array();
  for (const auto& a : results) {
    json t;
    t["target"] = a.target.label();
    t["host"] = a.target.host;
    t["port"] = a.target.port;
    t["address"] = a.address.empty() ? json(nullptr) : json(a.address);
    t["mode"] = a.target.mode == TlsMode::Implicit ? "implicit" : "starttls";
    t["mx_domain"] = a.target.mx_domain.empty() ? json(nullptr) : json(a.target.mx_domain);
    t["mx_preference"] = a.target.mx_preference >= 0 ? json(a.target.mx_preference) : json(nullptr);
    t["error"] = a.error.empty() ? json(nullptr) : json(a.error);
    t["duration_ms"] = a.elapsed.count();
    t["connections"] = a.connections;
    t["smtp"] = smtp_part(a);
    const auto& d = a.discovery;
    t["discovery"] = {
        {"outcome", std::string(outcome_name(d.outcome))},
        {"detail", d.detail},
        {"version",
         d.tls.version == tls::Version::Unknown ? json(nullptr) : json(std::string(tls::config_name(d.tls.version)))},
        {"cipher", d.tls.cipher},
        {"key_exchange", d.tls.key_exchange}};
    t["versions"] = json::array();
    for (const auto& f : a.versions) t["versions"].push_back(version_part(f));
    t["certificates"] = json::array();
    for (const auto& chain : a.chains) {
      json c = {{"trusted", chain.trusted},
                {"trust_error", chain.trusted ? json(nullptr) : json(chain.trust_error)},
                {"expected_name", chain.expected_name},
                {"name_matches", chain.name_matches},
                {"sha1_signature", chain.has_sha1_signature},
                {"chain", json::array()}};
      for (const auto& cert : chain.certificates) c["chain"].push_back(certificate_part(cert));
      t["certificates"].push_back(c);
    }
    t["verdicts"] = json::array();
    for (const auto& v : a.verdicts)
      t["verdicts"].push_back(
          {{"profile", v.profile}, {"pass", v.pass}, {"reasons", v.reasons}, {"consequences", v.consequences}});
    const Verdict* selected = verdict_for(a, profile);
    t["pass"] = selected && selected->pass;
    all = all && selected && selected->pass;
    out["targets"].push_back(std::move(t));
  }
  out["pass"] = all;
  return out;
}

}  // namespace sluice::probe
