// RFC 8689's two envelope flags in the spool's JSON: written only when set, absent in older
// files, and refused when mistyped.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "queue/envelope.h"
#include "queue/envelope_test_util.h"

namespace sluice::queue {
namespace {

TEST(EnvelopeRequireTls, FlagsAreWrittenOnlyWhenSetAndReadBack) {
  Envelope plain = test_util::minimal_envelope("0005F1A2B3C40001");
  const std::string plain_json = envelope_to_json(plain);
  EXPECT_EQ(plain_json.find("requiretls"), std::string::npos) << plain_json;
  EXPECT_EQ(plain_json.find("tls_required_no"), std::string::npos) << plain_json;
  auto parsed_plain = envelope_from_json(plain_json);
  ASSERT_TRUE(parsed_plain);
  EXPECT_FALSE(parsed_plain->requiretls);
  EXPECT_FALSE(parsed_plain->tls_required_no);

  Envelope required = plain;
  required.requiretls = true;
  const std::string required_json = envelope_to_json(required);
  EXPECT_NE(required_json.find("\"requiretls\": true"), std::string::npos) << required_json;
  auto parsed_required = envelope_from_json(required_json);
  ASSERT_TRUE(parsed_required);
  EXPECT_TRUE(parsed_required->requiretls);
  EXPECT_FALSE(parsed_required->tls_required_no);

  Envelope optional = plain;
  optional.tls_required_no = true;
  auto parsed_optional = envelope_from_json(envelope_to_json(optional));
  ASSERT_TRUE(parsed_optional);
  EXPECT_FALSE(parsed_optional->requiretls);
  EXPECT_TRUE(parsed_optional->tls_required_no);
}

TEST(EnvelopeRequireTls, AMistypedFlagMakesTheFileUnreadable) {
  auto json = nlohmann::json::parse(envelope_to_json(test_util::minimal_envelope("0005F1A2B3C40001")));
  for (const char* key : {"requiretls", "tls_required_no"}) {
    auto bad = json;
    bad[key] = "yes";
    EXPECT_EQ(envelope_from_json(bad.dump()), std::nullopt) << key;
    bad[key] = false;  // written only when true, but a false one is no harm
    ASSERT_TRUE(envelope_from_json(bad.dump())) << key;
  }
}

}  // namespace
}  // namespace sluice::queue
