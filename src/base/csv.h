// Writing CSV (RFC 4180), shared by every file and report the gateway writes as CSV: the
// Exchange-style protocol log, logscan's and the probe's reports.
#pragma once
#include <string>
#include <string_view>

namespace sluice {

/// Appends `field` as one CSV field: as it is, or quoted with its quotes doubled when it holds a
/// comma, a quote, CR or LF.
void append_csv_field(std::string& out, std::string_view field);

/// The field as append_csv_field writes it.
std::string csv_field(std::string_view field);

}  // namespace sluice
