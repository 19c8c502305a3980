#include "control/control_socket.h"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "base/accept_loop.h"
#include "base/access_problem.h"
#include "base/logging.h"

namespace sluice::control {
namespace {

using asio::awaitable;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;
/// Answers can be long (a queue with many hops); this only stops a runaway peer.
constexpr std::size_t kMaxResponseBytes = 64 * 1024 * 1024;

std::string errno_text(int error) { return std::strerror(error); }

/// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

/// Connects a Unix stream socket to `path`; returns 0 or the errno. `nonblocking`: a listener
/// with a full backlog answers EAGAIN at once instead of making us wait.
int connect_unix(const Fd& fd, const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  if (::connect(fd.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return 0;
  return errno;
}

/// Something lives at `path`: unlink it if it is a dead socket, refuse otherwise.
void clear_stale_socket(const std::filesystem::path& path) {
  const std::string text = path.string();
  struct stat info {};
  if (::lstat(text.c_str(), &info) != 0) {
    if (errno == ENOENT) return;
    throw std::runtime_error(fmt::format("cannot check control socket {}: {}", text, errno_text(errno)));
  }
  if (!S_ISSOCK(info.st_mode))
    throw std::runtime_error(fmt::format("{} exists and is not a socket; move it away", text));
  Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (probe.fd < 0) throw std::runtime_error(fmt::format("socket: {}", errno_text(errno)));
  int error = connect_unix(probe, text);
  // EAGAIN: a listener whose backlog is full is still a listener.
  if (error == 0 || error == EAGAIN || error == EINPROGRESS)
    throw std::runtime_error(fmt::format("another gateway is running ({})", text));
  if (error != ECONNREFUSED)
    throw std::runtime_error(fmt::format("cannot check control socket {}: {}", text, errno_text(error)));
  // Nobody listens: the socket file of a gateway that crashed.
  if (::unlink(text.c_str()) != 0 && errno != ENOENT)
    throw std::runtime_error(fmt::format("cannot remove stale control socket {}: {}", text, errno_text(errno)));
  log_info("removed stale control socket {}", text);
}

/// "[json.exception.parse_error.101] parse error at ..." without the bracketed tag.
std::string without_tag(const char* what) {
  std::string text = what;
  if (!text.empty() && text.front() == '[') {
    auto end = text.find("] ");
    if (end != std::string::npos) text.erase(0, end + 2);
  }
  return text;
}

std::string dump_line(const Json& value) {
  // replace: a reply text with stray 8-bit bytes must not make the answer impossible to send.
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string error_line(const std::string& message) { return dump_line(Json{{"ok", false}, {"error", message}}); }

}  // namespace

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path socket_path, Handler handler)
    : io_(io), path_(std::move(socket_path)), handler_(std::move(handler)), acceptor_(io) {
  const std::string text = path_.string();
  if (text.size() > kMaxSocketPath)
    throw std::runtime_error(
        fmt::format("control socket path {} is {} bytes long; Unix sockets allow {}: use a "
                    "shorter state directory",
                    text, text.size(), kMaxSocketPath));
  clear_stale_socket(path_);

  // Bind inside a private 0700 directory, chmod, then rename into place: the socket is never
  // reachable at its public path with looser permissions than 0600, and no process-wide umask
  // change races with other threads creating files.
  std::filesystem::path parent = path_.parent_path().empty() ? "." : path_.parent_path();
  std::string scratch = (parent / ".ctlXXXXXX").string();
  const bool private_bind = scratch.size() + 2 <= kMaxSocketPath && ::mkdtemp(scratch.data()) != nullptr;
  const std::filesystem::path bind_path = private_bind ? std::filesystem::path(scratch) / "s" : path_;
  std::error_code ec;
  acceptor_.open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor_.bind(asio::local::stream_protocol::endpoint(bind_path.string()), ec);
  if (!ec && ::chmod(bind_path.c_str(), 0600) != 0) ec.assign(errno, std::system_category());
  if (!ec && private_bind && ::rename(bind_path.c_str(), text.c_str()) != 0) ec.assign(errno, std::system_category());
  if (private_bind) {
    ::unlink(bind_path.c_str());  // only left there when something above failed
    ::rmdir(scratch.c_str());
  }
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  struct stat info {};
  if (!ec && ::stat(text.c_str(), &info) != 0) ec.assign(errno, std::system_category());
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    if (!private_bind) ::unlink(text.c_str());
    throw std::runtime_error(fmt::format("cannot listen on control socket {}: {}", text, ec.message()));
  }
  device_ = info.st_dev;
  inode_ = info.st_ino;
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start() {
  if (started_ || stopped_) return;
  started_ = true;
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

void ControlServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  close_acceptor_and_connections(acceptor_, connections_);
  // Only our own socket: after a takeover the path may belong to another gateway.
  struct stat info {};
  if (::lstat(path_.c_str(), &info) == 0 && info.st_dev == device_ && info.st_ino == inode_) ::unlink(path_.c_str());
}

awaitable<void> ControlServer::accept_loop() {
  co_await accept_until_stopped(acceptor_, stopped_, "control socket", [this](Socket socket) {
    auto shared = std::make_shared<Socket>(std::move(socket));
    connections_.insert(shared);
    asio::co_spawn(io_, serve(shared), asio::detached);
  });
}

awaitable<void> ControlServer::serve(std::shared_ptr<Socket> socket) {
  asio::steady_timer deadline(io_, idle_timeout);
  close_at_deadline(deadline, socket);
  std::string buffer;
  std::error_code ec;
  std::size_t length = co_await asio::async_read_until(*socket, asio::dynamic_buffer(buffer, kMaxRequestBytes + 1),
                                                       '\n', asio::redirect_error(asio::use_awaitable, ec));
  std::string response;
  if (!ec) {
    response = answer(buffer.substr(0, length - 1));
  } else if (ec == asio::error::not_found) {
    response = error_line(fmt::format("request longer than {} bytes", kMaxRequestBytes));
  } else if (ec == asio::error::eof && !buffer.empty()) {
    response = answer(buffer);  // the client shut down its side without a newline: still one request
  }
  if (!response.empty()) {
    response += '\n';
    co_await asio::async_write(*socket, asio::buffer(response), asio::redirect_error(asio::use_awaitable, ec));
    socket->shutdown(asio::socket_base::shutdown_send, ec);
  }
  socket->close(ec);
  deadline.cancel();
  connections_.erase(socket);
}

std::string ControlServer::answer(const std::string& line) const {
  std::string_view text = line;
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  Json request;
  try {
    request = Json::parse(text);
  } catch (const Json::exception& e) {
    return error_line("malformed request: " + without_tag(e.what()));
  }
  if (!request.is_object()) return error_line("malformed request: expected a JSON object");
  try {
    return dump_line(handler_(request));
  } catch (const std::exception& e) {
    return error_line(e.what());
  } catch (...) {
    return error_line("internal error");
  }
}

Result<Json, RequestFailure> request(const std::filesystem::path& socket_path, const Json& req,
                                     std::chrono::milliseconds timeout) {
  const std::string path = socket_path.string();
  auto fail = [](RequestError reason, std::string text) -> Result<Json, RequestFailure> {
    return sluice::fail(RequestFailure{reason, std::move(text)});
  };
  if (path.size() > kMaxSocketPath)
    return fail(RequestError::Failed,
                fmt::format("control socket path {} is too long for a Unix socket ({} bytes, at most {})", path,
                            path.size(), kMaxSocketPath));
  const auto deadline = Clock::now() + timeout;
  auto timed_out = [&] {
    return fail(RequestError::Failed,
                fmt::format("the gateway on {} did not answer within {} ms", path, timeout.count()));
  };
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.fd < 0) return fail(RequestError::Failed, fmt::format("socket: {}", errno_text(errno)));

  // Wait for `events` until the deadline: true when ready, false on timeout or error.
  auto wait_for = [&](short events) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd.fd, events, 0};
      int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
  };

  // A Unix connect either completes or fails at once, except with a full backlog (EAGAIN),
  // which only retrying can get past.
  for (;;) {
    int e = connect_unix(fd, path);
    if (e == 0) break;
    if (e == EAGAIN) {
      if (Clock::now() >= deadline) return timed_out();
      ::usleep(10000);
      continue;
    }
    if (e == EINTR) continue;
    if (e == EACCES || e == EPERM) {
      std::string why = access_problem(socket_path, R_OK | W_OK, "connect to");
      return fail(RequestError::PermissionDenied,
                  fmt::format("permission denied on the control socket {}: {}; run this as the gateway's user or root",
                              path, why.empty() ? errno_text(e) : why));
    }
    const bool not_running = e == ENOENT || e == ECONNREFUSED || e == ENOTDIR;
    return fail(not_running ? RequestError::NotRunning : RequestError::Failed,
                fmt::format("no sluice gateway is answering on {}: {}", path, errno_text(e)));
  }

  const std::string line = req.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  for (std::size_t sent = 0; sent < line.size();) {
    ssize_t n = ::send(fd.fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(POLLOUT)) return timed_out();
    } else {
      return fail(RequestError::Failed, fmt::format("cannot send to the gateway on {}: {}", path, errno_text(errno)));
    }
  }

  std::string answer;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::recv(fd.fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      answer.append(chunk, static_cast<std::size_t>(n));
      if (answer.find('\n') != std::string::npos) break;
      if (answer.size() > kMaxResponseBytes)
        return fail(RequestError::Failed,
                    fmt::format("the gateway on {} sent an answer over {} bytes", path, kMaxResponseBytes));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(POLLIN)) return timed_out();
    } else {
      return fail(RequestError::Failed, fmt::format("cannot read from the gateway on {}: {}", path, errno_text(errno)));
    }
  }
  answer = answer.substr(0, answer.find('\n'));
  if (answer.empty())
    return fail(RequestError::Failed, fmt::format("the gateway on {} closed the connection without answering", path));
  try {
    Json value = Json::parse(answer);
    if (!value.is_object()) throw std::runtime_error("not a JSON object");
    return value;
  } catch (const std::exception& e) {
    return fail(RequestError::Failed,
                fmt::format("the gateway on {} sent a malformed answer: {}", path, without_tag(e.what())));
  }
}

}  // namespace sluice::control
