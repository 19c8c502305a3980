#include "net/dns.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sluice::net {
namespace {

using namespace std::chrono_literals;
using Status = DnsAnswer::Status;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeMx = 15;
constexpr std::uint16_t kTypeAaaa = 28;
constexpr int kServFail = 2;
constexpr int kNxDomain = 3;
constexpr int kRefused = 5;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void put16(Bytes& out, unsigned v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

/// A name in uncompressed wire form; "" and "." are the root.
Bytes encode_name(const std::string& name) {
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

    Entry entry;
    {
      std::lock_guard lock(mutex_);
      if (auto it = table_.find({name, type}); it != table_.end()) {
        entry = it->second;
      } else if (!names_.count(name)) {
        entry.rcode = kNxDomain;
      }
    }
    if (entry.drop) return false;

    reply.assign(query.begin(), query.begin() + 2);                        // id
    reply.push_back(static_cast<std::uint8_t>(0x84 | (query[2] & 0x01)));  // QR, AA, RD echoed
    reply.push_back(static_cast<std::uint8_t>(0x80 | entry.rcode));        // RA, rcode
    put16(reply, 1);
    put16(reply, static_cast<unsigned>(entry.rdatas.size()));
    put16(reply, 0);
    put16(reply, 0);
    reply.insert(reply.end(), query.begin() + 12, query.begin() + static_cast<long>(question_end));
    for (const auto& rdata : entry.rdatas) {
      if (full_names_) {
        auto owner = encode_name(name);
        reply.insert(reply.end(), owner.begin(), owner.end());
      } else {
        put16(reply, 0xC00C);
      }
      put16(reply, type);
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
  std::atomic<int> queries_{0};
  std::mutex mutex_;
  std::map<std::pair<std::string, std::uint16_t>, Entry> table_;
  std::set<std::string> names_;
  std::thread thread_;
};

std::vector<std::string> names_of(const DnsAnswer& answer) {
  std::vector<std::string> names;
  for (const auto& h : answer.hosts) names.push_back(h.name);
  return names;
}

std::vector<std::string> strings_of(const DnsAnswer& answer) {
  std::vector<std::string> out;
  for (const auto& a : answer.addresses) out.push_back(a.to_string());
  return out;
}

class DnsTest : public ::testing::Test {
 protected:
  FakeDns dns;
  Resolver resolver{{dns.server()}, 2s};
};

TEST_F(DnsTest, MxHostsComeInPreferenceOrderWithoutTrailingDots) {
  dns.mx("example.test", 20, "mx2.example.test");
  dns.mx("example.test", 10, "mx1.example.test");
  dns.mx("example.test", 30, "backup.other.test.");
  auto answer = resolver.mx("example.test");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  EXPECT_EQ(names_of(answer), (std::vector<std::string>{"mx1.example.test", "mx2.example.test", "backup.other.test"}));
  ASSERT_EQ(answer.hosts.size(), 3u);
  EXPECT_EQ(answer.hosts[0].preference, 10);
  EXPECT_EQ(answer.hosts[1].preference, 20);
  EXPECT_EQ(answer.hosts[2].preference, 30);
  EXPECT_FALSE(answer.hosts[0].implicit);
  EXPECT_TRUE(answer.error.empty());
}

TEST_F(DnsTest, TrailingDotAndCaseInTheQueriedDomainAreAccepted) {
  dns.mx("example.test", 10, "mx1.example.test");
  auto answer = resolver.mx("Example.TEST.");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  EXPECT_EQ(names_of(answer), (std::vector<std::string>{"mx1.example.test"}));
}

TEST_F(DnsTest, EqualPreferencesAreShuffledButStayBehindLowerOnes) {
  dns.mx("example.test", 10, "a.example.test");
  dns.mx("example.test", 10, "b.example.test");
  dns.mx("example.test", 5, "first.example.test");
  dns.mx("example.test", 50, "last.example.test");
  std::set<std::vector<std::string>> orders;
  for (int i = 0; i < 40; ++i) {
    auto answer = resolver.mx("example.test");
    ASSERT_EQ(answer.status, Status::Ok) << answer.error;
    auto names = names_of(answer);
    ASSERT_EQ(names.size(), 4u);
    EXPECT_EQ(names.front(), "first.example.test");
    EXPECT_EQ(names.back(), "last.example.test");
    orders.insert(names);
  }
  EXPECT_EQ(orders.size(), 2u);  // both a-before-b and b-before-a, nothing else
}

TEST_F(DnsTest, AnswersWithUncompressedOwnerNamesParseTheSame) {
  dns.use_full_names();
  dns.mx("example.test", 10, "mx1.example.test");
  dns.a("host.example.test", "192.0.2.7");
  auto mx = resolver.mx("example.test");
  ASSERT_EQ(mx.status, Status::Ok) << mx.error;
  EXPECT_EQ(names_of(mx), (std::vector<std::string>{"mx1.example.test"}));
  auto a = resolver.addresses("host.example.test");
  ASSERT_EQ(a.status, Status::Ok) << a.error;
  EXPECT_EQ(strings_of(a), (std::vector<std::string>{"192.0.2.7"}));
}

TEST_F(DnsTest, NoMxButAnAddressGivesTheImplicitMx) {
  dns.a("example.test", "192.0.2.10");
  auto answer = resolver.mx("example.test.");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  ASSERT_EQ(answer.hosts.size(), 1u);
  EXPECT_EQ(answer.hosts[0].name, "example.test");
  EXPECT_EQ(answer.hosts[0].preference, 0);
  EXPECT_TRUE(answer.hosts[0].implicit);
}

TEST_F(DnsTest, ImplicitMxAlsoFromAnIpv6AddressOnly) {
  dns.aaaa("v6only.test", "2001:db8::25");
  auto answer = resolver.mx("v6only.test");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  ASSERT_EQ(answer.hosts.size(), 1u);
  EXPECT_TRUE(answer.hosts[0].implicit);
}

TEST_F(DnsTest, NoMxAndNoAddressIsNoData) {
  dns.exists("empty.test");
  auto answer = resolver.mx("empty.test");
  EXPECT_EQ(answer.status, Status::NoData);
  EXPECT_TRUE(answer.hosts.empty());
  EXPECT_NE(answer.error.find("empty.test"), std::string::npos) << answer.error;
}

TEST_F(DnsTest, NoMxAndAddressLookupFailingIsTempFail) {
  dns.exists("flaky.test");
  dns.rcode("flaky.test", kTypeA, kServFail);
  dns.rcode("flaky.test", kTypeAaaa, kServFail);
  auto answer = resolver.mx("flaky.test");
  EXPECT_EQ(answer.status, Status::TempFail);
  EXPECT_NE(answer.error.find("SERVFAIL"), std::string::npos) << answer.error;
}

TEST_F(DnsTest, NullMxIsPermanent) {
  dns.mx("nomail.test", 0, ".");
  dns.a("nomail.test", "192.0.2.1");  // must not turn into an implicit MX
  auto answer = resolver.mx("nomail.test");
  EXPECT_EQ(answer.status, Status::NullMx);
  EXPECT_TRUE(answer.hosts.empty());
  EXPECT_NE(answer.error.find("null MX"), std::string::npos) << answer.error;
}

TEST_F(DnsTest, NullMxNextToRealHostsIsIgnored) {
  dns.mx("mixed.test", 0, ".");
  dns.mx("mixed.test", 10, "mx.mixed.test");
  auto answer = resolver.mx("mixed.test");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  EXPECT_EQ(names_of(answer), (std::vector<std::string>{"mx.mixed.test"}));
}

TEST_F(DnsTest, UnknownDomainIsNxDomain) {
  auto answer = resolver.mx("nowhere.test");
  EXPECT_EQ(answer.status, Status::NxDomain);
  EXPECT_NE(answer.error.find("NXDOMAIN"), std::string::npos) << answer.error;
  EXPECT_NE(answer.error.find("nowhere.test"), std::string::npos) << answer.error;
  EXPECT_EQ(resolver.addresses("nowhere.test").status, Status::NxDomain);
}

TEST_F(DnsTest, ServFailIsTempFailNamingTheServer) {
  dns.rcode("broken.test", kTypeMx, kServFail);
  auto answer = resolver.mx("broken.test");
  EXPECT_EQ(answer.status, Status::TempFail);
  EXPECT_NE(answer.error.find("SERVFAIL from " + dns.server()), std::string::npos) << answer.error;
}

TEST_F(DnsTest, RefusedIsTempFail) {
  dns.rcode("closed.test", kTypeMx, kRefused);
  auto answer = resolver.mx("closed.test");
  EXPECT_EQ(answer.status, Status::TempFail);
  EXPECT_NE(answer.error.find("query refused by " + dns.server()), std::string::npos) << answer.error;
}

TEST_F(DnsTest, ServFailFromOneServerMovesOnToTheNext) {
  FakeDns good;
  dns.rcode("example.test", kTypeMx, kServFail);
  good.mx("example.test", 10, "mx1.example.test");
  Resolver both({dns.server(), good.server()}, 2s);
  auto answer = both.mx("example.test");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  EXPECT_EQ(names_of(answer), (std::vector<std::string>{"mx1.example.test"}));
  EXPECT_EQ(dns.queries(), 1);
  EXPECT_EQ(good.queries(), 1);

  FakeDns bad;
  bad.rcode("example.test", kTypeMx, kServFail);
  Resolver all_bad({dns.server(), bad.server()}, 2s);
  auto failed = all_bad.mx("example.test");
  EXPECT_EQ(failed.status, Status::TempFail);
  EXPECT_NE(failed.error.find("SERVFAIL from " + dns.server() + ", then " + bad.server()), std::string::npos)
      << failed.error;
}

TEST_F(DnsTest, NoAnswerIsTempFailWithinTheTimeout) {
  dns.drop("slow.test", kTypeMx);
  Resolver quick({dns.server()}, 500ms);
  auto start = std::chrono::steady_clock::now();
  auto answer = quick.mx("slow.test");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(answer.status, Status::TempFail);
  EXPECT_NE(answer.error.find("timeout"), std::string::npos) << answer.error;
  EXPECT_NE(answer.error.find(dns.server()), std::string::npos) << answer.error;
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 1000ms);
  EXPECT_GE(dns.queries(), 2);  // c-ares retried within the budget
}

TEST_F(DnsTest, AddressesListIpv6FirstThenIpv4) {
  dns.a("host.test", "192.0.2.1");
  dns.a("host.test", "192.0.2.2");
  dns.aaaa("host.test", "2001:db8::1");
  auto answer = resolver.addresses("host.test");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  EXPECT_EQ(strings_of(answer), (std::vector<std::string>{"2001:db8::1", "192.0.2.1", "192.0.2.2"}));
}

TEST_F(DnsTest, OneAddressFamilyIsEnough) {
  dns.a("v4.test", "192.0.2.44");
  dns.aaaa("v6.test", "2001:db8::44");
  auto v4 = resolver.addresses("v4.test");
  ASSERT_EQ(v4.status, Status::Ok) << v4.error;
  EXPECT_EQ(strings_of(v4), (std::vector<std::string>{"192.0.2.44"}));
  auto v6 = resolver.addresses("v6.test");
  ASSERT_EQ(v6.status, Status::Ok) << v6.error;
  EXPECT_EQ(strings_of(v6), (std::vector<std::string>{"2001:db8::44"}));
}

TEST_F(DnsTest, AddressWhenTheOtherFamilyTimesOut) {
  dns.a("halfbroken.test", "192.0.2.5");
  dns.drop("halfbroken.test", kTypeAaaa);
  Resolver quick({dns.server()}, 500ms);
  auto answer = quick.addresses("halfbroken.test");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  EXPECT_EQ(strings_of(answer), (std::vector<std::string>{"192.0.2.5"}));
}

TEST_F(DnsTest, NoAddressOfEitherFamilyIsNoData) {
  dns.mx("mailonly.test", 10, "mx.test");
  auto answer = resolver.addresses("mailonly.test");
  EXPECT_EQ(answer.status, Status::NoData);
  EXPECT_NE(answer.error.find("no A or AAAA record for mailonly.test"), std::string::npos) << answer.error;
}

TEST_F(DnsTest, IpLiteralsNeedNoQuery) {
  const std::pair<const char*, const char*> cases[] = {
      {"192.0.2.1", "192.0.2.1"},
      {"::1", "::1"},
      {"[::1]", "::1"},
      {"[192.0.2.9]", "192.0.2.9"},
      {"[IPv6:2001:db8::1]", "2001:db8::1"},
  };
  for (const auto& [input, expected] : cases) {
    auto answer = resolver.addresses(input);
    ASSERT_EQ(answer.status, Status::Ok) << input;
    EXPECT_EQ(strings_of(answer), (std::vector<std::string>{expected})) << input;
  }
  EXPECT_EQ(dns.queries(), 0);
}

TEST_F(DnsTest, DomainLiteralIsItsOwnImplicitMx) {
  auto answer = resolver.mx("[192.0.2.3]");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  ASSERT_EQ(answer.hosts.size(), 1u);
  EXPECT_EQ(answer.hosts[0].name, "[192.0.2.3]");
  EXPECT_TRUE(answer.hosts[0].implicit);
  EXPECT_EQ(resolver.mx("[not-an-ip]").status, Status::NxDomain);
  EXPECT_EQ(dns.queries(), 0);
}

TEST_F(DnsTest, InvalidNamesFailPermanentlyWithoutAQuery) {
  std::string too_long;
  for (int i = 0; i < 26; ++i) too_long += "abcdefghij.";  // 63-character labels are fine, 286 in all are not
  for (const std::string& name : std::vector<std::string>{"", ".", "a..b.test", "bad name.test", "tab\t.test",
                                                          std::string(64, 'x') + ".test", too_long + "test"}) {
    auto mx = resolver.mx(name);
    EXPECT_EQ(mx.status, Status::NxDomain) << name;
    EXPECT_NE(mx.error.find("invalid domain name"), std::string::npos) << mx.error;
    EXPECT_EQ(resolver.addresses(name).status, Status::NxDomain) << name;
  }
  EXPECT_EQ(dns.queries(), 0);
}

TEST_F(DnsTest, NextServerIsTriedWhenTheFirstRefuses) {
  // A UDP port that was just free: the kernel answers with "port unreachable".
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  std::string dead = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  dns.mx("example.test", 10, "mx1.example.test");
  Resolver both({dead, dns.server()}, 2s);
  auto answer = both.mx("example.test");
  ASSERT_EQ(answer.status, Status::Ok) << answer.error;
  EXPECT_EQ(names_of(answer), (std::vector<std::string>{"mx1.example.test"}));

  Resolver only_dead({dead}, 1s);
  auto start = std::chrono::steady_clock::now();
  auto failed = only_dead.mx("example.test");
  EXPECT_EQ(failed.status, Status::TempFail);
  EXPECT_NE(failed.error.find(dead), std::string::npos) << failed.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST(DnsResolver, AcceptsServerForms) {
  for (const char* s : {"127.0.0.1", "127.0.0.1:5353", "[::1]:53", "[::1]", "::1", "2001:db8::53", "[127.0.0.1]:53"}) {
    EXPECT_NO_THROW(Resolver({s}, 1s)) << s;
  }
  EXPECT_NO_THROW(Resolver({}, 1s));
}

TEST(DnsResolver, MalformedServerThrows) {
  for (const char* s :
       {"", "dns.example", "dns.example:53", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:53x",
        "127.0.0.1:+53", "[::1", "[::1]53", "[::1]:", "[]:53", "300.1.1.1", " 127.0.0.1"}) {
    try {
      Resolver r({s}, 1s);
      ADD_FAILURE() << "accepted \"" << s << "\"";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("DNS server \"" + std::string(s) + "\""), std::string::npos) << e.what();
    }
  }
}

TEST(DnsResolver, NonPositiveTimeoutThrows) { EXPECT_THROW(Resolver({"127.0.0.1"}, 0ms), std::runtime_error); }

}  // namespace
}  // namespace sluice::net
