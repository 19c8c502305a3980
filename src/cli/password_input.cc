#include "cli/password_input.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string_view>

#include "base/secret_file.h"

namespace sluice::cli {
namespace {

// A password longer than libxcrypt takes (512) is refused later, by hash_password; reading stops
// a little after that so that the refusal can say so instead of cutting the password short.
constexpr std::size_t kMaxPasswordRead = 4096;

// What a signal handler needs to give the terminal its echo back: plain globals, set before the
// handlers are installed and read only by them.
int g_terminal_fd = -1;
struct termios g_saved_terminal {};

extern "C" void restore_terminal_and_reraise(int signal) {
  ::tcsetattr(g_terminal_fd, TCSAFLUSH, &g_saved_terminal);
  [[maybe_unused]] ssize_t ignored = ::write(g_terminal_fd, "\n", 1);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

void write_text(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

// One line from `fd` up to '\n' (not kept, nor a CR before it); fails at end of input before
// anything was read, on a read error, and on an over-long line.
Result<std::string> read_line(int fd) {
  std::string line;
  for (;;) {
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::string("cannot read the password: ") + std::strerror(errno));
    if (n == 0) {
      if (line.empty()) return fail("no password given (end of input)");
      break;
    }
    if (c == '\n') break;
    if (line.size() >= kMaxPasswordRead) {
      wipe_secret(line);
      return fail("the password is too long");
    }
    line.push_back(c);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Echo off on the terminal from construction to destruction, for both questions: switching it
// back on between them would show an answer typed ahead of the second prompt. Ctrl-C, a kill or
// a hang-up while it is off still turn it back on (restore_terminal_and_reraise).
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    struct termios quiet = g_saved_terminal;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ICANON;
    struct sigaction action {};
    action.sa_handler = restore_terminal_and_reraise;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &action, &old_[i]);
    // TCSAFLUSH: what was typed before the first prompt is not taken for the password.
    ::tcsetattr(fd_, TCSAFLUSH, &quiet);
  }
  ~EchoOff() {
    ::tcsetattr(fd_, TCSANOW, &g_saved_terminal);
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
  int fd_;
  std::array<struct sigaction, 3> old_{};
};

Result<std::string> ask(int fd, std::string_view prompt) {
  write_text(fd, prompt);
  auto answer = read_line(fd);
  write_text(fd, "\n");  // the Enter the user typed was not echoed either
  return answer;
}

}  // namespace

Result<std::string> read_new_password_from_terminal(const std::string& user) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail("no terminal to ask for the password on: give it with --password-stdin");
  if (::tcgetattr(fd, &g_saved_terminal) != 0) {
    ::close(fd);
    return fail("no terminal to ask for the password on: give it with --password-stdin");
  }
  g_terminal_fd = fd;
  Result<std::string> first = fail("");
  Result<std::string> second = fail("");
  {
    EchoOff quiet(fd);
    first = ask(fd, "New password for " + user + ": ");
    if (first) second = ask(fd, "Repeat the password: ");
  }
  ::close(fd);
  g_terminal_fd = -1;
  if (!first) return first;
  if (!second) {
    wipe_secret(*first);
    return second;
  }
  bool same = *first == *second;
  wipe_secret(*second);
  if (!same) {
    wipe_secret(*first);
    return fail("the two passwords differ; nothing changed");
  }
  return first;
}

Result<std::string> read_password_from_stdin() { return read_line(STDIN_FILENO); }

}  // namespace sluice::cli
