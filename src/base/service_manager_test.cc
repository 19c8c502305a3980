#include "base/service_manager.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "base/temp_dir_test_util.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;

/// A datagram socket standing in for systemd's notification socket, named by NOTIFY_SOCKET for
/// the test's duration.
class ServiceManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = (dir_.path() / "notify").string();
    ASSERT_LT(path.size(), sizeof(address.sun_path));
    path.copy(address.sun_path, path.size());
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    if (fd_ >= 0) ::close(fd_);
  }
  /// The datagram sent, or "" when none is waiting (sd_notify has sent it before returning).
  std::string received() {
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }
  static std::uint64_t monotonic_now() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(now.tv_nsec) / 1'000;
  }

  test_util::TempDir dir_{"sluice-notify"};
  int fd_ = -1;
};

TEST_F(ServiceManagerTest, SendsEachStateAsSystemdSpellsIt) {
  notify_ready();
  EXPECT_EQ(received(), "READY=1");
  notify_stopping();
  EXPECT_EQ(received(), "STOPPING=1");
  notify_watchdog();
  EXPECT_EQ(received(), "WATCHDOG=1");
  notify_status("3 sessions, 12 messages queued");
  EXPECT_EQ(received(), "STATUS=3 sessions, 12 messages queued");
  EXPECT_EQ(received(), "");
}

TEST_F(ServiceManagerTest, ReloadingCarriesTheMonotonicTimeItWasSent) {
  const std::uint64_t before = monotonic_now();
  notify_reloading();
  const std::uint64_t after = monotonic_now();
  const std::string message = received();
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(message.substr(0, prefix.size()), prefix) << message;
  const std::uint64_t sent = std::stoull(message.substr(prefix.size()));
  EXPECT_GE(sent, before);
  EXPECT_LE(sent, after);
}

TEST_F(ServiceManagerTest, StatusStaysOneAssignment) {
  notify_status("line one\nREADY=1\r");
  EXPECT_EQ(received(), "STATUS=line one READY=1 ");
}

TEST_F(ServiceManagerTest, WatchdogIntervalComesFromTheEnvironmentWhenItIsOurs) {
  EXPECT_EQ(watchdog_interval(), 0us);
  ::setenv("WATCHDOG_USEC", "20000000", 1);
  EXPECT_EQ(watchdog_interval(), 20s);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(watchdog_interval(), 20s);
  // Meant for another process (a parent that did not unset it): not ours to answer.
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_EQ(watchdog_interval(), 0us);
}

TEST_F(ServiceManagerTest, WithoutAServiceManagerNothingIsSent) {
  ::unsetenv("NOTIFY_SOCKET");
  notify_ready();
  notify_status("idle");
  EXPECT_EQ(received(), "");
}

}  // namespace
}  // namespace sluice
