#include "outbound/http_post.h"

#include <curl/curl.h>

#include "net/https_fetch.h"

namespace sluice::outbound {
namespace {

/// A token response is a few kilobytes; more is not an answer worth reading.
constexpr std::size_t kMaxResponseBody = 1 << 20;

// curl_easy_escape needs no handle since curl 7.82 (Debian 12 has 7.88): none is made here, so
// that curl_global_init stays https_request's, before any handle.
std::string url_encoded_form(const HttpRequest& request) {
  std::string form;
  for (const auto& [name, value] : request.form) {
    if (!form.empty()) form += '&';
    char* n = curl_easy_escape(nullptr, name.data(), static_cast<int>(name.size()));
    char* v = curl_easy_escape(nullptr, value.data(), static_cast<int>(value.size()));
    form += n;
    form += '=';
    form += v;
    curl_free(n);
    curl_free(v);
  }
  return form;
}

}  // namespace

Result<HttpResponse> curl_http_post(const HttpRequest& request) {
  net::HttpsRequest https;
  https.url = request.url;
  https.post_body = url_encoded_form(request);
  https.post_content_type = "application/x-www-form-urlencoded";
  https.ca_file = request.ca_file;
  https.connect_timeout = request.connect_timeout;
  https.total_timeout = request.total_timeout;
  https.max_body = kMaxResponseBody;
  auto answer = net::https_request(https);
  if (!answer) return fail(std::move(answer.error().message));
  return HttpResponse{answer->status, std::move(answer->body)};
}

}  // namespace sluice::outbound
