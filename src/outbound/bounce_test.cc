// Queuing the notices a message owes (outbound/bounce): what is queued, what is kept, what is
// never queued twice, and when the original may leave the spool. A real spool in a temporary
// directory; /dev/full stands for a full disk.
#include "outbound/bounce.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "base/temp_dir_test_util.h"

namespace sluice::outbound {
namespace {

using namespace std::chrono_literals;
using queue::Envelope;
using State = queue::Recipient::State;

class QueuePendingNoticesTest : public ::testing::Test {
 protected:
  QueuePendingNoticesTest() {
    original_.id = "0000000000000A01";
    original_.mail_from = "alice@sender.test";
    original_.body_type = "7BIT";
    original_.received = now_ - 1h;
    for (const char* address : {"nobody@remote.test", "bob@remote.test"}) {
      original_.recipients.emplace_back();
      original_.recipients.back().address = address;
      original_.recipients.back().state = State::Deferred;
    }
    original_.recipients[0].state = State::Failed;
    original_.recipients[0].last_reply = smtp::make_reply(550, "5.1.1", "No such user");
    const std::string message = "Subject: hello\r\n\r\nHi.\r\n";
    original_.size = message.size();
    EXPECT_TRUE(spool_.store(original_, message));
    settings_.reporting_mta = "gw.test";
    settings_.lifetime = 48h;
    settings_.now = now_;
  }

  /// The DSNs in the spool (null sender), by id.
  std::vector<std::string> notices_in_spool() const {
    std::vector<std::string> out;
    for (const auto& id : spool_.ids())
      if (auto e = spool_.load_envelope(id); e && e->mail_from.empty()) out.push_back(id);
    return out;
  }

  ::sluice::test_util::TempDir dir_{"sluice-bounce"};
  std::atomic<bool> disk_full_{false};
  queue::Spool spool_{dir_.path() / "queue", [this](const std::filesystem::path& path) {
                        return disk_full_ ? ::open("/dev/full", O_WRONLY | O_CLOEXEC)
                                          : ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
                      }};
  std::chrono::system_clock::time_point now_ = std::chrono::sys_days{std::chrono::year{2030} / 1 / 1};
  Envelope original_;
  NoticeSettings settings_;
  std::set<std::string> queued_;
};

TEST_F(QueuePendingNoticesTest, AFullSpoolKeepsTheNoticeAndTheOriginal) {
  Envelope e = original_;
  e.recipients[1].state = State::Delivered;  // nothing waits: only the bounce keeps it
  e.pending_notices.push_back(decide_notice(e, {0}, "mx.remote.test", false));
  disk_full_ = true;
  auto outcome = queue_pending_notices(spool_, e, true, settings_, queued_);
  EXPECT_TRUE(outcome.queued.empty());
  EXPECT_TRUE(outcome.resolved.empty());
  EXPECT_FALSE(outcome.removed);
  EXPECT_TRUE(spool_.load_message(e.id));
  EXPECT_TRUE(notices_in_spool().empty());

  disk_full_ = false;
  outcome = queue_pending_notices(spool_, e, false, settings_, queued_);
  ASSERT_EQ(outcome.queued.size(), 1u);
  EXPECT_EQ(outcome.queued[0].id, e.pending_notices[0].id);
  EXPECT_EQ(outcome.resolved, std::vector<std::string>{e.pending_notices[0].id});
  EXPECT_TRUE(outcome.removed);
  EXPECT_FALSE(spool_.load_message(e.id));
  auto dsn = spool_.load_message(e.pending_notices[0].id);
  ASSERT_TRUE(dsn);
  EXPECT_NE(dsn->find("Diagnostic-Code: smtp; 550 5.1.1 No such user"), std::string::npos) << *dsn;
  EXPECT_NE(dsn->find("Remote-MTA: dns; mx.remote.test"), std::string::npos) << *dsn;
}

TEST_F(QueuePendingNoticesTest, TheStateOnDiskSaysWhichNoticeIsOwed) {
  Envelope e = original_;
  e.pending_notices.push_back(decide_notice(e, {0}, "", false));
  // The DSN's files do not fit; the original's envelope, rewritten in place of its old one, does.
  const std::string dsn_id = e.pending_notices[0].id;
  queue::Spool spool{dir_.path() / "queue", [&dsn_id](const std::filesystem::path& path) {
                       return path.filename().string().find(dsn_id) != std::string::npos
                                  ? ::open("/dev/full", O_WRONLY | O_CLOEXEC)
                                  : ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
                     }};
  auto outcome = queue_pending_notices(spool, e, true, settings_, queued_);
  EXPECT_TRUE(outcome.resolved.empty());
  auto stored = spool.load_envelope(e.id);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->pending_notices.size(), 1u);
  EXPECT_EQ(stored->pending_notices[0].id, e.pending_notices[0].id);
  EXPECT_EQ(stored->pending_notices[0].rows[0].diagnostic, "550 5.1.1 No such user");
}

TEST_F(QueuePendingNoticesTest, ANoticeQueuedBeforeIsNeverQueuedAgain) {
  Envelope e = original_;
  e.pending_notices.push_back(decide_notice(e, {0}, "", false));
  auto first = queue_pending_notices(spool_, e, true, settings_, queued_);
  ASSERT_EQ(first.queued.size(), 1u);
  EXPECT_EQ(queued_.count(e.pending_notices[0].id), 1u);
  // A copy of the envelope written before the engine applied that outcome still lists it.
  auto again = queue_pending_notices(spool_, e, true, settings_, queued_);
  EXPECT_TRUE(again.queued.empty());
  EXPECT_EQ(again.resolved, first.resolved);
  // Nor after a restart (the set is empty), while the DSN is still in the spool.
  std::set<std::string> fresh;
  EXPECT_TRUE(queue_pending_notices(spool_, e, true, settings_, fresh).queued.empty());
  EXPECT_EQ(notices_in_spool().size(), 1u);
  EXPECT_TRUE(spool_.load_message(e.id)) << "bob still waits";
}

TEST_F(QueuePendingNoticesTest, ADelayWarningLeavesOutRecipientsThatNoLongerWait) {
  Envelope e = original_;
  e.recipients[0].state = State::Deferred;
  e.pending_notices.push_back(decide_notice(e, {0, 1}, "", true));
  e.recipients[0].state = State::Delivered;
  auto outcome = queue_pending_notices(spool_, e, true, settings_, queued_);
  ASSERT_EQ(outcome.queued.size(), 1u);
  auto dsn = spool_.load_message(outcome.queued[0].id);
  ASSERT_TRUE(dsn);
  EXPECT_NE(dsn->find("bob@remote.test"), std::string::npos);
  EXPECT_EQ(dsn->find("nobody@remote.test"), std::string::npos) << *dsn;

  // Nobody waits any more: the warning is not news, and the message may go.
  Envelope done = original_;
  done.recipients[1].state = State::Delivered;
  done.pending_notices.push_back(decide_notice(original_, {1}, "", true));
  outcome = queue_pending_notices(spool_, done, true, settings_, queued_);
  EXPECT_TRUE(outcome.queued.empty());
  EXPECT_EQ(outcome.resolved, std::vector<std::string>{done.pending_notices[0].id});
  EXPECT_TRUE(outcome.removed);
}

}  // namespace
}  // namespace sluice::outbound
