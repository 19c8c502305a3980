#include "smtp/command.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "base/utf8.h"

namespace sluice::smtp {
namespace {

constexpr std::size_t kMaxPath = 256;  // RFC 5321 4.5.3.1.3, including "<" and ">"

struct VerbEntry {
  std::string_view name;
  Verb verb;
};

constexpr std::array<VerbEntry, 14> kVerbs{{
    {"HELO", Verb::Helo},
    {"EHLO", Verb::Ehlo},
    {"MAIL", Verb::Mail},
    {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data},
    {"RSET", Verb::Rset},
    {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit},
    {"VRFY", Verb::Vrfy},
    {"EXPN", Verb::Expn},
    {"HELP", Verb::Help},
    {"STARTTLS", Verb::StartTls},
    {"AUTH", Verb::Auth},
    {"BDAT", Verb::Bdat},
}};

char to_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_upper(a[i]) != to_upper(b[i])) return false;
  return true;
}

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (to_upper(c) >= 'A' && to_upper(c) <= 'Z'); }

/// Who the path names decides the codes: X.1.7 is the sender's address, X.1.3 a recipient's.
struct Role {
  bool sender;
  std::string usage;  ///< "MAIL FROM:<address>"
};

Role role_for(std::string_view keyword) {
  if (iequals(keyword, "FROM")) return {true, "MAIL FROM:<address>"};
  if (iequals(keyword, "TO")) return {false, "RCPT TO:<address>"};
  std::string usage;
  for (char c : keyword) usage.push_back(to_upper(c));
  return {false, usage + ":<address>"};
}

Reply syntax_error(const Role& role) { return make_reply(501, "5.5.4", "Syntax: " + role.usage); }

Reply address_error(const Role& role, std::string_view why) {
  if (role.sender) return make_reply(501, "5.1.7", "Bad sender address syntax: " + std::string(why));
  return make_reply(553, "5.1.3", "Bad recipient address syntax: " + std::string(why));
}

/// Index of the '>' closing a path that starts at text[0] == '<', npos if none. A '>' inside a
/// quoted local part ("a>b"@example.com) is part of the address.
std::size_t find_path_end(std::string_view text) {
  bool quoted = false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '>' && !quoted) {
      return i;
    }
  }
  return std::string_view::npos;
}

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

/// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool valid_param_keyword(std::string_view k) {
  if (k.empty() || !is_alnum(k.front())) return false;
  for (char c : k)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

/// esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 under SMTPUTF8 (RFC 6531 3.3).
bool valid_param_value(std::string_view v, bool allow_utf8) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c >= 33 && c <= 126 && c != '=') continue;
    if (c >= 0x80 && allow_utf8) continue;
    return false;
  }
  return !allow_utf8 || is_valid_utf8(v);
}

/// Parses " KEY[=VALUE] KEY[=VALUE]..." (leading blank included).
Result<ParamList, Reply> parse_params(std::string_view text, bool allow_utf8, const Role& role) {
  ParamList params;
  if (text.empty()) return params;
  if (text.front() != ' ') return fail(syntax_error(role));
  std::size_t pos = 0;
  while (true) {
    pos = text.find_first_not_of(' ', pos);
    if (pos == std::string_view::npos) return params;
    const auto end = std::min(text.find(' ', pos), text.size());
    const std::string_view token = text.substr(pos, end - pos);
    pos = end;

    const auto eq = token.find('=');
    const std::string_view key = token.substr(0, eq);
    if (!valid_param_keyword(key)) return fail(make_reply(501, "5.5.4", "Invalid parameter keyword"));
    std::string upper;
    for (char c : key) upper.push_back(to_upper(c));
    std::string value;
    if (eq != std::string_view::npos) {
      const std::string_view v = token.substr(eq + 1);
      if (!valid_param_value(v, allow_utf8))
        return fail(make_reply(501, "5.5.4", "Invalid value for parameter " + upper));
      value = std::string(v);
    }
    for (const auto& [k, ignored] : params)
      if (k == upper) return fail(make_reply(501, "5.5.4", "Duplicate parameter " + upper));
    params.emplace_back(std::move(upper), std::move(value));
  }
}

}  // namespace

Command parse_command(std::string_view line) {
  Command cmd;
  const auto space = line.find(' ');
  const std::string_view verb = line.substr(0, space);
  cmd.verb_text = std::string(verb);
  for (const auto& entry : kVerbs) {
    if (iequals(verb, entry.name)) {
      cmd.verb = entry.verb;
      break;
    }
  }
  if (space == std::string_view::npos) return cmd;
  std::string_view rest = line.substr(space);
  const auto first = rest.find_first_not_of(' ');
  if (first == std::string_view::npos) return cmd;
  rest.remove_prefix(first);
  const auto last = rest.find_last_not_of(" \t");
  cmd.argument = std::string(rest.substr(0, last + 1));
  return cmd;
}

std::string_view verb_name(Verb verb) {
  for (const auto& entry : kVerbs)
    if (entry.verb == verb) return entry.name;
  return "UNKNOWN";
}

Result<PathArgument, Reply> parse_path_argument(std::string_view argument, std::string_view keyword, bool allow_utf8) {
  const Role role = role_for(keyword);
  if (argument.size() <= keyword.size() || !iequals(argument.substr(0, keyword.size()), keyword) ||
      argument[keyword.size()] != ':')
    return fail(syntax_error(role));
  std::string_view rest = argument.substr(keyword.size() + 1);
  // RFC 5321 has no space after the colon, but enough clients send one that refusing it
  // would only lose mail.
  const auto open = rest.find_first_not_of(' ');
  if (open == std::string_view::npos || rest[open] != '<') return fail(syntax_error(role));
  rest.remove_prefix(open);
  const auto close = find_path_end(rest);
  if (close == std::string_view::npos) return fail(syntax_error(role));
  const std::string_view path = rest.substr(1, close - 1);

  PathArgument out;
  if (path.empty()) {
    if (!role.sender) return fail(make_reply(553, "5.1.3", "Null recipient not allowed"));
    out.null_path = true;
  } else {
    if (path.size() + 2 > kMaxPath) return fail(address_error(role, "address longer than 256 octets"));
    if (!allow_utf8 && has_non_ascii(path))
      return fail(make_reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8"));
    if (!role.sender && iequals(path, "postmaster")) {
      // RFC 5321 4.1.1.3: "RCPT TO:<Postmaster>" without a domain must be accepted.
      out.mailbox.local_part = std::string(path);
    } else {
      auto mailbox = parse_mailbox(path, allow_utf8);
      if (!mailbox) return fail(address_error(role, mailbox.error().message));
      out.mailbox = std::move(*mailbox);
    }
  }
  auto params = parse_params(rest.substr(close + 1), allow_utf8, role);
  if (!params) return fail(std::move(params.error()));
  out.params = std::move(*params);
  return out;
}

}  // namespace sluice::smtp
