#include "tracking/events.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "base/text.h"

namespace sluice::tracking {

namespace {

using State = queue::Recipient::State;

constexpr std::string_view kSluiceSchemaVersion = "0.1.0";

/// The fields every record of a message shares.
Record message_record(const queue::Envelope& envelope, std::string_view event, std::string_view source,
                      std::chrono::system_clock::time_point now) {
  Record r;
  r.time = now;
  r[kEventId] = event;
  r[kSource] = source;
  r[kInternalMessageId] = envelope.id;
  r[kMessageId] = envelope.message_id;
  r[kNetworkMessageId] = envelope.id;
  r[kTotalBytes] = std::to_string(envelope.size);
  r[kSenderAddress] = envelope.mail_from;
  r[kReturnPath] = envelope.mail_from;
  r[kTransportTrafficType] = "Email";
  r[kLogId] = envelope.id;
  r[kSchemaVersion] = kSluiceSchemaVersion;
  return r;
}

void set_recipients(Record& r, const std::vector<std::string>& recipients) {
  std::string joined;
  for (const auto& a : recipients) {
    if (!joined.empty()) joined += ';';
    joined += a;
  }
  r[kRecipientAddress] = std::move(joined);
  r[kRecipientCount] = std::to_string(recipients.size());
}

void add_tls(Record& r, std::string_view version, std::string_view cipher) {
  r.add_custom(kTlsVersionKey, version);
  r.add_custom(kTlsCipherKey, cipher);
}

/// What FAIL records as the recipient's status: its 5xx as it is; a recipient that failed with
/// anything else had its lifetime run out, said in Exchange's words with the last error kept.
std::string failure_status(const smtp::Reply& reply) {
  if (reply.permanent()) return reply.one_line();
  return fmt::format("550 4.4.7 QUEUE.Expired; message expired (last error: {})",
                     reply.empty() ? std::string("none") : reply.one_line());
}

/// Exchange's DEFER status: last retry time, last error, and the server it came from.
std::string defer_status(const queue::Recipient& recipient, const Hop* hop) {
  return fmt::format("{{[{{LRT={}}};{{LED={}}};{{FQDN={}}};{{IP={}}}]}}",
                     recipient.last_attempt == std::chrono::system_clock::time_point{}
                         ? std::string()
                         : protocol_log::format_time(recipient.last_attempt),
                     recipient.last_reply.one_line(), hop ? hop->host : std::string(),
                     hop ? endpoint_address(hop->endpoint) : std::string());
}

/// Word by word: the word after `marker` (case-insensitive), trimmed of punctuation.
std::string word_after(std::string_view text, std::string_view marker) {
  const std::string lower = ascii_lower(text);
  auto at = lower.find(ascii_lower(marker));
  if (at == std::string::npos) return {};
  std::string_view rest = text.substr(at + marker.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::size_t end = 0;
  while (end < rest.size() && rest[end] != ' ' && rest[end] != ',' && rest[end] != ';' && rest[end] != ']' &&
         rest[end] != ')')
    ++end;
  return std::string(rest.substr(0, end));
}

}  // namespace

std::string queued_as(std::string_view reply) {
  for (std::string_view marker : {"queued as", "InternalId=", "id="}) {
    std::string id = word_after(reply, marker);
    if (!id.empty()) return id;
  }
  // sluice (and Exchange without the bracket): "250 2.6.0 <ID> Queued mail for delivery".
  const std::string lower = ascii_lower(reply);
  auto queued = lower.find(" queued mail for delivery");
  if (queued != std::string::npos) {
    std::string_view before = reply.substr(0, queued);
    auto space = before.rfind(' ');
    std::string_view id = space == std::string_view::npos ? before : before.substr(space + 1);
    if (!id.empty() && !all_digits(id) && id.find('.') == std::string_view::npos) return std::string(id);
  }
  return {};
}

std::string endpoint_address(std::string_view endpoint) {
  if (endpoint.starts_with('[')) {
    auto close = endpoint.find(']');
    return std::string(endpoint.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  }
  auto colon = endpoint.rfind(':');
  if (colon != std::string_view::npos && endpoint.find(':') == colon) return std::string(endpoint.substr(0, colon));
  return std::string(endpoint);
}

Record receive_record(const Origin& origin, const queue::Envelope& envelope, std::string_view local_endpoint,
                      std::string_view session_id, std::chrono::system_clock::time_point now) {
  Record r = message_record(envelope, "RECEIVE", "SMTP", now);
  r[kClientIp] = envelope.client_address;
  r[kClientHostname] = envelope.client_helo;
  r[kServerIp] = endpoint_address(local_endpoint);
  r[kServerHostname] = origin.hostname;
  r[kSourceContext] = session_id;
  r[kConnectorId] = envelope.connector;
  r[kOriginalClientIp] = envelope.client_address;
  std::vector<std::string> recipients;
  for (const auto& recipient : envelope.recipients) recipients.push_back(recipient.address);
  set_recipients(r, recipients);
  add_tls(r, envelope.tls_version, envelope.tls_cipher);
  // sender-address is the rewritten sender, as delivered; the custom data keeps the device's own.
  if (!envelope.original_mail_from.empty()) r.add_custom(kOriginalSenderKey, envelope.original_mail_from);
  // A message handed over by `sluice queue move`: its id on the node it came from.
  if (!envelope.moved_from.empty()) r.add_custom(kMovedFromKey, envelope.moved_from);
  return r;
}

Record move_record(const Origin& origin, const queue::Envelope& envelope, const std::vector<std::string>& recipients,
                   const Hop& hop, std::string_view reply, std::chrono::system_clock::time_point now) {
  Record r = message_record(envelope, "MOVE", "SMTP", now);
  set_recipients(r, recipients);
  r[kRecipientStatus] = std::string(reply);
  r[kClientIp] = endpoint_address(hop.local_endpoint);
  r[kClientHostname] = origin.hostname;
  r[kServerIp] = endpoint_address(hop.endpoint);
  r[kServerHostname] = hop.host;
  r[kConnectorId] = hop.connector;
  add_tls(r, hop.tls_version, hop.tls_cipher);
  r.add_custom(kQueuedAsKey, queued_as(reply));
  return r;
}

std::vector<Record> outcome_records(const Origin& origin, const queue::Envelope* before, const queue::Envelope& after,
                                    const std::vector<std::size_t>& newly_failed, const Hop* hop,
                                    std::chrono::system_clock::time_point now) {
  // (event, status) -> recipients, in the order of the first recipient of each group.
  std::vector<std::pair<std::pair<std::string, std::string>, std::vector<std::string>>> groups;
  auto add = [&groups](std::string event, std::string status, const std::string& address) {
    for (auto& [key, addresses] : groups) {
      if (key.first == event && key.second == status) {
        addresses.push_back(address);
        return;
      }
    }
    groups.push_back({{std::move(event), std::move(status)}, {address}});
  };
  const bool same_message = before && before->recipients.size() == after.recipients.size();
  for (std::size_t i = 0; i < after.recipients.size(); ++i) {
    const auto& r = after.recipients[i];
    const queue::Recipient* prev = same_message ? &before->recipients[i] : nullptr;
    if (prev && !prev->waiting()) continue;  // settled earlier: nothing new to say
    if (!prev && std::find(newly_failed.begin(), newly_failed.end(), i) == newly_failed.end()) continue;
    switch (r.state) {
      case State::Delivered:
        add(hop && hop->local ? "DELIVER" : "SEND", r.last_reply.one_line(), r.address);
        break;
      case State::Failed:
        add("FAIL", failure_status(r.last_reply), r.address);
        break;
      case State::Deferred:
        if (!prev || r.attempts > prev->attempts) add("DEFER", defer_status(r, hop), r.address);
        break;
      case State::Pending:
        break;
    }
  }
  std::vector<Record> out;
  for (auto& [key, addresses] : groups) {
    const auto& [event, status] = key;
    const bool smtp_hop = hop && !hop->local;
    std::string_view source = smtp_hop ? "SMTP" : hop ? "STOREDRIVER" : "ROUTING";
    Record rec = message_record(after, event, source, now);
    set_recipients(rec, addresses);
    rec[kRecipientStatus] = status;
    if (smtp_hop) {
      rec[kClientIp] = endpoint_address(hop->local_endpoint);
      rec[kClientHostname] = origin.hostname;
      rec[kServerIp] = endpoint_address(hop->endpoint);
      rec[kServerHostname] = hop->host;
      rec[kConnectorId] = hop->connector;
      add_tls(rec, hop->tls_version, hop->tls_cipher);
      if (event == "SEND") rec.add_custom(kQueuedAsKey, queued_as(status));
    } else {
      rec[kServerHostname] = origin.hostname;
    }
    out.push_back(std::move(rec));
  }
  return out;
}

Record dsn_record(const Origin& origin, const queue::Envelope& original, const queue::Envelope& dsn,
                  const std::vector<queue::DsnRecipient>& rows, bool delay_warning,
                  std::chrono::system_clock::time_point now) {
  Record r = message_record(dsn, "DSN", "DSN", now);
  r[kServerHostname] = origin.hostname;
  std::vector<std::string> recipients;
  for (const auto& recipient : dsn.recipients) recipients.push_back(recipient.address);
  set_recipients(r, recipients);
  r[kRecipientStatus] = delay_warning ? "delayed" : "failed";
  std::string related;
  for (const auto& row : rows) {
    if (!related.empty()) related += ';';
    related += row.address;
  }
  r[kRelatedRecipientAddress] = std::move(related);
  r[kReference] = original.message_id;
  r.add_custom(kOriginalKey, original.id);
  return r;
}

}  // namespace sluice::tracking
