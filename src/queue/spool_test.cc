#include "queue/spool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "base/temp_dir_test_util.h"

namespace sluice::queue {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;
using namespace std::chrono_literals;

system_clock::time_point at(std::chrono::sys_days day, std::chrono::microseconds since_midnight) {
  return day + since_midnight;
}

Envelope sample_envelope() {
  using namespace std::chrono;
  Envelope e;
  e.id = "0005F1A2B3C40001";
  e.mail_from = "alice@example.org";
  Recipient bob;
  bob.address = "bob@localhost";
  Recipient carol;
  carol.address = "carol@partner.example";
  carol.state = Recipient::State::Deferred;
  carol.attempts = 2;
  carol.last_reply = smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError");
  carol.next_attempt = at(2024y / 5 / 1, 12h + 40min);
  carol.next_hop = "partner.example";
  carol.last_attempt = at(2024y / 5 / 1, 12h + 38min + 500ms);
  e.recipients = {bob, carol};
  e.body_type = "8BITMIME";
  e.smtputf8 = false;
  e.size = 1234;
  e.received = at(2024y / 5 / 1, 12h + 34min + 56s + 250000us);
  e.client_address = "192.0.2.1";
  e.client_helo = "mx.example.org";
  e.connector = "inbound";
  e.tls_version = "TLS1_3";
  e.tls_cipher = "TLS_AES_256_GCM_SHA384";
  e.delay_warning_sent = true;
  e.message_id = "<m1@example.org>";
  return e;
}

// The exact on-disk text for sample_envelope(); docs/queue.md shows the same.
const char* const kSampleJson = R"({
  "format": 1,
  "id": "0005F1A2B3C40001",
  "mail_from": "alice@example.org",
  "recipients": [
    {
      "address": "bob@localhost",
      "state": "pending",
      "attempts": 0,
      "last_reply": "",
      "next_attempt": null,
      "next_hop": "",
      "last_attempt": null
    },
    {
      "address": "carol@partner.example",
      "state": "deferred",
      "attempts": 2,
      "last_reply": "421 4.4.2 Connection dropped due to SocketError",
      "next_attempt": "2024-05-01T12:40:00Z",
      "next_hop": "partner.example",
      "last_attempt": "2024-05-01T12:38:00.500000Z"
    }
  ],
  "body_type": "8BITMIME",
  "smtputf8": false,
  "size": 1234,
  "received": "2024-05-01T12:34:56.250000Z",
  "client_address": "192.0.2.1",
  "client_helo": "mx.example.org",
  "connector": "inbound",
  "tls_version": "TLS1_3",
  "tls_cipher": "TLS_AES_256_GCM_SHA384",
  "delay_warning_sent": true,
  "message_id": "<m1@example.org>"
}
)";

void expect_same(const Envelope& a, const Envelope& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.mail_from, b.mail_from);
  ASSERT_EQ(a.recipients.size(), b.recipients.size());
  for (std::size_t i = 0; i < a.recipients.size(); ++i) {
    EXPECT_EQ(a.recipients[i].address, b.recipients[i].address) << i;
    EXPECT_EQ(a.recipients[i].state, b.recipients[i].state) << i;
    EXPECT_EQ(a.recipients[i].attempts, b.recipients[i].attempts) << i;
    EXPECT_EQ(a.recipients[i].last_reply, b.recipients[i].last_reply) << i;
    EXPECT_EQ(a.recipients[i].next_attempt, b.recipients[i].next_attempt) << i;
    EXPECT_EQ(a.recipients[i].next_hop, b.recipients[i].next_hop) << i;
    EXPECT_EQ(a.recipients[i].last_attempt, b.recipients[i].last_attempt) << i;
  }
  EXPECT_EQ(a.body_type, b.body_type);
  EXPECT_EQ(a.smtputf8, b.smtputf8);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.received, b.received);
  EXPECT_EQ(a.client_address, b.client_address);
  EXPECT_EQ(a.client_helo, b.client_helo);
  EXPECT_EQ(a.connector, b.connector);
  EXPECT_EQ(a.tls_version, b.tls_version);
  EXPECT_EQ(a.tls_cipher, b.tls_cipher);
  EXPECT_EQ(a.delay_warning_sent, b.delay_warning_sent);
  EXPECT_EQ(a.message_id, b.message_id);
  EXPECT_EQ(a.original_mail_from, b.original_mail_from);
  EXPECT_EQ(a.requiretls, b.requiretls);
  EXPECT_EQ(a.tls_required_no, b.tls_required_no);
}

// ---- times ----

TEST(UtcTime, FormatsWholeSecondsWithoutFraction) {
  EXPECT_EQ(format_utc_time(system_clock::time_point{}), "1970-01-01T00:00:00Z");
  using namespace std::chrono;
  EXPECT_EQ(format_utc_time(at(2024y / 2 / 29, 23h + 59min + 59s)), "2024-02-29T23:59:59Z");
}

TEST(UtcTime, FormatsMicrosecondsAndTruncatesNanoseconds) {
  using namespace std::chrono;
  system_clock::time_point t = sys_days{2001y / 9 / 9} + 1h + 46min + 40s + 7us;
  EXPECT_EQ(format_utc_time(t), "2001-09-09T01:46:40.000007Z");
  EXPECT_EQ(format_utc_time(t + 999ns), "2001-09-09T01:46:40.000007Z");
}

TEST(UtcTime, ParsesWhatItFormats) {
  using namespace std::chrono;
  system_clock::time_point t = sys_days{2030y / 12 / 31} + 23h + 1s + 123456us;
  EXPECT_EQ(parse_utc_time(format_utc_time(t)), t);
  EXPECT_EQ(parse_utc_time("1970-01-01T00:00:00Z"), system_clock::time_point{});
}

TEST(UtcTime, ParsesShortAndLongFractions) {
  using namespace std::chrono;
  const system_clock::time_point base = sys_days{2024y / 5 / 1};
  EXPECT_EQ(parse_utc_time("2024-05-01T00:00:00.5Z"), base + 500ms);
  EXPECT_EQ(parse_utc_time("2024-05-01T00:00:00.123456789Z"), base + 123456us);
}

TEST(UtcTime, RejectsMalformedOrImpossibleTimes) {
  for (std::string_view bad :
       {"", "2024-05-01", "2024-05-01T00:00:00", "2024-05-01T00:00:00+00:00", "2024-05-01 00:00:00Z",
        "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-10T00:00:00Z", "2024-05-01T24:00:00Z",
        "2024-05-01T00:60:00Z", "2024-05-01T00:00:60Z", "2024-05-01T00:00:00.Z", "2024-05-01T00:00:00.1234567890Z",
        "2024-05-01T00:00:00Zjunk", "24-05-01T00:00:00Z", "2024-5-01T00:00:00Z", "2024-05-01T00:00:0aZ"}) {
    EXPECT_EQ(parse_utc_time(bad), std::nullopt) << bad;
  }
}

// ---- ids and states ----

TEST(QueueId, AcceptsLettersAndDigitsOnly) {
  EXPECT_TRUE(valid_queue_id("0005F1A2B3C40001"));
  EXPECT_TRUE(valid_queue_id("a"));
  EXPECT_TRUE(valid_queue_id(std::string(64, 'Z')));
  for (std::string_view bad : {"", "..", "a/b", "a.b", ".tmp", "a-b", "ab ", "\xc3\xbc"}) {
    EXPECT_FALSE(valid_queue_id(bad)) << bad;
  }
  EXPECT_FALSE(valid_queue_id(std::string(65, 'Z')));
  EXPECT_FALSE(valid_queue_id(std::string_view("a\0b", 3)));
}

TEST(RecipientState, NamesRoundTrip) {
  for (auto state :
       {Recipient::State::Pending, Recipient::State::Delivered, Recipient::State::Deferred, Recipient::State::Failed}) {
    EXPECT_EQ(state_from_name(state_name(state)), state);
  }
  EXPECT_STREQ(state_name(Recipient::State::Delivered), "delivered");
  EXPECT_EQ(state_from_name("Pending"), std::nullopt);
  EXPECT_EQ(state_from_name(""), std::nullopt);
}

// ---- envelope JSON ----

TEST(EnvelopeJson, WritesTheDocumentedFormat) { EXPECT_EQ(envelope_to_json(sample_envelope()), kSampleJson); }

TEST(EnvelopeJson, RoundTripsEveryField) {
  Envelope e = sample_envelope();
  e.mail_from = "";  // null reverse-path
  e.smtputf8 = true;
  e.recipients[0].address =
      "j\xc3\xbcrgen@b\xc3\xbc"
      "cher.example";
  e.recipients[0].state = Recipient::State::Failed;
  e.recipients[1].state = Recipient::State::Delivered;
  e.size = 18446744073709551615ull;
  e.client_helo = "quote\" backslash\\ newline\n";
  auto parsed = envelope_from_json(envelope_to_json(e));
  ASSERT_TRUE(parsed.has_value());
  expect_same(*parsed, e);
}

TEST(EnvelopeJson, KeepsTheSenderBeforeRewriteOnlyWhenThereWasOne) {
  Envelope e = sample_envelope();
  e.original_mail_from = "root@localhost";
  const std::string json = envelope_to_json(e);
  EXPECT_NE(json.find("\"original_mail_from\": \"root@localhost\""), std::string::npos) << json;
  auto parsed = envelope_from_json(json);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->original_mail_from, "root@localhost");
  EXPECT_EQ(envelope_to_json(sample_envelope()).find("original_mail_from"), std::string::npos);
}

Envelope with_pending_notices() {
  Envelope e = sample_envelope();
  PendingNotice bounce{"620F428A22FE0001", false, {}};
  bounce.rows.push_back({1, "4.4.7", "421 4.4.2 Connection dropped due to SocketError", "mx.example.com",
                         *parse_utc_time("2024-05-01T12:40:00Z")});
  PendingNotice warning{"620F428A22FE0002", true, {}};
  warning.rows.push_back({0, "4.0.0", "", "", {}});
  e.pending_notices = {bounce, warning};
  return e;
}

TEST(EnvelopeJson, KeepsPendingNoticesOnlyWhenThereAreSome) {
  const Envelope e = with_pending_notices();
  const std::string json = envelope_to_json(e);
  EXPECT_NE(json.find("\"pending_notices\""), std::string::npos) << json;
  auto parsed = envelope_from_json(json);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->pending_notices.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto &got = parsed->pending_notices[i], &want = e.pending_notices[i];
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.delay_warning, want.delay_warning);
    ASSERT_EQ(got.rows.size(), 1u);
    EXPECT_EQ(got.rows[0].recipient, want.rows[0].recipient);
    EXPECT_EQ(got.rows[0].status, want.rows[0].status);
    EXPECT_EQ(got.rows[0].diagnostic, want.rows[0].diagnostic);
    EXPECT_EQ(got.rows[0].remote_mta, want.rows[0].remote_mta);
    EXPECT_EQ(got.rows[0].last_attempt, want.rows[0].last_attempt);
  }
  EXPECT_EQ(envelope_to_json(sample_envelope()).find("pending_notices"), std::string::npos);
  EXPECT_TRUE(envelope_from_json(kSampleJson)->pending_notices.empty());
}

TEST(EnvelopeJson, APendingNoticeMustNameARecipientOfTheMessage) {
  const auto good = nlohmann::json::parse(envelope_to_json(with_pending_notices()));
  ASSERT_TRUE(envelope_from_json(good.dump()));
  auto with = [&good](auto change) {
    auto json = good;
    change(json["pending_notices"]);
    return envelope_from_json(json.dump());
  };
  EXPECT_FALSE(with([](auto& n) { n[0]["recipients"][0]["recipient"] = 2; }));  // two recipients
  EXPECT_FALSE(with([](auto& n) { n[0]["recipients"][0]["recipient"] = -1; }));
  EXPECT_FALSE(with([](auto& n) { n[0]["recipients"] = nlohmann::json::array(); }));
  EXPECT_FALSE(with([](auto& n) { n[0]["type"] = "success"; }));
  EXPECT_FALSE(with([](auto& n) { n[0]["id"] = "../x"; }));
  EXPECT_FALSE(with([](auto& n) { n[0]["recipients"][0].erase("diagnostic"); }));
  EXPECT_FALSE(with([](auto& n) { n = "bounce"; }));
}

TEST(EnvelopeJson, ParsesTheDocumentedExample) {
  auto parsed = envelope_from_json(kSampleJson);
  ASSERT_TRUE(parsed.has_value());
  expect_same(*parsed, sample_envelope());
}

TEST(EnvelopeJson, TheLastReplyTextLoadsStructured) {
  // The spool keeps the text that earlier versions wrote: its code and enhanced code come back.
  auto parsed = envelope_from_json(kSampleJson);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->recipients[0].last_reply.empty());
  const auto& reply = parsed->recipients[1].last_reply;
  EXPECT_EQ(reply.code, 421);
  EXPECT_EQ(reply.enhanced, "4.4.2");
  EXPECT_TRUE(reply.transient());
  EXPECT_EQ(reply.one_line(), "421 4.4.2 Connection dropped due to SocketError");
}

TEST(EnvelopeJson, IgnoresUnknownFields) {
  auto json = nlohmann::json::parse(kSampleJson);
  json["operator_note"] = "held for review";
  json["recipients"][0]["extra"] = 1;
  EXPECT_TRUE(envelope_from_json(json.dump()).has_value());
}

TEST(EnvelopeJson, ReplacesInvalidUtf8InsteadOfThrowing) {
  Envelope e = sample_envelope();
  e.client_helo = "bad\xff";
  auto parsed = envelope_from_json(envelope_to_json(e));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->client_helo, "bad\xef\xbf\xbd");
}

// Fields added after the first release; files written before them must still load.
bool is_optional_field(const std::string& key) {
  return key == "next_hop" || key == "last_attempt" || key == "delay_warning_sent" || key == "message_id";
}

TEST(EnvelopeJson, MissingAnyRequiredFieldIsMalformed) {
  const auto good = nlohmann::json::parse(kSampleJson);
  int required = 0;
  for (const auto& item : good.items()) {
    if (is_optional_field(item.key())) continue;
    ++required;
    auto json = good;
    json.erase(item.key());
    EXPECT_EQ(envelope_from_json(json.dump()), std::nullopt) << item.key();
  }
  EXPECT_EQ(required, 13);
  for (const auto& item : good["recipients"][0].items()) {
    if (is_optional_field(item.key())) continue;
    ++required;
    auto json = good;
    json["recipients"][0].erase(item.key());
    EXPECT_EQ(envelope_from_json(json.dump()), std::nullopt) << "recipient " << item.key();
  }
  EXPECT_EQ(required, 13 + 5);
}

TEST(EnvelopeJson, OlderFilesWithoutTheNewerFieldsStillLoad) {
  auto json = nlohmann::json::parse(kSampleJson);
  json.erase("delay_warning_sent");
  json.erase("message_id");
  for (auto& recipient : json["recipients"]) {
    recipient.erase("next_hop");
    recipient.erase("last_attempt");
  }
  auto parsed = envelope_from_json(json.dump());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_FALSE(parsed->delay_warning_sent);
  EXPECT_EQ(parsed->message_id, "");
  ASSERT_EQ(parsed->recipients.size(), 2u);
  EXPECT_EQ(parsed->recipients[1].next_hop, "");
  EXPECT_EQ(parsed->recipients[1].last_attempt, system_clock::time_point{});
  // Everything else is read as before.
  EXPECT_EQ(parsed->recipients[1].attempts, 2);
  EXPECT_EQ(parsed->recipients[1].next_attempt, sample_envelope().recipients[1].next_attempt);
}

TEST(EnvelopeJson, WrongTypesAndValuesAreMalformed) {
  const auto good = nlohmann::json::parse(kSampleJson);
  auto with = [&good](const char* key, nlohmann::json value) {
    auto json = good;
    json[key] = std::move(value);
    return envelope_from_json(json.dump());
  };
  EXPECT_EQ(with("format", 2), std::nullopt);
  EXPECT_EQ(with("format", "1"), std::nullopt);
  EXPECT_EQ(with("id", "../../etc/passwd"), std::nullopt);
  EXPECT_EQ(with("id", 42), std::nullopt);
  EXPECT_EQ(with("mail_from", nullptr), std::nullopt);
  EXPECT_EQ(with("recipients", "bob@localhost"), std::nullopt);
  EXPECT_EQ(with("recipients", nlohmann::json::array({"bob@localhost"})), std::nullopt);
  EXPECT_EQ(with("smtputf8", 1), std::nullopt);
  EXPECT_EQ(with("size", -1), std::nullopt);
  EXPECT_EQ(with("size", 1.5), std::nullopt);
  EXPECT_EQ(with("received", nullptr), std::nullopt);
  EXPECT_EQ(with("received", "yesterday"), std::nullopt);
  EXPECT_EQ(with("tls_cipher", false), std::nullopt);
  EXPECT_EQ(with("delay_warning_sent", "yes"), std::nullopt);
  EXPECT_EQ(with("delay_warning_sent", nullptr), std::nullopt);
  EXPECT_EQ(with("message_id", 7), std::nullopt);

  auto with_recipient = [&good](const char* key, nlohmann::json value) {
    auto json = good;
    json["recipients"][1][key] = std::move(value);
    return envelope_from_json(json.dump());
  };
  EXPECT_EQ(with_recipient("state", "lost"), std::nullopt);
  EXPECT_EQ(with_recipient("attempts", -1), std::nullopt);
  EXPECT_EQ(with_recipient("attempts", 4294967296ll), std::nullopt);
  EXPECT_EQ(with_recipient("attempts", "2"), std::nullopt);
  EXPECT_EQ(with_recipient("next_attempt", "soon"), std::nullopt);
  EXPECT_EQ(with_recipient("next_attempt", 0), std::nullopt);
  EXPECT_EQ(with_recipient("address", nullptr), std::nullopt);
  EXPECT_EQ(with_recipient("next_hop", nullptr), std::nullopt);
  EXPECT_EQ(with_recipient("next_hop", 25), std::nullopt);
  EXPECT_EQ(with_recipient("last_attempt", "2024-05-01"), std::nullopt);
  EXPECT_EQ(with_recipient("last_attempt", false), std::nullopt);
  // A null last_attempt is "never tried", like next_attempt's null.
  auto never = with_recipient("last_attempt", nullptr);
  ASSERT_TRUE(never.has_value());
  EXPECT_EQ(never->recipients[1].last_attempt, system_clock::time_point{});
}

TEST(EnvelopeJson, NonJsonTextIsMalformed) {
  for (std::string_view bad : {"", "{", "[]", "null", "42", "\"text\"", "{\"format\": 1}", "\xff\xfe{}"}) {
    EXPECT_EQ(envelope_from_json(bad), std::nullopt) << bad;
  }
  std::string truncated = kSampleJson;
  truncated.resize(truncated.size() / 2);
  EXPECT_EQ(envelope_from_json(truncated), std::nullopt);
}

// ---- the spool ----

class SpoolTest : public ::testing::Test {
 protected:
  /// The directory's names, without the recycled files of removed messages (pooled()).
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      if (!FilePool::is_pool_name(entry.path().filename().string())) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::size_t pooled() const {
    std::size_t n = 0;
    for (const auto& entry : fs::directory_iterator(dir_))
      n += FilePool::is_pool_name(entry.path().filename().string()) ? 1 : 0;
    return n;
  }
  ino_t inode_of(const std::string& name) const {
    struct stat st {};
    return ::stat((dir_ / name).c_str(), &st) == 0 ? st.st_ino : 0;
  }
  void put(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }

  Envelope envelope_with(std::string id, system_clock::time_point received) const {
    Envelope e = sample_envelope();
    e.id = std::move(id);
    e.received = received;
    return e;
  }

  sluice::test_util::TempDir temp_{"sluice-spool"};
  fs::path base_ = temp_.path();
  fs::path dir_ = base_ / "queue";
};

// Fails like a full disk, for every file or only for those whose name contains `only`.
FileOpener full_disk(const std::string& only = "") {
  return [only](const fs::path& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0 || path.filename().string().find(only) == std::string::npos) return fd;
    ::close(fd);
    return ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  };
}

TEST_F(SpoolTest, ConstructorCreatesTheDirectory) {
  Spool spool(dir_ / "nested");
  EXPECT_TRUE(fs::is_directory(dir_ / "nested"));
  EXPECT_EQ(spool.dir(), dir_ / "nested");
}

TEST_F(SpoolTest, ConstructorThrowsWhenThePathIsAFile) {
  std::ofstream(base_ / "file") << "x";
  EXPECT_THROW(Spool(base_ / "file"), fs::filesystem_error);
  EXPECT_THROW(Spool(base_ / "file" / "below"), fs::filesystem_error);
}

TEST_F(SpoolTest, StoreWritesContentAndEnvelope) {
  Spool spool(dir_);
  const std::string message = "Received: from mx\r\nSubject: hi\r\n\r\nbody\r\n";
  Envelope e = sample_envelope();
  ASSERT_TRUE(spool.store(e, message));
  EXPECT_EQ(entries(), (std::vector<std::string>{"0005F1A2B3C40001.eml", "0005F1A2B3C40001.json"}));
  EXPECT_EQ(spool.load_message(e.id), message);
  auto loaded = spool.load_envelope(e.id);
  ASSERT_TRUE(loaded.has_value());
  expect_same(*loaded, e);
  std::ifstream in(dir_ / "0005F1A2B3C40001.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), kSampleJson);
}

TEST_F(SpoolTest, StoreRefusesUnsafeIds) {
  Spool spool(dir_);
  const std::vector<std::string> bad_ids{"", "../x", "a.b", ".tmp", "a/b", std::string(65, 'A')};
  for (const std::string& id : bad_ids) {
    Envelope e = sample_envelope();
    e.id = id;
    EXPECT_EQ(spool.store(e, "x").error(), std::errc::invalid_argument) << id;
  }
  EXPECT_TRUE(entries().empty());
  EXPECT_FALSE(fs::exists(base_ / "x.eml"));
}

TEST_F(SpoolTest, StoreRefusesAddressesThatAreNotUtf8) {
  Spool spool(dir_);
  Envelope e = sample_envelope();
  e.recipients[1].address = "caf\xe9@example.org";  // Latin-1, not UTF-8
  EXPECT_EQ(spool.store(e, "x").error(), std::errc::illegal_byte_sequence);
  e = sample_envelope();
  e.mail_from = "\xff@example.org";
  EXPECT_EQ(spool.store(e, "x").error(), std::errc::illegal_byte_sequence);
  for (const char* bad : {"\xc0\xaf@example.org", "\xed\xa0\x80@example.org", "\xf4\x90\x80\x80@example.org",
                          "user@example.\xc3"}) {  // overlong, surrogate, above U+10FFFF, truncated
    e = sample_envelope();
    e.recipients[0].address = bad;
    EXPECT_EQ(spool.store(e, "x").error(), std::errc::illegal_byte_sequence) << bad;
  }
  EXPECT_TRUE(entries().empty());
}

TEST_F(SpoolTest, FullDiskWhileWritingContentLeavesNothing) {
  Spool spool(dir_, full_disk());
  EXPECT_EQ(spool.store(sample_envelope(), "message").error(), std::errc::no_space_on_device);
  EXPECT_TRUE(entries().empty());
  EXPECT_TRUE(spool.list().empty());
}

TEST_F(SpoolTest, FullDiskWhileWritingEnvelopeRemovesTheContentToo) {
  Spool spool(dir_, full_disk(".json."));
  EXPECT_EQ(spool.store(sample_envelope(), "message").error(), std::errc::no_space_on_device);
  EXPECT_TRUE(entries().empty());
}

TEST_F(SpoolTest, EnvelopeRenameFailureRemovesTheContent) {
  Spool spool(dir_);
  fs::create_directory(dir_ / "0005F1A2B3C40001.json");  // rename onto a directory fails
  EXPECT_EQ(spool.store(sample_envelope(), "message").error(), std::errc::is_a_directory);
  EXPECT_EQ(entries(), std::vector<std::string>{"0005F1A2B3C40001.json"});
}

TEST_F(SpoolTest, StoreIntoAVanishedDirectoryFails) {
  Spool spool(dir_);
  fs::remove(dir_);
  std::ofstream(dir_) << "now a file";
  EXPECT_EQ(spool.store(sample_envelope(), "message").error(), std::errc::not_a_directory);
}

TEST_F(SpoolTest, UpdateRewritesTheEnvelope) {
  Spool spool(dir_);
  Envelope e = sample_envelope();
  ASSERT_TRUE(spool.store(e, "message"));
  e.recipients[0].state = Recipient::State::Delivered;
  e.recipients[0].attempts = 1;
  e.recipients[0].last_reply = smtp::make_reply(250, "2.0.0", "Ok");
  ASSERT_TRUE(spool.update(e));
  auto loaded = spool.load_envelope(e.id);
  ASSERT_TRUE(loaded.has_value());
  expect_same(*loaded, e);
  EXPECT_EQ(entries().size(), 2u);
}

TEST_F(SpoolTest, UpdateOfAMissingMessageDoesNotCreateAGhost) {
  Spool spool(dir_);
  EXPECT_EQ(spool.update(sample_envelope()).error(), std::errc::no_such_file_or_directory);
  EXPECT_TRUE(entries().empty());
  Envelope bad = sample_envelope();
  bad.id = "../etc";
  EXPECT_EQ(spool.update(bad).error(), std::errc::invalid_argument);
}

TEST_F(SpoolTest, FailedUpdateKeepsThePreviousEnvelope) {
  Spool good(dir_);
  Envelope e = sample_envelope();
  ASSERT_TRUE(good.store(e, "message"));
  Spool full(dir_, full_disk());
  Envelope changed = e;
  changed.recipients[0].state = Recipient::State::Failed;
  EXPECT_EQ(full.update(changed).error(), std::errc::no_space_on_device);
  auto loaded = good.load_envelope(e.id);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->recipients[0].state, Recipient::State::Pending);
  EXPECT_EQ(entries().size(), 2u);
}

TEST_F(SpoolTest, LoadRefusesBadIdsMissingFilesAndMismatchedEnvelopes) {
  Spool spool(dir_);
  EXPECT_EQ(spool.load_envelope("../queue/x").error().message, "not a queue id");
  EXPECT_EQ(spool.load_message("../queue/x"), std::nullopt);
  EXPECT_EQ(spool.load_envelope("ABSENT").error().message, "missing or unreadable");
  EXPECT_EQ(spool.load_message("ABSENT"), std::nullopt);
  put("COPY.json", kSampleJson);  // content says 0005F1A2B3C40001
  EXPECT_EQ(spool.load_envelope("COPY").error().message, "its content is that of message 0005F1A2B3C40001");
  put("BROKEN.json", "{ not json");
  EXPECT_EQ(spool.load_envelope("BROKEN").error().message, "not a valid envelope (docs/queue.md, format 1)");
}

TEST_F(SpoolTest, RemoveDeletesBothFiles) {
  Spool spool(dir_);
  ASSERT_TRUE(spool.store(sample_envelope(), "message"));
  EXPECT_TRUE(spool.remove("0005F1A2B3C40001"));
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(spool.remove("0005F1A2B3C40001").error(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(spool.remove("../x").error(), std::errc::invalid_argument);
}

TEST_F(SpoolTest, RemovedFilesAreRecycledByTheNextStores) {
  Spool spool(dir_);
  Envelope first = envelope_with("REC1", system_clock::now());
  ASSERT_TRUE(spool.store(first, std::string(5000, 'a')));
  const std::set<ino_t> inodes{inode_of("REC1.eml"), inode_of("REC1.json")};
  EXPECT_TRUE(spool.remove("REC1"));
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(pooled(), 2u);
  // The next message is written into those two files: no new inode, and nothing of the old,
  // longer content survives.
  Envelope second = envelope_with("REC2", system_clock::now());
  ASSERT_TRUE(spool.store(second, "short\r\n"));
  EXPECT_EQ(pooled(), 0u);
  EXPECT_EQ((std::set<ino_t>{inode_of("REC2.eml"), inode_of("REC2.json")}), inodes);
  EXPECT_EQ(spool.load_message("REC2"), "short\r\n");
  ASSERT_TRUE(spool.load_envelope("REC2"));
  EXPECT_EQ(spool.load_envelope("REC2")->id, "REC2");
  // An empty pool falls back to new files.
  ASSERT_TRUE(spool.store(envelope_with("REC3", system_clock::now()), "third\r\n"));
  EXPECT_EQ(spool.load_message("REC3"), "third\r\n");
}

TEST_F(SpoolTest, LargeFilesAreNotKeptForRecycling) {
  Spool spool(dir_);
  ASSERT_TRUE(spool.store(envelope_with("BIG1", system_clock::now()), std::string(FilePool::kMaxKeptSize + 1, 'b')));
  EXPECT_TRUE(spool.remove("BIG1"));
  EXPECT_TRUE(entries().empty());
  EXPECT_EQ(pooled(), 1u);  // the envelope; the content was unlinked
}

TEST_F(SpoolTest, RecoverPutsLastRunsRecycledFilesBackInThePool) {
  fs::create_directories(dir_);
  put(".free.0123456789abcdef.1", "old content of a removed message");
  put(".free.0123456789abcdef.2", std::string(FilePool::kMaxKeptSize + 1, 'x'));
  Spool spool(dir_);
  EXPECT_EQ(spool.recover(), 0u);
  EXPECT_EQ(pooled(), 1u);  // the large one is gone
  const ino_t kept = inode_of(".free.0123456789abcdef.1");
  ASSERT_TRUE(spool.store(envelope_with("ADOPT", system_clock::now()), "m"));
  EXPECT_EQ(pooled(), 0u);
  const std::set<ino_t> used{inode_of("ADOPT.eml"), inode_of("ADOPT.json")};
  EXPECT_EQ(used.count(kept), 1u);
  EXPECT_EQ(spool.load_message("ADOPT"), "m");
}

TEST_F(SpoolTest, RemoveDeletesAnOrphanedContentFile) {
  Spool spool(dir_);
  put("ABC.eml", "orphan");
  EXPECT_TRUE(spool.remove("ABC"));
  EXPECT_TRUE(entries().empty());
}

// Runs every task on a thread of its own, all at once: the way the group commit overlaps them.
void run_on_threads(std::size_t count, const std::function<void(std::size_t)>& task) {
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < count; ++i) threads.emplace_back([&task, i] { task(i); });
  for (auto& t : threads) t.join();
}

TEST_F(SpoolTest, StoreBatchStoresEveryMessageAndReportsEachResult) {
  for (bool parallel : {false, true}) {
    fs::remove_all(dir_);
    Spool spool(dir_);
    std::vector<Envelope> envelopes;
    for (const char* id : {"AAA1", "bad/id", "AAA3", "AAA4"})
      envelopes.push_back(envelope_with(id, system_clock::now()));
    envelopes[2].mail_from = "\xff@example.org";  // not UTF-8
    std::vector<std::string> messages{"one\r\n", "two\r\n", "three\r\n", std::string(300000, 'x')};
    std::vector<StoreRequest> requests;
    for (std::size_t i = 0; i < envelopes.size(); ++i) requests.push_back({&envelopes[i], messages[i], {}});
    spool.store_batch(requests, parallel ? ParallelRunner(run_on_threads) : ParallelRunner());
    EXPECT_TRUE(requests[0].result) << parallel;
    EXPECT_EQ(requests[1].result.error(), std::errc::invalid_argument);
    EXPECT_EQ(requests[2].result.error(), std::errc::illegal_byte_sequence);
    EXPECT_TRUE(requests[3].result);
    EXPECT_EQ(entries(), (std::vector<std::string>{"AAA1.eml", "AAA1.json", "AAA4.eml", "AAA4.json"}));
    EXPECT_EQ(spool.load_message("AAA1"), messages[0]);
    EXPECT_EQ(spool.load_message("AAA4"), messages[3]);
    ASSERT_TRUE(spool.load_envelope("AAA4"));
    EXPECT_EQ(spool.load_envelope("AAA4")->id, "AAA4");
  }
}

TEST_F(SpoolTest, StoreBatchFailureOfOneMessageLeavesNothingOfItAndKeepsTheOthers) {
  // The disk is "full" for message BBB2's envelope only.
  Spool spool(dir_, full_disk("BBB2.json"));
  std::vector<Envelope> envelopes{envelope_with("BBB1", system_clock::now()),
                                  envelope_with("BBB2", system_clock::now()),
                                  envelope_with("BBB3", system_clock::now())};
  std::vector<StoreRequest> requests;
  for (auto& e : envelopes) requests.push_back({&e, "body\r\n", {}});
  spool.store_batch(requests, run_on_threads);
  EXPECT_TRUE(requests[0].result);
  EXPECT_EQ(requests[1].result.error(), std::errc::no_space_on_device);
  EXPECT_TRUE(requests[2].result);
  EXPECT_EQ(entries(), (std::vector<std::string>{"BBB1.eml", "BBB1.json", "BBB3.eml", "BBB3.json"}));
  EXPECT_EQ(spool.list(), (std::vector<std::string>{"BBB1", "BBB3"}));
}

TEST_F(SpoolTest, StoreBatchOfNothingDoesNothing) {
  Spool spool(dir_);
  spool.store_batch({});
  EXPECT_TRUE(entries().empty());
}

TEST_F(SpoolTest, RemoveBatchRemovesEachAndReportsWhatWasNotThere) {
  Spool spool(dir_);
  for (const char* id : {"CCC1", "CCC2", "CCC3"}) ASSERT_TRUE(spool.store(envelope_with(id, system_clock::now()), "m"));
  put("CCC4.eml", "orphan");
  auto results = spool.remove_batch({"CCC1", "NOPE", "CCC3", "../x", "CCC4"});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0]);
  EXPECT_EQ(results[1].error(), std::errc::no_such_file_or_directory);
  EXPECT_TRUE(results[2]);
  EXPECT_EQ(results[3].error(), std::errc::invalid_argument);
  EXPECT_TRUE(results[4]);
  EXPECT_EQ(entries(), (std::vector<std::string>{"CCC2.eml", "CCC2.json"}));
  EXPECT_TRUE(spool.remove_batch({}).empty());
}

TEST_F(SpoolTest, RemoveKeepsTheContentWhenTheEnvelopeCannotGo) {
  Spool spool(dir_);
  fs::create_directories(dir_ / "DDD1.json" / "inside");  // unlink of a directory fails
  put("DDD1.eml", "content");
  EXPECT_EQ(spool.remove("DDD1").error(), std::errc::is_a_directory);
  EXPECT_TRUE(fs::exists(dir_ / "DDD1.eml"));
}

TEST_F(SpoolTest, ListOrdersByReceivedThenId) {
  using namespace std::chrono;
  Spool spool(dir_);
  const system_clock::time_point t = sys_days{2024y / 5 / 1};
  ASSERT_TRUE(spool.store(envelope_with("C", t + 2s), "m"));
  ASSERT_TRUE(spool.store(envelope_with("B", t + 1s), "m"));
  ASSERT_TRUE(spool.store(envelope_with("A", t + 2s), "m"));
  ASSERT_TRUE(spool.store(envelope_with("D", t + 1us), "m"));
  EXPECT_EQ(spool.list(), (std::vector<std::string>{"D", "B", "A", "C"}));
}

TEST_F(SpoolTest, ListSkipsUncommittedAndUnrelatedFilesButShowsUnreadableEnvelopesFirst) {
  using namespace std::chrono;
  Spool spool(dir_);
  ASSERT_TRUE(spool.store(envelope_with("GOOD", sys_days{2024y / 5 / 1}), "m"));
  put("ORPHAN.eml", "no envelope");
  put(".tmp.X.json.0123456789abcdef", "{");
  put("notes.txt", "operator notes");
  put("bad.name.json", "{}");
  put("BROKEN.json", "{ not json");
  fs::create_directory(dir_ / "DIR.json");
  EXPECT_EQ(spool.list(), (std::vector<std::string>{"BROKEN", "GOOD"}));
}

TEST_F(SpoolTest, IdsListCommittedMessagesByIdWithoutReadingThem) {
  using namespace std::chrono;
  Spool spool(dir_);
  ASSERT_TRUE(spool.store(envelope_with("C1", sys_days{2024y / 5 / 1}), "m"));
  ASSERT_TRUE(spool.store(envelope_with("B2", sys_days{2024y / 4 / 1}), "m"));
  put("ORPHAN.eml", "no envelope");
  put(".tmp.X.json.0123456789abcdef", "{");
  put("bad.name.json", "{}");
  put("A0.json", "{ not json");  // unreadable, still a committed message to report
  fs::create_directory(dir_ / "DIR.json");
  fs::create_symlink(dir_ / "C1.json", dir_ / "LINK.json");
  EXPECT_EQ(spool.ids(), (std::vector<std::string>{"A0", "B2", "C1"}));
  fs::remove_all(dir_);
  EXPECT_TRUE(spool.ids().empty());
}

TEST_F(SpoolTest, ListOfAMissingDirectoryIsEmpty) {
  Spool spool(dir_);
  fs::remove(dir_);
  EXPECT_TRUE(spool.list().empty());
  EXPECT_EQ(spool.recover(), 0u);
}

TEST_F(SpoolTest, RecoverRemovesOrphansAndTemporaryFilesOnly) {
  using namespace std::chrono;
  Spool spool(dir_);
  ASSERT_TRUE(spool.store(envelope_with("KEPT", sys_days{2024y / 5 / 1}), "committed"));
  put("ORPHAN.eml", "cut short before the envelope");
  put(".tmp.ORPHAN2.eml.0123456789abcdef", "half");
  put(".tmp.KEPT.json.fedcba9876543210", "{\"format\"");
  put("ENVONLY.json", kSampleJson);  // a store or removal cut short: its content never made it
  put("notes.txt", "operator notes");
  put("weird.name.eml", "not a queue id");
  put("weird.name.json", "{}");
  fs::create_directory(dir_ / ".tmp.dir");
  fs::create_directory(dir_ / "DIRONLY.json");
  EXPECT_EQ(spool.recover(), 4u);
  EXPECT_EQ(entries(), (std::vector<std::string>{".tmp.dir", "DIRONLY.json", "KEPT.eml", "KEPT.json", "notes.txt",
                                                 "weird.name.eml", "weird.name.json"}));
  EXPECT_EQ(spool.load_message("KEPT"), "committed");
  EXPECT_EQ(spool.recover(), 0u);
}

}  // namespace
TEST(SplitAddress, SplitsAtTheLastAt) {
  EXPECT_EQ(split_address("\"a@b\"@example.org"), std::make_pair(std::string("\"a@b\""), std::string("example.org")));
  EXPECT_EQ(split_address("bob@localhost"), std::make_pair(std::string("bob"), std::string("localhost")));
  EXPECT_EQ(split_address("postmaster"), std::make_pair(std::string("postmaster"), std::string()));
}

}  // namespace sluice::queue
