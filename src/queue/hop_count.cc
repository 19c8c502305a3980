#include "queue/hop_count.h"

#include "base/text.h"
#include "smtp/message_headers.h"

namespace sluice::queue {

namespace {

/// The name of the header field that starts `line` ("Received" for "Received : x"), or empty
/// when the line is no field: a field name is printable ASCII other than the colon (RFC 5322
/// 3.6.8), followed by optional blanks and the colon.
std::string_view header_field_name(std::string_view line) {
  std::size_t end = 0;
  while (end < line.size() && line[end] > ' ' && line[end] < 0x7f && line[end] != ':') ++end;
  if (end == 0) return {};
  std::size_t colon = end;
  while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t')) ++colon;
  if (colon == line.size() || line[colon] != ':') return {};
  return line.substr(0, end);
}

bool is_hop_field(std::string_view name, std::string_view wanted) {
  return name.size() == wanted.size() && starts_with_ascii_nocase(name, wanted);
}

int count_hop_fields(std::string_view message, bool delivered_to) {
  int hops = 0;
  std::size_t pos = 0;
  while (auto next = smtp::next_header_line(message, pos)) {
    std::string_view line = *next;
    if (line[0] == ' ' || line[0] == '\t') continue;  // a folded line of the field before
    std::string_view name = header_field_name(line);
    if (name.empty()) break;  // not a header field: the body starts here
    if (is_hop_field(name, "Received") || (delivered_to && is_hop_field(name, "Delivered-To"))) ++hops;
  }
  return hops;
}

}  // namespace

int count_hops(std::string_view message_or_header_section) {
  return count_hop_fields(message_or_header_section, false);
}

int count_local_hops(std::string_view message_or_header_section) {
  return count_hop_fields(message_or_header_section, true);
}

smtp::Reply hop_count_exceeded_reply() {
  return smtp::make_reply(554, "5.4.14", "Hop count exceeded - possible mail loop");
}

}  // namespace sluice::queue
