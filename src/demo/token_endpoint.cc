#include "demo/token_endpoint.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ssl/stream.hpp>
#include <nlohmann/json.hpp>

namespace sluice::demo {
namespace {

/// Entra's shape of an error answer.
HttpReply entra_error(int status, const std::string& error, const std::string& description) {
  return {status, nlohmann::json{{"error", error}, {"error_description", description}}.dump()};
}

/// An opaque access token: 32 random octets, hex.
std::string random_access_token() {
  unsigned char octets[32];
  RAND_bytes(octets, sizeof octets);
  std::string out = "demo.";
  for (unsigned char o : octets) out += fmt::format("{:02x}", o);
  return out;
}

}  // namespace

HttpReply answer_token_request(const HttpRequest& request, const AppRegistration& app, const std::string& new_token,
                               TokenRequestSeen& seen) {
  if (request.method != "POST")
    return entra_error(405, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.");
  if (request.target != app.path)
    return entra_error(404, "invalid_request", fmt::format("AADSTS900561: no token endpoint at {}", request.target));
  auto form = parse_form(request.body);
  if (!form)
    return entra_error(400, "invalid_request", "AADSTS900144: the request body is not a form: " + form.error().message);
  auto field = [&](const char* name) {
    auto it = form->find(name);
    return it == form->end() ? std::string() : it->second;
  };
  seen.grant_type = field("grant_type");
  seen.client_id = field("client_id");
  seen.scope = field("scope");
  seen.secret_matched = form->count("client_secret") && field("client_secret") == app.client_secret;
  if (seen.grant_type != "client_credentials")
    return entra_error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
  if (seen.client_id != app.client_id)
    return entra_error(
        400, "unauthorized_client",
        fmt::format("AADSTS700016: Application with identifier '{}' was not found in the directory.", seen.client_id));
  if (!seen.secret_matched)
    return entra_error(401, "invalid_client",
                       fmt::format("AADSTS7000215: Invalid client secret provided for app '{}'.", app.client_id));
  if (seen.scope.empty())
    return entra_error(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.");
  return {200, nlohmann::json{{"token_type", "Bearer"},
                              {"expires_in", app.token_lifetime_seconds},
                              {"ext_expires_in", app.token_lifetime_seconds},
                              {"access_token", new_token}}
                   .dump()};
}

TokenEndpoint::TokenEndpoint(asio::io_context& io, AppRegistration app, const tls::CertificateFiles& certificate)
    : app_(std::move(app)),
      tls_(asio::ssl::context::tls_server),
      acceptor_(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  tls_.use_certificate_chain_file(certificate.chain.string());
  tls_.use_private_key_file(certificate.key.string(), asio::ssl::context::pem);
  SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(
      io, accept_connections(acceptor_, [this](asio::ip::tcp::socket socket) { return serve(std::move(socket)); }),
      asio::detached);
}

std::string TokenEndpoint::url() const { return fmt::format("https://127.0.0.1:{}{}", port_, app_.path); }

std::vector<TokenRequestSeen> TokenEndpoint::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool TokenEndpoint::issued(const std::string& token) const {
  std::lock_guard lock(mutex_);
  return issued_.count(token) > 0;
}

std::set<std::string> TokenEndpoint::issued_tokens() const {
  std::lock_guard lock(mutex_);
  return issued_;
}

asio::awaitable<void> TokenEndpoint::serve(asio::ip::tcp::socket socket) {
  asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), tls_);
  try {
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    co_await answer_one_request(stream, [&](const HttpRequest& request) {
      std::string token = random_access_token();
      TokenRequestSeen seen;
      HttpReply reply = answer_token_request(request, app_, token, seen);
      seen.status = reply.status;
      std::lock_guard lock(mutex_);
      requests_.push_back(seen);
      if (reply.status == 200) issued_.insert(token);
      return reply;
    });
    co_await stream.async_shutdown(asio::use_awaitable);
  } catch (const std::exception&) {
    // A client that went away mid-request: nothing to answer.
  }
}

}  // namespace sluice::demo
