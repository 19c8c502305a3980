#include "queue/message_draft.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/temp_dir_test_util.h"
#include "queue/envelope_test_util.h"
#include "queue/spool.h"

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;

Envelope draft_envelope(std::string id) { return test_util::minimal_envelope(std::move(id), "bob@localhost"); }

class MessageDraftTest : public ::testing::Test {
 protected:
  /// Every name in the spool directory, recycled files (".free.*") counted apart by pooled_files().
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      std::string name = entry.path().filename().string();
      if (!FilePool::is_pool_name(name)) names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::size_t pooled_files() const {
    return static_cast<std::size_t>(std::count_if(fs::directory_iterator(dir_), fs::directory_iterator{}, [](auto& e) {
      return FilePool::is_pool_name(e.path().filename().string());
    }));
  }

  sluice::test_util::TempDir temp_{"sluice-draft"};
  fs::path dir_ = temp_.path() / "queue";
};

TEST_F(MessageDraftTest, AppendedPiecesAndTheRestAreCommittedAsOneMessage) {
  Spool spool(dir_);
  MessageDraft draft = spool.draft("DRAFT1");
  EXPECT_FALSE(draft.has_file());  // nothing before the first append
  ASSERT_TRUE(draft.append("Received: x\r\n"));
  ASSERT_TRUE(draft.append("Subject: s\r\n\r\n"));
  EXPECT_TRUE(draft.has_file());
  EXPECT_EQ(draft.size(), 27u);
  // Until it is committed the file has no message name: a crash now leaves a temporary file.
  ASSERT_EQ(files().size(), 1u);
  EXPECT_TRUE(files().front().starts_with(".tmp.DRAFT1.eml."));
  ASSERT_TRUE(spool.store(draft_envelope("DRAFT1"), "body\r\n", &draft));
  EXPECT_FALSE(draft.has_file());  // the spool's now: the draft no longer removes it
  draft.discard();
  EXPECT_EQ(files(), (std::vector<std::string>{"DRAFT1.eml", "DRAFT1.json"}));
  EXPECT_EQ(spool.load_message("DRAFT1"), "Received: x\r\nSubject: s\r\n\r\nbody\r\n");
}

TEST_F(MessageDraftTest, ADraftNotCommittedLeavesNoFile) {
  Spool spool(dir_);
  {
    MessageDraft draft = spool.draft("GONE1");
    ASSERT_TRUE(draft.append(std::string(100, 'x')));
  }  // destroyed (the session ended, or refused the message): its file is unlinked
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(pooled_files(), 0u);
  // A recycled file it was written into goes back to the pool, unless it grew too large for it.
  ASSERT_TRUE(spool.store(draft_envelope("OLD1"), "old"));
  ASSERT_TRUE(spool.remove("OLD1"));
  ASSERT_EQ(pooled_files(), 2u);
  MessageDraft small = spool.draft("GONE2");
  ASSERT_TRUE(small.append("small"));
  small.discard();
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(pooled_files(), 2u);
  small.discard();  // again: nothing happens
  EXPECT_EQ(pooled_files(), 2u);
  MessageDraft large = spool.draft("GONE3");
  ASSERT_TRUE(large.append(std::string(FilePool::kMaxKeptSize + 1, 'x')));
  large.discard();
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(pooled_files(), 1u);
}

TEST_F(MessageDraftTest, ARecycledFileIsWrittenOverAndCutToTheNewLength) {
  Spool spool(dir_);
  ASSERT_TRUE(spool.store(draft_envelope("OLD1"), std::string(5000, 'o')));
  ASSERT_TRUE(spool.remove("OLD1"));
  ASSERT_EQ(pooled_files(), 2u);
  MessageDraft draft = spool.draft("NEW1");
  ASSERT_TRUE(draft.append("new"));
  // The draft writes into a pool file under its pool name (a crash leaves it to the pool again).
  EXPECT_TRUE(files().empty());
  ASSERT_TRUE(spool.store(draft_envelope("NEW1"), "\r\n", &draft));
  EXPECT_EQ(pooled_files(), 0u);  // content and envelope both went into recycled files
  EXPECT_EQ(spool.load_message("NEW1"), "new\r\n");
}

TEST_F(MessageDraftTest, AFailedStoreRemovesTheDraftsFile) {
  Spool spool(dir_);
  MessageDraft draft = spool.draft("BAD1");
  ASSERT_TRUE(draft.append(std::string(FilePool::kMaxKeptSize + 1, 'x')));
  Envelope bad = draft_envelope("BAD1");
  bad.recipients.front().address = "bob\xff@localhost";  // not UTF-8: refused before any write
  EXPECT_EQ(spool.store(bad, "rest", &draft).error(), std::errc::illegal_byte_sequence);
  EXPECT_FALSE(draft.has_file());
  EXPECT_TRUE(files().empty());
}

TEST_F(MessageDraftTest, AWriteErrorIsKeptAndNothingIsLeft) {
  // Each file the spool creates is a descriptor of /dev/full: every write fails as on a full disk.
  Spool spool(dir_, [](const fs::path& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return fd;
    ::close(fd);
    return ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  });
  MessageDraft draft = spool.draft("FULL1");
  EXPECT_EQ(draft.append("data").error(), std::errc::no_space_on_device);
  EXPECT_EQ(draft.append("").error(), std::errc::no_space_on_device);  // the first error stays
  EXPECT_EQ(spool.store(draft_envelope("FULL1"), "rest", &draft).error(), std::errc::no_space_on_device);
  EXPECT_TRUE(files().empty());
}

TEST_F(MessageDraftTest, RecoverRemovesADraftACrashLeftBehind) {
  Spool spool(dir_);
  MessageDraft draft = spool.draft("CRASH1");
  ASSERT_TRUE(draft.append("half a message"));
  // The next run's recover() (a store in progress looks the same; recover runs before accepting mail).
  Spool next_run(dir_);
  EXPECT_EQ(next_run.recover(), 1u);
  EXPECT_TRUE(files().empty());
  EXPECT_TRUE(next_run.list().empty());
}

}  // namespace
}  // namespace sluice::queue
