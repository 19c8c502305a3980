#include "net/https_fetch.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <system_error>

namespace sluice::net {
namespace {

/// curl_global_init is not thread-safe against other curl calls: once, before the first request
/// (a function-local static is initialised once, even when two threads get here together).
void init_curl_once() {
  static const CURLcode status = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)status;
}

struct BodySink {
  std::string* body;
  std::size_t limit;
  bool too_large = false;
};

size_t append_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  if (sink->body->size() + size * count > sink->limit) {
    sink->too_large = true;
    return 0;  // curl fails with CURLE_WRITE_ERROR
  }
  sink->body->append(data, size * count);
  return size * count;
}

HttpsFailure::Kind kind_of(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return HttpsFailure::Kind::Resolve;
    case CURLE_COULDNT_CONNECT:
      return HttpsFailure::Kind::Connect;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpsFailure::Kind::Timeout;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return HttpsFailure::Kind::Certificate;
    case CURLE_SSL_CONNECT_ERROR:
      return HttpsFailure::Kind::Tls;
    case CURLE_UNSUPPORTED_PROTOCOL:
      return HttpsFailure::Kind::NotHttps;
    default:
      return HttpsFailure::Kind::Other;
  }
}

/// What the administrator should look at, in front of curl's own words.
std::string kind_text(HttpsFailure::Kind kind, std::size_t max_body) {
  switch (kind) {
    case HttpsFailure::Kind::Resolve:
      return "could not resolve the host name";
    case HttpsFailure::Kind::Connect:
      return "could not connect";
    case HttpsFailure::Kind::Timeout:
      return "timed out";
    case HttpsFailure::Kind::Certificate:
      return "TLS certificate verify failed";
    case HttpsFailure::Kind::Tls:
      return "TLS handshake failed";
    case HttpsFailure::Kind::NotHttps:
      return "not an https:// URL";
    case HttpsFailure::Kind::TooLarge:
      if (max_body % (1 << 20) == 0) return fmt::format("answer larger than {} MB", max_body >> 20);
      if (max_body % 1024 == 0) return fmt::format("answer larger than {} KiB", max_body >> 10);
      return fmt::format("answer larger than {} bytes", max_body);
    case HttpsFailure::Kind::Other:
      break;
  }
  return "request failed";
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

/// "host:port:addr1,[v6addr]" for CURLOPT_RESOLVE; empty when the URL has no host.
std::string resolve_entry(const HttpsRequest& request) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), curl_url_cleanup);
  if (!url || curl_url_set(url.get(), CURLUPART_URL, request.url.c_str(), 0) != CURLUE_OK) return "";
  char* host = nullptr;
  char* port = nullptr;
  std::string entry;
  if (curl_url_get(url.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(url.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    entry = fmt::format("{}:{}:", host, port);
    for (std::size_t i = 0; i < request.addresses.size(); ++i) {
      const auto& a = request.addresses[i];
      entry += (i ? "," : "") + (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string());
    }
  }
  curl_free(host);
  curl_free(port);
  return entry;
}

}  // namespace

Result<HttpsResponse, HttpsFailure> https_request(const HttpsRequest& request) {
  init_curl_once();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return fail(HttpsFailure{HttpsFailure::Kind::Other, "could not start libcurl"});
  CURL* c = curl.get();
  HttpsResponse response;
  BodySink sink{&response.body, request.max_body};
  char error_text[CURL_ERROR_SIZE] = {};
  std::unique_ptr<curl_slist, SlistDeleter> resolve, headers;
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");  // a secret or a policy never crosses in plaintext
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);      // a redirect is an answer, not followed (RFC 8461 3.3)
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for timeouts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  if (!request.addresses.empty()) {
    const std::string entry = resolve_entry(request);
    if (entry.empty()) return fail(HttpsFailure{HttpsFailure::Kind::NotHttps, "malformed URL " + request.url});
    resolve.reset(curl_slist_append(nullptr, entry.c_str()));
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  }
  if (request.post_body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.post_body->c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.post_body->size()));
    if (!request.post_content_type.empty()) {
      headers.reset(curl_slist_append(nullptr, ("Content-Type: " + request.post_content_type).c_str()));
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    }
  }
  curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    const auto kind = sink.too_large ? HttpsFailure::Kind::TooLarge : kind_of(code);
    std::string detail = error_text[0] ? error_text : curl_easy_strerror(code);
    // curl 7.88 says only "Couldn't connect to server"; the system's reason is what to act on.
    long os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    const std::string reason =
        std::generic_category().message(static_cast<int>(os_errno));  // strerror: not thread-safe
    if (os_errno != 0 && detail.find(reason) == std::string::npos) detail += fmt::format(" ({})", reason);
    return fail(HttpsFailure{kind, fmt::format("{}: {}", kind_text(kind, request.max_body), detail)});
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  char* content_type = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK && content_type)
    response.content_type = content_type;
  return response;
}

}  // namespace sluice::net
