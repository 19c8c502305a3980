#include "demo/printer_configs.h"

#include <fmt/format.h>

#include "demo/toml_string.h"

namespace sluice::demo {

std::string relay_config(const fs::path& state, const fs::path& users_file, const PrinterPorts& ports,
                         const OAuthClient& client) {
  return fmt::format(
      R"TOML(# "relay": sluice in front of Exchange Online for the office's printers and applications.
state_dir = {state}
hostname = "relay.contoso.test"
users_file = {users}                 # SMTP AUTH users: sluice user add|passwd|remove|list

[[receive_connector]]
name = "Devices"
listen = ["127.0.0.1:{devices}"]
remote_ranges = ["127.0.0.1"]        # the printers' network
auth = true                          # AUTH PLAIN and LOGIN, after STARTTLS
relay = "authenticated"              # users may relay (per their entry)
rewrite_senders = {{ "*@printer.local" = "scanner@contoso.test" }}
[receive_connector.tls]
profile = "legacy"                   # the printer's TLS stack stops at TLS 1.0
min_version = "1.0"

[[send_connector]]
name = "Exchange Online (OAuth)"
address_spaces = ["*"]
smart_hosts = ["[127.0.0.1]:{submission}"]  # smtp.office365.com:587 in real life
tls = "required"
[send_connector.tls_policy]
profile = "exchange-online"          # TLS 1.2 and 1.3
[send_connector.auth]
mechanism = "xoauth2"                # OAuth 2.0 client credentials, then AUTH XOAUTH2
token_endpoint = {endpoint}  # default: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token
client_id = {client_id}
client_secret_file = {secret}
scope = "https://outlook.office365.com/.default"
username = {mailbox}        # the mailbox the app sends as
ca_file = {ca_file}  # the demo's own CA; real life: the system store
)TOML",
      fmt::arg("state", toml_string(state.string())), fmt::arg("users", toml_string(users_file.string())),
      fmt::arg("devices", ports.devices), fmt::arg("submission", ports.submission),
      fmt::arg("endpoint", toml_string(client.token_endpoint)), fmt::arg("client_id", toml_string(client.client_id)),
      fmt::arg("secret", toml_string(client.client_secret_file.string())),
      fmt::arg("mailbox", toml_string(client.mailbox)), fmt::arg("ca_file", toml_string(client.ca_file.string())));
}

std::string exo_mailbox_config(const fs::path& state, const PrinterPorts& ports) {
  return fmt::format(
      R"TOML(# "exo-mailbox" plays the mailboxes of contoso.test in Exchange Online.
state_dir = {state}
hostname = "mailbox.contoso.test"
local_domains = ["contoso.test"]

[[receive_connector]]
name = "Mailboxes"
listen = ["127.0.0.1:{port}"]
accepted_domain_senders = "anyone"   # the SMTP AUTH endpoint hands over contoso.test's own mail
)TOML",
      fmt::arg("state", toml_string(state.string())), fmt::arg("port", ports.mailbox));
}

std::string dovecot_config(const fs::path& dir, const fs::path& certificate, const fs::path& key,
                           const fs::path& oauth2_file, const PrinterPorts& ports, const DovecotUser& user) {
  // Observed with Debian 12's Dovecot 2.3.19: as root, the master runs as root, login processes as
  // dovenull and submission as dovecot, so `dir` must be traversable by them; submission wants a
  // mail_location although it stores nothing, and first_valid_uid must admit dovecot's uid. As
  // an ordinary user, every process runs as that user and none can chroot.
  std::string users = user.root ? "first_valid_uid = 1\n"
                                : fmt::format(
                                      "default_login_user = {0}\ndefault_internal_user = {0}\n"
                                      "default_internal_group = {1}\nfirst_valid_uid = {2}\n",
                                      user.name, user.group, user.uid);
  std::string userdb = user.root ? "uid=dovecot gid=dovecot" : fmt::format("uid={} gid={}", user.uid, user.gid);
  std::string no_chroot = user.root ? "" : "service anvil {\n  chroot =\n}\n";
  std::string login_chroot = user.root ? "" : "  chroot =\n";
  return fmt::format(
      R"(# Dovecot submission as Exchange Online's SMTP AUTH endpoint: TLS 1.2+, OAuth 2.0 tokens only.
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = submission
listen = 127.0.0.1
hostname = smtp.office365.test
ssl = required
ssl_min_protocol = TLSv1.2
ssl_cert = <{cert}
ssl_key = <{key}
{users}mail_location = maildir:{dir}/mail/%u
auth_mechanisms = xoauth2 oauthbearer
disable_plaintext_auth = yes
auth_verbose = yes
submission_relay_host = 127.0.0.1
submission_relay_port = {mailbox}
submission_relay_ssl = no
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {oauth2}
}}
userdb {{
  driver = static
  args = {userdb} home={dir}/mail/%u
}}
{no_chroot}service submission-login {{
{login_chroot}  inet_listener submission {{
    address = 127.0.0.1
    port = {port}
  }}
}}
)",
      fmt::arg("dir", dir.string()), fmt::arg("cert", certificate.string()), fmt::arg("key", key.string()),
      fmt::arg("oauth2", oauth2_file.string()), fmt::arg("mailbox", ports.mailbox), fmt::arg("port", ports.submission),
      fmt::arg("users", users), fmt::arg("userdb", userdb), fmt::arg("no_chroot", no_chroot),
      fmt::arg("login_chroot", login_chroot));
}

std::string dovecot_oauth2_config(const std::string& introspection_url) {
  return fmt::format(
      "introspection_mode = post\n"
      "introspection_url = {}\n"
      "username_attribute = username\n"
      "active_attribute = active\n"
      "active_value = true\n"
      "tokeninfo_url = \n",
      introspection_url);
}

}  // namespace sluice::demo
