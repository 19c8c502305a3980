#include "schannel/required_updates.h"

#include <fmt/format.h>

namespace sluice::schannel {

void check_required_updates(WindowsVersion windows, std::vector<Problem>& problems) {
  if (windows != WindowsVersion::Server2008R2) return;
  // Sources: KB3140245 (WinHTTP default secure protocols on 7 SP1 / 2008 R2 SP1), KB3154518 (.NET
  // 3.5.1 system default TLS versions on 7 SP1 / 2008 R2 SP1), KB3029667 (Exchange 2010 SMTP held
  // at TLS 1.0 until SP3 RU9), Exchange's TLS guidance (2010 SP3 RU19 and .NET 3.5.1 for TLS 1.2).
  problems.push_back(
      {"updates-required", Severity::Warning,
       "On Windows Server 2008 R2 the registry values alone do not give Exchange 2010 TLS 1.2, and an export cannot "
       "show the rest: Service Pack 1; KB3140245 with the WinHTTP security update KB3161949 (WinHTTP offers TLS 1.1 "
       "and 1.2 only with them and DefaultSecureProtocols=0x00000a00 under HKLM\\SOFTWARE\\Microsoft\\Windows\\"
       "CurrentVersion\\Internet Settings\\WinHttp and its Wow6432Node twin); KB3154518 (.NET Framework 3.5.1 uses "
       "the system's TLS versions only with it and SystemDefaultTlsVersions=1); and Exchange 2010 SP3 Update Rollup "
       "9 or later, before which Exchange's SMTP stays on TLS 1.0 whatever Windows allows (KB3029667) - Exchange's "
       "TLS guidance asks for Update Rollup 19 or later",
       "check Installed Updates (Get-HotFix) for SP1, KB3140245, KB3161949 and KB3154518 (a server current on "
       "Windows Update has them or their successors) and the Exchange 2010 rollup (Get-ExchangeServer | fl "
       "AdminDisplayVersion); install what is missing, set the values (sluice schannel fix), then restart Windows"});
}

}  // namespace sluice::schannel
