// message: the test message, built once per run and sent as DATA (dot-stuffed, CRLF, final dot).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::bench {

/// A message of exactly `size` octets before dot-stuffing (or just its headers when `size` is
/// smaller than they are): headers, then 76-character body lines, every 8th starting with a dot
/// so the server's un-stuffing is exercised. Lines end in CRLF.
std::string make_message(std::size_t size, std::string_view from, std::string_view to);

/// The Message-ID of message `seq` of run `run` (16 hex digits drawn once per run, so two runs
/// never share an id): "<run.seq@sluice-loadgen>" with `seq` as 16 hex digits. Every id has the
/// same length, so a message keeps its exact size whatever its number.
std::string message_id(std::string_view run, std::uint64_t seq);

/// "Message-ID: <id>\r\n": kMessageIdLineSize octets for an `id` of message_id().
std::string message_id_line(std::string_view id);
inline constexpr std::size_t kMessageIdLineSize = 64;

/// 16 random hex digits naming one run in its Message-IDs.
std::string new_run_id();

/// What goes on the wire after the 354: `text` with a dot doubled at the start of every line
/// (RFC 5321 4.5.2), then ".\r\n". A text not ending in CRLF gets one first. `text` must use CRLF
/// line ends (make_message does).
std::string dot_stuff(std::string_view text);

}  // namespace sluice::bench
