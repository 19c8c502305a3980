#include "logscan/csv_fields.h"

#include <cstring>

namespace sluice::logscan {

int split_csv(std::string_view s, std::span<CsvField> out) {
  std::size_t n = 0, pos = 0;
  const char* p = s.data();
  const std::size_t size = s.size();
  while (true) {
    if (n == out.size()) return -1;
    if (pos < size && p[pos] == '"') {
      std::size_t start = ++pos;
      while (true) {
        const void* q = pos < size ? std::memchr(p + pos, '"', size - pos) : nullptr;
        if (!q) return kUnterminated;
        pos = static_cast<std::size_t>(static_cast<const char*>(q) - p);
        if (pos + 1 < size && p[pos + 1] == '"') {
          pos += 2;
          continue;
        }
        break;
      }
      out[n++] = {std::string_view(p + start, pos - start), true};
      ++pos;  // closing quote
      if (pos < size && p[pos] != ',') return -1;
    } else {
      const void* c = pos < size ? std::memchr(p + pos, ',', size - pos) : nullptr;
      std::size_t end = c ? static_cast<std::size_t>(static_cast<const char*>(c) - p) : size;
      std::string_view field(p + pos, end - pos);
      if (field.find('"') != std::string_view::npos) return -1;
      out[n++] = {field, false};
      pos = end;
    }
    if (pos >= size) return static_cast<int>(n);
    ++pos;  // the comma
  }
}

std::string unquote(const CsvField& field) {
  if (!needs_unquote(field)) return std::string(field.raw);
  std::string out;
  out.reserve(field.raw.size());
  for (std::size_t i = 0; i < field.raw.size(); ++i) {
    out += field.raw[i];
    if (field.raw[i] == '"' && i + 1 < field.raw.size() && field.raw[i + 1] == '"') ++i;
  }
  return out;
}

}  // namespace sluice::logscan
