#include "queue/queue_view.h"
#include "base/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace sluice::queue {

using std::chrono::system_clock;
using TimePoint = system_clock::time_point;

using Json = nlohmann::json;

std::vector<HopRow> hop_rows(const std::vector<Envelope>& envelopes, const QueueFilter& filter, const LiveHops& live,
                             TimePoint now) {
  std::vector<const Envelope*> pointers;
  pointers.reserve(envelopes.size());
  for (const auto& envelope : envelopes) pointers.push_back(&envelope);
  return hop_rows(pointers, filter, live, now);
}

std::vector<HopRow> hop_rows(const std::vector<const Envelope*>& envelopes, const QueueFilter& filter,
                             const LiveHops& live, TimePoint now) {
  struct Accumulator {
    HopRow row;
    Standing standing;
    const Envelope* last_envelope = nullptr;  // counts each message once per hop
    TimePoint error_time{};
  };
  std::map<std::string, Accumulator> hops;
  for (const Envelope* message : envelopes) {
    const Envelope& envelope = *message;
    if (!matches_message(filter, envelope, now)) continue;
    for (const auto& r : envelope.recipients) {
      if (!r.waiting()) continue;
      std::string hop = recipient_hop(r);
      if (!matches_recipient(filter, r, hop)) continue;
      auto& acc = hops[hop];
      acc.row.next_hop = hop;
      if (acc.last_envelope != &envelope) {
        ++acc.row.messages;
        acc.last_envelope = &envelope;
        if (!acc.row.oldest || envelope.received < *acc.row.oldest) acc.row.oldest = envelope.received;
      }
      combine(acc.standing, recipient_standing(envelope, r, hop, live, now));
      // The latest attempt's reply; on a tie the later message wins, and an empty reply never
      // hides a real one.
      if (!r.last_reply.empty() && (acc.row.last_error.empty() || r.last_attempt >= acc.error_time)) {
        acc.row.last_error = r.last_reply.one_line();
        acc.error_time = r.last_attempt;
        if (r.last_attempt != TimePoint{}) acc.row.last_error_at = r.last_attempt;
      }
    }
  }
  std::vector<HopRow> rows;
  for (auto& [hop, acc] : hops) {
    auto state = live.find(hop);
    if (state != live.end() && acc.row.last_error.empty()) acc.row.last_error = state->second.last_error;
    // A hop with a delivery running is Active even when the recipients listed are not in it.
    if (state != live.end() && state->second.running > 0) acc.standing = {kActive, std::nullopt};
    acc.row.status = std::string(acc.standing.status);
    acc.row.next_retry = acc.standing.next_retry;
    if (!filter.status.empty() && acc.row.status != filter.status) continue;
    rows.push_back(std::move(acc.row));
  }
  return rows;  // std::map kept them sorted by next hop
}

Json hop_rows_json(const std::vector<HopRow>& rows) {
  Json out = Json::array();
  for (const auto& row : rows) {
    out.push_back({{"next_hop", row.next_hop},
                   {"status", row.status},
                   {"messages", row.messages},
                   {"last_error", row.last_error},
                   {"next_retry", optional_time_json(row.next_retry)},
                   {"oldest", optional_time_json(row.oldest)},
                   {"last_error_at", optional_time_json(row.last_error_at)}});
  }
  return out;
}

Json message_json(const Envelope& envelope) {
  Json recipients = Json::array();
  for (const auto& r : envelope.recipients) {
    recipients.push_back({{"address", r.address},
                          {"state", state_name(r.state)},
                          {"attempts", r.attempts},
                          {"next_hop", recipient_hop(r)},
                          {"last_reply", r.last_reply.one_line()},
                          {"next_attempt", time_json(r.next_attempt)},
                          {"last_attempt", time_json(r.last_attempt)}});
    if (!r.tls_policy.empty()) recipients.back()["tls_policy"] = r.tls_policy;
  }
  Json tls = envelope.tls_version.empty() && envelope.tls_cipher.empty()
                 ? Json(nullptr)
                 : Json{{"version", envelope.tls_version}, {"cipher", envelope.tls_cipher}};
  Json out = {{"id", envelope.id},
              {"from", envelope.mail_from},
              {"received", format_utc_time(envelope.received)},
              {"size", envelope.size},
              {"body_type", envelope.body_type},
              {"smtputf8", envelope.smtputf8},
              {"connector", envelope.connector},
              {"client", {{"address", envelope.client_address}, {"helo", envelope.client_helo}}},
              {"tls", std::move(tls)},
              {"recipients", std::move(recipients)}};
  // RFC 8689's flags only when set, as in the spool: an answer without them reads as before.
  if (envelope.requiretls) out["requiretls"] = true;
  if (envelope.tls_required_no) out["tls_required_no"] = true;
  if (!envelope.moved_from.empty()) out["moved_from"] = envelope.moved_from;
  return out;
}

std::optional<std::vector<HopRow>> hop_rows_from_json(const Json& rows) {
  return rows_from_json<HopRow>(rows, [](const Json& item, HopRow& row) {
    row.next_hop = string_at(item, "next_hop");
    row.status = string_at(item, "status");
    row.last_error = string_at(item, "last_error");
    std::uint64_t messages = 0;
    if (!count_from_json(item.at("messages"), messages)) return false;
    row.messages = static_cast<std::size_t>(messages);
    TimePoint retry;
    if (!time_from_json(item.at("next_retry"), retry)) return false;
    if (retry != TimePoint{}) row.next_retry = retry;
    for (auto [key, field] : {std::pair{"oldest", &row.oldest}, std::pair{"last_error_at", &row.last_error_at}}) {
      auto it = item.find(key);
      if (it == item.end()) continue;  // from a gateway older than the fleet view
      if (!optional_time_from_json(*it, *field)) return false;
    }
    return true;
  });
}

std::optional<Envelope> message_from_json(const Json& message) {
  try {
    Envelope envelope;
    envelope.id = string_at(message, "id");
    envelope.mail_from = string_at(message, "from");
    if (!time_from_json(message.at("received"), envelope.received)) return std::nullopt;
    if (!count_from_json(message.at("size"), envelope.size)) return std::nullopt;
    envelope.body_type = string_at(message, "body_type");
    const Json& smtputf8 = message.at("smtputf8");
    if (!smtputf8.is_boolean()) return std::nullopt;
    envelope.smtputf8 = smtputf8.get<bool>();
    // RFC 8689's flags came later: a server without them answers without them.
    envelope.requiretls = message.value("requiretls", false);
    envelope.tls_required_no = message.value("tls_required_no", false);
    if (message.contains("moved_from")) envelope.moved_from = string_at(message, "moved_from");
    envelope.connector = string_at(message, "connector");
    const Json& client = message.at("client");
    envelope.client_address = string_at(client, "address");
    envelope.client_helo = string_at(client, "helo");
    const Json& tls = message.at("tls");
    if (!tls.is_null()) {
      envelope.tls_version = string_at(tls, "version");
      envelope.tls_cipher = string_at(tls, "cipher");
    }
    const Json& recipients = message.at("recipients");
    if (!recipients.is_array()) return std::nullopt;
    for (const auto& item : recipients) {
      Recipient r;
      r.address = string_at(item, "address");
      auto state = state_from_name(string_at(item, "state"));
      if (!state) return std::nullopt;
      r.state = *state;
      const Json& attempts = item.at("attempts");
      if (!attempts.is_number_integer() || attempts.get<std::int64_t>() < 0 ||
          attempts.get<std::int64_t>() > 1'000'000'000)
        return std::nullopt;
      r.attempts = attempts.get<int>();
      r.next_hop = string_at(item, "next_hop");
      r.last_reply = smtp::parse_reply_text(string_at(item, "last_reply"));
      if (item.contains("tls_policy")) r.tls_policy = string_at(item, "tls_policy");
      if (!time_from_json(item.at("next_attempt"), r.next_attempt) ||
          !time_from_json(item.at("last_attempt"), r.last_attempt))
        return std::nullopt;
      envelope.recipients.push_back(std::move(r));
    }
    return envelope;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

std::string render_hop_rows(const std::vector<HopRow>& rows, TimePoint now) {
  if (rows.empty()) return "No queued messages.\n";
  struct Line {
    std::string hop, status, messages, retry, error;
  };
  std::vector<Line> lines{{"NEXT HOP", "STATUS", "MESSAGES", "NEXT RETRY", "LAST ERROR"}};
  for (const auto& row : rows)
    lines.push_back({printable(row.next_hop), printable(row.status), std::to_string(row.messages),
                     row.next_retry ? relative_time(*row.next_retry, now) : "-",
                     row.last_error.empty() ? "-" : printable(row.last_error)});
  std::size_t w[4] = {};
  for (const auto& l : lines) {
    w[0] = std::max(w[0], width(l.hop));
    w[1] = std::max(w[1], width(l.status));
    w[2] = std::max(w[2], width(l.messages));
    w[3] = std::max(w[3], width(l.retry));
  }
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    out += fmt::format("{}  {}  {}  {}  {}\n", pad(l.hop, w[0]), pad(l.status, w[1]), pad(l.messages, w[2], i > 0),
                       pad(l.retry, w[3]), l.error);
  }
  return out;
}

std::string render_message(const Envelope& envelope, TimePoint now) {
  std::string out = fmt::format("Message {}\n", printable(envelope.id));
  // Every value starts in the same column, top-level and per-recipient fields alike.
  auto field = [&](std::string_view name, const std::string& value, std::size_t indent = 2) {
    out += std::string(indent, ' ') + pad(std::string(name) + ":", 16 - indent) + value + "\n";
  };
  field("From", envelope.mail_from.empty() ? "<> (null sender)" : "<" + printable(envelope.mail_from) + ">");
  field("Received", time_with_relative(envelope.received, now));
  field("Size", fmt::format("{} bytes", envelope.size));
  field("Body", printable(envelope.body_type) + (envelope.smtputf8 ? ", SMTPUTF8" : ""));
  field("Connector", printable(envelope.connector));
  field("Client", printable(envelope.client_address) +
                      (envelope.client_helo.empty() ? "" : " (" + printable(envelope.client_helo) + ")"));
  field("TLS", envelope.tls_version.empty() ? "none (plaintext)"
                                            : printable(envelope.tls_version) + " " + printable(envelope.tls_cipher));
  // What the sender asked of TLS on the way (RFC 8689), only when it asked something.
  if (envelope.requiretls) field("REQUIRETLS", "yes: only over authenticated TLS to servers that offer REQUIRETLS");
  if (envelope.tls_required_no) field("TLS-Required", "No: DANE and MTA-STS failures do not hold the message");
  // A moved message: Received is its original arrival, Client the node it was moved from.
  if (!envelope.moved_from.empty())
    field("Moved from", "queue id " + printable(envelope.moved_from) + " on the client");
  out += fmt::format("Recipients ({}):\n", envelope.recipients.size());
  for (const auto& r : envelope.recipients) {
    out += fmt::format("  <{}>\n", printable(r.address));
    field("State", fmt::format("{}, {} attempt{}", state_name(r.state), r.attempts, r.attempts == 1 ? "" : "s"), 4);
    field("Next hop", printable(recipient_hop(r)), 4);
    field("Last try", r.last_attempt == TimePoint{} ? "-" : time_with_relative(r.last_attempt, now), 4);
    std::string next = "-";
    if (r.waiting()) next = r.next_attempt > now ? time_with_relative(r.next_attempt, now) : "now";
    field("Next try", next, 4);
    field("Last reply", r.last_reply.empty() ? "-" : printable(r.last_reply.one_line()), 4);
    if (!r.tls_policy.empty()) field("TLS policy", printable(r.tls_policy), 4);
  }
  return out;
}

}  // namespace sluice::queue
