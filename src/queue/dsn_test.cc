#include "queue/dsn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <stdexcept>

namespace sluice::queue {
namespace {

using std::chrono::system_clock;
using namespace std::chrono;

constexpr const char* kTlsVersion = "could not agree on a TLS version";
constexpr const char* kStarttlsRequired = "requires an encrypted connection (STARTTLS)";
constexpr const char* kTlsRequiredHere = "send connector requires TLS for this destination";

// ---- a small MIME reader, strict enough to catch structural mistakes ----

struct Part {
  std::vector<std::pair<std::string, std::string>> headers;  // unfolded, in order
  std::string body;
  std::string header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return "<absent>";
  }
};

Part parse_entity(const std::string& text) {
  Part part;
  auto split = text.find("\r\n\r\n");
  EXPECT_NE(split, std::string::npos) << "no empty line after the headers";
  std::string head = text.substr(0, split + 2);
  part.body = split == std::string::npos ? "" : text.substr(split + 4);
  std::size_t pos = 0;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    std::string line = head.substr(pos, end - pos);
    pos = end + 2;
    if (line[0] == ' ' || line[0] == '\t') {
      EXPECT_FALSE(part.headers.empty());
      part.headers.back().second += line;
      continue;
    }
    auto colon = line.find(": ");
    EXPECT_NE(colon, std::string::npos) << line;
    part.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
  }
  return part;
}

struct Dsn {
  Part top;
  std::string boundary;
  std::string preamble;
  std::vector<Part> parts;
};

Dsn parse_dsn(const std::string& text) {
  Dsn dsn;
  dsn.top = parse_entity(text);
  std::smatch match;
  std::string type = dsn.top.header("Content-Type");
  EXPECT_TRUE(std::regex_search(type, match, std::regex(R"(boundary="([^"]+)\")"))) << type;
  dsn.boundary = match[1];
  const std::string delimiter = "\r\n--" + dsn.boundary;
  std::string body = "\r\n" + dsn.top.body;  // the first delimiter's CRLF is the empty line's
  std::size_t pos = body.find(delimiter);
  EXPECT_NE(pos, std::string::npos);
  dsn.preamble = body.substr(2, pos - 2);
  while (pos != std::string::npos) {
    std::size_t start = pos + delimiter.size();
    if (body.compare(start, 4, "--\r\n") == 0) {
      EXPECT_EQ(start + 4, body.size()) << "text after the final delimiter";
      return dsn;
    }
    EXPECT_EQ(body.compare(start, 2, "\r\n"), 0) << "delimiter not followed by CRLF";
    std::size_t next = body.find(delimiter, start);
    EXPECT_NE(next, std::string::npos) << "no final delimiter";
    if (next == std::string::npos) break;
    dsn.parts.push_back(parse_entity(body.substr(start + 2, next - start - 2)));
    pos = next;
  }
  ADD_FAILURE() << "no final delimiter";
  return dsn;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\r\n", pos);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end + 2;
  }
  return out;
}

// Whitespace runs (including line breaks from wrapping) as one space.
std::string squeeze(const std::string& text) { return std::regex_replace(text, std::regex(R"(\s+)"), " "); }

// ---- fixtures ----

Envelope original() {
  Envelope e;
  e.id = "0005F1A2B3C40001";
  e.mail_from = "alice@example.org";
  Recipient carol;
  carol.address = "carol@partner.example";
  carol.state = Recipient::State::Failed;
  e.recipients = {carol};
  e.body_type = "7BIT";
  e.received = sys_days{2024y / 5 / 1} + 12h + 34min + 56s + 250ms;
  return e;
}

const std::string kMessage =
    "Received: from mx.example.org by gw.example.net; Wed, 1 May 2024 12:34:56 +0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: carol@partner.example\r\n"
    "Subject: Quarterly\r\n"
    " report\r\n"
    "Message-ID: <q1@example.org>\r\n"
    "\r\n"
    "The secret body.\r\n";

DsnRecipient carol_failed(std::string diagnostic = "421 4.4.2 Connection dropped due to SocketError") {
  DsnRecipient r;
  r.address = "carol@partner.example";
  r.action = "failed";
  r.status = "4.4.7";
  r.diagnostic = std::move(diagnostic);
  r.remote_mta = "mx1.partner.example";
  r.last_attempt = sys_days{2024y / 5 / 3} + 12h + 30min;
  return r;
}

class DsnTest : public ::testing::Test {
 protected:
  Envelope envelope_ = original();
  DsnInput input_ = [this] {
    DsnInput in;
    in.reporting_mta = "gw.example.net";
    in.original = &envelope_;
    in.original_message = kMessage;
    in.recipients = {carol_failed()};
    in.now = sys_days{2024y / 5 / 3} + 12h + 35min + 7s;
    in.message_id_seed = "0005F1A2B3C4FFFF";
    return in;
  }();
};

// ---- structure ----

TEST_F(DsnTest, TopLevelHeadersAreExact) {
  Dsn dsn = parse_dsn(build_dsn(input_));
  std::vector<std::pair<std::string, std::string>> expected{
      {"Date", "Fri, 03 May 2024 12:35:07 +0000"},
      {"From", "Mail Delivery System <MAILER-DAEMON@gw.example.net>"},
      {"To", "<alice@example.org>"},
      {"Subject", "Undeliverable: Quarterly report"},
      {"Message-ID", "<0005F1A2B3C4FFFF@gw.example.net>"},
      {"MIME-Version", "1.0"},
      {"Auto-Submitted", "auto-replied"},
      {"Content-Type", "multipart/report; report-type=delivery-status;\tboundary=\"=_sluice_report_0005F1A2B3C4FFFF\""},
  };
  EXPECT_EQ(dsn.top.headers, expected);
  EXPECT_EQ(dsn.boundary, "=_sluice_report_0005F1A2B3C4FFFF");
}

TEST_F(DsnTest, HasThreePartsOfTheReportTypes) {
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_EQ(dsn.parts[0].header("Content-Type"), "text/plain; charset=us-ascii");
  EXPECT_EQ(dsn.parts[0].header("Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(dsn.parts[1].header("Content-Type"), "message/delivery-status");
  EXPECT_EQ(dsn.parts[2].header("Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(dsn.parts[2].header("Content-Transfer-Encoding"), "7bit");
  EXPECT_EQ(dsn.top.header("Content-Transfer-Encoding"), "<absent>");
}

TEST_F(DsnTest, OutputIsSevenBitCrlfWithShortLines) {
  std::string text = build_dsn(input_);
  for (std::size_t i = 0; i < text.size(); ++i) {
    ASSERT_LT(static_cast<unsigned char>(text[i]), 0x80u) << i;
    if (text[i] == '\n') {
      ASSERT_TRUE(i > 0 && text[i - 1] == '\r') << "bare LF at " << i;
    }
    if (text[i] == '\r') {
      ASSERT_TRUE(i + 1 < text.size() && text[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  for (const auto& line : lines(text)) EXPECT_LE(line.size(), 998u);
}

TEST_F(DsnTest, DeliveryStatusFieldsAreExact) {
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_EQ(dsn.parts[1].body,
            "Reporting-MTA: dns; gw.example.net\r\n"
            "X-Sluice-Queue-ID: 0005F1A2B3C40001\r\n"
            "Arrival-Date: Wed, 01 May 2024 12:34:56 +0000\r\n"
            "\r\n"
            "Final-Recipient: rfc822; carol@partner.example\r\n"
            "Action: failed\r\n"
            "Status: 4.4.7\r\n"
            "Remote-MTA: dns; mx1.partner.example\r\n"
            "Diagnostic-Code: smtp; 421 4.4.2 Connection dropped due to SocketError\r\n"
            "Last-Attempt-Date: Fri, 03 May 2024 12:30:00 +0000\r\n");
}

TEST_F(DsnTest, OneStatusGroupPerRecipientAndUnknownFieldsLeftOut) {
  DsnRecipient dave;
  dave.address = "dave@other.example";
  dave.action = "failed";
  dave.status = "5.1.1";
  dave.diagnostic = "550 5.1.1 User unknown";
  input_.recipients.push_back(dave);  // no remote MTA, no last attempt
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  const std::string& body = dsn.parts[1].body;
  EXPECT_NE(body.find("\r\n\r\nFinal-Recipient: rfc822; dave@other.example\r\n"
                      "Action: failed\r\n"
                      "Status: 5.1.1\r\n"
                      "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"),
            std::string::npos)
      << body;
  EXPECT_TRUE(body.ends_with("Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n")) << body;
}

// ---- the human-readable part ----

TEST_F(DsnTest, HumanPartNamesTheRecipientAndReason) {
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  const std::string& text = dsn.parts[0].body;
  EXPECT_NE(text.find("This is the mail system at host gw.example.net."), std::string::npos);
  EXPECT_NE(text.find("could not be delivered"), std::string::npos);
  EXPECT_NE(text.find("<carol@partner.example>: delivery failed\r\n"
                      "    Remote server: mx1.partner.example\r\n"
                      "    Reason: 421 4.4.2 Connection dropped due to SocketError\r\n"),
            std::string::npos)
      << text;
  for (const auto& line : lines(text)) EXPECT_LE(line.size(), 76u) << line;
}

TEST_F(DsnTest, ExplainsEachTlsFailureInPlainWords) {
  struct Case {
    std::string diagnostic;
    const char* expected;
  };
  const std::vector<Case> cases{
      {"421 4.4.2 Connection dropped due to SocketError", kTlsVersion},
      {"TLS negotiation failed with error SocketError", kTlsVersion},
      {"451 4.4.0 Primary target IP address responded with: \"451 5.7.3 Must issue a STARTTLS command "
       "first.\" Attempted failover to alternate host, but that did not succeed.",
       kStarttlsRequired},
      {"530 5.7.0 Must issue a STARTTLS command first", kStarttlsRequired},
      {"450 4.4.317 Cannot connect to remote server", kTlsRequiredHere},
  };
  for (const auto& c : cases) {
    input_.recipients = {carol_failed(c.diagnostic)};
    Dsn dsn = parse_dsn(build_dsn(input_));
    ASSERT_EQ(dsn.parts.size(), 3u);
    std::string text = squeeze(dsn.parts[0].body);
    EXPECT_NE(text.find("What this means:"), std::string::npos) << c.diagnostic;
    EXPECT_NE(text.find(c.expected), std::string::npos) << c.diagnostic;
    for (const char* other : {kTlsVersion, kStarttlsRequired, kTlsRequiredHere}) {
      if (other != c.expected) {
        EXPECT_EQ(text.find(other), std::string::npos) << c.diagnostic << " / " << other;
      }
    }
  }
}

TEST_F(DsnTest, TlsVersionAdviceNamesSchannel) {
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_NE(squeeze(dsn.parts[0].body)
                .find("Enable TLS 1.2 on the older side (see the SCHANNEL keys in Microsoft's guidance) and retry."),
            std::string::npos);
}

TEST_F(DsnTest, NoExplanationForOrdinaryFailuresAndOneForRepeats) {
  DsnRecipient dave = carol_failed("550 5.1.1 User unknown");
  dave.address = "dave@partner.example";
  input_.recipients = {dave};
  Dsn plain = parse_dsn(build_dsn(input_));
  ASSERT_EQ(plain.parts.size(), 3u);
  EXPECT_EQ(plain.parts[0].body.find("What this means"), std::string::npos);

  input_.recipients = {carol_failed(), carol_failed()};
  std::string text = squeeze(parse_dsn(build_dsn(input_)).parts.at(0).body);
  auto first = text.find(kTlsVersion);
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(text.find(kTlsVersion, first + 1), std::string::npos);
}

// ---- delay warnings ----

TEST_F(DsnTest, DelayWarningSaysWhenRetriesStop) {
  input_.delay_warning = true;
  input_.retry_until = envelope_.received + 48h;
  DsnRecipient carol = carol_failed();
  carol.action = "delayed";
  carol.status = "4.4.2";
  input_.recipients = {carol};
  Dsn dsn = parse_dsn(build_dsn(input_));
  EXPECT_EQ(dsn.top.header("Subject"), "Delivery delayed: Quarterly report");
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_NE(dsn.parts[0].body.find(
                "This is a warning only; delivery will be retried until Fri, 03 May 2024 12:34:56 +0000.\r\n"),
            std::string::npos)
      << dsn.parts[0].body;
  EXPECT_NE(dsn.parts[0].body.find("<carol@partner.example>: delivery delayed"), std::string::npos);
  const std::string& status = dsn.parts[1].body;
  EXPECT_NE(status.find("Action: delayed\r\nStatus: 4.4.2\r\n"), std::string::npos) << status;
  EXPECT_TRUE(status.ends_with("Will-Retry-Until: Fri, 03 May 2024 12:34:56 +0000\r\n")) << status;
}

TEST_F(DsnTest, BouncesHaveNoWillRetryUntil) {
  input_.retry_until = envelope_.received + 48h;
  EXPECT_EQ(build_dsn(input_).find("Will-Retry-Until"), std::string::npos);
}

TEST_F(DsnTest, MissingActionOrBadStatusGetsDefaults) {
  DsnRecipient r = carol_failed();
  r.action = "";
  r.status = "4.4";
  input_.recipients = {r};
  EXPECT_NE(build_dsn(input_).find("Action: failed\r\nStatus: 5.0.0\r\n"), std::string::npos);
  r.action = "exploded";
  r.status = "6.1.1";
  input_.recipients = {r};
  input_.delay_warning = true;
  EXPECT_NE(build_dsn(input_).find("Action: delayed\r\nStatus: 4.0.0\r\n"), std::string::npos);
  for (const char* bad : {"5.1.1.1", "5..1", "5.1234.1", "5.1.", "x.1.1", " 5.1.1"}) {
    r.action = "failed";
    r.status = bad;
    input_.recipients = {r};
    EXPECT_NE(build_dsn(input_).find("Status: 5.0.0\r\n"), std::string::npos) << bad;
  }
  r.status = "5.7.30";
  input_.recipients = {r};
  EXPECT_NE(build_dsn(input_).find("Status: 5.7.30\r\n"), std::string::npos);
}

// ---- the original headers ----

TEST_F(DsnTest, HeadersPartHasTheOriginalHeadersButNotTheBody) {
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_EQ(dsn.parts[2].body, kMessage.substr(0, kMessage.find("\r\n\r\n") + 2));
  EXPECT_NE(dsn.parts[2].body.find("Subject: Quarterly\r\n report\r\n"), std::string::npos);
  EXPECT_EQ(build_dsn(input_).find("secret"), std::string::npos);
}

TEST_F(DsnTest, BareLineEndsInTheOriginalBecomeCrlf) {
  input_.original_message = "Subject: lf only\nX-Odd: a\rb\n\nbody\n";
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_EQ(dsn.parts[2].body, "Subject: lf only\r\nX-Odd: a b\r\n");
  EXPECT_EQ(dsn.top.header("Subject"), "Undeliverable: lf only");
}

TEST_F(DsnTest, OriginalWithoutBodyOrHeaders) {
  input_.original_message = "Subject: only headers\r\nX-A: 1";
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_EQ(dsn.parts[2].body, "Subject: only headers\r\nX-A: 1\r\n");

  input_.original_message = "\r\nno headers at all\r\n";
  dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_EQ(dsn.parts[2].body, "");
  EXPECT_EQ(dsn.top.header("Subject"), "Undeliverable: (no subject)");
}

TEST_F(DsnTest, HugeHeaderBlockIsCappedAtALineBoundary) {
  std::string huge;
  for (int i = 0; i < 2000; ++i) huge += "X-Filler-" + std::to_string(i) + ": " + std::string(60, 'f') + "\r\n";
  input_.original_message = huge + "\r\nbody\r\n";
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  const std::string& headers = dsn.parts[2].body;
  EXPECT_LE(headers.size(), 64u * 1024);
  EXPECT_GT(headers.size(), 63u * 1024);
  EXPECT_TRUE(headers.ends_with(std::string(60, 'f') + "\r\n"));
  EXPECT_EQ(huge.compare(0, headers.size(), headers), 0);
}

TEST_F(DsnTest, EightBitHeadersAreKeptAndDeclared) {
  input_.original_message = "Subject: caf\xc3\xa9\r\nX-Raw: \xff\r\n\r\nbody";
  std::string text = build_dsn(input_);
  Dsn dsn = parse_dsn(text);
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_EQ(dsn.parts[2].body, "Subject: caf\xc3\xa9\r\nX-Raw: \xff\r\n");
  EXPECT_EQ(dsn.parts[2].header("Content-Transfer-Encoding"), "8bit");
  EXPECT_EQ(dsn.top.header("Content-Transfer-Encoding"), "8bit");
  // The Subject header of the report itself stays 7-bit: RFC 2047.
  EXPECT_EQ(dsn.top.header("Subject"), "Undeliverable: =?UTF-8?B?Y2Fmw6k=?=");
}

TEST_F(DsnTest, LongUtf8SubjectBecomesFoldedEncodedWords) {
  std::string subject;
  for (int i = 0; i < 30; ++i)
    subject +=
        "Gr\xc3\xbc\xc3\x9f"
        "e ";  // 30 * "Grüße "
  input_.original_message = "Subject: " + subject + "\r\n\r\n";
  std::string text = build_dsn(input_);
  Dsn dsn = parse_dsn(text);
  std::string value = dsn.top.header("Subject");
  EXPECT_TRUE(value.starts_with("Undeliverable: =?UTF-8?B?R3LDvMOfZSBHcsO8w59l")) << value;
  for (const auto& line : lines(text.substr(0, text.find("\r\n\r\n")))) EXPECT_LE(line.size(), 78u) << line;
  // Each encoded word is whole: it starts and ends on its own line.
  std::smatch match;
  std::string rest = value.substr(std::string("Undeliverable: ").size());
  std::regex word(R"(=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=)");
  int words = 0;
  for (auto it = std::sregex_iterator(rest.begin(), rest.end(), word); it != std::sregex_iterator(); ++it) ++words;
  EXPECT_GE(words, 4);
}

TEST_F(DsnTest, SubjectWithInvalidUtf8IsMadeSevenBit) {
  input_.original_message = "Subject: bad \xff byte\r\n\r\n";
  EXPECT_EQ(parse_dsn(build_dsn(input_)).top.header("Subject"), "Undeliverable: bad ? byte");
}

// ---- hostile or unusual input ----

TEST_F(DsnTest, RemoteTextCannotInjectFields) {
  DsnRecipient r = carol_failed("550 bad\r\nX-Injected: yes\r\n\r\n--=_sluice_report_0005F1A2B3C4FFFF--");
  r.remote_mta = "evil\r\nX-Host: 1";
  input_.recipients = {r};
  std::string text = build_dsn(input_);
  for (const auto& line : lines(text)) {
    EXPECT_FALSE(line.starts_with("X-Injected")) << line;
    EXPECT_FALSE(line.starts_with("X-Host")) << line;
  }
  Dsn dsn = parse_dsn(text);
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_NE(dsn.boundary, "=_sluice_report_0005F1A2B3C4FFFF");
  EXPECT_NE(
      dsn.parts[1].body.find("Diagnostic-Code: smtp; 550 bad X-Injected: yes --=_sluice_report_0005F1A2B3C4FFFF--\r\n"),
      std::string::npos)
      << dsn.parts[1].body;
  EXPECT_NE(dsn.parts[1].body.find("Remote-MTA: dns; evil X-Host: 1\r\n"), std::string::npos);
}

TEST_F(DsnTest, BoundaryAvoidsTheOriginalHeaders) {
  input_.original_message = "X-Trap: =_sluice_report_0005F1A2B3C4FFFF and =_sluice_report_0005F1A2B3C4FFFF.1\r\n\r\n";
  Dsn dsn = parse_dsn(build_dsn(input_));
  EXPECT_EQ(dsn.boundary, "=_sluice_report_0005F1A2B3C4FFFF.2");
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_EQ(dsn.parts[2].body, input_.original_message.substr(0, input_.original_message.size() - 2));
}

TEST_F(DsnTest, VeryLongDiagnosticIsShortened) {
  input_.recipients = {carol_failed("451 " + std::string(5000, 'x'))};
  std::string text = build_dsn(input_);
  for (const auto& line : lines(text)) EXPECT_LE(line.size(), 998u);
  EXPECT_NE(text.find("Diagnostic-Code: smtp; 451 " + std::string(893, 'x') + "...\r\n"), std::string::npos);
}

TEST_F(DsnTest, Utf8RecipientUsesTheUtf8AddressType) {
  DsnRecipient r = carol_failed();
  r.address =
      "j\xc3\xbcrgen+x@b\xc3\xbc"
      "cher.example";
  input_.recipients = {r};
  Dsn dsn = parse_dsn(build_dsn(input_));
  ASSERT_EQ(dsn.parts.size(), 3u);
  EXPECT_NE(dsn.parts[1].body.find("Final-Recipient: utf-8; j\\x{FC}rgen\\x{2B}x@b\\x{FC}cher.example\r\n"),
            std::string::npos)
      << dsn.parts[1].body;
  // People read the address as it is.
  EXPECT_NE(dsn.parts[0].body.find("<j\xc3\xbcrgen+x@b\xc3\xbc"
                                   "cher.example>: delivery failed"),
            std::string::npos);
  EXPECT_EQ(dsn.parts[0].header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(dsn.parts[0].header("Content-Transfer-Encoding"), "8bit");
}

TEST_F(DsnTest, BadInputIsRefusedClearly) {
  auto expect_refused = [](const DsnInput& in, const std::string& what) {
    try {
      build_dsn(in);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  DsnInput in = input_;
  in.original = nullptr;
  expect_refused(in, "no original envelope");
  Envelope null_sender = envelope_;
  null_sender.mail_from = "";
  in = input_;
  in.original = &null_sender;
  expect_refused(in, "null sender");
  in = input_;
  in.recipients.clear();
  expect_refused(in, "no recipients");
  in = input_;
  in.reporting_mta = "";
  expect_refused(in, "reporting_mta");
  in = input_;
  in.message_id_seed = "<>@ ";
  expect_refused(in, "message_id_seed");
}

TEST_F(DsnTest, SeedAndHostAreCleanedForMessageId) {
  input_.message_id_seed = "ab<c>d";
  input_.reporting_mta = "gw.example.net\r\nBcc: x";
  Dsn dsn = parse_dsn(build_dsn(input_));
  EXPECT_EQ(dsn.top.header("Message-ID"), "<abcd@gw.example.netBccx>");
  EXPECT_EQ(dsn.top.header("Bcc"), "<absent>");
}

// ---- who gets one, and its envelope ----

TEST(ShouldBounce, NeverTheNullSender) {
  Envelope e = original();
  EXPECT_TRUE(should_bounce(e));
  e.mail_from = "";
  EXPECT_FALSE(should_bounce(e));
}

TEST(DsnEnvelope, NullSenderToTheOriginalSender) {
  const auto now = sys_days{2024y / 5 / 3} + 12h;
  Envelope e = dsn_envelope("0005F1A2B3C4FFFF", original(), 4321, now);
  EXPECT_EQ(e.id, "0005F1A2B3C4FFFF");
  EXPECT_EQ(e.mail_from, "");
  ASSERT_EQ(e.recipients.size(), 1u);
  EXPECT_EQ(e.recipients[0].address, "alice@example.org");
  EXPECT_EQ(e.recipients[0].state, Recipient::State::Pending);
  EXPECT_EQ(e.recipients[0].attempts, 0);
  EXPECT_EQ(e.body_type, "8BITMIME");
  EXPECT_FALSE(e.smtputf8);
  EXPECT_EQ(e.size, 4321u);
  EXPECT_EQ(e.received, now);
  EXPECT_EQ(e.connector, "DSN");
  EXPECT_FALSE(e.delay_warning_sent);
}

TEST(DsnEnvelope, Utf8SenderNeedsSmtputf8) {
  Envelope original_message = original();
  original_message.mail_from = "j\xc3\xbcrgen@example.org";
  EXPECT_TRUE(dsn_envelope("A1", original_message, 1, system_clock::time_point{}).smtputf8);
}

TEST(DsnEnvelope, RefusesBadIdsAndTheNullSender) {
  EXPECT_THROW(dsn_envelope("../x", original(), 1, system_clock::time_point{}), std::invalid_argument);
  EXPECT_THROW(dsn_envelope("", original(), 1, system_clock::time_point{}), std::invalid_argument);
  Envelope null_sender = original();
  null_sender.mail_from = "";
  EXPECT_THROW(dsn_envelope("A1", null_sender, 1, system_clock::time_point{}), std::invalid_argument);
}

}  // namespace
}  // namespace sluice::queue
