// A receive connector's rewrite_senders table (docs/configuration.md): which device senders become
// which addresses, first match in file order.
#include "config/toml_reader.h"

#include <fmt/core.h>

#include <algorithm>
#include <tuple>

#include "auth/sender_pattern.h"
#include "base/text.h"
#include "smtp/address.h"

namespace sluice::config::detail {
namespace {

constexpr std::string_view kEntryForm =
    "write \"root@localhost\" = \"alerts@contoso.com\" or \"*@printer.local\" = \"scanner@contoso.com\"";

/// A pattern is one address, or "*@domain" for every address of that domain.
Result<void> check_sender_pattern(std::string_view pattern) {
  if (pattern.starts_with("*@")) {
    if (auto domain = check_domain(pattern.substr(2)); !domain)
      return fail(fmt::format("{}: the domain {}", shown(pattern), domain.error().message));
    return {};
  }
  if (pattern.find('*') != std::string_view::npos)
    return fail(
        fmt::format("{} is not a pattern sluice knows: only a whole domain (\"*@domain\") or one address "
                    "(\"user@domain\") can be matched",
                    shown(pattern)));
  auto mailbox = smtp::parse_mailbox(pattern, true);
  if (!mailbox || mailbox->str() != pattern)
    return fail(fmt::format("{} is not an address ({}); {}", shown(pattern),
                            mailbox ? std::string("a source route is not an address") : mailbox.error().message,
                            kEntryForm));
  return {};
}

/// A replacement is one ASCII address: it goes into MAIL FROM and From: of messages that need
/// not be SMTPUTF8.
Result<void> check_replacement(std::string_view replacement) {
  auto mailbox = smtp::parse_mailbox(replacement, false);
  if (!mailbox || mailbox->str() != replacement || replacement.find('*') != std::string_view::npos)
    return fail(fmt::format(
        "{} is not one ASCII address to send as ({}), e.g. \"scanner@contoso.com\"", shown(replacement),
        !mailbox
            ? mailbox.error().message
            : std::string(replacement.find('*') != std::string_view::npos ? "a replacement is an address, not a pattern"
                                                                          : "a source route is not an address")));
  return {};
}

}  // namespace

std::vector<auth::SenderRewrite> read_sender_rewrites(const TomlReader& r, const toml::node& node,
                                                      const std::string& path) {
  const toml::table& t = r.table(node, path);
  if (t.empty()) r.fail(node, path, "an empty table rewrites nothing; leave the key out instead");
  // toml++ keeps a table's keys sorted; the first match must be the first written.
  struct Entry {
    const toml::key* key;
    const toml::node* value;
  };
  std::vector<Entry> entries;
  for (const auto& [key, value] : t) entries.push_back({&key, &value});
  auto place = [](const Entry& e) { return std::tuple(e.key->source().begin.line, e.key->source().begin.column); };
  std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) { return place(a) < place(b); });

  std::vector<auth::SenderRewrite> rewrites;
  for (const Entry& e : entries) {
    const std::string pattern(e.key->str());
    const std::string entry_path = fmt::format("{}.{}", path, shown(pattern));
    if (!e.value->is_string())
      r.fail(*e.value, entry_path,
             fmt::format("expected an address in quotes, got {}; {} (patterns in quotes too)",
                         type_name(e.value->type()), kEntryForm));
    if (auto ok = check_sender_pattern(pattern); !ok) r.fail(*e.value, entry_path, ok.error().message);
    const std::string replacement = r.string(*e.value, entry_path);
    if (auto ok = check_replacement(replacement); !ok) r.fail(*e.value, entry_path, ok.error().message);
    // An entry that an earlier one always wins over would never apply: say so rather than ignore it.
    for (const auth::SenderRewrite& earlier : rewrites) {
      const bool shadowed = pattern.starts_with("*@") ? ascii_lower(earlier.pattern) == ascii_lower(pattern)
                                                      : auth::sender_pattern_matches(earlier.pattern, pattern);
      if (shadowed)
        r.fail(*e.value, entry_path,
               fmt::format("never applies: the entry {} above matches every address this one does (the first "
                           "match wins); remove one, or put the more specific one first",
                           shown(earlier.pattern)));
    }
    rewrites.push_back({pattern, replacement});
  }
  return rewrites;
}

}  // namespace sluice::config::detail
