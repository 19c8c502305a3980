#include "queue/envelope_writer.h"

#include <gtest/gtest.h>
#include <asio/io_context.hpp>

#include "base/temp_dir_test_util.h"

namespace sluice::queue {
namespace {

Envelope envelope(const std::string& id, const std::string& reply) {
  Envelope e;
  e.id = id;
  e.mail_from = "a@example.org";
  e.recipients.emplace_back();
  e.recipients.back().address = "b@example.net";
  e.recipients.back().last_reply = smtp::parse_reply_text(reply);
  e.body_type = "7BIT";
  return e;
}

class EnvelopeWriterTest : public ::testing::Test {
 protected:
  sluice::test_util::TempDir dir_{"sluice-writer"};
  Spool spool_{dir_.path() / "queue"};
  asio::io_context disk_;
  EnvelopeWriter writer_{spool_, disk_.get_executor()};
};

TEST_F(EnvelopeWriterTest, WritesLandInTheOrderTheyWereDecided) {
  ASSERT_TRUE(spool_.store(envelope("M1", ""), "message"));
  writer_.update(envelope("M1", "451 4.2.0 first"));
  writer_.update(envelope("M1", "451 4.2.0 second"));
  std::string seen;
  // Work queued before the removal (a bounce reading the original) still finds the message.
  writer_.run([&] {
    auto loaded = spool_.load_envelope("M1");
    seen = loaded ? loaded->recipients[0].last_reply.one_line() : loaded.error().message;
  });
  writer_.remove("M1");
  EXPECT_TRUE(spool_.load_envelope("M1").ok()) << "nothing runs before the disk executor does";
  disk_.run();
  EXPECT_EQ(seen, "451 4.2.0 second");
  EXPECT_FALSE(spool_.load_envelope("M1"));
  EXPECT_FALSE(spool_.load_message("M1"));
}

TEST_F(EnvelopeWriterTest, ARunOfRemovalsRemovesEveryMessage) {
  for (const char* id : {"R1", "R2", "R3"}) {
    ASSERT_TRUE(spool_.store(envelope(id, ""), "message"));
    writer_.remove(id);
  }
  writer_.remove("ABSENT");  // logged, and the others are still removed
  disk_.run();
  EXPECT_TRUE(spool_.ids().empty());
}

}  // namespace
}  // namespace sluice::queue
