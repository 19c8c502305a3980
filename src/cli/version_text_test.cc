#include <gtest/gtest.h>

#include "cli/build_info.h"

namespace sluice::cli {
namespace {

TEST(VersionText, VersionRevisionAndTheOpenSslThatRuns) {
  EXPECT_EQ(version_text("0.12.0", "a95862f-dirty", "OpenSSL 3.0.17 1 Jul 2025", "OpenSSL 3.0.17 1 Jul 2025"),
            "sluice 0.12.0 (revision a95862f-dirty)\nOpenSSL 3.0.17 1 Jul 2025\n");
}

TEST(VersionText, SaysWhichOpenSslItWasBuiltWithWhenAnotherRuns) {
  EXPECT_EQ(version_text("0.12.0", "unknown", "OpenSSL 3.0.18 30 Sep 2025", "OpenSSL 3.0.11 19 Sep 2023"),
            "sluice 0.12.0 (revision unknown)\nOpenSSL 3.0.18 30 Sep 2025 (built with OpenSSL 3.0.11 19 Sep 2023)\n");
}

}  // namespace
}  // namespace sluice::cli
