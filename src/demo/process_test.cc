#include "demo/process.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "demo/demo_test_util.h"

namespace sluice::demo {
namespace {

using sluice::test_util::TempDir;
using test_util::write;

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

TEST(DemoProcess, RunChildHandsItsInputOnStdin) {
  auto result =
      run_child("/bin/sh", {"-c", "read line; echo \"got $line\"; read more || echo eof"}, Millis(10000), "s3cret\n");
  EXPECT_EQ(result.exit_status, 0);
  EXPECT_EQ(result.output, "got s3cret\neof\n");
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
  TempDir dir{"sluice-demo-test"};
  auto exe = fake_server(dir,
                         "trap 'echo stopped >&2; exit 0' TERM\n"
                         "echo 'info: listening on 127.0.0.1:2525 (Default)' >&2\n"
                         "while :; do sleep 0.05; done\n");
  ServeProcess server("fake", exe, dir.path() / "x.toml", dir.path() / "serve.log");
  auto started = server.start({"127.0.0.1:2525"}, Millis(10000));
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_TRUE(server.alive());
  EXPECT_NE(server.log_of_this_run().find("listening on 127.0.0.1:2525"), std::string::npos);
  auto status = server.stop(Millis(10000));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_FALSE(server.running());
  // A second run's log starts after the first one's.
  started = server.start({"127.0.0.1:2525"}, Millis(10000));
  ASSERT_TRUE(started) << started.error().message;
  auto log = server.log_of_this_run();
  EXPECT_EQ(log.find("stopped"), std::string::npos);
  EXPECT_NE(log.find("listening on"), std::string::npos);
}

TEST(DemoProcess, ServeProcessReportsAnEarlyExit) {
  TempDir dir{"sluice-demo-test"};
  auto exe = fake_server(dir, "echo 'sluice: x.toml: bad' >&2\nexit 2\n");
  ServeProcess server("fake", exe, dir.path() / "x.toml", dir.path() / "serve.log");
  auto started = server.start({"127.0.0.1:2525"}, Millis(10000));
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message, "exited with status 2");
  EXPECT_FALSE(server.running());
}

TEST(DemoProcess, ServeProcessTimesOutWithoutTheListeningLine) {
  TempDir dir{"sluice-demo-test"};
  auto exe = fake_server(dir, "echo 'listening on 127.0.0.1:1 (A)' >&2\nexec sleep 30\n");
  ServeProcess server("fake", exe, dir.path() / "x.toml", dir.path() / "serve.log");
  auto started = server.start({"127.0.0.1:1", "127.0.0.1:2"}, Millis(300));
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("did not report listening"), std::string::npos);
  EXPECT_TRUE(server.running());  // the destructor stops it
}

TEST(DemoProcess, OtherServerStartsWhenReadyWithItsOwnArguments) {
  TempDir dir{"sluice-demo-test"};
  auto marker = dir.path() / "ready";
  auto server = ServeProcess::other(
      "peer", "/bin/sh", {"-c", "echo \"$0 up\" >&2; touch \"$1\"; exec sleep 30", "peer-argv0", marker.string()},
      dir.path() / "peer.log");
  auto started = server->start_until([&] { return fs::exists(marker); }, "create its marker", Millis(10000));
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_NE(server->log_of_this_run().find("peer-argv0 up"), std::string::npos);
  EXPECT_EQ(server->stop(Millis(10000)), std::optional<int>(-1));  // sleep dies of the SIGTERM

  auto never = ServeProcess::other("peer", "/bin/sh", {"-c", "exec sleep 30"}, dir.path() / "peer.log");
  started = never->start_until([] { return false; }, "create its marker", Millis(300));
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message, "did not create its marker within 0 s");
}

TEST(DemoProcess, AcceptsConnectionsOnlyWhileSomethingListens) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::uint16_t port = ntohs(address.sin_port);
  EXPECT_FALSE(accepts_connections(port));  // bound, not listening
  ASSERT_EQ(::listen(fd, 1), 0);
  EXPECT_TRUE(accepts_connections(port));
  close(fd);
}

}  // namespace
}  // namespace sluice::demo
