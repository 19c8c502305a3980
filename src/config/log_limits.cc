// [protocol_log] and the size and age keys of [message_tracking] (docs/configuration.md): how large
// log files grow and how long their directories keep them, written as an Exchange administrator
// writes ReceiveProtocolLogMaxFileSize 10MB or MessageTrackingLogMaxAge 30.00:00:00: sizes in
// bytes or "10MB" (binary units, as Exchange's), ages as "30d", and "unlimited".
#include "config/toml_reader.h"  // first: what this file implements (fuzz/run.sh finds it so)

#include <fmt/core.h>

#include <limits>

#include "base/text.h"
#include "base/unit_duration.h"

namespace sluice::config::detail {
namespace {

constexpr std::string_view kProtocolLogKeys[] = {"max_file_size", "max_age", "max_directory_size", "receive", "send"};
// Exchange's own upper bound for MaxAge (24855.03:14:07, the largest .NET TimeSpan in seconds of an int).
constexpr std::int64_t kMaxAgeDays = 24855;

struct SizeUnit {
  std::string_view name;
  std::uint64_t bytes;
};
constexpr SizeUnit kSizeUnits[] = {
    {"B", 1}, {"KB", 1ull << 10}, {"MB", 1ull << 20}, {"GB", 1ull << 30}, {"TB", 1ull << 40}};

[[noreturn]] void fail_expected(const TomlReader& r, const toml::node& node, std::string_view path,
                                std::string_view forms) {
  r.fail(node, path, fmt::format("expected {}, got {}", forms, type_name(node.type())));
}

bool is_unlimited(const toml::node& node) { return node.is_string() && node.as_string()->get() == "unlimited"; }

// "10MB", "512 KB", "1gb": a whole number and a unit; nullopt for anything else or an overflow.
std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  std::uint64_t number = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    if (digits == 15) return std::nullopt;
    number = number * 10 + static_cast<std::uint64_t>(text[digits++] - '0');
  }
  if (digits == 0) return std::nullopt;
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  for (const SizeUnit& u : kSizeUnits) {
    if (ascii_upper(unit) != u.name) continue;
    if (number > std::numeric_limits<std::uint64_t>::max() / u.bytes) return std::nullopt;
    return number * u.bytes;
  }
  return std::nullopt;
}

// A size greater than 0, or 0 for "unlimited" when `may_be_unlimited`.
std::uint64_t read_size(const TomlReader& r, const toml::node& node, const std::string& path, bool may_be_unlimited) {
  if (may_be_unlimited && is_unlimited(node)) return 0;
  const std::string_view forms = may_be_unlimited ? "bytes (10485760), a size such as \"10MB\", or \"unlimited\""
                                                  : "bytes (10485760) or a size such as \"10MB\"";
  if (node.is_integer()) return static_cast<std::uint64_t>(r.positive(node, path));
  if (!node.is_string()) fail_expected(r, node, path, forms);
  const std::string& text = node.as_string()->get();
  const auto size = parse_size(text);
  if (!size)
    r.fail(node, path, fmt::format("{} is not a size; write {} (units B, KB, MB, GB, TB)", shown(text), forms));
  if (*size == 0) r.fail(node, path, "must be greater than 0");
  return *size;
}

std::chrono::seconds read_age(const TomlReader& r, const toml::node& node, const std::string& path) {
  static constexpr DurationUnit kUnits[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
  if (is_unlimited(node)) return std::chrono::seconds(0);
  std::optional<std::int64_t> seconds;
  if (node.is_integer()) {
    seconds = node.as_integer()->get();
  } else if (node.is_string()) {
    seconds = parse_unit_duration(node.as_string()->get(), kUnits);
    if (!seconds)
      r.fail(node, path,
             fmt::format("{} is not an age; write a string such as \"30d\", \"12h\", \"1d12h\", or \"unlimited\"",
                         shown(node.as_string()->get())));
  } else {
    fail_expected(r, node, path, "whole seconds or a string such as \"30d\", or \"unlimited\"");
  }
  if (*seconds <= 0) r.fail(node, path, "must be greater than 0 (\"unlimited\" keeps files whatever their age)");
  if (*seconds > kMaxAgeDays * 86400) r.fail(node, path, fmt::format("must not be longer than {} days", kMaxAgeDays));
  return std::chrono::seconds(*seconds);
}

}  // namespace

void read_log_limits(const TomlReader& r, const toml::table& t, std::string_view path, LogLimits& limits) {
  if (const toml::node* n = t.get("max_file_size"))
    limits.max_file_size = read_size(r, *n, join(path, "max_file_size"), false);
  if (const toml::node* n = t.get("max_age")) limits.max_age = read_age(r, *n, join(path, "max_age"));
  if (const toml::node* n = t.get("max_directory_size"))
    limits.max_directory_size = read_size(r, *n, join(path, "max_directory_size"), true);
  // Exchange refuses a file size above the directory size: the directory could not hold one file.
  if (limits.max_directory_size != 0 && limits.max_file_size > limits.max_directory_size)
    r.fail(t, std::string(path),
           fmt::format("max_file_size ({} bytes) is larger than max_directory_size ({} bytes)", limits.max_file_size,
                       limits.max_directory_size));
}

void read_protocol_log(const TomlReader& r, const toml::table& root, Config& config) {
  const toml::node* node = root.get("protocol_log");
  if (!node) return;
  const toml::table& t = r.table(*node, "protocol_log");
  r.check_keys(t, "protocol_log", kProtocolLogKeys);
  LogLimits both = config.protocol_log.receive;
  read_log_limits(r, t, "protocol_log", both);
  config.protocol_log.receive = config.protocol_log.send = both;
  const std::pair<std::string_view, LogLimits ProtocolLogSettings::*> directions[] = {
      {"receive", &ProtocolLogSettings::receive}, {"send", &ProtocolLogSettings::send}};
  for (const auto& [key, field] : directions) {
    const toml::node* n = t.get(key);
    if (!n) continue;
    const std::string path = join("protocol_log", key);
    const toml::table& direction = r.table(*n, path);
    r.check_keys(direction, path, kLogLimitKeys);
    read_log_limits(r, direction, path, config.protocol_log.*field);
  }
}

}  // namespace sluice::config::detail
