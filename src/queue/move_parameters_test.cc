#include "queue/move_parameters.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace sluice::queue {
namespace {

using std::chrono::system_clock;

/// " K=V K2" as an SMTP server splits it: keyword and value per parameter.
std::vector<std::pair<std::string, std::string>> split_move_parameters(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    auto eq = word.find('=');
    out.emplace_back(word.substr(0, eq), eq == std::string::npos ? "" : word.substr(eq + 1));
  }
  return out;
}

TEST(MoveXtext, EncodesWhatAParameterValueCannotHold) {
  EXPECT_EQ(xtext_encode("421 4.4.2 a=b+c"), "421+204.4.2+20a+3Db+2Bc");
  EXPECT_EQ(xtext_encode("\xC3\xBC"), "+C3+BC");
  EXPECT_EQ(xtext_decode("421+204.4.2+20a+3Db+2Bc"), "421 4.4.2 a=b+c");
}

TEST(MoveXtext, RefusesWhatIsNotXtext) {
  EXPECT_EQ(xtext_decode("+4"), std::nullopt);
  EXPECT_EQ(xtext_decode("a+"), std::nullopt);
  EXPECT_EQ(xtext_decode("+4g"), std::nullopt);
  EXPECT_EQ(xtext_decode("+2b"), std::nullopt);  // RFC 3461: upper-case hex only
  EXPECT_EQ(xtext_decode("a=b"), std::nullopt);
  EXPECT_EQ(xtext_decode("a b"), std::nullopt);
}

TEST(MoveParameters, MessageStateSurvivesTheTrip) {
  Envelope envelope;
  envelope.id = "0005F1A2B3C40001";
  envelope.received = *parse_utc_time("2026-12-01T10:00:00.250000Z");
  envelope.delay_warning_sent = true;
  envelope.requiretls = true;
  const std::string text = move_mail_parameters(envelope);
  EXPECT_EQ(text, " XMOVE-ARRIVED=2026-12-01T10:00:00.250000Z XMOVE-ID=0005F1A2B3C40001 XMOVE-WARNED XMOVE-REQUIRETLS");

  MovedMessage moved;
  for (const auto& [key, value] : split_move_parameters(text)) {
    ASSERT_TRUE(is_move_parameter(key)) << key;
    ASSERT_TRUE(read_move_mail_parameter(moved, key, value)) << key;
  }
  ASSERT_TRUE(check_moved_message(moved));
  Envelope stored;
  stored.id = "0006AAAAAAAAAAAA";
  stored.received = system_clock::now();
  apply_moved_message(stored, moved);
  EXPECT_EQ(stored.received, envelope.received);
  EXPECT_EQ(stored.moved_from, envelope.id);
  EXPECT_TRUE(stored.delay_warning_sent);
  EXPECT_TRUE(stored.requiretls);
  EXPECT_EQ(stored.id, "0006AAAAAAAAAAAA");  // the new node's own id
}

TEST(MoveParameters, RecipientStateSurvivesTheTrip) {
  Recipient r;
  r.address = "carol@partner.example";
  r.state = Recipient::State::Deferred;
  r.attempts = 3;
  r.last_attempt = *parse_utc_time("2026-12-01T10:05:00Z");
  r.next_attempt = *parse_utc_time("2026-12-01T10:20:00Z");
  r.last_reply = smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError");
  const std::string text = move_recipient_parameters(r, 400);
  MovedRecipient moved;
  for (const auto& [key, value] : split_move_parameters(text))
    ASSERT_TRUE(read_move_recipient_parameter(moved, key, value)) << key << "=" << value;
  Recipient stored;
  stored.address = r.address;
  apply_moved_recipient(stored, moved);
  EXPECT_EQ(stored.state, Recipient::State::Deferred);
  EXPECT_EQ(stored.attempts, 3);
  EXPECT_EQ(stored.last_attempt, r.last_attempt);
  EXPECT_EQ(stored.next_attempt, r.next_attempt);
  EXPECT_EQ(stored.last_reply.one_line(), "421 4.4.2 Connection dropped due to SocketError");
}

TEST(MoveParameters, APendingRecipientCarriesNoTimesOrReply) {
  Recipient r;
  r.address = "bob@example.org";
  EXPECT_EQ(move_recipient_parameters(r, 400), " XMOVE-STATE=pending XMOVE-ATTEMPTS=0");
}

TEST(MoveParameters, ALongReplyIsCutToTheRoomGivenAndStaysXtext) {
  Recipient r;
  r.state = Recipient::State::Deferred;
  r.attempts = 1;
  r.last_reply = smtp::make_reply(451, "4.3.0", std::string(300, ' '));  // every octet an escape
  for (std::size_t room = 60; room < 80; ++room) {
    const std::string text = move_recipient_parameters(r, room);
    EXPECT_LE(text.size(), room);
    auto reply = text.find("XMOVE-REPLY=");
    ASSERT_NE(reply, std::string::npos) << room;
    EXPECT_TRUE(xtext_decode(text.substr(reply + 12))) << text;
  }
}

TEST(MoveParameters, RefusesBadValues) {
  MovedMessage m;
  EXPECT_FALSE(read_move_mail_parameter(m, "XMOVE-ARRIVED", "yesterday"));
  EXPECT_FALSE(read_move_mail_parameter(m, "XMOVE-ID", "../etc"));
  EXPECT_FALSE(read_move_mail_parameter(m, "XMOVE-WARNED", "1"));
  EXPECT_FALSE(read_move_mail_parameter(m, "XMOVE-OTHER", "1"));
  EXPECT_FALSE(check_moved_message(m));  // nothing valid was given
  ASSERT_TRUE(read_move_mail_parameter(m, "xmove-id", "ABC"));
  EXPECT_FALSE(check_moved_message(m));  // the arrival is missing
  MovedRecipient r;
  EXPECT_FALSE(read_move_recipient_parameter(r, "XMOVE-STATE", "delivered"));  // settled ones stay
  EXPECT_FALSE(read_move_recipient_parameter(r, "XMOVE-STATE", "failed"));
  EXPECT_FALSE(read_move_recipient_parameter(r, "XMOVE-ATTEMPTS", "-1"));
  EXPECT_FALSE(read_move_recipient_parameter(r, "XMOVE-ATTEMPTS", "2x"));
  EXPECT_FALSE(read_move_recipient_parameter(r, "XMOVE-REPLY", "a+2"));
  EXPECT_FALSE(is_move_parameter("XMOVE"));
  EXPECT_FALSE(is_move_parameter("SIZE"));
}

TEST(MoveParameters, TheOriginalIdIsKeptInTheSpoolFile) {
  Envelope envelope;
  envelope.id = "0006AAAAAAAAAAAA";
  envelope.body_type = "7BIT";
  envelope.moved_from = "0005F1A2B3C40001";
  auto back = envelope_from_json(envelope_to_json(envelope));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->moved_from, "0005F1A2B3C40001");
  envelope.moved_from.clear();
  EXPECT_EQ(envelope_to_json(envelope).find("moved_from"), std::string::npos);
}

}  // namespace
}  // namespace sluice::queue
