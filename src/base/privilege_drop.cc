#include "base/privilege_drop.h"

#include <fmt/format.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sluice {
namespace {

// The raw capget/capset system calls (what libcap wraps): two 32-bit words per set, version 3.
struct CapabilitySets {
  __u32 effective[2] = {0, 0};
  __u32 permitted[2] = {0, 0};
  __u32 inheritable[2] = {0, 0};
};

Result<CapabilitySets> get_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return fail(fmt::format("capget: {}", std::strerror(errno)));
  CapabilitySets sets;
  for (int i = 0; i < 2; ++i) {
    sets.effective[i] = data[i].effective;
    sets.permitted[i] = data[i].permitted;
    sets.inheritable[i] = data[i].inheritable;
  }
  return sets;
}

Result<void> set_capabilities(const CapabilitySets& sets) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) data[i] = {sets.effective[i], sets.permitted[i], sets.inheritable[i]};
  if (::syscall(SYS_capset, &header, data) != 0) return fail(fmt::format("capset: {}", std::strerror(errno)));
  return {};
}

CapabilitySets only_net_bind_service() {
  CapabilitySets sets;
  static_assert(CAP_NET_BIND_SERVICE < 32);
  sets.effective[0] = sets.permitted[0] = 1u << CAP_NET_BIND_SERVICE;
  return sets;
}

Result<void> step(int result, const char* what) {
  if (result != 0) return fail(fmt::format("{}: {}", what, std::strerror(errno)));
  return {};
}

/// The checks after the change: nothing of root is left but CAP_NET_BIND_SERVICE.
Result<void> verify_dropped(const Account& account) {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0)
    return fail(fmt::format("getresuid/getresgid: {}", std::strerror(errno)));
  if (ruid != account.uid || euid != account.uid || suid != account.uid)
    return fail(fmt::format("uids are {}/{}/{} after setresuid({})", ruid, euid, suid, account.uid));
  if (rgid != account.gid || egid != account.gid || sgid != account.gid)
    return fail(fmt::format("gids are {}/{}/{} after setresgid({})", rgid, egid, sgid, account.gid));
  // The proof that root is gone: asking for it back must fail.
  if (::setuid(0) == 0) return fail("setuid(0) still succeeds after the drop");
  if (::setgid(0) == 0) return fail("setgid(0) still succeeds after the drop");
  auto sets = get_capabilities();
  if (!sets) return fail(sets.error().message);
  const CapabilitySets wanted = only_net_bind_service();
  for (int i = 0; i < 2; ++i)
    if (sets->effective[i] != wanted.effective[i] || sets->permitted[i] != wanted.permitted[i] ||
        sets->inheritable[i] != 0)
      return fail("capabilities other than CAP_NET_BIND_SERVICE are left after the drop");
  return {};
}

}  // namespace

std::size_t threads_in_process() {
  std::error_code ec;
  std::size_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++count;
  return ec ? 0 : count;
}

Result<void> drop_privileges(const Account& account) {
  if (::geteuid() != 0) return fail("dropping privileges needs root");
  if (account.uid == 0) return fail(fmt::format("user {} is uid 0: that is no drop", account.name));
  if (const std::size_t threads = threads_in_process(); threads != 1)
    return fail(
        fmt::format("{} threads exist before the privilege drop; it must come before any thread starts", threads));
  // From here on a failure leaves a half-changed process: the caller exits.
  if (auto r = step(::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)"); !r) return r;
  if (auto r = step(::setgroups(account.groups.size(), account.groups.data()), "setgroups"); !r) return r;
  if (auto r = step(::setresgid(account.gid, account.gid, account.gid), "setresgid"); !r) return r;
  if (auto r = step(::setresuid(account.uid, account.uid, account.uid), "setresuid"); !r) return r;
  // After setresuid the effective set is empty and the permitted set still full (KEEPCAPS): keep
  // one capability, in both, and drop the rest for good.
  if (auto r = set_capabilities(only_net_bind_service()); !r) return r;
  if (auto r = step(::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "prctl(PR_SET_KEEPCAPS, 0)"); !r) return r;
  if (auto r = step(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT_CLEAR_ALL)"); !r)
    return r;
  if (auto r = verify_dropped(account); !r) return r;
  return step(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace sluice
