// `sluice schannel`: audit a Windows registry export for the Schannel and .NET settings that decide
// whether Exchange can speak TLS 1.2 with Exchange Online (check), and write the fix (fix).
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <unistd.h>

#include "base/atomic_file.h"
#include "cli/command_line.h"
#include "cli/subcommand.h"
#include "schannel/fix_writer.h"
#include "schannel/reg_file.h"
#include "schannel/report.h"
#include "schannel/tls_settings.h"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

/// A usage or input error: a message for stderr, exit 2.
struct UsageError {
  std::string message;
};

std::string read_input(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UsageError{fmt::format("{} is a directory, not a registry export", path)};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError{fmt::format("cannot read {}: {}", path, std::strerror(errno))};
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw UsageError{fmt::format("cannot read {}", path)};
  return bytes.str();
}

int check(const std::vector<std::string>& files, const std::string& windows_text, bool json) {
  auto windows = schannel::parse_windows_version(windows_text.empty() ? "2019" : windows_text);
  if (!windows)
    throw UsageError{fmt::format("--windows {}: expected 2008r2, 2012r2, 2016, 2019 or 2022", windows_text)};
  // Later exports apply on top of earlier ones, as importing them in this order would.
  schannel::Registry registry;
  for (const auto& file : files) {
    std::string bytes = read_input(file);
    try {
      schannel::read_export(bytes, registry);
    } catch (const schannel::RegParseError& e) {
      throw UsageError{e.line() > 0 ? fmt::format("{}:{}: {}", file, e.line(), e.detail())
                                    : fmt::format("{}: {}", file, e.detail())};
    }
  }
  schannel::Assessment assessment = schannel::assess(registry, *windows);
  schannel::ReportContext context{files, windows_text.empty()};
  if (json)
    fmt::print(
        "{}\n",
        schannel::render_json(assessment, context).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  else
    fmt::print("{}", schannel::render_text(assessment, context));
  return assessment.passes() ? kOk : kFailed;
}

int fix(const schannel::FixOptions& options, const std::string& format, const std::string& output) {
  auto keys = schannel::fix_keys(options);
  std::string data;
  if (format == "reg")
    data = schannel::write_reg(keys);
  else if (format == "ps1")
    data = schannel::write_ps1(keys);
  else
    throw UsageError{fmt::format("--format {}: expected reg or ps1", format)};
  if (output.empty() || output == "-") {
    if (format == "reg" && isatty(STDOUT_FILENO)) {
      // UTF-16LE on a terminal is a mess of NUL bytes: show the same text readable instead.
      data = schannel::reg_text(keys, "\n");
      fmt::print(stderr,
                 "sluice schannel: stdout is a terminal, so this is the .reg text in readable form; for the file "
                 "regedit imports (UTF-16LE) use -o fix.reg or redirect: sluice schannel fix > fix.reg\n");
    }
    std::fwrite(data.data(), 1, data.size(), stdout);
    return std::fflush(stdout) == 0 ? kOk : kFailed;
  }
  fs::path path(output);
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (std::error_code ec = write_file_durably(dir, path.filename().string(), data)) {
    fmt::print(stderr, "sluice schannel: cannot write {}: {}\n", output, ec.message());
    return kFailed;
  }
  fmt::print(stderr, "sluice schannel: wrote {} ({}); restart Windows after applying it\n", output,
             format == "reg" ? "import with: reg import " + path.filename().string()
                             : "run in an elevated PowerShell: .\\" + path.filename().string());
  return kOk;
}

}  // namespace

int run_schannel(int argc, char** argv) {
  CLI::App app{
      "Audit the Windows side of TLS for Exchange: Schannel protocol settings and .NET Framework values.\n"
      "\n"
      "  sluice schannel check FILE.reg... [--windows 2008r2|2012r2|2016|2019|2022] [--json]\n"
      "      reads registry exports (regedit /e or reg export: UTF-16LE 'Windows Registry Editor\n"
      "      Version 5.00' or ANSI 'REGEDIT4'; several files apply in order) and reports, for TLS 1.0\n"
      "      to 1.3 on the Client and Server side, whether Windows will use it (explicit value, else the\n"
      "      documented default of that Windows version), the .NET values, the problems, and whether\n"
      "      this server can send to and receive from Exchange Online over TLS 1.2\n"
      "  sluice schannel fix [--disable-legacy] [--disable-tls13] [--format reg|ps1] [-o FILE]\n"
      "      writes the fix: TLS 1.2 Client and Server on, .NET SystemDefaultTlsVersions and\n"
      "      SchUseStrongCrypto (v2.0.50727 and v4.0.30319, 64- and 32-bit) as a .reg file regedit\n"
      "      imports, or as a PowerShell script; to stdout unless -o\n"
      "\n"
      "Restart Windows after any change: Schannel reads these values only when it starts.\n"
      "Exit status (check): 0 passes, 1 a problem blocks mail flow with Exchange Online, 2 usage error\n"
      "or an export that cannot be read (the message names the line). See docs/schannel.md.",
      "sluice schannel"};
  app.require_subcommand(1);

  std::vector<std::string> files;
  std::string windows;
  bool json = false;
  auto* check_cmd = app.add_subcommand("check", "audit registry exports");
  check_cmd->add_option("files", files, "registry export files (.reg); - reads stdin")->required();
  check_cmd->add_option(
      "--windows", windows,
      "Windows Server version whose defaults apply to absent values: 2008r2, 2012r2, 2016, 2019 or 2022 "
      "(default 2019)");
  check_cmd->add_flag("--json", json, "print JSON (schema in docs/schannel.md)");

  schannel::FixOptions fix_options;
  std::string format = "reg";
  std::string output;
  auto* fix_cmd = app.add_subcommand("fix", "write the registry fix");
  fix_cmd->add_flag("--disable-legacy", fix_options.disable_legacy,
                    "also disable TLS 1.0 and 1.1 (Client and Server), once no partner needs them");
  fix_cmd->add_flag("--disable-tls13", fix_options.disable_tls13,
                    "also disable TLS 1.3 (Windows Server 2022 with Exchange before 2019 CU15)");
  fix_cmd->add_option("--format", format, "reg (regedit, UTF-16LE) or ps1 (PowerShell)");
  fix_cmd->add_option("-o,--output", output, "write to FILE instead of stdout");

  if (auto stop = parse_command_line(app, "schannel", argc, argv)) return *stop;

  try {
    if (check_cmd->parsed()) return check(files, windows, json);
    return fix(fix_options, format, output);
  } catch (const UsageError& e) {
    fmt::print(stderr, "sluice schannel: {}\n", e.message);
    return kUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice schannel: {}\n", e.what());
    return kFailed;
  }
}

}  // namespace sluice::cli
