#include "probe/verdict.h"

#include <fmt/format.h>
#include <asio/ip/address.hpp>

#include <algorithm>

namespace sluice::probe {
namespace {

std::string offered_list(const Assessment& a) {
  std::string out;
  for (const auto& f : a.versions)
    if (f.state == VersionState::Offered)
      out += (out.empty() ? "" : ", ") + std::string("TLS ") + std::string(tls::config_name(f.version));
  return out.empty() ? "none" : out;
}

/// A target we could not talk to fails every profile: a monitoring run must not call it good.
bool unassessable(const Assessment& a, Verdict& v) {
  if (!a.error.empty()) {
    v.reasons.push_back(fmt::format("The server could not be assessed ({}).", a.error));
    return true;
  }
  if (a.target.mode == TlsMode::StartTls && !a.starttls_offered()) {
    v.reasons.push_back("STARTTLS is not offered: mail to this server travels in plaintext.");
    return true;
  }
  return false;
}

bool offered(const Assessment& a, tls::Version v) { return a.finding(v).state == VersionState::Offered; }

bool is_address(const std::string& host) {
  std::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string names_in(const CertificateFacts& leaf) {
  std::string out;
  for (const auto& n : leaf.dns_names) out += (out.empty() ? "" : ", ") + n;
  for (const auto& n : leaf.ip_addresses) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "no DNS or IP name, only the subject " + leaf.subject : out;
}

/// Self-signed, untrusted or for another name: said plainly, with what it means where certificates
/// are checked. Exchange Online's default delivery does not check them, so the verdict itself
/// does not change.
void judge_certificates(const Assessment& a, Verdict& v) {
  bool problem = false, mismatch = false;
  for (const auto& chain : a.chains) {
    const auto& leaf = chain.certificates.front();
    if (leaf.self_signed) {
      problem = true;
      v.reasons.push_back(
          fmt::format("The certificate ({}) is self-signed: no certificate authority vouches for it.", leaf.subject));
    } else if (!chain.trusted) {
      problem = true;
      v.reasons.push_back(fmt::format("The certificate chain of {} is not trusted ({}).", leaf.subject,
                                      chain.trust_error.empty() ? "no reason given" : chain.trust_error));
    }
    if (!chain.expected_name.empty() && !chain.name_matches) {
      problem = mismatch = true;
      v.reasons.push_back(fmt::format(
          "The certificate does not match the host name {} (it names {}).{}", chain.expected_name, names_in(leaf),
          is_address(chain.expected_name) ? " Connectors and MTA-STS check the MX host name: probe the server by "
                                            "that name."
                                          : ""));
    }
    if (!problem && chain.trusted && chain.name_matches)
      v.reasons.push_back(fmt::format("The certificate is trusted and matches {}.", chain.expected_name));
  }
  if (!problem) return;
  v.consequences.push_back(fmt::format(
      "Exchange Online's default delivery uses opportunistic TLS and does not validate certificates, so this alone "
      "does not stop mail. A connector that validates certificates does: an Exchange Online outbound connector with "
      "TLS certificate validation (TlsSettings CertificateValidation or DomainValidation; the Hybrid Configuration "
      "Wizard sets DomainValidation with the on-premises certificate's name as TlsDomain), or a partner connector "
      "that requires a certificate subject, defers the mail with \"450 4.7.320 Certificate validation failed\"{} and "
      "returns it with an NDR when the retries run out.",
      mismatch ? " (MSG=SubjectMismatch)" : ""));
  v.consequences.push_back(
      "Senders that enforce the domain's MTA-STS policy (RFC 8461, mode enforce) do not deliver to it: the "
      "certificate must chain to a public CA and match the MX host name. DANE (RFC 7672) accepts it only through a "
      "TLSA record with usage 3 (DANE-EE) that pins this certificate or its key, which checks neither the issuer "
      "nor the name.");
}

}  // namespace

const std::vector<std::string_view>& profile_names() {
  static const std::vector<std::string_view> names = {"exchange-online", "modern"};
  return names;
}

bool known_profile(std::string_view name) {
  const auto& n = profile_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

Verdict judge_exchange_online(const Assessment& a) {
  Verdict v;
  v.profile = "exchange-online";
  if (unassessable(a, v)) {
    if (a.error.empty()) {
      v.consequences.push_back(
          "Exchange Online sends to it without TLS (opportunistic TLS); where a connector requires TLS, "
          "delivery fails with \"450 4.4.317 Cannot connect to remote server\" and an NDR after 48 hours.");
    }
    return v;
  }
  bool pass = true;
  const auto& tls12 = a.finding(tls::Version::Tls1_2);
  if (tls12.state == VersionState::Offered) {
    v.reasons.push_back("TLS 1.2 is offered.");
  } else if (tls12.state == VersionState::Unknown) {
    pass = false;
    v.reasons.push_back(fmt::format("Whether TLS 1.2 is offered is unknown ({}).", tls12.detail));
  } else {
    pass = false;
    v.reasons.push_back(
        fmt::format("TLS 1.2 is not offered ({}); the server offers {}.", tls12.detail, offered_list(a)));
    if (offered(a, tls::Version::Tls1_0) || offered(a, tls::Version::Tls1_1)) {
      v.consequences.push_back(
          "Exchange Online's STARTTLS handshake fails: a sender logs \"TLS negotiation failed with error "
          "SocketError\" and queues \"421 4.4.2 Connection dropped due to SocketError\"; opportunistic senders "
          "retry in plaintext, connectors that require TLS bounce the mail.");
      v.consequences.push_back(
          "If this server's own sending side speaks the same TLS versions, Exchange Online refuses its mail "
          "too: TLS 1.0/1.1 are disabled there (MC229914).");
    }
  }
  if (tls12.state == VersionState::Offered) {
    std::vector<std::string> shared;
    for (const auto& s : tls12.suites)
      for (auto name : office365_suites())
        if (s.suite->iana_name == name) shared.push_back(s.suite->iana_name);
    if (!shared.empty()) {
      v.reasons.push_back(
          fmt::format("{} of Office 365's TLS 1.2 cipher suites accepted (first: {}).", shared.size(), shared.front()));
    } else if (tls12.enumeration_complete) {
      pass = false;
      v.reasons.push_back("No TLS 1.2 cipher suite in common with Office 365's list (ECDHE-RSA or RSA with AES).");
      v.consequences.push_back(
          "The handshake with Exchange Online fails for lack of a common cipher suite (handshake_failure), with "
          "the same results as a TLS version mismatch.");
    } else {
      pass = false;
      v.reasons.push_back("The accepted TLS 1.2 cipher suites could not all be listed: " + tls12.detail);
    }
  }
  bool sha1 = std::any_of(a.chains.begin(), a.chains.end(), [](const ChainFacts& c) { return c.has_sha1_signature; });
  if (sha1) {
    pass = false;
    v.reasons.push_back("A certificate is signed with SHA-1, which Exchange Online refuses.");
  } else if (!a.chains.empty()) {
    v.reasons.push_back(fmt::format("No SHA-1 signed certificate (leaf signed with {}).",
                                    a.chains.front().certificates.front().signature_algorithm));
  }
  judge_certificates(a, v);
  v.pass = pass;
  return v;
}

Verdict judge_modern(const Assessment& a) {
  Verdict v;
  v.profile = "modern";
  if (unassessable(a, v)) return v;
  bool pass = true;
  for (auto old : {tls::Version::Tls1_0, tls::Version::Tls1_1}) {
    if (offered(a, old)) {
      pass = false;
      v.reasons.push_back(fmt::format("TLS {} is offered; RFC 8996 says it MUST NOT be used.", tls::config_name(old)));
    }
  }
  if (!offered(a, tls::Version::Tls1_2) && !offered(a, tls::Version::Tls1_3)) {
    pass = false;
    v.reasons.push_back("Neither TLS 1.2 nor TLS 1.3 is offered.");
  }
  for (auto version : probed_versions()) {
    const auto& f = a.finding(version);
    if (f.state == VersionState::Unknown) {
      pass = false;
      v.reasons.push_back(fmt::format("TLS {} could not be tested ({}).", tls::config_name(version), f.detail));
    }
  }
  if (pass) v.reasons.push_back(fmt::format("Offers {} and nothing older than TLS 1.2.", offered_list(a)));
  v.pass = pass;
  return v;
}

void judge(Assessment& a) { a.verdicts = {judge_exchange_online(a), judge_modern(a)}; }

const Verdict* verdict_for(const Assessment& a, std::string_view profile) {
  for (const auto& v : a.verdicts)
    if (v.profile == profile) return &v;
  return nullptr;
}

}  // namespace sluice::probe
