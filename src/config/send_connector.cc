// The sending side of the configuration: dns_servers, [queue] and [[send_connector]] (docs/configuration.md),
// smart host syntax, and the choice of a send connector for a recipient domain.
#include "config/config.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <fstream>

#include "base/lookup.h"
#include "base/text.h"
#include "config/accepted_domains.h"
#include "config/toml_reader.h"

namespace sluice::config {
namespace {

using namespace detail;

constexpr std::string_view kQueueKeys[] = {"retry_min",     "retry_max",      "lifetime",
                                           "delay_warning", "max_deliveries", "hop_backoff_max"};
constexpr std::string_view kSendKeys[] = {"name",
                                          "address_spaces",
                                          "smart_hosts",
                                          "port",
                                          "tls",
                                          "fallback_to_plaintext",
                                          "ca_file",
                                          "helo",
                                          "max_connections_per_host",
                                          "tls_policy",
                                          "auth",
                                          "tls_destinations"};

constexpr Named<OutboundTls> kOutboundTlsNames[] = {{OutboundTls::Opportunistic, "opportunistic"},
                                                    {OutboundTls::Required, "required"},
                                                    {OutboundTls::Verify, "verify"},
                                                    {OutboundTls::None, "none"},
                                                    {OutboundTls::Dane, "dane"},
                                                    {OutboundTls::DaneOnly, "dane-only"},
                                                    {OutboundTls::MtaSts, "mta-sts"},
                                                    // Postfix's names for the same levels.
                                                    {OutboundTls::Opportunistic, "may"},
                                                    {OutboundTls::Required, "encrypt"}};

/// "1h30m", "45s", "0s": a duration as an administrator would write it, for error messages.
std::string duration_text(Seconds value) {
  const auto total = value.count();
  if (total == 0) return "0s";
  std::string out;
  if (total / 3600) out += fmt::format("{}h", total / 3600);
  if (total % 3600 / 60) out += fmt::format("{}m", total % 3600 / 60);
  if (total % 60) out += fmt::format("{}s", total % 60);
  return out;
}

/// A DNS server in the form the resolver takes, "IPv4:port" or "[IPv6]:port" (53 when not given).
std::optional<std::string> parse_dns_server(std::string_view text) {
  std::string candidate(text);
  const std::size_t colons = std::count(text.begin(), text.end(), ':');
  if (!text.empty() && text.front() == '[') {
    if (!text.empty() && text.back() == ']') candidate += ":53";
  } else if (colons == 0) {
    candidate += ":53";
  } else if (colons > 1) {
    candidate = fmt::format("[{}]:53", text);  // a bare IPv6 address cannot carry a port
  }
  auto address = parse_listen_address(candidate);
  if (!address) return std::nullopt;
  return address->str();
}

/// Where each value of one connector came from, for errors that compare connectors.
struct SendSource {
  const toml::node* name = nullptr;
  std::vector<const toml::node*> spaces;  ///< one per address space (the table when the key is left out)
  std::vector<std::string> space_paths;   ///< "send_connector[i].address_spaces[k]" (without [k] when left out)
};

class SendReader {
 public:
  explicit SendReader(const TomlReader& reader) : r_(reader) {}

  void read(const toml::table& root, Config& config) const {
    if (const toml::node* n = root.get("dns_servers")) config.dns_servers = read_dns_servers(*n, "dns_servers");
    if (const toml::node* n = root.get("dnssec_trusted_resolvers"))
      config.dnssec_trusted_resolvers = read_dns_servers(*n, "dnssec_trusted_resolvers");
    if (const toml::node* n = root.get("dns_timeout")) {
      config.dns_timeout = r_.duration(*n, "dns_timeout");
      // Below a second a busy resolver's ordinary answers would count as failures; beyond a
      // minute a lookup holds a delivery thread longer than any retry interval is worth.
      if (config.dns_timeout > Seconds(60)) r_.fail(*n, "dns_timeout", "must not be longer than 60 seconds");
    }
    if (const toml::node* n = root.get("queue")) read_queue(r_.table(*n, "queue"), config.queue);
    if (const toml::node* n = root.get("send_connector")) read_connectors(*n, config);
  }

 private:
  /// dns_servers or dnssec_trusted_resolvers: DNS server addresses, each once.
  std::vector<std::string> read_dns_servers(const toml::node& node, std::string_view key) const {
    const toml::array& items = r_.array(node, key);
    std::vector<std::string> servers;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string path = fmt::format("{}[{}]", key, i);
      const std::string text = r_.string(*items.get(i), path);
      auto server = parse_dns_server(text);
      if (!server)
        r_.fail(*items.get(i), path,
                fmt::format("{} is not a DNS server address; write \"IPv4\", \"IPv4:port\", \"[IPv6]\" or "
                            "\"[IPv6]:port\" with a numeric address and port 1-65535 (53 when left out), e.g. "
                            "\"127.0.0.1:5353\"",
                            shown(text)));
      if (std::find(servers.begin(), servers.end(), *server) != servers.end())
        r_.fail(*items.get(i), path, fmt::format("{} is listed twice", *server));
      servers.push_back(*server);
    }
    return servers;
  }

  void read_queue(const toml::table& t, QueueSettings& queue) const {
    r_.check_keys(t, "queue", kQueueKeys);
    r_.durations(t, "queue",
                 {{"retry_min", &QueueSettings::retry_min},
                  {"retry_max", &QueueSettings::retry_max},
                  {"lifetime", &QueueSettings::lifetime},
                  {"hop_backoff_max", &QueueSettings::hop_backoff_max}},
                 queue);
    // 0 is the documented "off" value of the delay warning.
    if (const toml::node* n = t.get("delay_warning"))
      queue.delay_warning = r_.duration(*n, "queue.delay_warning", /*allow_zero=*/true);
    if (const toml::node* n = t.get("max_deliveries"))
      queue.max_deliveries = static_cast<std::size_t>(r_.positive(*n, "queue.max_deliveries"));

    if (queue.retry_max < queue.retry_min) {
      const bool at_max = t.get("retry_max") != nullptr;
      r_.fail(at_max ? *t.get("retry_max") : *t.get("retry_min"), at_max ? "queue.retry_max" : "queue.retry_min",
              fmt::format("retry_max {} is below retry_min {}; the backoff grows from retry_min up to retry_max",
                          duration_text(queue.retry_max), duration_text(queue.retry_min)));
    }
    if (queue.delay_warning.count() > 0 && queue.delay_warning >= queue.lifetime) {
      const bool at_warning = t.get("delay_warning") != nullptr;
      r_.fail(at_warning ? *t.get("delay_warning") : *t.get("lifetime"),
              at_warning ? "queue.delay_warning" : "queue.lifetime",
              fmt::format("delay_warning {} is not shorter than lifetime {}, so the warning would never be "
                          "sent; shorten it, or set delay_warning = 0 to turn it off",
                          duration_text(queue.delay_warning), duration_text(queue.lifetime)));
    }
  }

  void read_connectors(const toml::node& node, Config& config) const {
    const toml::array& items = r_.array_of_tables(
        node, "send_connector", "send mail to no other domain; leave [[send_connector]] out to get the default one");
    std::vector<SendConnector> connectors;
    std::vector<SendSource> sources;
    for (std::size_t i = 0; i < items.size(); ++i) {
      SendSource source;
      connectors.push_back(read_connector(*items.get(i)->as_table(), fmt::format("send_connector[{}]", i), source));
      sources.push_back(std::move(source));
    }
    check_connectors(connectors, sources);
    config.send_connectors = std::move(connectors);
  }

  SendConnector read_connector(const toml::table& t, const std::string& path, SendSource& source) const {
    r_.check_keys(t, path, kSendKeys);
    SendConnector c = default_send_connector();

    source.name = t.get("name");
    if (!source.name) r_.fail(t, path, "missing key 'name' (every connector needs a unique name for the logs)");
    c.name = r_.non_empty_string(*source.name, join(path, "name"));

    if (const toml::node* n = t.get("address_spaces")) {
      read_address_spaces(*n, join(path, "address_spaces"), c, source);
    } else {
      source.spaces = {&t};
      source.space_paths = {join(path, "address_spaces")};
    }

    const toml::node* smart_hosts = t.get("smart_hosts");
    if (smart_hosts) read_smart_hosts(*smart_hosts, join(path, "smart_hosts"), c);
    if (const toml::node* n = t.get("port")) {
      c.port = r_.port(*n, join(path, "port"));
      if (!c.smart_hosts.empty())
        r_.fail(*n, join(path, "port"),
                "port applies to MX routing only; with smart_hosts, give the port in each entry "
                "(e.g. \"relay.example.org:2525\")");
    }

    if (const toml::node* n = t.get("tls")) {
      c.tls = read_outbound_tls(r_, *n, join(path, "tls"));
    }
    if (const toml::node* n = t.get("tls_destinations"))
      read_tls_destinations(r_, r_.table(*n, join(path, "tls_destinations")), join(path, "tls_destinations"), c);
    if (const toml::node* n = t.get("fallback_to_plaintext"))
      c.fallback_to_plaintext = r_.boolean(*n, join(path, "fallback_to_plaintext"));

    if (const toml::node* n = t.get("ca_file")) {
      const std::string key_path = join(path, "ca_file");
      const std::string file = r_.non_empty_string(*n, key_path);
      // Verification also happens for table entries, MTA-STS and DANE-TA: only a connector that
      // can never verify has no use for it.
      const bool plain =
          c.tls == OutboundTls::None || c.tls == OutboundTls::Opportunistic || c.tls == OutboundTls::Required;
      if (plain && c.tls_destinations.empty())
        r_.fail(*n, key_path,
                fmt::format("ca_file is used only when certificates are verified (tls = \"verify\", \"dane\", "
                            "\"dane-only\" or \"mta-sts\", or entries in tls_destinations); this connector has "
                            "tls = \"{}\"",
                            outbound_tls_name(c.tls)));
      r_.check_readable_file(*n, key_path, file, "a PEM file of CA certificates");
      c.ca_file = file;
    }

    if (const toml::node* n = t.get("helo")) {
      const std::string key_path = join(path, "helo");
      c.helo = r_.string(*n, key_path);
      if (c.helo.empty()) r_.fail(*n, key_path, "is empty; leave the key out to use hostname");
      if (auto checked = check_hostname(c.helo); !checked) r_.fail(*n, key_path, checked.error().message);
    }
    if (const toml::node* n = t.get("max_connections_per_host"))
      c.max_connections_per_host = static_cast<std::size_t>(r_.positive(*n, join(path, "max_connections_per_host")));

    if (const toml::node* n = t.get("tls_policy")) {
      const std::string policy_path = join(path, "tls_policy");
      c.tls_policy = r_.tls_policy(r_.table(*n, policy_path), policy_path, TomlReader::TlsSide::Client);
    }
    if (const toml::node* n = t.get("auth")) {
      const std::string auth_path = join(path, "auth");
      read_send_auth(r_, r_.table(*n, auth_path), auth_path, c);
    }
    return c;
  }

  void read_address_spaces(const toml::node& node, const std::string& path, SendConnector& c,
                           SendSource& source) const {
    const toml::array& items = r_.array(node, path);
    if (items.empty())
      r_.fail(node, path, "an empty list serves no domain; leave the key out to serve every domain (\"*\")");
    c.address_spaces.clear();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string item_path = fmt::format("{}[{}]", path, i);
      const std::string space = ascii_lower(r_.string(*items.get(i), item_path));
      if (space != "*") {
        if (auto checked =
                check_domain_pattern(space, "an address space", "write \"*\", \"example.org\" or \"*.example.org\"");
            !checked)
          r_.fail(*items.get(i), item_path, checked.error().message);
      }
      // The same space twice in one connector is harmless; between connectors it is ambiguous.
      if (std::find(c.address_spaces.begin(), c.address_spaces.end(), space) != c.address_spaces.end()) continue;
      c.address_spaces.push_back(space);
      source.spaces.push_back(items.get(i));
      source.space_paths.push_back(item_path);
    }
  }

  void read_smart_hosts(const toml::node& node, const std::string& path, SendConnector& c) const {
    const toml::array& items = r_.array(node, path);
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string item_path = fmt::format("{}[{}]", path, i);
      const std::string text = r_.string(*items.get(i), item_path);
      auto host = parse_smart_host(text);
      if (!host) r_.fail(*items.get(i), item_path, host.error().message);
      const bool twice = std::any_of(c.smart_hosts.begin(), c.smart_hosts.end(),
                                     [&](const SmartHost& h) { return h.str() == host->str(); });
      if (twice) r_.fail(*items.get(i), item_path, fmt::format("{} is listed twice", host->str()));
      c.smart_hosts.push_back(*host);
    }
  }

  void check_connectors(const std::vector<SendConnector>& connectors, const std::vector<SendSource>& sources) const {
    for (std::size_t i = 0; i < connectors.size(); ++i) {
      const std::string path = fmt::format("send_connector[{}]", i);
      for (std::size_t j = 0; j < i; ++j) {
        if (ascii_lower(connectors[i].name) == ascii_lower(connectors[j].name))
          r_.fail(*sources[i].name, join(path, "name"),
                  fmt::format("{} is already the name of send_connector[{}]", shown(connectors[i].name), j));
        for (std::size_t k = 0; k < connectors[i].address_spaces.size(); ++k) {
          const std::string& space = connectors[i].address_spaces[k];
          if (std::find(connectors[j].address_spaces.begin(), connectors[j].address_spaces.end(), space) ==
              connectors[j].address_spaces.end())
            continue;
          const bool listed = !sources[i].spaces[k]->is_table();
          r_.fail(*sources[i].spaces[k], sources[i].space_paths[k],
                  fmt::format("{} is also an address space of send connector {}, so a recipient domain there "
                              "would match both equally; keep it in one of them{}",
                              shown(space), shown(connectors[j].name),
                              listed ? "" : " (address_spaces defaults to [\"*\"] when left out)"));
        }
      }
    }
  }

  const TomlReader& r_;
};

}  // namespace

namespace detail {

SendConnector default_send_connector() {
  SendConnector connector;
  connector.name = "Default Outbound";
  connector.address_spaces = {"*"};
  if (auto policy = tls::named_policy("default")) connector.tls_policy = *policy;
  return connector;
}

void read_send_side(const TomlReader& reader, const toml::table& root, Config& config) {
  SendReader(reader).read(root, config);
}

OutboundTls read_outbound_tls(const TomlReader& reader, const toml::node& node, std::string_view path) {
  return reader.one_of(node, path, kOutboundTlsNames);
}

}  // namespace detail

std::string SmartHost::str() const {
  if (!literal) return fmt::format("{}:{}", host, port);
  return fmt::format("[{}]:{}", host, port);
}

Result<SmartHost> parse_smart_host(std::string_view text) {
  constexpr std::string_view form =
      "write \"[host]:port\", \"[host]\", \"host:port\" or \"host\", e.g. \"[mail.example.net]:25\" or "
      "\"relay.example.net:2525\"";
  if (text.empty()) {
    return fail(fmt::format("is empty; {}", form));
  }
  SmartHost result;
  std::string_view host = text;
  std::optional<std::string_view> port;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return fail(fmt::format("{} has no closing ']'; {}", shown(text), form));
    }
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return fail(fmt::format("{} has {} after ']'; {}", shown(text), shown(rest), form));
    }
    if (!rest.empty()) port = rest.substr(1);
    result.literal = true;
  } else if (const std::size_t colon = text.find(':'); colon != std::string_view::npos) {
    if (text.find(':', colon + 1) != std::string_view::npos) {
      return fail(
          fmt::format("{} looks like an IPv6 address without brackets; write it as \"[2001:db8::1]:25\"", shown(text)));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) {
    return fail(fmt::format("{} has no host; {}", shown(text), form));
  }

  if (port) {
    unsigned value = 0;
    const bool digits = all_digits(*port) && port->size() <= 5;
    if (digits) std::from_chars(port->data(), port->data() + port->size(), value);
    if (!digits || value < 1 || value > 65535) {
      return fail(fmt::format("{} has port {}; the port is a number from 1 to 65535", shown(text), shown(*port)));
    }
    result.port = static_cast<std::uint16_t>(value);
  }

  std::error_code ec;
  if (host.find(':') != std::string_view::npos) {  // only reachable in brackets
    const auto address = host.find('%') == std::string_view::npos
                             ? asio::ip::make_address_v6(std::string(host), ec)
                             : (ec = std::make_error_code(std::errc::invalid_argument), asio::ip::address_v6());
    if (ec) {
      return fail(fmt::format("{} is not an IPv6 address (zone indexes such as %eth0 are not supported)", shown(host)));
    }
    result.host = address.to_string();
    return result;
  }
  const auto v4 = asio::ip::make_address_v4(std::string(host), ec);
  if (!ec) {
    // An address has no MX records to look up, so it is a literal whether bracketed or not.
    result.host = v4.to_string();
    result.literal = true;
    return result;
  }
  const std::string name = ascii_lower(host);
  if (auto checked = check_domain(name); !checked) return fail(std::move(checked.error()));
  // A name whose last label is all digits is neither a host name (no such top-level domain) nor
  // an address: usually a mistyped IPv4 address such as "10.0.0.256".
  const std::size_t last_dot = name.rfind('.');
  if (all_digits(last_dot == std::string::npos ? std::string_view(name)
                                               : std::string_view(name).substr(last_dot + 1))) {
    return fail(fmt::format("{} is neither an IPv4 address nor a host name", shown(host)));
  }
  result.host = name;
  return result;
}

std::string_view outbound_tls_name(OutboundTls mode) { return name_of(kOutboundTlsNames, mode).value_or("unknown"); }

const SendConnector* select_send_connector(const Config& config, std::string_view domain_key) {
  const std::string domain = ascii_lower(domain_key);
  const SendConnector* best = nullptr;
  int best_rank = -1;
  for (const SendConnector& connector : config.send_connectors) {
    for (const std::string& space : connector.address_spaces) {
      // Strictly greater: the parser refuses equal spaces in two connectors, so ties do not occur
      // in a parsed configuration; in a hand-built one the earlier connector wins.
      if (const int rank = domain_pattern_rank(space, domain); rank > best_rank) {
        best_rank = rank;
        best = &connector;
      }
    }
  }
  return best;
}

}  // namespace sluice::config
