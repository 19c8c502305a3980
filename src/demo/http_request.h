// The little HTTP/1.1 the demo's two loopback servers need (the OAuth token endpoint and the
// token introspection endpoint of its "Exchange Online"): one request a connection, its body
// framed by Content-Length, an HTML-form body, a JSON answer, then the connection closes.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace sluice::demo {

struct HttpRequest {
  std::string method;                          ///< "POST"
  std::string target;                          ///< "/contoso.test/oauth2/v2.0/token"
  std::map<std::string, std::string> headers;  ///< names lower-cased, values trimmed
  std::string body;
};

/// A request larger than this (head and body) is refused: the demo's clients send a few hundred octets.
inline constexpr std::size_t kMaxHttpRequest = 64 * 1024;

/// One request from the start of `data`: nullopt while it is incomplete (the head or the
/// Content-Length octets of body not all there yet); an error for a malformed head, a body
/// without Content-Length framing (chunked), or more than kMaxHttpRequest octets.
Result<std::optional<HttpRequest>> parse_http_request(std::string_view data);

/// An application/x-www-form-urlencoded body as name -> value (`+` is a space, %XX decoded; the
/// first of repeated names wins); an error for a bad %-escape.
Result<std::map<std::string, std::string>> parse_form(std::string_view body);

struct HttpReply {
  int status = 200;
  std::string json;  ///< the body, application/json
};
/// The whole response, with Connection: close.
std::string http_response(const HttpReply& reply);

/// Reads one request from `stream`, answers it with `handler`'s reply (400 with a JSON error for a
/// request that does not parse), and returns; the caller closes the connection.
template <typename Stream>
asio::awaitable<void> answer_one_request(Stream& stream, const std::function<HttpReply(const HttpRequest&)>& handler) {
  std::string data;
  char chunk[4096];
  for (;;) {
    auto parsed = parse_http_request(data);
    if (!parsed || *parsed) {
      HttpReply reply = parsed ? handler(**parsed) : HttpReply{400, R"({"error":"invalid_request"})"};
      co_await asio::async_write(stream, asio::buffer(http_response(reply)), asio::use_awaitable);
      co_return;
    }
    std::size_t n = co_await stream.async_read_some(asio::buffer(chunk), asio::use_awaitable);
    data.append(chunk, n);
  }
}

/// Accepts connections on `acceptor` until it closes, each served by a coroutine of its own,
/// `serve(socket)`.
template <typename Serve>
asio::awaitable<void> accept_connections(asio::ip::tcp::acceptor& acceptor, Serve serve) {
  for (;;) {
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
  }
}

}  // namespace sluice::demo
