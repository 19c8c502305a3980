#include "queue/queue_filter.h"

#include <gtest/gtest.h>

namespace sluice::queue {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

TEST(ParseAge, UnitsLargestFirst) {
  EXPECT_EQ(parse_age("30m").value(), 30min);
  EXPECT_EQ(parse_age("2h").value(), 2h);
  EXPECT_EQ(parse_age("1d").value(), 24h);
  EXPECT_EQ(parse_age("1w").value(), 7 * 24h);
  EXPECT_EQ(parse_age("1d12h").value(), 36h);
  EXPECT_EQ(parse_age("90s").value(), 90s);
  EXPECT_EQ(parse_age("2H30M").value(), 150min);
  EXPECT_EQ(parse_age("0s").value(), 0s);
}

TEST(ParseAge, RefusesWhatIsNotADuration) {
  for (const char* text :
       {"", "30", "m", "2x", "1h1d", "1h1h", "-1h", "1.5h", "1h ", " 1h", "h1", "99999999999999999d", "101000000w"}) {
    auto age = parse_age(text);
    ASSERT_FALSE(age) << text;
    EXPECT_NE(age.error().message.find("is not a duration"), std::string::npos) << age.error().message;
  }
}

TEST(ParseStatus, CanonicalNames) {
  EXPECT_EQ(parse_status("retry").value(), "Retry");
  EXPECT_EQ(parse_status("READY").value(), "Ready");
  EXPECT_EQ(parse_status("Active").value(), "Active");
  auto bad = parse_status("suspended");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "\"suspended\" is not a status: use Active, Ready or Retry");
}

TEST(PatternMatch, StarAndCase) {
  EXPECT_TRUE(pattern_match("alice@example.org", "Alice@Example.ORG"));
  EXPECT_FALSE(pattern_match("alice@example.org", "alice@example.org.evil"));
  EXPECT_TRUE(pattern_match("*@example.org", "bob@example.org"));
  EXPECT_FALSE(pattern_match("*@example.org", "bob@sub.example.org.net"));
  EXPECT_TRUE(pattern_match("*@*.example.org", "bob@mx.example.org"));
  EXPECT_TRUE(pattern_match("*", ""));
  EXPECT_TRUE(pattern_match("a*b*c", "aXXbYYbc"));
  EXPECT_FALSE(pattern_match("a*b*c", "aXXbYYb"));
  EXPECT_FALSE(pattern_match("", "x"));
  EXPECT_TRUE(pattern_match("**", "anything"));
}

TEST(PatternMatch, NoBlowUpOnManyStars) {
  const std::string text(5000, 'a');
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(pattern_match("*a*a*a*a*a*a*a*a*a*a*b", text));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

Envelope mail(std::string from, std::chrono::system_clock::time_point received) {
  Envelope e;
  e.id = "A1";
  e.mail_from = std::move(from);
  e.received = received;
  return e;
}

TEST(MatchesMessage, SenderAgeAndBound) {
  const auto now = std::chrono::system_clock::time_point{} + 1000h;
  QueueFilter f;
  EXPECT_TRUE(matches_message(f, mail("", now), now));
  f.sender = "<>";
  EXPECT_TRUE(matches_message(f, mail("", now), now));
  EXPECT_FALSE(matches_message(f, mail("a@b.example", now), now));
  f.sender = "*@B.example";
  EXPECT_TRUE(matches_message(f, mail("a@b.example", now), now));
  f = {};
  f.older_than = 2h;
  EXPECT_TRUE(matches_message(f, mail("", now - 2h), now));  // exactly that old counts
  EXPECT_FALSE(matches_message(f, mail("", now - 2h + 1s), now));
  f = {};
  f.received_before = now;
  EXPECT_TRUE(matches_message(f, mail("", now - 1us), now));
  EXPECT_FALSE(matches_message(f, mail("", now), now));  // arrived after the count
}

TEST(MatchesRecipient, HopDomainAndAddress) {
  Recipient r;
  r.address = "Bob@Partner.Example";
  QueueFilter f;
  f.hop = "[10.0.0.5]:25";
  EXPECT_TRUE(matches_recipient(f, r, "[10.0.0.5]:25"));
  EXPECT_FALSE(matches_recipient(f, r, "partner.example"));
  f = {};
  f.domain = "partner.example";
  EXPECT_TRUE(matches_recipient(f, r, "[10.0.0.5]:25"));  // by its domain
  EXPECT_TRUE(matches_recipient(f, r, "partner.example"));
  f.domain = "10.0.0.5";
  EXPECT_FALSE(matches_recipient(f, r, "[10.0.0.5]:25"));
  f = {};
  f.recipient = "bob@*";
  EXPECT_TRUE(matches_recipient(f, r, "x"));
  f.recipient = "carol@*";
  EXPECT_FALSE(matches_recipient(f, r, "x"));
}

TEST(FilterJson, RoundTripsAndIsCanonical) {
  QueueFilter f;
  f.hop = "partner.example";
  f.sender = "*@Example.org";
  f.status = "Retry";
  f.older_than = 3600s;
  f.received_before = *parse_utc_time("2024-05-01T12:35:50Z");
  Json json = filter_json(f);
  EXPECT_EQ(json, (Json{{"hop", "partner.example"},
                        {"sender", "*@Example.org"},
                        {"status", "Retry"},
                        {"older_than", 3600},
                        {"received_before", "2024-05-01T12:35:50Z"}}));
  auto back = filter_from_json(json).value();
  EXPECT_EQ(filter_json(back), json);
  EXPECT_EQ(filter_json({}), Json::object());
  EXPECT_TRUE(filter_from_json(Json::object()).value().empty());
  // What the gateway lower-cases and canonicalises itself, whatever a client sends.
  auto loose = filter_from_json({{"hop", "Partner.EXAMPLE"}, {"domain", "X.Example"}, {"status", "ready"}}).value();
  EXPECT_EQ(loose.hop, "partner.example");
  EXPECT_EQ(loose.domain, "x.example");
  EXPECT_EQ(loose.status, "Ready");
}

TEST(FilterJson, BadMembersAreNamed) {
  auto error = [](const Json& json) {
    auto f = filter_from_json(json);
    return f ? std::string("accepted") : f.error().message;
  };
  EXPECT_EQ(error(Json::array()), "\"filter\" must be a JSON object");
  EXPECT_EQ(error({{"hop", 5}}), "filter \"hop\" must be a string");
  EXPECT_EQ(error({{"status", "stuck"}}), "\"stuck\" is not a status: use Active, Ready or Retry");
  EXPECT_EQ(error({{"older_than", -1}}), "filter \"older_than\" must be a number of seconds");
  EXPECT_EQ(error({{"older_than", "1h"}}), "filter \"older_than\" must be a number of seconds");
  EXPECT_EQ(error({{"received_before", "yesterday"}}), "filter \"received_before\" must be a UTC time");
  EXPECT_EQ(error({{"colour", "red"}}), "unknown filter \"colour\"");
}

}  // namespace
}  // namespace sluice::queue
