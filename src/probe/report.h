// The three ways a probe run is written: a report to read, JSON for programs (docs/probe.md has
// the schema), CSV with one row per finding for spreadsheets.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "probe/assessment.h"
#include "probe/domain_policy.h"

namespace sluice::probe {

/// One line for a target as soon as it is assessed: the verdict of `profile`, the TLS versions
/// offered, certificate problems, or why it could not be assessed. No newline at the end.
std::string summary_line(const Assessment& a, std::string_view profile, bool colour);

/// Human-readable report; `colour` adds ANSI colours (only for a terminal).
std::string text_report(const std::vector<Assessment>& results, std::string_view profile, bool colour);

/// Schema "sluice-probe/1" (docs/probe.md).
nlohmann::json json_report(const std::vector<Assessment>& results, std::string_view profile);

/// Header "target,address,port,category,item,value,detail" and one row per finding.
std::string csv_report(const std::vector<Assessment>& results);

/// The `--mx` domains' MTA-STS, DANE and TLS-RPT findings and verdicts, one block per domain.
std::string domain_text_report(const std::vector<DomainPolicy>& domains, bool colour);

/// The `domains` array of sluice-probe/1 (docs/probe.md).
nlohmann::json domains_json(const std::vector<DomainPolicy>& domains);

/// CSV rows (no header) with the domain as target, category `policy`, the level as item and the
/// verdict as value.
std::string domain_csv_rows(const std::vector<DomainPolicy>& domains);

}  // namespace sluice::probe
