#include "metrics/admin_server.h"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "base/accept_loop.h"
#include "metrics/text_format.h"

namespace sluice::metrics {
namespace {

HttpResponse http_status_response(int status, std::string reason) {
  HttpResponse response;
  response.status = status;
  response.body = reason + "\n";
  response.reason = std::move(reason);
  response.content_type = "text/plain; charset=utf-8";
  return response;
}

bool header_name_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim_http_whitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

/// True when a header field announces a request body.
bool announces_body(std::string_view fields) {
  while (!fields.empty()) {
    const std::size_t end = fields.find('\n');
    std::string_view line = fields.substr(0, end);
    fields.remove_prefix(end == std::string_view::npos ? fields.size() : end + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim_http_whitespace(line.substr(0, colon)),
                           value = trim_http_whitespace(line.substr(colon + 1));
    if (header_name_equals(name, "transfer-encoding")) return true;
    if (header_name_equals(name, "content-length") && value != "0") return true;
  }
  return false;
}

}  // namespace

HttpResponse admin_answer(std::string_view head, const std::function<std::string()>& metrics_text) {
  const std::size_t line_end = head.find('\n');
  const std::string_view line = trim_http_whitespace(head.substr(0, line_end));
  const std::size_t first = line.find(' '), second = line.rfind(' ');
  if (first == std::string_view::npos || second == first) return http_status_response(400, "Bad Request");
  const std::string_view method = line.substr(0, first), version = line.substr(second + 1);
  std::string_view target = line.substr(first + 1, second - first - 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return http_status_response(400, "Bad Request");
  if (line_end != std::string_view::npos && announces_body(head.substr(line_end + 1)))
    return http_status_response(413, "Content Too Large");
  if (const std::size_t query = target.find('?'); query != std::string_view::npos) target = target.substr(0, query);
  if (target != "/metrics" && target != "/healthz") return http_status_response(404, "Not Found");
  if (method != "GET" && method != "HEAD") {
    HttpResponse response = http_status_response(405, "Method Not Allowed");
    response.allow = "GET, HEAD";
    return response;
  }
  if (target == "/healthz") {
    HttpResponse ok = http_status_response(200, "OK");
    ok.body = "ok\n";
    return ok;
  }
  HttpResponse response;
  response.reason = "OK";
  response.content_type = std::string(kTextContentType);
  response.body = metrics_text();
  return response;
}

std::string serialize(const HttpResponse& response, bool with_body) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", response.status,
                                response.reason, response.content_type, response.body.size());
  if (!response.allow.empty()) out += fmt::format("Allow: {}\r\n", response.allow);
  out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  if (with_body) out += response.body;
  return out;
}

AdminServer::AdminServer(asio::io_context& io, const std::string& host, std::uint16_t port,
                         std::function<std::string()> metrics_text)
    : io_(io), metrics_text_(std::move(metrics_text)), acceptor_(io) {
  std::error_code ec;
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host, ec), port);
  if (!ec) acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    throw std::runtime_error(fmt::format("cannot listen on {}:{} (admin_listen): {}", shown, port, ec.message()));
  }
}

AdminServer::~AdminServer() { stop(); }

asio::ip::tcp::endpoint AdminServer::local_endpoint() const {
  std::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void AdminServer::start() {
  if (started_ || stopped_) return;
  started_ = true;
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

void AdminServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  close_acceptor_and_connections(acceptor_, connections_);
}

asio::awaitable<void> AdminServer::accept_loop() {
  co_await accept_until_stopped(acceptor_, stopped_, "admin listener", [this](Socket socket) {
    // Beyond the limit a connection is closed unanswered: a scraper opens one at a time.
    if (connections_.size() >= kMaxAdminConnections) {
      std::error_code ignored;
      socket.close(ignored);
      return;
    }
    auto shared = std::make_shared<Socket>(std::move(socket));
    connections_.insert(shared);
    asio::co_spawn(io_, serve(shared), asio::detached);
  });
}

asio::awaitable<void> AdminServer::serve(std::shared_ptr<Socket> socket) {
  asio::steady_timer deadline(io_, exchange_timeout);
  close_at_deadline(deadline, socket);
  std::string buffer;
  std::error_code ec;
  const std::size_t length = co_await asio::async_read_until(*socket, asio::dynamic_buffer(buffer, kMaxRequestHead),
                                                             "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
  std::string response;
  if (!ec) {
    const std::string_view head = std::string_view(buffer).substr(0, length);
    const bool head_only = head.rfind("HEAD ", 0) == 0;
    response = serialize(admin_answer(head, metrics_text_), !head_only);
  } else if (ec == asio::error::not_found) {
    response = serialize(http_status_response(431, "Request Header Fields Too Large"), true);
  }
  if (!response.empty()) {
    co_await asio::async_write(*socket, asio::buffer(response), asio::redirect_error(asio::use_awaitable, ec));
    socket->shutdown(asio::socket_base::shutdown_send, ec);
  }
  socket->close(ec);
  deadline.cancel();
  connections_.erase(socket);
}

}  // namespace sluice::metrics
