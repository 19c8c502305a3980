#include "probe/certificate_facts.h"

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509v3.h>
#include <asio/ip/address.hpp>

#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "tls/context_policy.h"

namespace sluice::probe {
namespace {

long days_until(const ASN1_TIME* t, std::chrono::system_clock::time_point now) {
  time_t now_t = std::chrono::system_clock::to_time_t(now);
  ASN1_TIME* now_asn1 = ASN1_TIME_set(nullptr, now_t);
  int days = 0, seconds = 0;
  ASN1_TIME_diff(&days, &seconds, now_asn1, t);
  ASN1_TIME_free(now_asn1);
  // Whole days left, rounding towards "less time": a certificate ending in 5 hours has 0 days.
  if (seconds < 0 && days <= 0) return days - 1;
  return days;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  const unsigned char* p = ASN1_STRING_get0_data(ip);
  int n = ASN1_STRING_length(ip);
  if (n == 4) return fmt::format("{}.{}.{}.{}", p[0], p[1], p[2], p[3]);
  if (n == 16) {
    asio::ip::address_v6::bytes_type bytes;
    std::copy(p, p + 16, bytes.begin());
    return asio::ip::address_v6(bytes).to_string();
  }
  return "";
}

bool is_ip(const std::string& text) {
  std::error_code ec;
  asio::ip::make_address(text, ec);
  return !ec;
}

}  // namespace

std::shared_ptr<X509_STORE> make_trust_store(const std::string& ca_file) {
  std::shared_ptr<X509_STORE> store(X509_STORE_new(), X509_STORE_free);
  if (!store) throw std::runtime_error("OpenSSL cannot create a trust store");
  if (ca_file.empty()) {
    // The hashed directory is read lazily, one issuer at a time; the bundle file would be parsed
    // whole (some 140 certificates) on every run, a noticeable part of probing one host.
    std::error_code ec;
    const char* dir = X509_get_default_cert_dir();
    if (std::filesystem::is_directory(dir, ec))
      X509_STORE_load_path(store.get(), dir);
    else
      X509_STORE_set_default_paths(store.get());
  } else if (X509_STORE_load_file(store.get(), ca_file.c_str()) != 1) {
    throw std::runtime_error(fmt::format("--ca-file {}: no certificate could be read from it", ca_file));
  }
  return store;
}

CertificateFacts describe_certificate(X509* cert, std::chrono::system_clock::time_point now) {
  CertificateFacts f;
  f.subject = tls::certificate_subject(cert);
  char* issuer = X509_NAME_oneline(X509_get_issuer_name(cert), nullptr, 0);
  f.issuer = issuer ? issuer : "";
  OPENSSL_free(issuer);
  if (auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type == GEN_DNS) {
        const auto* s = name->d.dNSName;
        f.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
      } else if (name->type == GEN_IPADD) {
        f.ip_addresses.push_back(ip_text(name->d.iPAddress));
      }
    }
    GENERAL_NAMES_free(names);
  }
  f.not_before = tls::iso_time(X509_get0_notBefore(cert));
  f.not_after = tls::iso_time(X509_get0_notAfter(cert));
  f.days_left = days_until(X509_get0_notAfter(cert), now);
  if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
    f.key_bits = EVP_PKEY_get_bits(key);
    switch (EVP_PKEY_get_base_id(key)) {
      case EVP_PKEY_RSA:
        f.key_type = "RSA";
        break;
      case EVP_PKEY_EC: {
        f.key_type = "EC";
        char curve[80] = {};
        size_t len = 0;
        if (EVP_PKEY_get_group_name(key, curve, sizeof curve, &len)) f.curve = curve;
        break;
      }
      case EVP_PKEY_ED25519:
        f.key_type = "Ed25519";
        break;
      case EVP_PKEY_ED448:
        f.key_type = "Ed448";
        break;
      case EVP_PKEY_DSA:
        f.key_type = "DSA";
        break;
      default:
        f.key_type = EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown";
    }
  }
  int signature_nid = X509_get_signature_nid(cert);
  f.signature_algorithm = OBJ_nid2ln(signature_nid) ? OBJ_nid2ln(signature_nid) : "unknown";
  int digest_nid = NID_undef;
  if (X509_get_signature_info(cert, &digest_nid, nullptr, nullptr, nullptr)) f.sha1_signed = digest_nid == NID_sha1;
  f.self_signed = X509_check_issued(cert, cert) == X509_V_OK;
  f.sha256_fingerprint = tls::certificate_sha256(cert);
  return f;
}

std::string certificate_der(X509* cert) {
  unsigned char* out = nullptr;
  int n = i2d_X509(cert, &out);
  std::string der = n > 0 ? std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n)) : std::string();
  OPENSSL_free(out);
  return der;
}

ChainFacts analyse_chain(const std::vector<CertificatePtr>& chain, const std::string& expected_name, X509_STORE* trust,
                         std::chrono::system_clock::time_point now) {
  ChainFacts facts;
  facts.expected_name = expected_name;
  if (chain.empty()) {
    facts.trust_error = "no certificate";
    return facts;
  }
  for (const auto& cert : chain) {
    facts.certificates.push_back(describe_certificate(cert.get(), now));
    facts.der.push_back(certificate_der(cert.get()));
    const auto& c = facts.certificates.back();
    // A trust anchor's own signature is never checked, so its digest does not matter.
    if (c.sha1_signed && !c.self_signed) facts.has_sha1_signature = true;
  }
  X509* leaf = chain.front().get();
  if (!expected_name.empty()) {
    facts.name_matches = is_ip(expected_name) ? X509_check_ip_asc(leaf, expected_name.c_str(), 0) == 1
                                              : X509_check_host(leaf, expected_name.c_str(), 0, 0, nullptr) == 1;
  }
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (std::size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted, chain[i].get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  if (ctx && trust && X509_STORE_CTX_init(ctx, trust, leaf, untrusted) == 1) {
    X509_STORE_CTX_set_time(ctx, 0, std::chrono::system_clock::to_time_t(now));
    facts.trusted = X509_verify_cert(ctx) == 1;
    if (!facts.trusted) facts.trust_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  } else {
    facts.trust_error = "verification could not start";
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  return facts;
}

}  // namespace sluice::probe
