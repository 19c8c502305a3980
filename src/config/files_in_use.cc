#include "config/files_in_use.h"

#include <fmt/format.h>

namespace sluice::config {
namespace {

void add(std::vector<FileInUse>& files, std::string setting, const std::filesystem::path& path) {
  if (!path.empty()) files.push_back({std::move(setting), path});
}

}  // namespace

std::vector<FileInUse> files_in_use(const Config& config, const std::filesystem::path& config_file) {
  std::vector<FileInUse> files;
  add(files, "the configuration file", config_file);
  add(files, "users_file", config.users_file);
  add(files, "recipient_validation.recipients_file", config.recipient_validation.recipients_file);
  add(files, "mta_sts.ca_file", config.mta_sts.ca_file);
  if (config.tls_reporting.enabled) {
    add(files, "tls_reporting.ca_file", config.tls_reporting.ca_file);
    add(files, "tls_reporting.dkim_key", config.tls_reporting.dkim_key);
  }
  for (const auto& c : config.receive_connectors) {
    const std::string where = fmt::format("receive_connector \"{}\": ", c.name);
    add(files, where + "tls.certificate", c.tls.certificate);
    add(files, where + "tls.key", c.tls.key);
    if (c.require_client_certificate) add(files, where + "client_ca_file", c.client_ca_file);
  }
  for (const auto& c : config.send_connectors) {
    const std::string where = fmt::format("send_connector \"{}\": ", c.name);
    if (c.tls != OutboundTls::None) {
      add(files, where + "ca_file", c.ca_file);
      add(files, where + "tls_policy.certificate", c.tls_policy.certificate);
      add(files, where + "tls_policy.key", c.tls_policy.key);
    }
    add(files, where + "auth.password_file", c.auth.password_file);
    add(files, where + "auth.client_secret_file", c.auth.client_secret_file);
    add(files, where + "auth.client_certificate", c.auth.client_certificate);
    add(files, where + "auth.client_key", c.auth.client_key);
    add(files, where + "auth.ca_file", c.auth.ca_file);
  }
  return files;
}

}  // namespace sluice::config
