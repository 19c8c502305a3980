#include "tls/client_certificates.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

#include "base/text.h"
#include "tls/context_policy.h"
#include "tls/server_context.h"

namespace sluice::tls {
namespace {

/// Lower case without a final dot: the form names are compared in.
std::string comparable_name(std::string_view name) {
  std::string out = ascii_lower(name);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

/// An ASN.1 string as text; empty when it holds a NUL (a name that smuggles one is no name).
std::string asn1_text(const ASN1_STRING* s) {
  const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(s));
  std::string text(data, static_cast<std::size_t>(ASN1_STRING_length(s)));
  return text.find('\0') == std::string::npos ? text : std::string();
}

std::string last_common_name(X509* cert) {
  const X509_NAME* name = X509_get_subject_name(cert);
  int at = -1;
  for (int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, NID_commonName, i))
    at = i;
  if (at < 0) return {};
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
  if (n < 0) return {};
  std::string text(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return text.find('\0') == std::string::npos ? text : std::string();
}

/// Per client SSL: set (to a non-null marker) when the server sent a CertificateRequest.
int certificate_request_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

/// OpenSSL calls this on the client side only when the server asks for a certificate.
int note_certificate_request(SSL* ssl, void*) {
  static char marker;
  SSL_set_ex_data(ssl, certificate_request_index(), &marker);
  return 1;
}

/// Every chain is let through the handshake; check_client_certificate() reads the result later.
int accept_for_later_check(int, X509_STORE_CTX*) { return 1; }

}  // namespace

bool certificate_name_matches(std::string_view pattern, std::string_view name) {
  const std::string p = comparable_name(pattern);
  const std::string n = comparable_name(name);
  if (p.empty() || n.empty()) return false;
  if (p == n) return true;
  if (p.size() < 3 || p.compare(0, 2, "*.") != 0) return false;
  const std::string_view suffix = std::string_view(p).substr(1);  // ".example.org"
  if (n.size() <= suffix.size() || n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  const std::string_view label = std::string_view(n).substr(0, n.size() - suffix.size());
  return label.find('.') == std::string_view::npos && label.find('*') == std::string_view::npos;
}

std::vector<std::string> certificate_dns_names(X509* cert) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* entry = sk_GENERAL_NAME_value(sans, i);
    if (entry->type != GEN_DNS) continue;
    if (std::string text = asn1_text(entry->d.dNSName); !text.empty()) names.push_back(std::move(text));
  }
  GENERAL_NAMES_free(sans);
  return names;
}

std::vector<std::string> certificate_identities(X509* cert) {
  std::vector<std::string> names = certificate_dns_names(cert);
  if (names.empty()) {
    if (std::string cn = last_common_name(cert); !cn.empty()) names.push_back(std::move(cn));
  }
  return names;
}

void record_certificate_requests(SSL_CTX* ctx) { SSL_CTX_set_cert_cb(ctx, note_certificate_request, nullptr); }

bool server_requested_certificate(SSL* ssl) {
  return ssl != nullptr && SSL_get_ex_data(ssl, certificate_request_index()) != nullptr;
}

void request_client_certificates(SSL_CTX* ctx, const std::filesystem::path& ca_file) {
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1)
    throw_openssl_error("client_ca_file " + ca_file.string());
  // The CA names in the CertificateRequest let a client with several certificates pick the right one.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_file.c_str());
  if (names == nullptr) throw_openssl_error("client_ca_file " + ca_file.string() + " (no CA certificate in it)");
  SSL_CTX_set_client_CA_list(ctx, names);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_for_later_check);
}

ClientCertificateCheck check_client_certificate(SSL* ssl, const std::vector<std::string>& allowed_names) {
  ClientCertificateCheck check;
  X509* cert = ssl ? SSL_get0_peer_certificate(ssl) : nullptr;
  if (cert == nullptr) {
    check.reason = "no client certificate was presented";
    return check;
  }
  check.presented = true;
  check.subject = certificate_subject(cert);
  check.dns_names = certificate_dns_names(cert);
  if (const long verified = SSL_get_verify_result(ssl); verified != X509_V_OK) {
    check.reason = fmt::format("the client certificate is not trusted ({})", X509_verify_cert_error_string(verified));
    return check;
  }
  const std::vector<std::string> names = certificate_identities(cert);
  for (const std::string& name : names) {
    for (const std::string& pattern : allowed_names) {
      if (certificate_name_matches(pattern, name)) {
        check.accepted = true;
        return check;
      }
    }
  }
  check.reason = names.empty() ? "the client certificate names no host (no DNS name, no common name)"
                               : fmt::format("the client certificate name {} is not allowed on this connector",
                                             fmt::join(names, ", "));
  return check;
}

}  // namespace sluice::tls
