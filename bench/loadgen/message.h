// message: the test message, built once per run and sent as DATA (dot-stuffed, CRLF, final dot).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::bench {

/// A message of exactly `size` octets before dot-stuffing (or just its headers when `size` is
/// smaller than they are): headers, then 76-character body lines, every 8th starting with a dot
/// so the server's un-stuffing is exercised. Lines end in CRLF.
std::string make_message(std::size_t size, std::string_view from, std::string_view to);

/// What goes on the wire after the 354: `text` with a dot doubled at the start of every line
/// (RFC 5321 4.5.2), then ".\r\n". A text not ending in CRLF gets one first. `text` must use CRLF
/// line ends (make_message does).
std::string dot_stuff(std::string_view text);

}  // namespace sluice::bench
