// `sluice queue show` and its JSON with RFC 8689's flags: shown when set, and read back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "queue/queue_view.h"
#include "queue/view_test_clock.h"

namespace sluice::queue {
namespace {

Envelope asked(bool requiretls, bool tls_required_no) {
  Envelope e;
  e.id = "0005F1A2B3C40001";
  e.mail_from = "alice@example.org";
  e.recipients.emplace_back().address = "bob@partner.example";
  e.body_type = "7BIT";
  e.received = kViewTestNow;
  e.requiretls = requiretls;
  e.tls_required_no = tls_required_no;
  return e;
}

TEST(QueueViewRequireTls, TheDetailShowsWhatTheSenderAskedOnlyWhenItAsked) {
  const std::string neither = render_message(asked(false, false), kViewTestNow);
  EXPECT_EQ(neither.find("REQUIRETLS"), std::string::npos) << neither;
  EXPECT_EQ(neither.find("TLS-Required"), std::string::npos) << neither;
  EXPECT_NE(render_message(asked(true, false), kViewTestNow)
                .find("  REQUIRETLS:   yes: only over authenticated TLS to servers that offer REQUIRETLS\n"),
            std::string::npos);
  EXPECT_NE(render_message(asked(false, true), kViewTestNow)
                .find("  TLS-Required: No: DANE and MTA-STS failures do not hold the message\n"),
            std::string::npos);
}

TEST(QueueViewRequireTls, TheJsonCarriesTheFlagsWhenSetAndAnOlderServersAnswerReadsAsNeither) {
  for (bool requiretls : {false, true}) {
    for (bool no : {false, true}) {
      const nlohmann::json json = message_json(asked(requiretls, no));
      EXPECT_EQ(json.contains("requiretls"), requiretls);  // written only when set
      EXPECT_EQ(json.contains("tls_required_no"), no);
      if (requiretls) EXPECT_EQ(json["requiretls"], true);
      if (no) EXPECT_EQ(json["tls_required_no"], true);
      auto back = message_from_json(json);
      ASSERT_TRUE(back);
      EXPECT_EQ(back->requiretls, requiretls);
      EXPECT_EQ(back->tls_required_no, no);
    }
  }
  nlohmann::json older = message_json(asked(true, true));
  older.erase("requiretls");
  older.erase("tls_required_no");
  auto back = message_from_json(older);
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->requiretls);
  EXPECT_FALSE(back->tls_required_no);
  older["requiretls"] = "yes";
  EXPECT_FALSE(message_from_json(older));
}

}  // namespace
}  // namespace sluice::queue
