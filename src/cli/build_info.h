// What `sluice --version` says: the version and revision sluice was built from, and the OpenSSL it
// runs with. The two constants are defined in a file generated at every build
// (cmake/build_info.cmake) and linked into the sluice binary only, so a new commit rebuilds that
// file alone; the library and its tests take them as arguments.
#pragma once
#include <string>
#include <string_view>

namespace sluice::cli {

extern const char* const kBuildVersion;   ///< CMake's PROJECT_VERSION, "0.12.0"
extern const char* const kBuildRevision;  ///< `git describe --always --dirty`, or "unknown"

/// "sluice <version> (revision <revision>)" and "<runtime OpenSSL>", with
/// " (built with <built_openssl>)" when sluice was compiled against another OpenSSL. main() gives
/// the build constants, OpenSSL_version(OPENSSL_VERSION) and OPENSSL_VERSION_TEXT.
std::string version_text(std::string_view version, std::string_view revision, std::string_view runtime_openssl,
                         std::string_view built_openssl);

}  // namespace sluice::cli
