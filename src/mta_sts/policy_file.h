// The MTA-STS policy file (RFC 8461 3.2), as served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt: "key: value" lines.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"
#include "mta_sts/policy.h"

namespace sluice::mta_sts {

/// RFC 8461 3.3 lets a sender refuse larger policies; 64 KiB is what the RFC suggests.
constexpr std::size_t kMaxPolicySize = 64 * 1024;
/// RFC 8461 3.2: max_age is at most 31557600 seconds (about a year).
constexpr long long kMaxPolicyAge = 31557600;

/// "enforce", "testing", "none": as the policy file writes the mode.
std::string_view mode_name(Mode mode);

/// Reads a policy: `version: STSv1`, `mode: enforce|testing|none`, `max_age: <seconds>` once
/// each, one or more `mx: <pattern>` (none needed when the mode is none, which withdraws a
/// policy), lines ending in CRLF or LF, keys of later versions ignored. The result has `text`
/// set and `id` empty (the TXT record's id is the caller's). Errors say which line is wrong.
Result<Policy> parse_policy(const std::string& text);

}  // namespace sluice::mta_sts
