// [recipient_validation] (docs/configuration.md) and the recipients file's syntax.
#include "config/recipient_validation.h"

#include <fmt/core.h>

#include <algorithm>

#include "base/text.h"
#include "config/accepted_domains.h"
#include "config/config.h"
#include "config/toml_reader.h"
#include "smtp/address.h"

namespace sluice::config {
namespace {

using namespace detail;

constexpr std::string_view kRecipientValidationKeys[] = {"verify",
                                                         "recipients_file",
                                                         "domains",
                                                         "callout_timeout",
                                                         "callout_positive_lifetime",
                                                         "callout_negative_lifetime",
                                                         "callout_cache_size"};

constexpr Named<RecipientCheck> kCheckNames[] = {
    {RecipientCheck::None, "none"}, {RecipientCheck::File, "file"}, {RecipientCheck::Callout, "callout"}};

/// One line of a recipients file with its comment and surrounding white space taken off. A "#"
/// starts a comment only at the start or after white space: it is a valid local-part character.
std::string_view recipient_line_content(std::string_view line) {
  for (std::size_t i = 0; i < line.size(); ++i)
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      line = line.substr(0, i);
      break;
    }
  const auto first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = line.find_last_not_of(" \t\r");
  return line.substr(first, last - first + 1);
}

}  // namespace

std::string_view recipient_check_name(RecipientCheck check) { return name_of(kCheckNames, check).value_or("none"); }

Result<RecipientList> parse_recipient_list(std::string_view text, std::string_view source) {
  RecipientList list;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    const std::string_view raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const std::string_view entry = recipient_line_content(raw);
    if (entry.empty()) continue;
    auto bad = [&](std::string_view why) {
      return fail(fmt::format("{}: line {}: {}: {} (one address or @domain per line; # starts a comment)", source,
                              number, shown(entry), why));
    };
    if (entry.find_first_of(" \t") != std::string_view::npos) return bad("more than one word");
    if (entry.front() == '@') {
      const std::string domain = ascii_lower(entry.substr(1));
      if (auto checked = check_domain(domain); !checked) return bad(checked.error().message);
      list.whole_domains.insert(domain);
      list.domains.insert(domain);
      continue;
    }
    if (entry.find('@') == std::string_view::npos) return bad("not an address (write user@domain, or @domain)");
    auto mailbox = smtp::parse_mailbox(entry, /*allow_utf8=*/true);
    if (!mailbox) return bad(mailbox.error().message);
    if (mailbox->domain_is_literal()) return bad("an address literal is never an accepted domain");
    list.addresses.insert(ascii_lower(mailbox->str()));
    list.domains.insert(mailbox->domain_key());
  }
  return list;
}

Result<RecipientList> load_recipient_list(const std::filesystem::path& path) {
  auto text = detail::read_config_file(path);
  if (!text) return fail(text.error());
  return parse_recipient_list(*text, path.string());
}

namespace detail {

void read_recipient_validation(const TomlReader& reader, const toml::table& root, Config& config) {
  const toml::node* section = root.get("recipient_validation");
  if (!section) return;
  const std::string path = "recipient_validation";
  const toml::table& t = reader.table(*section, path);
  reader.check_keys(t, path, kRecipientValidationKeys);
  RecipientValidation& rv = config.recipient_validation;
  auto check_of = [&](const toml::node& node, const std::string& key_path) {
    return reader.one_of(node, key_path, kCheckNames);
  };
  const toml::node* file = t.get("recipients_file");
  if (file) rv.recipients_file = reader.non_empty_string(*file, join(path, "recipients_file"));
  // Giving the file means using it, unless verify says otherwise.
  rv.verify = file ? RecipientCheck::File : RecipientCheck::None;
  const toml::node* verify = t.get("verify");
  if (verify) rv.verify = check_of(*verify, join(path, "verify"));
  if (rv.verify == RecipientCheck::File && !file)
    reader.fail(*verify, join(path, "verify"), "\"file\" needs recipients_file (the list of valid recipients)");

  if (const toml::node* n = t.get("domains")) {
    const std::string domains_path = join(path, "domains");
    for (const auto& [key, value] : reader.table(*n, domains_path)) {
      const std::string pattern = ascii_lower(key.str());
      const std::string key_path = join(domains_path, fmt::format("\"{}\"", key.str()));
      const RecipientCheck check = check_of(value, key_path);
      if (auto checked = check_domain_pattern(pattern, "a domain", "write \"example.org\" or \"*.example.org\"");
          !checked)
        reader.fail(value, key_path, checked.error().message);
      // "*.example.org" covers example.org itself: that name tells the accepted domain.
      const std::string_view domain = pattern.rfind("*.", 0) == 0 ? std::string_view(pattern).substr(2) : pattern;
      const AcceptedDomain* accepted = find_accepted_domain(config, domain);
      if (!accepted)
        reader.fail(value, key_path,
                    fmt::format("{} is not an accepted domain (recipients are validated only for accepted domains)",
                                shown(pattern)));
      if (check == RecipientCheck::File && !file)
        reader.fail(value, key_path, "\"file\" needs recipients_file (the list of valid recipients)");
      if (check == RecipientCheck::Callout && accepted->type != DomainType::InternalRelay)
        reader.fail(value, key_path,
                    fmt::format("\"callout\" asks the next hop of an internal-relay domain; {} is authoritative "
                                "(delivered here: use \"file\")",
                                shown(pattern)));
      rv.domains.emplace_back(pattern, check);
    }
  }
  if (const toml::node* n = t.get("callout_timeout"))
    rv.callout_timeout = reader.duration(*n, join(path, "callout_timeout"));
  if (const toml::node* n = t.get("callout_positive_lifetime"))
    rv.callout_positive_lifetime = reader.duration(*n, join(path, "callout_positive_lifetime"), true);
  if (const toml::node* n = t.get("callout_negative_lifetime"))
    rv.callout_negative_lifetime = reader.duration(*n, join(path, "callout_negative_lifetime"), true);
  if (const toml::node* n = t.get("callout_cache_size"))
    rv.callout_cache_size = static_cast<std::size_t>(reader.positive(*n, join(path, "callout_cache_size")));
}

}  // namespace detail

RecipientCheck recipient_check_for(const Config& config, std::string_view domain_key) {
  const AcceptedDomain* accepted = find_accepted_domain(config, domain_key);
  if (!accepted) return RecipientCheck::None;
  const RecipientValidation& rv = config.recipient_validation;
  // The most specific entry of `domains`, as for accepted domains and address spaces.
  const std::pair<std::string, RecipientCheck>* chosen = nullptr;
  int best = -1;
  for (const auto& entry : rv.domains) {
    const int rank = domain_pattern_rank(entry.first, domain_key);
    if (rank > best) {
      best = rank;
      chosen = &entry;
    }
  }
  if (chosen) return chosen->second;
  if (rv.verify != RecipientCheck::Callout) return rv.verify;
  if (accepted->type == DomainType::InternalRelay) return RecipientCheck::Callout;
  return rv.recipients_file.empty() ? RecipientCheck::None : RecipientCheck::File;
}

}  // namespace sluice::config
