// The report: what an Aggregate says, ordered for reading, and its four renderings (text
// tables, JSON, CSV, one self-contained HTML page). docs/logscan.md describes each section and
// the JSON schema.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "logscan/aggregate.h"

namespace sluice::logscan {

enum class Bucket { Auto, Hour, Day };

struct ReportOptions {
  Bucket bucket = Bucket::Auto;
  std::size_t top = 10;  ///< rows in "top peers"
  /// The filters as given on the command line, shown in every rendering.
  std::vector<std::pair<std::string, std::string>> filters;
  std::vector<std::string> errors;  ///< inputs that could not be read
  /// A fleet's logs (fleet_scan.h): the nodes scanned. When set, every peer and failure row
  /// names the nodes that saw it (NODES column, "nodes" in JSON and CSV).
  std::vector<std::string> nodes;
};

struct TimelineRow {
  Millis start = 0;
  ClassCounts counts{};
};

/// The Aggregate sorted and cut for presentation.
struct Report {
  const Aggregate* aggregate = nullptr;
  ReportOptions options;
  std::vector<const PeerStats*> legacy;       ///< most legacy sessions first
  std::vector<const FailureStats*> failures;  ///< by signature, then most frequent
  std::vector<const PeerStats*> top;          ///< most sessions first, `top` of them
  bool by_day = false;
  std::vector<TimelineRow> timeline;
  std::uint64_t total_sessions = 0;
  int exit_status = 0;  ///< 0 nothing found, 1 legacy peers or failures, 2 unreadable input
};

Report build_report(const Aggregate& aggregate, ReportOptions options);

/// Readable tables for a terminal.
std::string render_text(const Report& r);
/// The JSON document (schema "sluice-logscan/1").
nlohmann::json render_json(const Report& r);
/// One CSV table: a "record" column says which section a row belongs to.
std::string render_csv(const Report& r);
/// One self-contained HTML page: inline CSS and SVG charts, no external assets.
std::string render_html(const Report& r);

/// HTML text escaping (&, <, >, ", ').
std::string html_escape(std::string_view text);

}  // namespace sluice::logscan
