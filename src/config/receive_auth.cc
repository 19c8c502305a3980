// SMTP AUTH on a [[receive_connector]]: auth, allow_plaintext_auth, max_auth_failures
// (docs/configuration.md, docs/relay-for-devices.md).
#include <fmt/core.h>

#include <algorithm>

#include "config/config.h"
#include "config/toml_reader.h"

namespace sluice::config::detail {

void read_receive_auth(const TomlReader& r, const toml::table& t, const std::string& path, ReceiveConnector& c) {
  if (const toml::node* n = t.get("auth")) c.auth = r.boolean(*n, join(path, "auth"));
  if (const toml::node* n = t.get("max_auth_failures")) {
    c.max_auth_failures = static_cast<std::size_t>(r.positive(*n, join(path, "max_auth_failures")));
    if (!c.auth) r.fail(*n, join(path, "max_auth_failures"), "has no effect without auth = true");
  }
  const toml::node* plaintext = t.get("allow_plaintext_auth");
  if (!plaintext) return;
  const std::string plaintext_path = join(path, "allow_plaintext_auth");
  c.allow_plaintext_auth = r.boolean(*plaintext, plaintext_path);
  if (!c.allow_plaintext_auth) return;
  if (!c.auth) r.fail(*plaintext, plaintext_path, "has no effect without auth = true");
  // Passwords in the clear are tolerable on a network the administrator controls, never from
  // anywhere: a connector open to the whole Internet must not take them.
  for (const net::Cidr& range : c.remote_ranges) {
    if (range.prefix_length() == 0)
      r.fail(*plaintext, plaintext_path,
             fmt::format("passwords in plaintext are accepted only from known networks, and remote_ranges "
                         "includes {} (the whole Internet); list the devices' networks in remote_ranges",
                         range.str()));
  }
}

void check_receive_auth(const TomlReader& r, const toml::table& t, const std::string& path, const ReceiveConnector& c,
                        const std::filesystem::path& users_file) {
  if (c.auth && users_file.empty())
    r.fail(*t.get("auth"), join(path, "auth"),
           "auth = true needs the top-level users_file (the users who may authenticate; see `sluice user add`)");
}

}  // namespace sluice::config::detail
