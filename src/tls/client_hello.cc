#include "tls/client_hello.h"

#include <openssl/tls1.h>

#include <algorithm>

namespace sluice::tls {
namespace {

// RFC 8701: GREASE values are 0x?A?A with both bytes equal.
bool is_grease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

int rank(Version v) { return static_cast<int>(v); }

}  // namespace

// RFC 6066 server_name extension: list length, then entries of type(1) length(2) name.
std::string sni_from_extension(std::span<const uint8_t> body) {
  if (body.size() < 2) return {};
  size_t list_len = (size_t{body[0]} << 8) | body[1];
  if (list_len != body.size() - 2) return {};
  size_t pos = 2;
  while (pos + 3 <= body.size()) {
    uint8_t type = body[pos];
    size_t len = (size_t{body[pos + 1]} << 8) | body[pos + 2];
    pos += 3;
    if (pos + len > body.size()) return {};
    if (type == TLSEXT_NAMETYPE_host_name) {
      std::string name(reinterpret_cast<const char*>(body.data() + pos), len);
      // A NUL or control byte would let a client smuggle text into our log lines.
      bool printable = std::all_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
      });
      return printable ? name : std::string();
    }
    pos += len;
  }
  return {};
}

ClientHelloInfo versions_from_hello(uint16_t legacy_version, std::span<const uint8_t> supported_versions) {
  ClientHelloInfo info;
  info.seen = true;
  // supported_versions body: a 1-byte length, then 2-byte versions. A body whose length byte
  // disagrees with its size, or that is odd, is treated as absent: OpenSSL itself rejects such a
  // hello, and the legacy version is then the best account of the client.
  bool well_formed = supported_versions.size() >= 1 && supported_versions[0] == supported_versions.size() - 1 &&
                     supported_versions[0] % 2 == 0 && supported_versions[0] > 0;
  if (well_formed) {
    for (size_t i = 1; i + 1 < supported_versions.size(); i += 2) {
      uint16_t v = static_cast<uint16_t>((supported_versions[i] << 8) | supported_versions[i + 1]);
      if (is_grease(v)) continue;
      Version version = version_from_wire(v);
      if (version == Version::Unknown) continue;  // drafts, DTLS, future versions
      if (std::find(info.offered.begin(), info.offered.end(), version) == info.offered.end()) {
        info.offered.push_back(version);
      }
    }
    std::sort(info.offered.begin(), info.offered.end(), [](Version a, Version b) { return rank(a) > rank(b); });
    if (!info.offered.empty()) {
      info.from_extension = true;
      return info;
    }
  }
  if (Version v = version_from_wire(legacy_version); v != Version::Unknown) info.offered.push_back(v);
  return info;
}

ClientHelloInfo read_client_hello(SSL* ssl) {
  if (ssl == nullptr) return {};
  // 0 outside the client hello callback, where OpenSSL has no parsed hello to give.
  unsigned int legacy = SSL_client_hello_get0_legacy_version(ssl);
  if (legacy == 0) return {};
  const unsigned char* body = nullptr;
  size_t len = 0;
  std::span<const uint8_t> versions;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &body, &len) == 1 && body != nullptr) {
    versions = std::span<const uint8_t>(body, len);
  }
  ClientHelloInfo info = versions_from_hello(static_cast<uint16_t>(legacy), versions);
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &body, &len) == 1 && body != nullptr) {
    info.sni = sni_from_extension(std::span<const uint8_t>(body, len));
  }
  return info;
}

std::string describe_offered(const ClientHelloInfo& info) {
  if (!info.seen) return "no ClientHello received";
  if (info.offered.empty()) return "no known TLS version";
  if (!info.from_extension) {
    // Without supported_versions the legacy version is a maximum: the client may also accept
    // anything below it, which only the server's minimum decides.
    if (info.offered.front() == Version::Tls1_0 || info.offered.front() == Version::Ssl3) {
      return std::string(header_name(info.offered.front())) + " only";
    }
    return "up to " + std::string(header_name(info.offered.front())) + " (no supported_versions extension)";
  }
  if (info.offered.size() == 1) return std::string(header_name(info.offered.front())) + " only";
  std::string out;
  for (Version v : info.offered) {
    if (!out.empty()) out += ", ";
    out += header_name(v);
  }
  return out;
}

}  // namespace sluice::tls
