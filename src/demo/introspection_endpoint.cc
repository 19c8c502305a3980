#include "demo/introspection_endpoint.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <nlohmann/json.hpp>

namespace sluice::demo {

HttpReply answer_introspection(const HttpRequest& request, const TokenOwner& owner_of, std::string& token) {
  token.clear();
  if (request.method != "POST") return {405, R"({"error":"invalid_request"})"};
  auto form = parse_form(request.body);
  if (!form || !form->count("token")) return {400, R"({"error":"invalid_request"})"};
  token = form->at("token");
  auto owner = owner_of(token);
  // Dovecot compares active_attribute with active_value as text: "true", not JSON true.
  if (!owner) return {200, R"({"active":"false"})"};
  return {200, nlohmann::json{{"active", "true"}, {"username", *owner}}.dump()};
}

IntrospectionEndpoint::IntrospectionEndpoint(asio::io_context& io, TokenOwner owner_of)
    : owner_of_(std::move(owner_of)), acceptor_(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  asio::co_spawn(
      io, accept_connections(acceptor_, [this](asio::ip::tcp::socket socket) { return serve(std::move(socket)); }),
      asio::detached);
}

std::string IntrospectionEndpoint::url() const {
  return fmt::format("http://127.0.0.1:{}/introspect", acceptor_.local_endpoint().port());
}

int IntrospectionEndpoint::active_answers() const {
  std::lock_guard lock(mutex_);
  return active_answers_;
}

asio::awaitable<void> IntrospectionEndpoint::serve(asio::ip::tcp::socket socket) {
  try {
    co_await answer_one_request(socket, [&](const HttpRequest& request) {
      std::string token;
      // Counted where the owner is looked up: a token with an owner is the active answer.
      auto counting_owner_of = [this](const std::string& asked) {
        auto owner = owner_of_(asked);
        if (owner) {
          std::lock_guard lock(mutex_);
          ++active_answers_;
        }
        return owner;
      };
      return answer_introspection(request, counting_owner_of, token);
    });
    socket.shutdown(asio::ip::tcp::socket::shutdown_send);
  } catch (const std::exception&) {
    // A client that went away mid-request: nothing to answer.
  }
}

}  // namespace sluice::demo
