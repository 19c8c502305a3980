// Giving up root for good: the process becomes a service account and keeps only the right to
// bind ports below 1024 (CAP_NET_BIND_SERVICE), so that a live reload can still open a listener
// on port 25, while a compromised session can neither regain root nor gain anything through exec.
#pragma once
#include <cstddef>

#include "base/account.h"
#include "base/result.h"

namespace sluice {

/// Threads of this process (the entries of /proc/self/task); 0 when that cannot be read.
std::size_t threads_in_process();

/// Becomes `account` for good, in this order: keep capabilities across the uid change
/// (PR_SET_KEEPCAPS), setgroups (the account's groups), setresgid, setresuid, then capset to
/// CAP_NET_BIND_SERVICE alone (effective and permitted; nothing inheritable or ambient). Then
/// checks that it worked: every uid and gid is the account's, setuid(0) and setgid(0) fail, and
/// the capabilities are that one only. Last, PR_SET_NO_NEW_PRIVS, so that no exec can give
/// privileges back (setuid binaries and file capabilities are ignored).
///
/// Must run as root and before the process starts a thread: set*id changes reach every thread
/// (glibc), but capabilities are per thread, so a thread started earlier would keep them; it
/// fails, changing nothing, when more than one thread exists. Any failure after the first change
/// leaves the process in an unknown state: the caller must exit.
Result<void> drop_privileges(const Account& account);

}  // namespace sluice
