// crypt(3) hashes made outside sluice, so that the tests check sluice against the system's
// libxcrypt and not against itself: `openssl passwd -6 -salt Zq8sLx1p 'Scanner#2026'` and
// Python's crypt.crypt('printer pass', '$y$j9T$abcdefghijklmnop').
#pragma once

namespace sluice::auth::test_util {

inline constexpr const char* kOpensslSha512 =
    "$6$Zq8sLx1p$oMtWOnMeI9.c8unQM9WmYJvSsMVgATmCKBuzRE2AK.ihe53WjV/KY9iKR55fdP5/ae/gqeytrND7N1SFHx8lZ.";
inline constexpr const char* kYescrypt = "$y$j9T$abcdefghijklmnop$wxTBTO5JCyOUgyrg6jSIv58G90bFHrMiAgo7J8w9zE.";

}  // namespace sluice::auth::test_util
