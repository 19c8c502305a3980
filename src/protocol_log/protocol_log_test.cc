#include "protocol_log/protocol_log.h"
#include "base/temp_dir_test_util.h"
#include "base/utf8.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace sluice::protocol_log {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono;

system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s, int ms) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
}

using sluice::test_util::slurp;

// The published lines are the parser's contract. The repository keeps its own copy of them as
// test data (tests/data/logscan/, which logscan's tests read too), so a clone anywhere can run it.
fs::path samples_file() {
  fs::path p = fs::path(__FILE__).parent_path() / "../../tests/data/logscan/exchange-protocol-log-lines.txt";
  return fs::exists(p) ? p : fs::path{};
}

std::vector<std::string> sample_data_lines() {
  fs::path p = samples_file();
  std::vector<std::string> out;
  if (p.empty()) return out;
  std::ifstream in(p, std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

const std::string kTls12Line =
    "2023-01-11T16:00:01.010Z,SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME,123453EC62278461,7,"
    "10.10.10.10:25,95.10.20.33:56026,*,,\"TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk "
    "encryption algorithm CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 "
    "bits and key exchange algorithm CALG_ECDH_EPHEM with strength 256 bits\"";
const std::string kThumbprintLine =
    "2019-11-04T06:00:35.402Z,组织内 SMTP 发送连接器,08D760DF231F00BC,29,10.**.**.31:37964,10.**.**.168:25,*,"
    "352D244A535D94B576232ECC4A4000CFE06BE106,Certificate thumbprint";

TEST(ParseLine, PublishedTls12Line) {
  auto line = parse_line(kTls12Line);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->time, at(2023, 1, 11, 16, 0, 1, 10));
  EXPECT_EQ(line->connector, "SERVER-HOSTNAME\\Default Frontend SERVER-HOSTNAME");
  EXPECT_EQ(line->session_id, "123453EC62278461");
  EXPECT_EQ(line->sequence, 7);
  EXPECT_EQ(line->local_endpoint, "10.10.10.10:25");
  EXPECT_EQ(line->remote_endpoint, "95.10.20.33:56026");
  EXPECT_EQ(line->event, Event::Info);
  EXPECT_EQ(line->data, "");
  EXPECT_EQ(line->context.substr(0, 35), "TLS protocol SP_PROT_TLS1_2_SERVER ");
  EXPECT_NE(line->context.find("CALG_SHA_256 with strength 0 bits and key"), std::string::npos);
  EXPECT_EQ(format_line(*line), kTls12Line + "\r\n");
}

TEST(ParseLine, PublishedThumbprintLineKeepsUtf8Connector) {
  auto line = parse_line(kThumbprintLine + "\r\n");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->connector, "组织内 SMTP 发送连接器");
  EXPECT_EQ(line->sequence, 29);
  EXPECT_EQ(line->data, "352D244A535D94B576232ECC4A4000CFE06BE106");
  EXPECT_EQ(line->context, "Certificate thumbprint");
  EXPECT_EQ(format_line(*line), kThumbprintLine + "\r\n");
}

TEST(ParseLine, EveryPublishedSampleLine) {
  fs::path p = samples_file();
  ASSERT_FALSE(p.empty()) << "cannot find tests/data/logscan/exchange-protocol-log-lines.txt in the source tree";
  std::vector<std::string> lines = sample_data_lines();
  ASSERT_EQ(lines.size(), 5u) << "the sample file changed: review this test";
  for (const std::string& text : lines) {
    auto line = parse_line(text);
    ASSERT_TRUE(line) << text;
    EXPECT_EQ(line->event, Event::Info) << text;
    EXPECT_EQ(format_line(*line), text + "\r\n") << "not byte-identical after a round trip";
  }
  auto first = parse_line(lines[0]);
  EXPECT_EQ(first->session_id, "08D760DF231F00BC");
  EXPECT_EQ(first->sequence, 27);
  EXPECT_EQ(first->local_endpoint, "10.**.**.31:37964");
  EXPECT_EQ(first->remote_endpoint, "10.**.**.168:25");
  EXPECT_NE(first->context.find("CALG_ECDHE with strength 256 bits"), std::string::npos);
  auto received = parse_line(lines[1]);
  EXPECT_EQ(received->context, "Received certificate");
  EXPECT_EQ(received->data, "");
  auto failure = parse_line(lines[4]);
  EXPECT_EQ(failure->connector, "Outbound to Office 365");
  EXPECT_EQ(failure->local_endpoint, "");
  EXPECT_EQ(failure->remote_endpoint, "");
  EXPECT_EQ(failure->context, "TLS negotiation failed with error UnknownCredentials");
  EXPECT_EQ(failure->time, at(2017, 10, 7, 4, 42, 56, 804));
}

TEST(ParseLine, TolerantOfLineEndings) {
  for (const char* end : {"", "\n", "\r\n", "\r", "\r\n\r\n"}) {
    EXPECT_TRUE(parse_line(kThumbprintLine + end)) << "ending of length " << std::strlen(end);
  }
}

TEST(ParseLine, RejectsMalformedLines) {
  const std::string good_prefix = "2023-01-11T16:00:01.010Z,c,S,1,l,r,";
  const std::vector<std::string> bad = {
      "",
      "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context",
      good_prefix + "*,data",                               // 8 fields
      good_prefix + "*,data,context,extra",                 // 10 fields
      good_prefix + "*,\"unterminated,context",             // open quote
      good_prefix + "*,\"closed\"junk,context",             // text after closing quote
      good_prefix + "*,in\"side,context",                   // bare quote in unquoted field
      good_prefix + "?,,context",                           // unknown event
      good_prefix + "**,,context",                          // event of two characters
      good_prefix + ",,context",                            // empty event
      "2023-01-11 16:00:01.010Z,c,S,1,l,r,*,,x",            // space instead of T
      "2023-01-11T16:00:01.010,c,S,1,l,r,*,,x",             // no Z
      "2023-02-30T16:00:01.010Z,c,S,1,l,r,*,,x",            // no such day
      "2023-01-11T24:00:01.010Z,c,S,1,l,r,*,,x",            // hour 24
      "2023-01-11T16:60:01.010Z,c,S,1,l,r,*,,x",            // minute 60
      "2023-01-11T16:00:01.Z,c,S,1,l,r,*,,x",               // empty fraction
      "2023-01-11T16:00:01.01x0Z,c,S,1,l,r,*,,x",           // junk in fraction
      "2023-1-11T16:00:01.010Z,c,S,1,l,r,*,,x",             // short month
      "2023-01-11T16:00:01.010Z,c,S,-1,l,r,*,,x",           // negative sequence
      "2023-01-11T16:00:01.010Z,c,S,one,l,r,*,,x",          // non-numeric sequence
      "2023-01-11T16:00:01.010Z,c,S,99999999999,l,r,*,,x",  // sequence overflows int
      "2023-01-11T16:00:01.010Z,c,S,,l,r,*,,x",             // empty sequence
      "2023-01-11T16:00:01.010Z,c,S,1,l,r,*,,line\nbreak",  // bare LF outside quotes
  };
  for (const std::string& text : bad) EXPECT_FALSE(parse_line(text)) << text;
}

TEST(ParseLine, FractionalSecondsOfOtherWidths) {
  auto seven = parse_line("2023-01-11T16:00:01.0109999Z,c,S,1,l,r,*,,x");
  ASSERT_TRUE(seven);
  EXPECT_EQ(seven->time, at(2023, 1, 11, 16, 0, 1, 10));
  auto none = parse_line("2023-01-11T16:00:01Z,c,S,1,l,r,*,,x");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->time, at(2023, 1, 11, 16, 0, 1, 0));
  auto one = parse_line("2024-02-29T23:59:59.5Z,c,S,1,l,r,*,,x");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->time, at(2024, 2, 29, 23, 59, 59, 500));
}

// Found by fuzz/protocol_log_fuzz.cc: a year outside system_clock's range (1678-2262) overflowed
// the nanosecond count (undefined behaviour; in practice "9999-..." came back as 1815).
TEST(ParseLine, YearsSystemClockCannotHoldAreMalformed) {
  EXPECT_FALSE(parse_line("9999-01-11T16:00:01.010Z,c,S,1,l,r,*,,x"));
  EXPECT_FALSE(parse_line("1000-01-11T16:00:01.010Z,c,S,1,l,r,*,,x"));
  auto late = parse_line("2261-12-31T23:59:59.999Z,c,S,1,l,r,*,,x");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->time, at(2261, 12, 31, 23, 59, 59, 999));
  auto early = parse_line("1678-01-01T00:00:00.000Z,c,S,1,l,r,*,,x");
  ASSERT_TRUE(early);
  EXPECT_EQ(format_line(*early).substr(0, 24), "1678-01-01T00:00:00.000Z");
}

TEST(FormatLine, QuotesOnlyWhenNeeded) {
  Line line{at(2026, 11, 27, 3, 4, 5, 6),
            "Default, \"quoted\" connector",
            "0123456789ABCDEF",
            12,
            "[::1]:2525",
            "127.0.0.1:40000",
            Event::Received,
            "MAIL FROM:<a@b.example> SIZE=10",
            ""};
  EXPECT_EQ(format_line(line),
            "2026-11-27T03:04:05.006Z,\"Default, \"\"quoted\"\" connector\",0123456789ABCDEF,12,[::1]:2525,"
            "127.0.0.1:40000,<,MAIL FROM:<a@b.example> SIZE=10,\r\n");
}

TEST(FormatLine, RoundTripsTrickyData) {
  const std::vector<std::string> values = {
      "",
      ",",
      "\"",
      "\"\"",
      "a,b",
      "say \"hi\", then go",
      "trailing comma,",
      ",leading",
      "  spaces  ",
      "日本語, テスト",
      "#not a comment",
      "'single'",
      "=cmd|' /C calc'!A0",
  };
  int seq = 0;
  for (const std::string& v : values) {
    for (Event e : {Event::Connect, Event::Disconnect, Event::Sent, Event::Received, Event::Info}) {
      Line line{at(1999, 12, 31, 23, 59, 59, 999), v, "S" + v, seq++, v, v, e, v, v};
      std::string text = format_line(line);
      ASSERT_EQ(text.substr(text.size() - 2), "\r\n");
      auto back = parse_line(text);
      ASSERT_TRUE(back) << text;
      EXPECT_EQ(back->time, line.time);
      EXPECT_EQ(back->connector, v);
      EXPECT_EQ(back->session_id, "S" + v);
      EXPECT_EQ(back->sequence, line.sequence);
      EXPECT_EQ(back->local_endpoint, v);
      EXPECT_EQ(back->remote_endpoint, v);
      EXPECT_EQ(back->event, e);
      EXPECT_EQ(back->data, v);
      EXPECT_EQ(back->context, v);
    }
  }
}

// What a client sends (EHLO names, commands, a peer's replies) may hold NUL, ESC, CR, LF: the line
// holds none of them raw, stays one line of valid UTF-8, and the reader still parses it.
TEST(FormatLine, EscapesControlCharactersAndParsesBack) {
  using namespace std::string_literals;
  const std::string nasty = "EHLO \x1b]0;owned\x07\x1b[2J\0x\r\nQUIT\tDEL\x7f C1\xc2\x9b bad\xff, \"q\""s;
  const std::string shown =
      "EHLO \\x1B]0;owned\\x07\\x1B[2J\\x00x\\x0D\\x0AQUIT\\x09DEL\\x7F C1\\u009B bad\\xFF, \"q\"";
  Line line{at(2026, 11, 27, 3, 4, 5, 6),
            "Default",
            "0123456789ABCDEF",
            3,
            "127.0.0.1:25",
            "127.0.0.1:40000",
            Event::Received,
            nasty,
            "context\x1b[31m"};
  const std::string text = format_line(line);
  ASSERT_EQ(text.substr(text.size() - 2), "\r\n");
  const std::string body = text.substr(0, text.size() - 2);
  for (char c : body) {
    auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 && byte != 0x7f) << "raw byte " << int(byte) << " in " << text;
  }
  EXPECT_TRUE(is_valid_utf8(text));
  auto back = parse_line(text);
  ASSERT_TRUE(back) << text;
  EXPECT_EQ(back->data, shown);
  EXPECT_EQ(back->context, "context\\x1B[31m");
  EXPECT_EQ(back->sequence, 3);
}

TEST(HeaderLines, ExactText) {
  EXPECT_EQ(header_lines(Direction::Receive, at(2023, 1, 11, 16, 0, 0, 0)),
            "#Software: sluice\r\n"
            "#Version: 0.1.0\r\n"
            "#Log-type: SMTP Receive Protocol Log\r\n"
            "#Date: 2023-01-11T16:00:00.000Z\r\n"
            "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,"
            "context\r\n");
  std::string send = header_lines(Direction::Send, at(2023, 1, 11, 16, 30, 0, 250));
  EXPECT_NE(send.find("#Log-type: SMTP Send Protocol Log\r\n"), std::string::npos);
  EXPECT_NE(send.find("#Date: 2023-01-11T16:30:00.250Z\r\n"), std::string::npos);
}

TEST(FileName, Shape) {
  EXPECT_EQ(file_name(Direction::Receive, at(2023, 1, 11, 16, 59, 59, 999), 1), "RECV2023011116-1.LOG");
  EXPECT_EQ(file_name(Direction::Send, at(2023, 12, 1, 0, 0, 0, 0), 12), "SEND2023120100-12.LOG");
}

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sluice-plog-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static Line line_at(system_clock::time_point t, int seq, std::string context = "hello") {
    return Line{t,           "Default", "08D760DF231F00BC", seq, "10.0.0.1:25", "10.0.0.2:4000",
                Event::Info, "",        std::move(context)};
  }
  /// Data lines of a file, checking the header on the way.
  static std::vector<Line> read_log(const fs::path& p, Direction d) {
    std::string text = slurp(p);
    std::vector<Line> out;
    std::istringstream in(text);
    std::string line;
    int header = 0;
    while (std::getline(in, line)) {
      if (line.rfind("#", 0) == 0) {
        ++header;
        continue;
      }
      auto parsed = parse_line(line);
      EXPECT_TRUE(parsed) << line;
      if (parsed) out.push_back(*parsed);
    }
    EXPECT_EQ(header, 5) << p;
    EXPECT_EQ(text.rfind(d == Direction::Receive ? "#Software: sluice\r\n#Version: 0.1.0\r\n#Log-type: SMTP Receive"
                                                 : "#Software: sluice\r\n#Version: 0.1.0\r\n#Log-type: SMTP Send",
                         0),
              0u)
        << p;
    return out;
  }
  fs::path dir_;
};

TEST_F(WriterTest, WritesHeaderThenLines) {
  Writer w(dir_ / "SmtpReceive", Direction::Receive);
  EXPECT_EQ(w.current_file(), fs::path());
  auto t = at(2023, 1, 11, 16, 0, 1, 10);
  w.write(line_at(t, 0));
  w.write(line_at(t, 1, "with, comma"));
  EXPECT_EQ(w.current_file(), dir_ / "SmtpReceive" / "RECV2023011116-1.LOG");
  std::string text = slurp(w.current_file());
  EXPECT_EQ(text, header_lines(Direction::Receive, t) + format_line(line_at(t, 0)) +
                      format_line(line_at(t, 1, "with, comma")));
  auto lines = read_log(w.current_file(), Direction::Receive);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].context, "with, comma");
}

TEST_F(WriterTest, RotatesBySizeWithFreshHeader) {
  Writer w(dir_, Direction::Send, 1000);
  auto t = at(2023, 1, 11, 16, 0, 0, 0);
  for (int i = 0; i < 20; ++i) w.write(line_at(t, i));
  EXPECT_TRUE(fs::exists(dir_ / "SEND2023011116-1.LOG"));
  EXPECT_TRUE(fs::exists(dir_ / "SEND2023011116-2.LOG"));
  EXPECT_EQ(w.current_file(), dir_ / "SEND2023011116-3.LOG");
  int seq = 0;
  for (int n = 1; n <= 3; ++n) {
    fs::path p = dir_ / ("SEND2023011116-" + std::to_string(n) + ".LOG");
    if (n < 3) {
      EXPECT_LE(fs::file_size(p), 1000u);
    }
    for (const Line& l : read_log(p, Direction::Send)) EXPECT_EQ(l.sequence, seq++);
  }
  EXPECT_EQ(seq, 20);  // nothing lost, nothing duplicated, in order
}

TEST_F(WriterTest, OversizedLineStillWrittenOnce) {
  Writer w(dir_, Direction::Receive, 400);
  auto t = at(2023, 1, 11, 16, 0, 0, 0);
  w.write(line_at(t, 0, std::string(1000, 'x')));
  w.write(line_at(t, 1));
  EXPECT_EQ(read_log(dir_ / "RECV2023011116-1.LOG", Direction::Receive).size(), 1u);
  EXPECT_EQ(read_log(dir_ / "RECV2023011116-2.LOG", Direction::Receive).size(), 1u);
}

TEST_F(WriterTest, NewFileEachHourAndNeverBackwards) {
  Writer w(dir_, Direction::Receive);
  w.write(line_at(at(2023, 1, 11, 16, 59, 59, 999), 0));
  w.write(line_at(at(2023, 1, 11, 17, 0, 0, 0), 1));
  EXPECT_EQ(w.current_file(), dir_ / "RECV2023011117-1.LOG");
  // A line stamped in the previous hour that arrives late stays in the current file.
  w.write(line_at(at(2023, 1, 11, 16, 59, 59, 998), 2));
  EXPECT_EQ(w.current_file(), dir_ / "RECV2023011117-1.LOG");
  EXPECT_EQ(read_log(dir_ / "RECV2023011116-1.LOG", Direction::Receive).size(), 1u);
  EXPECT_EQ(read_log(dir_ / "RECV2023011117-1.LOG", Direction::Receive).size(), 2u);
}

TEST_F(WriterTest, RestartInSameHourTakesNextFreeFile) {
  auto t = at(2023, 1, 11, 16, 0, 0, 0);
  {
    Writer first(dir_, Direction::Receive);
    first.write(line_at(t, 0, "first run"));
  }
  std::string before = slurp(dir_ / "RECV2023011116-1.LOG");
  // A file the writer did not create is left alone too.
  std::ofstream(dir_ / "RECV2023011116-2.LOG") << "foreign";
  Writer second(dir_, Direction::Receive);
  second.write(line_at(t, 0, "second run"));
  EXPECT_EQ(second.current_file(), dir_ / "RECV2023011116-3.LOG");
  EXPECT_EQ(slurp(dir_ / "RECV2023011116-1.LOG"), before);
  EXPECT_EQ(slurp(dir_ / "RECV2023011116-2.LOG"), "foreign");
  EXPECT_EQ(read_log(second.current_file(), Direction::Receive).at(0).context, "second run");
}

TEST_F(WriterTest, UnwritableDirectoryDropsLinesWithoutCrashing) {
  std::ofstream(dir_ / "a-file") << "x";
  Writer w(dir_ / "a-file" / "logs", Direction::Receive);
  w.write(line_at(at(2023, 1, 11, 16, 0, 0, 0), 0));
  w.write(line_at(at(2023, 1, 11, 16, 0, 0, 0), 1));
  EXPECT_EQ(w.current_file(), fs::path());
}

TEST_F(WriterTest, ConcurrentWritersKeepLinesWhole) {
  Writer w(dir_, Direction::Receive, 20000);
  auto t = at(2023, 1, 11, 16, 0, 0, 0);
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 300; ++i) {
        w.write(line_at(t, th * 1000 + i, "thread, " + std::to_string(th)));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int> seen(4, 0);
  int files = 0;
  for (int n = 1; fs::exists(dir_ / ("RECV2023011116-" + std::to_string(n) + ".LOG")); ++n) {
    ++files;
    for (const Line& l : read_log(dir_ / ("RECV2023011116-" + std::to_string(n) + ".LOG"), Direction::Receive)) {
      int th = l.sequence / 1000;
      ASSERT_EQ(l.context, "thread, " + std::to_string(th));
      EXPECT_EQ(l.sequence % 1000, seen[th]++);  // each thread's lines in its own order
    }
  }
  EXPECT_GT(files, 1);
  EXPECT_EQ(static_cast<int>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator())), files);
  EXPECT_EQ(seen, (std::vector<int>{300, 300, 300, 300}));
}

TEST_F(WriterTest, SessionLogNumbersLinesFromZero) {
  Writer w(dir_, Direction::Receive);
  SessionLog s(&w, "Default", "08D760DF231F00BC", "10.0.0.1:25", "10.0.0.2:4000");
  EXPECT_EQ(s.session_id(), "08D760DF231F00BC");
  auto before = floor<milliseconds>(system_clock::now());
  s.connect();
  s.sent("220 mx.example ESMTP");
  s.received("EHLO client.example");
  s.info("TLS negotiation failed with error SocketError");
  s.info_value("352D244A535D94B576232ECC4A4000CFE06BE106", "Certificate thumbprint");
  s.disconnect("Remote");
  auto lines = read_log(w.current_file(), Direction::Receive);
  ASSERT_EQ(lines.size(), 6u);
  const Event events[] = {Event::Connect, Event::Sent, Event::Received, Event::Info, Event::Info, Event::Disconnect};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(lines[i].sequence, i);
    EXPECT_EQ(lines[i].event, events[i]);
    EXPECT_EQ(lines[i].connector, "Default");
    EXPECT_EQ(lines[i].local_endpoint, "10.0.0.1:25");
    EXPECT_EQ(lines[i].remote_endpoint, "10.0.0.2:4000");
    EXPECT_GE(lines[i].time, before);
  }
  EXPECT_EQ(lines[0].data + lines[0].context, "");
  EXPECT_EQ(lines[1].data, "220 mx.example ESMTP");
  EXPECT_EQ(lines[2].data, "EHLO client.example");
  EXPECT_EQ(lines[3].data, "");
  EXPECT_EQ(lines[3].context, "TLS negotiation failed with error SocketError");
  EXPECT_EQ(lines[4].data, "352D244A535D94B576232ECC4A4000CFE06BE106");
  EXPECT_EQ(lines[4].context, "Certificate thumbprint");
  EXPECT_EQ(lines[5].data, "");
  EXPECT_EQ(lines[5].context, "Remote");
}

// A file system that fills up and empties again, by hand: the writer's own files on a real
// directory, with write(2) failing (ENOSPC) while `full`, and the steady clock moved by the test.
class FailingDiskTest : public WriterTest {
 protected:
  WriterOptions options() {
    WriterOptions o;
    o.retry_interval = seconds(1);
    o.report_interval = minutes(1);
    o.clock = [this] { return now_; };
    o.write_call = [this](int fd, const void* data, std::size_t size) -> ssize_t {
      ++write_calls_;
      if (partial_next_ && size > 1) {  // a short write, then the disk is full
        partial_next_ = false;
        full_ = true;
        return ::write(fd, data, size / 2);
      }
      if (full_) {
        errno = ENOSPC;
        return -1;
      }
      return ::write(fd, data, size);
    };
    return o;
  }
  std::vector<std::string> log_files() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir_)) out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::vector<std::string> stderr_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  steady_clock::time_point now_{};
  bool full_ = false;
  bool partial_next_ = false;
  int write_calls_ = 0;
  const system_clock::time_point t_ = at(2023, 1, 11, 16, 0, 0, 0);
};

TEST_F(FailingDiskTest, FailureCostsOneWriteUntilTheRetryAndLeavesNoFiles) {
  Writer w(dir_, file_kind(Direction::Receive), options());
  ASSERT_TRUE(w.write_text(t_, format_line(line_at(t_, 0, "before"))));
  full_ = true;
  write_calls_ = 0;
  for (int i = 1; i <= 1000; ++i) EXPECT_FALSE(w.write_text(t_, format_line(line_at(t_, i))));
  EXPECT_EQ(write_calls_, 1) << "lines dropped while a retry is not due must not touch the disk";
  EXPECT_EQ(w.dropped(), 1000u);
  // Each retry (once a second) tries a fresh file and removes it when even its header fails.
  for (int retry = 0; retry < 5; ++retry) {
    now_ += seconds(1);
    EXPECT_FALSE(w.write_text(t_, format_line(line_at(t_, 0))));
    EXPECT_FALSE(w.write_text(t_, format_line(line_at(t_, 0))));
  }
  EXPECT_EQ(write_calls_, 1 + 5);
  EXPECT_EQ(log_files(), std::vector<std::string>{"RECV2023011116-1.LOG"});
  auto kept = read_log(dir_ / "RECV2023011116-1.LOG", Direction::Receive);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].context, "before");
  // Space returns: lines are written again by themselves, in the next file, once the retry is due.
  full_ = false;
  EXPECT_FALSE(w.write_text(t_, format_line(line_at(t_, 0, "not yet"))));
  now_ += seconds(1);
  EXPECT_TRUE(w.write_text(t_, format_line(line_at(t_, 1, "after"))));
  EXPECT_TRUE(w.write_text(t_, format_line(line_at(t_, 2, "after"))));
  EXPECT_EQ(log_files(), (std::vector<std::string>{"RECV2023011116-1.LOG", "RECV2023011116-2.LOG"}));
  EXPECT_EQ(read_log(dir_ / "RECV2023011116-2.LOG", Direction::Receive).size(), 2u);
  EXPECT_EQ(w.dropped(), 1000u + 10u + 1u);
}

TEST_F(FailingDiskTest, AShortWriteIsTakenBackAndAFileWithoutLinesRemoved) {
  Writer w(dir_, file_kind(Direction::Receive), options());
  ASSERT_TRUE(w.write_text(t_, format_line(line_at(t_, 0, "whole"))));
  partial_next_ = true;
  EXPECT_FALSE(w.write_text(t_, format_line(line_at(t_, 1, std::string(200, 'p')))));
  std::string text = slurp(dir_ / "RECV2023011116-1.LOG");
  EXPECT_EQ(text, header_lines(Direction::Receive, t_) + format_line(line_at(t_, 0, "whole")));
  // The header of a new file fits, its first line does not: the file goes, its name is reused.
  full_ = false;
  now_ += seconds(1);
  partial_next_ = false;
  WriterOptions o = options();
  int calls = 0;
  o.write_call = [&](int fd, const void* data, std::size_t size) -> ssize_t {
    if (++calls == 2) {
      errno = ENOSPC;
      return -1;
    }
    return ::write(fd, data, size);
  };
  Writer fresh(dir_ / "fresh", file_kind(Direction::Receive), o);
  EXPECT_FALSE(fresh.write_text(t_, format_line(line_at(t_, 0))));
  EXPECT_TRUE(fs::is_empty(dir_ / "fresh"));
  now_ += seconds(1);
  EXPECT_TRUE(fresh.write_text(t_, format_line(line_at(t_, 0, "first"))));
  EXPECT_EQ(fresh.current_file(), dir_ / "fresh" / "RECV2023011116-1.LOG");
}

TEST_F(FailingDiskTest, ReportsOncePerIntervalWithTheCountAndWhenItWorksAgain) {
  Writer w(dir_, file_kind(Direction::Receive), options());
  full_ = true;
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 500; ++i) w.write_text(t_, format_line(line_at(t_, i)));
  now_ += seconds(59);
  for (int i = 0; i < 500; ++i) w.write_text(t_, format_line(line_at(t_, i)));
  std::vector<std::string> first_minute = stderr_lines(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(first_minute.size(), 1u);
  EXPECT_NE(first_minute[0].find("warning: protocol log: cannot "), std::string::npos) << first_minute[0];
  EXPECT_NE(first_minute[0].find("No space left on device"), std::string::npos) << first_minute[0];

  ::testing::internal::CaptureStderr();
  now_ += seconds(1);
  for (int i = 0; i < 7; ++i) w.write_text(t_, format_line(line_at(t_, i)));
  std::vector<std::string> second = stderr_lines(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0].find("1001 line(s) lost in the last 60 s: cannot write "), std::string::npos) << second[0];
  EXPECT_NE(second[0].find("No space left on device"), std::string::npos) << second[0];

  ::testing::internal::CaptureStderr();
  full_ = false;
  now_ += seconds(1);
  EXPECT_TRUE(w.write_text(t_, format_line(line_at(t_, 0))));
  EXPECT_TRUE(w.write_text(t_, format_line(line_at(t_, 1))));
  std::vector<std::string> recovered = stderr_lines(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_NE(recovered[0].find("writing " + (dir_ / "RECV2023011116-1.LOG").string() + " again; 1007 line(s) were lost"),
            std::string::npos)
      << recovered[0];
  EXPECT_EQ(w.dropped(), 1007u);
}

TEST(SessionLog, NullWriterIsANoOp) {
  SessionLog s(nullptr, "c", "S", "l", "r");
  s.connect();
  s.info("x");
  s.disconnect();
  EXPECT_EQ(s.session_id(), "S");
}

}  // namespace
}  // namespace sluice::protocol_log
