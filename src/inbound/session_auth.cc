// SMTP AUTH in the inbound session (RFC 4954; PLAIN, RFC 4616; LOGIN, as Outlook and devices
// speak it): the exchange, its replies, and what is logged of it, which is never a secret
// (docs/security.md, docs/relay-for-devices.md).
#include <fmt/format.h>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

#include "base/logging.h"
#include "base/secret_file.h"
#include "base/text.h"
#include "inbound/sasl_responses.h"
#include "inbound/session.h"

namespace sluice::inbound {

using asio::awaitable;
using smtp::Command;

namespace {

constexpr std::size_t kMaxLoggedUser = 64;

/// A SASL mechanism name's syntax (RFC 4422 3.1): 1 to 20 of A-Z, 0-9, '-', '_' (either case here).
bool is_mechanism_name(std::string_view word) {
  return !word.empty() && word.size() <= 20 && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

/// A client-chosen user name as the logs show it: printable ASCII without quotes or backslashes
/// (others become '?'), at most 64 characters, so that it can neither forge a log line nor stop
/// a fail2ban pattern from finding the address.
std::string loggable_user(std::string_view name) {
  std::string out;
  for (unsigned char c : name.substr(0, kMaxLoggedUser))
    out += c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? static_cast<char>(c) : '?';
  if (name.size() > kMaxLoggedUser) out += "...";
  return out;
}

/// The connector's mechanisms as SMTP names ("PLAIN"), joined: "PLAIN LOGIN" with " ", "PLAIN and
/// LOGIN" with " and ".
std::string mechanism_list(const std::vector<config::ReceiveAuthMechanism>& mechanisms, std::string_view separator) {
  std::string out;
  for (const config::ReceiveAuthMechanism m : mechanisms) {
    if (!out.empty()) out += separator;
    out += ascii_upper(config::receive_auth_mechanism_name(m));
  }
  return out;
}

}  // namespace

bool Session::offers_auth() const {
  return connector_.auth && (connection_.tls_active() || connector_.allow_plaintext_auth);
}

std::string Session::auth_ehlo_keyword() const { return "AUTH " + mechanism_list(connector_.auth_mechanisms, " "); }

std::size_t Session::command_line_limit() const {
  const std::size_t limit = services_.config->limits.max_command_line;
  return connector_.auth ? std::max(limit, kMaxAuthLine) : limit;
}

std::string Session::auth_log_text(const Command& command) {
  const std::string_view argument = command.argument;
  const std::size_t space = argument.find(' ');
  const std::string_view mechanism = argument.substr(0, space);
  std::string text = command.verb_text;
  if (!mechanism.empty()) text += " " + (is_mechanism_name(mechanism) ? std::string(mechanism) : std::string("****"));
  if (space != std::string_view::npos) text += " ****";
  return text;
}

awaitable<void> Session::on_auth(const Command& command) {
  const std::string_view argument = command.argument;
  const std::size_t space = argument.find(' ');
  const std::string word = ascii_lower(argument.substr(0, space));
  // Only what this connector offers: a mechanism sluice knows but the connector leaves out (LOGIN
  // only for an old device) is as unknown here as any other.
  const auto& offered = connector_.auth_mechanisms;
  const auto chosen = std::find_if(offered.begin(), offered.end(), [&](config::ReceiveAuthMechanism m) {
    return config::receive_auth_mechanism_name(m) == word;
  });
  if (chosen == offered.end()) {
    reply(
        504, "5.5.4",
        fmt::format("Unrecognized authentication mechanism; this server offers {}", mechanism_list(offered, " and ")));
    co_return;
  }
  const std::string mechanism = ascii_upper(word);
  if (!connection_.tls_active() && !connector_.allow_plaintext_auth) {
    reply(538, "5.7.11", "Encryption required for requested authentication mechanism");
    co_return;
  }
  const bool has_initial = space != std::string_view::npos;
  const std::string_view initial = has_initial ? argument.substr(space + 1) : std::string_view();
  if (initial.find(' ') != std::string_view::npos) {
    reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
    co_return;
  }

  std::string user, password;
  if (*chosen == config::ReceiveAuthMechanism::Plain) {
    auto message = co_await first_auth_response(has_initial ? &initial : nullptr, "");
    if (!message) co_return;
    auto credentials = parse_plain(*message);
    wipe_secret(*message);
    if (!credentials) {
      reply(credentials.error());
      co_return;
    }
    user = std::move(credentials->user);
    password = std::move(credentials->password);
    // Acting as someone else (an authorization identity of another user) is not offered.
    if (!credentials->authorization.empty() && credentials->authorization != user) {
      wipe_secret(password);
      co_await auth_failed(mechanism, user);
      co_return;
    }
  } else {
    auto name = co_await first_auth_response(has_initial ? &initial : nullptr, "VXNlcm5hbWU6");  // "Username:"
    if (!name) co_return;
    user = std::move(*name);
    auto response = co_await auth_response("UGFzc3dvcmQ6");  // "Password:"
    if (!response) co_return;
    password = std::move(*response);
  }

  std::shared_ptr<const auth::User> found;
  if (services_.authenticator) found = co_await services_.authenticator->verify(user, password, services_.disk);
  wipe_secret(password);
  if (!found) {
    co_await auth_failed(mechanism, user);
    co_return;
  }
  user_ = std::move(found);
  if (services_.auth_penalty) services_.auth_penalty->succeeded(client_);
  log_.info_value(loggable_user(user_->name), "authenticated");
  reply(235, "2.7.0", "Authentication successful");
}

awaitable<std::optional<std::string>> Session::first_auth_response(const std::string_view* initial,
                                                                   std::string_view challenge) {
  if (initial == nullptr) co_return co_await auth_response(challenge);
  auto decoded = decode_sasl_response(*initial, true);
  if (!decoded) {
    reply(decoded.error());
    co_return std::nullopt;
  }
  co_return std::move(*decoded);
}

awaitable<std::optional<std::string>> Session::auth_response(std::string_view challenge) {
  const auto& config = *services_.config;
  // "334 " and the challenge: RFC 4954 4 wants the space even when the challenge is empty.
  const std::string line_out = fmt::format("334 {}", challenge);
  log_.sent(line_out);
  connection_.queue(line_out + "\r\n");
  connection_.set_timeout(config.limits.command_timeout);
  if (!co_await connection_.send()) {
    closing_ = true;
    co_return std::nullopt;
  }
  interruptible_ = true;
  auto line = co_await connection_.read_line(kMaxAuthLine);
  interruptible_ = false;
  if (!line) {
    end_interrupted_exchange(line.error().interrupt, "Timeout waiting for an AUTH response",
                             "Connection lost during AUTH");
    co_return std::nullopt;
  }
  // The response is a secret, whatever it looks like.
  log_.received(line->too_long ? "<AUTH response too long>" : "****");
  if (line->too_long) {
    reply(500, "5.5.6", fmt::format("Authentication exchange line is too long (the limit is {} octets)", kMaxAuthLine));
    co_return std::nullopt;
  }
  auto decoded = decode_sasl_response(line->text, false);
  if (!decoded) {
    reply(decoded.error());
    co_return std::nullopt;
  }
  co_return std::move(*decoded);
}

awaitable<void> Session::auth_failed(std::string_view mechanism, const std::string& user) {
  ++auth_failures_;
  metrics::auth_failure(connector_.name, mechanism);
  const std::string shown_user = loggable_user(user);
  // One line per failure, in a fixed form fail2ban can match (docs/relay-for-devices.md): the
  // address first, so that nothing the client chose can come before it.
  log_warning("SMTP AUTH failed: client [{}] connector \"{}\" mechanism {} user \"{}\"", client_.to_string(),
              loggable_user(connector_.name), mechanism, shown_user);
  log_.info_value(shown_user, fmt::format("Inbound AUTH {} failed because of LogonDenied", mechanism));
  const auto delay = services_.auth_penalty ? services_.auth_penalty->failed(client_) : std::chrono::milliseconds(0);
  if (delay.count() > 0) {
    // Other sessions go on meanwhile: only this one waits.
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    std::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  reply(535, "5.7.8", "Authentication credentials invalid");
  if (auth_failures_ >= connector_.max_auth_failures)
    reply_and_close(smtp::make_reply(
        421, "4.7.0", services_.config->hostname + " Too many authentication failures, closing connection"));
}

}  // namespace sluice::inbound
