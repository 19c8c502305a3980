// Keys and values Windows never reads: a protocol key spelt "TLS 1,2" (as the machine-translated
// Norwegian edition of Microsoft's article writes it), "TLS1.2" or "TLS 1.2 ", a value "Enable"
// for "Enabled", a string "1" where a DWORD is needed. A .reg file built from such text imports
// without complaint and changes nothing, so `check` reports each as an error naming what
// Windows expects.
#pragma once
#include <optional>
#include <string_view>
#include <vector>

#include "schannel/reg_file.h"
#include "schannel/tls_settings.h"

namespace sluice::schannel {

/// Adds "unknown-key", "unknown-value" and "value-ignored" (wrong type) errors for what
/// `registry` holds under SCHANNEL\Protocols, \Ciphers, \Hashes, \KeyExchangeAlgorithms and the
/// .NET Framework keys (native and Wow6432Node).
void check_key_names(const Registry& registry, std::vector<Problem>& problems);

/// The name in `known` that `name` was meant to be: the same letters and digits once spaces,
/// dots, commas, hyphens and underscores are dropped ("TLS 1,2", "TLS1.2", "tls 1.2 " are
/// "TLS 1.2"), else one at most two edits away ("Enable", "Klient"); nullopt when none is close.
/// A name equal to a known one (ignoring case) is returned as that name.
std::optional<std::string_view> intended_name(std::string_view name, const std::vector<std::string_view>& known);

}  // namespace sluice::schannel
