// TLS protocol versions and their names in the places administrators read them.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace sluice::tls {

enum class Version { Unknown, Ssl3, Tls1_0, Tls1_1, Tls1_2, Tls1_3 };

/// From OpenSSL's TLS1_2_VERSION etc. (also the wire values 0x0300..0x0304).
Version version_from_wire(int value);
/// To OpenSSL's TLS1_2_VERSION etc.; 0 for Unknown.
int wire_value(Version v);
/// "1.2" as written in configuration; parse accepts "1.0", "1.1", "1.2", "1.3".
std::string_view config_name(Version v);
std::optional<Version> parse_config_version(std::string_view text);
/// "TLS1_2", as in Exchange's Received header "(version=TLS1_2, cipher=...)"; "SSL3" for SSL 3.
std::string_view header_name(Version v);
/// "SP_PROT_TLS1_2_SERVER" / "SP_PROT_TLS1_2_CLIENT", Exchange protocol log names (schannel.h).
std::string exchange_protocol_name(Version v, bool server_side);

}  // namespace sluice::tls
