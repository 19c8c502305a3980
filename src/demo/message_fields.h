// Header fields of the messages the demo finds in Maildirs (RFC 5322 2.2: a field may be folded
// over several lines), including the per-recipient fields of a DSN's delivery-status part.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::demo {

/// The first header field `name` (case-insensitive) of the message's header block, unfolded
/// (continuation lines joined with one space); nullopt when absent.
std::optional<std::string> header_value(std::string_view message, std::string_view name);
/// Every "Name: value" field line with this name anywhere in the text (a DSN's
/// message/delivery-status part has them in the body), unfolded, as "Name: value".
std::vector<std::string> field_lines(std::string_view text, std::string_view name);

}  // namespace sluice::demo
