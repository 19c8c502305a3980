// DNS for unit tests: answers from tables the test fills; a name missing from them is a temporary
// failure (SERVFAIL), as a resolver that cannot answer would give.
#pragma once
#include <map>
#include <string>

#include "net/dns.h"

namespace sluice::net {

struct TableLookups : MailLookups {
  std::map<std::string, DnsAnswer> mx_answers, address_answers;
  DnsAnswer mx(const std::string& domain) const override { return find(mx_answers, domain); }
  DnsAnswer addresses(const std::string& host) const override { return find(address_answers, host); }
  std::map<std::string, DnsRecords> txt_answers, tlsa_answers;
  DnsRecords txt(const std::string& name) const override { return find(txt_answers, name); }
  DnsRecords tlsa(const std::string& name) const override { return find(tlsa_answers, name); }
  /// The entry for `name`; a missing one is TempFail (the default status of both answer types).
  template <typename Answer>
  static Answer find(const std::map<std::string, Answer>& table, const std::string& name) {
    auto it = table.find(name);
    if (it != table.end()) return it->second;
    Answer a;
    a.error = "SERVFAIL for " + name;
    return a;
  }
};

}  // namespace sluice::net
