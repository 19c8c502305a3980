#include "tls/dane.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <fmt/format.h>

#include "tls/server_context.h"

namespace sluice::tls {
namespace {

constexpr std::size_t kShownHexDigits = 12;

std::string hex_prefix(const unsigned char* data, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < size && out.size() < kShownHexDigits; ++i) out += fmt::format("{:02x}", data[i]);
  if (size * 2 > kShownHexDigits) out += "...";
  return out;
}

std::string records_text(const std::vector<TlsaRecord>& tlsa) {
  std::string out;
  for (const auto& r : tlsa) out += (out.empty() ? "" : ", ") + tlsa_text(r);
  return out;
}

}  // namespace

std::string tlsa_unusable_reason(const TlsaRecord& r) {
  if (r.usage == 0 || r.usage == 1)
    return fmt::format("usage {} (PKIX-{}) is not used for SMTP (RFC 7672 3.1.3)", r.usage, r.usage == 0 ? "TA" : "EE");
  if (r.usage != 2 && r.usage != 3) return fmt::format("unknown usage {}", r.usage);
  if (r.selector > 1) return fmt::format("unknown selector {}", r.selector);
  switch (r.matching) {
    case 0:
      if (r.data.empty()) return "empty association data";
      return {};
    case 1:
      if (r.data.size() != 32) return fmt::format("SHA2-256 data of {} bytes instead of 32", r.data.size());
      return {};
    case 2:
      if (r.data.size() != 64) return fmt::format("SHA2-512 data of {} bytes instead of 64", r.data.size());
      return {};
    default:
      return fmt::format("unknown matching type {}", r.matching);
  }
}

std::vector<TlsaRecord> usable_tlsa(const std::vector<TlsaRecord>& records) {
  std::vector<TlsaRecord> out;
  for (const auto& r : records)
    if (tlsa_unusable_reason(r).empty()) out.push_back(r);
  return out;
}

std::string tlsa_text(const TlsaRecord& r) {
  return fmt::format("{} {} {} {}", r.usage, r.selector, r.matching, hex_prefix(r.data.data(), r.data.size()));
}

std::string tlsa_data_hex(const TlsaRecord& r) { return fmt::format("{:02x}", fmt::join(r.data, "")); }

std::string tlsa_presentation(const TlsaRecord& r) {
  return fmt::format("{} {} {} {}", r.usage, r.selector, r.matching, tlsa_data_hex(r));
}

Result<void> enable_dane(SSL_CTX* ctx) {
  // Repeated calls return 1 without changing anything (OpenSSL keeps its digest table).
  if (SSL_CTX_dane_enable(ctx) <= 0) return fail("cannot enable DANE on the TLS context: " + openssl_error_text());
  return {};
}

Result<void> set_dane_peer(SSL* ssl, const std::vector<std::string>& names, const std::vector<TlsaRecord>& tlsa) {
  auto usable = usable_tlsa(tlsa);
  if (names.empty() || names[0].empty()) return fail("DANE needs the TLSA base domain (the MX host name)");
  if (usable.empty()) return fail("no usable TLSA record for " + names[0]);
  if (auto enabled = enable_dane(SSL_get_SSL_CTX(ssl)); !enabled) return enabled;
  // Also the SNI name (RFC 7672 8.1) and the first reference identifier.
  if (SSL_dane_enable(ssl, names[0].c_str()) <= 0)
    return fail("cannot enable DANE for " + names[0] + ": " + openssl_error_text());
  for (std::size_t i = 1; i < names.size(); ++i) {
    if (names[i].empty() || names[i] == names[0]) continue;
    if (SSL_add1_host(ssl, names[i].c_str()) != 1)
      return fail("cannot add the reference name " + names[i] + ": " + openssl_error_text());
  }
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  for (const auto& r : usable) {
    // Returns 0 for a record OpenSSL finds unusable, which usable_tlsa() has already left out.
    if (SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching, r.data.data(), r.data.size()) <= 0)
      return fail("OpenSSL refused TLSA " + tlsa_text(r) + ": " + openssl_error_text());
  }
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  return {};
}

Result<std::string> dane_match(SSL* ssl, const std::string& host) {
  std::uint8_t usage = 0, selector = 0, matching = 0;
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &matching, &data, &size);
  if (depth < 0 || SSL_get_verify_result(ssl) != X509_V_OK)
    return fail(fmt::format("TLSA mismatch: no TLSA record of {} matched its certificate chain", host));
  return fmt::format("certificate matched TLSA {} {} {} {} of {} (depth {})", usage, selector, matching,
                     hex_prefix(data, size), host, depth);
}

std::string dane_failure(SSL* ssl, const std::string& host, const std::vector<TlsaRecord>& tlsa) {
  long result = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  std::string records = records_text(usable_tlsa(tlsa));
  if (result == X509_V_ERR_DANE_NO_MATCH)
    return fmt::format("TLSA mismatch: no TLSA record of {} matches its certificate chain ({})", host, records);
  if (result != X509_V_OK)
    return fmt::format("TLSA mismatch: the certificate chain of {} failed DANE verification against ({}): {}", host,
                       records, X509_verify_cert_error_string(result));
  return fmt::format("TLS handshake with {} failed before its certificate could be checked against TLSA ({})", host,
                     records);
}

}  // namespace sluice::tls
