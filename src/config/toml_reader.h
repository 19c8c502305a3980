// Internal to src/config: the pieces every section reader shares (one-line errors with file, line
// and key path; unknown keys with did-you-mean; typed getters; durations; TLS policy tables), so
// the receive side (config.cc) and the send side (send_connector.cc) report problems alike.
#pragma once
#include <toml++/toml.h>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/lookup.h"
#include "config/config.h"

namespace sluice::config::detail {

using Keys = std::span<const std::string_view>;

inline constexpr std::int64_t kMaxDurationSeconds = 365LL * 24 * 3600;

/// A value echoed in an error: quoted, with anything that would break the one-line form escaped.
std::string shown(std::string_view s);
/// Optimal string alignment distance: a swapped pair of letters counts as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// "a table", "an integer", ... for "expected X, got Y".
std::string_view type_name(toml::node_type t);
/// "a.b" (or "b" when path is empty).
std::string join(std::string_view path, std::string_view key);

/// Fails (saying why) when `name` cannot be a banner/EHLO name: empty, too long, not one word
/// of printable ASCII.
Result<void> check_hostname(std::string_view name);
/// Fails (saying why) when `domain` is not an RFC 1035 name in A-label form without a final dot.
Result<void> check_domain(std::string_view domain);
/// Fails unless `pattern` is "example.org" or "*.example.org" with a valid domain: "<pattern> is
/// not <what>; <forms>", or check_domain's reason.
Result<void> check_domain_pattern(std::string_view pattern, std::string_view what, std::string_view forms);
/// The whole text of a file the configuration names; the error is "<path>: cannot read: <reason>"
/// (or "<path>: is a directory, not a configuration file").
Result<std::string> read_config_file(const std::filesystem::path& path);
/// Digits-and-units duration without the range check; nullopt on bad syntax or overflow.
std::optional<std::int64_t> parse_duration_seconds(std::string_view text);

/// Reads typed values out of one TOML document, throwing ConfigError at the first problem.
class TomlReader {
 public:
  explicit TomlReader(std::string_view source) : source_(source) {}

  /// Throws "<source>: line N: <path>: <problem>" (line and path left out when unknown/empty).
  /// "<source>: line N: <path>: <problem>" (line and path left out when unknown/empty), one line.
  std::string located(const toml::source_region* where, std::string_view path, std::string_view problem) const;
  /// Throws located(...) as a ConfigError.
  [[noreturn]] void fail(const toml::source_region* where, std::string_view path, std::string_view problem) const;
  [[noreturn]] void fail(const toml::node& at, std::string_view path, std::string_view problem) const;

  /// Fails on the first key of `table` not in `known`, suggesting a near one.
  void check_keys(const toml::table& table, std::string_view path, Keys known) const;
  void expect(const toml::node& node, toml::node_type type, std::string_view path) const;

  std::string string(const toml::node& node, std::string_view path) const;
  std::string non_empty_string(const toml::node& node, std::string_view path) const;
  /// A string that must be one of the table's names: its key, or an error listing the names.
  template <typename Key, std::size_t N>
  Key one_of(const toml::node& node, std::string_view path, const Named<Key> (&names)[N]) const {
    const std::string text = string(node, path);
    if (auto key = key_named(names, text)) return *key;
    std::string listed;
    for (const Named<Key>& row : names) listed += (listed.empty() ? "" : ", ") + std::string(row.name);
    fail(node, path, shown(text) + " is not one of " + listed);
  }
  bool boolean(const toml::node& node, std::string_view path) const;
  std::int64_t integer(const toml::node& node, std::string_view path) const;
  std::int64_t positive(const toml::node& node, std::string_view path) const;
  /// An integer from 1 to 65535.
  std::uint16_t port(const toml::node& node, std::string_view path) const;
  const toml::array& array(const toml::node& node, std::string_view path) const;
  const toml::table& table(const toml::node& node, std::string_view path) const;
  /// An array of tables ([[name]]), not empty; `what` completes "no connector given; sluice would ...".
  const toml::array& array_of_tables(const toml::node& node, std::string_view path, std::string_view what) const;

  /// Whole seconds (integer) or "1h30m"; greater than 0 (or 0 too with `allow_zero`), at most 365 days.
  Seconds duration(const toml::node& node, std::string_view path, bool allow_zero = false) const;
  /// Sets each field of `into` whose key `t` (the table at `path`) has, from that key's duration.
  template <typename Settings>
  void durations(const toml::table& t, std::string_view path,
                 std::initializer_list<std::pair<std::string_view, Seconds Settings::*>> fields, Settings& into) const {
    for (const auto& [key, field] : fields)
      if (const toml::node* n = t.get(key)) into.*field = duration(*n, join(path, key));
  }
  std::vector<net::Cidr> ranges(const toml::node& node, std::string_view path) const;
  /// Fails unless `file` exists, is not a directory and can be opened for reading; `what` names
  /// the expected content ("a PEM file of CA certificates") in the directory error.
  void check_readable_file(const toml::node& at, std::string_view path, const std::string& file,
                           std::string_view what) const;

  /// Where a TLS policy table is used: a server always presents a certificate (generated when none
  /// is configured), a client only the one configured (its files are checked here).
  enum class TlsSide { Server, Client };
  /// A [receive_connector.tls] or [send_connector.tls_policy] table: a named profile overridden key
  /// by key; TLS 1.0/1.1 only with the legacy profile (or security level 0).
  tls::Policy tls_policy(const toml::table& t, const std::string& path, TlsSide side) const;

 private:
  std::string_view source_;
};

/// Where a value was written, for an error found after the whole file was read.
struct KeyPlace {
  const toml::node* at = nullptr;
  std::string path;  ///< "local_domains[2]", "accepted_domain[0].domain"
};

/// local_domains and [[accepted_domain]] (accepted_domains.cc); either replaces the default. One
/// place per Config::accepted_domains entry.
std::vector<KeyPlace> read_accepted_domains(const TomlReader& reader, const toml::table& root, Config& config);
/// After the send side is read: every internal-relay domain needs a send connector address space
/// that names it ("*" does not count: that would send the organisation's own mail by MX lookup).
void check_internal_relay_routes(const TomlReader& reader, const Config& config, const std::vector<KeyPlace>& places);

/// relay, relay_from and accepted_domain_senders of one [[receive_connector]] table
/// (receive_permissions.cc), after its remote_ranges are read; true when it sets relay or relay_from.
bool read_receive_permissions(const TomlReader& reader, const toml::table& table, const std::string& path,
                              ReceiveConnector& connector);
/// auth (true, false or a table of mechanisms, allow_plaintext, max_failures), allow_plaintext_auth
/// and max_auth_failures of one [[receive_connector]] table (receive_auth.cc), after its
/// remote_ranges are read.
void read_receive_auth(const TomlReader& reader, const toml::table& table, const std::string& path,
                       ReceiveConnector& connector);
/// After the top-level users_file is read: a connector with auth needs it.
void check_receive_auth(const TomlReader& reader, const toml::table& table, const std::string& path,
                        const ReceiveConnector& connector, const std::filesystem::path& users_file);
/// A connector's rewrite_senders table (sender_rewrites.cc): "pattern" = "replacement" entries
/// in file order, each pattern an address or "*@domain", each replacement an address.
std::vector<auth::SenderRewrite> read_sender_rewrites(const TomlReader& reader, const toml::node& node,
                                                      const std::string& path);
/// The deprecated top-level relay_from: the relay ranges of every connector that sets neither relay
/// nor relay_from (sets_relay, one per connector; none for the default connector), with a note.
void apply_global_relay_from(const TomlReader& reader, const toml::node& node, Config& config,
                             const std::vector<bool>& sets_relay);

/// require_client_certificate, client_certificate_names and client_ca_file of one
/// [[receive_connector]] table (client_certificates.cc), after its TLS settings are read.
void read_client_certificate_settings(const TomlReader& reader, const toml::table& table, const std::string& path,
                                      ReceiveConnector& connector);
/// proxy_protocol, proxy_from and proxy_timeout of one [[receive_connector]] table (receive_proxy.cc).
void read_receive_proxy(const TomlReader& reader, const toml::table& table, const std::string& path,
                        ReceiveConnector& connector);
/// Connectors `c` (the table at `path`) and `other` share `address`: their PROXY settings must agree.
void check_same_proxy_settings(const TomlReader& reader, const toml::node& table, const std::string& path,
                               const ReceiveConnector& c, const ReceiveConnector& other, const ListenAddress& address);
/// The send side's sections (send_connector.cc): dns_servers, [queue], [[send_connector]].
void read_send_side(const TomlReader& reader, const toml::table& root, Config& config);
/// A send connector's TLS mode (`tls`, or a mode in its policy table), Postfix's names accepted.
OutboundTls read_outbound_tls(const TomlReader& reader, const toml::node& node, std::string_view path);
/// [send_connector.tls_destinations] (tls_destinations.cc), the connector's TLS policy table.
void read_tls_destinations(const TomlReader& reader, const toml::table& table, const std::string& path,
                           SendConnector& connector);
/// [send_connector.auth] (send_auth.cc) of `connector`, whose tls is already read.
void read_send_auth(const TomlReader& reader, const toml::table& table, const std::string& path,
                    SendConnector& connector);
/// [recipient_validation] (recipient_validation.cc); after the accepted domains are read.
void read_recipient_validation(const TomlReader& reader, const toml::table& root, Config& config);
/// [protocol_log] with its receive and send tables (log_limits.cc).
void read_protocol_log(const TomlReader& reader, const toml::table& root, Config& config);
/// The keys of LogLimits in the table at `path` (max_file_size, max_age, max_directory_size): sizes
/// in bytes or as "10MB", ages as "30d", both also "unlimited" (log_limits.cc).
void read_log_limits(const TomlReader& reader, const toml::table& table, std::string_view path, LogLimits& limits);
inline constexpr std::string_view kLogLimitKeys[] = {"max_file_size", "max_age", "max_directory_size"};
/// admin_listen and admin_listen_public (admin_listen.cc).
void read_admin_listen(const TomlReader& reader, const toml::table& root, Config& config);
/// [mta_sts] (mta_sts.cc).
void read_mta_sts(const TomlReader& reader, const toml::table& root, Config& config);
/// [tls_reporting] (tls_reporting.cc); its defaults come from config.hostname.
void read_tls_reporting(const TomlReader& reader, const toml::table& root, Config& config);
/// The connector a configuration without [[send_connector]] has.
SendConnector default_send_connector();

}  // namespace sluice::config::detail
