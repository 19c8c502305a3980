// The client-certificate settings of a [[receive_connector]] (docs/configuration.md):
// require_client_certificate, client_certificate_names, client_ca_file.
#include "config/toml_reader.h"

#include <fmt/core.h>

#include <algorithm>

#include "base/text.h"
#include "config/config.h"

namespace sluice::config::detail {

void read_client_certificate_settings(const TomlReader& r, const toml::table& t, const std::string& path,
                                      ReceiveConnector& c) {
  const toml::node* require = t.get("require_client_certificate");
  if (require) c.require_client_certificate = r.boolean(*require, join(path, "require_client_certificate"));
  if (!c.require_client_certificate) {
    for (std::string_view key : {"client_certificate_names", "client_ca_file"}) {
      if (const toml::node* n = t.get(key))
        r.fail(*n, join(path, key), "is used only with require_client_certificate = true");
    }
    return;
  }
  const std::string require_path = join(path, "require_client_certificate");
  // The certificate travels in the TLS handshake: without STARTTLS there is none to check.
  if (!c.starttls) r.fail(*require, require_path, "needs starttls = true (the certificate comes with STARTTLS)");
  if (const toml::node* n = t.get("require_tls"); n && !c.require_tls)
    r.fail(*n, join(path, "require_tls"),
           "require_tls = false contradicts require_client_certificate = true (which needs TLS); leave it out");
  c.require_tls = true;

  const toml::node* ca = t.get("client_ca_file");
  if (!ca)
    r.fail(*require, require_path,
           "needs client_ca_file, the PEM file of the CAs client certificates must chain to "
           "(for Exchange Online: the public roots its certificate chains to)");
  const std::string ca_path = join(path, "client_ca_file");
  const std::string ca_file = r.non_empty_string(*ca, ca_path);
  r.check_readable_file(*ca, ca_path, ca_file, "a PEM file of CA certificates");
  c.client_ca_file = ca_file;

  const toml::node* names = t.get("client_certificate_names");
  if (!names)
    r.fail(*require, require_path,
           "needs client_certificate_names, the names a client certificate may carry (e.g. "
           "[\"mail.protection.outlook.com\", \"*.partner.example\"])");
  const std::string names_path = join(path, "client_certificate_names");
  const toml::array& items = r.array(*names, names_path);
  if (items.empty())
    r.fail(*names, names_path, "an empty list accepts no certificate; name at least one (e.g. \"*.partner.example\")");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string item_path = fmt::format("{}[{}]", names_path, i);
    std::string name = ascii_lower(r.string(*items.get(i), item_path));
    if (auto checked = check_domain_pattern(name, "a certificate name",
                                            "write \"mail.example.org\" or \"*.example.org\" (a wildcard is "
                                            "only the whole leftmost label)");
        !checked)
      r.fail(*items.get(i), item_path, checked.error().message);
    if (std::find(c.client_certificate_names.begin(), c.client_certificate_names.end(), name) ==
        c.client_certificate_names.end())
      c.client_certificate_names.push_back(std::move(name));
  }
}

}  // namespace sluice::config::detail
