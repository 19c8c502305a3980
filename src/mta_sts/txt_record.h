// The _mta-sts TXT record (RFC 8461 3.1): whether a domain publishes MTA-STS, and the id of its
// current policy. A sender fetches the policy again only when this id changes.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace sluice::mta_sts {

/// The DNS name to ask for the TXT record of `domain`: "_mta-sts.<domain>".
std::string txt_record_name(const std::string& domain);

/// The id of the one STS record among `records` (each a TXT record, its character-strings
/// joined); nullopt when there is none. Records that do not start with "v=STSv1" are not STS
/// records and are ignored. More than one, or one that breaks the grammar, is an error saying
/// which; RFC 8461 3.1 says the sender then treats the domain as having no policy (a cached one
/// still applies).
Result<std::optional<std::string>> parse_txt_records(const std::vector<std::string>& records);

/// One record's id: "v=STSv1; id=20160831085700Z;" gives "20160831085700Z". Errors say what is wrong.
Result<std::string> parse_txt_record(const std::string& record);

}  // namespace sluice::mta_sts
