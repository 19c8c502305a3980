#include "tls/tlsa_match.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace sluice::tls {
namespace {

Result<std::string> selected_bytes(std::uint8_t selector, const std::string& der) {
  if (selector == 0) return der;
  if (selector != 1) return fail(Error{"TLSA selector " + std::to_string(selector) + " is not 0 or 1"});
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, decltype(&X509_free)> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
  if (!cert) return fail(Error{"the certificate does not parse"});
  unsigned char* out = nullptr;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &out);
  if (n <= 0) return fail(Error{"the certificate's public key cannot be encoded"});
  std::string spki(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return spki;
}

}  // namespace

Result<std::vector<unsigned char>> tlsa_association(const TlsaRecord& record, const std::string& certificate_der) {
  auto bytes = selected_bytes(record.selector, certificate_der);
  if (!bytes) return fail(bytes.error());
  if (record.matching == 0) return std::vector<unsigned char>(bytes->begin(), bytes->end());
  const EVP_MD* md = record.matching == 1 ? EVP_sha256() : record.matching == 2 ? EVP_sha512() : nullptr;
  if (!md) return fail(Error{"TLSA matching type " + std::to_string(record.matching) + " is not 0, 1 or 2"});
  std::vector<unsigned char> digest(EVP_MAX_MD_SIZE);
  unsigned int size = 0;
  if (EVP_Digest(bytes->data(), bytes->size(), digest.data(), &size, md, nullptr) != 1)
    return fail(Error{"digest failed"});
  digest.resize(size);
  return digest;
}

int tlsa_matching_depth(const TlsaRecord& record, const std::vector<std::string>& chain_der) {
  bool end_entity = record.usage == 1 || record.usage == 3;
  for (std::size_t depth = end_entity ? 0 : 1; depth < chain_der.size(); ++depth) {
    auto data = tlsa_association(record, chain_der[depth]);
    if (data && *data == record.data) return static_cast<int>(depth);
    if (end_entity) break;
  }
  return -1;
}

}  // namespace sluice::tls
