// Writing and reading CSV (RFC 4180), shared by every file and report the gateway writes as CSV: the
// Exchange-style protocol log, logscan's and the probe's reports.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

/// Appends `field` as one CSV field: as it is, or quoted with its quotes doubled when it holds a
/// comma, a quote, CR or LF.
void append_csv_field(std::string& out, std::string_view field);

/// The field as append_csv_field writes it.
std::string csv_field(std::string_view field);

/// The fields of one RFC 4180 record (without its line end), unquoted; nullopt on a stray quote
/// in an unquoted field, an unterminated quote, text after a closing quote, or more than
/// `max_fields` fields. The reader of the logs append_csv_field writes.
std::optional<std::vector<std::string>> parse_csv_record(std::string_view text, std::size_t max_fields);

}  // namespace sluice
