#include "outbound/client_assertion.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/secret_file.h"
#include "tls/server_context.h"

namespace sluice::outbound {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

/// Never asks a terminal for a pass phrase: an encrypted key fails to load instead.
int no_pass_phrase(char*, int, int, void*) { return -1; }

std::string certificate_digest(X509* certificate, const EVP_MD* md) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(certificate, md, digest, &length);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string random_jti() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  return fmt::format("{:02x}", fmt::join(bytes, ""));
}

}  // namespace

Result<ClientCertificate> ClientCertificate::load(const std::filesystem::path& certificate,
                                                  const std::filesystem::path& key) {
  ERR_clear_error();
  std::unique_ptr<BIO, BioDeleter> cert_bio(BIO_new_file(certificate.c_str(), "r"));
  if (!cert_bio) return fail(fmt::format("client_certificate {}: cannot be read", certificate.string()));
  std::unique_ptr<X509, X509Deleter> x509(PEM_read_bio_X509(cert_bio.get(), nullptr, no_pass_phrase, nullptr));
  if (!x509) return fail(fmt::format("client_certificate {}: not a PEM certificate", certificate.string()));

  if (auto problem = check_private_file(key); !problem)
    return fail(fmt::format("client_key {} {}", key.string(), problem.error().message));
  std::unique_ptr<BIO, BioDeleter> key_bio(BIO_new_file(key.c_str(), "r"));
  if (!key_bio) return fail(fmt::format("client_key {}: cannot be read", key.string()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_pass_phrase, nullptr);
  if (!pkey)
    return fail(
        fmt::format("client_key {}: not an unencrypted PEM private key ({})", key.string(), tls::openssl_error_text()));
  ClientCertificate loaded;
  loaded.key_.reset(pkey, EVP_PKEY_free);
  if (!EVP_PKEY_is_a(pkey, "RSA"))
    return fail(fmt::format("client_key {}: not an RSA key (Entra ID takes RSA certificates for client assertions)",
                            key.string()));
  if (X509_check_private_key(x509.get(), pkey) != 1) {
    ERR_clear_error();
    return fail(
        fmt::format("client_key {} is not the key of client_certificate {}", key.string(), certificate.string()));
  }
  loaded.x5t_ = certificate_digest(x509.get(), EVP_sha1());
  loaded.x5t_s256_ = certificate_digest(x509.get(), EVP_sha256());
  return loaded;
}

Result<std::string> ClientCertificate::assertion(std::string_view client_id, std::string_view audience,
                                                 std::chrono::system_clock::time_point now) const {
  const auto issued = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"x5t", x5t_}, {"x5t#S256", x5t_s256_}};
  const nlohmann::json claims = {
      {"aud", audience},
      {"iss", client_id},
      {"sub", client_id},
      {"jti", random_jti()},
      {"iat", issued},
      {"nbf", issued},
      {"exp", issued + std::chrono::seconds(kAssertionLifetime).count()},
  };
  const std::string signing_input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());

  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    return fail("could not sign the client assertion: " + tls::openssl_error_text());
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1)
    return fail("could not sign the client assertion: " + tls::openssl_error_text());
  signature.resize(length);
  return signing_input + "." + base64url_encode(signature);
}

}  // namespace sluice::outbound
