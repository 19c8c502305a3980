// Accepted domains, as Exchange has them: the domains whose mail the gateway takes from anyone a
// receive connector lets in (it is not relaying), and what it does with it: authoritative ones
// are delivered here (local_domains is their shorthand), internal-relay ones go on through the
// send connector whose address space names them, typically to the internal mail server.
#pragma once
#include <string>
#include <string_view>

namespace sluice::config {

struct Config;

enum class DomainType {
  Authoritative,  ///< mailboxes here: local delivery (Maildir, or discard)
  InternalRelay,  ///< accepted, then routed by the send connectors' address spaces
};
/// "authoritative", "internal-relay": as written in the configuration.
std::string_view domain_type_name(DomainType type);

struct AcceptedDomain {
  std::string pattern;  ///< lower-case "example.org", or "*.example.org" (example.org and its subdomains)
  DomainType type = DomainType::Authoritative;
  friend bool operator==(const AcceptedDomain&, const AcceptedDomain&) = default;
};

/// The accepted domain that covers `domain_key` (lower-case, no trailing dot), the most specific
/// one when several do ("a.example.org" over "*.a.example.org" over "*.example.org"); nullptr
/// when none does. Address literals ("[192.0.2.1]") are never covered.
const AcceptedDomain* find_accepted_domain(const Config& config, std::string_view domain_key);

/// How well a domain pattern covers a domain (lower-case both): -1 not at all, 0 for "*",
/// 1 + suffix length for "*.suffix" (which covers the suffix itself and every name under it, at a
/// label boundary), INT_MAX for the exact domain. Higher is more specific. Send connector
/// address spaces and accepted domains share this rule.
int domain_pattern_rank(std::string_view pattern, std::string_view domain);

}  // namespace sluice::config
