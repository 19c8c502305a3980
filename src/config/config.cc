#include "config/config.h"
#include "base/text.h"

#include <fmt/core.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/account.h"
#include "config/toml_reader.h"

namespace sluice::config {
namespace {

using namespace detail;

constexpr std::string_view kDefaultRequireTlsReply = "451 5.7.3 Must issue a STARTTLS command first";

constexpr std::string_view kTopKeys[] = {"state_dir",
                                         "hostname",
                                         "local_domains",
                                         "accepted_domain",
                                         "local_delivery",
                                         "relay_from",
                                         "max_message_size",
                                         "limits",
                                         "receive_connector",
                                         "send_connector",
                                         "dns_servers",
                                         "dnssec_trusted_resolvers",
                                         "dns_timeout",
                                         "queue",
                                         "message_tracking",
                                         "recipient_validation",
                                         "users_file",
                                         "protocol_log",
                                         "user",
                                         "admin_listen",
                                         "admin_listen_public",
                                         "node_name",
                                         "mta_sts",
                                         "tls_reporting"};
constexpr std::string_view kTrackingKeys[] = {"enabled", "dir", "max_file_size", "max_age", "max_directory_size"};
constexpr std::string_view kLimitKeys[] = {
    "max_message_size", "max_recipients",    "max_errors",      "max_connections", "max_connections_per_ip",
    "max_command_line", "max_text_line",     "command_timeout", "data_timeout",    "tls_handshake_timeout",
    "shutdown_grace",   "max_junk_commands", "max_hop_count"};
constexpr std::string_view kConnectorKeys[] = {"name",
                                               "listen",
                                               "remote_ranges",
                                               "starttls",
                                               "require_tls",
                                               "require_tls_reply",
                                               "tls",
                                               "relay",
                                               "relay_from",
                                               "accepted_domain_senders",
                                               "rewrite_senders",
                                               "require_client_certificate",
                                               "client_certificate_names",
                                               "client_ca_file",
                                               "auth",
                                               "allow_plaintext_auth",
                                               "max_auth_failures",
                                               "requiretls",
                                               "accept_moved_mail",
                                               "proxy_protocol",
                                               "proxy_from",
                                               "proxy_timeout"};

/// The connector of the zero-configuration gateway, also the base every configured one starts from.
ReceiveConnector default_connector() {
  ReceiveConnector connector;
  connector.name = "Default";
  connector.listen = {ListenAddress{"127.0.0.1", 2525}, ListenAddress{"::1", 2525}};
  connector.remote_ranges = {*net::Cidr::parse("0.0.0.0/0"), *net::Cidr::parse("::/0")};
  if (!smtp::parse_configured_reply(kDefaultRequireTlsReply, connector.require_tls_reply))
    connector.require_tls_reply = smtp::make_reply(451, "5.7.3", "Must issue a STARTTLS command first");
  if (auto policy = tls::named_policy("default")) connector.tls = *policy;
  return connector;
}

struct ConnectorSource {
  const toml::node* table = nullptr;
  const toml::node* name = nullptr;
  const toml::node* remote_ranges = nullptr;
  bool sets_relay = false;  ///< relay or relay_from given: the top-level relay_from does not apply
};

/// Reads one TOML document into a Config. A problem ends the section it is in (a top-level key,
/// one connector, a table), not the whole read: every section is read, and the ConfigError thrown
/// at the end lists each problem (`sluice check` shows them all, as nginx -t and postfix check do).
/// Checks across sections run only when the sections read cleanly, so that one mistake is not
/// reported again as its consequences.
class Reader : public TomlReader {
 public:
  using TomlReader::TomlReader;

  void read(const toml::table& root, Config& config) const {
    std::vector<std::string> problems;
    auto section = [&problems](auto&& read_section) {
      try {
        read_section();
      } catch (const ConfigError& e) {
        problems.push_back(e.what());
      }
    };
    section([&] { check_keys(root, "", kTopKeys); });
    section([&] {
      if (const toml::node* n = root.get("state_dir")) config.state_dir = non_empty_string(*n, "state_dir");
    });
    section([&] {
      if (const toml::node* n = root.get("hostname")) {
        config.hostname = string(*n, "hostname");
        if (auto checked = check_hostname(config.hostname); !checked) fail(*n, "hostname", checked.error().message);
      }
    });
    std::vector<KeyPlace> domain_places;
    section([&] { domain_places = read_accepted_domains(*this, root, config); });
    section([&] {
      if (const toml::node* n = root.get("local_delivery")) {
        static constexpr Named<LocalDelivery> kNames[] = {{LocalDelivery::Maildir, "maildir"},
                                                          {LocalDelivery::Discard, "discard"}};
        config.local_delivery = one_of(*n, "local_delivery", kNames);
      }
    });
    section([&] { read_limits(root, config.limits); });
    section([&] {
      if (const toml::node* n = root.get("users_file")) config.users_file = non_empty_string(*n, "users_file");
    });
    section([&] {
      if (const toml::node* n = root.get("user")) {
        config.user = string(*n, "user");
        if (auto checked = check_account_name(*config.user); !checked) fail(*n, "user", checked.error().message);
      }
    });
    const std::size_t before_connectors = problems.size();
    std::vector<bool> sets_relay;  // none for the default connector
    if (const toml::node* n = root.get("receive_connector"))
      section([&] { sets_relay = read_connectors(*n, config, problems); });
    if (const toml::node* n = root.get("relay_from"); n && problems.size() == before_connectors)
      section([&] { apply_global_relay_from(*this, *n, config, sets_relay); });
    section([&] { read_send_side(*this, root, config); });
    section([&] { read_protocol_log(*this, root, config); });
    section([&] {
      if (const toml::node* n = root.get("message_tracking")) read_tracking(*n, config.message_tracking);
    });
    if (problems.empty()) section([&] { check_internal_relay_routes(*this, config, domain_places); });
    section([&] { read_recipient_validation(*this, root, config); });
    section([&] { read_admin_listen(*this, root, config); });
    section([&] { read_mta_sts(*this, root, config); });
    section([&] { read_tls_reporting(*this, root, config); });
    if (problems.empty()) return;
    ConfigError error(problems.front());
    error.problems = std::move(problems);
    throw error;
  }

 private:
  void read_tracking(const toml::node& node, MessageTracking& tracking) const {
    const toml::table& t = table(node, "message_tracking");
    check_keys(t, "message_tracking", kTrackingKeys);
    if (const toml::node* n = t.get("enabled")) tracking.enabled = boolean(*n, "message_tracking.enabled");
    if (const toml::node* n = t.get("dir")) tracking.dir = non_empty_string(*n, "message_tracking.dir");
    read_log_limits(*this, t, "message_tracking", tracking.limits);
  }

  void read_limits(const toml::table& root, Limits& limits) const {
    const toml::node* top_size = root.get("max_message_size");
    if (top_size) limits.max_message_size = static_cast<std::uint64_t>(positive(*top_size, "max_message_size"));
    const toml::node* node = root.get("limits");
    if (!node) return;
    const toml::table& t = table(*node, "limits");
    check_keys(t, "limits", kLimitKeys);
    if (const toml::node* n = t.get("max_message_size")) {
      if (top_size)
        fail(*n, "limits.max_message_size",
             fmt::format("also given at the top level (line {}); keep one of the two", top_size->source().begin.line));
      limits.max_message_size = static_cast<std::uint64_t>(positive(*n, "limits.max_message_size"));
    }
    const std::pair<std::string_view, std::size_t Limits::*> counts[] = {
        {"max_recipients", &Limits::max_recipients},       {"max_errors", &Limits::max_errors},
        {"max_connections", &Limits::max_connections},     {"max_connections_per_ip", &Limits::max_connections_per_ip},
        {"max_command_line", &Limits::max_command_line},   {"max_text_line", &Limits::max_text_line},
        {"max_junk_commands", &Limits::max_junk_commands}, {"max_hop_count", &Limits::max_hop_count}};
    for (const auto& [key, field] : counts) {
      if (const toml::node* n = t.get(key)) limits.*field = static_cast<std::size_t>(positive(*n, join("limits", key)));
    }
    durations(t, "limits",
              {{"command_timeout", &Limits::command_timeout},
               {"data_timeout", &Limits::data_timeout},
               {"tls_handshake_timeout", &Limits::tls_handshake_timeout},
               {"shutdown_grace", &Limits::shutdown_grace}},
              limits);
  }

  /// Returns, per connector, whether it sets its own relay permission. Each connector's first
  /// problem goes to `problems`; the checks between connectors run only when all of them read.
  std::vector<bool> read_connectors(const toml::node& node, Config& config, std::vector<std::string>& problems) const {
    const toml::array& items = array_of_tables(node, "receive_connector", "accept no client");
    std::vector<ReceiveConnector> connectors;
    std::vector<ConnectorSource> sources;
    const std::size_t before = problems.size();
    for (std::size_t i = 0; i < items.size(); ++i) {
      ConnectorSource source;
      try {
        connectors.push_back(
            read_connector(*items.get(i)->as_table(), fmt::format("receive_connector[{}]", i), source));
        sources.push_back(source);
      } catch (const ConfigError& e) {
        problems.push_back(e.what());
      }
    }
    if (problems.size() != before) return {};
    check_connectors(connectors, sources);
    for (std::size_t i = 0; i < connectors.size(); ++i)
      check_receive_auth(*this, *items.get(i)->as_table(), fmt::format("receive_connector[{}]", i), connectors[i],
                         config.users_file);
    config.receive_connectors = std::move(connectors);
    std::vector<bool> sets_relay;
    for (const ConnectorSource& source : sources) sets_relay.push_back(source.sets_relay);
    return sets_relay;
  }

  ReceiveConnector read_connector(const toml::table& t, const std::string& path, ConnectorSource& source) const {
    check_keys(t, path, kConnectorKeys);
    source.table = &t;
    ReceiveConnector c = default_connector();

    source.name = t.get("name");
    if (!source.name) fail(t, path, "missing key 'name' (every connector needs a unique name for the logs)");
    c.name = non_empty_string(*source.name, join(path, "name"));

    const toml::node* listen = t.get("listen");
    if (!listen) fail(t, path, "missing key 'listen' (e.g. listen = [\"0.0.0.0:25\", \"[::]:25\"])");
    const std::string listen_path = join(path, "listen");
    const toml::array& addresses = array(*listen, listen_path);
    if (addresses.empty()) fail(*listen, listen_path, "must list at least one address");
    c.listen.clear();
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      const std::string item_path = fmt::format("{}[{}]", listen_path, i);
      const std::string text = string(*addresses.get(i), item_path);
      auto address = parse_listen_address(text);
      if (!address) fail(*addresses.get(i), item_path, address.error().message);
      if (std::find(c.listen.begin(), c.listen.end(), *address) != c.listen.end())
        fail(*addresses.get(i), item_path, fmt::format("{} is listed twice", address->str()));
      c.listen.push_back(*address);
    }

    source.remote_ranges = t.get("remote_ranges");
    if (source.remote_ranges) {
      const std::string ranges_path = join(path, "remote_ranges");
      c.remote_ranges = ranges(*source.remote_ranges, ranges_path);
      if (c.remote_ranges.empty())
        fail(*source.remote_ranges, ranges_path,
             "an empty list matches no client; leave the key out to accept every client");
    }

    source.sets_relay = read_receive_permissions(*this, t, path, c);
    if (const toml::node* n = t.get("rewrite_senders"))
      c.rewrite_senders = read_sender_rewrites(*this, *n, join(path, "rewrite_senders"));
    read_receive_auth(*this, t, path, c);

    if (const toml::node* n = t.get("starttls")) c.starttls = boolean(*n, join(path, "starttls"));
    if (const toml::node* n = t.get("require_tls")) c.require_tls = boolean(*n, join(path, "require_tls"));
    if (c.require_tls && !c.starttls)
      fail(*t.get("require_tls"), join(path, "require_tls"),
           "require_tls = true needs starttls = true (clients could never satisfy it)");
    if (const toml::node* n = t.get("requiretls")) {
      c.requiretls = boolean(*n, join(path, "requiretls"));
      // RFC 8689 offers it only inside TLS: said outright without STARTTLS, it is a mistake.
      if (c.requiretls && !c.starttls)
        fail(*n, join(path, "requiretls"), "requiretls = true needs starttls = true (it is offered only inside TLS)");
    }
    if (const toml::node* n = t.get("require_tls_reply")) {
      const std::string reply_path = join(path, "require_tls_reply");
      const std::string text = string(*n, reply_path);
      smtp::Reply reply;
      if (!smtp::parse_configured_reply(text, reply))
        fail(*n, reply_path,
             fmt::format("{} is not a reply of the form \"451 5.7.3 text\" (a 4xx or 5xx code, an "
                         "enhanced status code, then text)",
                         shown(text)));
      c.require_tls_reply = std::move(reply);
    }

    if (const toml::node* n = t.get("tls")) {
      const std::string tls_path = join(path, "tls");
      c.tls = tls_policy(table(*n, tls_path), tls_path, TlsSide::Server);
    }
    read_client_certificate_settings(*this, t, path, c);
    if (const toml::node* n = t.get("accept_moved_mail")) {
      c.accept_moved_mail = boolean(*n, join(path, "accept_moved_mail"));
      // Only a client that may relay may hand over queue state: with relay off, nobody could.
      if (c.accept_moved_mail && c.relay == RelayPermission::None)
        fail(*n, join(path, "accept_moved_mail"),
             "accept_moved_mail = true needs relay = \"ranges\" or \"authenticated\" (only clients that may relay "
             "may move mail here)");
    }
    read_receive_proxy(*this, t, path, c);
    return c;
  }

  void check_connectors(const std::vector<ReceiveConnector>& connectors,
                        const std::vector<ConnectorSource>& sources) const {
    for (std::size_t i = 0; i < connectors.size(); ++i) {
      const std::string path = fmt::format("receive_connector[{}]", i);
      for (std::size_t j = 0; j < i; ++j) {
        if (ascii_lower(connectors[i].name) == ascii_lower(connectors[j].name))
          fail(*sources[i].name, join(path, "name"),
               fmt::format("{} is already the name of receive_connector[{}]", shown(connectors[i].name), j));
        for (const ListenAddress& address : connectors[i].listen) {
          if (std::find(connectors[j].listen.begin(), connectors[j].listen.end(), address) ==
              connectors[j].listen.end())
            continue;
          check_same_proxy_settings(*this, *sources[i].table, path, connectors[i], connectors[j], address);
          for (const net::Cidr& range : connectors[i].remote_ranges) {
            if (std::find(connectors[j].remote_ranges.begin(), connectors[j].remote_ranges.end(), range) ==
                connectors[j].remote_ranges.end())
              continue;
            const toml::node& at = sources[i].remote_ranges ? *sources[i].remote_ranges : *sources[i].table;
            fail(at, join(path, "remote_ranges"),
                 fmt::format("{} on {} is also a remote range of connector {} on the same address, so a "
                             "client there would match both; give one of them a different range",
                             range.str(), address.str(), shown(connectors[j].name)));
          }
        }
      }
    }
  }
};

std::filesystem::path default_state_dir() {
  if (geteuid() == 0) return "/var/lib/sluice";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && xdg[0] == '/')
    return std::filesystem::path(xdg) / "sluice";
  const char* home = std::getenv("HOME");
  if (!home || home[0] != '/') {
    const passwd* pw = getpwuid(geteuid());
    home = (pw && pw->pw_dir && pw->pw_dir[0] == '/') ? pw->pw_dir : nullptr;
  }
  if (home) return std::filesystem::path(home) / ".local/state/sluice";
  return "/var/lib/sluice";
}

std::string system_hostname() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof buffer - 1) != 0) return "localhost";
  std::string name(buffer);
  if (!check_hostname(name)) return "localhost";
  return name;
}

}  // namespace

std::string ListenAddress::str() const {
  return host.find(':') == std::string::npos ? fmt::format("{}:{}", host, port) : fmt::format("[{}]:{}", host, port);
}

bool operator==(const ListenAddress& a, const ListenAddress& b) { return a.host == b.host && a.port == b.port; }

Result<ListenAddress> parse_listen_address(std::string_view text) {
  const std::string form =
      "write \"IPv4:port\" or \"[IPv6]:port\" with a numeric address, e.g. \"0.0.0.0:25\" or \"[::]:25\"";
  std::string_view host;
  std::string_view port;
  const bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(fmt::format("{} has no port; {}", shown(text), form));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(fmt::format("{} has no port; {}", shown(text), form));
    }
    if (text.find(':') != colon) {
      return fail(fmt::format("{} looks like an IPv6 address without brackets; {}", shown(text), form));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }

  std::error_code ec;
  asio::ip::address address;
  if (host.find('%') == std::string_view::npos) {
    if (bracketed)
      address = asio::ip::make_address_v6(std::string(host), ec);
    else
      address = asio::ip::make_address_v4(std::string(host), ec);
  } else {
    ec = std::make_error_code(std::errc::invalid_argument);
  }
  if (ec || host.empty()) {
    return fail(fmt::format("{} is not a numeric {} address (host names are not resolved); {}", shown(host),
                            bracketed ? "IPv6" : "IPv4", form));
  }

  unsigned value = 0;
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) std::from_chars(port.data(), port.data() + port.size(), value);
  if (!digits || value < 1 || value > 65535) {
    return fail(fmt::format("{} has port {}; the port is a number from 1 to 65535", shown(text), shown(port)));
  }
  return ListenAddress{address.to_string(), static_cast<std::uint16_t>(value)};
}

std::optional<Seconds> parse_duration(std::string_view text) {
  const auto seconds = parse_duration_seconds(text);
  if (!seconds || *seconds > kMaxDurationSeconds) return std::nullopt;
  return Seconds(*seconds);
}

Config default_config() {
  Config config;
  config.state_dir = default_state_dir();
  config.hostname = system_hostname();
  config.accepted_domains = {{"localhost", DomainType::Authoritative}};

  config.receive_connectors.push_back(default_connector());
  config.send_connectors.push_back(default_send_connector());
  return config;
}

Config parse_config(std::string_view toml_text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::string message = fmt::format("{}: line {}: {}", source_name, e.source().begin.line, e.description());
    // toml++ quotes what it saw, raw: a CR or LF there would break the one-line error.
    std::replace_if(
        message.begin(), message.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    throw ConfigError(message);
  }
  Config config = default_config();
  Reader(source_name).read(root, config);
  return config;
}

std::vector<std::string> problems_of(const ConfigError& error) {
  if (!error.problems.empty()) return error.problems;
  return {error.what()};
}

Config load_config(const std::filesystem::path& path) {
  auto text = read_config_file(path);
  if (!text) throw ConfigError(text.error().message);
  return parse_config(*text, path.string());
}

std::filesystem::path message_tracking_dir(const Config& config) {
  const auto& dir = config.message_tracking.dir;
  if (dir.empty()) return config.state_dir / "logs" / "MessageTracking";
  return dir.is_absolute() ? dir : config.state_dir / dir;
}

const ReceiveConnector* select_connector(const std::vector<const ReceiveConnector*>& candidates,
                                         const asio::ip::address& client) {
  const ReceiveConnector* best = nullptr;
  int best_prefix = -1;
  for (const ReceiveConnector* connector : candidates) {
    if (connector == nullptr) continue;
    for (const net::Cidr& range : connector->remote_ranges) {
      // Strictly greater: on a tie the earlier connector in the file wins, which is stable.
      if (range.contains(client) && range.prefix_length() > best_prefix) {
        best_prefix = range.prefix_length();
        best = connector;
      }
    }
  }
  return best;
}

}  // namespace sluice::config
