// Whether a certificate as presented matches a TLSA record (RFC 6698 2.1: selector and matching
// type), computed from the DER bytes alone. The probe uses it to say, after the fact, whether a
// host's certificate fits the TLSA records DANE senders will look up; delivery itself leaves the
// check to OpenSSL's DANE API (tls/dane.h) during the handshake.
#pragma once
#include <string>
#include <vector>

#include "base/result.h"
#include "tls/tlsa.h"

namespace sluice::tls {

/// The certificate association data `record` would carry for `certificate_der` with its selector
/// (0 the whole certificate, 1 its SubjectPublicKeyInfo) and matching type (0 as is, 1 SHA2-256,
/// 2 SHA2-512). Fails for a certificate that does not parse or parameters outside RFC 6698.
Result<std::vector<unsigned char>> tlsa_association(const TlsaRecord& record, const std::string& certificate_der);

/// Which certificate of `chain_der` (leaf first, as the server sent it) `record` matches: DANE-EE
/// (usage 3) and PKIX-EE (1) only the leaf, DANE-TA (2) and PKIX-TA (0) any certificate above it.
/// Returns the depth, or -1 when none matches.
int tlsa_matching_depth(const TlsaRecord& record, const std::vector<std::string>& chain_der);

}  // namespace sluice::tls
