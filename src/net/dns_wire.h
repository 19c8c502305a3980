// The parts of a DNS message (RFC 1035 4.1) that c-ares 1.18 has no parser for: the header's rcode
// and AD bit (RFC 4035 3.2.3), and the TXT and TLSA records of the answer section.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "tls/tlsa.h"

namespace sluice::net::dns_wire {

constexpr int kTypeTxt = 16;
constexpr int kTypeTlsa = 52;

using Bytes = std::vector<unsigned char>;

/// The c-ares status ares_query would have given for this answer (ARES_SUCCESS, ARES_ENODATA,
/// ARES_ENOTFOUND, ARES_ESERVFAIL, ...): ares_send hands every answer over as a success.
int answer_status(const unsigned char* message, int length);

/// The header's AD bit: the answering resolver validated the answer with DNSSEC.
bool authenticated_data(const Bytes& message);

/// The RDATA of each class IN record of `type` in the answer section, in order (CNAMEs and
/// RRSIGs are passed over). Fails on a truncated or malformed message.
Result<std::vector<Bytes>> answer_rdata(const Bytes& message, int type);

/// The name `name` stands for after the CNAME records of the answer section (RFC 1034 3.6.2), e.g.
/// the target of "mx.example.org CNAME mx1.hosting.example": `name` itself when it is no alias.
/// DANE looks for TLSA records there first (RFC 7672 2.2.2). Fails on a malformed message.
Result<std::string> canonical_name(const Bytes& message, const std::string& name);

/// A TXT record's character-strings joined (RFC 7208 3.3, RFC 8461 3.1 read them so).
Result<std::string> txt_text(const Bytes& rdata);

/// A TLSA record (RFC 6698 2.1): usage, selector, matching type, association data.
Result<tls::TlsaRecord> tlsa_record(const Bytes& rdata);

}  // namespace sluice::net::dns_wire
