// `sluice tlsrpt FILE...`: the TLS-RPT reports (RFC 8460) other senders mailed to us, summarised
// per sending organization and policy domain: who fails to reach us, how, and at which MX.
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "cli/command_line.h"
#include "cli/subcommand.h"
#include "tlsrpt/received.h"
#include "tlsrpt/summary.h"

namespace sluice::cli {
namespace {

constexpr std::size_t kMaxInputFile = 64u << 20;  // a report mail is kilobytes; more is not one

Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open it");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail("cannot read it");
  if (text.str().size() > kMaxInputFile) return fail("larger than 64 MB: not a report");
  return text.str();
}

}  // namespace

int run_tlsrpt(int argc, char** argv) {
  CLI::App app{
      "Summarise TLS-RPT reports (RFC 8460) that other senders mailed to us.\n"
      "\n"
      "  sluice tlsrpt [--json] FILE...\n"
      "\n"
      "Each FILE is a saved report mail (.eml, the report in its application/tlsrpt+gzip part),\n"
      "the attachment itself (.json.gz) or the report's JSON. Prints, per sending organization and\n"
      "policy domain, the sessions that succeeded and failed, the failures by result type and the\n"
      "MX hosts they failed at.\n"
      "Exit status: 0 every file read, 1 a file is not a readable report (each one named on stderr;\n"
      "the others are still summarised), 2 usage error.",
      "sluice tlsrpt"};
  std::vector<std::string> files;
  bool json = false;
  app.add_option("FILE", files, "report mails, .json.gz attachments or .json reports")->required();
  app.add_flag("--json", json, "print the summary as JSON (docs/outbound.md, \"TLS-RPT\")");
  if (auto stop = parse_command_line(app, "tlsrpt", argc, argv)) return *stop;

  std::vector<tlsrpt::Report> reports;
  bool bad = false;
  for (const auto& file : files) {
    auto data = read_whole_file(file);
    auto report = data ? tlsrpt::read_report(*data) : Result<tlsrpt::Report>(fail(data.error()));
    if (!report) {
      fmt::print(stderr, "sluice tlsrpt: {}: {}\n", file, report.error().message);
      bad = true;
      continue;
    }
    reports.push_back(std::move(*report));
  }
  const auto summaries = tlsrpt::summarize(reports);
  if (json)
    fmt::print("{}\n", tlsrpt::summary_json(summaries).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  else
    fmt::print("{}", tlsrpt::summary_text(summaries));
  return bad ? kFailed : kOk;
}

}  // namespace sluice::cli
