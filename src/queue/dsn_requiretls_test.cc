// The notice of a REQUIRETLS message (RFC 8689 5): it carries REQUIRETLS itself, holds the
// original's headers and never its body, and explains the two REQUIRETLS refusals in plain words.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "queue/dsn.h"

namespace sluice::queue {
namespace {

Envelope original_message(bool requiretls) {
  Envelope e;
  e.id = "0005F1A2B3C40001";
  e.mail_from = "alice@example.org";
  e.recipients.emplace_back().address = "bob@partner.example";
  e.requiretls = requiretls;
  e.received = std::chrono::system_clock::now();
  return e;
}

std::string notice_for(const Envelope& e, const std::string& diagnostic) {
  DsnInput input;
  input.reporting_mta = "mx.example.org";
  input.original = &e;
  input.original_message = "Subject: secret plans\r\nTLS-Required: No\r\n\r\nthe confidential body\r\n";
  input.recipients.push_back({"bob@partner.example", "failed", "5.7.30", diagnostic, "mx.partner.example", {}});
  input.now = std::chrono::system_clock::now();
  input.message_id_seed = "0005F1A2B3C40002";
  std::string dsn = build_dsn(input);
  // The plain-words part is wrapped: one line per paragraph reads better in a test.
  for (auto at = dsn.find("\r\n    "); at != std::string::npos; at = dsn.find("\r\n    ", at)) dsn.replace(at, 6, " ");
  return dsn;
}

TEST(DsnRequireTls, TheNoticeOfARequireTlsMessageCarriesItToo) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(dsn_envelope("0005F1A2B3C40002", original_message(true), 10, now).requiretls);
  EXPECT_FALSE(dsn_envelope("0005F1A2B3C40002", original_message(false), 10, now).requiretls);
  EXPECT_EQ(dsn_envelope("0005F1A2B3C40002", original_message(true), 10, now).mail_from, "");
}

TEST(DsnRequireTls, HeadersOnlyAndTheRefusalExplained) {
  const std::string missing = notice_for(
      original_message(true), "550 5.7.30 REQUIRETLS support required: mx.partner.example does not offer REQUIRETLS");
  // RFC 8689 5: as if RET=HDRS: the headers are returned, the body never.
  EXPECT_NE(missing.find("Subject: secret plans"), std::string::npos);
  EXPECT_EQ(missing.find("the confidential body"), std::string::npos) << missing;
  EXPECT_NE(missing.find("Status: 5.7.30"), std::string::npos);
  EXPECT_NE(missing.find("The receiving server does not offer"), std::string::npos) << missing;

  const std::string unauthenticated = notice_for(
      original_message(true),
      "550 5.7.10 REQUIRETLS: 450 4.4.317 Cannot connect to remote server: certificate of mx.partner.example "
      "rejected: self-signed certificate");
  EXPECT_NE(unauthenticated.find("whose certificate is authenticated"), std::string::npos) << unauthenticated;
  // The REQUIRETLS reason, not the connector's "requires TLS" one the quoted 4.4.317 would give.
  EXPECT_EQ(unauthenticated.find("send connector requires TLS for this destination"), std::string::npos);
}

}  // namespace
}  // namespace sluice::queue
