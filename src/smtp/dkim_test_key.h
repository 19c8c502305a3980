// For tests: a fresh RSA key pair, the private half as the PEM text DkimSigner reads, the key
// itself to verify signatures with.
#pragma once
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

namespace sluice::smtp {

struct DkimTestKey {
  std::string private_pem;
  std::shared_ptr<EVP_PKEY> key;
};

/// `bits` below 1024 makes a key the signer refuses; `ec` makes a P-256 key (not RSA).
inline DkimTestKey dkim_test_key(int bits, bool ec = false) {
  EVP_PKEY* raw = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(bits);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), raw, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return {std::string(data, size), std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free)};
}

}  // namespace sluice::smtp
