// Exchange SMTP Receive/Send protocol logs (and sluice's, which use the same format): rebuilds
// sessions by session-id and records TLS versions, EHLO names, messages and failure signatures.
#pragma once
#include <array>
#include <optional>
#include <unordered_map>

#include "logscan/csv_fields.h"
#include "logscan/format_detect.h"
#include "logscan/log_reader.h"

namespace sluice::logscan {

class ExchangeProtocolReader : public LogReader {
 public:
  /// `header` gives the columns (its fields, else Exchange's order) and the direction (its
  /// Log-type, else `fallback_direction`, else per session from the _SERVER/_CLIENT suffix).
  ExchangeProtocolReader(ReadContext ctx, const Header& header, std::optional<Direction> fallback_direction);
  bool line(std::string_view text, std::uint64_t number, bool truncated, bool may_continue) override;
  void finish() override;

  /// Open sessions right now (for tests of memory bounds).
  std::size_t open_sessions() const { return sessions_.size(); }

 private:
  static constexpr std::size_t kMaxFields = 40;
  /// How long a connect may take between "attempting to connect" and "+" (Windows gives up after
  /// about 21 s: Winsock error 10060).
  static constexpr Millis kMaxConnectWait = 120'000;
  enum Column { kTime, kConnector, kSession, kLocal, kRemote, kEvent, kData, kContext, kColumns };

  void set_columns(const std::vector<std::string>& fields);
  /// Splits `text`; the number of fields or -1.
  int split(std::string_view text, bool truncated);
  /// Fills the fields a truncated line lacks with empty ones, up to the header's count.
  void pad(int& n);
  Session& session_for(std::string_view id, std::uint64_t key, bool start);
  void record_failures(std::string_view text, const Session& s, std::string_view record, std::uint64_t number);
  void end_session(std::uint64_t key);
  /// "Failed to connect...": counts the attempt as a connection failure and ends it.
  void connect_failed(Session& s, std::uint64_t key, std::string_view context, std::string_view record,
                      std::uint64_t number);
  /// The key under which a session's parts meet across files and workers.
  std::string partial_key(std::uint64_t key, const Session& s);
  Millis time_of_line();

  ReadContext ctx_;
  Header header_;
  std::optional<Direction> direction_;
  std::array<int, kColumns> col_{};
  int field_count_ = 0;
  std::array<CsvField, kMaxFields> f_{};
  std::unordered_map<std::uint64_t, Session> sessions_;
  std::unordered_map<std::uint64_t, std::string> odd_ids_;  ///< session ids that are not 16 hex digits
  char last_id_[32];
  std::size_t last_id_len_ = SIZE_MAX;
  std::uint64_t last_key_ = 0;
  std::uint64_t cached_key_ = 0;
  Millis unit_start_ = kNoTime;  ///< the time of this unit's first session line
  Session* cached_ = nullptr;
};

/// The numeric key of a session id: a mix of its bytes when it has at most 16 (Exchange's ids
/// have 16 hex digits; the id itself is kept in the Session), else a hash with the top bit set.
std::uint64_t session_key(std::string_view id);

/// "TLS1_0" ... from "TLS protocol SP_PROT_TLS1_0_SERVER negotiation succeeded ..."; `side` gets
/// 'S' or 'C' from the suffix. Plaintext when the text is not such a line.
TlsClass exchange_protocol_version(std::string_view context, char* side = nullptr);

/// True for "Set Session Permissions" and "attempting to connect", which Exchange's Send log
/// writes under a session id before the "+" line (or before "Failed to connect..."). Receive logs
/// write "Set Session Permissions" too, after "+": the reader looks at it only in Send logs.
bool is_pre_connect_line(std::string_view context);

/// True for sluice's "Client offered TLS1_0 only; ..." when only TLS 1.0/1.1 were offered.
bool offered_legacy_only(std::string_view context);

}  // namespace sluice::logscan
