#include "base/privilege_drop.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace sluice {
namespace {

// Not a real account: the drop needs only numbers, and a child process makes it (it cannot be undone).
const Account kAccount{"sluice-test", 64123, 64124, {64124}};

/// In the child: exits 0 when `ok`, else prints `what` and exits 1.
void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "%s\n", what);
  std::_Exit(1);
}

/// Binds 127.0.0.1 on some port below 1024 (from 1023 down: test_least_privilege.py takes them from
/// 600 up), with SO_REUSEADDR and without listening, so that it never keeps another test from the port.
/// True when one binds, false when every one is refused.
bool binds_a_low_port() {
  for (int port = 1023; port >= 600; --port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int result = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    const int error = errno;
    ::close(fd);
    if (result == 0) return true;
    if (error != EADDRINUSE) return false;
  }
  return false;
}

void drop_and_check() {
  auto dropped = drop_privileges(kAccount);
  require(dropped.ok(), dropped ? "" : dropped.error().message.c_str());
  uid_t r, e, s;
  require(::getresuid(&r, &e, &s) == 0 && r == 64123 && e == 64123 && s == 64123, "uids");
  gid_t gr, ge, gs;
  require(::getresgid(&gr, &ge, &gs) == 0 && gr == 64124 && ge == 64124 && gs == 64124, "gids");
  gid_t groups[8];
  require(::getgroups(8, groups) == 1 && groups[0] == 64124, "supplementary groups");
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  require(::syscall(SYS_capget, &header, data) == 0, "capget");
  require(data[0].effective == (1u << CAP_NET_BIND_SERVICE) && data[0].permitted == (1u << CAP_NET_BIND_SERVICE) &&
              data[0].inheritable == 0 && data[1].effective == 0 && data[1].permitted == 0,
          "capabilities other than CAP_NET_BIND_SERVICE");
  require(::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs");
  require(::setuid(0) != 0, "setuid(0) worked");
  require(binds_a_low_port(), "no port below 1024 could be bound");
  // A thread started afterwards is the account as well (capabilities are per thread).
  bool thread_ok = false;
  std::thread([&] {
    __user_cap_data_struct t[2]{};
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    thread_ok =
        ::geteuid() == 64123 && ::syscall(SYS_capget, &h, t) == 0 && t[0].effective == (1u << CAP_NET_BIND_SERVICE);
  }).join();
  require(thread_ok, "a later thread is not the account");
  std::_Exit(0);
}

class DropPrivileges : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "dropping privileges needs root";
    GTEST_FLAG_SET(death_test_style, "threadsafe");  // the child re-runs the test alone: one thread
  }
};

TEST_F(DropPrivileges, BecomesTheAccountKeepingOnlyTheRightToBindLowPorts) {
  EXPECT_EXIT(drop_and_check(), ::testing::ExitedWithCode(0), "");
}

TEST_F(DropPrivileges, RefusesOnceASecondThreadRuns) {
  EXPECT_EXIT(
      {
        std::thread sleeper([] { std::this_thread::sleep_for(std::chrono::seconds(2)); });
        auto dropped = drop_privileges(kAccount);
        require(!dropped.ok(), "dropped with two threads");
        require(dropped.error().message.find("2 threads exist before the privilege drop") != std::string::npos,
                dropped.error().message.c_str());
        require(::geteuid() == 0, "the refusal changed the user");
        sleeper.detach();
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(DropPrivileges, RefusesUidZero) {
  auto dropped = drop_privileges(Account{"root", 0, 0, {0}});
  ASSERT_FALSE(dropped);
  EXPECT_NE(dropped.error().message.find("uid 0"), std::string::npos) << dropped.error().message;
}

}  // namespace
}  // namespace sluice
