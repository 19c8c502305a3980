#include "outbound/callout.h"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "net/dns_test_util.h"

namespace sluice::outbound {
namespace {

using namespace std::chrono_literals;

/// Records what it was asked and answers with a scripted result.
class ScriptedTransport : public Transport {
 public:
  asio::awaitable<AttemptResult> deliver(const ClientSettings& settings, const Target& target,
                                         const Transaction& transaction, TlsAttempt) override {
    seen_connector = settings.connector ? settings.connector->name : "";
    seen_timeouts = settings.timeouts;
    seen = transaction;
    seen_target = target.endpoint;
    co_return result;
  }
  AttemptResult result;
  Transaction seen;
  std::string seen_connector;
  ClientTimeouts seen_timeouts;
  asio::ip::tcp::endpoint seen_target;
};

class CalloutProberTest : public ::testing::Test {
 protected:
  CalloutProberTest() {
    config.send_connectors.clear();
    config::SendConnector internal;
    internal.name = "To Exchange";
    internal.address_spaces = {"corp.test"};
    internal.smart_hosts = {*config::parse_smart_host("[10.0.0.5]:2526")};
    config.send_connectors.push_back(internal);
    config.recipient_validation.callout_timeout = 7s;
  }
  smtp::Reply probe(const std::string& address) {
    CalloutProber prober(io.get_executor(), {config::unowned_snapshot(config), &dns, {}, nullptr, &transport});
    smtp::Reply out;
    asio::co_spawn(io, prober.probe(address), [&](std::exception_ptr e, smtp::Reply r) {
      EXPECT_FALSE(e);
      out = std::move(r);
    });
    io.restart();
    io.run_for(10s);
    return out;
  }

  config::Config config = config::default_config();
  net::TableLookups dns = [] {
    net::TableLookups table;  // only the smart host's address
    net::DnsAnswer& host = table.address_answers["10.0.0.5"];
    host.status = net::DnsAnswer::Status::Ok;
    host.addresses = {asio::ip::make_address("10.0.0.5")};
    return table;
  }();
  ScriptedTransport transport;
  asio::io_context io;
};

TEST_F(CalloutProberTest, AsksTheDomainsNextHopWithTheNullSenderAndNoMessage) {
  transport.result.recipients = {smtp::make_reply(250, "2.1.5", "Ok")};
  EXPECT_EQ(probe("known@corp.test").one_line(), "250 2.1.5 Ok");
  EXPECT_EQ(transport.seen_connector, "To Exchange");
  EXPECT_EQ(transport.seen_target, asio::ip::tcp::endpoint(asio::ip::make_address("10.0.0.5"), 2526));
  EXPECT_EQ(transport.seen.mail_from, "");
  EXPECT_EQ(transport.seen.recipients, std::vector<std::string>{"known@corp.test"});
  EXPECT_TRUE(transport.seen.rcpt_only);
  EXPECT_EQ(transport.seen.message, nullptr);
  EXPECT_EQ(transport.seen_timeouts.connect, 7s);
  EXPECT_EQ(transport.seen_timeouts.command, 7s);
  EXPECT_EQ(transport.seen_timeouts.tls_handshake, 7s);
}

TEST_F(CalloutProberTest, TheRcptReplyIsTheAnswer) {
  transport.result.recipients = {smtp::make_reply(550, "5.1.1", "User unknown")};
  EXPECT_EQ(probe("nobody@corp.test").one_line(), "550 5.1.1 User unknown");
}

TEST_F(CalloutProberTest, AFailureBeforeRcptIsTemporaryEvenWhenPermanent) {
  // MAIL FROM:<> refused with a 5xx says nothing about the recipient.
  transport.result.failure = Failure::RemotePermanent;
  transport.result.reply = smtp::make_reply(550, "5.7.1", "Null sender refused");
  transport.result.recipients = {transport.result.reply};
  transport.result.transaction_started = true;
  auto reply = probe("x@corp.test");
  EXPECT_EQ(reply.code, 451);
  EXPECT_NE(reply.one_line().find("Null sender refused"), std::string::npos);

  transport.result = {};
  transport.result.failure = Failure::ConnectFailed;
  transport.result.reply = failure_reply(Failure::ConnectFailed, "10.0.0.5:2526", "Connection refused");
  transport.result.recipients = {transport.result.reply};
  reply = probe("x@corp.test");
  EXPECT_EQ(reply.code, 451);
  EXPECT_NE(reply.one_line().find("Unable to connect to 10.0.0.5:2526"), std::string::npos) << reply.one_line();
}

TEST_F(CalloutProberTest, NoRouteOrNoAddressIsTemporary) {
  EXPECT_EQ(probe("x@unrouted.test").code, 451);
  config.send_connectors.front().smart_hosts = {*config::parse_smart_host("[mail.corp.test]:25")};
  auto reply = probe("x@corp.test");
  EXPECT_EQ(reply.code, 451);
  EXPECT_NE(reply.one_line().find("SERVFAIL"), std::string::npos) << reply.one_line();
}

}  // namespace
}  // namespace sluice::outbound
