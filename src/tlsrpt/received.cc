#include "tlsrpt/received.h"

#include <fmt/format.h>

#include "base/base64.h"
#include "base/text.h"
#include "smtp/message_headers.h"
#include "tlsrpt/gzip.h"

namespace sluice::tlsrpt {
namespace {

constexpr int kMaxMimeDepth = 5;  // reports are one level deep; deeper nesting is not a report
constexpr const char* kNoReportPart = "no application/tlsrpt+gzip or application/tlsrpt+json part";

struct MimePart {
  std::string_view headers;  ///< the header block, without the empty line that ends it
  std::string_view body;
};

/// Splits at the first empty line (CRLF or LF line ends: saved mail comes with either).
MimePart split_part(std::string_view text) {
  MimePart part;
  std::size_t end = text.find("\r\n\r\n"), skip = 4;
  if (const auto lf = text.find("\n\n"); lf != std::string_view::npos && (end == std::string_view::npos || lf < end)) {
    end = lf;
    skip = 2;
  }
  part.headers = end == std::string_view::npos ? text : text.substr(0, end);
  part.body = end == std::string_view::npos ? std::string_view() : text.substr(end + skip);
  return part;
}

/// The unfolded value of header `name` (case-insensitive), "" when absent.
std::string header(const MimePart& part, std::string_view name) { return smtp::header_value(part.headers, name); }

/// A Content-Type parameter: boundary="x" or boundary=x.
std::string parameter(const std::string& content_type, std::string_view name) {
  const std::string lower = ascii_lower(content_type);
  for (std::size_t at = lower.find(name); at != std::string::npos; at = lower.find(name, at + 1)) {
    if (at > 0 && lower[at - 1] != ';' && lower[at - 1] != ' ' && lower[at - 1] != '\t') continue;
    std::size_t v = at + name.size();
    while (v < lower.size() && lower[v] == ' ') ++v;
    if (v >= lower.size() || lower[v] != '=') continue;
    ++v;
    while (v < lower.size() && lower[v] == ' ') ++v;
    if (v < content_type.size() && content_type[v] == '"')
      return content_type.substr(v + 1, content_type.find('"', v + 1) - v - 1);
    return content_type.substr(v, content_type.find_first_of("; \t", v) - v);
  }
  return "";
}

std::string media_type(const MimePart& part) {
  std::string type = ascii_lower(header(part, "Content-Type"));
  type = type.substr(0, type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  return type;
}

Result<std::string> decoded_body(const MimePart& part) {
  const std::string encoding = ascii_lower(header(part, "Content-Transfer-Encoding"));
  if (encoding.find("base64") == std::string::npos) return std::string(part.body);
  std::string compact;
  for (char c : part.body)
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') compact += c;
  auto decoded = base64_decode(compact);
  if (!decoded) return fail("the report attachment is not valid base64");
  return *decoded;
}

Result<std::string> find_attachment(const MimePart& part, int depth) {
  const std::string type = media_type(part);
  if (type == "application/tlsrpt+gzip" || type == "application/tlsrpt+json") return decoded_body(part);
  if (!type.starts_with("multipart/") || depth >= kMaxMimeDepth) return fail(kNoReportPart);
  const std::string boundary = parameter(header(part, "Content-Type"), "boundary");
  if (boundary.empty()) return fail("a multipart without a boundary parameter");
  const std::string delimiter = "--" + boundary;
  std::string_view body = part.body;
  std::size_t at = body.find(delimiter);
  while (at != std::string_view::npos) {
    std::size_t start = at + delimiter.size();
    if (body.substr(start, 2) == "--") break;  // the closing delimiter
    start = body.find('\n', start);
    if (start == std::string_view::npos) break;
    ++start;
    const std::size_t next = body.find("\n" + delimiter, start);
    std::string_view content =
        body.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    // A report part that cannot be decoded is the answer (its error), not a reason to look on.
    auto found = find_attachment(split_part(content), depth + 1);
    if (found || found.error().message != kNoReportPart) return found;
    at = next == std::string_view::npos ? next : next + 1;
  }
  return fail(kNoReportPart);
}

}  // namespace

Result<std::string> report_attachment(std::string_view message) { return find_attachment(split_part(message), 0); }

Result<Report> read_report(std::string_view data) {
  std::string text;
  if (looks_gzipped(data)) {
    auto unpacked = gzip_decompress(data);
    if (!unpacked) return fail(unpacked.error());
    text = std::move(*unpacked);
  } else {
    std::size_t first = data.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && data[first] == '{') {
      text = std::string(data);
    } else {
      auto attachment = report_attachment(data);
      if (!attachment) return fail(attachment.error());
      text = std::move(*attachment);
      if (looks_gzipped(text)) {
        auto unpacked = gzip_decompress(text);
        if (!unpacked) return fail("the attachment: " + unpacked.error().message);
        text = std::move(*unpacked);
      }
    }
  }
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded()) return fail("the report is not valid JSON");
  return report_from_json(json);
}

}  // namespace sluice::tlsrpt
