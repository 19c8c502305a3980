// The configurations of the demo's second act, "the printer": "relay", the sluice that devices
// submit to (a legacy TLS connector with AUTH and sender rewriting, XOAUTH2 to Exchange Online);
// "Exchange Online for applications", Dovecot submission wanting TLS 1.2 and an OAuth token; and
// "exo-mailbox", the sluice that plays the mailboxes behind it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace sluice::demo {

namespace fs = std::filesystem;

/// The loopback ports of the second act (the two HTTP endpoints pick their own).
struct PrinterPorts {
  std::uint16_t devices = 0;     ///< relay's receive connector for devices
  std::uint16_t submission = 0;  ///< Dovecot: smtp.office365.com:587's stand-in
  std::uint16_t mailbox = 0;     ///< exo-mailbox, where Dovecot relays to
};

/// The app registration relay uses, as its [send_connector.auth] names it.
struct OAuthClient {
  std::string token_endpoint;
  std::string client_id;
  fs::path client_secret_file;
  fs::path ca_file;
  std::string mailbox;  ///< the mailbox the app sends as
};

/// Who runs Dovecot: root (its login processes then change to dovenull, submission to dovecot), or
/// an ordinary user, every process of it then that user.
struct DovecotUser {
  bool root = true;
  std::string name, group;  ///< when not root
  unsigned uid = 0, gid = 0;
};

/// relay's sluice.toml.
std::string relay_config(const fs::path& state, const fs::path& users_file, const PrinterPorts& ports,
                         const OAuthClient& client);
/// exo-mailbox's sluice.toml: authoritative for contoso.test.
std::string exo_mailbox_config(const fs::path& state, const PrinterPorts& ports);
/// Dovecot's configuration, everything under `dir` (base_dir, state, log, mail), its certificate
/// `certificate`/`key`, its oauth2 passdb settings in `oauth2_file`.
std::string dovecot_config(const fs::path& dir, const fs::path& certificate, const fs::path& key,
                           const fs::path& oauth2_file, const PrinterPorts& ports, const DovecotUser& user);
/// The oauth2 passdb's settings: every token POSTed to `introspection_url` (RFC 7662).
std::string dovecot_oauth2_config(const std::string& introspection_url);

}  // namespace sluice::demo
