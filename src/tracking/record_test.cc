#include "tracking/record.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/temp_dir_test_util.h"
#include "tracking/events.h"
#include "tracking/tracking_log.h"

namespace sluice::tracking {
namespace {

using namespace std::chrono;

system_clock::time_point at(int hour, int minute, int second = 0, int millis = 0) {
  return sys_days{2026y / December / 7} + hours{hour} + minutes{minute} + seconds{second} + milliseconds{millis};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

Record sample(system_clock::time_point time) {
  Record r;
  r.time = time;
  r[kEventId] = "SEND";
  r[kSource] = "SMTP";
  r[kInternalMessageId] = "0123456789ABCDEF";
  r[kRecipientAddress] = "bob@example.org";
  return r;
}

TEST(TrackingRecord, FieldsAreExchangesInExchangesOrder) {
  EXPECT_EQ(fields_line(),
            "date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,"
            "internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,"
            "recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,"
            "message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,"
            "transport-traffic-type,log-id,schema-version");
}

TEST(TrackingRecord, QuotesCommasAndQuotesAndFlattensLineBreaks) {
  Record r = sample(at(11, 0, 1, 10));
  r[kConnectorId] = "Outbound, to \"partner\"";
  r[kRecipientStatus] = "250 2.0.0 Ok\r\nqueued";
  std::string line = format_record(r);
  EXPECT_TRUE(line.starts_with("2026-12-07T11:00:01.010Z,,,,,,\"Outbound, to \"\"partner\"\"\",SMTP,SEND,"));
  EXPECT_NE(line.find(",250 2.0.0 Ok  queued,"), std::string::npos) << line;
  EXPECT_TRUE(line.ends_with("\r\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the values held

  auto back = ColumnMap().parse(line);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->time, r.time);
  EXPECT_EQ((*back)[kConnectorId], "Outbound, to \"partner\"");
  EXPECT_EQ((*back)[kRecipientStatus], "250 2.0.0 Ok  queued");
  EXPECT_EQ((*back)[kInternalMessageId], "0123456789ABCDEF");
}

TEST(TrackingRecord, EscapesC1ControlsAndBytesThatAreNotUtf8) {
  Record r = sample(at(11, 0, 1, 10));
  r[kMessageSubject] =
      "\x1b[2Jhi \xc2\x9b"
      "31m \xff caf\xc3\xa9";
  auto back = ColumnMap().parse(format_record(r));
  ASSERT_TRUE(back);
  EXPECT_EQ((*back)[kMessageSubject], " [2Jhi \\u009B31m \\xFF caf\xc3\xa9");
}

TEST(TrackingRecord, CustomDataPairs) {
  Record r;
  r.add_custom("version", "TLS1_2");
  r.add_custom("empty", "");
  r.add_custom("RemoteQueueId", "A;B");
  EXPECT_EQ(r[kCustomData], "S:version=TLS1_2;S:RemoteQueueId=A,B");
  EXPECT_EQ(r.custom("version"), "TLS1_2");
  EXPECT_EQ(r.custom("RemoteQueueId"), "A,B");
  EXPECT_EQ(r.custom("empty"), "");
  EXPECT_EQ(r.custom("versio"), "");
}

TEST(TrackingRecord, ReadsByTheFilesOwnFieldsLine) {
  // Exchange 2010 order stops at custom-data; a header with other columns maps by name.
  ColumnMap columns(" event-id,date-time,recipient-address,unknown-column,sender-address");
  auto r = columns.parse("SEND,2026-12-07T11:00:00.0000000Z,a@x;b@y,zzz,s@z\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[kEventId], "SEND");
  EXPECT_EQ(r->recipients(), (std::vector<std::string>{"a@x", "b@y"}));
  EXPECT_EQ((*r)[kSenderAddress], "s@z");
  EXPECT_FALSE(columns.parse("SEND,not a time,a@x,,"));
  EXPECT_FALSE(columns.parse("SEND,2026-12-07T11:00:00Z,\"unterminated,,"));
  EXPECT_FALSE(columns.parse("#Fields: whatever"));
}

TEST(TrackingLogFiles, HeaderNamesTheMessageTrackingLog) {
  sluice::test_util::TempDir dir("sluice-track");
  protocol_log::Writer writer(dir.path(), file_kind());
  ASSERT_TRUE(writer.write_text(at(11, 5), format_record(sample(at(11, 5)))));
  auto files = files_in(dir.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].filename(), "MSGTRK2026120711-1.LOG");
  EXPECT_EQ(read_file(files[0]),
            "#Software: sluice\r\n#Version: 0.1.0\r\n#Log-type: Message Tracking Log\r\n"
            "#Date: 2026-12-07T11:05:00.000Z\r\n#Fields: " +
                fields_line() + "\r\n" + format_record(sample(at(11, 5))));
}

TEST(TrackingLogFiles, RollsByHourAndBySize) {
  sluice::test_util::TempDir dir("sluice-track");
  const std::string line = format_record(sample(at(11, 0)));
  // Room for the header and two lines: the third starts file 2 of the hour.
  const std::uint64_t header = protocol_log::header_lines(file_kind(), at(11, 0)).size();
  protocol_log::Writer writer(dir.path(), file_kind(), header + 2 * line.size());
  for (int i = 0; i < 3; ++i) writer.write_text(at(11, i), format_record(sample(at(11, i))));
  writer.write_text(at(12, 0), format_record(sample(at(12, 0))));
  auto files = files_in(dir.path());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), "MSGTRK2026120711-1.LOG");
  EXPECT_EQ(files[1].filename(), "MSGTRK2026120711-2.LOG");
  EXPECT_EQ(files[2].filename(), "MSGTRK2026120712-1.LOG");
  EXPECT_EQ(read_file(files[1]).substr(read_file(files[1]).find("\r\n2026") + 2), format_record(sample(at(11, 2))));
}

TEST(TrackingLogFiles, AnUnwritableDirectoryCountsDroppedRecordsAndNeverThrows) {
  sluice::test_util::TempDir dir("sluice-track");
  const auto blocker = dir.path() / "file";
  std::ofstream(blocker) << "x";
  TrackingLog log(blocker / "MessageTracking", "mx.test", 1 << 20);
  queue::Envelope envelope;
  envelope.id = "0123456789ABCDEF";
  envelope.recipients.emplace_back().address = "bob@example.org";
  log.received(envelope, "127.0.0.1:25", "08D0000000000001");
  log.received(envelope, "127.0.0.1:25", "08D0000000000001");
  EXPECT_EQ(log.failed_writes(), 2u);
}

}  // namespace
}  // namespace sluice::tracking
