// The three ways a probe run is written: a report to read, JSON for programs (docs/probe.md has
// the schema), CSV with one row per finding for spreadsheets.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "probe/assessment.h"

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

}  // namespace sluice::probe
