#include "inbound/sender_rewrite.h"

#include <algorithm>

#include "auth/sender_pattern.h"
#include "base/text.h"

namespace sluice::inbound {
namespace {

constexpr std::size_t kNone = std::string_view::npos;

bool is_folding_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/// The index after the comment that opens at `v[i]` ('('); comments nest (RFC 5322 3.2.2).
std::size_t skip_comment(std::string_view v, std::size_t i) {
  int depth = 0;
  for (; i < v.size(); ++i) {
    if (v[i] == '\\') {
      ++i;
    } else if (v[i] == '(') {
      ++depth;
    } else if (v[i] == ')' && --depth == 0) {
      return i + 1;
    }
  }
  return v.size();
}

/// The index after the quoted string that opens at `v[i]` ('"').
std::size_t skip_quoted_string(std::string_view v, std::size_t i) {
  for (++i; i < v.size(); ++i) {
    if (v[i] == '\\') {
      ++i;
    } else if (v[i] == '"') {
      return i + 1;
    }
  }
  return v.size();
}

/// An address as written in a header, without comments and folding whitespace (also inside a
/// quoted local part, so that it fits on one line), to compare with the rewrite patterns.
std::string address_without_cfws(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    if (v[i] == '(') {
      i = skip_comment(v, i);
    } else if (v[i] == '"') {
      const std::size_t end = skip_quoted_string(v, i);
      for (; i < end; ++i)
        if (v[i] != '\r' && v[i] != '\n') out += v[i];
    } else {
      if (!is_folding_space(v[i])) out += v[i];
      ++i;
    }
  }
  // A source route ("@a,@b:user@c", RFC 5322 4.4) is not part of the address.
  if (out.starts_with('@')) {
    const auto colon = out.find(':');
    out = colon == std::string::npos ? std::string() : out.substr(colon + 1);
  }
  return out;
}

/// Where an address is in a header field's value: [begin, end), what is replaced.
struct AddressSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string address;
};

/// The addresses of a mailbox-list or address-list (RFC 5322 3.4): per mailbox, the inside of
/// its angle brackets, or for a bare addr-spec the text from its first to its last character
/// that is neither folding whitespace nor a comment. Group names ("team: a@b, c@d;") are skipped.
std::vector<AddressSpan> header_addresses(std::string_view v) {
  std::vector<AddressSpan> spans;
  std::size_t angle_begin = kNone, angle_end = kNone;  // inside of this mailbox's <...>
  std::size_t first = kNone, last = kNone;             // this mailbox's significant characters
  auto end_mailbox = [&] {
    AddressSpan span;
    if (angle_begin != kNone) {
      span = {angle_begin, angle_end, {}};
    } else if (first != kNone) {
      span = {first, last, {}};
    }
    if (span.end > span.begin) {
      span.address = address_without_cfws(v.substr(span.begin, span.end - span.begin));
      if (span.address.find('@') != std::string::npos) spans.push_back(std::move(span));
    }
    angle_begin = angle_end = first = last = kNone;
  };
  for (std::size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (c == '(') {
      i = skip_comment(v, i);
    } else if (is_folding_space(c)) {
      ++i;
    } else if (c == '<') {
      // The angle-addr: up to its '>', quoted local parts and comments skipped over.
      std::size_t j = i + 1;
      while (j < v.size() && v[j] != '>')
        j = v[j] == '"' ? skip_quoted_string(v, j) : v[j] == '(' ? skip_comment(v, j) : j + 1;
      angle_begin = i + 1;
      angle_end = std::min(j, v.size());
      i = j + 1;
    } else if (c == ',' || c == ';') {
      end_mailbox();
      ++i;
    } else if (c == ':') {
      // What came before was a group's name, not a mailbox.
      angle_begin = angle_end = first = last = kNone;
      ++i;
    } else {
      const std::size_t next = c == '"' ? skip_quoted_string(v, i) : i + 1;
      if (first == kNone) first = i;
      last = next;
      i = next;
    }
  }
  end_mailbox();
  return spans;
}

/// The field name of a header line ("From" of "From: a@b"), or empty when the line is not a
/// header field (the header has ended without an empty line).
std::string_view field_name(std::string_view line) {
  const auto colon = line.find(':');
  if (colon == kNone) return {};
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  for (const char c : name)
    if (c <= ' ' || c > '~') return {};
  return name;
}

/// "X-Original-Sender: a@b, c@d" with CRLF, folded before an address that would pass 78 columns.
std::string original_sender_field(const std::vector<std::string>& addresses) {
  std::string field = "X-Original-Sender:";
  std::size_t column = field.size();
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const std::string& a = addresses[i];
    if (i > 0) {
      field += ',';
      ++column;
    }
    if (i > 0 && column + 1 + a.size() > 78) {
      field += "\r\n";
      column = 0;
    }
    field += ' ' + a;
    column += 1 + a.size();
  }
  return field + "\r\n";
}

}  // namespace

void SenderRewriter::add(const std::vector<auth::SenderRewrite>& table) { tables_.push_back(&table); }

bool SenderRewriter::empty() const {
  return std::all_of(tables_.begin(), tables_.end(), [](const auto* table) { return table->empty(); });
}

std::optional<std::string> SenderRewriter::rewrite(std::string_view address) const {
  if (address.empty()) return std::nullopt;
  for (const auto* table : tables_)
    for (const auto& entry : *table)
      if (auth::sender_pattern_matches(entry.pattern, address)) return entry.replacement;
  return std::nullopt;
}

std::vector<HeaderRewrite> rewrite_sender_headers(std::string& message, const SenderRewriter& rewriter) {
  std::vector<HeaderRewrite> changes;
  if (rewriter.empty()) return changes;
  struct Edit {
    std::size_t begin, end;
    std::string text;
  };
  std::vector<Edit> edits;  // in message order
  std::size_t pos = 0;
  while (pos < message.size()) {
    const auto eol = message.find('\n', pos);
    const std::size_t line_end = eol == kNone ? message.size() : eol + 1;
    const std::string_view line(message.data() + pos, line_end - pos);
    const std::string_view name = field_name(line);
    if (name.empty()) break;  // the empty line (or a line that is not a field) ends the header
    std::size_t field_end = line_end;
    while (field_end < message.size() && (message[field_end] == ' ' || message[field_end] == '\t')) {
      const auto next = message.find('\n', field_end);
      field_end = next == kNone ? message.size() : next + 1;
    }
    if (ascii_lower(name) == "from" || ascii_lower(name) == "sender") {
      const std::size_t value_begin = pos + line.find(':') + 1;
      const std::string_view value(message.data() + value_begin, field_end - value_begin);
      for (AddressSpan& span : header_addresses(value)) {
        auto replacement = rewriter.rewrite(span.address);
        if (!replacement) continue;
        edits.push_back({value_begin + span.begin, value_begin + span.end, *replacement});
        changes.push_back({std::string(name), std::move(span.address), std::move(*replacement)});
      }
    }
    pos = field_end;
  }
  if (changes.empty()) return changes;
  for (auto edit = edits.rbegin(); edit != edits.rend(); ++edit)
    message.replace(edit->begin, edit->end - edit->begin, edit->text);
  std::vector<std::string> originals;
  for (const HeaderRewrite& change : changes) {
    const bool seen = std::any_of(originals.begin(), originals.end(),
                                  [&](const std::string& a) { return ascii_lower(a) == ascii_lower(change.original); });
    if (!seen) originals.push_back(change.original);
  }
  message.insert(0, original_sender_field(originals));
  return changes;
}

}  // namespace sluice::inbound
