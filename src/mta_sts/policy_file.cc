#include "mta_sts/policy_file.h"

#include <fmt/format.h>

#include <optional>
#include <string_view>

#include "base/text.h"
#include "base/utf8.h"

namespace sluice::mta_sts {
namespace {

// sts-policy-mx-value = ["*."] Domain: letters, digits and hyphens in dot-separated labels.
bool is_mx_pattern(std::string_view pattern) {
  if (pattern.starts_with("*.")) pattern.remove_prefix(2);
  if (pattern.empty() || pattern.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= pattern.size(); ++i) {
    if (i == pattern.size() || pattern[i] == '.') {
      if (label == 0 || label > 63 || pattern[i - 1] == '-' || pattern[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = pattern[i];
    if (!is_ascii_digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '-') return false;
    ++label;
  }
  return true;
}

std::optional<Mode> mode_named(std::string_view value) {
  if (value == "enforce") return Mode::Enforce;
  if (value == "testing") return Mode::Testing;
  if (value == "none") return Mode::None;
  return std::nullopt;
}

struct PolicyFields {
  std::optional<std::string> version;
  std::optional<Mode> mode;
  std::optional<long long> max_age;
};

// One "key: value" line into `fields`/`policy`; an error names what is wrong with it.
Result<void> read_policy_line(std::string_view key, std::string_view value, PolicyFields& fields, Policy& policy) {
  auto once = [&](bool seen) -> Result<void> {
    if (seen) return fail(fmt::format("{} given twice", key));
    return {};
  };
  if (key == "version") {
    if (auto r = once(fields.version.has_value()); !r) return r;
    if (value != "STSv1") return fail(fmt::format("version \"{}\" is not STSv1", escape_control_characters(value)));
    fields.version = std::string(value);
  } else if (key == "mode") {
    if (auto r = once(fields.mode.has_value()); !r) return r;
    fields.mode = mode_named(value);
    if (!fields.mode)
      return fail(fmt::format("mode \"{}\" is not enforce, testing or none", escape_control_characters(value)));
  } else if (key == "max_age") {
    if (auto r = once(fields.max_age.has_value()); !r) return r;
    // sts-policy-max-age-value = 1*10(DIGIT)
    if (!all_digits(value) || value.size() > 10)
      return fail(fmt::format("max_age \"{}\" is not a number of seconds", escape_control_characters(value)));
    const long long seconds = std::stoll(std::string(value));
    if (seconds > kMaxPolicyAge)
      return fail(fmt::format("max_age {} is more than the RFC's maximum of {}", seconds, kMaxPolicyAge));
    fields.max_age = seconds;
  } else if (key == "mx") {
    if (!is_mx_pattern(value))
      return fail(fmt::format("mx \"{}\" is not a host name or *.domain", escape_control_characters(value)));
    policy.mx.emplace_back(ascii_lower(value));
  }  // other keys: extensions of later versions, ignored (RFC 8461 3.2)
  return {};
}

}  // namespace

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::Enforce:
      return "enforce";
    case Mode::Testing:
      return "testing";
    case Mode::None:
      break;
  }
  return "none";
}

Result<Policy> parse_policy(const std::string& text) {
  if (text.size() > kMaxPolicySize)
    return fail(fmt::format("the policy is {} bytes, more than the limit of {}", text.size(), kMaxPolicySize));
  Policy policy;
  PolicyFields fields;
  std::string_view rest = text;
  int number = 0;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    ++number;
    if (line.ends_with('\r')) line.remove_suffix(1);  // sts-policy-term = LF / CRLF
    if (trim_wsp(line).empty()) continue;             // a blank line, as after the last term: harmless
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
      return fail(fmt::format("line {} is not \"key: value\": \"{}\"", number, escape_control_characters(line)));
    // sts-policy-field-delim = ":" *WSP; the key is exactly the name, lower case, no space before ':'.
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = trim_wsp(line.substr(colon + 1));
    if (auto read = read_policy_line(key, value, fields, policy); !read)
      return fail(fmt::format("line {}: {}", number, read.error().message));
  }
  if (!fields.version) return fail("no \"version: STSv1\"");
  if (!fields.mode) return fail("no mode");
  if (!fields.max_age) return fail("no max_age");
  if (policy.mx.empty() && *fields.mode != Mode::None) return fail("no mx");
  policy.mode = *fields.mode;
  policy.max_age = std::chrono::seconds(*fields.max_age);
  policy.text = text;
  return policy;
}

}  // namespace sluice::mta_sts
