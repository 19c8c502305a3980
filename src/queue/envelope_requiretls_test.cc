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
  for (bool requiretls : {false, true}) {
    for (bool no : {false, true}) {
      Envelope e = test_util::minimal_envelope("0005F1A2B3C40001");
      e.requiretls = requiretls;
      e.tls_required_no = no;
      const std::string json = envelope_to_json(e);
      EXPECT_EQ(json.find("\"requiretls\": true") != std::string::npos, requiretls) << json;
      EXPECT_EQ(json.find("\"tls_required_no\": true") != std::string::npos, no) << json;
      // Never written as false: an envelope without the flags reads as before.
      EXPECT_EQ(json.find("\"requiretls\": false"), std::string::npos) << json;
      EXPECT_EQ(json.find("\"tls_required_no\": false"), std::string::npos) << json;
      auto parsed = envelope_from_json(json);
      ASSERT_TRUE(parsed);
      EXPECT_EQ(parsed->requiretls, requiretls);
      EXPECT_EQ(parsed->tls_required_no, no);
    }
  }
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
