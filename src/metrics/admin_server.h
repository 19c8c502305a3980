// The admin listener (admin_listen): a small HTTP/1.1 server for a Prometheus scraper and a health
// check. GET /metrics answers the text exposition format, GET /healthz "ok"; anything else 404 or
// 405. It is not a web server: one request per connection (Connection: close), a request head of
// at most kMaxRequestHead bytes and no body, one deadline for the whole exchange, and at most
// kMaxAdminConnections at once, so that a client cannot hold the network thread or its memory.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace sluice::metrics {

inline constexpr std::size_t kMaxRequestHead = 8 * 1024;
inline constexpr std::size_t kMaxAdminConnections = 16;

struct HttpResponse {
  int status = 200;
  std::string reason;  ///< "OK", "Not Found", ...
  std::string content_type;
  std::string body;
  std::string allow;  ///< the Allow header of a 405
};

/// What the admin listener answers to a request head (the request line and header fields, up to
/// and including the empty line). `metrics_text` is called for GET /metrics only. HEAD is answered
/// as GET without the body; a request with a body (Content-Length other than 0, or
/// Transfer-Encoding) gets 413.
HttpResponse admin_answer(std::string_view head, const std::function<std::string()>& metrics_text);

/// The response as bytes on the wire (HTTP/1.1, Content-Length, Connection: close); `with_body`
/// false for HEAD.
std::string serialize(const HttpResponse& response, bool with_body);

/// Runs on `io`'s thread: metrics_text is called there, so it may read the delivery engine's state.
/// Must outlive io.run().
class AdminServer {
 public:
  /// Binds and listens on a numeric `host` ("127.0.0.1", "::1"; port 0: any free port); throws
  /// std::runtime_error "cannot listen on ADDR:PORT (admin_listen): reason".
  AdminServer(asio::io_context& io, const std::string& host, std::uint16_t port,
              std::function<std::string()> metrics_text);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  void start();
  /// Closes the listener and every open connection. On io's thread, or after io.run() returned.
  void stop();
  asio::ip::tcp::endpoint local_endpoint() const;

  /// For the whole exchange: reading the request, writing the answer.
  std::chrono::milliseconds exchange_timeout{std::chrono::seconds(10)};

 private:
  using Socket = asio::ip::tcp::socket;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Socket> socket);

  asio::io_context& io_;
  std::function<std::string()> metrics_text_;
  asio::ip::tcp::acceptor acceptor_;
  std::set<std::shared_ptr<Socket>> connections_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace sluice::metrics
