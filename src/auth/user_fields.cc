#include "auth/user_fields.h"

#include <crypt.h>
#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cstdint>

#include "base/unit_duration.h"

namespace sluice::auth {
namespace {

bool is_space_or_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u <= ' ' || u == 0x7f;
}

// Characters that would break the line format: field, list and option separators, and the
// rewrite arrow.
bool is_users_file_separator(char c) { return c == ':' || c == ',' || c == '>'; }

// A crypt(3) hash is "$id$[params$]salt$checksum" over the crypt alphabet, plus '=' and ','
// in parameters ("rounds=5000").
bool is_crypt_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/' ||
         c == '$' || c == '=' || c == ',';
}

Result<void> check_address_text(std::string_view text, std::string_view what) {
  if (text.empty()) return fail(fmt::format("{} is empty", what));
  for (char c : text)
    if (is_space_or_control(c) || is_users_file_separator(c))
      return fail(fmt::format("{} \"{}\" contains a space, control character, ':', ',' or '>'", what, text));
  auto at = text.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size() ||
      text.find('@', at + 1) != std::string_view::npos)
    return fail(fmt::format("{} \"{}\" is not of the form local@domain or *@domain", what, text));
  return {};
}

constexpr std::array<DurationUnit, 4> kRateUnits{{{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};

}  // namespace

Result<void> check_user_name(std::string_view name) {
  if (name.empty()) return fail("the user name is empty");
  for (char c : name) {
    if (c == ':') return fail(fmt::format("user name \"{}\" contains ':'", name));
    if (is_space_or_control(c))
      return fail(fmt::format("user name \"{}\" contains a space or control character", name));
  }
  if (name.front() == '#') return fail(fmt::format("user name \"{}\" starts with '#'", name));
  return {};
}

Result<void> check_password_hash(std::string_view hash) {
  // The hash is a secret's stand-in: messages describe it, never quote it.
  constexpr std::string_view kExpected = "not a crypt(3) hash such as $y$... (yescrypt) or $6$... (SHA-512-crypt)";
  if (hash.size() < 4 || hash.front() != '$' || hash.back() == '$')
    return fail(fmt::format("the password hash is {}", kExpected));
  std::size_t dollars = 0;
  for (char c : hash) {
    if (!is_crypt_character(c)) return fail(fmt::format("the password hash is {}", kExpected));
    if (c == '$') ++dollars;
  }
  if (dollars < 3) return fail(fmt::format("the password hash is {}", kExpected));
  std::string setting(hash);
  switch (crypt_checksalt(setting.c_str())) {
    case CRYPT_SALT_OK:
      return {};
    case CRYPT_SALT_METHOD_LEGACY:
      return fail("the password hash uses a legacy method (DES, MD5 or SHA-256-crypt): set a new password");
    default:
      return fail(fmt::format("the password hash is {}", kExpected));
  }
}

Result<void> check_sender_pattern(std::string_view pattern) {
  if (auto ok = check_address_text(pattern, "sender pattern"); !ok) return ok;
  auto at = pattern.find('@');
  if (pattern.find('*') != std::string_view::npos &&
      (at != 1 || pattern.front() != '*' || pattern.find('*', 1) != std::string_view::npos))
    return fail(fmt::format("sender pattern \"{}\": '*' only as the whole local part (*@domain)", pattern));
  return {};
}

Result<RateLimit> parse_rate(std::string_view text) {
  auto slash = text.find('/');
  auto bad = [&] {
    return fail(fmt::format("rate \"{}\" is not <messages>/<duration> such as 100/1h (units d, h, m, s)", text));
  };
  if (slash == std::string_view::npos) return bad();
  std::string_view count_text = text.substr(0, slash);
  std::uint32_t count = 0;
  auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (count_text.empty() || ec != std::errc{} || end != count_text.data() + count_text.size()) return bad();
  if (count == 0) return fail(fmt::format("rate \"{}\": the message count must be at least 1", text));
  auto seconds = parse_unit_duration(text.substr(slash + 1), kRateUnits);
  if (!seconds) return bad();
  if (*seconds == 0) return fail(fmt::format("rate \"{}\": the duration must be longer than 0", text));
  return RateLimit{count, std::chrono::seconds(*seconds)};
}

std::string format_rate(const RateLimit& rate) {
  std::int64_t seconds = rate.per.count();
  for (const auto& unit : kRateUnits)
    if (seconds % unit.seconds == 0) return fmt::format("{}/{}{}", rate.messages, seconds / unit.seconds, unit.unit);
  return fmt::format("{}/{}s", rate.messages, seconds);  // unreachable: every count divides by 1 s
}

Result<void> check_rewrite(const SenderRewrite& rewrite) {
  if (auto ok = check_sender_pattern(rewrite.pattern); !ok) return fail(fmt::format("rewrite: {}", ok.error().message));
  if (auto ok = check_address_text(rewrite.replacement, "rewrite address"); !ok) return fail(ok.error());
  if (rewrite.replacement.find('*') != std::string::npos)
    return fail(fmt::format("rewrite address \"{}\" must be one address, without '*'", rewrite.replacement));
  return {};
}

Result<SenderRewrite> parse_rewrite(std::string_view text, char separator) {
  auto split = text.find(separator);
  if (split == std::string_view::npos)
    return fail(fmt::format("rewrite \"{}\" is not <pattern>{}<address> such as *@printer.local{}scanner@contoso.com",
                            text, separator, separator));
  SenderRewrite rewrite{std::string(text.substr(0, split)), std::string(text.substr(split + 1))};
  if (auto ok = check_rewrite(rewrite); !ok) return fail(ok.error());
  return rewrite;
}

}  // namespace sluice::auth
