#include "queue/queue_view.h"
#include "base/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace sluice::queue {

using std::chrono::system_clock;
using TimePoint = system_clock::time_point;

namespace {

using Json = nlohmann::json;

std::string_view domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

bool matches_domain(const Recipient& r, const std::string& hop, const std::string& wanted) {
  if (wanted.empty()) return true;
  return ascii_lower(hop) == wanted || ascii_lower(domain_of(r.address)) == wanted;
}

Json time_json(TimePoint time) { return time == TimePoint{} ? Json(nullptr) : Json(format_utc_time(time)); }

/// Reads an ISO time or null (the epoch); false for anything else.
bool time_from_json(const Json& value, TimePoint& out) {
  if (value.is_null()) {
    out = {};
    return true;
  }
  if (!value.is_string()) return false;
  auto time = parse_utc_time(value.get_ref<const std::string&>());
  if (!time) return false;
  out = *time;
  return true;
}

/// A count: any JSON integer that is not negative (a literal 1 is signed in nlohmann::json).
bool count_from_json(const Json& value, std::uint64_t& out) {
  if (value.is_number_unsigned())
    out = value.get<std::uint64_t>();
  else if (value.is_number_integer() && value.get<std::int64_t>() >= 0)
    out = static_cast<std::uint64_t>(value.get<std::int64_t>());
  else
    return false;
  return true;
}

const std::string& string_at(const Json& object, const char* key) {
  return object.at(key).get_ref<const std::string&>();  // throws type_error when not a string
}

/// Control characters (C0, DEL, C1) as escapes: a peer's reply text must not reach the terminal raw.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02X}", c);
    } else if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned char>(text[i + 1]));
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

/// Columns on a terminal: UTF-8 continuation bytes take none.
std::size_t width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad(std::string_view text, std::size_t columns, bool right = false) {
  std::string fill(columns > width(text) ? columns - width(text) : 0, ' ');
  return right ? fill + std::string(text) : std::string(text) + fill;
}

std::string time_with_relative(TimePoint time, TimePoint now) {
  return fmt::format("{} ({})", format_utc_time(time), relative_time(time, now));
}

}  // namespace

std::vector<HopRow> hop_rows(const std::vector<Envelope>& envelopes, const ViewFilter& filter,
                             const std::map<std::string, HopLive>& live, TimePoint now) {
  std::vector<const Envelope*> pointers;
  pointers.reserve(envelopes.size());
  for (const auto& envelope : envelopes) pointers.push_back(&envelope);
  return hop_rows(pointers, filter, live, now);
}

std::vector<HopRow> hop_rows(const std::vector<const Envelope*>& envelopes, const ViewFilter& filter,
                             const std::map<std::string, HopLive>& live, TimePoint now) {
  struct Accumulator {
    HopRow row;
    const Envelope* last_envelope = nullptr;  // counts each message once per hop
    bool all_waiting = true;                  // every recipient's next attempt is in the future
    TimePoint error_time{};
  };
  const std::string wanted_domain = ascii_lower(filter.domain);
  std::map<std::string, Accumulator> hops;
  for (const Envelope* message : envelopes) {
    const Envelope& envelope = *message;
    for (const auto& r : envelope.recipients) {
      if (!r.waiting()) continue;
      std::string hop = recipient_hop(r);
      if (!matches_domain(r, hop, wanted_domain)) continue;
      auto& acc = hops[hop];
      acc.row.next_hop = hop;
      if (acc.last_envelope != &envelope) {
        ++acc.row.messages;
        acc.last_envelope = &envelope;
      }
      if (r.next_attempt > now) {
        if (!acc.row.next_retry || r.next_attempt < *acc.row.next_retry) acc.row.next_retry = r.next_attempt;
      } else {
        acc.all_waiting = false;
      }
      // The latest attempt's reply; on a tie the later message wins, and an empty reply never
      // hides a real one.
      if (!r.last_reply.empty() && (acc.row.last_error.empty() || r.last_attempt >= acc.error_time)) {
        acc.row.last_error = r.last_reply.one_line();
        acc.error_time = r.last_attempt;
      }
    }
  }
  std::vector<HopRow> rows;
  const std::string wanted_status = ascii_lower(filter.status);
  for (auto& [hop, acc] : hops) {
    auto state = live.find(hop);
    const bool blocked = state != live.end() && state->second.blocked_until > now;
    if (blocked) {
      // Nothing of it is tried before the backoff ends: that is its next retry.
      TimePoint earliest = acc.all_waiting && acc.row.next_retry ? *acc.row.next_retry : now;
      acc.row.next_retry = std::max(earliest, state->second.blocked_until);
      acc.all_waiting = true;
    }
    if (state != live.end() && acc.row.last_error.empty()) acc.row.last_error = state->second.last_error;
    if (state != live.end() && state->second.running > 0)
      acc.row.status = "Active";
    else
      acc.row.status = acc.all_waiting ? "Retry" : "Ready";
    if (!wanted_status.empty() && ascii_lower(acc.row.status) != wanted_status) continue;
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
                   {"next_retry", row.next_retry ? Json(format_utc_time(*row.next_retry)) : Json(nullptr)}});
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
  }
  Json tls = envelope.tls_version.empty() && envelope.tls_cipher.empty()
                 ? Json(nullptr)
                 : Json{{"version", envelope.tls_version}, {"cipher", envelope.tls_cipher}};
  return {{"id", envelope.id},
          {"from", envelope.mail_from},
          {"received", format_utc_time(envelope.received)},
          {"size", envelope.size},
          {"body_type", envelope.body_type},
          {"smtputf8", envelope.smtputf8},
          {"connector", envelope.connector},
          {"client", {{"address", envelope.client_address}, {"helo", envelope.client_helo}}},
          {"tls", std::move(tls)},
          {"recipients", std::move(recipients)}};
}

std::optional<std::vector<HopRow>> hop_rows_from_json(const Json& rows) {
  if (!rows.is_array()) return std::nullopt;
  std::vector<HopRow> out;
  try {
    for (const auto& item : rows) {
      HopRow row;
      row.next_hop = string_at(item, "next_hop");
      row.status = string_at(item, "status");
      row.last_error = string_at(item, "last_error");
      std::uint64_t messages = 0;
      if (!count_from_json(item.at("messages"), messages)) return std::nullopt;
      row.messages = static_cast<std::size_t>(messages);
      TimePoint retry;
      if (!time_from_json(item.at("next_retry"), retry)) return std::nullopt;
      if (retry != TimePoint{}) row.next_retry = retry;
      out.push_back(std::move(row));
    }
  } catch (const Json::exception&) {
    return std::nullopt;
  }
  return out;
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

std::string relative_time(TimePoint when, TimePoint now) {
  using namespace std::chrono;
  auto diff = duration_cast<seconds>(when - now).count();  // truncates toward zero
  if (diff == 0) return "now";
  long long left = std::llabs(diff);
  const std::pair<long long, const char*> units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  std::string text;
  int shown = 0;
  for (const auto& [size, name] : units) {
    long long count = left / size;
    left %= size;
    if (shown == 0 && count == 0) continue;
    if (count != 0) text += fmt::format("{}{}{}", text.empty() ? "" : " ", count, name);
    if (++shown == 2) break;
  }
  return diff > 0 ? "in " + text : text + " ago";
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
  }
  return out;
}

}  // namespace sluice::queue
