#include "mta_sts/txt_record.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string_view>

#include "base/text.h"
#include "base/utf8.h"

namespace sluice::mta_sts {
namespace {

constexpr std::string_view kVersion = "v=STSv1";

bool is_alnum(char c) { return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
bool is_extension_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || !is_alnum(name.front())) return false;
  for (char c : name)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

// sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): visible characters except '=' and ';'.
bool is_extension_value(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value)
    if (c < 0x21 || c > 0x7e || c == '=' || c == ';') return false;
  return true;
}

// "v=STSv1" followed by the end, a separator or white space: "v=STSv10" is another version.
bool starts_as_sts_record(std::string_view record) {
  if (!record.starts_with(kVersion)) return false;
  const std::string_view rest = record.substr(kVersion.size());
  return rest.empty() || rest.front() == ';' || is_wsp(rest.front());
}

}  // namespace

std::string txt_record_name(const std::string& domain) { return "_mta-sts." + domain; }

Result<std::string> parse_txt_record(const std::string& record) {
  if (!starts_as_sts_record(record)) return fail(fmt::format("does not start with \"{}\"", kVersion));
  std::string_view rest = std::string_view(record).substr(kVersion.size());
  std::optional<std::string> id;
  // sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]; sts-sep = *WSP ";" *WSP
  while (!trim_wsp(rest).empty()) {
    rest = trim_wsp(rest);
    if (rest.front() != ';') return fail("fields must be separated by \";\"");
    rest.remove_prefix(1);
    const auto end = rest.find(';');
    const std::string_view field = trim_wsp(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (field.empty()) {
      if (rest.empty()) break;  // the optional final separator
      return fail("empty field between two \";\"");
    }
    const auto equals = field.find('=');
    if (equals == std::string_view::npos)
      return fail(fmt::format("field \"{}\" has no \"=\"", escape_control_characters(field)));
    const std::string_view name = trim_wsp(field.substr(0, equals));
    const std::string_view value = trim_wsp(field.substr(equals + 1));
    if (name == "id") {
      // sts-id = %s"id=" 1*32(ALPHA / DIGIT): no white space around its "=" either.
      if (field.substr(0, 3) != "id=") return fail("white space around the \"=\" of id");
      if (id) return fail("more than one id");
      if (value.empty() || value.size() > 32 || !std::all_of(value.begin(), value.end(), is_alnum))
        return fail(fmt::format("id \"{}\" is not 1 to 32 letters and digits", escape_control_characters(value)));
      id = std::string(value);
    } else if (!is_extension_name(name) || !is_extension_value(value)) {
      return fail(fmt::format("malformed field \"{}\"", escape_control_characters(field)));
    }  // extensions are allowed and ignored
  }
  if (!id) return fail("no id");
  return *id;
}

Result<std::optional<std::string>> parse_txt_records(const std::vector<std::string>& records) {
  const std::string* sts = nullptr;
  for (const auto& record : records) {
    if (!starts_as_sts_record(record)) continue;
    if (sts) return fail("more than one \"v=STSv1\" TXT record");
    sts = &record;
  }
  if (!sts) return std::optional<std::string>();
  auto id = parse_txt_record(*sts);
  if (!id)
    return fail(fmt::format("malformed TXT record \"{}\": {}", escape_control_characters(*sts), id.error().message));
  return std::optional<std::string>(std::move(*id));
}

}  // namespace sluice::mta_sts
