#include "demo/http_request.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

namespace sluice::demo {
namespace {

std::string_view trim_http_space(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> form_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      int high = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? hex_digit_value(text[i + 2]) : -1;
      if (high < 0 || low < 0) return fail(fmt::format("bad %-escape in the form: \"{}\"", text.substr(i, 3)));
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

Result<std::optional<HttpRequest>> parse_http_request(std::string_view data) {
  auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    if (data.size() > kMaxHttpRequest) return fail("request head too long");
    return std::optional<HttpRequest>();
  }
  HttpRequest request;
  std::string_view head = data.substr(0, head_end);
  auto line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  auto first_space = request_line.find(' ');
  auto last_space = request_line.rfind(' ');
  if (first_space == std::string_view::npos || last_space == first_space ||
      request_line.substr(last_space + 1).rfind("HTTP/1.", 0) != 0)
    return fail(fmt::format("bad request line \"{}\"", request_line));
  request.method = std::string(request_line.substr(0, first_space));
  request.target = std::string(request_line.substr(first_space + 1, last_space - first_space - 1));
  if (request.target.empty() || request.target.front() != '/')
    return fail(fmt::format("bad request target \"{}\"", request.target));
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 2);
    line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(fmt::format("bad header line \"{}\"", line));
    request.headers[lower_ascii(line.substr(0, colon))] = std::string(trim_http_space(line.substr(colon + 1)));
  }
  if (request.headers.count("transfer-encoding")) return fail("a body without Content-Length is not supported");
  std::size_t length = 0;
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    const std::string& value = it->second;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (error != std::errc() || end != value.data() + value.size() || value.empty())
      return fail(fmt::format("bad Content-Length \"{}\"", value));
  }
  std::size_t body_start = head_end + 4;
  if (length > kMaxHttpRequest || body_start + length > kMaxHttpRequest) return fail("request too large");
  if (data.size() < body_start + length) return std::optional<HttpRequest>();
  request.body = std::string(data.substr(body_start, length));
  return std::optional<HttpRequest>(std::move(request));
}

Result<std::map<std::string, std::string>> parse_form(std::string_view body) {
  std::map<std::string, std::string> form;
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    auto equals = pair.find('=');
    auto name = form_decode(pair.substr(0, equals));
    if (!name) return fail(name.error());
    auto value = form_decode(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1));
    if (!value) return fail(value.error());
    form.emplace(std::move(*name), std::move(*value));
  }
  return form;
}

std::string http_response(const HttpReply& reply) {
  const char* reason = reply.status == 200   ? "OK"
                       : reply.status == 400 ? "Bad Request"
                       : reply.status == 401 ? "Unauthorized"
                       : reply.status == 404 ? "Not Found"
                       : reply.status == 405 ? "Method Not Allowed"
                                             : "Error";
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: "
      "close\r\n\r\n{}",
      reply.status, reason, reply.json.size(), reply.json);
}

}  // namespace sluice::demo
