// Which format a file is in, decided by its content (never its name): the "#Fields:" header of
// Exchange's logs names the columns; without one, the shape of the first data line decides.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logscan/aggregate.h"

namespace sluice::logscan {

enum class Format { Unknown, ExchangeProtocol, MessageTracking, Postfix };

/// What the "#" header lines of an Exchange-style file said so far.
struct Header {
  std::vector<std::string> fields;     ///< from "#Fields:"; empty when none was seen
  std::optional<Direction> direction;  ///< from "#Log-type: SMTP Receive/Send Protocol Log"
  bool tracking = false;               ///< "#Log-type: Message Tracking Log"

  /// Reads one "#..." line; false when the line is not a header line.
  bool read(std::string_view line);
};

/// The columns of a protocol log, in Exchange's order (used when a file has no "#Fields:").
const std::vector<std::string>& default_protocol_fields();
/// The columns of a message tracking log (Exchange 2013 and later).
const std::vector<std::string>& default_tracking_fields();

/// Decides the format from the header seen so far and the first data line; Unknown when the
/// line fits none (the caller tries a few more lines before giving up).
Format classify(const Header& header, std::string_view first_data_line);

/// "exchange-receive", "exchange-send", "exchange-protocol" (direction unknown),
/// "message-tracking", "postfix", "unknown".
std::string format_name(Format f, std::optional<Direction> d);

/// Direction from a file name: "RECV..." inbound, "SEND..." outbound (Exchange's names), else none.
std::optional<Direction> direction_from_name(std::string_view path);

}  // namespace sluice::logscan
