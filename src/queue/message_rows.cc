#include "queue/message_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <tuple>

#include "queue/view_format.h"

namespace sluice::queue {

using TimePoint = std::chrono::system_clock::time_point;
using Json = nlohmann::json;

namespace {

std::string retry_text(const std::optional<TimePoint>& next_retry, TimePoint now) {
  return next_retry ? relative_time(*next_retry, now) : "-";
}

/// "1h 5m": how long ago, without the "ago".
std::string age_text(TimePoint received, TimePoint now) {
  if (received >= now) return "0s";
  std::string text = relative_time(received, now);
  return text.substr(0, text.size() - std::string_view(" ago").size());
}

}  // namespace

std::vector<MessageMatch> matching_messages(const std::vector<const Envelope*>& envelopes, const QueueFilter& filter,
                                            const LiveHops& live, TimePoint now) {
  std::vector<MessageMatch> out;
  for (const Envelope* envelope : envelopes) {
    if (!matches_message(filter, *envelope, now)) continue;
    Standing standing;
    for (const auto& r : envelope->recipients) {
      if (!r.waiting()) continue;
      std::string hop = recipient_hop(r);
      if (!matches_recipient(filter, r, hop)) continue;
      combine(standing, recipient_standing(*envelope, r, hop, live, now));
    }
    // Nothing waits, but the message is kept for the notice it owes: listed when no recipient
    // test (nor a status) asks for waiting recipients.
    if (standing.status.empty() && !envelope->pending_notices.empty() && !filter.selects_recipients())
      standing.status = kBouncePending;
    if (standing.status.empty()) continue;  // no recipient waiting, or none selected
    if (!filter.status.empty() && standing.status != filter.status) continue;
    out.push_back({envelope, standing});
  }
  return out;
}

std::pair<TimePoint, std::string_view> age_key(const Envelope& envelope) {
  // To the microsecond, as the JSON times are: a page's last row is the next page's cursor.
  return {std::chrono::floor<std::chrono::microseconds>(envelope.received), envelope.id};
}

bool older(const MessageMatch& a, const MessageMatch& b) { return age_key(*a.envelope) < age_key(*b.envelope); }

MessageRow message_row(const MessageMatch& match, const LiveHops& live, TimePoint now) {
  const Envelope& envelope = *match.envelope;
  MessageRow row{envelope.id,
                 envelope.received,
                 envelope.size,
                 envelope.mail_from,
                 std::string(match.standing.status),
                 match.standing.next_retry,
                 {},
                 {}};
  for (const auto& r : envelope.recipients) {
    RecipientRow line{r.address, "", recipient_hop(r), r.attempts, r.last_reply.one_line(), std::nullopt};
    if (r.waiting()) {
      Standing standing = recipient_standing(envelope, r, line.next_hop, live, now);
      line.status = std::string(standing.status);
      line.next_retry = standing.next_retry;
      row.next_hops.push_back(line.next_hop);
    } else {
      line.status = r.state == Recipient::State::Delivered ? "Delivered" : "Failed";
    }
    row.recipients.push_back(std::move(line));
  }
  std::sort(row.next_hops.begin(), row.next_hops.end());
  row.next_hops.erase(std::unique(row.next_hops.begin(), row.next_hops.end()), row.next_hops.end());
  return row;
}

Json message_rows_json(const std::vector<MessageRow>& rows) {
  Json out = Json::array();
  for (const auto& row : rows) {
    Json recipients = Json::array();
    for (const auto& r : row.recipients)
      recipients.push_back({{"address", r.address},
                            {"status", r.status},
                            {"next_hop", r.next_hop},
                            {"attempts", r.attempts},
                            {"last_error", r.last_error},
                            {"next_retry", optional_time_json(r.next_retry)}});
    out.push_back({{"id", row.id},
                   {"received", format_utc_time(row.received)},
                   {"size", row.size},
                   {"from", row.from},
                   {"status", row.status},
                   {"next_retry", optional_time_json(row.next_retry)},
                   {"next_hops", row.next_hops},
                   {"recipients", std::move(recipients)}});
  }
  return out;
}

std::optional<std::vector<MessageRow>> message_rows_from_json(const Json& rows) {
  auto read_recipient = [](const Json& r, RecipientRow& line) {
    line.address = string_at(r, "address");
    line.status = string_at(r, "status");
    line.next_hop = string_at(r, "next_hop");
    line.last_error = string_at(r, "last_error");
    std::uint64_t attempts = 0;
    if (!count_from_json(r.at("attempts"), attempts) || attempts > 1'000'000'000 ||
        !optional_time_from_json(r.at("next_retry"), line.next_retry))
      return false;
    line.attempts = static_cast<int>(attempts);
    return true;
  };
  return rows_from_json<MessageRow>(rows, [&](const Json& item, MessageRow& row) {
    row.id = string_at(item, "id");
    row.from = string_at(item, "from");
    row.status = string_at(item, "status");
    if (!time_from_json(item.at("received"), row.received) || !count_from_json(item.at("size"), row.size) ||
        !optional_time_from_json(item.at("next_retry"), row.next_retry))
      return false;
    const Json& hops = item.at("next_hops");
    if (!hops.is_array()) return false;
    for (const auto& hop : hops) row.next_hops.push_back(hop.get<std::string>());
    auto recipients = rows_from_json<RecipientRow>(item.at("recipients"), read_recipient);
    if (!recipients) return false;
    row.recipients = std::move(*recipients);
    return true;
  });
}

std::string render_message_rows(const std::vector<MessageRow>& rows, TimePoint now,
                                const std::vector<std::string>& nodes) {
  if (rows.empty()) return "No queued messages.\n";
  using Cells = std::vector<std::string>;
  // Messages and recipients are two tables interleaved: each aligned with its own kind.
  std::vector<Cells> messages{{"ID", "STATUS", "AGE", "SIZE", "FROM", "NEXT HOP", "NEXT RETRY"}};
  // The fleet view's NODE column comes first (fleet_view.h).
  const std::size_t node_column = nodes.empty() ? 0 : 1;
  if (node_column) messages[0].insert(messages[0].begin(), "NODE");
  std::vector<std::vector<Cells>> recipients{{}};
  for (std::size_t m = 0; m < rows.size(); ++m) {
    const auto& row = rows[m];
    std::string hops;
    for (const auto& hop : row.next_hops) hops += (hops.empty() ? "" : ",") + printable(hop);
    messages.push_back({printable(row.id), printable(row.status), age_text(row.received, now), std::to_string(row.size),
                        row.from.empty() ? "<>" : printable(row.from), hops.empty() ? "-" : hops,
                        retry_text(row.next_retry, now)});
    if (node_column) messages.back().insert(messages.back().begin(), printable(m < nodes.size() ? nodes[m] : ""));
    auto& lines = recipients.emplace_back();
    for (const auto& r : row.recipients)
      lines.push_back({printable(r.address), printable(r.status), printable(r.next_hop), retry_text(r.next_retry, now),
                       r.last_error.empty() ? "-" : printable(r.last_error)});
  }
  auto widths = [](const auto& tables, std::size_t columns) {
    std::vector<std::size_t> w(columns, 0);
    for (const auto& table : tables)
      for (const auto& cells : table)
        for (std::size_t i = 0; i + 1 < columns; ++i) w[i] = std::max(w[i], width(cells[i]));
    return w;
  };
  auto message_w = widths(std::array{messages}, 7 + node_column);
  auto recipient_w = widths(recipients, 5);
  auto line = [](const Cells& cells, const std::vector<std::size_t>& w, std::string indent, std::size_t right) {
    for (std::size_t i = 0; i < cells.size(); ++i)
      indent += i + 1 == cells.size() ? cells[i] : pad(cells[i], w[i], i == right) + "  ";
    return indent + "\n";
  };
  std::string out = line(messages[0], message_w, "", 99);
  for (std::size_t m = 1; m < messages.size(); ++m) {
    out += line(messages[m], message_w, "", 3 + node_column);  // SIZE right-aligned
    for (const auto& cells : recipients[m]) out += line(cells, recipient_w, "    ", 99);
  }
  return out;
}

}  // namespace sluice::queue
