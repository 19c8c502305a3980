#include "probe/server_flight.h"

#include <fmt/format.h>

#include <array>

namespace sluice::probe {
namespace {

constexpr std::uint8_t kChangeCipherSpec = 20, kAlert = 21, kHandshake = 22, kApplicationData = 23;
constexpr std::uint8_t kServerHello = 2, kCertificate = 11, kServerKeyExchange = 12, kServerHelloDone = 14;
constexpr std::uint16_t kSupportedVersions = 43, kKeyShare = 51;
constexpr std::uint16_t kTls13 = 0x0304;
// RFC 8446 2.1: record bodies are at most 2^14 bytes plus expansion.
constexpr std::size_t kMaxRecord = (1u << 14) + 2048;
// A first flight with a long chain is tens of KiB; more than this is not a server's hello.
constexpr std::size_t kMaxFlight = 256 * 1024;

// RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest.
constexpr std::array<std::uint8_t, 32> kHelloRetryRandom = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

/// Bounds-checked reading of big-endian fields; a short read leaves ok() false for good.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  bool empty() const { return pos_ >= bytes_.size(); }
  std::uint32_t number(int width) {
    if (!have(width)) return 0;
    std::uint32_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<std::uint8_t>(bytes_[pos_++]);
    return v;
  }
  std::string_view take(std::size_t n) {
    if (!have(n)) return {};
    auto out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  /// A length-prefixed field (`width` bytes of length).
  std::string_view vector(int width) { return take(number(width)); }

 private:
  bool have(std::size_t n) {
    if (ok_ && bytes_.size() - pos_ >= n) return true;
    ok_ = false;
    return false;
  }
  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

ServerFlight invalid(ServerFlight f, std::string problem) {
  f.status = ServerFlight::Status::Invalid;
  f.problem = std::move(problem);
  return f;
}

/// Significant bits of a big-endian unsigned number, as OpenSSL reports a DH key's size.
int significant_bits(std::string_view number) {
  std::size_t i = 0;
  while (i < number.size() && number[i] == 0) ++i;
  if (i == number.size()) return 0;
  int bits = static_cast<int>((number.size() - i - 1) * 8);
  for (auto top = static_cast<std::uint8_t>(number[i]); top; top >>= 1) ++bits;
  return bits;
}

bool read_server_hello(std::string_view body, ServerFlight& f) {
  Reader r(body);
  f.version = static_cast<std::uint16_t>(r.number(2));
  auto random = r.take(32);
  r.vector(1);  // session id
  f.cipher = static_cast<std::uint16_t>(r.number(2));
  r.number(1);  // compression
  if (!r.ok()) return false;
  f.hello_retry = std::string_view(reinterpret_cast<const char*>(kHelloRetryRandom.data()), 32) == random;
  if (r.empty()) return true;  // no extensions (TLS 1.0 servers may send none)
  Reader extensions(r.vector(2));
  if (!r.ok()) return false;
  while (!extensions.empty()) {
    auto type = extensions.number(2);
    Reader ext(extensions.vector(2));
    if (!extensions.ok()) return false;
    if (type == kSupportedVersions) {
      f.version = static_cast<std::uint16_t>(ext.number(2));
    } else if (type == kKeyShare) {
      f.group = static_cast<std::uint16_t>(ext.number(2));  // HRR: the selected group only
    }
    if (!ext.ok()) return false;
  }
  return true;
}

bool read_certificates(std::string_view body, ServerFlight& f) {
  Reader r(body);
  Reader list(r.vector(3));
  while (r.ok() && list.ok() && !list.empty()) {
    auto der = list.vector(3);
    if (list.ok()) f.certificates.emplace_back(der);
  }
  return r.ok() && list.ok();
}

bool read_key_exchange(std::string_view body, KeyExchangeKind kind, ServerFlight& f) {
  Reader r(body);
  if (kind == KeyExchangeKind::Ecdhe) {
    // RFC 8422 5.4: ECParameters; only named curves (type 3) exist in practice.
    if (r.number(1) != 3) return false;
    f.group = static_cast<std::uint16_t>(r.number(2));
  } else if (kind == KeyExchangeKind::Dhe) {
    f.dh_bits = significant_bits(r.vector(2));  // dh_p; g and Ys follow
  }
  return r.ok();
}

}  // namespace

ServerFlight read_server_flight(std::string_view bytes,
                                const std::function<KeyExchangeKind(std::uint16_t cipher)>& kind_of) {
  ServerFlight f;
  // Still undecided after this much: not a server's hello (checked last, so that a decision
  // made on the first bytes stays the same however many follow).
  auto incomplete = [&] {
    return bytes.size() > kMaxFlight ? invalid(f, "no decision in the server's first 256 KiB") : f;
  };
  std::string handshake;  // handshake messages may span records, and records may hold several
  std::size_t used = 0;   // bytes of `handshake` already read as whole messages
  bool hello_seen = false;
  Reader records(bytes);
  for (;;) {
    // Whole messages first: the decision can come before the record is read to its end.
    Reader messages(std::string_view(handshake).substr(used));
    for (;;) {
      auto type = messages.number(1);
      auto body = messages.vector(3);
      if (!messages.ok()) break;
      used += 4 + body.size();
      if (!hello_seen) {
        if (type != kServerHello) return invalid(f, fmt::format("handshake message {} before the ServerHello", type));
        if (!read_server_hello(body, f)) return invalid(f, "malformed ServerHello");
        hello_seen = true;
        if (f.version >= kTls13) {
          f.status = ServerFlight::Status::Chosen;
          return f;
        }
        continue;
      }
      if (type == kCertificate && !read_certificates(body, f)) return invalid(f, "malformed Certificate");
      if (type == kServerKeyExchange) {
        if (!read_key_exchange(body, kind_of(f.cipher), f)) return invalid(f, "malformed ServerKeyExchange");
        f.status = ServerFlight::Status::Chosen;
        return f;
      }
      if (type == kServerHelloDone) {
        f.status = ServerFlight::Status::Chosen;
        return f;
      }
    }
    auto header = records.take(5);
    if (!records.ok()) return incomplete();
    Reader h(header);
    auto content = h.number(1);
    auto version = h.number(2);
    auto length = h.number(2);
    if (content < kChangeCipherSpec || content > kApplicationData || (version >> 8) != 3)
      return invalid(f, "the server's answer is not a TLS record");
    if (length > kMaxRecord) return invalid(f, fmt::format("TLS record of {} bytes", length));
    auto payload = records.take(length);
    if (!records.ok()) return incomplete();
    if (content == kAlert) {
      if (payload.size() < 2) return invalid(f, "truncated alert");
      f.status = ServerFlight::Status::Alert;
      f.alert = static_cast<std::uint8_t>(payload[1]);
      return f;
    }
    if (content == kHandshake)
      handshake += payload;
    else if (content == kApplicationData)
      return invalid(f, "encrypted data before the server chose a suite");
  }
}

std::string group_label(std::uint16_t group) {
  switch (group) {
    case 0x0017:
      return "secp256r1";
    case 0x0018:
      return "secp384r1";
    case 0x0019:
      return "secp521r1";
    case 0x001a:
    case 0x001f:
      return "brainpoolP256r1";
    case 0x001b:
    case 0x0020:
      return "brainpoolP384r1";
    case 0x001c:
    case 0x0021:
      return "brainpoolP512r1";
    case 0x001d:
      return "X25519";
    case 0x001e:
      return "X448";
    case 0x0100:
      return "ffdhe2048";
    case 0x0101:
      return "ffdhe3072";
    case 0x0102:
      return "ffdhe4096";
    case 0x0103:
      return "ffdhe6144";
    case 0x0104:
      return "ffdhe8192";
    default:
      return fmt::format("group 0x{:04X}", group);
  }
}

std::string handshake_failure_alert(std::uint16_t version) {
  // TLS 1.3 records carry 0x0303 (RFC 8446 5.1); older versions their own.
  std::uint16_t record_version = version >= kTls13 ? 0x0303 : version;
  return std::string{static_cast<char>(kAlert),
                     static_cast<char>(record_version >> 8),
                     static_cast<char>(record_version & 0xff),
                     0,
                     2,
                     2 /* fatal */,
                     40 /* handshake_failure */};
}

}  // namespace sluice::probe
