// DKIM signing (RFC 6376) of the mails sluice writes itself: RFC 8460 5.3 asks that TLS-RPT report
// mail carry a DKIM signature by the reporting domain, so receivers can trust the report's origin.
// Only rsa-sha256 with relaxed/relaxed canonicalisation: what every verifier accepts, and relaxed
// survives the header refolding and trailing-space changes relays make.
#pragma once
#include <openssl/evp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice::smtp {

/// RFC 6376 3.4.2: "Name : value" as "name:value\r\n" (name lowercased, unfolded, runs of
/// whitespace as one space, none around the colon or at the end).
std::string dkim_relaxed_header(std::string_view name, std::string_view value);

/// RFC 6376 3.4.4: whitespace runs as one space, none at line ends, no empty lines at the end;
/// a non-empty body ends with CRLF. `body` has CRLF lines.
std::string dkim_relaxed_body(std::string_view body);

/// The headers signed when present (RFC 6376 5.4.1's recommendation, plus RFC 8460's two).
inline constexpr std::string_view kDkimSignedHeaders[] = {"From",
                                                          "To",
                                                          "Subject",
                                                          "Date",
                                                          "Message-ID",
                                                          "MIME-Version",
                                                          "Content-Type",
                                                          "TLS-Report-Domain",
                                                          "TLS-Report-Submitter"};

class DkimSigner {
 public:
  /// Reads an RSA private key (PEM, at least 1024 bits). Errors name the file, never its content.
  static Result<DkimSigner> load(const std::filesystem::path& pem_file, std::string domain, std::string selector);
  static Result<DkimSigner> from_pem(std::string_view pem, std::string domain, std::string selector);

  /// `message` (CRLF lines, headers, an empty line, the body) with a DKIM-Signature header in front.
  std::string sign(std::string_view message, std::chrono::system_clock::time_point now) const;

  const std::string& domain() const { return domain_; }
  const std::string& selector() const { return selector_; }

 private:
  DkimSigner(std::shared_ptr<EVP_PKEY> key, std::string domain, std::string selector)
      : key_(std::move(key)), domain_(std::move(domain)), selector_(std::move(selector)) {}
  std::shared_ptr<EVP_PKEY> key_;
  std::string domain_, selector_;
};

}  // namespace sluice::smtp
