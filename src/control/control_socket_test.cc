#include "control/control_socket.h"

#include <gtest/gtest.h>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <future>
#include <thread>

namespace sluice::control {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

fs::path make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "ctl-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

int unix_socket() { return ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); }

sockaddr_un address_of(const fs::path& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  return a;
}

/// Sends raw bytes to the server and returns everything it answers until it closes.
std::string raw_exchange(const fs::path& path, const std::string& bytes, bool shut_write = false) {
  int fd = unix_socket();
  auto a = address_of(path);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "<connect failed>";
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (request too long)
    sent += static_cast<std::size_t>(n);
  }
  if (shut_write) ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

/// A ControlServer running on its own io thread for the test's duration.
class ControlSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir();
    path_ = dir_ / "control.sock";
  }
  void TearDown() override {
    stop_server();
    fs::remove_all(dir_);
  }
  void start_server(Handler handler, std::chrono::milliseconds idle = std::chrono::seconds(10)) {
    server_ = std::make_unique<ControlServer>(io_, path_, std::move(handler));
    server_->idle_timeout = idle;
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void stop_server() {
    if (!server_) return;
    std::promise<void> done;
    asio::post(io_, [&] {
      server_->stop();
      done.set_value();
    });
    done.get_future().wait();
    guard_.reset();
    thread_.join();
    server_.reset();
  }

  fs::path dir_;
  fs::path path_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
};

TEST_F(ControlSocketTest, RoundTripAndSocketIsOwnerOnly) {
  start_server([](const Json& request) { return Json{{"ok", true}, {"echo", request.at("command")}}; });
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto answer = request(path_, Json{{"command", "list"}});
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(*answer, (Json{{"ok", true}, {"echo", "list"}}));
  // No scratch directory is left next to the socket.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"control.sock"});
}

TEST_F(ControlSocketTest, SeveralRequestsInARow) {
  int calls = 0;
  start_server([&](const Json& request) { return Json{{"ok", true}, {"n", ++calls}}; });
  for (int i = 1; i <= 3; ++i) {
    auto answer = request(path_, Json{{"command", "x"}});
    ASSERT_TRUE(answer) << answer.error().message;
    EXPECT_EQ(answer->at("n"), i);
  }
}

TEST_F(ControlSocketTest, MalformedJsonGetsAnErrorLine) {
  start_server([](const Json&) { return Json{{"ok", true}}; });
  std::string out = raw_exchange(path_, "{not json\n");
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  Json answer = Json::parse(out);
  EXPECT_EQ(answer.at("ok"), false);
  EXPECT_EQ(answer.at("error").get<std::string>().rfind("malformed request: parse error", 0), 0u) << out;
}

TEST_F(ControlSocketTest, NonObjectRequestIsRefused) {
  bool called = false;
  start_server([&](const Json&) {
    called = true;
    return Json{{"ok", true}};
  });
  Json answer = Json::parse(raw_exchange(path_, "[1,2]\r\n"));
  EXPECT_EQ(answer, (Json{{"ok", false}, {"error", "malformed request: expected a JSON object"}}));
  EXPECT_FALSE(called);
}

TEST_F(ControlSocketTest, HandlerExceptionBecomesError) {
  start_server([](const Json&) -> Json { throw std::runtime_error("no message 0005F1A2B3C40001 in the queue"); });
  auto answer = request(path_, Json{{"command", "show"}});
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(*answer, (Json{{"ok", false}, {"error", "no message 0005F1A2B3C40001 in the queue"}}));
}

TEST_F(ControlSocketTest, TooLongRequestIsRefused) {
  bool called = false;
  start_server([&](const Json&) {
    called = true;
    return Json{{"ok", true}};
  });
  std::string huge = "{\"command\":\"" + std::string(70000, 'a') + "\"}\n";
  std::string out = raw_exchange(path_, huge);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(Json::parse(out), (Json{{"ok", false}, {"error", "request longer than 65536 bytes"}}));
  EXPECT_FALSE(called);
}

TEST_F(ControlSocketTest, RequestOfExactlyTheLimitIsRead) {
  start_server([](const Json& r) { return Json{{"ok", true}, {"size", r.at("pad").get<std::string>().size()}}; });
  std::string prefix = "{\"pad\":\"", suffix = "\"}";
  std::string line = prefix + std::string(kMaxRequestBytes - prefix.size() - suffix.size(), 'x') + suffix;
  ASSERT_EQ(line.size(), kMaxRequestBytes);
  Json answer = Json::parse(raw_exchange(path_, line + "\n"));
  EXPECT_EQ(answer.at("ok"), true);
}

TEST_F(ControlSocketTest, RequestWithoutNewlineIsAnsweredAtEndOfInput) {
  start_server([](const Json&) { return Json{{"ok", true}}; });
  EXPECT_EQ(raw_exchange(path_, "{\"command\":\"list\"}", /*shut_write=*/true), "{\"ok\":true}\n");
}

TEST_F(ControlSocketTest, InvalidUtf8InAnswerIsReplacedNotFatal) {
  start_server([](const Json&) { return Json{{"ok", true}, {"text", std::string("bad \xff byte")}}; });
  auto answer = request(path_, Json{{"command", "x"}});
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->at("text"), "bad \xEF\xBF\xBD byte");
}

TEST_F(ControlSocketTest, IdleClientIsDisconnected) {
  start_server([](const Json&) { return Json{{"ok", true}}; }, std::chrono::milliseconds(100));
  int fd = unix_socket();
  auto a = address_of(path_);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto begin = std::chrono::steady_clock::now();
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);  // closed, not timed out
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(3));
  ::close(fd);
}

TEST_F(ControlSocketTest, StopRemovesTheSocketAndClientsSayNobodyAnswers) {
  start_server([](const Json&) { return Json{{"ok", true}}; });
  stop_server();
  EXPECT_FALSE(fs::exists(fs::symlink_status(path_)));
  auto failed = request(path_, Json{{"command", "list"}});
  ASSERT_FALSE(failed);
  const auto& [why, error] = failed.error();
  EXPECT_EQ(error, "no sluice gateway is answering on " + path_.string() + ": No such file or directory");
  EXPECT_EQ(why, RequestError::NotRunning);
}

TEST_F(ControlSocketTest, StaleSocketIsReplaced) {
  // A socket file whose listener is gone: what a crashed gateway leaves.
  int fd = unix_socket();
  auto a = address_of(path_);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(fd);
  ASSERT_TRUE(fs::is_socket(path_));
  auto failed = request(path_, Json{{"command", "list"}});
  ASSERT_FALSE(failed);
  const auto& [why, error] = failed.error();
  EXPECT_EQ(error, "no sluice gateway is answering on " + path_.string() + ": Connection refused");
  EXPECT_EQ(why, RequestError::NotRunning);

  start_server([](const Json&) { return Json{{"ok", true}}; });
  auto answer = request(path_, Json{{"command", "list"}});
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->at("ok"), true);
}

TEST_F(ControlSocketTest, SecondGatewayOnTheSameSocketIsRefused) {
  start_server([](const Json&) { return Json{{"ok", true}}; });
  asio::io_context other;
  try {
    ControlServer second(other, path_, [](const Json&) { return Json{}; });
    FAIL() << "a second server bound the same socket";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "another gateway is running (" + path_.string() + ")");
  }
  // The first one still answers.
  auto answer = request(path_, Json{{"command", "list"}});
  EXPECT_TRUE(answer) << answer.error().message;
}

TEST_F(ControlSocketTest, RegularFileInTheWayIsNotDeleted) {
  { std::ofstream(path_) << "operator's notes"; }
  asio::io_context io;
  try {
    ControlServer server(io, path_, [](const Json&) { return Json{}; });
    FAIL() << "bound over a regular file";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), path_.string() + " exists and is not a socket; move it away");
  }
  std::ifstream in(path_);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "operator's notes");
}

TEST_F(ControlSocketTest, TooLongPathIsAClearError) {
  fs::path long_path = dir_ / (std::string(120, 'x') + ".sock");
  asio::io_context io;
  EXPECT_THROW(ControlServer(io, long_path, [](const Json&) { return Json{}; }), std::runtime_error);
  auto failed = request(long_path, Json{{"command", "list"}});
  ASSERT_FALSE(failed);
  const auto& [why, error] = failed.error();
  EXPECT_NE(error.find("too long for a Unix socket"), std::string::npos) << error;
  EXPECT_EQ(why, RequestError::Failed);
}

/// A listener that accepts, then answers with `reply` (or nothing) after reading the request.
class FakePeer {
 public:
  FakePeer(const fs::path& path, const std::optional<std::string>& reply) {
    fd_ = unix_socket();
    auto a = address_of(path);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    thread_ = std::thread([this, reply] {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char buf[1024];
      ::recv(client, buf, sizeof buf, 0);
      if (reply) {
        ::send(client, reply->data(), reply->size(), MSG_NOSIGNAL);
        ::close(client);
      } else {
        char c;
        ::recv(client, &c, 1, 0);  // until the client gives up
        ::close(client);
      }
    });
  }
  ~FakePeer() {
    thread_.join();
    ::close(fd_);
  }

 private:
  int fd_;
  std::thread thread_;
};

TEST_F(ControlSocketTest, SilentGatewayTimesOut) {
  FakePeer peer(path_, std::nullopt);
  auto begin = std::chrono::steady_clock::now();
  auto failed = request(path_, Json{{"command", "list"}}, std::chrono::milliseconds(200));
  ASSERT_FALSE(failed);
  const auto& [why, error] = failed.error();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(3));
  EXPECT_EQ(error, "the gateway on " + path_.string() + " did not answer within 200 ms");
  EXPECT_EQ(why, RequestError::Failed);
}

TEST_F(ControlSocketTest, GarbageAnswerIsReported) {
  FakePeer peer(path_, std::string("HTTP/1.0 400 Bad Request\n"));
  auto failed = request(path_, Json{{"command", "list"}});
  ASSERT_FALSE(failed);
  const auto& [why, error] = failed.error();
  EXPECT_EQ(error.rfind("the gateway on " + path_.string() + " sent a malformed answer: ", 0), 0u) << error;
  EXPECT_EQ(why, RequestError::Failed);
}

TEST_F(ControlSocketTest, ClosedWithoutAnswerIsReported) {
  FakePeer peer(path_, std::string());
  auto failed = request(path_, Json{{"command", "list"}});
  ASSERT_FALSE(failed);
  const std::string& error = failed.error().message;
  EXPECT_EQ(error, "the gateway on " + path_.string() + " closed the connection without answering");
}

}  // namespace
}  // namespace sluice::control
