// Reading one header field of a message (RFC 5322 2.2): the bounce takes the original's Subject from it,
// the tracking log the Message-ID, intake the TLS-Required field, and sluice tlsrpt the MIME parts of a report.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::smtp {

/// The line of the header block at the start of `message` that begins at `pos`, without its CRLF
/// or LF, and `pos` moved to the next one; nullopt at the empty line that ends the block or at the
/// end of `message`.
std::optional<std::string_view> next_header_line(std::string_view message, std::size_t& pos);

/// The unfolded value of the first header field `name` (case-insensitive) in the header block
/// at the start of `message` (CRLF or LF lines, up to the first empty line), without the
/// surrounding blanks; empty when there is none.
std::string header_value(std::string_view message, std::string_view name);

}  // namespace sluice::smtp
