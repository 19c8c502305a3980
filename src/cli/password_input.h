// Reading a new password for `sluice user`: from the terminal without echo, asked twice, or the
// first line of stdin. Never from the command line, where ps and shell history would show it.
#pragma once
#include <string>

#include "base/result.h"

namespace sluice::cli {

/// Asks for the password of `user` twice on the controlling terminal (/dev/tty) with echo off
/// and returns it when both answers match. Fails without a terminal (use --password-stdin),
/// on a mismatch, and on end of input. The terminal's settings come back even on Ctrl-C.
Result<std::string> read_new_password_from_terminal(const std::string& user);
/// The first line of stdin, without its line end; fails when stdin is empty.
Result<std::string> read_password_from_stdin();

}  // namespace sluice::cli
