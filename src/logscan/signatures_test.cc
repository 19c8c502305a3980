#include "logscan/signatures.h"

#include <gtest/gtest.h>

namespace sluice::logscan {
namespace {

std::vector<std::string> all(std::string_view text) {
  Signatures s = find_signatures(text);
  return {s.found.begin(), s.found.begin() + static_cast<long>(s.count)};
}

TEST(Signatures, ExchangeStringsKeepTheirReason) {
  EXPECT_EQ(all("TLS negotiation failed with error SocketError"),
            std::vector<std::string>{"TLS negotiation failed with error SocketError"});
  EXPECT_EQ(all("421 4.4.2 Connection dropped due to SocketError"),
            std::vector<std::string>{"421 4.4.2 Connection dropped due to SocketError"});
  EXPECT_EQ(all("451 5.7.3 Must issue a STARTTLS command first"),
            std::vector<std::string>{"451 5.7.3 Must issue a STARTTLS command first"});
}

TEST(Signatures, NestedInAQueueError) {
  EXPECT_EQ(
      all(R"(451 4.4.0 Primary target IP address responded with: "451 5.7.3 Must issue a STARTTLS command first." Attempted failover)"),
      std::vector<std::string>{"451 5.7.3 Must issue a STARTTLS command first"});
}

TEST(Signatures, PostfixLines) {
  EXPECT_EQ(all("NOQUEUE: reject: MAIL from x[1.2.3.4]: 530 5.7.0 Must issue a STARTTLS command first; from=<a@b>"),
            std::vector<std::string>{"530 5.7.0 Must issue a STARTTLS command first"});
  EXPECT_EQ(all("SSL_accept error from localhost[127.0.0.1]: -1"), std::vector<std::string>{"SSL_accept error"});
  EXPECT_EQ(all("lost connection after STARTTLS from localhost[127.0.0.1]"),
            std::vector<std::string>{"lost connection after STARTTLS"});
  EXPECT_EQ(all("disconnect from localhost[127.0.0.1] ehlo=1 starttls=0/1 commands=1/2"),
            std::vector<std::string>{"starttls=0/1"});
  EXPECT_EQ(all("status=deferred (host x[1.2.3.4] said: 530 5.7.0 Must issue a STARTTLS command first (in reply to "
                "MAIL FROM command))"),
            std::vector<std::string>{"530 5.7.0 Must issue a STARTTLS command first"});
}

TEST(Signatures, SuccessfulStarttlsAndOrdinaryTextAreNotFailures) {
  EXPECT_TRUE(all("disconnect from x[1.2.3.4] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=6").empty());
  EXPECT_TRUE(all("disconnect from x[1.2.3.4] ehlo=2 starttls=1/1 commands=3").empty());
  EXPECT_TRUE(all("disconnect from x[1.2.3.4] ehlo=1 starttls=9/10 commands=3").size() == 1);
  EXPECT_TRUE(all("250 2.6.0 Queued mail for delivery").empty());
  EXPECT_TRUE(all("TLS negotiation failed with error ").empty());  // no reason: not the signature
  EXPECT_TRUE(all("").empty());
}

TEST(Signatures, ConnectFailuresByCauseWithoutHostOrAddress) {
  EXPECT_EQ(connect_failure_signature("Failed to connect. Winsock error code: 10061, Win32 error code: 10061, "
                                      "Error Message: No connection could be made because the target machine "
                                      "actively refused it 203.0.113.5:25."),
            "Failed to connect: connection refused");
  EXPECT_EQ(connect_failure_signature("Failed to connect. Winsock error code: 10060, Win32 error code: 10060, "
                                      "Destination domain: example.com, Error Message: A connection attempt failed"),
            "Failed to connect: timed out");
  EXPECT_EQ(connect_failure_signature("Failed to connect. Winsock error code: 10051, Win32 error code: 10051"),
            "Failed to connect: network unreachable");
  EXPECT_EQ(connect_failure_signature("Failed to connect to mx.example.org (203.0.113.7:25): Connection refused"),
            "Failed to connect: connection refused");
  EXPECT_EQ(connect_failure_signature("Failed to connect to mx.example.org (203.0.113.7:25): TimedOut"),
            "Failed to connect: timed out");
  EXPECT_EQ(connect_failure_signature("Failed to connect to mx.example.org ([2001:db8::1]:25): No route to host"),
            "Failed to connect: host unreachable");
  // A code the table does not name (995: the operation was aborted) keeps the general signature;
  // 100610 is not 10061.
  EXPECT_EQ(connect_failure_signature("Failed to connect. Winsock error code: 995, Win32 error code: 995"),
            "Failed to connect");
  EXPECT_EQ(connect_failure_signature("Failed to connect. Winsock error code: 100610, Win32 error code: 100610"),
            "Failed to connect");
}

}  // namespace
}  // namespace sluice::logscan
