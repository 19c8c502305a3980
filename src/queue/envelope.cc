#include "queue/envelope.h"
#include "base/lookup.h"
#include "base/text.h"

#include <fmt/format.h>

#include <limits>
#include <nlohmann/json.hpp>

namespace sluice::queue {

std::pair<std::string, std::string> split_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {std::string(address), {}};
  return {std::string(address.substr(0, at)), std::string(address.substr(at + 1))};
}
namespace {

using OrderedJson = nlohmann::ordered_json;  // keeps our field order, which reads better than sorted
using std::chrono::system_clock;

constexpr int kFormatVersion = 1;

// Reads exactly `count` digits at text[pos], advancing pos; -1 when they are not all digits.
long take_digits(std::string_view text, std::size_t& pos, std::size_t count) {
  if (pos + count > text.size()) return -1;
  long value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

bool take_char(std::string_view text, std::size_t& pos, char expected) {
  if (pos >= text.size() || text[pos] != expected) return false;
  ++pos;
  return true;
}

// Field readers: each returns false when the field is missing or has the wrong type.
bool read_string(const OrderedJson& object, const char* key, std::string& out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

bool read_time(const OrderedJson& object, const char* key, bool nullable, system_clock::time_point& out) {
  auto it = object.find(key);
  if (it == object.end()) return false;
  if (it->is_null()) {
    out = {};
    return nullable;
  }
  if (!it->is_string()) return false;
  auto time = parse_utc_time(it->get_ref<const std::string&>());
  if (!time) return false;
  out = *time;
  return true;
}

// A boolean added after the first release: absent reads as false; present, it must be a boolean.
bool read_optional_flag(const OrderedJson& object, const char* key, bool& out) {
  auto it = object.find(key);
  if (it == object.end()) return true;
  if (!it->is_boolean()) return false;
  out = it->get<bool>();
  return true;
}

// The epoch stands for "never" (or "as soon as possible"), which reads better as null.
OrderedJson time_or_null(system_clock::time_point time) {
  return time == system_clock::time_point{} ? OrderedJson(nullptr) : OrderedJson(format_utc_time(time));
}

std::optional<Recipient> recipient_from_json(const OrderedJson& object) {
  if (!object.is_object()) return std::nullopt;
  Recipient recipient;
  std::string state, last_reply;
  if (!read_string(object, "address", recipient.address) || !read_string(object, "state", state) ||
      !read_string(object, "last_reply", last_reply) ||
      !read_time(object, "next_attempt", true, recipient.next_attempt)) {
    return std::nullopt;
  }
  recipient.last_reply = smtp::parse_reply_text(last_reply);
  auto parsed_state = state_from_name(state);
  if (!parsed_state) return std::nullopt;
  recipient.state = *parsed_state;
  auto attempts = object.find("attempts");
  if (attempts == object.end() || !attempts->is_number_integer()) return std::nullopt;
  auto count = attempts->get<std::int64_t>();
  if (count < 0 || count > std::numeric_limits<int>::max()) return std::nullopt;
  recipient.attempts = static_cast<int>(count);
  // Added after the first release: absent in older spool files, which must still load.
  if (object.contains("next_hop") && !read_string(object, "next_hop", recipient.next_hop)) {
    return std::nullopt;
  }
  if (object.contains("last_attempt") && !read_time(object, "last_attempt", true, recipient.last_attempt)) {
    return std::nullopt;
  }
  if (object.contains("tls_policy") && !read_string(object, "tls_policy", recipient.tls_policy)) return std::nullopt;
  return recipient;
}

OrderedJson notice_to_json(const PendingNotice& notice) {
  OrderedJson rows = OrderedJson::array();
  for (const auto& row : notice.rows)
    rows.push_back({{"recipient", row.recipient},
                    {"status", row.status},
                    {"diagnostic", row.diagnostic},
                    {"remote_mta", row.remote_mta},
                    {"last_attempt", time_or_null(row.last_attempt)}});
  return {{"id", notice.id}, {"type", notice.delay_warning ? "delay" : "bounce"}, {"recipients", std::move(rows)}};
}

std::optional<PendingNotice> notice_from_json(const OrderedJson& object, std::size_t recipient_count) {
  if (!object.is_object()) return std::nullopt;
  PendingNotice notice;
  std::string type;
  if (!read_string(object, "id", notice.id) || !valid_queue_id(notice.id) || !read_string(object, "type", type) ||
      (type != "bounce" && type != "delay"))
    return std::nullopt;
  notice.delay_warning = type == "delay";
  auto rows = object.find("recipients");
  if (rows == object.end() || !rows->is_array() || rows->empty()) return std::nullopt;
  for (const auto& item : *rows) {
    PendingNotice::Row row;
    if (!item.is_object()) return std::nullopt;
    auto index = item.find("recipient");
    if (index == item.end() || !index->is_number_unsigned() || index->get<std::uint64_t>() >= recipient_count)
      return std::nullopt;
    row.recipient = index->get<std::size_t>();
    if (!read_string(item, "status", row.status) || !read_string(item, "diagnostic", row.diagnostic) ||
        !read_string(item, "remote_mta", row.remote_mta) || !read_time(item, "last_attempt", true, row.last_attempt))
      return std::nullopt;
    notice.rows.push_back(std::move(row));
  }
  return notice;
}

}  // namespace

std::string recipient_hop(const Recipient& recipient) {
  if (!recipient.next_hop.empty()) return recipient.next_hop;
  auto domain = split_address(recipient.address).second;
  return domain.empty() ? std::string("local") : ascii_lower(domain);
}

constexpr Named<Recipient::State> kRecipientStateNames[] = {{Recipient::State::Pending, "pending"},
                                                            {Recipient::State::Delivered, "delivered"},
                                                            {Recipient::State::Deferred, "deferred"},
                                                            {Recipient::State::Failed, "failed"}};

const char* state_name(Recipient::State state) {
  return name_of(kRecipientStateNames, state).value_or("unknown").data();
}

std::optional<Recipient::State> state_from_name(std::string_view name) { return key_named(kRecipientStateNames, name); }

bool valid_queue_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!ok) return false;
  }
  return true;
}

std::string format_utc_time(system_clock::time_point time) {
  using namespace std::chrono;
  auto micros = floor<microseconds>(time);
  auto day = floor<days>(micros);
  year_month_day date{day};
  hh_mm_ss clock{micros - day};
  std::string text =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", int(date.year()), unsigned(date.month()), unsigned(date.day()),
                  clock.hours().count(), clock.minutes().count(), clock.seconds().count());
  if (clock.subseconds().count() != 0) text += fmt::format(".{:06}", clock.subseconds().count());
  return text + "Z";
}

std::optional<system_clock::time_point> parse_utc_time(std::string_view text) {
  using namespace std::chrono;
  std::size_t pos = 0;
  long y = take_digits(text, pos, 4);
  if (y < 0 || !take_char(text, pos, '-')) return std::nullopt;
  long mo = take_digits(text, pos, 2);
  if (mo < 0 || !take_char(text, pos, '-')) return std::nullopt;
  long d = take_digits(text, pos, 2);
  if (d < 0 || !take_char(text, pos, 'T')) return std::nullopt;
  long h = take_digits(text, pos, 2);
  if (h < 0 || h > 23 || !take_char(text, pos, ':')) return std::nullopt;
  long mi = take_digits(text, pos, 2);
  if (mi < 0 || mi > 59 || !take_char(text, pos, ':')) return std::nullopt;
  long s = take_digits(text, pos, 2);
  if (s < 0 || s > 59) return std::nullopt;  // leap seconds are not ours to keep
  long micros = 0;
  if (take_char(text, pos, '.')) {
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 6) micros = micros * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (; digits < 6; ++digits) micros *= 10;
  }
  if (!take_char(text, pos, 'Z') || pos != text.size()) return std::nullopt;
  year_month_day date{year{int(y)}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!date.ok()) return std::nullopt;
  return sys_days{date} + hours{h} + minutes{mi} + seconds{s} + microseconds{micros};
}

std::string envelope_to_json(const Envelope& envelope) {
  OrderedJson recipients = OrderedJson::array();
  for (const auto& r : envelope.recipients) {
    recipients.push_back({
        {"address", r.address},
        {"state", state_name(r.state)},
        {"attempts", r.attempts},
        {"last_reply", r.last_reply.one_line()},
        {"next_attempt", time_or_null(r.next_attempt)},
        {"next_hop", r.next_hop},
        {"last_attempt", time_or_null(r.last_attempt)},
    });
    if (!r.tls_policy.empty()) recipients.back()["tls_policy"] = r.tls_policy;
  }
  OrderedJson object = {
      {"format", kFormatVersion},
      {"id", envelope.id},
      {"mail_from", envelope.mail_from},
      {"recipients", std::move(recipients)},
      {"body_type", envelope.body_type},
      {"smtputf8", envelope.smtputf8},
      {"size", envelope.size},
      {"received", format_utc_time(envelope.received)},
      {"client_address", envelope.client_address},
      {"client_helo", envelope.client_helo},
      {"connector", envelope.connector},
      {"tls_version", envelope.tls_version},
      {"tls_cipher", envelope.tls_cipher},
      {"delay_warning_sent", envelope.delay_warning_sent},
      {"message_id", envelope.message_id},
  };
  // Only when there was a rewrite: most envelopes have none, and older files lack the key.
  if (!envelope.original_mail_from.empty()) object["original_mail_from"] = envelope.original_mail_from;
  // RFC 8689's flags: written only when set, as most messages have neither.
  if (envelope.requiretls) object["requiretls"] = true;
  if (envelope.tls_required_no) object["tls_required_no"] = true;
  // Only a moved message has it (sluice queue move).
  if (!envelope.moved_from.empty()) object["moved_from"] = envelope.moved_from;
  // The same: only a message that owes its sender a DSN has them.
  if (!envelope.pending_notices.empty()) {
    OrderedJson notices = OrderedJson::array();
    for (const auto& notice : envelope.pending_notices) notices.push_back(notice_to_json(notice));
    object["pending_notices"] = std::move(notices);
  }
  // replace: a stray 8-bit byte in a HELO name must not make the message unstorable.
  return object.dump(2, ' ', false, OrderedJson::error_handler_t::replace) + "\n";
}

std::optional<Envelope> envelope_from_json(std::string_view text) {
  try {
    OrderedJson object = OrderedJson::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (!object.is_object()) return std::nullopt;
    auto format = object.find("format");
    if (format == object.end() || !format->is_number_integer() || format->get<std::int64_t>() != kFormatVersion) {
      return std::nullopt;
    }
    Envelope envelope;
    if (!read_string(object, "id", envelope.id) || !valid_queue_id(envelope.id) ||
        !read_string(object, "mail_from", envelope.mail_from) ||
        !read_string(object, "body_type", envelope.body_type) ||
        !read_time(object, "received", false, envelope.received) ||
        !read_string(object, "client_address", envelope.client_address) ||
        !read_string(object, "client_helo", envelope.client_helo) ||
        !read_string(object, "connector", envelope.connector) ||
        !read_string(object, "tls_version", envelope.tls_version) ||
        !read_string(object, "tls_cipher", envelope.tls_cipher)) {
      return std::nullopt;
    }
    auto smtputf8 = object.find("smtputf8");
    if (smtputf8 == object.end() || !smtputf8->is_boolean()) return std::nullopt;
    envelope.smtputf8 = smtputf8->get<bool>();
    auto size = object.find("size");
    if (size == object.end() || !size->is_number_unsigned()) return std::nullopt;
    envelope.size = size->get<std::uint64_t>();
    // Optional for the same reason as the recipients' next_hop and last_attempt.
    auto warned = object.find("delay_warning_sent");
    if (warned != object.end()) {
      if (!warned->is_boolean()) return std::nullopt;
      envelope.delay_warning_sent = warned->get<bool>();
    }
    if (object.contains("message_id") && !read_string(object, "message_id", envelope.message_id)) return std::nullopt;
    if (!read_optional_flag(object, "requiretls", envelope.requiretls) ||
        !read_optional_flag(object, "tls_required_no", envelope.tls_required_no))
      return std::nullopt;
    if (object.contains("original_mail_from") &&
        !read_string(object, "original_mail_from", envelope.original_mail_from))
      return std::nullopt;
    if (object.contains("moved_from") &&
        (!read_string(object, "moved_from", envelope.moved_from) || !valid_queue_id(envelope.moved_from)))
      return std::nullopt;
    auto recipients = object.find("recipients");
    if (recipients == object.end() || !recipients->is_array()) return std::nullopt;
    for (const auto& item : *recipients) {
      auto recipient = recipient_from_json(item);
      if (!recipient) return std::nullopt;
      envelope.recipients.push_back(std::move(*recipient));
    }
    if (auto notices = object.find("pending_notices"); notices != object.end()) {
      if (!notices->is_array()) return std::nullopt;
      for (const auto& item : *notices) {
        auto notice = notice_from_json(item, envelope.recipients.size());
        if (!notice) return std::nullopt;
        envelope.pending_notices.push_back(std::move(*notice));
      }
    }
    return envelope;
  } catch (const std::exception&) {
    // The checks above should leave nothing to throw; this is the "never throws" guarantee.
    return std::nullopt;
  }
}

}  // namespace sluice::queue
