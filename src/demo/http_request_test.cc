#include "demo/http_request.h"

#include <gtest/gtest.h>

namespace sluice::demo {
namespace {

const std::string kTokenRequest =
    "POST /contoso/oauth2/v2.0/token HTTP/1.1\r\n"
    "Host: 127.0.0.1:4443\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n"
    "content-length:  29 \r\n"
    "\r\n"
    "grant_type=client_credentials";

TEST(DemoHttpRequest, ParsesMethodTargetHeadersAndBody) {
  auto parsed = parse_http_request(kTokenRequest);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE(parsed->has_value());
  const HttpRequest& request = **parsed;
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/contoso/oauth2/v2.0/token");
  EXPECT_EQ(request.headers.at("host"), "127.0.0.1:4443");
  EXPECT_EQ(request.headers.at("content-length"), "29");
  EXPECT_EQ(request.body, "grant_type=client_credentials");
}

TEST(DemoHttpRequest, IncompleteUntilTheHeadAndEveryBodyOctetArrived) {
  for (std::size_t cut :
       {std::size_t{0}, std::size_t{10}, kTokenRequest.find("\r\n\r\n") + 2, kTokenRequest.size() - 1}) {
    auto parsed = parse_http_request(std::string_view(kTokenRequest).substr(0, cut));
    ASSERT_TRUE(parsed.ok()) << cut;
    EXPECT_FALSE(parsed->has_value()) << cut;
  }
}

TEST(DemoHttpRequest, WithoutContentLengthTheBodyIsEmpty) {
  auto parsed = parse_http_request("GET /introspect HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ((*parsed)->method, "GET");
  EXPECT_EQ((*parsed)->body, "");
}

TEST(DemoHttpRequest, RefusesWhatItCannotFrame) {
  const char* bad[] = {
      "POST\r\n\r\n",                                                     // no target, no version
      "POST /token SMTP/1.0\r\n\r\n",                                     // not HTTP
      "POST token HTTP/1.1\r\n\r\n",                                      // not an origin-form target
      "POST /token HTTP/1.1\r\nno colon here\r\n\r\n",                    // bad header line
      "POST /token HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",              // bad length
      "POST /token HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",         // too large
      "POST /token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n",  // chunked
  };
  for (const char* request : bad) EXPECT_FALSE(parse_http_request(request).ok()) << request;
  EXPECT_FALSE(parse_http_request(std::string(kMaxHttpRequest + 1, 'x')).ok());
}

TEST(DemoHttpForm, DecodesPlusAndPercentEscapes) {
  auto form = parse_form("scope=https%3A%2F%2Foutlook.office365.com%2F.default&client_secret=a+b%7Ec&empty=&flag");
  ASSERT_TRUE(form.ok()) << form.error().message;
  EXPECT_EQ(form->at("scope"), "https://outlook.office365.com/.default");
  EXPECT_EQ(form->at("client_secret"), "a b~c");
  EXPECT_EQ(form->at("empty"), "");
  EXPECT_EQ(form->at("flag"), "");
  EXPECT_EQ(form->size(), 4u);
}

TEST(DemoHttpForm, TheFirstOfRepeatedNamesWins) {
  auto form = parse_form("token=first&token=second");
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(form->at("token"), "first");
}

TEST(DemoHttpForm, RefusesBadEscapes) {
  for (const char* body : {"a=%4", "a=%zz", "a%=1", "a=100%"}) EXPECT_FALSE(parse_form(body).ok()) << body;
}

TEST(DemoHttpResponse, JsonWithLengthAndClose) {
  EXPECT_EQ(http_response({401, R"({"error":"invalid_client"})"}),
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 26\r\n"
            "Connection: close\r\n\r\n{\"error\":\"invalid_client\"}");
}

}  // namespace
}  // namespace sluice::demo
