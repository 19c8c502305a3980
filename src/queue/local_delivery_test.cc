#include "queue/local_delivery.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;

class LocalDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sluice-local-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    spool_ = std::make_unique<Spool>(root_ / "queue");
    maildirs_ = std::make_unique<MaildirStore>(root_ / "maildir");
    delivery_ = std::make_unique<LocalDelivery>(*spool_, *maildirs_,
                                                [](std::string_view d) { return d == "localhost" || d == "example.org"; });
  }
  void TearDown() override { fs::remove_all(root_); }

  Envelope envelope(std::string id, std::vector<std::string> recipients) {
    Envelope e;
    e.id = std::move(id);
    e.mail_from = "alice@partner.example";
    for (auto& r : recipients) e.recipients.emplace_back().address = r;
    e.body_type = "7BIT";
    e.received = std::chrono::system_clock::now();
    return e;
  }

  std::vector<std::string> mailbox(const std::string& folder) {
    std::vector<std::string> out;
    auto dir = root_ / "maildir" / folder / "new";
    if (!fs::exists(dir)) return out;
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out.push_back(ss.str());
    }
    return out;
  }

  fs::path root_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<MaildirStore> maildirs_;
  std::unique_ptr<LocalDelivery> delivery_;
};

TEST_F(LocalDeliveryTest, DeliversEachLocalRecipientAndRemovesTheSpoolEntry) {
  ASSERT_FALSE(spool_->store(envelope("00000000000000A1", {"Bob@LOCALHOST", "carol@example.org"}), "Subject: x\r\n\r\nhi\r\n"));
  delivery_->deliver("00000000000000A1");
  auto bob = mailbox("bob");
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_EQ(bob[0], "Delivered-To: Bob@LOCALHOST\r\nSubject: x\r\n\r\nhi\r\n");
  ASSERT_EQ(mailbox("carol").size(), 1u);
  EXPECT_TRUE(spool_->list().empty());
}

TEST_F(LocalDeliveryTest, RemoteRecipientsStayQueuedAndLocalOnesAreRecorded) {
  ASSERT_FALSE(spool_->store(envelope("00000000000000A2", {"bob@localhost", "dave@remote.example"}), "body\r\n"));
  delivery_->deliver("00000000000000A2");
  EXPECT_EQ(mailbox("bob").size(), 1u);
  auto e = spool_->load_envelope("00000000000000A2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->recipients[0].state, Recipient::State::Delivered);
  EXPECT_EQ(e->recipients[0].attempts, 1);
  EXPECT_EQ(e->recipients[1].state, Recipient::State::Pending);
  // A second pass (as after a restart) does not deliver bob again.
  delivery_->deliver_all();
  EXPECT_EQ(mailbox("bob").size(), 1u);
}

TEST_F(LocalDeliveryTest, DeliverAllPicksUpWhatARestartLeft) {
  ASSERT_FALSE(spool_->store(envelope("00000000000000A3", {"bob@localhost"}), "one\r\n"));
  ASSERT_FALSE(spool_->store(envelope("00000000000000A4", {"bob@localhost"}), "two\r\n"));
  EXPECT_EQ(delivery_->deliver_all(), 2u);
  EXPECT_EQ(mailbox("bob").size(), 2u);
  EXPECT_TRUE(spool_->list().empty());
}

TEST_F(LocalDeliveryTest, AFailedDeliveryIsDeferredWithTheReason) {
  ASSERT_FALSE(spool_->store(envelope("00000000000000A5", {"bob@localhost"}), "body\r\n"));
  // A regular file where the mailbox folder should be: delivery must fail, not lose the message.
  fs::create_directories(root_ / "maildir");
  std::ofstream(root_ / "maildir" / "bob") << "not a directory";
  delivery_->deliver("00000000000000A5");
  auto e = spool_->load_envelope("00000000000000A5");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->recipients[0].state, Recipient::State::Deferred);
  EXPECT_EQ(e->recipients[0].last_reply.rfind("451 4.3.0 Local delivery failed: ", 0), 0u);
  // Once the obstacle is gone the next pass delivers it.
  fs::remove(root_ / "maildir" / "bob");
  delivery_->deliver_all();
  EXPECT_EQ(mailbox("bob").size(), 1u);
  EXPECT_TRUE(spool_->list().empty());
}

TEST(SplitAddress, SplitsAtTheLastAt) {
  EXPECT_EQ(split_address("\"a@b\"@example.org"), std::make_pair(std::string("\"a@b\""), std::string("example.org")));
  EXPECT_EQ(split_address("bob@localhost"), std::make_pair(std::string("bob"), std::string("localhost")));
  EXPECT_EQ(split_address("postmaster"), std::make_pair(std::string("postmaster"), std::string()));
}

}  // namespace
}  // namespace sluice::queue
