#include "outbound/http_post.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <system_error>

namespace sluice::outbound {
namespace {

/// A token response is a few kilobytes; more is not an answer worth reading.
constexpr std::size_t kMaxResponseBody = 1 << 20;

/// curl_global_init is not thread-safe against other curl calls: once, before the first request
/// (a function-local static is initialised once, even when two threads get here together).
void init_curl_once() {
  static const CURLcode status = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)status;
}

size_t append_body(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * count > kMaxResponseBody) return 0;  // curl fails with CURLE_WRITE_ERROR
  body->append(data, size * count);
  return size * count;
}

/// What the administrator should look at, in front of curl's own words.
const char* failure_kind(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "could not resolve the host name";
    case CURLE_COULDNT_CONNECT:
      return "could not connect";
    case CURLE_OPERATION_TIMEDOUT:
      return "timed out";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return "TLS certificate verify failed";
    case CURLE_SSL_CONNECT_ERROR:
      return "TLS handshake failed";
    case CURLE_UNSUPPORTED_PROTOCOL:
      return "not an https:// URL";
    case CURLE_WRITE_ERROR:
      return "answer larger than 1 MB";
    default:
      return "request failed";
  }
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

std::string url_encoded_form(CURL* curl, const HttpRequest& request) {
  std::string form;
  for (const auto& [name, value] : request.form) {
    if (!form.empty()) form += '&';
    char* n = curl_easy_escape(curl, name.data(), static_cast<int>(name.size()));
    char* v = curl_easy_escape(curl, value.data(), static_cast<int>(value.size()));
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
  init_curl_once();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return fail("could not start libcurl");
  CURL* c = curl.get();
  const std::string form = url_encoded_form(c, request);
  HttpResponse response;
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");  // a secret never crosses the network in plaintext
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);      // nor is it re-posted to wherever a redirect points
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for timeouts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    std::string detail = error_text[0] ? error_text : curl_easy_strerror(code);
    // curl 7.88 says only "Couldn't connect to server"; the system's reason is what to act on.
    long os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    const std::string reason =
        std::generic_category().message(static_cast<int>(os_errno));  // strerror: not thread-safe
    if (os_errno != 0 && detail.find(reason) == std::string::npos) detail += fmt::format(" ({})", reason);
    return fail(fmt::format("{}: {}", failure_kind(code), detail));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace sluice::outbound
