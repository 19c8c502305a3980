// RFC 4180 fields of one record as views into the record: no copy, no allocation. A quoted field
// is returned without its surrounding quotes but with its inner quotes still doubled; unquote()
// makes the text when it is needed (rarely: only values that are kept).
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace sluice::logscan {

struct CsvField {
  std::string_view raw;  ///< the field's text; inner quotes doubled when `quoted`
  bool quoted = false;
};

/// split_csv()'s result for a quoted field still open at the end: the record may go on in the
/// next line.
inline constexpr int kUnterminated = -2;

/// Splits `record` into at most `out.size()` fields. Returns the number of fields, -1 when the
/// record is malformed (a quote inside an unquoted field, text after a closing quote, more
/// fields than `out` holds), or kUnterminated.
int split_csv(std::string_view record, std::span<CsvField> out);

/// The text of a field: doubled quotes made single.
std::string unquote(const CsvField& field);
/// As unquote(), but returns `raw` itself (no allocation) when there is nothing to undo.
inline bool needs_unquote(const CsvField& field) {
  return field.quoted && field.raw.find('"') != std::string_view::npos;
}

}  // namespace sluice::logscan
