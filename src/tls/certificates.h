// The server's certificates: configured files, or a self-signed pair made on first start.
#pragma once
#include <openssl/ssl.h>

#include <filesystem>
#include <string>
#include <vector>

namespace sluice::tls {

/// A certificate chain and its key, as PEM files.
struct CertificateFiles {
  std::filesystem::path chain;
  std::filesystem::path key;
};

/// Loads the chain and its key into `ctx` (a server's certificate, or the client certificate a send
/// connector presents); throws std::runtime_error naming the file that failed, or both files when
/// the key does not belong to the certificate.
void use_certificate_files(SSL_CTX* ctx, const CertificateFiles& files);

/// Returns the two generated pairs under <state_dir>/tls/ (ECDSA P-256 first for modern clients,
/// then RSA-2048 for old ones that offer no ECDSA suite), creating any that are missing or
/// expire within 30 days. Names: ecdsa.crt/ecdsa.key, rsa.crt/rsa.key; keys are mode 0600.
/// The certificates name `hostname`, "localhost", 127.0.0.1 and ::1. Throws std::runtime_error
/// with a clear message if they cannot be written.
std::vector<CertificateFiles> ensure_self_signed(const std::filesystem::path& state_dir, const std::string& hostname);

/// What ensure_self_signed would find, without making or changing anything (`sluice check`):
/// the pairs it would use as they are, and the certificate files it would (re)make.
struct SelfSignedState {
  std::vector<CertificateFiles> usable;
  std::vector<std::filesystem::path> to_make;
};
SelfSignedState inspect_self_signed(const std::filesystem::path& state_dir);

}  // namespace sluice::tls
