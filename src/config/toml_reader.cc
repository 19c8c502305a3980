// The shared reader pieces declared in toml_reader.h.
#include "config/toml_reader.h"
#include "base/lookup.h"
#include "base/text.h"
#include "base/unit_duration.h"

#include <fmt/core.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace sluice::config::detail {
namespace {

// OpenSSL's TLS 1.3 suites; ciphersuites names outside this set are typos OpenSSL would ignore.
constexpr std::array<std::string_view, 5> kTls13Suites = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                                          "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
                                                          "TLS_AES_128_CCM_8_SHA256"};

constexpr std::string_view kTlsKeys[] = {"profile",      "min_version", "max_version", "ciphers",
                                         "ciphersuites", "certificate", "key",         "security_level"};

/// Does the OpenSSL cipher list select at least one cipher? (OpenSSL skips unknown names, so a
/// list made only of typos would otherwise leave TLS 1.2 with no cipher at run time.)
bool cipher_list_selects_something(const std::string& list) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_method()), SSL_CTX_free);
  if (!ctx) return true;  // cannot check here; the TLS layer reports it when it builds the context
  // Level 0 so that lists meant for the legacy profile are judged by their names alone.
  SSL_CTX_set_security_level(ctx.get(), 0);
  return SSL_CTX_set_cipher_list(ctx.get(), list.c_str()) == 1;
}

}  // namespace

Result<std::string> read_config_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return fail(fmt::format("{}: is a directory, not a configuration file", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  return text.str();
}

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
  static constexpr Named<toml::node_type> kNames[] = {{toml::node_type::table, "a table"},
                                                      {toml::node_type::array, "an array"},
                                                      {toml::node_type::string, "a string"},
                                                      {toml::node_type::integer, "an integer"},
                                                      {toml::node_type::floating_point, "a float"},
                                                      {toml::node_type::boolean, "a boolean"},
                                                      {toml::node_type::date, "a date"},
                                                      {toml::node_type::time, "a time"},
                                                      {toml::node_type::date_time, "a date-time"}};
  return name_of(kNames, t).value_or("nothing");
}

std::string join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

/// Hostname check shared by the configuration and the system fallback: it goes into the banner
/// and EHLO reply, so it must be one printable ASCII word.
Result<void> check_hostname(std::string_view name) {
  if (name.empty()) {
    return fail("is empty; give the name clients see in the banner, e.g. \"mx.example.org\"");
  }
  if (name.size() > 255) {
    return fail("is longer than 255 characters");
  }
  for (unsigned char c : name) {
    if (c == ' ' || c == '\t') {
      return fail(fmt::format("{} contains a space; the hostname is one word such as \"mx.example.org\"", shown(name)));
    }
    if (c < 0x21 || c > 0x7e) {
      return fail(fmt::format("{} contains a character that is not printable ASCII", shown(name)));
    }
  }
  return {};
}

/// RFC 1035 preferred name syntax (letters, digits, hyphens; labels of 1-63), in A-label form.
Result<void> check_domain(std::string_view domain) {
  if (domain.empty()) {
    return fail("is empty");
  }
  if (domain.back() == '.') {
    return fail(fmt::format("{} ends with a dot; write the domain without it", shown(domain)));
  }
  if (domain.size() > 253) {
    return fail(fmt::format("{} is longer than 253 characters", shown(domain)));
  }
  std::size_t start = 0;
  while (start <= domain.size()) {
    const std::size_t dot = std::min(domain.find('.', start), domain.size());
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty()) {
      return fail(fmt::format("{} has an empty label (two dots in a row or a leading dot)", shown(domain)));
    }
    if (label.size() > 63) {
      return fail(fmt::format("{} has a label longer than 63 characters", shown(domain)));
    }
    for (unsigned char c : label) {
      if (c >= 0x80) {
        return fail(fmt::format("{} is not ASCII; write an internationalised domain in its xn-- (A-label) form",
                                shown(domain)));
      }
      if (!std::isalnum(c) && c != '-') {
        return fail(fmt::format("{} contains {}; a domain has only letters, digits, hyphens and dots", shown(domain),
                                shown(std::string_view(reinterpret_cast<const char*>(&c), 1))));
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return fail(fmt::format("{} has a label that starts or ends with a hyphen", shown(domain)));
    }
    start = dot + 1;
  }
  return {};
}

Result<void> check_domain_pattern(std::string_view pattern, std::string_view what, std::string_view forms) {
  const bool wildcard = pattern.size() > 2 && pattern.substr(0, 2) == "*.";
  const std::string_view domain = wildcard ? pattern.substr(2) : pattern;
  if (domain.find('*') != std::string_view::npos)
    return fail(fmt::format("{} is not {}; {}", shown(pattern), what, forms));
  return check_domain(domain);
}

std::optional<std::int64_t> parse_duration_seconds(std::string_view text) {
  static constexpr DurationUnit kUnits[] = {{'h', 3600}, {'m', 60}, {'s', 1}};
  return parse_unit_duration(text, kUnits);
}

std::string TomlReader::located(const toml::source_region* where, std::string_view path,
                                std::string_view problem) const {
  std::string message(source_);
  if (where != nullptr && where->begin.line > 0) message += fmt::format(": line {}", where->begin.line);
  if (!path.empty()) message += fmt::format(": {}", path);
  message += fmt::format(": {}", problem);
  std::replace(message.begin(), message.end(), '\n', ' ');
  return message;
}

void TomlReader::fail(const toml::source_region* where, std::string_view path, std::string_view problem) const {
  throw ConfigError(located(where, path, problem));
}
void TomlReader::fail(const toml::node& at, std::string_view path, std::string_view problem) const {
  fail(&at.source(), path, problem);
}

void TomlReader::check_keys(const toml::table& table, std::string_view path, Keys known) const {
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

void TomlReader::expect(const toml::node& node, toml::node_type type, std::string_view path) const {
  if (node.type() != type)
    fail(node, path, fmt::format("expected {}, got {}", type_name(type), type_name(node.type())));
}

std::string TomlReader::string(const toml::node& node, std::string_view path) const {
  expect(node, toml::node_type::string, path);
  return node.as_string()->get();
}
std::string TomlReader::non_empty_string(const toml::node& node, std::string_view path) const {
  std::string s = string(node, path);
  if (s.empty()) fail(node, path, "must not be empty");
  return s;
}
bool TomlReader::boolean(const toml::node& node, std::string_view path) const {
  expect(node, toml::node_type::boolean, path);
  return node.as_boolean()->get();
}
std::int64_t TomlReader::integer(const toml::node& node, std::string_view path) const {
  expect(node, toml::node_type::integer, path);
  return node.as_integer()->get();
}
std::int64_t TomlReader::positive(const toml::node& node, std::string_view path) const {
  const std::int64_t value = integer(node, path);
  if (value <= 0) fail(node, path, fmt::format("must be greater than 0, got {}", value));
  return value;
}
const toml::array& TomlReader::array(const toml::node& node, std::string_view path) const {
  expect(node, toml::node_type::array, path);
  return *node.as_array();
}
const toml::table& TomlReader::table(const toml::node& node, std::string_view path) const {
  expect(node, toml::node_type::table, path);
  return *node.as_table();
}

std::uint16_t TomlReader::port(const toml::node& node, std::string_view path) const {
  const std::int64_t value = integer(node, path);
  if (value < 1 || value > 65535) fail(node, path, fmt::format("must be a port from 1 to 65535, got {}", value));
  return static_cast<std::uint16_t>(value);
}

const toml::array& TomlReader::array_of_tables(const toml::node& node, std::string_view path,
                                               std::string_view what) const {
  if (node.is_array() && node.as_array()->empty())
    fail(node, path, fmt::format("no connector given; sluice would {}", what));
  if (!node.is_array_of_tables())
    fail(node, path, fmt::format("expected an array of tables ([[{}]]), got {}", path, type_name(node.type())));
  return *node.as_array();
}

Seconds TomlReader::duration(const toml::node& node, std::string_view path, bool allow_zero) const {
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
  if (seconds < 0 || (seconds == 0 && !allow_zero))
    fail(node, path, fmt::format("must be {} 0, got {}", allow_zero ? "at least" : "greater than", seconds));
  if (seconds > kMaxDurationSeconds) fail(node, path, "must not be longer than 365 days");
  return Seconds(seconds);
}

void TomlReader::check_readable_file(const toml::node& at, std::string_view path, const std::string& file,
                                     std::string_view what) const {
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (!std::filesystem::exists(status)) fail(at, path, fmt::format("{} does not exist", shown(file)));
  if (std::filesystem::is_directory(status))
    fail(at, path, fmt::format("{} is a directory, not {}", shown(file), what));
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(at, path, fmt::format("{} cannot be read: {}", shown(file), std::strerror(errno)));
}

std::vector<net::Cidr> TomlReader::ranges(const toml::node& node, std::string_view path) const {
  std::vector<net::Cidr> out;
  const toml::array& items = array(node, path);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string item_path = fmt::format("{}[{}]", path, i);
    const std::string text = string(*items.get(i), item_path);
    auto cidr = net::Cidr::parse(text);
    if (!cidr) fail(*items.get(i), item_path, cidr.error().message);
    out.push_back(*cidr);
  }
  return out;
}

tls::Policy TomlReader::tls_policy(const toml::table& t, const std::string& path, TlsSide side) const {
  check_keys(t, path, kTlsKeys);
  tls::Policy policy;
  if (const toml::node* n = t.get("profile")) {
    const std::string name = string(*n, join(path, "profile"));
    auto named = tls::named_policy(name);
    if (!named)
      fail(*n, join(path, "profile"), fmt::format("{} is not one of default, exchange-online, legacy", shown(name)));
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
  // A server's files are read (and matched) when its context is built at start; a client's are
  // only used at the first delivery that needs them, so a missing one is reported now.
  if (side == TlsSide::Client && certificate) {
    check_readable_file(*certificate, join(path, "certificate"), policy.certificate.string(),
                        "a PEM certificate chain");
    check_readable_file(*key, join(path, "key"), policy.key.string(), "a PEM private key");
  }

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

}  // namespace sluice::config::detail
