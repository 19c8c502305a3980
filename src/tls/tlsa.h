// A TLSA record (RFC 6698 section 2.1) as DNS delivers it and OpenSSL's DANE API takes it. Here in
// tls/ because it is TLS data that DNS happens to carry: the resolver fills it, the SMTP client
// hands it to SSL_dane_tlsa_add.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::tls {

struct TlsaRecord {
  std::uint8_t usage = 0;     ///< 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
  std::uint8_t selector = 0;  ///< 0 full certificate, 1 SubjectPublicKeyInfo
  std::uint8_t matching = 0;  ///< 0 exact, 1 SHA2-256, 2 SHA2-512
  std::vector<unsigned char> data;
  bool operator==(const TlsaRecord&) const = default;
};

}  // namespace sluice::tls
