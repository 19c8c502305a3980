// The report an administrator reads: one block per target, findings first, verdicts last.
#include <fmt/format.h>

#include "probe/report.h"
#include "probe/verdict.h"

namespace sluice::probe {
namespace {

struct Paint {
  bool on;
  std::string operator()(std::string_view text, std::string_view code) const {
    return on ? fmt::format("\033[{}m{}\033[0m", code, text) : std::string(text);
  }
};

std::string capabilities(const smtp::Reply& ehlo) {
  std::string out;
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) out += (i > 1 ? ", " : "") + ehlo.lines[i];
  return out;
}

void smtp_block(std::string& out, const Assessment& a) {
  const auto& s = a.discovery.smtp;
  if (s.banner) out += fmt::format("  greeting    {} ({} ms)\n", s.banner->one_line(), s.banner_delay.count());
  if (s.ehlo) {
    std::string name = s.ehlo->lines.empty() ? "" : s.ehlo->lines.front().substr(0, s.ehlo->lines.front().find(' '));
    out += fmt::format("  EHLO        {}: {}\n", name, capabilities(*s.ehlo));
  }
  if (a.target.mode == TlsMode::StartTls && s.ehlo) {
    if (!a.starttls_offered())
      out += "  STARTTLS    not offered\n";
    else if (s.starttls_reply)
      out += fmt::format("  STARTTLS    offered; answered {}\n", s.starttls_reply->one_line());
  }
  if (s.mail_before_tls) {
    out += fmt::format("  MAIL before STARTTLS  {}: {}\n",
                       s.mail_before_tls->positive() ? "accepted (plaintext mail possible)" : "refused",
                       s.mail_before_tls->one_line());
  }
  if (a.target.mode == TlsMode::StartTls && a.starttls_offered()) {
    std::string state = !a.injection_vulnerable   ? "not tested"
                        : *a.injection_vulnerable ? "VULNERABLE"
                                                  : "not vulnerable";
    out += fmt::format("  STARTTLS injection    {} ({})\n", state, a.injection_detail);
  }
}

void versions_block(std::string& out, const Assessment& a, const Paint& paint) {
  for (const auto& f : a.versions) {
    std::string name = fmt::format("TLS {}", tls::config_name(f.version));
    bool legacy = f.version == tls::Version::Tls1_0 || f.version == tls::Version::Tls1_1;
    switch (f.state) {
      case VersionState::Offered: {
        std::string order = f.order == SuiteOrder::Server   ? "server's order"
                            : f.order == SuiteOrder::Client ? "client's order (the server has no preference)"
                            : f.order == SuiteOrder::Single ? "one suite"
                                                            : "order unclear";
        out += fmt::format("  {:<10}  {}, {} suite{}, {}{}\n", name, paint("offered", legacy ? "31" : "32"),
                           f.suites.size(), f.suites.size() == 1 ? "" : "s", order,
                           f.enumeration_complete ? "" : fmt::format(" ({})", f.detail));
        for (const auto& s : f.suites) {
          bool o365 = false;
          for (auto n : office365_suites()) o365 = o365 || n == s.suite->iana_name;
          out += fmt::format("      {:<32} {:>3} bits  {:<10}{}{}\n", s.suite->name, s.suite->bits, s.key_exchange,
                             o365 ? "  Office 365" : "", is_weak(*s.suite) ? paint("  WEAK", "31") : "");
        }
        break;
      }
      case VersionState::NotOffered:
        out += fmt::format("  {:<10}  not offered ({})\n", name, f.detail);
        break;
      case VersionState::Unknown:
        out += fmt::format("  {:<10}  {} ({})\n", name, paint("unknown", "33"), f.detail);
        break;
      case VersionState::NotTested:
        out += fmt::format("  {:<10}  not tested ({})\n", name, f.detail);
        break;
    }
  }
}

void certificate_block(std::string& out, const Assessment& a, const Paint& paint) {
  for (const auto& chain : a.chains) {
    const auto& leaf = chain.certificates.front();
    std::string key = leaf.curve.empty() ? fmt::format("{} {} bits", leaf.key_type, leaf.key_bits)
                                         : fmt::format("{} {} ({} bits)", leaf.key_type, leaf.curve, leaf.key_bits);
    out += fmt::format("  certificate {}  [{}, {}]\n", leaf.subject, key, leaf.signature_algorithm);
    std::string names;
    for (const auto& n : leaf.dns_names) names += (names.empty() ? "" : ", ") + ("DNS:" + n);
    for (const auto& n : leaf.ip_addresses) names += (names.empty() ? "" : ", ") + ("IP:" + n);
    if (!names.empty()) out += fmt::format("      names   {}\n", names);
    out += fmt::format("      issuer  {}{}\n", leaf.issuer, leaf.self_signed ? " (self-signed)" : "");
    std::string left = leaf.days_left < 0    ? paint(fmt::format("EXPIRED {} days ago", -leaf.days_left), "31")
                       : leaf.days_left < 30 ? paint(fmt::format("{} days left", leaf.days_left), "33")
                                             : fmt::format("{} days left", leaf.days_left);
    out += fmt::format("      valid   {} to {} ({})\n", leaf.not_before, leaf.not_after, left);
    out += fmt::format("      chain   {} certificate{}, {}\n", chain.certificates.size(),
                       chain.certificates.size() == 1 ? "" : "s",
                       chain.trusted ? paint("trusted", "32") : paint("not trusted: " + chain.trust_error, "33"));
    if (!chain.expected_name.empty())
      out += fmt::format("      name    {} {}\n", chain.expected_name,
                         chain.name_matches ? "matches" : paint("does not match", "33"));
    if (chain.has_sha1_signature) out += fmt::format("      {}\n", paint("SHA-1 signature in the chain", "31"));
  }
}

std::string target_header(const Assessment& a) {
  std::string header = a.target.label();
  if (!a.address.empty() && a.address != a.target.host) header += fmt::format(" ({})", a.address);
  return header;
}

/// "self-signed", "not trusted", "does not match NAME" for the certificates seen; empty when fine.
std::string certificate_problems(const Assessment& a) {
  std::string out;
  auto add = [&](const std::string& what) {
    if (out.find(what) == std::string::npos) out += (out.empty() ? "" : ", ") + what;
  };
  for (const auto& chain : a.chains) {
    if (chain.certificates.front().self_signed)
      add("self-signed");
    else if (!chain.trusted)
      add("not trusted");
    if (!chain.expected_name.empty() && !chain.name_matches) add("does not match " + chain.expected_name);
  }
  return out;
}

}  // namespace

std::string summary_line(const Assessment& a, std::string_view profile, bool colour) {
  Paint paint{colour};
  const Verdict* v = verdict_for(a, profile);
  bool pass = v && v->pass;
  std::string out =
      fmt::format("{}  {} {}", target_header(a), pass ? paint("PASS", "32") : paint("FAIL", "31"), profile);
  if (!a.error.empty()) return out + fmt::format("  not assessed: {}", a.error);
  if (a.target.mode == TlsMode::StartTls && !a.starttls_offered()) return out + "  STARTTLS not offered";
  std::string versions;
  for (const auto& f : a.versions)
    if (f.state == VersionState::Offered)
      versions += (versions.empty() ? "TLS " : ", ") + std::string(tls::config_name(f.version));
  out += "  " + (versions.empty() ? std::string("no TLS version offered") : versions);
  if (std::string problems = certificate_problems(a); !problems.empty())
    out += "  certificate " + paint(problems, "33");
  return out + fmt::format("  ({} ms)", a.elapsed.count());
}

std::string text_report(const std::vector<Assessment>& results, std::string_view profile, bool colour) {
  Paint paint{colour};
  std::string out;
  int passed = 0;
  for (const auto& a : results) {
    std::string header = target_header(a);
    if (!a.target.mx_domain.empty())
      header += a.target.mx_preference >= 0 ? fmt::format(", MX {} of {}", a.target.mx_preference, a.target.mx_domain)
                                            : fmt::format(", implicit MX of {}", a.target.mx_domain);
    header +=
        fmt::format(", {}, {} ms, {} connections", a.target.mode == TlsMode::Implicit ? "implicit TLS" : "STARTTLS",
                    a.elapsed.count(), a.connections);
    out += paint(header, "1") + "\n";
    if (!a.error.empty()) out += fmt::format("  {}  {}\n", paint("not assessed", "31"), a.error);
    smtp_block(out, a);
    if (a.error.empty() && (a.target.mode == TlsMode::Implicit || a.starttls_offered())) {
      versions_block(out, a, paint);
      certificate_block(out, a, paint);
    }
    for (const auto& v : a.verdicts) {
      out += fmt::format("  {:<16} {}\n", v.profile, v.pass ? paint("PASS", "32") : paint("FAIL", "31"));
      for (const auto& r : v.reasons) out += fmt::format("      - {}\n", r);
      // A passing verdict's consequences are what a stricter peer (a validating connector) would do.
      for (const auto& c : v.consequences) out += fmt::format("      {}: {}\n", v.pass ? "but" : "consequence", c);
    }
    const Verdict* selected = verdict_for(a, profile);
    if (selected && selected->pass) ++passed;
    out += "\n";
  }
  out += fmt::format("{} of {} target{} pass the {} profile\n", passed, results.size(), results.size() == 1 ? "" : "s",
                     profile);
  return out;
}

}  // namespace sluice::probe
