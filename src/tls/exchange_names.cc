#include "tls/exchange_names.h"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include <fmt/core.h>

namespace sluice::tls {
namespace {

constexpr const char* kUnknown = "CALG_UNKNOWN";

struct Named {
  const char* name;
  int bits;
};

Named bulk_for(const SSL_CIPHER* cipher) {
  switch (SSL_CIPHER_get_cipher_nid(cipher)) {
    case NID_aes_128_gcm:
    case NID_aes_128_cbc:
    case NID_aes_128_ccm:
      return {"CALG_AES_128", 128};
    case NID_aes_256_gcm:
    case NID_aes_256_cbc:
    case NID_aes_256_ccm:
      return {"CALG_AES_256", 256};
    case NID_des_ede3_cbc:
      return {"CALG_3DES", 168};
    case NID_rc4:
      return {"CALG_RC4", 128};
    case NID_chacha20_poly1305:
      // Windows has no CALG for ChaCha20 (SCHANNEL never negotiates it); this name follows the
      // CALG_ pattern so text searches for "CALG_" still find the line (docs/protocol-log.md).
      return {"CALG_CHACHA20_POLY1305", 256};
    default:
      return {kUnknown, SSL_CIPHER_get_bits(cipher, nullptr)};
  }
}

Named digest_for_nid(int nid) {
  switch (nid) {
    case NID_sha1:
      return {"CALG_SHA1", 160};
    case NID_sha256:
      return {"CALG_SHA_256", 256};
    case NID_sha384:
      return {"CALG_SHA_384", 384};
    case NID_sha512:
      return {"CALG_SHA_512", 512};
    case NID_md5:
      return {"CALG_MD5", 128};
    default:
      return {kUnknown, 0};
  }
}

Named mac_for(const SSL_CIPHER* cipher) {
  if (SSL_CIPHER_is_aead(cipher)) {
    // SCHANNEL reports the PRF hash of an AEAD suite with strength 0 (the published
    // AES_128 GCM line says "CALG_SHA_256 with strength 0 bits").
    const EVP_MD* md = SSL_CIPHER_get_handshake_digest(cipher);
    Named n = digest_for_nid(md != nullptr ? EVP_MD_get_type(md) : NID_undef);
    return {n.name, 0};
  }
  return digest_for_nid(SSL_CIPHER_get_digest_nid(cipher));
}

const char* kx_for(const SSL_CIPHER* cipher) {
  switch (SSL_CIPHER_get_kx_nid(cipher)) {
    case NID_kx_ecdhe:
    case NID_kx_ecdhe_psk:
    case NID_kx_any:  // TLS 1.3: see negotiated_cipher_names for FFDHE groups
      return "CALG_ECDH_EPHEM";
    case NID_kx_dhe:
    case NID_kx_dhe_psk:
      return "CALG_DH_EPHEM";
    case NID_kx_rsa:
    case NID_kx_rsa_psk:
      return "CALG_RSA_KEYX";
    default:
      return kUnknown;
  }
}

int group_bits(int nid) {
  switch (nid) {
    case NID_X25519:
      return 256;
    case NID_X448:
      return 448;
    case NID_X9_62_prime256v1:
      return 256;
    case NID_secp384r1:
      return 384;
    case NID_secp521r1:
      return 521;
    case NID_brainpoolP256r1:
      return 256;
    case NID_brainpoolP384r1:
      return 384;
    case NID_brainpoolP512r1:
      return 512;
    case NID_ffdhe2048:
      return 2048;
    case NID_ffdhe3072:
      return 3072;
    case NID_ffdhe4096:
      return 4096;
    case NID_ffdhe6144:
      return 6144;
    case NID_ffdhe8192:
      return 8192;
    default:
      return 0;
  }
}

bool is_ffdhe(int nid) {
  return nid == NID_ffdhe2048 || nid == NID_ffdhe3072 || nid == NID_ffdhe4096 || nid == NID_ffdhe6144 ||
         nid == NID_ffdhe8192;
}

int certificate_bits(SSL* ssl) {
  // RSA key transport: the strength is the RSA key that encrypted the premaster secret, i.e.
  // the server's certificate key, whichever side we are.
  X509* cert = SSL_is_server(ssl) ? SSL_get_certificate(ssl) : SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return 0;
  EVP_PKEY* key = X509_get0_pubkey(cert);
  return key != nullptr ? EVP_PKEY_get_bits(key) : 0;
}

int ephemeral_key_bits(SSL* ssl) {
  EVP_PKEY* key = nullptr;
  if (SSL_get_peer_tmp_key(ssl, &key) != 1 || key == nullptr) {
    key = nullptr;
    if (SSL_get_tmp_key(ssl, &key) != 1 || key == nullptr) return 0;
  }
  int bits = EVP_PKEY_get_bits(key);
  EVP_PKEY_free(key);  // both getters return a new reference
  return bits > 0 ? bits : 0;
}

}  // namespace

ExchangeCipherNames exchange_cipher_names(const SSL_CIPHER* cipher, int kx_bits) {
  ExchangeCipherNames out;
  out.kx_bits = kx_bits;
  if (cipher == nullptr) {
    out.bulk = out.mac = out.kx = kUnknown;
    return out;
  }
  Named bulk = bulk_for(cipher);
  Named mac = mac_for(cipher);
  out.bulk = bulk.name;
  out.bulk_bits = bulk.bits;
  out.mac = mac.name;
  out.mac_bits = mac.bits;
  out.kx = kx_for(cipher);
  return out;
}

int kx_strength_bits(SSL* ssl) {
  const SSL_CIPHER* cipher = ssl != nullptr ? SSL_get_current_cipher(ssl) : nullptr;
  if (cipher == nullptr) return 0;
  int kx = SSL_CIPHER_get_kx_nid(cipher);
  if (kx == NID_kx_rsa || kx == NID_kx_rsa_psk) return certificate_bits(ssl);
  // Named groups first: the ephemeral key's bit count says 253 for X25519.
  if (int bits = group_bits(SSL_get_negotiated_group(ssl)); bits > 0) return bits;
  return ephemeral_key_bits(ssl);
}

ExchangeCipherNames negotiated_cipher_names(SSL* ssl) {
  const SSL_CIPHER* cipher = ssl != nullptr ? SSL_get_current_cipher(ssl) : nullptr;
  ExchangeCipherNames names = exchange_cipher_names(cipher, kx_strength_bits(ssl));
  if (cipher != nullptr && SSL_CIPHER_get_kx_nid(cipher) == NID_kx_any && is_ffdhe(SSL_get_negotiated_group(ssl))) {
    names.kx = "CALG_DH_EPHEM";
  }
  return names;
}

std::string exchange_success_sentence(Version v, bool server_side, const ExchangeCipherNames& names) {
  return fmt::format(
      "TLS protocol {} negotiation succeeded using bulk encryption algorithm {} with strength {} bits, "
      "MAC hash algorithm {} with strength {} bits and key exchange algorithm {} with strength {} bits",
      exchange_protocol_name(v, server_side), names.bulk, names.bulk_bits, names.mac, names.mac_bits, names.kx,
      names.kx_bits);
}

}  // namespace sluice::tls
