// `sluice track`: reads a message tracking log directory (sluice's MSGTRK files, or Exchange's)
// and answers "where is the message from X to Y": every matching message with its path, from
// RECEIVE to SEND/DELIVER, DEFER, FAIL and the DSN it caused (docs/message-tracking.md).
#pragma once
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "tracking/record.h"

namespace sluice::tracking {

/// Every record of the MSGTRK*.LOG files in `dir` (not its subdirectories), in file-name order
/// then line order. Fails when `dir` is missing or not a directory, or a file cannot be read;
/// lines that are not records are counted in `skipped`.
Result<std::vector<Record>> read_log_dir(const std::filesystem::path& dir, std::size_t* skipped = nullptr);

struct Query {
  std::string sender{};     ///< address, or "@domain"; case-insensitive
  std::string recipient{};  ///< address, or "@domain"; case-insensitive
  std::string id{};         ///< our queue id, the Message-ID (with or without <>), or the next hop's "queued as" id
  std::optional<std::chrono::system_clock::time_point> since{};  ///< messages with an event at or after
};

/// One message and its records in time order. A notification's own records (its SEND or
/// DELIVER) are kept with the message that caused it.
struct MessagePath {
  std::string id;  ///< internal-message-id
  std::vector<Record> records;
};

/// The messages that match every part of `query` that is set, oldest first.
std::vector<MessagePath> find_messages(const std::vector<Record>& records, const Query& query);

/// One block per message: a title line, then one line per record ("SEND bob@x to mx.example
/// [192.0.2.1] with TLS1_2, queued as ABC123: 250 ...").
std::string render_text(const std::vector<MessagePath>& messages);
/// [{"id", "message_id", "sender", "size", "events": [{"time", "event", ...}]}] (docs/message-tracking.md).
nlohmann::json render_json(const std::vector<MessagePath>& messages);

/// The reason of a DEFER status: its "{LED=...}" part, or the status as it is.
std::string defer_reason(std::string_view status);

}  // namespace sluice::tracking
