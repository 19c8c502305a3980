// `sluice logscan`: who still uses TLS 1.0/1.1, and which sessions failed, from Exchange
// protocol and message tracking logs, Postfix logs and sluice's own protocol log
// (docs/logscan.md).
#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "cli/command_line.h"
#include "cli/subcommand.h"
#include "logscan/fleet_scan.h"
#include "logscan/report.h"
#include "logscan/scanner.h"

namespace sluice::cli {
namespace {

struct LogscanOptions {
  std::vector<std::string> paths;
  std::string since, until, direction, bucket = "auto", html;
  std::vector<std::string> connectors, remotes, excluded_remotes;
  bool json = false, csv = false;
  std::size_t top = 10;
  unsigned jobs = 0;
  int year = 0;
  // A fleet's logs (logscan/fleet_scan.h): NAME=PATH each, or a directory of one folder per node.
  std::vector<std::string> node_arguments;
  std::string nodes_dir;
};

int logscan_usage_error(std::string_view message) { return cli::usage_error("logscan", message); }

}  // namespace

int run_logscan(int argc, char** argv) {
  CLI::App app{
      "Find every peer still on TLS 1.0/1.1 and every TLS failure in mail server logs.\n"
      "\n"
      "  sluice logscan [options] PATH...\n"
      "  sluice logscan [options] --nodes DIR | --node NAME=PATH...   (several gateways: one report)\n"
      "\n"
      "A PATH is a file, a directory (searched recursively) or - for stdin; gzip files are read\n"
      "transparently. Formats are recognised by content: Exchange SMTP Receive/Send protocol logs\n"
      "(and sluice's, the same format), Exchange message tracking logs, Postfix syslog and\n"
      "maillog_file lines. Reports: legacy TLS peers, TLS failure signatures with an example line,\n"
      "sessions by TLS version over time, top peers. Malformed lines are counted, never fatal.\n"
      "Exit status: 0 nothing found, 1 legacy TLS peers or TLS failures found, 2 usage error or an\n"
      "input that could not be read or is in no known format (the report is still printed).",
      "sluice logscan"};
  LogscanOptions o;
  app.add_option("paths", o.paths, "log files, directories, or - for stdin (none with --node/--nodes)");
  app.add_option("--node", o.node_arguments,
                 "a fleet's logs: NAME=PATH, the logs of gateway NAME (repeatable); each peer then names the nodes "
                 "that saw it")
      ->allow_extra_args(false);
  app.add_option("--nodes", o.nodes_dir,
                 "a fleet's logs: a directory with one folder per node (logs/mx1/..., logs/mx2/...), each node "
                 "named after its folder");
  app.add_option("--since", o.since,
                 "only sessions and events at or after this UTC time (2026-11-27 or 2026-11-27T07:00)");
  app.add_option("--until", o.until, "only sessions and events before this UTC time");
  // One value per occurrence (repeat the option for more): the paths are optional now (none with
  // --nodes), so CLI11 would otherwise take every path after --remote as another range.
  app.add_option("--connector", o.connectors, "only this connector (repeatable; Postfix: e.g. postfix/smtpd)")
      ->allow_extra_args(false);
  app.add_option("--remote", o.remotes, "only remote addresses in this range (CIDR or address; repeatable)")
      ->allow_extra_args(false);
  app.add_option("--exclude-remote", o.excluded_remotes,
                 "leave out remote addresses in this range, e.g. your own TLS scanners (CIDR or address; repeatable)")
      ->allow_extra_args(false);
  app.add_option("--direction", o.direction, "inbound (clients that connected to us) or outbound");
  app.add_option("--bucket", o.bucket, "timeline granularity: hour, day, or auto (day when the logs span over 3 days)");
  app.add_flag("--json", o.json, "print the report as JSON (schema in docs/logscan.md)");
  app.add_flag("--csv", o.csv, "print the report as one CSV table");
  app.add_option("--html", o.html, "also write a self-contained HTML report to this file");
  app.add_option("--top", o.top, "rows in the top peers table (default 10)");
  app.add_option("-j,--jobs", o.jobs, "worker threads (default: one per core)");
  app.add_option("--year", o.year, "year of traditional syslog stamps (default: the file's modification year)");
  if (auto stop = parse_command_line(app, "logscan", argc, argv)) return *stop;
  if (o.json && o.csv) return logscan_usage_error("--json and --csv cannot be combined");
  std::vector<logscan::NodeLogs> nodes;
  if (!o.node_arguments.empty() || !o.nodes_dir.empty()) {
    if (!o.paths.empty())
      return logscan_usage_error("with --node or --nodes, every path belongs to a node (NAME=PATH), none alone");
    if (!o.nodes_dir.empty()) {
      auto found = logscan::nodes_in_directory(o.nodes_dir);
      if (!found) return logscan_usage_error(found.error().message);
      nodes = std::move(*found);
    }
    for (const auto& argument : o.node_arguments) {
      auto node = logscan::parse_node_argument(argument);
      if (!node) return logscan_usage_error(node.error().message);
      nodes.push_back(std::move(*node));
    }
    for (std::size_t i = 0; i < nodes.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (nodes[i].node == nodes[j].node)
          return logscan_usage_error(fmt::format("two nodes named \"{}\"", nodes[i].node));
  } else if (o.paths.empty()) {
    return logscan_usage_error("no logs given: PATH..., --node NAME=PATH or --nodes DIR");
  }

  logscan::ScanOptions scan_options;
  logscan::ReportOptions report_options;
  report_options.top = o.top;
  auto& f = scan_options.filters;
  struct TimeBound {
    const char* option;
    const std::string& text;
    std::optional<logscan::Millis>& bound;
  };
  for (const TimeBound& t : {TimeBound{"since", o.since, f.since}, TimeBound{"until", o.until, f.until}}) {
    if (t.text.empty()) continue;
    t.bound = logscan::parse_time_argument(t.text);
    if (!t.bound)
      return logscan_usage_error(
          fmt::format("--{} {}: not a time (use 2026-11-27 or 2026-11-27T07:00:00)", t.option, t.text));
    report_options.filters.emplace_back(t.option, logscan::format_iso(*t.bound));
  }
  if (f.since && f.until && *f.until <= *f.since) return logscan_usage_error("--until must be after --since");
  for (const auto& c : o.connectors) report_options.filters.emplace_back("connector", c);
  f.connectors = o.connectors;
  for (const auto& r : o.remotes) {
    auto cidr = net::Cidr::parse(r);
    if (!cidr) return logscan_usage_error(fmt::format("--remote {}: {}", r, cidr.error().message));
    f.remotes.push_back(*cidr);
    report_options.filters.emplace_back("remote", cidr->str());
  }
  for (const auto& r : o.excluded_remotes) {
    auto cidr = net::Cidr::parse(r);
    if (!cidr) return logscan_usage_error(fmt::format("--exclude-remote {}: {}", r, cidr.error().message));
    f.excluded_remotes.push_back(*cidr);
    report_options.filters.emplace_back("exclude_remote", cidr->str());
  }
  if (!o.direction.empty()) {
    if (o.direction == "inbound")
      f.direction = logscan::Direction::Inbound;
    else if (o.direction == "outbound")
      f.direction = logscan::Direction::Outbound;
    else
      return logscan_usage_error(fmt::format("--direction {}: use inbound or outbound", o.direction));
    report_options.filters.emplace_back("direction", o.direction);
  }
  if (o.bucket == "hour")
    report_options.bucket = logscan::Bucket::Hour;
  else if (o.bucket == "day")
    report_options.bucket = logscan::Bucket::Day;
  else if (o.bucket != "auto")
    return logscan_usage_error(fmt::format("--bucket {}: use hour, day or auto", o.bucket));
  if (o.year && (o.year < 1970 || o.year > 9999))
    return logscan_usage_error(fmt::format("--year {}: out of range", o.year));
  if (o.year) scan_options.year = o.year;
  scan_options.jobs = o.jobs;

  logscan::ScanResult result =
      nodes.empty() ? logscan::scan(o.paths, scan_options) : logscan::scan_fleet(nodes, scan_options);
  for (const auto& node : nodes) report_options.nodes.push_back(node.node);
  for (const auto& e : result.errors) fmt::print(stderr, "sluice logscan: {}\n", e);
  report_options.errors = result.errors;
  logscan::Report report = logscan::build_report(result.aggregate, report_options);

  if (o.json) {
    fmt::print("{}\n", logscan::render_json(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (o.csv) {
    fmt::print("{}", logscan::render_csv(report));
  } else {
    fmt::print("{}", logscan::render_text(report));
  }
  if (!o.html.empty()) {
    std::ofstream out(o.html, std::ios::binary | std::ios::trunc);
    out << logscan::render_html(report);
    out.close();
    if (!out) {
      fmt::print(stderr, "sluice logscan: cannot write {}\n", o.html);
      return kUsage;
    }
  }
  return report.exit_status;
}

}  // namespace sluice::cli
