#include "queue/group_commit.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "base/blocking.h"
#include "base/temp_dir_test_util.h"
#include "queue/envelope_test_util.h"

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;

class GroupCommitTest : public ::testing::Test {
 protected:
  static Envelope envelope(std::string id) { return test_util::minimal_envelope(std::move(id)); }

  sluice::test_util::TempDir temp_{"sluice-commit"};
  fs::path dir_ = temp_.path();
};

// An opener that holds the first file it opens until release() is called: a disk busy with one
// batch while more messages arrive.
class Gate {
 public:
  FileOpener opener() {
    return [this](const fs::path& path) {
      std::unique_lock lock(mutex_);
      if (!first_seen_) {
        first_seen_ = true;
        seen_.notify_all();
        open_.wait(lock, [this] { return released_; });
      }
      return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    };
  }
  void wait_for_first() {
    std::unique_lock lock(mutex_);
    seen_.wait(lock, [this] { return first_seen_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    open_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable seen_, open_;
  bool first_seen_ = false, released_ = false;
};

TEST_F(GroupCommitTest, MessagesArrivingDuringABatchAreStoredTogetherInTheNext) {
  Gate gate;
  Spool spool(dir_, gate.opener());
  std::vector<Envelope> envelopes;
  for (int i = 0; i < 21; ++i) envelopes.push_back(envelope("M" + std::to_string(100 + i)));
  std::vector<std::promise<Result<void, std::error_code>>> results(envelopes.size());
  {
    GroupCommitter committer(spool, 8);
    auto done = [&results](std::size_t i) {
      return [&results, i](Result<void, std::error_code> stored) { results[i].set_value(stored); };
    };
    committer.submit(&envelopes[0], "first\r\n", done(0));
    gate.wait_for_first();  // batch 1 (one message) is on its way to the disk
    for (std::size_t i = 1; i < envelopes.size(); ++i) committer.submit(&envelopes[i], "body\r\n", done(i));
    gate.release();
    for (auto& r : results) EXPECT_TRUE(r.get_future().get());
    EXPECT_EQ(committer.batches(), 2u);
    EXPECT_EQ(committer.messages(), 21u);
  }
  EXPECT_EQ(spool.list().size(), 21u);
  EXPECT_EQ(spool.load_message("M100"), "first\r\n");
  EXPECT_EQ(spool.load_message("M120"), "body\r\n");
}

TEST_F(GroupCommitTest, EachMessageGetsItsOwnResult) {
  Spool spool(dir_);
  GroupCommitter committer(spool, 4);
  Envelope good = envelope("GOOD1"), bad = envelope("no/good");
  std::promise<Result<void, std::error_code>> good_result, bad_result;
  committer.submit(&good, "x\r\n", [&](Result<void, std::error_code> stored) { good_result.set_value(stored); });
  committer.submit(&bad, "x\r\n", [&](Result<void, std::error_code> stored) { bad_result.set_value(stored); });
  EXPECT_TRUE(good_result.get_future().get());
  EXPECT_EQ(bad_result.get_future().get().error(), std::errc::invalid_argument);
  EXPECT_EQ(spool.list(), std::vector<std::string>{"GOOD1"});
}

TEST_F(GroupCommitTest, DestructorStoresWhatWasSubmitted) {
  Spool spool(dir_);
  std::vector<Envelope> envelopes;
  for (int i = 0; i < 10; ++i) envelopes.push_back(envelope("D" + std::to_string(i)));
  std::atomic<int> stored{0};
  {
    GroupCommitter committer(spool, 2);
    for (auto& e : envelopes)
      committer.submit(&e, "m\r\n", [&stored](Result<void, std::error_code> result) { stored += result ? 1 : 0; });
  }
  EXPECT_EQ(stored, 10);
  EXPECT_EQ(spool.list().size(), 10u);
}

TEST_F(GroupCommitTest, AsyncStoreResumesTheCoroutineWithTheResult) {
  Spool spool(dir_);
  GroupCommitter committer(spool, 2);
  asio::io_context io;
  Result<void, std::error_code> good_result = fail(std::make_error_code(std::errc::io_error)), bad_result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        Envelope good = envelope("ASYNC1");
        std::string message = "hello\r\n";
        good_result = co_await async_store(committer, good, message);
        Envelope bad = envelope("");
        bad_result = co_await async_store(committer, bad, message);
      },
      asio::detached);
  io.run();  // returns only after both results arrived: the store keeps the io_context busy
  EXPECT_TRUE(good_result);
  EXPECT_EQ(bad_result.error(), std::errc::invalid_argument);
  EXPECT_EQ(spool.load_message("ASYNC1"), "hello\r\n");
}

// The session's streaming path: pieces appended on the committer's writer threads while the
// message arrives, then the rest and the commit through the group commit.
TEST_F(GroupCommitTest, AStreamedDraftIsCommittedWithItsRest) {
  Spool spool(dir_);
  GroupCommitter committer(spool, 2);
  asio::io_context io;
  Result<void, std::error_code> appended = fail(std::make_error_code(std::errc::io_error));
  Result<void, std::error_code> stored = fail(std::make_error_code(std::errc::io_error));
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        Envelope e = envelope("STREAM1");
        MessageDraft draft = spool.draft(e.id);
        const std::string_view piece = "Subject: streamed\r\n\r\n";
        auto* to = &draft;
        const auto* bytes = &piece;
        appended = co_await run_blocking(committer.writer(), [to, bytes] { return to->append(*bytes); });
        stored = co_await async_store(committer, e, "body\r\n", &draft);
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(appended);
  EXPECT_TRUE(stored);
  EXPECT_EQ(spool.load_message("STREAM1"), "Subject: streamed\r\n\r\nbody\r\n");
}

}  // namespace
}  // namespace sluice::queue
