#include "cli/demo_support.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "log/protocol_log.h"

namespace sluice::cli::demo {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sluice-demo-test.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string log_line(const std::string& session, const std::string& data) {
  log::Line line;
  line.time = std::chrono::system_clock::now();
  line.connector = "Outbound, with a comma";
  line.session_id = session;
  line.sequence = 1;
  line.local_endpoint = "127.0.0.1:1000";
  line.remote_endpoint = "127.0.0.1:25";
  line.event = log::Event::Info;
  line.data = data;
  std::string text = log::format_line(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

TEST(DemoQueueId, FoundInSluicesQueuedReply) {
  EXPECT_EQ(queue_id_from_reply("250 2.6.0 0005F1A2B3C40001 Queued mail for delivery"), "0005F1A2B3C40001");
}

TEST(DemoQueueId, AbsentWhenTheReplyHasNone) {
  EXPECT_EQ(queue_id_from_reply("250 2.0.0 OK"), "");
  EXPECT_EQ(queue_id_from_reply("250 2.0.0 Ok: queued as <abc@example>"), "");
  EXPECT_EQ(queue_id_from_reply(""), "");
  // A word of capitals without digits is text, not an id.
  EXPECT_EQ(queue_id_from_reply("250 2.0.0 ACCEPTED FOR DELIVERY"), "");
}

TEST(DemoProtocolLog, FilesInWritingOrderWithNumericIndexes) {
  TempDir dir;
  write(dir.path() / "SEND2024050112-10.LOG", "");
  write(dir.path() / "SEND2024050112-9.LOG", "");
  write(dir.path() / "SEND2024050111-3.LOG", "");
  write(dir.path() / "RECV2024050111-1.LOG", "");
  write(dir.path() / "SEND-notes.txt", "");
  auto files = protocol_log_files(dir.path(), "SEND");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), "SEND2024050111-3.LOG");
  EXPECT_EQ(files[1].filename(), "SEND2024050112-9.LOG");
  EXPECT_EQ(files[2].filename(), "SEND2024050112-10.LOG");
}

TEST(DemoProtocolLog, MissingDirectoryIsNoFiles) {
  EXPECT_TRUE(protocol_log_files("/nonexistent/sluice-demo", "SEND").empty());
  EXPECT_TRUE(protocol_log_lines("/nonexistent/sluice-demo", "SEND").empty());
}

TEST(DemoProtocolLog, LinesSkipHeadersAndLineEnds) {
  TempDir dir;
  write(dir.path() / "SEND2024050111-1.LOG", "#Software: sluice\r\n#Fields: a,b\r\nfirst\r\nsecond\r\n");
  write(dir.path() / "SEND2024050111-2.LOG", "#Software: sluice\r\nthird\n");
  EXPECT_EQ(protocol_log_lines(dir.path(), "SEND"), (std::vector<std::string>{"first", "second", "third"}));
}

TEST(DemoProtocolLog, CursorReturnsOnlyLinesAfterTheMark) {
  TempDir dir;
  write(dir.path() / "SEND2024050111-1.LOG", "one\r\ntwo\r\n");
  LogCursor cursor(dir.path(), "SEND");
  EXPECT_EQ(cursor.new_lines().size(), 2u);
  cursor.mark();
  EXPECT_TRUE(cursor.new_lines().empty());
  write(dir.path() / "SEND2024050111-2.LOG", "three\r\n");
  EXPECT_EQ(cursor.new_lines(), std::vector<std::string>{"three"});
  EXPECT_EQ(cursor.all().size(), 3u);
}

TEST(DemoProtocolLog, GrepIsCaseSensitiveUnlessAsked) {
  std::vector<std::string> lines{"Falling back to PLAINTEXT", "nothing here"};
  EXPECT_TRUE(grep(lines, "plaintext").empty());
  EXPECT_EQ(grep(lines, "plaintext", true), std::vector<std::string>{"Falling back to PLAINTEXT"});
}

TEST(DemoProtocolLog, SessionsAreTheThirdField) {
  std::string a1 = log_line("08DB000000000001", "TLS negotiation failed with error SocketError");
  std::string b1 = log_line("08DB000000000002", "other session");
  std::string a2 = log_line("08DB000000000001", "more, with a comma");
  EXPECT_EQ(session_of(a1), "08DB000000000001");
  EXPECT_EQ(session_of("not a protocol log line"), "");
  EXPECT_EQ(session_lines({a1, b1, a2, "garbage"}, "08DB000000000001"), (std::vector<std::string>{a1, a2}));
  EXPECT_TRUE(session_lines({a1, "garbage"}, "").empty());
}

TEST(DemoMessage, HeaderValueIsUnfoldedAndCaseInsensitive) {
  std::string message =
      "Received: from a ([127.0.0.1]) by b (sluice)\r\n\twith ESMTPS (version=TLS1_3, cipher=X)\r\n"
      "\tid 1; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
      "Received: from older\r\n"
      "subject: Hello\r\n"
      "\r\n"
      "Action: failed\r\n";
  EXPECT_EQ(header_value(message, "Received").value_or("?"),
            "from a ([127.0.0.1]) by b (sluice) with ESMTPS (version=TLS1_3, cipher=X) id 1; Mon, 1 Jan 2024 00:00:00 +0000");
  EXPECT_EQ(header_value(message, "Subject").value_or("?"), "Hello");
  // Fields after the header block are body text, not headers.
  EXPECT_FALSE(header_value(message, "Action").has_value());
  EXPECT_FALSE(header_value(message, "To").has_value());
  // "Subjectline:" is not "Subject".
  EXPECT_FALSE(header_value("Subjectline: x\r\n\r\n", "Subject").has_value());
  EXPECT_EQ(header_value("Subject:\r\n\r\n", "Subject").value_or("?"), "");
}

TEST(DemoMessage, FieldLinesAreFoundInTheBody) {
  std::string dsn =
      "Subject: Undeliverable: x\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
      "Final-Recipient: rfc822; bob@cloud.test\r\nAction: failed\r\nStatus: 4.4.7\r\n"
      "Diagnostic-Code: smtp; 421 4.4.2\r\n Connection dropped due to SocketError\r\n";
  EXPECT_EQ(field_lines(dsn, "Action"), std::vector<std::string>{"Action: failed"});
  EXPECT_EQ(field_lines(dsn, "diagnostic-code"),
            std::vector<std::string>{"Diagnostic-Code: smtp; 421 4.4.2 Connection dropped due to SocketError"});
  EXPECT_TRUE(field_lines(dsn, "Remote-MTA").empty());
}

TEST(DemoText, IndentLines) {
  EXPECT_EQ(indent_lines("a\nb\n", "> "), "> a\n> b\n");
  EXPECT_EQ(indent_lines("a\r\n\nb", "> "), "> a\n\n> b\n");
  EXPECT_EQ(indent_lines("", "> "), "");
}

TEST(DemoProcess, FreePortCanBeBound) {
  auto port = free_port();
  EXPECT_GT(port, 0);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  close(fd);
}

TEST(DemoProcess, RunChildCollectsOutputAndStatus) {
  auto result = run_child("/bin/sh", {"-c", "echo out; echo err >&2; exit 3"}, Millis(10000));
  EXPECT_EQ(result.exit_status, 3);
  EXPECT_FALSE(result.timed_out);
  EXPECT_NE(result.output.find("out\n"), std::string::npos);
  EXPECT_NE(result.output.find("err\n"), std::string::npos);
}

TEST(DemoProcess, RunChildKillsOnTimeout) {
  auto started = std::chrono::steady_clock::now();
  auto result = run_child("/bin/sh", {"-c", "echo started; exec sleep 30"}, Millis(300));
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.exit_status, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(DemoProcess, RunChildOfMissingProgramIs127) {
  auto result = run_child("/nonexistent/sluice", {"queue"}, Millis(5000));
  EXPECT_EQ(result.exit_status, 127);
}

/// A stand-in for `sluice serve`: an executable script that ignores its arguments.
fs::path fake_server(const TempDir& dir, const std::string& body) {
  auto path = dir.path() / "fake-sluice";
  write(path, "#!/bin/sh\n" + body);
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

TEST(DemoProcess, ServeProcessStartsWhenListeningAndStopsOnSigterm) {
  TempDir dir;
  auto exe = fake_server(dir, "trap 'echo stopped >&2; exit 0' TERM\n"
                              "echo 'info: listening on 127.0.0.1:2525 (Default)' >&2\n"
                              "while :; do sleep 0.05; done\n");
  ServeProcess server("fake", exe, dir.path() / "x.toml", dir.path() / "serve.log");
  std::string why;
  ASSERT_TRUE(server.start({"127.0.0.1:2525"}, Millis(10000), why)) << why;
  EXPECT_TRUE(server.alive());
  EXPECT_NE(server.log_of_this_run().find("listening on 127.0.0.1:2525"), std::string::npos);
  auto status = server.stop(Millis(10000));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_FALSE(server.running());
  // A second run's log starts after the first one's.
  ASSERT_TRUE(server.start({"127.0.0.1:2525"}, Millis(10000), why)) << why;
  auto log = server.log_of_this_run();
  EXPECT_EQ(log.find("stopped"), std::string::npos);
  EXPECT_NE(log.find("listening on"), std::string::npos);
}

TEST(DemoProcess, ServeProcessReportsAnEarlyExit) {
  TempDir dir;
  auto exe = fake_server(dir, "echo 'sluice: x.toml: bad' >&2\nexit 2\n");
  ServeProcess server("fake", exe, dir.path() / "x.toml", dir.path() / "serve.log");
  std::string why;
  EXPECT_FALSE(server.start({"127.0.0.1:2525"}, Millis(10000), why));
  EXPECT_EQ(why, "exited with status 2");
  EXPECT_FALSE(server.running());
}

TEST(DemoProcess, ServeProcessTimesOutWithoutTheListeningLine) {
  TempDir dir;
  auto exe = fake_server(dir, "echo 'listening on 127.0.0.1:1 (A)' >&2\nexec sleep 30\n");
  ServeProcess server("fake", exe, dir.path() / "x.toml", dir.path() / "serve.log");
  std::string why;
  EXPECT_FALSE(server.start({"127.0.0.1:1", "127.0.0.1:2"}, Millis(300), why));
  EXPECT_NE(why.find("did not report listening"), std::string::npos);
  EXPECT_TRUE(server.running());  // the destructor stops it
}

/// A scripted SMTP server for one connection; RCPT gets `rcpt_reply`, the end of DATA a sluice-style 250.
class FakeSmtp {
 public:
  explicit FakeSmtp(std::string rcpt_reply = "250 2.1.5 Recipient OK") : rcpt_reply_(std::move(rcpt_reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    ::listen(fd_, 1);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeSmtp() {
    join();
    close(fd_);
  }
  /// Waits until the one connection is over (data() is complete then).
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return port_; }
  const std::string& data() const { return data_; }

 private:
  void serve() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    auto say = [&](const std::string& s) { ::send(c, s.data(), s.size(), MSG_NOSIGNAL); };
    std::string buffer;
    auto line = [&]() -> std::optional<std::string> {
      for (;;) {
        auto end = buffer.find("\r\n");
        if (end != std::string::npos) {
          auto out = buffer.substr(0, end);
          buffer.erase(0, end + 2);
          return out;
        }
        char chunk[1024];
        auto n = ::recv(c, chunk, sizeof chunk, 0);
        if (n <= 0) return std::nullopt;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
    };
    say("220 fake ESMTP\r\n");
    while (auto l = line()) {
      if (l->rfind("EHLO", 0) == 0) say("250-fake Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
      else if (l->rfind("MAIL", 0) == 0) say("250 2.1.0 Sender OK\r\n");
      else if (l->rfind("RCPT", 0) == 0) say(rcpt_reply_ + "\r\n");
      else if (*l == "DATA") {
        say("354 Start mail input\r\n");
        while (auto d = line()) {
          if (*d == ".") break;
          data_ += *d + "\n";
        }
        say("250 2.6.0 0005F1A2B3C40001 Queued mail for delivery\r\n");
      } else if (*l == "QUIT") {
        say("221 2.0.0 Bye\r\n");
        break;
      } else {
        say("500 5.5.1 what\r\n");
      }
    }
    close(c);
  }
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::string rcpt_reply_;
  std::string data_;
  std::thread thread_;
};

TEST(DemoSubmit, DeliversDotStuffedAndReadsTheQueueId) {
  FakeSmtp server;
  auto result = submit_message(server.port(), "client.test", "a@x.test", "b@y.test", "Subject: s\n\n.dot\nend\n",
                               Millis(5000));
  server.join();
  EXPECT_TRUE(result.accepted) << result.error;
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.queue_id, "0005F1A2B3C40001");
  EXPECT_EQ(server.data(), "Subject: s\n\n..dot\nend\n");
  EXPECT_EQ(result.transcript.front(), "S: 220 fake ESMTP");
  EXPECT_NE(std::find(result.transcript.begin(), result.transcript.end(), "C: RCPT TO:<b@y.test>"),
            result.transcript.end());
  EXPECT_EQ(result.transcript.back(), "S: 221 2.0.0 Bye");
}

TEST(DemoSubmit, RefusedRecipientIsNotAccepted) {
  FakeSmtp server("550 5.1.1 No such user");
  auto result = submit_message(server.port(), "client.test", "a@x.test", "b@y.test", "x\n", Millis(5000));
  server.join();
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.error, "RCPT TO:<b@y.test> was answered 550 5.1.1 No such user");
  EXPECT_EQ(result.queue_id, "");
  EXPECT_EQ(server.data(), "");
}

TEST(DemoSubmit, NobodyListening) {
  auto port = free_port();
  auto result = submit_message(port, "client.test", "a@x.test", "b@y.test", "x\n", Millis(2000));
  EXPECT_FALSE(result.accepted);
  EXPECT_EQ(result.error, "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

}  // namespace
}  // namespace sluice::cli::demo
