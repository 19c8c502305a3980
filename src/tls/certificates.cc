#include "tls/certificates.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <stdexcept>

#include "base/atomic_file.h"
#include "tls/server_context.h"

namespace sluice::tls {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

[[noreturn]] void throw_certificate_error(const std::string& what) {
  throw std::runtime_error("cannot create the self-signed certificate: " + what);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

/// True when the PEM certificate at `path` exists and stays valid for 30 more days.
bool still_good(const std::filesystem::path& cert, const std::filesystem::path& key) {
  if (!std::filesystem::exists(key)) return false;
  FILE* f = std::fopen(cert.c_str(), "r");
  if (!f) return false;
  X509Ptr x(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!x) return false;
  time_t in_30_days = time(nullptr) + 30 * 86400;
  return X509_cmp_time(X509_get0_notAfter(x.get()), &in_30_days) > 0;
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw_certificate_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

void generate(PkeyPtr key, const std::string& hostname, const std::filesystem::path& dir, const std::string& stem) {
  if (!key) throw_certificate_error("key generation failed");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // a positive serial
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  // 397 days: the longest validity that strict clients still accept for a leaf.
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 397L * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("sluice self-signed"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  std::string san = "DNS:" + hostname;
  if (hostname != "localhost") san += ",DNS:localhost";
  san += ",IP:127.0.0.1,IP:::1";
  add_extension(cert.get(), NID_subject_alt_name, san);
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) throw_certificate_error("signing failed");

  BioPtr key_bio(BIO_new(BIO_s_mem()));
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  // The key first: a certificate without its key is useless, a key without its certificate is
  // simply regenerated next start.
  mode_t old = umask(077);
  auto ec = write_file_durably(dir, stem + ".key", bio_text(key_bio.get()));
  umask(old);
  if (ec) throw_certificate_error((dir / (stem + ".key")).string() + ": " + ec.message());
  ec = write_file_durably(dir, stem + ".crt", bio_text(cert_bio.get()));
  if (ec) throw_certificate_error((dir / (stem + ".crt")).string() + ": " + ec.message());
}

}  // namespace

SelfSignedState inspect_self_signed(const std::filesystem::path& state_dir) {
  SelfSignedState state;
  for (const char* stem : {"ecdsa", "rsa"}) {
    const auto dir = state_dir / "tls";
    CertificateFiles files{dir / (std::string(stem) + ".crt"), dir / (std::string(stem) + ".key")};
    if (still_good(files.chain, files.key))
      state.usable.push_back(files);
    else
      state.to_make.push_back(files.chain);
  }
  return state;
}

std::vector<CertificateFiles> ensure_self_signed(const std::filesystem::path& state_dir, const std::string& hostname) {
  auto dir = state_dir / "tls";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw_certificate_error(dir.string() + ": " + ec.message());
  std::vector<CertificateFiles> out;
  for (const char* stem : {"ecdsa", "rsa"}) {
    CertificateFiles files{dir / (std::string(stem) + ".crt"), dir / (std::string(stem) + ".key")};
    if (!still_good(files.chain, files.key)) {
      PkeyPtr key(std::string(stem) == "ecdsa" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                               : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
      generate(std::move(key), hostname, dir, stem);
    }
    out.push_back(files);
  }
  return out;
}

void use_certificate_files(SSL_CTX* ctx, const CertificateFiles& files) {
  const auto& chain = files.chain;
  const auto& key = files.key;
  if (SSL_CTX_use_certificate_chain_file(ctx, chain.c_str()) != 1) throw_openssl_error("certificate " + chain.string());
  // OpenSSL compares the key with the certificate while loading it; its "key values mismatch"
  // alone would not say which two files disagree.
  const std::string mismatch = "key " + key.string() + " does not match certificate " + chain.string();
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    const unsigned long last = ERR_peek_last_error();
    const bool mismatched = ERR_GET_LIB(last) == ERR_LIB_X509 && ERR_GET_REASON(last) == X509_R_KEY_VALUES_MISMATCH;
    throw_openssl_error(mismatched ? mismatch : "key " + key.string());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) throw_openssl_error(mismatch);
}

}  // namespace sluice::tls
