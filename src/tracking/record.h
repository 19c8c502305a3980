// One line of the message tracking log, in the field order of Exchange's MSGTRK files
// (docs/message-tracking.md): how the gateway writes it and how `sluice track` reads it back,
// from sluice's files or from Exchange's own.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol_log/protocol_log.h"

namespace sluice::tracking {

/// The columns, in the order of Exchange 2013 and later (Exchange 2010 stops at custom_data).
enum Field : std::size_t {
  kDateTime,
  kClientIp,
  kClientHostname,
  kServerIp,
  kServerHostname,
  kSourceContext,
  kConnectorId,
  kSource,
  kEventId,
  kInternalMessageId,
  kMessageId,
  kNetworkMessageId,
  kRecipientAddress,
  kRecipientStatus,
  kTotalBytes,
  kRecipientCount,
  kRelatedRecipientAddress,
  kReference,
  kMessageSubject,
  kSenderAddress,
  kReturnPath,
  kMessageInfo,
  kDirectionality,
  kTenantId,
  kOriginalClientIp,
  kOriginalServerIp,
  kCustomData,
  kTransportTrafficType,
  kLogId,
  kSchemaVersion,
  kFieldCount
};

/// "date-time", "client-ip", ...: the names of the #Fields line.
std::string_view field_name(Field field);
/// The #Fields line's value: every field name, comma-separated.
std::string fields_line();
/// The file kind for protocol_log::Writer: MSGTRK<yyyymmddhh>-<n>.LOG, "Message Tracking Log".
protocol_log::FileKind file_kind();

struct Record {
  std::chrono::system_clock::time_point time;
  std::array<std::string, kFieldCount> fields;  ///< fields[kDateTime] is unused: `time` is written

  const std::string& operator[](Field f) const { return fields[f]; }
  std::string& operator[](Field f) { return fields[f]; }

  /// recipient-address split at ';' (Exchange lists a line's recipients that way).
  std::vector<std::string> recipients() const;
  /// The value of "S:<key>=<value>" in custom-data (pairs separated by ';'), or empty.
  std::string custom(std::string_view key) const;
  /// Appends "S:<key>=<value>" to custom-data; nothing when `value` is empty.
  void add_custom(std::string_view key, std::string_view value);
};

/// The CSV line, CRLF-terminated. Control characters in values become spaces: a record is one
/// line whatever a peer put in its reply.
std::string format_record(const Record& record);

/// Maps the columns of a file (its #Fields line) to ours; a file without one has Exchange's order.
class ColumnMap {
 public:
  ColumnMap();  ///< Exchange's (and sluice's) own order
  /// From a "#Fields: a,b,c" line's value; columns with unknown names are skipped.
  explicit ColumnMap(std::string_view fields_value);
  /// Parses one data line; nullopt when it is not a record (bad CSV, wrong field count, bad time).
  std::optional<Record> parse(std::string_view line) const;

 private:
  std::vector<std::optional<Field>> columns_;
};

}  // namespace sluice::tracking
