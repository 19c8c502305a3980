// The verdicts on a domain's MTA-STS, DANE and TLS-RPT: each one line saying what is published or
// wrong and what senders do because of it, so that whoever reads it knows what to fix.
#include "probe/domain_policy.h"  // first: what this file implements (fuzz/run.sh finds it so)

#include <fmt/format.h>

#include <algorithm>

#include "mta_sts/policy_file.h"
#include "tls/dane.h"

namespace sluice::probe {
namespace {

using Level = PolicyVerdict::Level;
using Status = net::DnsAnswer::Status;

struct Verdicts {
  std::vector<PolicyVerdict>& out;
  template <typename... Args>
  void add(Level level, fmt::format_string<Args...> text, Args&&... args) {
    out.push_back({level, fmt::format(text, std::forward<Args>(args)...)});
  }
};

std::string why_lookup_failed(const net::DnsRecords& r) { return r.error.empty() ? "no answer" : r.error; }

/// A certificate a sender that enforces MTA-STS accepts: WebPKI-trusted and naming the MX host.
std::string sts_certificate_problem(const MxHostFindings& host) {
  if (host.chains.empty()) return "no certificate could be seen (" + host.not_seen + ")";
  for (const auto& c : host.chains) {
    if (!c.trusted) return fmt::format("its certificate ({}) is not trusted ({})", c.subject, c.trust_error);
    if (!c.name_matches) return fmt::format("its certificate ({}) does not name it", c.subject);
  }
  return {};
}

void judge_mta_sts(const DomainPolicy& d, Verdicts v) {
  const auto& s = d.mta_sts;
  if (s.txt.status == Status::TempFail) {
    v.add(Level::Problem, "MTA-STS could not be checked: the {} TXT lookup failed ({})", s.txt_name,
          why_lookup_failed(s.txt));
    return;
  }
  if (!s.record_error.empty()) {
    v.add(Level::Problem,
          "MTA-STS TXT record at {} is invalid ({}): senders treat the domain as having no policy (or keep a "
          "cached one until it expires)",
          s.txt_name, s.record_error);
    return;
  }
  if (!s.id) {
    v.add(Level::Warning, "no MTA-STS record at {}: senders use opportunistic TLS, which an attacker can strip",
          s.txt_name);
    return;
  }
  if (!s.policy) {
    v.add(Level::Problem,
          "MTA-STS TXT record present but the policy cannot be fetched ({}): senders treat the domain as having no "
          "policy (or keep a cached one until it expires)",
          s.fetch_error);
    return;
  }
  const auto& p = *s.policy;
  if (p.mode == mta_sts::Mode::None) {
    v.add(Level::Warning, "MTA-STS mode none: the policy is withdrawn, senders apply none");
    return;
  }
  bool enforce = p.mode == mta_sts::Mode::Enforce;
  std::string mode(mta_sts::mode_name(p.mode));
  // In testing mode senders deliver anyway and only report: worth a warning, never a failure.
  Level broken = enforce ? Level::Problem : Level::Warning;
  std::string consequence = enforce ? "senders that honour MTA-STS will not deliver to it"
                                    : "senders report it (TLS-RPT) but deliver; in enforce mode they would not";
  std::size_t good = 0;
  for (const auto& host : d.hosts) {
    if (!p.matches(host.host)) {
      v.add(broken, "MTA-STS {}, but {} is not in the policy (mx: {}): {}", mode, host.host, fmt::join(p.mx, ", "),
            consequence);
    } else if (auto why = sts_certificate_problem(host); !why.empty()) {
      v.add(broken, "MTA-STS {}, but {}: {}: {}", mode, host.host, why, consequence);
    } else {
      ++good;
    }
  }
  if (enforce && !d.hosts.empty() && good == 0)
    v.add(Level::Problem,
          "MTA-STS enforce, but no MX host passes: senders that honour MTA-STS will not deliver "
          "mail to {} at all",
          d.domain);
  if (p.max_age.count() < 86400)
    v.add(Level::Warning, "MTA-STS max_age is {} s: senders forget the policy within a day (RFC 8461 suggests weeks)",
          p.max_age.count());
  if (good == d.hosts.size() && !d.hosts.empty())
    v.add(Level::Ok,
          "MTA-STS {} (id {}, max_age {} s): every MX host is in the policy and presents a trusted "
          "certificate with its name",
          mode, p.id, p.max_age.count());
  if (!enforce && good == d.hosts.size())
    v.add(Level::Warning, "MTA-STS testing: senders only report failures; switch to enforce to protect mail");
}

void judge_dane_host(const DomainPolicy& d, const MxHostFindings& h, Verdicts v) {
  if (h.tlsa.status == Status::TempFail) {
    // RFC 7672 2.2: a failed TLSA lookup for a host of a secure MX answer makes DANE senders defer.
    v.add(d.mx.secure ? Level::Problem : Level::Warning, "DANE: the TLSA lookup for {} failed ({}){}", h.tlsa_name,
          why_lookup_failed(h.tlsa), d.mx.secure ? ": DANE senders defer mail to it" : "");
    return;
  }
  if (h.tlsa.tlsa.empty()) return;
  if (!d.mx.secure) {
    v.add(Level::Warning, "TLSA records at {} but the MX answer is not DNSSEC-signed: DANE does not apply",
          h.tlsa_name);
    return;
  }
  if (!h.tlsa.secure) {
    v.add(Level::Warning, "TLSA records at {} are not DNSSEC-signed: DANE does not apply to {}", h.tlsa_name, h.host);
    return;
  }
  if (h.usable.empty()) {
    v.add(Level::Warning,
          "DANE: none of {}'s TLSA records is usable for SMTP ({}): DANE senders encrypt but do not "
          "authenticate",
          h.host, fmt::join(h.unusable, "; "));
    return;
  }
  if (h.chains.empty()) {
    v.add(Level::Problem,
          "DANE: {} publishes TLSA records but no certificate could be seen ({}): DANE senders "
          "defer mail to it",
          h.host, h.not_seen);
    return;
  }
  std::vector<std::string> records;
  for (const auto& r : h.usable) records.push_back(tls::tlsa_text(r));
  for (const auto& c : h.chains) {
    if (c.tlsa_match.empty()) {
      v.add(Level::Problem,
            "DANE: {}'s certificate ({}) does not match its TLSA records ({}): DANE senders will "
            "defer all mail to it",
            h.host, c.subject, fmt::join(records, ", "));
      return;
    }
  }
  v.add(Level::Ok, "DANE: {}'s certificate matches TLSA {}", h.host, h.chains.front().tlsa_match);
}

void judge_dane(const DomainPolicy& d, Verdicts v) {
  for (const auto& h : d.hosts) judge_dane_host(d, h, v);
  bool any_tlsa = std::any_of(d.hosts.begin(), d.hosts.end(), [](const MxHostFindings& h) {
    return !h.tlsa.tlsa.empty() || h.tlsa.status == Status::TempFail;
  });
  if (any_tlsa) return;
  if (d.mx.secure)
    v.add(Level::Warning, "no DANE: the MX answer is DNSSEC-signed but no MX host publishes TLSA records");
  else
    v.add(Level::Warning, "no DANE: the MX answer is not DNSSEC-signed");
}

void judge_tlsrpt(const DomainPolicy& d, Verdicts v) {
  const auto& t = d.tlsrpt;
  if (t.txt.status == Status::TempFail)
    v.add(Level::Warning, "TLS-RPT could not be checked: the {} TXT lookup failed ({})", t.txt_name,
          why_lookup_failed(t.txt));
  else if (!t.error.empty())
    v.add(Level::Problem, "TLS-RPT record at {} is invalid ({}): senders send no reports", t.txt_name, t.error);
  else if (!t.record)
    v.add(Level::Warning, "no TLS-RPT record at {}: you will not hear about failures", t.txt_name);
  else
    v.add(Level::Ok, "TLS-RPT: reports go to {}", fmt::join(t.record->rua, ", "));
}

}  // namespace

void judge_domain_policy(DomainPolicy& d) {
  d.verdicts.clear();
  Verdicts v{d.verdicts};
  if (d.mx.status != Status::Ok && d.mx.status != Status::NullMx)
    v.add(Level::Problem, "MX lookup for {} failed ({}): nothing else can be judged for its hosts", d.domain,
          d.mx.error.empty() ? "no answer" : d.mx.error);
  judge_mta_sts(d, v);
  judge_dane(d, v);
  judge_tlsrpt(d, v);
}

}  // namespace sluice::probe
