// What a domain publishes for TLS between mail servers, as a sender sees it: MTA-STS (RFC 8461),
// DANE (RFC 7672) and TLS-RPT (RFC 8460), with verdicts a person can act on. `sluice probe --mx`
// looks these up next to probing the MX hosts, then matches them against what the hosts presented.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mta_sts/policy.h"
#include "mta_sts/policy_fetch.h"
#include "net/dns.h"
#include "probe/assessment.h"
#include "tls/tlsa.h"
#include "tlsrpt/record.h"

namespace sluice::probe {

struct MtaStsFindings {
  std::string txt_name;           ///< "_mta-sts.example.org"
  net::DnsRecords txt;            ///< every TXT record there, raw
  std::optional<std::string> id;  ///< the STS record's id; nullopt when there is no valid one
  std::string record_error;       ///< why the STS record (or the set of them) is invalid
  std::string url;                ///< where the policy was fetched from (empty: not fetched)
  std::optional<mta_sts::Policy> policy;
  std::string fetch_error;   ///< why there is no policy although the record is valid
  std::string failure_type;  ///< RFC 8460 result type of that: "sts-policy-fetch-error", ...
};

/// One presented certificate chain (a host with an RSA and an ECDSA certificate has two), as DANE
/// and MTA-STS senders judge it.
struct PresentedChain {
  std::string subject;  ///< of the leaf
  bool trusted = false;
  std::string trust_error;
  bool name_matches = false;
  std::string tlsa_match;  ///< "3 1 1 ab12cd34ef56... (depth 0)"; empty when no usable record matches
};

struct MxHostFindings {
  std::string host;
  int preference = -1;    ///< -1 for the implicit MX (the domain itself)
  std::string tlsa_name;  ///< "_25._tcp.mx1.example.org"
  net::DnsRecords tlsa;
  std::vector<tls::TlsaRecord> usable;  ///< RFC 7672 2.2
  std::vector<std::string> unusable;    ///< "1 0 1 ab12...: <why>"
  std::vector<PresentedChain> chains;   ///< empty when no certificate was seen
  std::string not_seen;                 ///< why no certificate was seen ("STARTTLS not offered", ...)
};

struct TlsRptFindings {
  std::string txt_name;  ///< "_smtp._tls.example.org"
  net::DnsRecords txt;
  std::optional<tlsrpt::Record> record;
  std::string error;  ///< why there is no usable record; empty when none is published
};

struct PolicyVerdict {
  /// Problem: senders that honour what is published refuse or defer mail, the published data is
  /// broken, or it could not be checked; a problem fails the run. Warning: worth fixing, mail flows.
  enum class Level { Ok, Warning, Problem };
  Level level = Level::Ok;
  std::string text;  ///< one line: what is wrong, then what senders do because of it
};
std::string_view level_name(PolicyVerdict::Level level);

struct DomainPolicy {
  std::string domain;
  std::uint16_t port = 25;  ///< of the TLSA names: the port the hosts are probed on
  net::DnsAnswer mx;
  std::vector<MxHostFindings> hosts;  ///< in MX order
  MtaStsFindings mta_sts;
  TlsRptFindings tlsrpt;
  std::vector<PolicyVerdict> verdicts;
  bool pass() const;  ///< no Problem among the verdicts
};

/// The DNS and HTTPS half: MX (and its DNSSEC status), the _mta-sts record and the policy it
/// announces, the TLSA records of each MX host at _<port>._tcp.<host>, the _smtp._tls record.
/// Blocking. `dns` and `fetch` are used from this thread only.
/// `https_port` is only for the URL shown (the fetcher has its own).
DomainPolicy look_up_domain_policy(const std::string& domain, std::uint16_t port, const net::MailLookups& dns,
                                   const mta_sts::PolicyFetcher& fetch, std::uint16_t https_port = 443);

/// The probe half: what each MX host presented (from `results`, those probed for this domain),
/// matched against its usable TLSA records.
void note_presented_certificates(DomainPolicy& policy, const std::vector<Assessment>& results);

/// Fills `policy.verdicts` from the findings.
void judge_domain_policy(DomainPolicy& policy);

}  // namespace sluice::probe
