// What to probe: a host and port as the user wrote it, or the MX hosts of a domain.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace sluice::probe {

enum class TlsMode { StartTls, Implicit };

struct Target {
  std::string host;  ///< name or IP address, without brackets
  std::uint16_t port = 25;
  TlsMode mode = TlsMode::StartTls;
  std::string mx_domain;  ///< set when the host came from `--mx DOMAIN`
  int mx_preference = -1;
  /// The name (or IP address) a certificate should carry: the host as given or found in the MX
  /// records; an IP address is matched against the certificate's IP SANs.
  std::string expected_name() const;
  /// "mx.example.org:25", "[2001:db8::1]:25"
  std::string label() const;
};

/// Parses `host`, `host:port`, `[host]:port`, `[host]`, `[2001:db8::1]:25` or a bare IPv6
/// address. Port 465 means implicit TLS (unless `force_implicit` says so for any port). Fails,
/// saying why, when the text cannot be a target.
Result<Target> parse_target(std::string_view text, bool force_implicit);

/// Targets from a file's text: one a line; blank lines and `#` comments skipped. Errors name the
/// line ("targets.txt:3: ...").
std::vector<Target> parse_target_list(std::string_view text, std::string_view file_name, bool force_implicit,
                                      std::vector<std::string>& errors);

}  // namespace sluice::probe
