#include "demo/token_endpoint.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "demo/introspection_endpoint.h"

namespace sluice::demo {
namespace {

const AppRegistration kApp{"/contoso/oauth2/v2.0/token", "client-1", "s3cret~value", 3599};

HttpRequest post(std::string target, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.target = std::move(target);
  request.body = std::move(body);
  return request;
}

TEST(DemoTokenEndpoint, GrantsATokenForTheAppsClientCredentials) {
  TokenRequestSeen seen;
  auto reply = answer_token_request(
      post(kApp.path,
           "grant_type=client_credentials&client_id=client-1&client_secret=s3cret%7Evalue&scope=https%3A%2F%2F"
           "outlook.office365.com%2F.default"),
      kApp, "tok-1", seen);
  EXPECT_EQ(reply.status, 200);
  auto json = nlohmann::json::parse(reply.json);
  EXPECT_EQ(json["access_token"], "tok-1");
  EXPECT_EQ(json["token_type"], "Bearer");
  EXPECT_EQ(json["expires_in"], 3599);
  EXPECT_EQ(seen.grant_type, "client_credentials");
  EXPECT_EQ(seen.client_id, "client-1");
  EXPECT_EQ(seen.scope, "https://outlook.office365.com/.default");
  EXPECT_TRUE(seen.secret_matched);
}

TEST(DemoTokenEndpoint, AnswersEntrasErrors) {
  struct Case {
    std::string target, body;
    int status;
    std::string error;
  };
  const Case cases[] = {
      {kApp.path, "grant_type=client_credentials&client_id=client-1&client_secret=wrong&scope=x", 401,
       "invalid_client"},
      {kApp.path, "grant_type=client_credentials&client_id=client-1&scope=x", 401, "invalid_client"},
      {kApp.path, "grant_type=client_credentials&client_id=other&client_secret=s3cret~value&scope=x", 400,
       "unauthorized_client"},
      {kApp.path, "grant_type=password&client_id=client-1&client_secret=s3cret~value&scope=x", 400,
       "unsupported_grant_type"},
      {kApp.path, "grant_type=client_credentials&client_id=client-1&client_secret=s3cret~value", 400, "invalid_scope"},
      {kApp.path, "grant_type=%zz", 400, "invalid_request"},
      {"/other/oauth2/v2.0/token", "grant_type=client_credentials", 404, "invalid_request"},
  };
  for (const auto& c : cases) {
    TokenRequestSeen seen;
    auto reply = answer_token_request(post(c.target, c.body), kApp, "tok", seen);
    EXPECT_EQ(reply.status, c.status) << c.body;
    EXPECT_EQ(nlohmann::json::parse(reply.json)["error"], c.error) << c.body;
    EXPECT_EQ(reply.json.find("\"tok\""), std::string::npos) << c.body;
  }
  TokenRequestSeen seen;
  HttpRequest get = post(kApp.path, "");
  get.method = "GET";
  EXPECT_EQ(answer_token_request(get, kApp, "tok", seen).status, 405);
}

TEST(DemoTokenEndpoint, RecordsTheWrongSecretOnlyAsNotMatching) {
  TokenRequestSeen seen;
  answer_token_request(post(kApp.path, "grant_type=client_credentials&client_id=client-1&client_secret=guess"), kApp,
                       "tok", seen);
  EXPECT_FALSE(seen.secret_matched);
  EXPECT_EQ(seen.client_id, "client-1");
}

TEST(DemoIntrospection, ActiveWithTheOwnerForAKnownToken) {
  TokenOwner owner = [](const std::string& token) {
    return token == "tok-1" ? std::optional<std::string>("app@contoso.test") : std::nullopt;
  };
  std::string asked;
  auto reply = answer_introspection(post("/introspect", "token=tok-1"), owner, asked);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(asked, "tok-1");
  auto json = nlohmann::json::parse(reply.json);
  EXPECT_EQ(json["active"], "true");  // text: Dovecot compares active_value as a string
  EXPECT_EQ(json["username"], "app@contoso.test");

  reply = answer_introspection(post("/introspect", "token=revoked"), owner, asked);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(asked, "revoked");
  EXPECT_EQ(nlohmann::json::parse(reply.json), nlohmann::json::parse(R"({"active":"false"})"));
}

TEST(DemoIntrospection, RefusesARequestWithoutAToken) {
  TokenOwner owner = [](const std::string&) { return std::optional<std::string>("anyone"); };
  std::string asked = "stale";
  EXPECT_EQ(answer_introspection(post("/introspect", "client_id=x"), owner, asked).status, 400);
  EXPECT_EQ(asked, "");
  EXPECT_EQ(answer_introspection(post("/introspect", "token=%g1"), owner, asked).status, 400);
  HttpRequest get = post("/introspect", "token=tok-1");
  get.method = "GET";
  EXPECT_EQ(answer_introspection(get, owner, asked).status, 405);
}

}  // namespace
}  // namespace sluice::demo
