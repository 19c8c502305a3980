#include "tlsrpt/summary.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace sluice::tlsrpt {

std::vector<DomainSummary> summarize(const std::vector<Report>& reports) {
  std::map<std::pair<std::string, std::string>, DomainSummary> by_key;
  for (const auto& report : reports) {
    std::set<std::string> counted;  // a report counts once per domain, however many policies it has
    for (const auto& p : report.policies) {
      auto [it, added] = by_key.try_emplace({report.organization_name, p.policy.domain});
      DomainSummary& s = it->second;
      if (added) {
        s.organization = report.organization_name;
        s.policy_domain = p.policy.domain;
        s.first = report.start;
        s.last = report.end;
      }
      if (counted.insert(p.policy.domain).second) ++s.reports;
      s.first = std::min(s.first, report.start);
      s.last = std::max(s.last, report.end);
      s.policy_types.insert(p.policy.type);
      s.successful += p.successful;
      s.failed += p.failed;
      for (const auto& f : p.failures) {
        s.failures_by_type[f.result_type] += f.failed_session_count;
        const std::string& mx = f.receiving_mx_hostname.empty() ? f.receiving_ip : f.receiving_mx_hostname;
        s.failures_by_mx[mx.empty() ? "(not given)" : mx] += f.failed_session_count;
      }
    }
  }
  std::vector<DomainSummary> out;
  for (auto& [key, s] : by_key) out.push_back(std::move(s));
  return out;
}

namespace {

std::string counts_text(const std::map<std::string, std::uint64_t>& counts) {
  std::string out;
  for (const auto& [name, n] : counts) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, n);
  return out;
}

}  // namespace

std::string summary_text(const std::vector<DomainSummary>& summaries) {
  std::string out;
  for (const auto& s : summaries) {
    out += fmt::format("{} about {}: {} report(s), {} to {}\n", s.organization, s.policy_domain, s.reports,
                       rfc3339(s.first), rfc3339(s.last));
    out += fmt::format("  policies: {}\n", fmt::join(s.policy_types, ", "));
    out += fmt::format("  sessions: {} successful, {} failed\n", s.successful, s.failed);
    if (!s.failures_by_type.empty()) {
      out += fmt::format("  failures: {}\n", counts_text(s.failures_by_type));
      out += fmt::format("  failing MX: {}\n", counts_text(s.failures_by_mx));
    }
  }
  return out;
}

nlohmann::json summary_json(const std::vector<DomainSummary>& summaries) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : summaries)
    out.push_back({{"organization", s.organization},
                   {"policy_domain", s.policy_domain},
                   {"reports", s.reports},
                   {"start", rfc3339(s.first)},
                   {"end", rfc3339(s.last)},
                   {"policy_types", s.policy_types},
                   {"successful_sessions", s.successful},
                   {"failed_sessions", s.failed},
                   {"failures_by_type", s.failures_by_type},
                   {"failures_by_mx", s.failures_by_mx}});
  return out;
}

}  // namespace sluice::tlsrpt
