// The control socket: how `sluice queue` talks to a running gateway. A Unix socket at
// <state_dir>/control.sock (mode 0600: only the gateway's user may steer it), one JSON request
// line in, one JSON response line out, then close.
#pragma once
#include <sys/types.h>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "base/result.h"

namespace sluice::control {

using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

/// Longest request line the server reads (the newline excluded); longer ones get an error reply.
inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;

/// Answers control requests on one socket. Runs on `io`'s thread(s): the handler is called there,
/// one request at a time per connection, so it should be quick (it is given the parsed request,
/// always a JSON object, and its result is sent back as one line). A request that is not JSON or
/// not an object, is longer than kMaxRequestBytes, or makes the handler throw gets
/// {"ok":false,"error":"..."}. A connection that sends nothing for `idle_timeout` is closed.
/// Must outlive io.run() (its coroutines refer to it).
class ControlServer {
 public:
  /// Removes a stale socket file left by a crash (only if nothing answers on it), binds, chmods 0600.
  /// Throws std::runtime_error when another gateway is already answering on this state directory
  /// ("another gateway is running (<path>)"), when the path exists and is not a socket, when the
  /// path is too long for a Unix socket (107 bytes), or when binding fails.
  ControlServer(asio::io_context& io, std::filesystem::path socket_path, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void start();
  /// Closes the acceptor and open connections and removes the socket file (if still ours).
  /// Call it on io's thread (e.g. from the signal handler) or after io.run() returned.
  void stop();

  std::chrono::milliseconds idle_timeout{std::chrono::seconds(10)};

 private:
  using Socket = asio::local::stream_protocol::socket;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Socket> socket);
  /// The response line for one request line (without newlines); never throws.
  std::string answer(const std::string& line) const;

  asio::io_context& io_;
  std::filesystem::path path_;
  Handler handler_;
  asio::local::stream_protocol::acceptor acceptor_;
  bool stopped_ = false;
  bool started_ = false;
  dev_t device_ = 0;  ///< identity of the socket file we made, so stop() never unlinks another's
  ino_t inode_ = 0;
  std::set<std::shared_ptr<Socket>> connections_;
};

/// Why request() failed.
enum class RequestError {
  NotRunning,        ///< nothing listens there: no socket file, or a stale one (ECONNREFUSED)
  PermissionDenied,  ///< the socket (or a directory on its path) is not ours to use (EACCES, EPERM)
  Failed,            ///< anything else: timeout, no or malformed answer
};

struct RequestFailure {
  RequestError why = RequestError::Failed;
  std::string message;  ///< names the socket ("no sluice gateway is answering on /var/lib/sluice/control.sock: ...")
};

/// Sends one request and returns the gateway's answer (a JSON object), or why there is none: no
/// gateway, no permission, no valid answer. Blocking, with a timeout for the whole exchange. The
/// reason lets `sluice queue` fall back to the spool on disk exactly when no gateway runs.
Result<nlohmann::json, RequestFailure> request(const std::filesystem::path& socket_path, const nlohmann::json& req,
                                               std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace sluice::control
