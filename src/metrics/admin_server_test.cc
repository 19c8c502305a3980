#include "metrics/admin_server.h"

#include <gtest/gtest.h>
#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <fmt/format.h>
#include <asio/post.hpp>

#include <atomic>
#include <future>
#include <optional>
#include <thread>
#include <vector>

namespace sluice::metrics {
namespace {

std::string metrics_stub() { return "# HELP m m\n# TYPE m counter\nm 1\n"; }

TEST(AdminAnswer, MetricsInTheTextFormat) {
  const auto r = admin_answer("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", metrics_stub);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, metrics_stub());
  // A query string does not change the path (some scrapers add one).
  EXPECT_EQ(admin_answer("GET /metrics?x=1 HTTP/1.0\r\n\r\n", metrics_stub).status, 200);
}

TEST(AdminAnswer, HealthzSaysOkWithoutAskingForMetrics) {
  bool asked = false;
  const auto r = admin_answer("GET /healthz HTTP/1.1\r\n\r\n", [&] {
    asked = true;
    return std::string();
  });
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_FALSE(asked);
}

TEST(AdminAnswer, EverythingElseIsRefused) {
  EXPECT_EQ(admin_answer("GET / HTTP/1.1\r\n\r\n", metrics_stub).status, 404);
  EXPECT_EQ(admin_answer("GET /metrics/ HTTP/1.1\r\n\r\n", metrics_stub).status, 404);
  const auto post = admin_answer("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", metrics_stub);
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET, HEAD");
  EXPECT_EQ(admin_answer("DELETE /healthz HTTP/1.1\r\n\r\n", metrics_stub).status, 405);
  EXPECT_EQ(admin_answer("GET /metrics HTTP/1.1\r\ncontent-length: 12\r\n\r\n", metrics_stub).status, 413);
  EXPECT_EQ(admin_answer("GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", metrics_stub).status, 413);
  EXPECT_EQ(admin_answer("GET /metrics\r\n\r\n", metrics_stub).status, 400);
  EXPECT_EQ(admin_answer("GET /metrics SMTP/1.0\r\n\r\n", metrics_stub).status, 400);
  EXPECT_EQ(admin_answer("\r\n\r\n", metrics_stub).status, 400);
}

TEST(AdminAnswer, SerializedWithLengthAndClose) {
  HttpResponse r;
  r.reason = "OK";
  r.content_type = "text/plain";
  r.body = "ok\n";
  EXPECT_EQ(serialize(r, true),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\nok\n");
  EXPECT_EQ(serialize(r, false).find("ok\n"), std::string::npos);
}

/// A server on a free loopback port, its io_context on a thread of its own.
class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.emplace(io_, "127.0.0.1", 0, [this] {
      ++scrapes_;
      return metrics_stub();
    });
    server_->exchange_timeout = std::chrono::milliseconds(300);
    server_->start();
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); });
    thread_.join();
  }

  /// Sends `bytes`, then reads until the server closes.
  std::string exchange(const std::string& bytes) {
    asio::io_context client;
    asio::ip::tcp::socket socket(client);
    socket.connect({asio::ip::make_address("127.0.0.1"), port_});
    if (!bytes.empty()) asio::write(socket, asio::buffer(bytes));
    std::string answer;
    std::error_code ec;
    asio::read(socket, asio::dynamic_buffer(answer), ec);
    return answer;
  }

  /// Scrapes until one is answered (closed idle connections are forgotten as the server reads their EOF).
  bool wait_for_scrape() {
    for (int i = 0; i < 200; ++i) {
      if (exchange("GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK\r\n", 0) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  asio::io_context io_;
  std::optional<AdminServer> server_;
  std::atomic<int> scrapes_{0};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(AdminServerTest, AnswersAScrapeAndAHealthCheck) {
  const std::string metrics = exchange("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << metrics;
  EXPECT_NE(metrics.find("\r\n\r\n" + metrics_stub()), std::string::npos) << metrics;
  EXPECT_EQ(scrapes_.load(), 1);
  const std::string health = exchange("GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_NE(health.find("\r\n\r\nok\n"), std::string::npos) << health;
  const std::string head = exchange("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_EQ(head.find("m 1"), std::string::npos) << head;
  EXPECT_EQ(exchange("GET /nothing HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
}

TEST_F(AdminServerTest, AnOversizedRequestHeadGets431) {
  const std::string huge = "GET /metrics HTTP/1.1\r\nX: " + std::string(kMaxRequestHead, 'a') + "\r\n\r\n";
  const std::string answer = exchange(huge);
  EXPECT_EQ(answer.rfind("HTTP/1.1 431 ", 0), 0u) << answer.substr(0, 100);
  EXPECT_EQ(scrapes_.load(), 0);
}

TEST_F(AdminServerTest, AClientThatSendsNothingIsCutOffAtTheDeadline) {
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\n"), "");  // the head never ends
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST_F(AdminServerTest, ConnectionsBeyondTheLimitAreClosedAtOnceAndTheListenerServesAgainAfter) {
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> idle;
  asio::io_context client;
  // The fixture's deadline (300 ms) would close these: make it long enough that only the limit can.
  std::promise<void> longer;
  asio::post(io_, [&] {
    server_->exchange_timeout = std::chrono::seconds(30);
    longer.set_value();
  });
  longer.get_future().wait();
  for (std::size_t i = 0; i < kMaxAdminConnections; ++i) {
    idle.push_back(std::make_unique<asio::ip::tcp::socket>(client));
    idle.back()->connect({asio::ip::make_address("127.0.0.1"), port_});
  }
  // accept() takes connections in the order they were made: the idle ones fill the limit, and the
  // one too many is closed unanswered at once, not after the 30 s deadline.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\n\r\n"), "");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_EQ(scrapes_.load(), 0);
  idle.clear();  // the server sees them end (EOF) and forgets them
  EXPECT_TRUE(wait_for_scrape());
}

TEST(AdminServer, AnAddressInUseIsAClearError) {
  asio::io_context io;
  AdminServer first(io, "127.0.0.1", 0, metrics_stub);
  const auto port = first.local_endpoint().port();
  try {
    AdminServer second(io, "127.0.0.1", port, metrics_stub);
    FAIL() << "bound twice";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(fmt::format("cannot listen on 127.0.0.1:{} (admin_listen): ", port)),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace sluice::metrics
