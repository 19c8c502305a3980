#include "outbound/client_credentials_grant.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/base64.h"
#include "outbound/jwt.h"
#include "outbound/oauth_test_util.h"
#include "tls/certificates.h"

namespace sluice::outbound {
namespace {

using namespace std::chrono_literals;
using namespace test_util;

constexpr char kMicrosoftEndpoint[] = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";

class ClientCredentialsGrantTest : public ::testing::Test {
 protected:
  Result<ClientCredentialsGrant> create(const config::SendAuth& auth) {
    return ClientCredentialsGrant::create(auth, endpoint.post(), clock.function());
  }
  /// The error of one fetch with `answer`, which must fail.
  std::string fetch_error(Result<HttpResponse> answer) {
    endpoint.answers = {std::move(answer)};
    auto grant = create(auth);
    EXPECT_TRUE(grant.ok());
    if (!grant) return grant.error().message;
    auto token = grant->fetch();
    EXPECT_FALSE(token.ok());
    return token ? "" : token.error().message;
  }

  sluice::test_util::TempDir dir{"sluice-oauth"};
  FakeTokenEndpoint endpoint;
  FakeClock clock;
  config::SendAuth auth = secret_auth(dir.path());
};

TEST_F(ClientCredentialsGrantTest, SendsTheClientSecretForm) {
  auth.ca_file = "/etc/test-ca.pem";
  endpoint.answers = {token_answer("token-1", 3599)};
  auto grant = create(auth);
  ASSERT_TRUE(grant.ok()) << grant.error().message;
  auto token = grant->fetch();
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(token->token.value, "token-1");
  EXPECT_EQ(token->token_type, "Bearer");
  EXPECT_EQ(token->lifetime, 3599s);
  ASSERT_EQ(endpoint.requests.size(), 1u);
  const auto& request = endpoint.requests[0];
  EXPECT_EQ(request.url, kMicrosoftEndpoint);
  EXPECT_EQ(request.ca_file, "/etc/test-ca.pem");
  EXPECT_EQ(request.connect_timeout, 10s);
  EXPECT_EQ(request.total_timeout, 30s);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"grant_type", "client_credentials"},
      {"client_id", "11111111-2222-3333-4444-555555555555"},
      {"scope", "https://outlook.office365.com/.default"},
      {"client_secret", kTestSecret}};
  EXPECT_EQ(request.form, expected);
}

TEST_F(ClientCredentialsGrantTest, TokenEndpointSettingReplacesMicrosofts) {
  auth.token_endpoint = "https://127.0.0.1:8443/token";
  auth.tenant.clear();
  auth.scope = "api://mail/.default";
  endpoint.answers = {token_answer("t", 60)};
  auto grant = create(auth);
  ASSERT_TRUE(grant.ok()) << grant.error().message;
  ASSERT_TRUE(grant->fetch().ok());
  EXPECT_EQ(endpoint.requests[0].url, "https://127.0.0.1:8443/token");
  EXPECT_EQ(endpoint.field(0, "scope"), "api://mail/.default");
}

/// The verification Entra ID does: the signature checks out with the certificate's public key,
/// x5t names the certificate, the claims are those RFC 7523 and Microsoft ask for.
TEST_F(ClientCredentialsGrantTest, SendsAClientAssertionSignedWithTheCertificatesKey) {
  auto pairs = tls::ensure_self_signed(dir.path(), "sluice.test");
  const auto& rsa = pairs.at(1);
  auth.client_secret_file.clear();
  auth.client_certificate = rsa.chain;
  auth.client_key = rsa.key;
  endpoint.answers = {token_answer("token-1", 3599)};
  auto grant = create(auth);
  ASSERT_TRUE(grant.ok()) << grant.error().message;
  ASSERT_TRUE(grant->fetch().ok());
  ASSERT_TRUE(grant->fetch().ok());
  EXPECT_EQ(endpoint.field(0, "client_secret"), "(absent)");
  EXPECT_EQ(endpoint.field(0, "grant_type"), "client_credentials");
  EXPECT_EQ(endpoint.field(0, "client_assertion_type"), "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  const std::string assertion = endpoint.field(0, "client_assertion");

  auto jwt = decode_jwt(assertion);
  ASSERT_TRUE(jwt) << assertion;
  FILE* file = std::fopen(rsa.chain.c_str(), "r");
  ASSERT_TRUE(file);
  X509* certificate = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  ASSERT_TRUE(certificate);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  X509_digest(certificate, EVP_sha1(), digest, &length);
  EXPECT_EQ(length, 20u);
  const std::string sha1(reinterpret_cast<char*>(digest), length);
  X509_digest(certificate, EVP_sha256(), digest, &length);
  const std::string sha256(reinterpret_cast<char*>(digest), length);
  EXPECT_EQ(jwt->header["alg"], "RS256");
  EXPECT_EQ(jwt->header["typ"], "JWT");
  EXPECT_EQ(base64url_decode(jwt->header["x5t"].get<std::string>()), sha1);
  EXPECT_EQ(base64url_decode(jwt->header["x5t#S256"].get<std::string>()), sha256);

  const long long now = std::chrono::duration_cast<std::chrono::seconds>(clock.now.time_since_epoch()).count();
  EXPECT_EQ(jwt->claims["aud"], kMicrosoftEndpoint);
  EXPECT_EQ(jwt->claims["iss"], auth.client_id);
  EXPECT_EQ(jwt->claims["sub"], auth.client_id);
  EXPECT_EQ(jwt->claims["iat"], now);
  EXPECT_EQ(jwt->claims["nbf"], now);
  EXPECT_EQ(jwt->claims["exp"], now + 600);
  ASSERT_TRUE(jwt->claims["jti"].is_string());
  EXPECT_GE(jwt->claims["jti"].get<std::string>().size(), 16u);
  auto second = decode_jwt(endpoint.field(1, "client_assertion"));
  ASSERT_TRUE(second);
  EXPECT_NE(second->claims["jti"], jwt->claims["jti"]);  // each assertion is used once

  const auto dot = assertion.rfind('.');
  const std::string signing_input = assertion.substr(0, dot);
  const auto signature = base64url_decode(assertion.substr(dot + 1));
  ASSERT_TRUE(signature);
  EVP_PKEY* public_key = X509_get0_pubkey(certificate);
  auto verify = [&](const std::string& input) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, public_key);
    int ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MD_CTX_free(ctx);
    return ok == 1;
  };
  EXPECT_TRUE(verify(signing_input));
  EXPECT_FALSE(verify(signing_input + "x"));
  X509_free(certificate);
}

TEST_F(ClientCredentialsGrantTest, ClientCertificateProblemsNameTheFile) {
  auto pairs = tls::ensure_self_signed(dir.path(), "sluice.test");
  auth.client_secret_file.clear();
  auth.client_certificate = pairs.at(1).chain;
  auth.client_key = pairs.at(0).key;  // the ECDSA key
  auto grant = create(auth);
  ASSERT_FALSE(grant.ok());
  EXPECT_EQ(grant.error().message, "client_key " + pairs.at(0).key.string() +
                                       ": not an RSA key (Entra ID takes RSA certificates for client assertions)");

  sluice::test_util::TempDir other{"sluice-oauth"};
  auth.client_key = tls::ensure_self_signed(other.path(), "other.test").at(1).key;
  grant = create(auth);
  ASSERT_FALSE(grant.ok());
  EXPECT_EQ(grant.error().message, "client_key " + auth.client_key.string() + " is not the key of client_certificate " +
                                       pairs.at(1).chain.string());

  // Open to the group only is refused too, as the configuration refuses it.
  ::chmod(auth.client_key.c_str(), 0640);
  grant = create(auth);
  ASSERT_FALSE(grant.ok());
  EXPECT_EQ(grant.error().message, "client_key " + auth.client_key.string() +
                                       " has mode 0640: a file holding a secret must not be open to group or "
                                       "others; chmod 600 it");

  auth.client_certificate = dir.path() / "missing.crt";
  grant = create(auth);
  ASSERT_FALSE(grant.ok());
  EXPECT_EQ(grant.error().message, "client_certificate " + auth.client_certificate.string() + ": cannot be read");
}

TEST_F(ClientCredentialsGrantTest, SettingProblemsSayWhatToSet) {
  auto error_of = [&](config::SendAuth a) { return create(a).ok() ? "created" : create(a).error().message; };
  auto a = auth;
  a.tenant.clear();
  EXPECT_EQ(error_of(a), "xoauth2 needs tenant (the Entra ID tenant's name or id) or token_endpoint");
  a = auth;
  a.token_endpoint = "http://login.example/token";
  EXPECT_NE(error_of(a).find("token_endpoint http://login.example/token: not an https:// URL"), std::string::npos);
  a = auth;
  a.client_id.clear();
  EXPECT_NE(error_of(a).find("xoauth2 needs client_id"), std::string::npos);
  a = auth;
  a.client_certificate = "/x.crt";
  EXPECT_EQ(error_of(a), "xoauth2 needs either client_secret_file or client_certificate and client_key (not both)");
  a.client_secret_file.clear();
  EXPECT_EQ(error_of(a), "xoauth2 with a client certificate needs both client_certificate and client_key");
  a = auth;
  a.client_secret_file = dir.path() / "nothing-here";
  EXPECT_EQ(error_of(a),
            "client_secret_file " + a.client_secret_file.string() + " cannot be examined: No such file or directory");
  write_file(a.client_secret_file, "\nsecret on the second line\n");
  EXPECT_EQ(error_of(a), "client_secret_file " + a.client_secret_file.string() +
                             " has an empty first line (it must hold the secret)");
}

TEST_F(ClientCredentialsGrantTest, EndpointErrorsSayWhatToFixOnOneLine) {
  const std::string prefix = std::string("token endpoint ") + kMicrosoftEndpoint + ": ";
  EXPECT_EQ(
      fetch_error(HttpResponse{
          401,
          R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0a1b\r\nCorrelation ID: 2c3d\r\nTimestamp: 2026-12-01 10:00:00Z","error_codes":[7000215]})"}),
      prefix +
          "invalid_client: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
          "request is the client secret value, not the client secret ID. Trace ID: 0a1b Correlation ID: 2c3d "
          "Timestamp: 2026-12-01 10:00:00Z");
  EXPECT_EQ(fetch_error(HttpResponse{400, R"({"error":"invalid_scope"})"}), prefix + "invalid_scope");
  EXPECT_EQ(fetch_error(HttpResponse{500, "<html>Internal Server Error</html>"}),
            prefix + "answered HTTP 500 without a JSON error");
  EXPECT_EQ(fetch_error(HttpResponse{200, "{\"access_token\": "}), prefix + "answered HTTP 200 with malformed JSON");
  EXPECT_EQ(fetch_error(HttpResponse{200, R"({"token_type":"Bearer","expires_in":3599})"}),
            prefix + "answered without an access_token");
  EXPECT_EQ(fetch_error(HttpResponse{200, R"({"access_token":"t","token_type":"mac"})"}),
            prefix + "answered token_type \"mac\", not Bearer (XOAUTH2 sends bearer tokens)");
  EXPECT_EQ(fetch_error(HttpResponse{200, R"({"access_token":"t","expires_in":-5})"}),
            prefix + "answered expires_in -5, not a number of seconds");
  EXPECT_EQ(fetch_error(fail("could not connect: Failed to connect to 127.0.0.1 port 1: Connection refused")),
            prefix + "could not connect: Failed to connect to 127.0.0.1 port 1: Connection refused");
}

TEST_F(ClientCredentialsGrantTest, NoErrorCarriesTheSecret) {
  // An endpoint that quotes what it was sent.
  const std::string echoed = std::string(R"({"error":"invalid_client","error_description":"client_secret=)") +
                             kTestSecret + R"( is not valid"})";
  const std::string error = fetch_error(HttpResponse{401, echoed});
  EXPECT_EQ(error.find(kTestSecret), std::string::npos) << error;
  EXPECT_NE(error.find("client_secret=**** is not valid"), std::string::npos) << error;
  const std::string transport = fetch_error(fail(std::string("TLS handshake failed: ") + kTestSecret));
  EXPECT_EQ(transport.find(kTestSecret), std::string::npos) << transport;
}

TEST_F(ClientCredentialsGrantTest, NoPartOfTheSecretSurvivesTheCutToLength) {
  // The description is cut at 600 characters; here the cut falls inside the echoed secret.
  const std::string echoed =
      R"({"error":"invalid_client","error_description":")" + std::string(590, 'x') + " " + kTestSecret + R"("})";
  const std::string error = fetch_error(HttpResponse{401, echoed});
  EXPECT_EQ(error.find(std::string(kTestSecret).substr(0, 8)), std::string::npos) << error;
  EXPECT_NE(error.find("x ****"), std::string::npos) << error;
}

TEST_F(ClientCredentialsGrantTest, NoErrorCarriesTheSecretAsTheFormSentIt) {
  // An older-style secret with characters a form percent-encodes, quoted back from the request body.
  const std::string secret = "Ab+cd/ef=gh~ij.KL_mn";
  write_file(auth.client_secret_file, secret + "\n");
  const std::string encoded = "Ab%2Bcd%2Fef%3Dgh~ij.KL_mn";
  for (const std::string& quoted : {encoded, std::string("Ab%2bcd%2fef%3dgh~ij.KL_mn")}) {
    const std::string error = fetch_error(HttpResponse{
        400,
        R"({"error":"invalid_request","error_description":"bad body: grant_type=client_credentials&client_secret=)" +
            quoted + R"("})"});
    EXPECT_EQ(error.find(quoted), std::string::npos) << error;
    EXPECT_NE(error.find("client_secret=****"), std::string::npos) << error;
  }
  EXPECT_EQ(mask_credentials("sent " + encoded + " and " + secret, {secret}), "sent **** and ****");
  EXPECT_EQ(mask_credentials("nothing to hide", {secret, ""}), "nothing to hide");
}

TEST_F(ClientCredentialsGrantTest, AcceptsExpiresInAsAStringAndAssumesAnHourWithoutIt) {
  endpoint.answers = {HttpResponse{200, R"({"access_token":"t1","token_type":"bearer","expires_in":"3599"})"},
                      HttpResponse{200, R"({"access_token":"t2"})"}};
  auto grant = create(auth);
  ASSERT_TRUE(grant.ok());
  auto first = grant->fetch();
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->token.expires_at, clock.now + 3599s);
  auto second = grant->fetch();
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->lifetime, 3600s);
}

/// libcurl itself, against a loopback port that is bound but not listening: the connection is
/// refused at once, and the error says so.
TEST(CurlHttpPost, ConnectionRefusedIsNamed) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  HttpRequest request;
  request.url = "https://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/token";
  request.form = {{"client_secret", kTestSecret}};
  auto response = curl_http_post(request);
  ::close(fd);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().message.rfind("could not connect: ", 0), 0u) << response.error().message;
  EXPECT_NE(response.error().message.find("Connection refused"), std::string::npos) << response.error().message;
  EXPECT_EQ(response.error().message.find(kTestSecret), std::string::npos);
}

TEST(CurlHttpPost, RefusesPlainHttp) {
  HttpRequest request;
  request.url = "http://127.0.0.1:1/token";
  auto response = curl_http_post(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().message.rfind("not an https:// URL: ", 0), 0u) << response.error().message;
}

}  // namespace
}  // namespace sluice::outbound
