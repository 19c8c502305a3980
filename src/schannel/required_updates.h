// What the registry cannot show: updates a Windows version needs before the TLS 1.2 values do
// anything (Windows Server 2008 R2, Exchange 2010's usual host).
#pragma once
#include <vector>

#include "schannel/tls_settings.h"

namespace sluice::schannel {

/// Adds the "updates-required" warning for Windows versions whose TLS 1.2 needs more than the
/// registry: on Server 2008 R2, Service Pack 1, KB3140245 and KB3161949 (WinHTTP), KB3154518
/// (.NET Framework 3.5.1) and, for Exchange 2010's SMTP, SP3 Update Rollup 9 or later (KB3029667).
void check_required_updates(WindowsVersion windows, std::vector<Problem>& problems);

}  // namespace sluice::schannel
