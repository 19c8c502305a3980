#include "queue/queue_filter.h"

#include <fmt/format.h>

#include <array>
#include <limits>

#include "base/text.h"
#include "base/unit_duration.h"

namespace sluice::queue {

using std::chrono::system_clock;
using Json = nlohmann::json;

namespace {
char lower_ascii_char(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool QueueFilter::empty() const {
  return hop.empty() && domain.empty() && sender.empty() && recipient.empty() && status.empty() && !older_than &&
         !received_before;
}

Result<std::chrono::seconds> parse_age(std::string_view text) {
  const auto bad = [&] {
    return fail(
        fmt::format("\"{}\" is not a duration: use a number and a unit, e.g. 90s, 30m, 2h, 1d, 1w or 1d12h", text));
  };
  // Units in either case ("2H30M"), unlike the configuration's.
  static constexpr DurationUnit kUnits[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
  constexpr std::int64_t kMax = 100LL * 365 * 86400;  // a century: beyond it, a typo
  const auto total = parse_unit_duration(ascii_lower(text), kUnits);
  if (!total || *total > kMax) return bad();
  return std::chrono::seconds(*total);
}

Result<std::string> parse_status(std::string_view text) {
  for (const char* name : {"Active", "Ready", "Retry"})
    if (ascii_lower(text) == ascii_lower(name)) return std::string(name);
  return fail(fmt::format("\"{}\" is not a status: use Active, Ready or Retry", text));
}

bool pattern_match(std::string_view pattern, std::string_view text) {
  // Iterative glob with one backtracking point: linear in practice, never exponential.
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  auto same = [](char a, char b) { return lower_ascii_char(a) == lower_ascii_char(b); };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && same(pattern[p], text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool matches_message(const QueueFilter& filter, const Envelope& envelope, system_clock::time_point now) {
  if (!filter.sender.empty()) {
    if (filter.sender == "<>" ? !envelope.mail_from.empty() : !pattern_match(filter.sender, envelope.mail_from))
      return false;
  }
  if (filter.older_than && envelope.received > now - *filter.older_than) return false;
  if (filter.received_before && envelope.received >= *filter.received_before) return false;
  return true;
}

bool matches_recipient(const QueueFilter& filter, const Recipient& recipient, std::string_view hop) {
  if (!filter.hop.empty() && ascii_lower(hop) != filter.hop) return false;
  if (!filter.domain.empty() && ascii_lower(hop) != filter.domain) {
    auto at = recipient.address.rfind('@');
    if (at == std::string::npos || ascii_lower(std::string_view(recipient.address).substr(at + 1)) != filter.domain)
      return false;
  }
  if (!filter.recipient.empty() && !pattern_match(filter.recipient, recipient.address)) return false;
  return true;
}

Json filter_json(const QueueFilter& filter) {
  Json out = Json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) out[key] = value;
  };
  put("hop", filter.hop);
  put("domain", filter.domain);
  put("sender", filter.sender);
  put("recipient", filter.recipient);
  put("status", filter.status);
  if (filter.older_than) out["older_than"] = filter.older_than->count();
  if (filter.received_before) out["received_before"] = format_utc_time(*filter.received_before);
  return out;
}

Result<QueueFilter> filter_from_json(const Json& json) {
  if (!json.is_object()) return fail("\"filter\" must be a JSON object");
  QueueFilter filter;
  for (const auto& [key, value] : json.items()) {
    auto text = [&](std::string& into, bool lower) -> Result<void> {
      if (!value.is_string()) return fail(fmt::format("filter \"{}\" must be a string", key));
      into = lower ? ascii_lower(value.get_ref<const std::string&>()) : value.get<std::string>();
      return {};
    };
    Result<void> done;
    if (key == "hop") {
      done = text(filter.hop, true);
    } else if (key == "domain") {
      done = text(filter.domain, true);
    } else if (key == "sender") {
      done = text(filter.sender, false);
    } else if (key == "recipient") {
      done = text(filter.recipient, false);
    } else if (key == "status") {
      std::string name;
      done = text(name, false);
      if (done) {
        auto status = parse_status(name);
        if (!status) return fail(status.error());
        filter.status = *status;
      }
    } else if (key == "older_than") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0)
        return fail("filter \"older_than\" must be a number of seconds");
      filter.older_than = std::chrono::seconds(value.get<std::int64_t>());
    } else if (key == "received_before") {
      auto time = value.is_string() ? parse_utc_time(value.get_ref<const std::string&>()) : std::nullopt;
      if (!time) return fail("filter \"received_before\" must be a UTC time");
      filter.received_before = *time;
    } else {
      return fail(fmt::format("unknown filter \"{}\"", key));
    }
    if (!done) return fail(done.error());
  }
  return filter;
}

}  // namespace sluice::queue
