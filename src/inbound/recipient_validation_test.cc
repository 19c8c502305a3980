#include "inbound/recipient_validation.h"

#include <gtest/gtest.h>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <fstream>

#include "base/temp_dir_test_util.h"

namespace sluice::inbound {
namespace {

using namespace std::chrono_literals;
using sluice::test_util::TempDir;

/// A validator over a scripted callout: corp.test is checked by callout, here.test by the file.
class RecipientValidatorTest : public ::testing::Test {
 protected:
  RecipientValidatorTest() {
    config.accepted_domains = {{"corp.test", config::DomainType::InternalRelay},
                               {"here.test", config::DomainType::Authoritative}};
    config.recipient_validation.recipients_file = dir.path() / "recipients";
    config.recipient_validation.verify = config::RecipientCheck::Callout;  // corp.test by callout, here.test by file
    config.recipient_validation.callout_timeout = 2s;
    std::ofstream(dir.path() / "recipients") << "alice@here.test\n";
  }

  RecipientValidator& validator() {
    if (!validator_) {
      auto file = RecipientsFile::open(dir.path() / "recipients");
      EXPECT_TRUE(file);
      validator_.emplace(
          io.get_executor(), config::unowned_snapshot(config), file ? std::move(*file) : nullptr,
          [this](std::string address) -> asio::awaitable<smtp::Reply> {
            asked.push_back(address);
            if (answer_delay.count() > 0) {
              asio::steady_timer wait(io, answer_delay);
              co_await wait.async_wait(asio::use_awaitable);
            }
            co_return answer;
          },
          [this] { return now; });
    }
    return *validator_;
  }

  /// Runs checks side by side and returns their verdicts in order.
  std::vector<RecipientVerdict> check_all(std::vector<smtp::Mailbox> mailboxes) {
    std::vector<RecipientVerdict> out(mailboxes.size());
    std::size_t done = 0;
    for (std::size_t i = 0; i < mailboxes.size(); ++i)
      asio::co_spawn(io, validator().check(mailboxes[i]), [&, i](std::exception_ptr e, RecipientVerdict v) {
        EXPECT_FALSE(e);
        out[i] = std::move(v);
        ++done;
      });
    io.restart();
    io.run_for(10s);
    EXPECT_EQ(done, mailboxes.size());
    return out;
  }
  RecipientVerdict check(const smtp::Mailbox& m) { return check_all({m}).front(); }

  TempDir dir{"sluice-validator"};
  config::Config config = config::default_config();
  asio::io_context io;
  std::chrono::steady_clock::time_point now{};
  smtp::Reply answer = smtp::make_reply(250, "2.1.5", "OK");
  std::chrono::milliseconds answer_delay{0};
  std::vector<std::string> asked;
  std::optional<RecipientValidator> validator_;
};

constexpr std::string_view kNotFound =
    "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup";

TEST_F(RecipientValidatorTest, FileDomainAcceptsListedAndRefusesOthers) {
  EXPECT_TRUE(check(smtp::Mailbox{"Alice", "Here.test"}).accepted);
  auto refused = check(smtp::Mailbox{"mallory", "here.test"});
  EXPECT_FALSE(refused.accepted);
  EXPECT_EQ(refused.reply.one_line(), kNotFound);
  EXPECT_EQ(refused.because, "Recipient <mallory@here.test> is not in the recipients file");
  EXPECT_TRUE(asked.empty());
}

TEST_F(RecipientValidatorTest, PostmasterAndOtherDomainsAreNotValidated) {
  EXPECT_TRUE(check(smtp::Mailbox{"PostMaster", "here.test"}).accepted);
  EXPECT_TRUE(check(smtp::Mailbox{"anyone", "elsewhere.net"}).accepted);
  EXPECT_TRUE(check(smtp::Mailbox{"postmaster", "corp.test"}).accepted);
  EXPECT_TRUE(asked.empty());
}

TEST_F(RecipientValidatorTest, CalloutAcceptsWhatTheInternalServerAccepts) {
  auto verdict = check(smtp::Mailbox{"known", "corp.test"});
  EXPECT_TRUE(verdict.accepted);
  EXPECT_EQ(asked, std::vector<std::string>{"known@corp.test"});
}

TEST_F(RecipientValidatorTest, PermanentRefusalIs550WithExchangesText) {
  answer = smtp::make_reply(550, "5.1.1", "<nobody@corp.test>: Recipient address rejected: User unknown");
  auto verdict = check(smtp::Mailbox{"nobody", "corp.test"});
  EXPECT_FALSE(verdict.accepted);
  EXPECT_EQ(verdict.reply.one_line(), kNotFound);
  EXPECT_NE(verdict.because.find("User unknown"), std::string::npos) << verdict.because;
}

TEST_F(RecipientValidatorTest, InternalServerTroubleIs450NeverA550) {
  for (auto trouble : {smtp::make_reply(451, "4.4.0", "Callout not answered: 421 4.4.1 Unable to connect"),
                       smtp::make_reply(450, "4.2.1", "Mailbox busy"), smtp::Reply{}}) {
    answer = trouble;
    auto verdict = check(smtp::Mailbox{"someone", "corp.test"});
    EXPECT_FALSE(verdict.accepted);
    EXPECT_EQ(verdict.reply.code, 450) << verdict.reply.one_line();
    EXPECT_EQ(verdict.reply.enhanced, "4.4.3");
  }
  // Not remembered: each RCPT asks again, so the first answer after a repair counts.
  EXPECT_EQ(asked.size(), 3u);
  answer = smtp::make_reply(250, "2.1.5", "OK");
  EXPECT_TRUE(check(smtp::Mailbox{"someone", "corp.test"}).accepted);
}

TEST_F(RecipientValidatorTest, AnswersAreCachedForTheirLifetimes) {
  config.recipient_validation.callout_positive_lifetime = 24h;
  config.recipient_validation.callout_negative_lifetime = 1h;
  EXPECT_TRUE(check(smtp::Mailbox{"known", "corp.test"}).accepted);
  answer = smtp::make_reply(550, "5.1.1", "User unknown");
  EXPECT_FALSE(check(smtp::Mailbox{"nobody", "corp.test"}).accepted);
  ASSERT_EQ(asked.size(), 2u);
  // Cached, whatever the server would say now; the key ignores case.
  now += 59min;
  answer = smtp::make_reply(250, "2.1.5", "OK");
  EXPECT_TRUE(check(smtp::Mailbox{"KNOWN", "corp.test"}).accepted);
  auto cached = check(smtp::Mailbox{"nobody", "corp.test"});
  EXPECT_FALSE(cached.accepted);
  EXPECT_NE(cached.because.find("cached answer"), std::string::npos);
  EXPECT_EQ(asked.size(), 2u);
  // The negative answer expires first.
  now += 1min;
  EXPECT_TRUE(check(smtp::Mailbox{"nobody", "corp.test"}).accepted);
  EXPECT_EQ(asked.size(), 3u);
  answer = smtp::make_reply(550, "5.1.1", "User unknown");
  now += 23h;
  EXPECT_FALSE(check(smtp::Mailbox{"known", "corp.test"}).accepted);
  EXPECT_EQ(asked.size(), 4u);
}

TEST_F(RecipientValidatorTest, ConcurrentRcptsForOneAddressShareOneProbe) {
  answer_delay = 200ms;
  auto verdicts = check_all(
      {smtp::Mailbox{"known", "corp.test"}, smtp::Mailbox{"Known", "corp.test"}, smtp::Mailbox{"other", "corp.test"}});
  EXPECT_TRUE(verdicts[0].accepted);
  EXPECT_TRUE(verdicts[1].accepted);
  EXPECT_TRUE(verdicts[2].accepted);
  EXPECT_EQ(asked.size(), 2u);
  EXPECT_EQ(validator().probes_started(), 2u);
}

TEST_F(RecipientValidatorTest, ASlowServerGets450InTimeAndTheLateAnswerIsCached) {
  config.recipient_validation.callout_timeout = 1s;
  answer_delay = 1500ms;
  answer = smtp::make_reply(550, "5.1.1", "User unknown");
  const auto started = std::chrono::steady_clock::now();
  auto verdicts = check_all({smtp::Mailbox{"slow", "corp.test"}});
  EXPECT_FALSE(verdicts[0].accepted);
  EXPECT_EQ(verdicts[0].reply.code, 450);
  EXPECT_NE(verdicts[0].reply.one_line().find("has not answered yet"), std::string::npos);
  // check_all ran the io_context until the probe ended too: its answer is remembered.
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1400ms);
  auto retry = check(smtp::Mailbox{"slow", "corp.test"});
  EXPECT_EQ(retry.reply.one_line(), kNotFound);
  EXPECT_EQ(asked.size(), 1u);
}

}  // namespace
}  // namespace sluice::inbound
