#include "logscan/scanner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "logscan/report.h"
#include "logscan/test_support.h"

namespace sluice::logscan {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/logscan-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

void write_gz(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
}

/// The five header lines of a protocol log: "#Software: `software`", ..., "#Log-type: `type`", "#Fields: ...".
std::string protocol_log_header(std::string_view software, std::string_view version, std::string_view type) {
  return fmt::format(
      "#Software: {}\r\n#Version: {}\r\n#Log-type: {}\r\n#Date: 2026-11-27T07:00:00.000Z\r\n"
      "#Fields: "
      "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n",
      software, version, type);
}

/// A receive log of `n` sessions; every 20th on TLS 1.0, every 50th a refused handshake.
std::string receive_log(int n) {
  std::string out = protocol_log_header("sluice", "0.1.0", "SMTP Receive Protocol Log");
  for (int i = 0; i < n; ++i) {
    std::string id = fmt::format("{:016X}", 0xA000 + i);
    std::string t = fmt::format("2026-11-27T{:02}:{:02}:{:02}.000Z", 7 + i / 3600 % 10, i / 60 % 60, i % 60);
    std::string ep = fmt::format("10.0.0.1:25,192.0.2.{}:{}", i % 7, 40000 + i);
    auto line = [&](int seq, const char* ev, const std::string& data, const std::string& ctx) {
      out += fmt::format("{},Default,{},{},{},{},{},{}\r\n", t, id, seq, ep, ev, data, ctx);
    };
    line(0, "+", "", "");
    line(1, "<", "EHLO host" + std::to_string(i % 7), "");
    if (i % 50 == 0) {
      line(2, "*", "", "TLS negotiation failed with error UnsupportedProtocol");
    } else {
      const char* v = i % 20 == 0 ? "TLS1_0" : "TLS1_2";
      line(2, "*", "",
           fmt::format("\"TLS protocol SP_PROT_{}_SERVER negotiation succeeded using bulk encryption "
                       "algorithm CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 "
                       "with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 256 "
                       "bits\"",
                       v));
      line(3, "<", "DATA", "");
      line(4, ">", "354 Start mail input", "");
      line(5, ">", "250 2.6.0 Queued mail for delivery", "");
    }
    if (i == 77) out += "broken line\r\n";
    line(9, "-", "", "Local");
  }
  return out;
}

TEST(Scanner, DirectoriesGzipAndFormatsTogether) {
  TempDir dir;
  std::ifstream pf(testing::data_dir() / "postfix-tls-log-lines.txt", std::ios::binary);
  std::string postfix((std::istreambuf_iterator<char>(pf)), std::istreambuf_iterator<char>());
  write(dir.path / "exchange/SmtpReceive/RECV2026112707-1.LOG", receive_log(100));
  write_gz(dir.path / "postfix/mail.log.1.gz", postfix);
  write(dir.path / "notes.txt", "just some text\nnothing to see\n");
  ScanOptions o;
  o.year = 2026;
  ScanResult r = scan({dir.path.string(), (dir.path / "missing.log").string()}, o);
  // The missing file, and the one that is not a log (named, not silently skipped).
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_NE(r.errors[0].find("missing.log"), std::string::npos);
  EXPECT_EQ(r.errors[1].rfind((dir.path / "notes.txt").string() + ": not a log format logscan reads", 0), 0u)
      << r.errors[1];
  const Aggregate& a = r.aggregate;
  ASSERT_EQ(a.files.size(), 4u);
  std::map<std::string, std::string> formats;
  for (const auto& f : a.files) formats[fs::path(f.path).filename()] = f.format;
  EXPECT_EQ(formats["RECV2026112707-1.LOG"], "exchange-receive");
  EXPECT_EQ(formats["mail.log.1.gz"], "postfix");
  EXPECT_EQ(formats["notes.txt"], "unknown");
  // TLS 1.0: Exchange sessions 20, 40, 60 and 80 (0 is a refusal), and the Postfix sample's TLSv1 one.
  EXPECT_EQ(a.sessions[1], 5u);
  EXPECT_EQ(a.sessions[5], 2u + 1u);  // refusals 0 and 50, and Postfix's SSL_accept error
}

TEST(Scanner, AWholeLogsDirectoryCountsTrackedMessagesOnce) {
  TempDir dir;
  // Three sessions: a refusal, then one message each from 192.0.2.1 and 192.0.2.2 at 07:00.
  write(dir.path / "logs/ProtocolLog/SmtpReceive/RECV2026112707-1.LOG", receive_log(3));
  // The same two messages in the tracking log, and one the next day, when the protocol log has
  // been rolled away already.
  write(dir.path / "logs/MessageTracking/MSGTRK2026112707-1.LOG",
        "#Software: sluice\r\n#Log-type: Message Tracking Log\r\n"
        "#Fields: date-time,client-ip,client-hostname,server-ip,server-hostname,connector-id,source,event-id,"
        "recipient-status\r\n"
        "2026-11-27T07:00:01.000Z,192.0.2.1,host1,10.0.0.1,mx,Default,SMTP,RECEIVE,\r\n"
        "2026-11-27T07:00:02.000Z,192.0.2.2,host2,10.0.0.1,mx,Default,SMTP,RECEIVE,\r\n"
        "2026-11-28T07:00:00.000Z,192.0.2.3,host3,10.0.0.1,mx,Default,SMTP,RECEIVE,\r\n");
  ScanOptions o;
  ScanResult r = scan({(dir.path / "logs").string()}, o);
  EXPECT_TRUE(r.errors.empty());
  const Aggregate& a = r.aggregate;
  EXPECT_EQ(a.tracking_events.at("RECEIVE"), 3u);
  EXPECT_EQ(a.tracked_messages_in_protocol_log, 2u);
  auto messages = [&](const char* remote) {
    return a.peers.at(Aggregate::peer_key(Direction::Inbound, "Default", remote)).messages;
  };
  EXPECT_EQ(messages("192.0.2.1"), 1u);
  EXPECT_EQ(messages("192.0.2.2"), 1u);
  EXPECT_EQ(messages("192.0.2.3"), 1u);
  EXPECT_EQ(a.sessions[3] + a.sessions[5], 3u);  // sessions come from the protocol log only
}

TEST(Scanner, AnInputInNoKnownFormatIsAnErrorNamingIt) {
  TempDir dir;
  write(dir.path / "access.log", "127.0.0.1 - - [27/Nov/2026:07:00:00 +0000] \"GET / HTTP/1.1\" 200 12\n");
  ScanOptions o;
  auto r = scan({(dir.path / "access.log").string()}, o);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("access.log: not a log format logscan reads"), std::string::npos) << r.errors[0];
  ASSERT_EQ(r.aggregate.files.size(), 1u);
  EXPECT_EQ(r.aggregate.files[0].format, "unknown");
  EXPECT_EQ(r.aggregate.files[0].error, r.errors[0].substr(r.errors[0].find(": ") + 2));
  ReportOptions ro;
  ro.errors = r.errors;
  EXPECT_EQ(build_report(r.aggregate, ro).exit_status, 2);
}

TEST(Scanner, AnEmptyLogOrOneWithOnlyItsHeaderIsNotAnError) {
  // Exchange starts every file with its header; a file rolled a moment ago has nothing else yet.
  TempDir dir;
  write(dir.path / "RECV2026112708-1.LOG", receive_log(0));
  write(dir.path / "SEND2026112708-1.LOG", "");
  ScanOptions o;
  auto r = scan({dir.path.string()}, o);
  EXPECT_TRUE(r.errors.empty()) << r.errors[0];
  ASSERT_EQ(r.aggregate.files.size(), 2u);
  EXPECT_EQ(r.aggregate.files[0].format, "exchange-receive");
  EXPECT_EQ(r.aggregate.files[1].format, "empty");
}

TEST(Scanner, SplittingALargeFileGivesTheSameReport) {
  TempDir dir;
  write(dir.path / "RECV.LOG", receive_log(2000));
  ScanOptions whole;
  whole.jobs = 1;
  ScanOptions split;
  split.jobs = 2;
  split.split_threshold = 1024;
  split.block_size = 4096;
  auto a = scan({(dir.path / "RECV.LOG").string()}, whole);
  auto b = scan({(dir.path / "RECV.LOG").string()}, split);
  ReportOptions ro;
  auto ja = render_json(build_report(a.aggregate, ro));
  auto jb = render_json(build_report(b.aggregate, ro));
  EXPECT_EQ(ja.dump(1), jb.dump(1));
  EXPECT_EQ(a.aggregate.sessions[1], 80u);  // every 20th of 2000, less those that are every-50th refusals
  EXPECT_EQ(a.aggregate.sessions[5], 40u);
  EXPECT_EQ(a.aggregate.malformed, 1u);
  ASSERT_EQ(a.aggregate.malformed_examples.size(), 1u);
  EXPECT_EQ(b.aggregate.malformed_examples[0].line, a.aggregate.malformed_examples[0].line);
}

/// An Exchange 2013+ Send log of `n` connection attempts; every 10th is refused.
std::string send_log(int n) {
  std::string out = protocol_log_header("Microsoft Exchange Server", "15.0.0.0", "SMTP Send Protocol Log");
  for (int i = 0; i < n; ++i) {
    std::string id = fmt::format("08D6A8D4{:08X}", i);
    std::string t = fmt::format("2026-11-27T07:{:02}:{:02}.000Z", i / 60 % 60, i % 60);
    std::string remote = fmt::format("203.0.113.{}:25", i % 5);
    std::string local = fmt::format("192.0.2.1:{}", 40000 + i);
    auto line = [&](int seq, const std::string& ep, const char* ev, const std::string& data, const std::string& ctx) {
      out += fmt::format("{},To Partner,{},{},{},{},{},{},{}\r\n", t, id, seq, ep, remote, ev, data, ctx);
    };
    line(0, "", "*", "SendRoutingHeaders", "Set Session Permissions");
    line(1, "", "*", "", "attempting to connect");
    if (i % 10 == 0) {
      line(2, "", "*", "",
           "\"Failed to connect. Winsock error code: 10061, Win32 error code: 10061, Error Message: No connection "
           "could be made because the target machine actively refused it\"");
      continue;
    }
    line(2, local, "+", "", "");
    line(3, local, "<", "220 partner.example ESMTP", "");
    line(4, local, ">", "EHLO gw.example", "");
    line(5, local, "*", "",
         "\"TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 "
         "with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm "
         "CALG_ECDH_EPHEM with strength 384 bits\"");
    line(6, local, "-", "", "Local");
  }
  return out;
}

TEST(Scanner, SendLogAttemptsCutAtEveryLineCountOnce) {
  // The file cut into 2 to 16 parts: cuts fall between "Set Session Permissions", "attempting
  // to connect" and "+" of some attempts; each attempt is still one session.
  TempDir dir;
  write(dir.path / "SEND.LOG", send_log(200));
  ScanOptions whole;
  whole.jobs = 1;
  auto a = scan({(dir.path / "SEND.LOG").string()}, whole);
  ClassCounts expected{};
  expected[static_cast<std::size_t>(TlsClass::Tls1_2)] = 180;
  expected[static_cast<std::size_t>(TlsClass::ConnectFailed)] = 20;
  EXPECT_EQ(a.aggregate.sessions, expected);
  ReportOptions ro;
  for (unsigned jobs = 2; jobs <= 16; ++jobs) {
    ScanOptions split;
    split.jobs = jobs;
    split.split_threshold = 1024;
    split.block_size = 4096;
    auto b = scan({(dir.path / "SEND.LOG").string()}, split);
    EXPECT_EQ(b.aggregate.sessions, expected) << jobs;
    EXPECT_EQ(render_json(build_report(a.aggregate, ro)).dump(1), render_json(build_report(b.aggregate, ro)).dump(1));
  }
}

TEST(Scanner, ReadErrorIsReportedNotFatal) {
  // /proc/self/mem opens but fails on read at offset 0 (EIO): a read error mid-scan.
  TempDir dir;
  write(dir.path / "RECV.LOG", receive_log(3));
  ScanOptions o;
  auto r = scan({"/proc/self/mem", (dir.path / "RECV.LOG").string()}, o);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("/proc/self/mem"), std::string::npos);
  EXPECT_EQ(r.aggregate.sessions[3], 2u);  // the readable file is still read in full
  ReportOptions ro;
  ro.errors = r.errors;
  EXPECT_EQ(build_report(r.aggregate, ro).exit_status, 2);
}

}  // namespace
}  // namespace sluice::logscan
