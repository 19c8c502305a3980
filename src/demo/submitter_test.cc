#include "demo/submitter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <thread>

#include "demo/process.h"

namespace sluice::demo {
namespace {

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

/// A scripted SMTP server for one connection; RCPT gets `rcpt_reply`, the end of DATA a sluice-style 250.
class FakeSmtp {
 public:
  explicit FakeSmtp(std::string rcpt_reply = "250 2.1.5 Recipient OK") : rcpt_reply_(std::move(rcpt_reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
    EXPECT_EQ(::listen(fd_, 1), 0);
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
      if (l->rfind("EHLO", 0) == 0)
        say("250-fake Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
      else if (l->rfind("MAIL", 0) == 0)
        say("250 2.1.0 Sender OK\r\n");
      else if (l->rfind("RCPT", 0) == 0)
        say(rcpt_reply_ + "\r\n");
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
  auto result =
      submit_message(server.port(), "client.test", "a@x.test", "b@y.test", "Subject: s\n\n.dot\nend\n", Millis(5000));
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
}  // namespace sluice::demo
