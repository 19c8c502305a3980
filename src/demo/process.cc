#include "demo/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "base/account.h"
#include "demo/files.h"

namespace sluice::demo {
namespace {

/// argv for execv; `storage` owns the strings.
std::vector<char*> make_argv(std::vector<std::string>& storage) {
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  return argv;
}

/// In the child after fork: die with the parent, and only async-signal-safe calls from here.
void child_common() {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0) dup2(null, STDIN_FILENO);
}

std::uintmax_t file_size_or_zero(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

/// "exited with status 2", for a child that ended early.
std::string fmt_exit(int status) {
  if (status == 127) return "exited with status 127 (could not execute the sluice binary)";
  if (status < 0) return "was killed by signal";
  return "exited with status " + std::to_string(status);
}

}  // namespace

fs::path self_executable() {
  std::error_code ec;
  auto path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("/proc/self/exe") : path;
}

ChildResult run_child(const fs::path& exe, const std::vector<std::string>& args, Millis timeout,
                      std::string_view input) {
  ChildResult result;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  int input_fds[2] = {-1, -1};
  if (!input.empty()) {
    // Far less than a pipe's buffer: written now, so the child reads it all and then EOF.
    if (input.size() > 4096 || pipe2(input_fds, O_CLOEXEC) != 0 ||
        write(input_fds[1], input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
      result.output = "cannot hand the child its input";
      for (int fd : {pipe_fds[0], pipe_fds[1], input_fds[0], input_fds[1]})
        if (fd >= 0) close(fd);
      return result;
    }
    close(input_fds[1]);
  }
  std::vector<std::string> storage{"sluice"};
  storage.insert(storage.end(), args.begin(), args.end());
  auto argv = make_argv(storage);
  std::string exe_text = exe.string();
  pid_t pid = fork();
  if (pid < 0) {
    result.output = std::string("fork: ") + std::strerror(errno);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    if (input_fds[0] >= 0) close(input_fds[0]);
    return result;
  }
  if (pid == 0) {
    child_common();
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    if (input_fds[0] >= 0) dup2(input_fds[0], STDIN_FILENO);
    execv(exe_text.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  if (input_fds[0] >= 0) close(input_fds[0]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool open = true;
  while (open) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || interrupted()) {
      result.timed_out = !interrupted();
      kill(pid, SIGKILL);
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 200)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char chunk[4096];
    ssize_t n = read(pipe_fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      open = false;
    else
      result.output.append(chunk, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  check_interrupted();
  return result;
}

ServeProcess::ServeProcess(std::string name, fs::path exe, fs::path config, fs::path log_file)
    : name_(std::move(name)),
      exe_(std::move(exe)),
      config_(std::move(config)),
      log_file_(std::move(log_file)),
      // The demo's gateways run as whoever runs the demo, root included (no service account to
      // drop to: everything they use is in the demo's own directory).
      argv_{"sluice", "serve", "--config", config_.string(), "--user", effective_user_name()} {}

std::unique_ptr<ServeProcess> ServeProcess::other(std::string name, fs::path program, std::vector<std::string> args,
                                                  fs::path log_file) {
  auto process = std::make_unique<ServeProcess>(std::move(name), program, fs::path(), std::move(log_file));
  process->argv_ = {program.filename().string()};
  process->argv_.insert(process->argv_.end(), args.begin(), args.end());
  return process;
}

ServeProcess::~ServeProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(Millis(50));
  }
  kill(pid_, SIGKILL);
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

bool ServeProcess::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    last_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    last_signal_ = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    pid_ = -1;
    return false;
  }
  return true;
}

std::string ServeProcess::exit_description() const {
  if (last_signal_ != 0)
    return fmt_exit(-1) + " " + std::to_string(last_signal_) + " (" + strsignal(last_signal_) + ")";
  return fmt_exit(last_status_);
}

Result<void> ServeProcess::start(const std::vector<std::string>& endpoints, Millis timeout) {
  return start_until(
      [&] {
        auto log = log_of_this_run();
        // It serves while it reads its spool (docs/queue.md); the demo's next step uses the queue,
        // so it waits for the read too. "queue: reading" comes before the "listening on" lines.
        bool reading = log.find("queue: reading ") != std::string::npos &&
                       log.find("reloaded from the spool") == std::string::npos;
        return !reading && std::all_of(endpoints.begin(), endpoints.end(), [&](const std::string& e) {
          return log.find("listening on " + e + " ") != std::string::npos;
        });
      },
      "report listening on every address", timeout);
}

Result<void> ServeProcess::start_until(const std::function<bool()>& ready_test, std::string_view waiting_for,
                                       Millis timeout) {
  if (pid_ > 0) return fail(name_ + " is already running");
  log_offset_ = file_size_or_zero(log_file_);
  std::vector<std::string> storage = argv_;
  auto argv = make_argv(storage);
  std::string exe_text = exe_.string();
  std::string log_text = log_file_.string();
  pid_t pid = fork();
  if (pid < 0) return fail(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    child_common();
    int log = open(log_text.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    execv(exe_text.c_str(), argv.data());
    _exit(127);
  }
  pid_ = pid;
  bool ready = wait_until([&] { return !alive() || ready_test(); }, timeout, Millis(50));
  if (!alive()) return fail(exit_description());
  if (!ready) return fail(fmt::format("did not {} within {} s", waiting_for, timeout.count() / 1000));
  return {};
}

std::optional<int> ServeProcess::stop(Millis timeout) {
  if (pid_ <= 0) return last_status_;
  kill(pid_, SIGTERM);
  bool ended = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!alive()) {
      ended = true;
      break;
    }
    // Not nap(): a Ctrl-C during a stop should not abandon the child half-stopped.
    std::this_thread::sleep_for(Millis(50));
  }
  if (!ended) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    last_status_ = -1;
    last_signal_ = SIGKILL;
    return std::nullopt;
  }
  return last_status_;
}

std::string ServeProcess::log_of_this_run() const {
  std::string all = read_file(log_file_);
  return log_offset_ <= all.size() ? all.substr(log_offset_) : all;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    int error = errno;
    close(fd);
    throw std::runtime_error(std::string("cannot pick a free loopback port: ") + std::strerror(error));
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::vector<std::uint16_t> distinct_free_ports(std::size_t count) {
  std::vector<std::uint16_t> ports;
  while (ports.size() < count) {
    std::uint16_t port = free_port();
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
  }
  return ports;
}

bool accepts_connections(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return connected;
}

}  // namespace sluice::demo
