#include "outbound/destination_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "base/text.h"

namespace sluice::outbound {

using config::OutboundTls;

namespace {

TlsLevel level_of(OutboundTls mode) {
  switch (mode) {
    case OutboundTls::None:
      return TlsLevel::None;
    case OutboundTls::Required:
      return TlsLevel::Encrypt;
    case OutboundTls::Verify:
      return TlsLevel::Verify;
    default:
      return TlsLevel::May;
  }
}

/// The table entry for `domain`: the exact one, else the "*.parent" entry of the nearest parent.
const config::TlsDestination* table_entry(const config::SendConnector& connector, const std::string& domain) {
  for (const auto& entry : connector.tls_destinations)
    if (entry.domain == domain) return &entry;
  for (auto dot = domain.find('.'); dot != std::string::npos; dot = domain.find('.', dot + 1)) {
    const std::string wildcard = "*" + domain.substr(dot);
    for (const auto& entry : connector.tls_destinations)
      if (entry.domain == wildcard) return &entry;
  }
  return nullptr;
}

void raise_min_version(TlsRequirement& r, std::optional<tls::Version> floor) {
  if (floor && (!r.min_version || *r.min_version < *floor)) r.min_version = floor;
}

/// The requirement of one of the plain levels (none .. verify), or the opportunistic fallback of
/// the other modes.
TlsRequirement plain(const config::SendConnector& connector, const DestinationMode& mode, TlsLevel level,
                     const std::string& host, const std::string& policy_domain, std::string decided_by) {
  TlsRequirement r;
  r.level = level;
  r.source = mode.entry ? PolicySource::Table : PolicySource::Connector;
  r.policy_domain = policy_domain;
  r.decided_by = std::move(decided_by);
  if (level == TlsLevel::Verify)
    r.match_names = mode.entry && !mode.entry->match.empty() ? mode.entry->match : std::vector<std::string>{host};
  if (mode.entry) r.min_version = mode.entry->min_version;
  r.fallback_to_plaintext = level == TlsLevel::May && connector.fallback_to_plaintext;
  return r;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

/// The requirements of the hosts of one delivery; the MTA-STS policy is looked up once, when a
/// host first needs it.
class Resolution {
 public:
  Resolution(const config::SendConnector& connector, const std::string& domain, const PolicyLookups& lookups,
             bool ignore_recipient_policies)
      : connector_(connector),
        domain_(domain),
        lookups_(lookups),
        ignore_(ignore_recipient_policies),
        mx_routing_(connector.smart_hosts.empty()) {}

  Result<TlsRequirement, smtp::Reply> host(const NextHost& host, bool mx_secure) {
    const std::string policy_domain = mx_routing_ ? domain_ : ascii_lower(host.name);
    const DestinationMode mode = destination_mode(connector_, policy_domain);
    const std::string mode_name(config::outbound_tls_name(mode.mode));
    switch (mode.mode) {
      case OutboundTls::None:
      case OutboundTls::Opportunistic:
      case OutboundTls::Required:
      case OutboundTls::Verify:
        return plain(connector_, mode, level_of(mode.mode), host.name, policy_domain,
                     fmt::format("{}: {}", mode.decided_by, mode_name));
      default:
        break;
    }
    if (ignore_)
      return plain(
          connector_, mode, TlsLevel::May, host.name, policy_domain,
          fmt::format("{}: {}, not applied: the message has TLS-Required: No (RFC 8689)", mode.decided_by, mode_name));
    if (mode.mode == OutboundTls::Dane || mode.mode == OutboundTls::DaneOnly) {
      std::string why_not = "DANE is not available";
      if (lookups_.dane) {
        auto dane = lookups_.dane(host.name, mx_secure, host.port, policy_domain, *lookups_.dns);
        if (!dane) {
          report(PolicySource::Dane, policy_domain, host.name, "dnssec-invalid", dane.error().one_line());
          return fail(dane.error());
        }
        if (*dane) {
          TlsRequirement r = **dane;
          r.policy_domain = policy_domain;
          r.decided_by = fmt::format("{}: {}: {}", mode.decided_by, mode_name, r.decided_by);
          if (mode.entry) raise_min_version(r, mode.entry->min_version);
          return r;
        }
        why_not = mx_secure ? "no DNSSEC-validated TLSA records" : "the MX records are not DNSSEC-validated";
      }
      if (mode.mode == OutboundTls::DaneOnly) {
        report(PolicySource::Dane, policy_domain, host.name, "dane-required", why_not);
        return fail(smtp::make_reply(
            451, "4.7.323",
            fmt::format("{}: dane-only, and {} for {}: not sent (tlsa-invalid)", mode.decided_by, why_not, host.name)));
      }
      return mta_sts(host, mode, policy_domain,
                     fmt::format("{}: dane, but {} for {}", mode.decided_by, why_not, host.name));
    }
    return mta_sts(host, mode, policy_domain, fmt::format("{}: mta-sts", mode.decided_by));
  }

 private:
  /// RFC 8461 5 for one host; `so_far` says how the decision got here.
  Result<TlsRequirement, smtp::Reply> mta_sts(const NextHost& host, const DestinationMode& mode,
                                              const std::string& policy_domain, const std::string& so_far) {
    auto opportunistic = [&](const std::string& why) {
      return plain(connector_, mode, TlsLevel::May, host.name, policy_domain, fmt::format("{}; {}", so_far, why));
    };
    if (!mx_routing_) return opportunistic("MTA-STS applies to MX routing only: opportunistic");
    if (!lookups_.mta_sts) return opportunistic("MTA-STS is not configured: opportunistic");
    if (!sts_) {
      sts_ = lookups_.mta_sts->lookup(domain_);
      // Once per delivery: a policy that could not be had (none cached) is a failure of the domain.
      if (sts_->status == mta_sts::Lookup::Status::Failed && !sts_->failure_type.empty())
        report(PolicySource::MtaSts, domain_, "", sts_->failure_type, sts_->error);
    }
    using S = mta_sts::Lookup::Status;
    // The store's reason (a malformed TXT record, a failed lookup or refresh) goes into the log line.
    const std::string store_note = sts_->error.empty() ? "" : fmt::format(" ({})", sts_->error);
    if (sts_->status == S::NoPolicy)
      return opportunistic(fmt::format("no MTA-STS policy for {}{}: opportunistic", domain_, store_note));
    if (sts_->status == S::Failed || !sts_->policy)
      return opportunistic(fmt::format(
          "MTA-STS policy of {} unavailable ({}): delivered as without a policy (RFC 8461 5.1)", domain_, sts_->error));
    const mta_sts::Policy& policy = *sts_->policy;
    if (policy.mode == mta_sts::Mode::None)
      return opportunistic(fmt::format("MTA-STS policy of {} has mode none: opportunistic", domain_));
    const bool listed = policy.matches(host.name);
    const bool testing = policy.mode == mta_sts::Mode::Testing;
    if (!listed && !testing)
      return fail(
          smtp::make_reply(451, "4.7.5",
                           fmt::format("MX host {} is not in the MTA-STS policy of {} (mode enforce, mx: {}): not sent",
                                       host.name, domain_, joined(policy.mx))));
    TlsRequirement r;
    r.level = TlsLevel::Verify;
    r.source = PolicySource::MtaSts;
    r.policy_domain = policy_domain;
    r.match_names = {ascii_lower(host.name)};
    r.min_version = tls::Version::Tls1_2;  // RFC 8461 4.2
    if (mode.entry) raise_min_version(r, mode.entry->min_version);
    r.testing = testing;
    r.fallback_to_plaintext = testing && connector_.fallback_to_plaintext;
    r.sts_policy_text = policy.text;  // TLS-RPT reports the policy it applied
    r.sts_mx_patterns = policy.mx;
    r.decided_by = fmt::format("{}; MTA-STS policy of {} (id {}, mode {}{}, mx: {}{}){}", so_far, domain_, policy.id,
                               testing ? "testing" : "enforce", sts_->from_cache ? ", cached" : "", joined(policy.mx),
                               listed ? "" : fmt::format("; {} is not listed", host.name),
                               sts_->error.empty() ? "" : fmt::format("; kept from the cache: {}", sts_->error));
    return r;
  }

  void report(PolicySource source, const std::string& policy_domain, const std::string& host, std::string type,
              std::string detail) const {
    if (!lookups_.on_failure) return;
    PolicyFailure f;
    f.policy.source = source;
    f.policy.policy_domain = policy_domain;
    f.host = host;
    f.result_type = std::move(type);
    f.detail = std::move(detail);
    lookups_.on_failure(f);
  }

  const config::SendConnector& connector_;
  const std::string& domain_;
  const PolicyLookups& lookups_;
  const bool ignore_;
  const bool mx_routing_;
  std::optional<mta_sts::Lookup> sts_;
};

/// One delivery's lookups, each host's addresses asked once: DANE asks for an MX host's canonical
/// name (RFC 7672 2.2.2) and the targets for its addresses, and both want the same answer.
class AddressesOnce : public net::MailLookups {
 public:
  explicit AddressesOnce(const net::MailLookups& dns) : dns_(dns) {}
  net::DnsAnswer mx(const std::string& domain) const override { return dns_.mx(domain); }
  net::DnsAnswer addresses(const std::string& host) const override {
    auto known = answers_.find(host);
    if (known == answers_.end()) known = answers_.emplace(host, dns_.addresses(host)).first;
    return known->second;
  }
  net::DnsRecords txt(const std::string& name) const override { return dns_.txt(name); }
  net::DnsRecords tlsa(const std::string& name) const override { return dns_.tlsa(name); }

 private:
  const net::MailLookups& dns_;
  mutable std::map<std::string, net::DnsAnswer> answers_;  ///< one delivery, one thread
};

}  // namespace

DestinationMode destination_mode(const config::SendConnector& connector, const std::string& policy_domain) {
  DestinationMode out;
  if (const auto* entry = table_entry(connector, ascii_lower(policy_domain))) {
    out.mode = entry->mode;
    out.entry = entry;
    out.decided_by = fmt::format("policy table entry {}", entry->domain);
    return out;
  }
  out.mode = connector.tls;
  out.decided_by = fmt::format("connector {}", connector.name);
  return out;
}

TlsRequirement connector_requirement(const config::SendConnector& connector, const std::string& host) {
  DestinationMode mode;
  mode.mode = connector.tls;
  mode.decided_by = fmt::format("connector {}", connector.name);
  return plain(connector, mode, level_of(connector.tls), host, ascii_lower(host),
               fmt::format("{}: {}", mode.decided_by, config::outbound_tls_name(connector.tls)));
}

Result<std::vector<Target>, smtp::Reply> resolve_with_policy(const config::SendConnector& connector,
                                                             const std::string& domain, const PolicyLookups& lookups,
                                                             bool ignore_recipient_policies) {
  auto hosts = resolve_hosts(connector, domain, *lookups.dns);
  if (!hosts) return fail(hosts.error());
  const AddressesOnce dns(*lookups.dns);
  PolicyLookups once = lookups;
  once.dns = &dns;
  Resolution resolution(connector, domain, once, ignore_recipient_policies);
  std::vector<HostTls> usable;
  std::optional<smtp::Reply> first_refusal;
  std::string refusals;
  for (const auto& host : hosts->hosts) {
    auto requirement = resolution.host(host, hosts->secure);
    if (!requirement) {
      if (!first_refusal) first_refusal = requirement.error();
      std::string text;
      for (const auto& line : requirement.error().lines) text += (text.empty() ? "" : " ") + line;
      refusals += (refusals.empty() ? "" : "; ") + text;
      continue;
    }
    usable.push_back({host, std::move(*requirement)});
  }
  // Every host excluded by a policy: a deferral that says why, never a weaker session.
  if (usable.empty() && first_refusal)
    return fail(smtp::make_reply(first_refusal->code, first_refusal->enhanced, refusals));
  return host_targets(usable, dns, refusals);
}

std::string describe(const TlsRequirement& r) {
  std::string out = fmt::format("{} ({}", tls_level_name(r.level), policy_source_name(r.source));
  if (r.testing) out += ", testing: failures are reported, not enforced";
  if (r.min_version) out += fmt::format(", TLS {} or later", tls::config_name(*r.min_version));
  if (r.level == TlsLevel::Verify && !r.match_names.empty()) out += ", names " + joined(r.match_names);
  return out + "): " + r.decided_by;
}

}  // namespace sluice::outbound
