#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "cli/build_info.h"

namespace sluice::cli {

std::string version_text(std::string_view version, std::string_view revision, std::string_view runtime_openssl,
                         std::string_view built_openssl) {
  std::string text = fmt::format("sluice {} (revision {})\n{}", version, revision, runtime_openssl);
  // A distribution's security update replaces libssl under a built binary: say which one runs.
  if (runtime_openssl != built_openssl) text += fmt::format(" (built with {})", built_openssl);
  return text + "\n";
}

}  // namespace sluice::cli
