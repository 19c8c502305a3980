#include "tlsrpt/record.h"

#include <fmt/format.h>

#include "base/text.h"

namespace sluice::tlsrpt {
namespace {

constexpr std::string_view kVersion = "v=TLSRPTv1";

/// Splits at `sep`, each piece trimmed of blanks.
std::vector<std::string_view> split_trimmed(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = s.find(sep);
    out.push_back(trim_wsp(s.substr(0, at)));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

/// RFC 8460 3: "mailto:" with an address, or "https:" with a host; "!" and "," never appear in a
/// URI of the record (the ABNF excludes them), so a rua with one was split wrongly by its writer.
Result<std::string> check_rua(std::string_view uri) {
  if (uri.empty()) return fail("rua has an empty URI");
  if (uri.find_first_of(" \t!") != std::string_view::npos)
    return fail(fmt::format("rua \"{}\" contains a blank or '!'", uri));
  if (starts_with_ascii_nocase(uri, "mailto:")) {
    const auto address = uri.substr(7);
    const auto at = address.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == address.size())
      return fail(fmt::format("rua \"{}\" has no address local@domain", uri));
    return std::string(uri);
  }
  if (starts_with_ascii_nocase(uri, "https://")) {
    if (uri.size() == 8 || uri[8] == '/') return fail(fmt::format("rua \"{}\" has no host", uri));
    return std::string(uri);
  }
  return fail(fmt::format("rua \"{}\" is neither mailto: nor https:", uri));
}

}  // namespace

Result<Record> parse_record(std::string_view text) {
  auto fields = split_trimmed(text, ';');
  if (fields.front() != kVersion) return fail(fmt::format("no {} at the start", kVersion));
  Record record;
  bool seen_rua = false;
  for (std::size_t i = 1; i < fields.size(); ++i) {
    const auto field = fields[i];
    if (field.empty()) continue;  // "v=TLSRPTv1; rua=...;" ends with a separator (RFC 8460 3 allows it)
    const auto eq = field.find('=');
    if (eq == std::string_view::npos) return fail(fmt::format("field \"{}\" has no '='", field));
    const auto name = ascii_lower(trim_wsp(field.substr(0, eq)));
    if (name != "rua") continue;  // extension fields: ignored, as RFC 8460 3 says
    if (seen_rua) return fail("rua given twice");
    seen_rua = true;
    for (auto uri : split_trimmed(field.substr(eq + 1), ',')) {
      auto checked = check_rua(uri);
      if (!checked) return fail(checked.error());
      record.rua.push_back(std::move(*checked));
    }
  }
  if (!seen_rua) return fail("rua missing");
  return record;
}

Result<Record> select_record(const std::vector<std::string>& txt) {
  std::vector<const std::string*> ours;
  for (const auto& t : txt)
    if (t.starts_with(kVersion)) ours.push_back(&t);
  if (ours.empty()) return fail("no TLSRPTv1 record");
  if (ours.size() > 1) return fail(fmt::format("{} TLSRPTv1 records (exactly one allowed)", ours.size()));
  return parse_record(*ours.front());
}

std::string record_name(std::string_view domain) { return "_smtp._tls." + std::string(domain); }

}  // namespace sluice::tlsrpt
