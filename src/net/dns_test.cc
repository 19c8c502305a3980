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

#include "net/fake_dns_server.h"

namespace sluice::net {
namespace {

using namespace std::chrono_literals;
using Status = DnsAnswer::Status;
using namespace fake_dns;

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
