#include "outbound/client_credentials_grant.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>

#include "base/secret_file.h"
#include "base/text.h"

namespace sluice::outbound {
namespace {

/// Entra's error_description runs over several lines (the AADSTS text, then Trace ID, Correlation
/// ID, Timestamp); a queue's last error is one line. Keeps it readable and bounded.
std::string one_line(std::string_view text, std::size_t max_length = 600) {
  std::string out;
  for (char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c));
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > max_length) out = out.substr(0, max_length) + "...";
  return out;
}

/// `value` percent-encoded as libcurl encodes a form value: unreserved characters kept.
std::string percent_encoded(std::string_view value, bool upper) {
  static constexpr char kUpper[] = "0123456789ABCDEF";
  static constexpr char kLower[] = "0123456789abcdef";
  const char* digits = upper ? kUpper : kLower;
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

void replace_all(std::string& text, const std::string& what, std::string_view with) {
  if (what.empty()) return;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
}

/// expires_in is a number in RFC 6749; some endpoints send it as a string.
std::optional<long long> seconds_field(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<long long>();
  if (value.is_number_float()) return static_cast<long long>(value.get<double>());
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    long long parsed = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec == std::errc() && end == text.data() + text.size()) return parsed;
  }
  return std::nullopt;
}

/// RFC 6749 says expires_in is RECOMMENDED; without it, assume the common hour.
constexpr std::chrono::seconds kAssumedLifetime{3600};
/// Ten years: an expires_in past this is nonsense, and would overflow the clock.
constexpr long long kMaxLifetime = 10LL * 365 * 24 * 3600;

}  // namespace

std::string token_endpoint_of(const config::SendAuth& auth) {
  if (!auth.token_endpoint.empty()) return auth.token_endpoint;
  return fmt::format("https://login.microsoftonline.com/{}/oauth2/v2.0/token", auth.tenant);
}

std::string mask_credentials(std::string text, const std::vector<std::string>& credentials) {
  for (const std::string& credential : credentials) {
    replace_all(text, credential, "****");
    replace_all(text, percent_encoded(credential, true), "****");
    replace_all(text, percent_encoded(credential, false), "****");
  }
  return text;
}

Result<TokenGrant> parse_token_response(const HttpResponse& response, std::chrono::system_clock::time_point now,
                                        const std::vector<std::string>& credentials) {
  const auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  const bool success = response.status >= 200 && response.status < 300;
  if (json.is_object() && json.contains("error")) {
    // Masked before one_line cuts it: a credential cut in two would no longer be found whole.
    auto shown = [&](const nlohmann::json& field) {
      return one_line(mask_credentials(field.is_string() ? field.get<std::string>() : field.dump(), credentials));
    };
    std::string text = shown(json["error"]);
    if (auto d = json.find("error_description"); d != json.end() && d->is_string()) text += ": " + shown(*d);
    return fail(text);
  }
  if (!success) return fail(fmt::format("answered HTTP {} without a JSON error", response.status));
  if (!json.is_object()) return fail(fmt::format("answered HTTP {} with malformed JSON", response.status));
  auto token = json.find("access_token");
  if (token == json.end() || !token->is_string() || token->get_ref<const std::string&>().empty())
    return fail("answered without an access_token");
  TokenGrant grant;
  grant.token_type = "Bearer";
  if (auto type = json.find("token_type"); type != json.end()) {
    if (!type->is_string() || ascii_lower(type->get_ref<const std::string&>()) != "bearer")
      return fail(
          fmt::format("answered token_type {}, not Bearer (XOAUTH2 sends bearer tokens)", one_line(type->dump())));
    grant.token_type = type->get<std::string>();
  }
  grant.lifetime = kAssumedLifetime;
  if (auto expires = json.find("expires_in"); expires != json.end()) {
    auto seconds = seconds_field(*expires);
    if (!seconds || *seconds <= 0 || *seconds > kMaxLifetime)
      return fail(fmt::format("answered expires_in {}, not a number of seconds", one_line(expires->dump())));
    grant.lifetime = std::chrono::seconds(*seconds);
  }
  grant.token.value = token->get<std::string>();
  grant.token.expires_at = now + grant.lifetime;
  return grant;
}

Result<ClientCredentialsGrant> ClientCredentialsGrant::create(const config::SendAuth& auth, HttpPost post,
                                                              SystemClock clock) {
  ClientCredentialsGrant grant;
  if (auth.token_endpoint.empty() && auth.tenant.empty())
    return fail("xoauth2 needs tenant (the Entra ID tenant's name or id) or token_endpoint");
  grant.endpoint_ = token_endpoint_of(auth);
  if (grant.endpoint_.rfind("https://", 0) != 0)
    return fail(
        fmt::format("token_endpoint {}: not an https:// URL (the client credential must not travel in "
                    "plaintext)",
                    grant.endpoint_));
  if (auth.client_id.empty())
    return fail("xoauth2 needs client_id (the application (client) id of the app registration)");
  if (auth.scope.empty())
    return fail("xoauth2 needs a scope (https://outlook.office365.com/.default for Exchange Online)");
  const bool secret = !auth.client_secret_file.empty();
  const bool certificate = !auth.client_certificate.empty() || !auth.client_key.empty();
  if (secret == certificate)
    return fail("xoauth2 needs either client_secret_file or client_certificate and client_key (not both)");
  if (secret) {
    auto value = read_secret_file(auth.client_secret_file, "client_secret_file");
    if (!value) return fail(value.error());
    grant.client_secret_ = std::move(*value);
  } else {
    if (auth.client_certificate.empty() || auth.client_key.empty())
      return fail("xoauth2 with a client certificate needs both client_certificate and client_key");
    auto loaded = ClientCertificate::load(auth.client_certificate, auth.client_key);
    if (!loaded) return fail(loaded.error());
    grant.certificate_ = std::move(*loaded);
  }
  grant.client_id_ = auth.client_id;
  grant.scope_ = auth.scope;
  grant.ca_file_ = auth.ca_file;
  grant.post_ = std::move(post);
  grant.clock_ = clock ? std::move(clock) : SystemClock([] { return std::chrono::system_clock::now(); });
  return grant;
}

Result<HttpRequest> ClientCredentialsGrant::request() const {
  HttpRequest request;
  request.url = endpoint_;
  request.ca_file = ca_file_;
  request.form = {{"grant_type", "client_credentials"}, {"client_id", client_id_}, {"scope", scope_}};
  if (certificate_) {
    auto assertion = certificate_->assertion(client_id_, endpoint_, clock_());
    if (!assertion) return fail(assertion.error());
    request.form.emplace_back("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    request.form.emplace_back("client_assertion", std::move(*assertion));
  } else {
    request.form.emplace_back("client_secret", client_secret_);
  }
  return request;
}

std::vector<std::string> ClientCredentialsGrant::credentials_of(const HttpRequest& request) {
  std::vector<std::string> out;
  for (const auto& [name, value] : request.form)
    if (name == "client_secret" || name == "client_assertion") out.push_back(value);
  return out;
}

Result<TokenGrant> ClientCredentialsGrant::fetch() const {
  auto request = this->request();
  if (!request) return fail(fmt::format("token endpoint {}: {}", endpoint_, request.error().message));
  // An endpoint (or a proxy in front of it) may quote what it was sent; what it quotes must not
  // carry the credential on into logs, the queue and bounces.
  const std::vector<std::string> credentials = credentials_of(*request);
  auto response = post_(*request);
  if (!response)
    return fail(
        fmt::format("token endpoint {}: {}", endpoint_, mask_credentials(response.error().message, credentials)));
  auto grant = parse_token_response(*response, clock_(), credentials);
  if (!grant) return fail(fmt::format("token endpoint {}: {}", endpoint_, grant.error().message));
  return grant;
}

}  // namespace sluice::outbound
