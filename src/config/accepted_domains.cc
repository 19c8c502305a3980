// local_domains and [[accepted_domain]] (docs/configuration.md, "Accepted domains"), the check
// that every internal-relay domain has a send connector of its own, and the lookups.
#include "config/accepted_domains.h"

#include <fmt/core.h>

#include <algorithm>
#include <climits>

#include "base/text.h"
#include "config/config.h"
#include "config/toml_reader.h"

namespace sluice::config {
namespace {

using namespace detail;

constexpr std::string_view kAcceptedDomainKeys[] = {"domain", "type"};
constexpr Named<DomainType> kDomainTypeNames[] = {{DomainType::Authoritative, "authoritative"},
                                                  {DomainType::InternalRelay, "internal-relay"}};
constexpr std::string_view kPatternForms = "write \"example.org\", or \"*.example.org\" for it and its subdomains";

class AcceptedDomainReader {
 public:
  AcceptedDomainReader(const TomlReader& reader, std::vector<KeyPlace>& sources) : r_(reader), sources_(sources) {}

  /// Reads local_domains and [[accepted_domain]]; either one replaces the default ["localhost"].
  void read(const toml::table& root, Config& config) {
    const toml::node* local = root.get("local_domains");
    const toml::node* accepted = root.get("accepted_domain");
    if (!local && !accepted) return;
    config.accepted_domains.clear();
    if (local) read_local_domains(*local, config);
    if (accepted) read_accepted_domains(*accepted, config);
  }

 private:
  void read_local_domains(const toml::node& node, Config& config) {
    const toml::array& items = r_.array(node, "local_domains");
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string path = fmt::format("local_domains[{}]", i);
      const std::string domain = ascii_lower(r_.string(*items.get(i), path));
      if (auto checked = check_domain(domain); !checked) r_.fail(*items.get(i), path, checked.error().message);
      // Duplicates inside local_domains were always dropped; keep that.
      if (find_exact(config, domain) != nullptr) continue;
      add(config, {domain, DomainType::Authoritative}, {items.get(i), path});
    }
  }

  void read_accepted_domains(const toml::node& node, Config& config) {
    if (!node.is_array_of_tables() || node.as_array()->empty())
      r_.fail(node, "accepted_domain",
              fmt::format("expected an array of tables ([[accepted_domain]]), got {}{}", type_name(node.type()),
                          node.is_array() && node.as_array()->empty() ? " that is empty" : ""));
    const toml::array& items = *node.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const toml::table& t = *items.get(i)->as_table();
      const std::string path = fmt::format("accepted_domain[{}]", i);
      r_.check_keys(t, path, kAcceptedDomainKeys);
      const toml::node* domain_node = t.get("domain");
      if (!domain_node) r_.fail(t, path, "missing key 'domain' (e.g. domain = \"example.org\")");
      const std::string domain_path = join(path, "domain");
      const std::string pattern = ascii_lower(r_.string(*domain_node, domain_path));
      if (pattern == "*")
        r_.fail(*domain_node, domain_path,
                "\"*\" would accept mail for every domain from everyone (an open relay); list the organisation's "
                "domains, and give relay permission on a receive connector instead");
      if (auto checked = check_domain_pattern(pattern, "a domain pattern", kPatternForms); !checked)
        r_.fail(*domain_node, domain_path, checked.error().message);
      AcceptedDomain domain{pattern, DomainType::Authoritative};
      if (const toml::node* n = t.get("type")) {
        domain.type = r_.one_of(*n, join(path, "type"), kDomainTypeNames);
      }
      if (const AcceptedDomain* before = find_exact(config, pattern)) {
        const auto index = static_cast<std::size_t>(before - config.accepted_domains.data());
        r_.fail(*domain_node, domain_path,
                fmt::format("{} is already an accepted domain ({}); list each domain once", shown(pattern),
                            sources_[index].path));
      }
      add(config, std::move(domain), {domain_node, domain_path});
    }
  }

  static const AcceptedDomain* find_exact(const Config& config, std::string_view pattern) {
    for (const AcceptedDomain& d : config.accepted_domains)
      if (d.pattern == pattern) return &d;
    return nullptr;
  }

  void add(Config& config, AcceptedDomain domain, KeyPlace source) {
    config.accepted_domains.push_back(std::move(domain));
    sources_.push_back(std::move(source));
  }

  const TomlReader& r_;
  std::vector<KeyPlace>& sources_;  ///< one per config.accepted_domains entry
};

/// True when a send connector's address space other than "*" covers every domain of `pattern`:
/// for "*.d" that takes a "*.parent" space, since "d" alone leaves the subdomains to "*".
bool has_named_route(const Config& config, std::string_view pattern) {
  const bool wildcard = pattern.substr(0, 2) == "*.";
  const std::string_view domain = wildcard ? pattern.substr(2) : pattern;
  for (const SendConnector& connector : config.send_connectors) {
    for (const std::string& space : connector.address_spaces) {
      if (space == "*" || (wildcard && space.substr(0, 2) != "*.")) continue;
      if (domain_pattern_rank(space, domain) > 0) return true;
    }
  }
  return false;
}

}  // namespace

namespace detail {

std::vector<KeyPlace> read_accepted_domains(const TomlReader& reader, const toml::table& root, Config& config) {
  std::vector<KeyPlace> sources;
  AcceptedDomainReader(reader, sources).read(root, config);
  return sources;
}

void check_internal_relay_routes(const TomlReader& reader, const Config& config, const std::vector<KeyPlace>& sources) {
  for (std::size_t i = 0; i < config.accepted_domains.size() && i < sources.size(); ++i) {
    const AcceptedDomain& domain = config.accepted_domains[i];
    if (domain.type != DomainType::InternalRelay || has_named_route(config, domain.pattern)) continue;
    const SendConnector* catch_all = select_send_connector(config, "*");
    const std::string why =
        catch_all ? fmt::format(
                        "only the catch-all \"*\" of send connector {} covers it, which would send it by MX "
                        "lookup or to that connector's smart hosts, usually back to this gateway or out to "
                        "the Internet",
                        shown(catch_all->name))
                  : std::string("no send connector serves it, so its mail could go nowhere");
    reader.fail(*sources[i].at, sources[i].path,
                fmt::format("internal-relay domain {} has no send connector of its own ({}); add it to the "
                            "address_spaces of the send connector whose smart_hosts are the internal mail server, "
                            "e.g. address_spaces = [{}]",
                            shown(domain.pattern), why, shown(domain.pattern)));
  }
}

}  // namespace detail

std::string_view domain_type_name(DomainType type) { return name_of(kDomainTypeNames, type).value_or("unknown"); }

int domain_pattern_rank(std::string_view pattern, std::string_view domain) {
  if (pattern == "*") return 0;
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    const std::string_view suffix = pattern.substr(2);
    if (domain == suffix) return 1 + static_cast<int>(suffix.size());
    if (domain.size() > suffix.size() && domain.substr(domain.size() - suffix.size()) == suffix &&
        domain[domain.size() - suffix.size() - 1] == '.')
      return 1 + static_cast<int>(suffix.size());
    return -1;
  }
  return pattern == domain ? INT_MAX : -1;
}

const AcceptedDomain* find_accepted_domain(const Config& config, std::string_view domain_key) {
  if (domain_key.empty() || domain_key.front() == '[') return nullptr;
  const AcceptedDomain* best = nullptr;
  int best_rank = 0;  // "*" (rank 0) is refused by the parser; never let it match
  for (const AcceptedDomain& domain : config.accepted_domains) {
    if (const int rank = domain_pattern_rank(domain.pattern, domain_key); rank > best_rank) {
      best_rank = rank;
      best = &domain;
    }
  }
  return best;
}

bool is_local_domain(const Config& config, std::string_view domain_key) {
  const AcceptedDomain* domain = find_accepted_domain(config, domain_key);
  return domain != nullptr && domain->type == DomainType::Authoritative;
}

std::string primary_domain(const Config& config) {
  for (const AcceptedDomain& domain : config.accepted_domains) {
    if (domain.type != DomainType::Authoritative) continue;
    const std::string_view pattern = domain.pattern;
    return std::string(pattern.substr(0, 2) == "*." ? pattern.substr(2) : pattern);
  }
  return {};
}

}  // namespace sluice::config
