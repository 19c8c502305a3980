// The audit as an administrator reads it (text) and as a script reads it (JSON, the schema in
// docs/schannel.md).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "schannel/tls_settings.h"

namespace sluice::schannel {

/// What the report says about its input.
struct ReportContext {
  std::vector<std::string> files;  ///< the exports read, in order
  bool windows_assumed = false;    ///< no --windows given: the version is the default one
};

/// "enabled (explicit)", "enabled (Windows Server 2016 default)", "not supported on ...".
std::string describe_setting(const ProtocolSetting& setting, WindowsVersion windows);

/// The verdict sentence: can this server send to and receive from Exchange Online over TLS 1.2.
std::string verdict_text(const Assessment& assessment);

/// The readable report: one line per protocol, the .NET values, the problems, the verdict.
std::string render_text(const Assessment& assessment, const ReportContext& context);

/// The same as JSON.
nlohmann::json render_json(const Assessment& assessment, const ReportContext& context);

}  // namespace sluice::schannel
