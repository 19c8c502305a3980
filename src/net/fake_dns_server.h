// An in-process DNS server on loopback for resolver tests (src/net/dns_test.cc,
// dns_records_test.cc): answers from a table, optionally with the AD bit of a validating resolver.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sluice::net::fake_dns {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeCname = 5;
constexpr std::uint16_t kTypeMx = 15;
constexpr std::uint16_t kTypeAaaa = 28;
constexpr std::uint16_t kTypeTxt = 16;
constexpr std::uint16_t kTypeTlsa = 52;
constexpr int kServFail = 2;
constexpr int kNxDomain = 3;
constexpr int kRefused = 5;

inline std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

inline void put16(Bytes& out, unsigned v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

/// A name in uncompressed wire form; "" and "." are the root.
inline Bytes encode_name(const std::string& name) {
  Bytes out;
  std::size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<std::uint8_t>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

/// The text of a name in uncompressed wire form (as encode_name writes it).
inline std::string decode_name(const Bytes& wire) {
  std::string name;
  for (std::size_t pos = 0; pos < wire.size() && wire[pos] != 0; pos += 1 + wire[pos]) {
    if (!name.empty()) name += '.';
    name.append(wire.begin() + static_cast<long>(pos + 1), wire.begin() + static_cast<long>(pos + 1 + wire[pos]));
  }
  return name;
}

/// An in-process authoritative DNS server on 127.0.0.1 (UDP) answering from a table. A name with
/// no entry at all is NXDOMAIN; a known name without the asked type gets NOERROR with no answers.
class FakeDns {
 public:
  FakeDns() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("fake DNS: cannot bind");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_; }
  /// Owner names written in full instead of as a pointer to the question (0xC00C).
  void use_full_names() { full_names_ = true; }

  void mx(const std::string& name, int preference, const std::string& exchange) {
    Bytes rdata;
    put16(rdata, static_cast<unsigned>(preference));
    auto encoded = encode_name(exchange);
    rdata.insert(rdata.end(), encoded.begin(), encoded.end());
    add(name, kTypeMx, rdata);
  }
  void a(const std::string& name, const std::string& ip) {
    Bytes rdata(4);
    ::inet_pton(AF_INET, ip.c_str(), rdata.data());
    add(name, kTypeA, rdata);
  }
  void aaaa(const std::string& name, const std::string& ip) {
    Bytes rdata(16);
    ::inet_pton(AF_INET6, ip.c_str(), rdata.data());
    add(name, kTypeAaaa, rdata);
  }
  /// Character-strings of one TXT record.
  void txt(const std::string& name, const std::vector<std::string>& strings) {
    Bytes rdata;
    for (const auto& s : strings) {
      rdata.push_back(static_cast<std::uint8_t>(s.size()));
      rdata.insert(rdata.end(), s.begin(), s.end());
    }
    add(name, kTypeTxt, rdata);
  }
  void tlsa(const std::string& name, int usage, int selector, int matching, const Bytes& data) {
    Bytes rdata{static_cast<std::uint8_t>(usage), static_cast<std::uint8_t>(selector),
                static_cast<std::uint8_t>(matching)};
    rdata.insert(rdata.end(), data.begin(), data.end());
    add(name, kTypeTlsa, rdata);
  }
  /// An alias: queries for `alias` get the CNAME and the records of `target` (followed as a
  /// recursive resolver does), e.g. for RFC 7672 2.2.2.
  void cname(const std::string& alias, const std::string& target) { add(alias, kTypeCname, encode_name(target)); }
  /// Any record as raw RDATA (malformed ones too).
  void raw(const std::string& name, std::uint16_t type, Bytes rdata) { add(name, type, std::move(rdata)); }
  /// Sets the AD bit in every answer, as a validating resolver does for secure data.
  void authenticate(bool on) { authenticated_ = on; }
  /// Whether the last query asked for the AD bit (RFC 6840 5.7).
  bool last_query_ad() const { return last_query_ad_; }
  void exists(const std::string& name) {
    std::lock_guard lock(mutex_);
    names_.insert(lower(name));
  }
  void rcode(const std::string& name, std::uint16_t type, int rcode) {
    std::lock_guard lock(mutex_);
    names_.insert(lower(name));
    table_[{lower(name), type}].rcode = rcode;
  }
  void drop(const std::string& name, std::uint16_t type) {
    std::lock_guard lock(mutex_);
    names_.insert(lower(name));
    table_[{lower(name), type}].drop = true;
  }

 private:
  struct Entry {
    int rcode = 0;
    bool drop = false;
    std::vector<Bytes> rdatas;
  };

  void add(const std::string& name, std::uint16_t type, Bytes rdata) {
    std::lock_guard lock(mutex_);
    names_.insert(lower(name));
    table_[{lower(name), type}].rdatas.push_back(std::move(rdata));
  }

  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      std::uint8_t buf[1500];
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      auto n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 12) continue;
      ++queries_;
      Bytes reply;
      if (!answer(Bytes(buf, buf + n), reply)) continue;
      ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    }
  }

  /// Builds the reply to `query`; false means stay silent (dropped or unparseable).
  bool answer(const Bytes& query, Bytes& reply) {
    std::size_t pos = 12;
    std::string name;
    while (pos < query.size() && query[pos] != 0) {
      std::size_t len = query[pos++];
      if (pos + len > query.size()) return false;
      if (!name.empty()) name += '.';
      name.append(query.begin() + static_cast<long>(pos), query.begin() + static_cast<long>(pos + len));
      pos += len;
    }
    if (pos + 5 > query.size()) return false;
    std::size_t question_end = pos + 5;
    auto type = static_cast<std::uint16_t>(query[pos + 1] << 8 | query[pos + 2]);
    name = lower(name);

    // The records of `name`, or of the end of its CNAME chain with the CNAMEs in front.
    Entry entry;
    std::vector<std::pair<std::string, std::uint16_t>> owners;  // of each answer record
    {
      std::lock_guard lock(mutex_);
      std::string owner = name;
      for (int hops = 0; hops < 8; ++hops) {
        auto alias = table_.find({owner, kTypeCname});
        if (type != kTypeCname && alias != table_.end() && !alias->second.rdatas.empty()) {
          entry.rdatas.push_back(alias->second.rdatas.front());
          owners.emplace_back(owner, kTypeCname);
          owner = lower(decode_name(alias->second.rdatas.front()));
          continue;
        }
        if (auto it = table_.find({owner, type}); it != table_.end()) {
          entry.rcode = it->second.rcode;
          entry.drop = it->second.drop;
          for (const auto& rdata : it->second.rdatas) {
            entry.rdatas.push_back(rdata);
            owners.emplace_back(owner, type);
          }
        } else if (!names_.count(owner) && owners.empty()) {
          entry.rcode = kNxDomain;
        }
        break;
      }
    }
    if (entry.drop) return false;

    reply.assign(query.begin(), query.begin() + 2);  // id
    last_query_ad_ = (query[3] & 0x20) != 0;
    reply.push_back(static_cast<std::uint8_t>(0x84 | (query[2] & 0x01)));  // QR, AA, RD echoed
    // RA, AD when told to (as a validating resolver would), rcode
    reply.push_back(static_cast<std::uint8_t>(0x80 | (authenticated_ ? 0x20 : 0) | entry.rcode));
    put16(reply, 1);
    put16(reply, static_cast<unsigned>(entry.rdatas.size()));
    put16(reply, 0);
    put16(reply, 0);
    reply.insert(reply.end(), query.begin() + 12, query.begin() + static_cast<long>(question_end));
    for (std::size_t i = 0; i < entry.rdatas.size(); ++i) {
      const auto& rdata = entry.rdatas[i];
      if (full_names_ || owners[i].first != name) {
        auto owner = encode_name(owners[i].first);
        reply.insert(reply.end(), owner.begin(), owner.end());
      } else {
        put16(reply, 0xC00C);
      }
      put16(reply, owners[i].second);
      put16(reply, 1);  // IN
      put16(reply, 0);
      put16(reply, 300);  // TTL
      put16(reply, static_cast<unsigned>(rdata.size()));
      reply.insert(reply.end(), rdata.begin(), rdata.end());
    }
    return true;
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> full_names_{false};
  std::atomic<bool> authenticated_{false};
  std::atomic<bool> last_query_ad_{false};
  std::atomic<int> queries_{0};
  std::mutex mutex_;
  std::map<std::pair<std::string, std::uint16_t>, Entry> table_;
  std::set<std::string> names_;
  std::thread thread_;
};

}  // namespace sluice::net::fake_dns
