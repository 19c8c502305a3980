#include "cli/demo_support.h"
#include "base/text.h"

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
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "log/protocol_log.h"
#include "smtp/dot_stuffing.h"
#include "smtp/reply_reader.h"

namespace sluice::cli::demo {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_signal(int) { g_interrupted = 1; }

char lower_char(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower_char(x) == lower_char(y);
         });
}

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

/// Sort key of "SEND2024050112-3.LOG": ("2024050112", 3); unknown shapes sort last by name.
std::pair<std::string, long> log_key(const std::string& name, std::size_t prefix_length) {
  auto dash = name.rfind('-');
  auto dot = name.rfind('.');
  if (dash == std::string::npos || dot == std::string::npos || dash < prefix_length || dot < dash)
    return {"~" + name, 0};
  long index = 0;
  try {
    index = std::stol(name.substr(dash + 1, dot - dash - 1));
  } catch (const std::exception&) {
    return {"~" + name, 0};
  }
  return {name.substr(prefix_length, dash - prefix_length), index};
}

/// "exited with status 2", for a child that ended early.
std::string fmt_exit(int status) {
  if (status == 127) return "exited with status 127 (could not execute the sluice binary)";
  if (status < 0) return "was killed by signal";
  return "exited with status " + std::to_string(status);
}

/// Sends all of `data`; false on error or timeout.
bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        check_interrupted();
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// A blocking line reader over a socket with SO_RCVTIMEO set.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  /// One line without CRLF; nullopt on close, error or timeout.
  std::optional<std::string> line() {
    for (;;) {
      auto end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        std::string out = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return out;
      }
      if (buffer_.size() > 64 * 1024) return std::nullopt;
      char chunk[4096];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) {
        check_interrupted();
        continue;
      }
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buffer_;
};

}  // namespace

// --- Interruption ----------------------------------------------------------------------------

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking call returns EINTR and the wait sees the flag
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool interrupted() { return g_interrupted != 0; }

void check_interrupted() {
  if (g_interrupted) throw Interrupted();
}

void nap(Millis duration) {
  check_interrupted();
  std::this_thread::sleep_for(duration);
  check_interrupted();
}

bool wait_until(const std::function<bool()>& ready, Millis timeout, Millis poll) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    check_interrupted();
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    nap(poll);
  }
}

// --- Processes ---------------------------------------------------------------------------------

fs::path self_executable() {
  std::error_code ec;
  auto path = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("/proc/self/exe") : path;
}

ChildResult run_child(const fs::path& exe, const std::vector<std::string>& args, Millis timeout) {
  ChildResult result;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
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
    return result;
  }
  if (pid == 0) {
    child_common();
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    execv(exe_text.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool open = true;
  while (open) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || g_interrupted) {
      result.timed_out = !g_interrupted;
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
    if (n <= 0) open = false;
    else result.output.append(chunk, static_cast<std::size_t>(n));
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
    : name_(std::move(name)), exe_(std::move(exe)), config_(std::move(config)), log_file_(std::move(log_file)) {}

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
  if (last_signal_ != 0) return fmt_exit(-1) + " " + std::to_string(last_signal_) + " (" + strsignal(last_signal_) + ")";
  return fmt_exit(last_status_);
}

bool ServeProcess::start(const std::vector<std::string>& endpoints, Millis timeout, std::string& why) {
  if (pid_ > 0) {
    why = name_ + " is already running";
    return false;
  }
  log_offset_ = file_size_or_zero(log_file_);
  std::vector<std::string> storage{"sluice", "serve", "--config", config_.string()};
  auto argv = make_argv(storage);
  std::string exe_text = exe_.string();
  std::string log_text = log_file_.string();
  pid_t pid = fork();
  if (pid < 0) {
    why = std::string("fork: ") + std::strerror(errno);
    return false;
  }
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
  bool ready = wait_until(
      [&] {
        if (!alive()) return true;
        auto log = log_of_this_run();
        // It serves while it reads its spool (docs/queue.md); the demo's next step uses the queue,
        // so it waits for the read too. "queue: reading" comes before the "listening on" lines.
        bool reading = log.find("queue: reading ") != std::string::npos &&
                       log.find("reloaded from the spool") == std::string::npos;
        return !reading && std::all_of(endpoints.begin(), endpoints.end(), [&](const std::string& e) {
          return log.find("listening on " + e + " ") != std::string::npos;
        });
      },
      timeout, Millis(50));
  if (!alive()) {
    why = exit_description();
    return false;
  }
  if (!ready) {
    why = "did not report listening on every address within " + std::to_string(timeout.count() / 1000) + " s";
    return false;
  }
  return true;
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

// --- SMTP submission ---------------------------------------------------------------------------

std::string queue_id_from_reply(std::string_view reply) {
  std::istringstream words{std::string(reply)};
  std::string word;
  bool first = true;
  while (words >> word) {
    if (first) {  // the reply code
      first = false;
      continue;
    }
    if (word.size() < 8 || word.size() > 64) continue;
    bool id_like = std::all_of(word.begin(), word.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'Z');
    });
    bool has_digit = std::any_of(word.begin(), word.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (id_like && has_digit) return word;
  }
  return "";
}

SubmitResult submit_message(std::uint16_t port, const std::string& helo, const std::string& from,
                            const std::string& to, const std::string& message, Millis timeout) {
  SubmitResult result;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result.error = std::string("socket: ") + std::strerror(errno);
    return result;
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  while (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno == EINTR) {
      check_interrupted();
      continue;
    }
    result.error = "connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
    return result;
  }
  LineReader reader(fd);
  // Reads one reply into the transcript; its code, or 0 on a broken connection or bad reply.
  auto reply = [&]() -> int {
    smtp::ReplyAssembler assembler;
    for (;;) {
      auto line = reader.line();
      if (!line) {
        result.error = "the server closed the connection or did not answer in time";
        return 0;
      }
      result.transcript.push_back("S: " + *line);
      auto status = assembler.add(*line);
      if (status == smtp::ReplyAssembler::Status::Error) {
        result.error = "malformed reply: " + assembler.error();
        return 0;
      }
      if (status == smtp::ReplyAssembler::Status::Complete) return assembler.take().code;
    }
  };
  auto command = [&](const std::string& line, int expected_class) -> bool {
    result.transcript.push_back("C: " + line);
    if (!send_all(fd, line + "\r\n")) {
      result.error = "cannot send " + line + ": " + std::strerror(errno);
      return false;
    }
    int code = reply();
    if (code / 100 != expected_class) {
      if (result.error.empty()) result.error = line + " was answered " + result.transcript.back().substr(3);
      return false;
    }
    return true;
  };
  if (reply() != 220) {
    if (result.error.empty()) result.error = "no 220 greeting";
    return result;
  }
  if (!command("EHLO " + helo, 2) || !command("MAIL FROM:<" + from + ">", 2) || !command("RCPT TO:<" + to + ">", 2) ||
      !command("DATA", 3))
    return result;
  std::string payload = smtp::dot_stuff(message);
  const std::size_t terminator = 3;  // ".\r\n", shown as a line of its own
  result.transcript.push_back("C: (" + std::to_string(payload.size() - terminator) + " octets of message)");
  result.transcript.push_back("C: .");
  if (!send_all(fd, payload)) {
    result.error = std::string("cannot send the message: ") + std::strerror(errno);
    return result;
  }
  int code = reply();
  if (code != 250) {
    if (result.error.empty()) result.error = "the message was answered " + result.transcript.back().substr(3);
    return result;
  }
  result.accepted = true;
  result.queue_id = queue_id_from_reply(result.transcript.back().substr(3));
  command("QUIT", 2);
  result.error.clear();
  return result;
}

// --- Artefacts ---------------------------------------------------------------------------------

std::vector<fs::path> protocol_log_files(const fs::path& dir, std::string_view prefix) {
  std::vector<std::pair<std::pair<std::string, long>, fs::path>> keyed;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.size() < 4 || name.substr(name.size() - 4) != ".LOG") continue;
    keyed.push_back({log_key(name, prefix.size()), it->path()});
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<fs::path> out;
  for (auto& [key, path] : keyed) out.push_back(std::move(path));
  return out;
}

std::vector<std::string> protocol_log_lines(const fs::path& dir, std::string_view prefix) {
  std::vector<std::string> lines;
  for (const auto& path : protocol_log_files(dir, prefix)) {
    std::ifstream in(path, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
      if (line.empty() || line.front() == '#') continue;
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

std::vector<std::string> LogCursor::new_lines() const {
  auto lines = all();
  if (seen_ >= lines.size()) return {};
  return {lines.begin() + static_cast<std::ptrdiff_t>(seen_), lines.end()};
}

void LogCursor::mark() { seen_ = all().size(); }

std::vector<std::string> grep(const std::vector<std::string>& lines, std::string_view needle, bool fold_case) {
  std::vector<std::string> out;
  std::string folded = fold_case ? ascii_lower(needle) : std::string(needle);
  for (const auto& line : lines)
    if ((fold_case ? ascii_lower(line) : line).find(folded) != std::string::npos) out.push_back(line);
  return out;
}

std::string session_of(const std::string& line) {
  auto parsed = log::parse_line(line);
  return parsed ? parsed->session_id : "";
}

std::vector<std::string> session_lines(const std::vector<std::string>& lines, const std::string& session) {
  std::vector<std::string> out;
  if (session.empty()) return out;
  for (const auto& line : lines)
    if (session_of(line) == session) out.push_back(line);
  return out;
}

std::vector<fs::path> maildir_new(const fs::path& maildir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(maildir / "new", ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

namespace {

/// Splits into lines without CR/LF.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    auto line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

bool is_field_of(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line[name.size()] == ':' && iequals(line.substr(0, name.size()), name);
}

/// The unfolded field starting at lines[i] (lines[i] is "Name: ..."), continuation lines joined.
std::string unfold_at(const std::vector<std::string_view>& lines, std::size_t i) {
  std::string value(lines[i]);
  for (std::size_t j = i + 1; j < lines.size() && !lines[j].empty() && (lines[j][0] == ' ' || lines[j][0] == '\t'); ++j) {
    auto rest = lines[j];
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    value += ' ';
    value += rest;
  }
  return value;
}

}  // namespace

std::optional<std::string> header_value(std::string_view message, std::string_view name) {
  auto lines = split_lines(message);
  for (std::size_t i = 0; i < lines.size() && !lines[i].empty(); ++i) {
    if (!is_field_of(lines[i], name)) continue;
    std::string field = unfold_at(lines, i);
    std::string_view value(field);
    value.remove_prefix(name.size() + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    return std::string(value);
  }
  return std::nullopt;
}

std::vector<std::string> field_lines(std::string_view text, std::string_view name) {
  std::vector<std::string> out;
  auto lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (is_field_of(lines[i], name)) out.push_back(unfold_at(lines, i));
  return out;
}

std::string indent_lines(std::string_view text, std::string_view indent) {
  std::string out;
  if (text.empty()) return out;
  auto lines = split_lines(text);
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (const auto& line : lines) {
    // No indent on empty lines: it would only be trailing white space.
    if (!line.empty()) out += indent;
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace sluice::cli::demo
