// A client certificate as an OAuth 2.0 client credential: the client proves itself with a JWT it
// signs with the certificate's key (RFC 7523 client assertion), as Entra ID accepts instead of a
// client secret. The key never leaves the process; the assertion is good for 10 minutes.
#pragma once
#include <openssl/evp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice::outbound {

class ClientCertificate {
 public:
  /// Reads a PEM certificate and its unencrypted PEM RSA key. Fails naming the file: missing,
  /// not PEM, the key readable by others, encrypted, not RSA, or not the certificate's key.
  static Result<ClientCertificate> load(const std::filesystem::path& certificate, const std::filesystem::path& key);

  /// The signed assertion "header.claims.signature" (RS256): header with x5t (the base64url
  /// SHA-1 thumbprint Entra ID looks the certificate up by) and x5t#S256; claims aud = the token
  /// endpoint, iss = sub = client_id, a random jti, iat = nbf = now, exp = now + 10 minutes.
  Result<std::string> assertion(std::string_view client_id, std::string_view audience,
                                std::chrono::system_clock::time_point now) const;

  const std::string& sha1_thumbprint() const { return x5t_; }  ///< base64url, as in the header's x5t

 private:
  std::string x5t_, x5t_s256_;
  std::shared_ptr<EVP_PKEY> key_;
};

/// How long an assertion is valid (its exp - iat).
inline constexpr std::chrono::minutes kAssertionLifetime{10};

}  // namespace sluice::outbound
