// [tls_reporting]: the TLS-RPT reports (RFC 8460) this gateway sends about its outbound sessions
// (docs/outbound.md, "TLS-RPT"). Off by default: reports name our sending IP addresses and
// peers to whoever a destination's DNS says, which an administrator should decide to allow.
#include "config/toml_reader.h"  // first: what this file implements (fuzz/run.sh finds it so)

#include <fmt/format.h>

#include "base/secret_file.h"
#include "base/unit_duration.h"
#include "smtp/address.h"
#include "smtp/dkim_sign.h"

namespace sluice::config::detail {
namespace {

constexpr std::string_view kTlsReportingKeys[] = {"enabled",       "organization", "contact", "submitter",
                                                  "from",          "interval",     "ca_file", "dkim_key",
                                                  "dkim_selector", "dkim_domain"};
// Shorter periods are for tests; a report a second to every domain would be abuse of the others.
constexpr std::int64_t kMaxIntervalSeconds = 7 * 86400;

Seconds read_interval(const TomlReader& r, const toml::node& node) {
  static constexpr DurationUnit kUnits[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
  const std::string text = r.string(node, "tls_reporting.interval");
  const auto seconds = parse_unit_duration(text, kUnits);
  if (!seconds) r.fail(node, "tls_reporting.interval", fmt::format("{} is not a duration such as \"1d\"", shown(text)));
  if (*seconds <= 0 || *seconds > kMaxIntervalSeconds)
    r.fail(node, "tls_reporting.interval", "must be greater than 0 and at most 7d");
  return Seconds(*seconds);
}

/// dkim_key and dkim_selector together (dkim_domain only with them): a key without its selector
/// signs mail nobody can verify. The key is loaded here, so a bad one stops the start, not a report.
void read_tls_reporting_dkim(const TomlReader& r, const toml::table& t, TlsReporting& out) {
  const toml::node* key = t.get("dkim_key");
  const toml::node* selector = t.get("dkim_selector");
  const toml::node* domain = t.get("dkim_domain");
  if (!key && !selector && !domain) return;
  if (!key || !selector)
    r.fail(t, "tls_reporting",
           "dkim_key and dkim_selector go together (and dkim_domain only with them): give both or none");
  const std::string file = r.non_empty_string(*key, "tls_reporting.dkim_key");
  out.dkim_selector = r.non_empty_string(*selector, "tls_reporting.dkim_selector");
  out.dkim_domain = out.from.substr(out.from.rfind('@') + 1);
  if (domain) {
    out.dkim_domain = r.non_empty_string(*domain, "tls_reporting.dkim_domain");
    if (auto checked = check_hostname(out.dkim_domain); !checked)
      r.fail(*domain, "tls_reporting.dkim_domain", checked.error().message);
  }
  if (auto checked = check_hostname(out.dkim_selector); !checked)
    r.fail(*selector, "tls_reporting.dkim_selector", checked.error().message);
  r.check_readable_file(*key, "tls_reporting.dkim_key", file, "a PEM file with the RSA private key");
  if (auto checked = check_private_file(file); !checked)
    r.fail(*key, "tls_reporting.dkim_key", fmt::format("{} {}", shown(file), checked.error().message));
  if (auto loaded = smtp::DkimSigner::load(file, out.dkim_domain, out.dkim_selector); !loaded)
    r.fail(*key, "tls_reporting.dkim_key", loaded.error().message);
  out.dkim_key = file;
}

}  // namespace

void read_tls_reporting(const TomlReader& r, const toml::table& root, Config& config) {
  TlsReporting& out = config.tls_reporting;
  // Defaults from the hostname (read before this section), so a bare `enabled = true` works.
  out.submitter = out.organization = config.hostname;
  out.contact = "postmaster@" + config.hostname;
  out.from = "tlsrpt-noreply@" + config.hostname;
  const toml::node* node = root.get("tls_reporting");
  if (!node) return;
  const toml::table& t = r.table(*node, "tls_reporting");
  r.check_keys(t, "tls_reporting", kTlsReportingKeys);
  if (const toml::node* n = t.get("enabled")) out.enabled = r.boolean(*n, "tls_reporting.enabled");
  const std::pair<std::string_view, std::string TlsReporting::*> texts[] = {
      {"organization", &TlsReporting::organization},
      {"contact", &TlsReporting::contact},
      {"submitter", &TlsReporting::submitter},
      {"from", &TlsReporting::from}};
  for (const auto& [key, field] : texts)
    if (const toml::node* n = t.get(key)) out.*field = r.non_empty_string(*n, join("tls_reporting", key));
  if (const toml::node* n = t.get("submitter"))
    if (auto checked = check_hostname(out.submitter); !checked)
      r.fail(*n, "tls_reporting.submitter", checked.error().message);
  if (const toml::node* n = t.get("from"))
    if (auto mailbox = smtp::parse_mailbox(out.from, false); !mailbox || mailbox->domain.empty())
      r.fail(*n, "tls_reporting.from",
             fmt::format("{} is not an address local@domain{}", shown(out.from),
                         mailbox ? "" : " (" + mailbox.error().message + ")"));
  if (const toml::node* n = t.get("interval")) out.interval = read_interval(r, *n);
  if (const toml::node* n = t.get("ca_file")) out.ca_file = r.non_empty_string(*n, "tls_reporting.ca_file");
  read_tls_reporting_dkim(r, t, out);
}

}  // namespace sluice::config::detail
