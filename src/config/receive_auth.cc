// SMTP AUTH on a [[receive_connector]] (docs/configuration.md, docs/relay-for-devices.md):
// `auth = true`, or an auth table (`auth = { mechanisms = ["login"] }` or [receive_connector.auth])
// whose allow_plaintext and max_failures may instead be written as the connector's flat keys
// allow_plaintext_auth and max_auth_failures, but not both ways.
#include "config/toml_reader.h"

#include <fmt/core.h>

#include <algorithm>

#include "base/lookup.h"
#include "config/config.h"

namespace sluice::config {

namespace {
constexpr Named<ReceiveAuthMechanism> kReceiveAuthMechanismNames[] = {{ReceiveAuthMechanism::Plain, "plain"},
                                                                      {ReceiveAuthMechanism::Login, "login"}};
constexpr std::string_view kReceiveAuthTableKeys[] = {"mechanisms", "allow_plaintext", "max_failures"};
}  // namespace

std::string_view receive_auth_mechanism_name(ReceiveAuthMechanism mechanism) {
  return name_of(kReceiveAuthMechanismNames, mechanism).value_or("unknown");
}

namespace detail {

namespace {

/// One setting's node, wherever it was written: the connector's flat key or the auth table's key.
struct AuthSetting {
  const toml::node* node = nullptr;
  std::string path;
};

class ReceiveAuthReader {
 public:
  ReceiveAuthReader(const TomlReader& r, const toml::table& t, const std::string& path)
      : r_(r), t_(t), path_(path), table_path_(join(path, "auth")) {}

  void read(ReceiveConnector& c) {
    if (const toml::node* n = t_.get("auth")) {
      if (n->is_table()) {
        table_ = n->as_table();
        r_.check_keys(*table_, table_path_, kReceiveAuthTableKeys);
        c.auth = true;
      } else if (n->is_boolean()) {
        c.auth = n->as_boolean()->get();
      } else {
        r_.fail(*n, table_path_,
                fmt::format("expected true, false or a table such as {{ mechanisms = [\"login\"] }}, got {}",
                            type_name(n->type())));
      }
    }
    if (table_) {
      if (const toml::node* n = table_->get("mechanisms")) c.auth_mechanisms = mechanisms(*n);
    }
    if (const AuthSetting failures = setting("max_auth_failures", "max_failures"); failures.node) {
      c.max_auth_failures = static_cast<std::size_t>(r_.positive(*failures.node, failures.path));
      if (!c.auth) r_.fail(*failures.node, failures.path, "has no effect without auth = true");
    }
    const AuthSetting plaintext = setting("allow_plaintext_auth", "allow_plaintext");
    if (!plaintext.node) return;
    c.allow_plaintext_auth = r_.boolean(*plaintext.node, plaintext.path);
    if (!c.allow_plaintext_auth) return;
    if (!c.auth) r_.fail(*plaintext.node, plaintext.path, "has no effect without auth = true");
    // Passwords in the clear are tolerable on a network the administrator controls, never from
    // anywhere: a connector open to the whole Internet must not take them.
    for (const net::Cidr& range : c.remote_ranges) {
      if (range.prefix_length() == 0)
        r_.fail(*plaintext.node, plaintext.path,
                fmt::format("passwords in plaintext are accepted only from known networks, and remote_ranges "
                            "includes {} (the whole Internet); list the devices' networks in remote_ranges",
                            range.str()));
    }
  }

 private:
  /// The node of a setting given as the connector's `flat` key or as the auth table's `nested`
  /// key; both at once is an error (which would win is not obvious to whoever reads the file).
  AuthSetting setting(std::string_view flat, std::string_view nested) const {
    const toml::node* flat_node = t_.get(flat);
    const toml::node* nested_node = table_ ? table_->get(nested) : nullptr;
    if (flat_node && nested_node)
      r_.fail(*nested_node, join(table_path_, nested),
              fmt::format("is also given as {} (line {}); give it once", join(path_, flat),
                          flat_node->source().begin.line));
    if (nested_node) return {nested_node, join(table_path_, nested)};
    return {flat_node, join(path_, flat)};
  }

  /// `mechanisms = ["plain", "login"]`: not empty, each known, none twice; EHLO keeps this order.
  std::vector<ReceiveAuthMechanism> mechanisms(const toml::node& node) const {
    const std::string list_path = join(table_path_, "mechanisms");
    const toml::array& items = r_.array(node, list_path);
    if (items.empty())
      r_.fail(node, list_path, "must name at least one mechanism; leave auth out (or auth = false) to offer none");
    std::vector<ReceiveAuthMechanism> out;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string item_path = fmt::format("{}[{}]", list_path, i);
      const ReceiveAuthMechanism m = r_.one_of(*items.get(i), item_path, kReceiveAuthMechanismNames);
      if (std::find(out.begin(), out.end(), m) != out.end())
        r_.fail(*items.get(i), item_path, fmt::format("\"{}\" is listed twice", receive_auth_mechanism_name(m)));
      out.push_back(m);
    }
    return out;
  }

  const TomlReader& r_;
  const toml::table& t_;
  const std::string& path_;
  const std::string table_path_;
  const toml::table* table_ = nullptr;
};

}  // namespace

void read_receive_auth(const TomlReader& r, const toml::table& t, const std::string& path, ReceiveConnector& c) {
  ReceiveAuthReader(r, t, path).read(c);
}

void check_receive_auth(const TomlReader& r, const toml::table& t, const std::string& path, const ReceiveConnector& c,
                        const std::filesystem::path& users_file) {
  if (c.auth && users_file.empty())
    r.fail(*t.get("auth"), join(path, "auth"),
           "SMTP AUTH needs the top-level users_file (the users who may authenticate; see `sluice user add`)");
}

}  // namespace detail
}  // namespace sluice::config
