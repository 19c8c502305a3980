// Recipient validation settings ([recipient_validation], docs/configuration.md) and the recipients
// file's syntax: which accepted domains have their recipients checked at RCPT, and how.
#pragma once
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/result.h"

namespace sluice::config {

/// How the recipients of an accepted domain are checked at RCPT.
enum class RecipientCheck {
  None,     ///< any local part is accepted (and may bounce later)
  File,     ///< only addresses (or @domain lines) of the recipients file
  Callout,  ///< the domain's next hop is asked (SMTP callout); internal-relay domains only
};
std::string_view recipient_check_name(RecipientCheck check);  ///< "none", "file", "callout"

struct RecipientValidation {
  /// The check for accepted domains not listed in `domains`. "callout" applies to internal-relay
  /// domains; authoritative domains then use the file when there is one, else nothing.
  RecipientCheck verify = RecipientCheck::None;
  /// Per domain, overriding verify: "example.org" or "*.example.org" (lower-case); the most specific wins.
  std::vector<std::pair<std::string, RecipientCheck>> domains;
  std::filesystem::path recipients_file;     ///< empty: none
  std::chrono::seconds callout_timeout{30};  ///< an RCPT waits this long for the answer, then gets 450
  std::chrono::seconds callout_positive_lifetime{7 * 24 * 3600};  ///< "exists" is remembered this long
  std::chrono::seconds callout_negative_lifetime{3 * 3600};       ///< "unknown" is remembered this long
  std::size_t callout_cache_size = 100000;                        ///< addresses remembered at most
};

/// The addresses of a recipients file, lower-cased: "user@example.org", and "example.org" for a
/// line "@example.org" (every address of that domain).
struct RecipientList {
  std::unordered_set<std::string> addresses;
  std::unordered_set<std::string> whole_domains;
  std::unordered_set<std::string> domains;  ///< every domain with at least one line

  /// `address_key` is the lower-cased address, `domain_key` its lower-cased domain.
  bool contains(const std::string& address_key, const std::string& domain_key) const {
    return whole_domains.count(domain_key) != 0 || addresses.count(address_key) != 0;
  }
};

struct Config;
/// The check RCPT applies to a recipient in `domain_key` (lower-case): None for a domain that is
/// not accepted; else its most specific entry in `domains`, else `verify` (see RecipientValidation::verify).
RecipientCheck recipient_check_for(const Config& config, std::string_view domain_key);

/// Parses a recipients file: one address or "@domain" per line; blank lines and comments (from a
/// "#" at the start of a line or after white space to its end) are ignored. The error names the
/// source and the line: "/etc/sluice/recipients: line 7: ...".
Result<RecipientList> parse_recipient_list(std::string_view text, std::string_view source);
/// Reads and parses the file; an unreadable file is an error naming it.
Result<RecipientList> load_recipient_list(const std::filesystem::path& path);

}  // namespace sluice::config
