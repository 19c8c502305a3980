#include "tls/exchange_names.h"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include <fmt/core.h>

#include "base/lookup.h"

namespace sluice::tls {
namespace {

constexpr const char* kUnknown = "CALG_UNKNOWN";

/// A Windows CALG algorithm name and the strength SCHANNEL reports with it.
struct Calg {
  const char* name;
  int bits;
};

/// OpenSSL's cipher and digest NIDs as SCHANNEL names them in the protocol log.
struct CalgForNid {
  int nid;
  Calg calg;
};

constexpr CalgForNid kCalgs[] = {
    // bulk ciphers
    {NID_aes_128_gcm, {"CALG_AES_128", 128}},
    {NID_aes_128_cbc, {"CALG_AES_128", 128}},
    {NID_aes_128_ccm, {"CALG_AES_128", 128}},
    {NID_aes_256_gcm, {"CALG_AES_256", 256}},
    {NID_aes_256_cbc, {"CALG_AES_256", 256}},
    {NID_aes_256_ccm, {"CALG_AES_256", 256}},
    {NID_des_ede3_cbc, {"CALG_3DES", 168}},
    {NID_rc4, {"CALG_RC4", 128}},
    // Windows has no CALG for ChaCha20 (SCHANNEL never negotiates it); this name follows the
    // CALG_ pattern so text searches for "CALG_" still find the line (docs/protocol-log.md).
    {NID_chacha20_poly1305, {"CALG_CHACHA20_POLY1305", 256}},
    // digests
    {NID_sha1, {"CALG_SHA1", 160}},
    {NID_sha256, {"CALG_SHA_256", 256}},
    {NID_sha384, {"CALG_SHA_384", 384}},
    {NID_sha512, {"CALG_SHA_512", 512}},
    {NID_md5, {"CALG_MD5", 128}},
};

std::optional<Calg> calg_for_nid(int nid) { return lookup(kCalgs, &CalgForNid::nid, nid, &CalgForNid::calg); }

Calg bulk_for(const SSL_CIPHER* cipher) {
  return calg_for_nid(SSL_CIPHER_get_cipher_nid(cipher)).value_or(Calg{kUnknown, SSL_CIPHER_get_bits(cipher, nullptr)});
}

Calg digest_for_nid(int nid) { return calg_for_nid(nid).value_or(Calg{kUnknown, 0}); }

Calg mac_for(const SSL_CIPHER* cipher) {
  if (SSL_CIPHER_is_aead(cipher)) {
    // SCHANNEL reports the PRF hash of an AEAD suite with strength 0 (the published
    // AES_128 GCM line says "CALG_SHA_256 with strength 0 bits").
    const EVP_MD* md = SSL_CIPHER_get_handshake_digest(cipher);
    Calg n = digest_for_nid(md != nullptr ? EVP_MD_get_type(md) : NID_undef);
    return {n.name, 0};
  }
  return digest_for_nid(SSL_CIPHER_get_digest_nid(cipher));
}

const char* kx_for(const SSL_CIPHER* cipher) {
  static constexpr Named<int> kKeyExchanges[] = {
      {NID_kx_ecdhe, "CALG_ECDH_EPHEM"}, {NID_kx_ecdhe_psk, "CALG_ECDH_EPHEM"},
      {NID_kx_any, "CALG_ECDH_EPHEM"},  // TLS 1.3: see negotiated_cipher_names for FFDHE groups
      {NID_kx_dhe, "CALG_DH_EPHEM"},     {NID_kx_dhe_psk, "CALG_DH_EPHEM"},
      {NID_kx_rsa, "CALG_RSA_KEYX"},     {NID_kx_rsa_psk, "CALG_RSA_KEYX"},
  };
  return name_of(kKeyExchanges, SSL_CIPHER_get_kx_nid(cipher)).value_or(kUnknown).data();
}

/// The strength of a named group, which the ephemeral key's bit count does not say (253 for X25519).
struct GroupBits {
  int nid;
  int bits;
};

constexpr GroupBits kGroupBits[] = {
    {NID_X25519, 256},           {NID_X448, 448},
    {NID_X9_62_prime256v1, 256}, {NID_secp384r1, 384},
    {NID_secp521r1, 521},        {NID_brainpoolP256r1, 256},
    {NID_brainpoolP384r1, 384},  {NID_brainpoolP512r1, 512},
    {NID_ffdhe2048, 2048},       {NID_ffdhe3072, 3072},
    {NID_ffdhe4096, 4096},       {NID_ffdhe6144, 6144},
    {NID_ffdhe8192, 8192},
};

int group_bits(int nid) { return lookup(kGroupBits, &GroupBits::nid, nid, &GroupBits::bits).value_or(0); }

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
  Calg bulk = bulk_for(cipher);
  Calg mac = mac_for(cipher);
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
