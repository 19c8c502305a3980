#include "config/config.h"

#include <fmt/core.h>
#include <openssl/ssl.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <span>
#include <sstream>
#include <toml++/toml.h>

namespace sluice::config {
namespace {

constexpr std::string_view kDefaultRequireTlsReply = "451 5.7.3 Must issue a STARTTLS command first";
constexpr std::int64_t kMaxDurationSeconds = 365LL * 24 * 3600;
// OpenSSL's TLS 1.3 suites; ciphersuites names outside this set are typos OpenSSL would ignore.
constexpr std::array<std::string_view, 5> kTls13Suites = {
    "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"};

using Keys = std::span<const std::string_view>;

constexpr std::string_view kTopKeys[] = {"state_dir",        "hostname", "local_domains",    "relay_from",
                           "max_message_size", "limits",   "receive_connector"};
constexpr std::string_view kLimitKeys[] = {"max_message_size",      "max_recipients",  "max_errors",
                             "max_connections",       "max_connections_per_ip",
                             "max_command_line",      "max_text_line",   "command_timeout",
                             "data_timeout",          "tls_handshake_timeout", "shutdown_grace"};
constexpr std::string_view kConnectorKeys[] = {"name",        "listen",            "remote_ranges", "starttls",
                                 "require_tls", "require_tls_reply", "tls"};
constexpr std::string_view kTlsKeys[] = {"profile", "min_version", "max_version", "ciphers",
                           "ciphersuites", "certificate", "key", "security_level"};

/// A value echoed in an error: quoted, with anything that would break the one-line form escaped.
std::string shown(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

/// Optimal string alignment distance: a swapped pair of letters counts as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string_view type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// Hostname check shared by the configuration and the system fallback: it goes into the banner
/// and EHLO reply, so it must be one printable ASCII word.
bool hostname_problem(std::string_view name, std::string& why) {
  if (name.empty()) {
    why = "is empty; give the name clients see in the banner, e.g. \"mx.example.org\"";
    return true;
  }
  if (name.size() > 255) {
    why = "is longer than 255 characters";
    return true;
  }
  for (unsigned char c : name) {
    if (c == ' ' || c == '\t') {
      why = fmt::format("{} contains a space; the hostname is one word such as \"mx.example.org\"",
                        shown(name));
      return true;
    }
    if (c < 0x21 || c > 0x7e) {
      why = fmt::format("{} contains a character that is not printable ASCII", shown(name));
      return true;
    }
  }
  return false;
}

/// RFC 1035 preferred name syntax (letters, digits, hyphens; labels of 1-63), in A-label form.
bool domain_problem(std::string_view domain, std::string& why) {
  if (domain.empty()) {
    why = "is empty";
    return true;
  }
  if (domain.back() == '.') {
    why = fmt::format("{} ends with a dot; write the domain without it", shown(domain));
    return true;
  }
  if (domain.size() > 253) {
    why = fmt::format("{} is longer than 253 characters", shown(domain));
    return true;
  }
  std::size_t start = 0;
  while (start <= domain.size()) {
    const std::size_t dot = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty()) {
      why = fmt::format("{} has an empty label (two dots in a row or a leading dot)", shown(domain));
      return true;
    }
    if (label.size() > 63) {
      why = fmt::format("{} has a label longer than 63 characters", shown(domain));
      return true;
    }
    for (unsigned char c : label) {
      if (c >= 0x80) {
        why = fmt::format("{} is not ASCII; write an internationalised domain in its xn-- (A-label) form",
                          shown(domain));
        return true;
      }
      if (!std::isalnum(c) && c != '-') {
        why = fmt::format("{} contains {}; a domain has only letters, digits, hyphens and dots",
                          shown(domain), shown(std::string_view(reinterpret_cast<const char*>(&c), 1)));
        return true;
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      why = fmt::format("{} has a label that starts or ends with a hyphen", shown(domain));
      return true;
    }
    start = dot + 1;
  }
  return false;
}

/// Digits-and-units duration without the range check; nullopt on bad syntax or overflow.
std::optional<std::int64_t> parse_duration_seconds(std::string_view text) {
  constexpr std::array<std::pair<char, std::int64_t>, 3> units = {{{'h', 3600}, {'m', 60}, {'s', 1}}};
  std::size_t next_unit = 0;
  std::int64_t total = 0;
  std::size_t i = 0;
  if (text.empty()) return std::nullopt;
  while (i < text.size()) {
    std::int64_t number = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (++digits > 10) return std::nullopt;
      number = number * 10 + (text[i++] - '0');
    }
    if (digits == 0 || i == text.size()) return std::nullopt;
    const char unit = text[i++];
    while (next_unit < units.size() && units[next_unit].first != unit) ++next_unit;
    if (next_unit == units.size()) return std::nullopt;
    total += number * units[next_unit].second;
    ++next_unit;
  }
  return total;
}

/// Does the OpenSSL cipher list select at least one cipher? (OpenSSL skips unknown names, so a
/// list made only of typos would otherwise leave TLS 1.2 with no cipher at run time.)
bool cipher_list_selects_something(const std::string& list) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!ctx) return true;  // cannot check here; the TLS layer reports it when it builds the context
  // Level 0 so that lists meant for the legacy profile are judged by their names alone.
  SSL_CTX_set_security_level(ctx.get(), 0);
  return SSL_CTX_set_cipher_list(ctx.get(), list.c_str()) == 1;
}

/// The connector of the zero-configuration gateway, also the base every configured one starts from.
ReceiveConnector default_connector() {
  ReceiveConnector connector;
  connector.name = "Default";
  connector.listen = {ListenAddress{"127.0.0.1", 2525}, ListenAddress{"::1", 2525}};
  connector.remote_ranges = {*Cidr::parse("0.0.0.0/0"), *Cidr::parse("::/0")};
  if (!smtp::parse_configured_reply(kDefaultRequireTlsReply, connector.require_tls_reply))
    connector.require_tls_reply = smtp::make_reply(451, "5.7.3", "Must issue a STARTTLS command first");
  if (auto policy = tls::named_policy("default")) connector.tls = *policy;
  return connector;
}

struct ConnectorSource {
  const toml::node* table = nullptr;
  const toml::node* name = nullptr;
  const toml::node* remote_ranges = nullptr;
};

/// Reads one TOML document into a Config, throwing ConfigError at the first problem.
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  [[noreturn]] void fail(const toml::source_region* where, std::string_view path,
                         std::string_view problem) const {
    std::string message(source_);
    if (where != nullptr && where->begin.line > 0) message += fmt::format(": line {}", where->begin.line);
    if (!path.empty()) message += fmt::format(": {}", path);
    message += fmt::format(": {}", problem);
    std::replace(message.begin(), message.end(), '\n', ' ');
    throw ConfigError(message);
  }
  [[noreturn]] void fail(const toml::node& at, std::string_view path, std::string_view problem) const {
    fail(&at.source(), path, problem);
  }

  void check_keys(const toml::table& table, std::string_view path, Keys known) const {
    for (auto&& [key, node] : table) {
      const std::string_view name = key.str();
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::string problem = fmt::format("unknown key '{}'", name);
      std::string_view best;
      std::size_t best_distance = 3;
      for (std::string_view candidate : known) {
        const std::size_t d = edit_distance(name, candidate);
        if (d < best_distance) {
          best_distance = d;
          best = candidate;
        }
      }
      if (!best.empty()) problem += fmt::format(" (did you mean '{}'?)", best);
      fail(&key.source(), path, problem);
    }
  }

  void expect(const toml::node& node, toml::node_type type, std::string_view path) const {
    if (node.type() != type)
      fail(node, path, fmt::format("expected {}, got {}", type_name(type), type_name(node.type())));
  }

  std::string string(const toml::node& node, std::string_view path) const {
    expect(node, toml::node_type::string, path);
    return node.as_string()->get();
  }
  std::string non_empty_string(const toml::node& node, std::string_view path) const {
    std::string s = string(node, path);
    if (s.empty()) fail(node, path, "must not be empty");
    return s;
  }
  bool boolean(const toml::node& node, std::string_view path) const {
    expect(node, toml::node_type::boolean, path);
    return node.as_boolean()->get();
  }
  std::int64_t integer(const toml::node& node, std::string_view path) const {
    expect(node, toml::node_type::integer, path);
    return node.as_integer()->get();
  }
  std::int64_t positive(const toml::node& node, std::string_view path) const {
    const std::int64_t value = integer(node, path);
    if (value <= 0) fail(node, path, fmt::format("must be greater than 0, got {}", value));
    return value;
  }
  const toml::array& array(const toml::node& node, std::string_view path) const {
    expect(node, toml::node_type::array, path);
    return *node.as_array();
  }
  const toml::table& table(const toml::node& node, std::string_view path) const {
    expect(node, toml::node_type::table, path);
    return *node.as_table();
  }

  Seconds duration(const toml::node& node, std::string_view path) const {
    std::int64_t seconds = 0;
    if (node.is_integer()) {
      seconds = node.as_integer()->get();
    } else if (node.is_string()) {
      const std::string& text = node.as_string()->get();
      const auto parsed = parse_duration_seconds(text);
      if (!parsed)
        fail(node, path,
             fmt::format("{} is not a duration; write whole seconds (300) or a string such as "
                         "\"30s\", \"5m\", \"1h\", \"1h30m\"",
                         shown(text)));
      seconds = *parsed;
    } else {
      fail(node, path,
           fmt::format("expected an integer number of seconds or a string such as \"5m\", got {}",
                       type_name(node.type())));
    }
    if (seconds <= 0) fail(node, path, fmt::format("must be greater than 0, got {}", seconds));
    if (seconds > kMaxDurationSeconds) fail(node, path, "must not be longer than 365 days");
    return Seconds(seconds);
  }

  std::vector<Cidr> ranges(const toml::node& node, std::string_view path) const {
    std::vector<Cidr> out;
    const toml::array& items = array(node, path);
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string item_path = fmt::format("{}[{}]", path, i);
      const std::string text = string(*items.get(i), item_path);
      std::string why;
      auto cidr = Cidr::parse(text, why);
      if (!cidr) fail(*items.get(i), item_path, why);
      out.push_back(*cidr);
    }
    return out;
  }

  void read(const toml::table& root, Config& config) const {
    check_keys(root, "", kTopKeys);
    if (const toml::node* n = root.get("state_dir")) config.state_dir = non_empty_string(*n, "state_dir");
    if (const toml::node* n = root.get("hostname")) {
      config.hostname = string(*n, "hostname");
      std::string why;
      if (hostname_problem(config.hostname, why)) fail(*n, "hostname", why);
    }
    if (const toml::node* n = root.get("local_domains")) read_local_domains(*n, config);
    if (const toml::node* n = root.get("relay_from")) config.relay_from = ranges(*n, "relay_from");
    read_limits(root, config.limits);
    if (const toml::node* n = root.get("receive_connector")) read_connectors(*n, config);
  }

 private:
  void read_local_domains(const toml::node& node, Config& config) const {
    config.local_domains.clear();
    const toml::array& items = array(node, "local_domains");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string path = fmt::format("local_domains[{}]", i);
      const std::string domain = lower(string(*items.get(i), path));
      std::string why;
      if (domain_problem(domain, why)) fail(*items.get(i), path, why);
      if (std::find(config.local_domains.begin(), config.local_domains.end(), domain) ==
          config.local_domains.end())
        config.local_domains.push_back(domain);
    }
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
             fmt::format("also given at the top level (line {}); keep one of the two",
                         top_size->source().begin.line));
      limits.max_message_size = static_cast<std::uint64_t>(positive(*n, "limits.max_message_size"));
    }
    const std::pair<std::string_view, std::size_t Limits::*> counts[] = {
        {"max_recipients", &Limits::max_recipients},
        {"max_errors", &Limits::max_errors},
        {"max_connections", &Limits::max_connections},
        {"max_connections_per_ip", &Limits::max_connections_per_ip},
        {"max_command_line", &Limits::max_command_line},
        {"max_text_line", &Limits::max_text_line}};
    for (const auto& [key, field] : counts) {
      if (const toml::node* n = t.get(key))
        limits.*field = static_cast<std::size_t>(positive(*n, join("limits", key)));
    }
    const std::pair<std::string_view, Seconds Limits::*> durations[] = {
        {"command_timeout", &Limits::command_timeout},
        {"data_timeout", &Limits::data_timeout},
        {"tls_handshake_timeout", &Limits::tls_handshake_timeout},
        {"shutdown_grace", &Limits::shutdown_grace}};
    for (const auto& [key, field] : durations) {
      if (const toml::node* n = t.get(key)) limits.*field = duration(*n, join("limits", key));
    }
  }

  void read_connectors(const toml::node& node, Config& config) const {
    if (node.is_array() && node.as_array()->empty())
      fail(node, "receive_connector", "no connector given; sluice would accept no client");
    if (!node.is_array_of_tables())
      fail(node, "receive_connector",
           fmt::format("expected an array of tables ([[receive_connector]]), got {}",
                       type_name(node.type())));
    const toml::array& items = *node.as_array();
    std::vector<ReceiveConnector> connectors;
    std::vector<ConnectorSource> sources;
    for (std::size_t i = 0; i < items.size(); ++i) {
      ConnectorSource source;
      connectors.push_back(read_connector(*items.get(i)->as_table(), fmt::format("receive_connector[{}]", i), source));
      sources.push_back(source);
    }
    check_connectors(connectors, sources);
    config.receive_connectors = std::move(connectors);
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
      std::string why;
      auto address = parse_listen_address(text, why);
      if (!address) fail(*addresses.get(i), item_path, why);
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

    if (const toml::node* n = t.get("starttls")) c.starttls = boolean(*n, join(path, "starttls"));
    if (const toml::node* n = t.get("require_tls")) c.require_tls = boolean(*n, join(path, "require_tls"));
    if (c.require_tls && !c.starttls)
      fail(*t.get("require_tls"), join(path, "require_tls"),
           "require_tls = true needs starttls = true (clients could never satisfy it)");
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
      c.tls = read_tls(table(*n, tls_path), tls_path);
    }
    return c;
  }

  tls::Policy read_tls(const toml::table& t, const std::string& path) const {
    check_keys(t, path, kTlsKeys);
    tls::Policy policy;
    if (const toml::node* n = t.get("profile")) {
      const std::string name = string(*n, join(path, "profile"));
      auto named = tls::named_policy(name);
      if (!named)
        fail(*n, join(path, "profile"),
             fmt::format("{} is not one of default, exchange-online, legacy", shown(name)));
      policy = *named;
    } else if (auto named = tls::named_policy("default")) {
      policy = *named;
    }

    auto version = [&](std::string_view key, tls::Version& out) {
      if (const toml::node* n = t.get(key)) {
        const std::string text = string(*n, join(path, key));
        auto v = tls::parse_config_version(text);
        if (!v) fail(*n, join(path, key), fmt::format("{} is not one of 1.0, 1.1, 1.2, 1.3", shown(text)));
        out = *v;
      }
    };
    version("min_version", policy.min_version);
    version("max_version", policy.max_version);

    if (const toml::node* n = t.get("security_level")) {
      const std::int64_t level = integer(*n, join(path, "security_level"));
      if (level < 0 || level > 5)
        fail(*n, join(path, "security_level"),
             fmt::format("must be an OpenSSL security level from 0 to 5, got {}", level));
      policy.security_level = static_cast<int>(level);
    }

    if (const toml::node* n = t.get("ciphers")) {
      const std::string key_path = join(path, "ciphers");
      policy.ciphers = non_empty_string(*n, key_path);
      if (!cipher_list_selects_something(policy.ciphers))
        fail(*n, key_path,
             fmt::format("{} selects no cipher OpenSSL knows (see `openssl ciphers -v`)", shown(policy.ciphers)));
    }
    if (const toml::node* n = t.get("ciphersuites")) {
      const std::string key_path = join(path, "ciphersuites");
      policy.ciphersuites = string(*n, key_path);
      if (policy.ciphersuites.empty())
        fail(*n, key_path, "is empty; to turn TLS 1.3 off set max_version = \"1.2\" instead");
      const std::string_view list = policy.ciphersuites;
      for (std::size_t start = 0;;) {
        const std::size_t colon = list.find(':', start);
        const std::string_view suite = list.substr(start, colon == std::string_view::npos ? colon : colon - start);
        if (std::find(kTls13Suites.begin(), kTls13Suites.end(), suite) == kTls13Suites.end())
          fail(*n, key_path,
               fmt::format("{} is not a TLS 1.3 suite (OpenSSL has TLS_AES_256_GCM_SHA384, "
                           "TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, "
                           "TLS_AES_128_CCM_SHA256, TLS_AES_128_CCM_8_SHA256; separate them with ':')",
                           shown(suite)));
        if (colon == std::string_view::npos) break;
        start = colon + 1;
      }
    }

    const toml::node* certificate = t.get("certificate");
    const toml::node* key = t.get("key");
    if (certificate) policy.certificate = non_empty_string(*certificate, join(path, "certificate"));
    if (key) policy.key = non_empty_string(*key, join(path, "key"));
    if ((certificate != nullptr) != (key != nullptr))
      fail(certificate ? *certificate : *key, path,
           certificate ? "certificate is given without key; give both or neither"
                       : "key is given without certificate; give both or neither");

    const toml::node* at = t.get("min_version") ? t.get("min_version") : t.get("max_version");
    const toml::node& where = at ? *at : static_cast<const toml::node&>(t);
    if (policy.min_version > policy.max_version)
      fail(where, path,
           fmt::format("min_version {} is above max_version {}", tls::config_name(policy.min_version),
                       tls::config_name(policy.max_version)));
    if (policy.min_version < tls::Version::Tls1_2) {
      const std::string min_path = join(path, "min_version");
      const std::string_view min_name = tls::config_name(policy.min_version);
      if (policy.profile != "legacy" && policy.security_level != 0)
        fail(where, min_path,
             fmt::format("min_version {} needs profile = \"legacy\" (TLS 1.0/1.1 exist only when asked "
                         "for; OpenSSL 3 needs security level 0)",
                         min_name));
      if (policy.security_level != 0)
        fail(t.get("security_level") ? *t.get("security_level") : where, min_path,
             fmt::format("min_version {} needs security_level = 0 (OpenSSL 3 refuses TLS 1.0/1.1 at "
                         "level 1 and above), but security_level is {}",
                         min_name, policy.security_level));
    }
    return policy;
  }

  void check_connectors(const std::vector<ReceiveConnector>& connectors,
                        const std::vector<ConnectorSource>& sources) const {
    for (std::size_t i = 0; i < connectors.size(); ++i) {
      const std::string path = fmt::format("receive_connector[{}]", i);
      for (std::size_t j = 0; j < i; ++j) {
        if (lower(connectors[i].name) == lower(connectors[j].name))
          fail(*sources[i].name, join(path, "name"),
               fmt::format("{} is already the name of receive_connector[{}]", shown(connectors[i].name), j));
        for (const ListenAddress& address : connectors[i].listen) {
          if (std::find(connectors[j].listen.begin(), connectors[j].listen.end(), address) ==
              connectors[j].listen.end())
            continue;
          for (const Cidr& range : connectors[i].remote_ranges) {
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

  std::string_view source_;
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
  std::string why;
  if (gethostname(buffer, sizeof buffer - 1) != 0) return "localhost";
  std::string name(buffer);
  if (hostname_problem(name, why)) return "localhost";
  return name;
}

}  // namespace

std::string ListenAddress::str() const {
  return host.find(':') == std::string::npos ? fmt::format("{}:{}", host, port)
                                             : fmt::format("[{}]:{}", host, port);
}

bool operator==(const ListenAddress& a, const ListenAddress& b) { return a.host == b.host && a.port == b.port; }

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  std::string ignored;
  return parse_listen_address(text, ignored);
}

std::optional<ListenAddress> parse_listen_address(std::string_view text, std::string& why) {
  const std::string form = "write \"IPv4:port\" or \"[IPv6]:port\" with a numeric address, e.g. \"0.0.0.0:25\" or \"[::]:25\"";
  std::string_view host;
  std::string_view port;
  const bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      why = fmt::format("{} has no port; {}", shown(text), form);
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      why = fmt::format("{} has no port; {}", shown(text), form);
      return std::nullopt;
    }
    if (text.find(':') != colon) {
      why = fmt::format("{} looks like an IPv6 address without brackets; {}", shown(text), form);
      return std::nullopt;
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
    why = fmt::format("{} is not a numeric {} address (host names are not resolved); {}", shown(host),
                      bracketed ? "IPv6" : "IPv4", form);
    return std::nullopt;
  }

  unsigned value = 0;
  const bool digits = !port.empty() && port.size() <= 5 &&
                      std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) std::from_chars(port.data(), port.data() + port.size(), value);
  if (!digits || value < 1 || value > 65535) {
    why = fmt::format("{} has port {}; the port is a number from 1 to 65535", shown(text), shown(port));
    return std::nullopt;
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
  config.local_domains = {"localhost"};

  config.receive_connectors.push_back(default_connector());
  return config;
}

Config parse_config(std::string_view toml_text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::string message = fmt::format("{}: line {}: {}", source_name, e.source().begin.line, e.description());
    std::replace(message.begin(), message.end(), '\n', ' ');
    throw ConfigError(message);
  }
  Config config = default_config();
  Reader(source_name).read(root, config);
  return config;
}

Config load_config(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(fmt::format("{}: is a directory, not a configuration file", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  return parse_config(text.str(), path.string());
}

bool is_local_domain(const Config& config, std::string_view domain_key) {
  return std::find(config.local_domains.begin(), config.local_domains.end(), domain_key) !=
         config.local_domains.end();
}

bool may_relay(const Config& config, const asio::ip::address& client) {
  return std::any_of(config.relay_from.begin(), config.relay_from.end(),
                     [&](const Cidr& range) { return range.contains(client); });
}

const ReceiveConnector* select_connector(const std::vector<const ReceiveConnector*>& candidates,
                                         const asio::ip::address& client) {
  const ReceiveConnector* best = nullptr;
  int best_prefix = -1;
  for (const ReceiveConnector* connector : candidates) {
    if (connector == nullptr) continue;
    for (const Cidr& range : connector->remote_ranges) {
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
