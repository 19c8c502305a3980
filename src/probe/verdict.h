// Verdicts against named profiles: can Exchange Online exchange mail with this server over TLS,
// and does it follow RFC 8996 (no TLS 1.0/1.1). Each verdict gives its reasons in plain words.
#pragma once
#include <string_view>
#include <vector>

#include "probe/assessment.h"

namespace sluice::probe {

/// "exchange-online" and "modern".
const std::vector<std::string_view>& profile_names();
bool known_profile(std::string_view name);

/// Exchange Online (Microsoft's MC229914 enforcement): STARTTLS, TLS 1.2 offered, at least one
/// suite from Office 365's TLS 1.2 list, no SHA-1 signed certificate.
Verdict judge_exchange_online(const Assessment& a);
/// RFC 8996: TLS 1.2 or 1.3 offered, TLS 1.0 and 1.1 not.
Verdict judge_modern(const Assessment& a);

/// Fills a.verdicts with every profile's verdict.
void judge(Assessment& a);
/// The verdict for `profile` in a.verdicts (nullptr if not judged).
const Verdict* verdict_for(const Assessment& a, std::string_view profile);

}  // namespace sluice::probe
