// What `sluice tlsrpt` prints: the reports other senders sent us, added up per sending
// organization and policy domain, so that an administrator sees who fails to reach us and why.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tlsrpt/report.h"

namespace sluice::tlsrpt {

struct DomainSummary {
  std::string organization;
  std::string policy_domain;
  std::size_t reports = 0;
  std::chrono::system_clock::time_point first, last;  ///< the earliest start, the latest end
  std::set<std::string> policy_types;
  std::uint64_t successful = 0, failed = 0;
  std::map<std::string, std::uint64_t> failures_by_type;  ///< result-type -> sessions
  std::map<std::string, std::uint64_t> failures_by_mx;    ///< receiving-mx-hostname (else -ip) -> sessions
};

/// One entry per (organization, policy domain), in that order.
std::vector<DomainSummary> summarize(const std::vector<Report>& reports);
std::string summary_text(const std::vector<DomainSummary>& summaries);
nlohmann::json summary_json(const std::vector<DomainSummary>& summaries);

}  // namespace sluice::tlsrpt
