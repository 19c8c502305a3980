// Exchange message tracking logs (MSGTRK*.LOG): per-event counts (RECEIVE, SEND, DEFER, FAIL,
// DSN ...), messages per peer with the TLS version when the record carries one
// ("version=TLS1_0" from the Received header Exchange writes), and failure signatures in the
// recipient status ("421 4.4.2 Connection dropped due to SocketError").
#pragma once
#include <array>
#include <map>
#include <string>

#include "logscan/csv_fields.h"
#include "logscan/format_detect.h"
#include "logscan/log_reader.h"

namespace sluice::logscan {

class MessageTrackingReader : public LogReader {
 public:
  MessageTrackingReader(ReadContext ctx, const Header& header);
  bool line(std::string_view text, std::uint64_t number, bool truncated, bool may_continue) override;
  void finish() override;

 private:
  static constexpr std::size_t kMaxFields = 64;
  enum Column { kTime, kClientIp, kClientHost, kServerIp, kServerHost, kConnector, kSource, kEvent, kStatus, kColumns };
  void set_columns(const std::vector<std::string>& fields);
  std::string_view field(Column c) const { return col_[c] >= 0 ? f_[col_[c]].raw : std::string_view(); }

  ReadContext ctx_;
  Header header_;
  std::array<int, kColumns> col_{};
  int field_count_ = 0;
  std::array<CsvField, kMaxFields> f_{};
  std::map<std::string, std::uint64_t, std::less<>> events_;
};

/// The TLS version a tracking record names ("version=TLS1_2"), Plaintext when none.
TlsClass tracked_tls_version(std::string_view record);

}  // namespace sluice::logscan
