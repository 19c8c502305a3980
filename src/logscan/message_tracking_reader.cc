#include "logscan/message_tracking_reader.h"

#include "logscan/filters.h"
#include "logscan/signatures.h"

namespace sluice::logscan {

TlsClass tracked_tls_version(std::string_view record) {
  auto at = record.find("version=TLS1_");
  if (at == std::string_view::npos || at + 13 >= record.size()) return TlsClass::Plaintext;
  switch (record[at + 13]) {
    case '0':
      return TlsClass::Tls1_0;
    case '1':
      return TlsClass::Tls1_1;
    case '2':
      return TlsClass::Tls1_2;
    case '3':
      return TlsClass::Tls1_3;
    default:
      return TlsClass::Plaintext;
  }
}

MessageTrackingReader::MessageTrackingReader(ReadContext ctx, const Header& header)
    : ctx_(std::move(ctx)), header_(header) {
  set_columns(header_.fields.empty() ? default_tracking_fields() : header_.fields);
}

void MessageTrackingReader::set_columns(const std::vector<std::string>& fields) {
  static constexpr std::string_view kNames[kColumns] = {"date-time", "client-ip",       "client-hostname",
                                                        "server-ip", "server-hostname", "connector-id",
                                                        "source",    "event-id",        "recipient-status"};
  for (int c = 0; c < kColumns; ++c) {
    col_[c] = -1;
    for (std::size_t i = 0; i < fields.size() && i < kMaxFields; ++i)
      if (fields[i] == kNames[c]) col_[c] = static_cast<int>(i);
  }
  field_count_ = static_cast<int>(fields.size());
}

bool MessageTrackingReader::line(std::string_view text, std::uint64_t number, bool truncated, bool may_continue) {
  if (text.empty()) return true;
  if (text.front() == '#') {
    if (header_.read(text) && !header_.fields.empty()) set_columns(header_.fields);
    return true;
  }
  int n = split_csv(text, f_);
  if (n == kUnterminated && may_continue) return false;
  // Exchange 2010 writes fewer columns than later versions; a header decides how many.
  if (n > 0 && truncated)
    while (n < field_count_ && n < static_cast<int>(kMaxFields)) f_[n++] = {};
  if (n != field_count_ || col_[kTime] < 0 || col_[kEvent] < 0) {
    malformed(ctx_, number, text);
    return true;
  }
  auto time = parse_iso8601(field(kTime));
  std::string_view event = field(kEvent);
  if (!time || event.empty()) {
    malformed(ctx_, number, text);
    return true;
  }
  auto it = events_.find(event);
  if (it == events_.end()) it = events_.emplace(std::string(event), 0).first;
  ++it->second;

  bool receive = event == "RECEIVE";
  Direction d = receive ? Direction::Inbound : Direction::Outbound;
  std::string_view remote = receive ? field(kClientIp) : field(kServerIp);
  if (remote.empty()) remote = receive ? field(kServerIp) : field(kClientIp);
  remote = endpoint_ip(remote);
  std::string_view name = receive ? field(kClientHost) : field(kServerHost);
  std::string_view connector = field(kConnector);

  if ((event == "RECEIVE" || event == "SEND") && field(kSource) == "SMTP")
    ctx_.out->tracked_message(d, connector, remote, name, *time, is_legacy(tracked_tls_version(text)));

  Signatures sig = find_signatures(text);
  for (std::size_t i = 0; i < sig.count; ++i)
    ctx_.out->tracked_failure(sig.found[i], d, connector, remote, *time, ctx_.file, number, text);
  return true;
}

void MessageTrackingReader::finish() {
  for (auto& [e, n] : events_) ctx_.out->aggregate().tracking_events[e] += n;
  events_.clear();
}

}  // namespace sluice::logscan
