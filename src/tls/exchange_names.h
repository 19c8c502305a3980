// Maps an OpenSSL cipher suite to the CALG_* names and strengths Exchange writes in its
// protocol log, and builds Exchange's TLS success sentence (docs/protocol-log.md).
#pragma once
#include <openssl/ssl.h>

#include <string>

#include "tls/version.h"

namespace sluice::tls {

struct ExchangeCipherNames {
  std::string
      bulk;  ///< CALG_AES_128, CALG_AES_256, CALG_3DES, CALG_RC4, CALG_CHACHA20_POLY1305 (no CALG exists; see docs)
  int bulk_bits = 0;
  std::string mac;   ///< CALG_SHA1, CALG_SHA_256, CALG_SHA_384, CALG_MD5; for AEAD suites the PRF hash
  int mac_bits = 0;  ///< digest size in bits; 0 for AEAD suites (as Exchange logs GCM)
  std::string kx;    ///< CALG_ECDH_EPHEM, CALG_DH_EPHEM, CALG_RSA_KEYX
  int kx_bits = 0;   ///< passed in: curve size, DH group size, or RSA key size
};

/// `kx_bits`: strength of the key exchange actually used (see kx_strength_bits).
/// TLS 1.3 suites do not name their key exchange; this assumes an elliptic-curve group (what
/// every real peer picks). negotiated_cipher_names corrects that for an FFDHE group.
/// Unknown algorithms come out as "CALG_UNKNOWN" rather than failing: the log line must still
/// be written. A null cipher gives all-"CALG_UNKNOWN" names.
ExchangeCipherNames exchange_cipher_names(const SSL_CIPHER* cipher, int kx_bits);

/// Names and strengths of a finished handshake (current cipher, negotiated group, key sizes).
ExchangeCipherNames negotiated_cipher_names(SSL* ssl);

/// Strength of the negotiated key exchange of a finished handshake: 256 for P-256 or X25519,
/// 384 for P-384, the DH prime size, or the RSA key size for RSA key transport. X25519 counts
/// as 256 (its key size; OpenSSL's "security bits" would say 253). 0 when unknown, e.g. a
/// TLS 1.2 DHE handshake seen from the server side (OpenSSL frees the ephemeral key there).
int kx_strength_bits(SSL* ssl);

/// "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm
/// CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 bits and
/// key exchange algorithm CALG_ECDH_EPHEM with strength 256 bits".
std::string exchange_success_sentence(Version v, bool server_side, const ExchangeCipherNames& names);

}  // namespace sluice::tls
