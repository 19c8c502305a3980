#include "schannel/reg_file.h"

#include <fmt/format.h>

#include <array>
#include <cctype>

#include "base/text.h"
#include "base/utf8.h"

namespace sluice::schannel {
namespace {

constexpr std::string_view kHeaderV5 = "Windows Registry Editor Version 5.00";
constexpr std::string_view kHeaderV4 = "REGEDIT4";

std::string utf16_to_utf8(std::string_view bytes, bool little_endian) {
  std::string out;
  out.reserve(bytes.size() / 2);
  auto unit = [&](std::size_t i) -> char16_t {
    auto lo = static_cast<unsigned char>(bytes[little_endian ? i : i + 1]);
    auto hi = static_cast<unsigned char>(bytes[little_endian ? i + 1 : i]);
    return static_cast<char16_t>(lo | (hi << 8));
  };
  // An odd trailing byte cannot be a character; it is dropped rather than guessed at.
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
    char16_t u = unit(i);
    if (u >= 0xD800 && u <= 0xDBFF && i + 3 < bytes.size()) {
      char16_t v = unit(i + 2);
      if (v >= 0xDC00 && v <= 0xDFFF) {
        append_utf8(out, 0x10000 + ((static_cast<char32_t>(u) - 0xD800) << 10) + (v - 0xDC00));
        i += 2;
        continue;
      }
    }
    append_utf8(out, u);  // a lone surrogate becomes U+FFFD
  }
  return out;
}

/// Windows-1252, the ANSI code page of English and Western European Windows, for REGEDIT4 files.
std::string cp1252_to_utf8(std::string_view s) {
  static constexpr std::array<char16_t, 32> k80 = {0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                                   0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
                                                   0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                                   0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    append_utf8(out, c >= 0x80 && c < 0xA0 ? char32_t{k80[c - 0x80]} : char32_t{c});
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) { return ascii_lower(a) == ascii_lower(b); }

bool starts_with_i(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Reads a quoted string at the start of `s` (which begins with '"'), undoing regedit's two
/// escapes (\\ and \"); advances `s` past the closing quote.
std::optional<std::string> read_quoted(std::string_view& s) {
  std::string out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      s.remove_prefix(i + 1);
      return out;
    }
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == '"')) {
      out += s[++i];
      continue;
    }
    // regedit never writes another escape; a lone backslash is kept as written.
    out += c;
  }
  return std::nullopt;
}

std::vector<std::uint8_t> read_hex_bytes(std::string_view s, int line) {
  std::vector<std::uint8_t> bytes;
  s = trim(s);
  if (s.empty()) return bytes;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t comma = s.find(',', pos);
    std::string_view token = trim(s.substr(pos, comma == std::string_view::npos ? s.npos : comma - pos));
    if (token.empty() && comma == std::string_view::npos) break;  // a trailing comma
    if (token.empty() || token.size() > 2 || hex_digit(token[0]) < 0 || (token.size() == 2 && hex_digit(token[1]) < 0))
      throw RegParseError(line, fmt::format("'{}' is not a hex byte (expected pairs like 01,ff,...)", token));
    int v = hex_digit(token[0]);
    if (token.size() == 2) v = v * 16 + hex_digit(token[1]);
    bytes.push_back(static_cast<std::uint8_t>(v));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return bytes;
}

/// The text of a hex(2)/hex(7) value: UTF-16LE in version 5.00 files, ANSI in REGEDIT4 ones.
std::string bytes_to_text(const std::vector<std::uint8_t>& bytes, bool unicode) {
  std::string_view raw(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return unicode ? utf16_to_utf8(raw, true) : cp1252_to_utf8(raw);
}

std::vector<std::string> split_multi(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nul = text.find('\0', start);
    if (nul == std::string::npos) nul = text.size();
    if (nul == start) break;  // the empty string that ends the list
    parts.push_back(text.substr(start, nul - start));
    start = nul + 1;
  }
  return parts;
}

std::string strip_trailing_nuls(std::string text) {
  while (!text.empty() && text.back() == '\0') text.pop_back();
  return text;
}

RegValue read_data(std::string_view data, bool unicode, int line) {
  RegValue value;
  value.line = line;
  if (!data.empty() && data.front() == '"') {
    auto text = read_quoted(data);
    if (!text) throw RegParseError(line, "the string value has no closing quote");
    if (!trim(data).empty())
      throw RegParseError(line, fmt::format("unexpected text after the string value: '{}'", trim(data)));
    value.type = RegValue::kString;
    value.text = std::move(*text);
    return value;
  }
  if (starts_with_i(data, "dword:")) {
    std::string_view digits = trim(data.substr(6));
    if (digits.empty() || digits.size() > 8)
      throw RegParseError(line, fmt::format("'{}' is not a DWORD (expected dword: and 8 hex digits)", data));
    std::uint32_t v = 0;
    for (char c : digits) {
      int d = hex_digit(c);
      if (d < 0) throw RegParseError(line, fmt::format("'{}' is not a DWORD (expected dword: and 8 hex digits)", data));
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    value.type = RegValue::kDword;
    value.number = v;
    return value;
  }
  if (starts_with_i(data, "hex")) {
    std::string_view rest = data.substr(3);
    std::uint32_t type = RegValue::kBinary;
    if (!rest.empty() && rest.front() == '(') {
      std::size_t close = rest.find(')');
      std::string_view num = close == rest.npos ? std::string_view{} : rest.substr(1, close - 1);
      if (num.empty() || num.size() > 8)
        throw RegParseError(line, fmt::format("'{}' is not a value type (expected hex(n):)", data));
      type = 0;
      for (char c : num) {
        int d = hex_digit(c);
        if (d < 0) throw RegParseError(line, fmt::format("'{}' is not a value type (expected hex(n):)", data));
        type = type * 16 + static_cast<std::uint32_t>(d);
      }
      rest = rest.substr(close + 1);
    }
    if (rest.empty() || rest.front() != ':')
      throw RegParseError(line, fmt::format("'{}' is not a value (expected hex: or hex(n): and bytes)", data));
    value.type = type;
    value.bytes = read_hex_bytes(rest.substr(1), line);
    const auto& b = value.bytes;
    if (type == RegValue::kQword) {
      if (b.size() != 8)
        throw RegParseError(line, fmt::format("a QWORD (hex(b):) needs 8 bytes, this one has {}", b.size()));
      for (int i = 7; i >= 0; --i) value.number = (value.number << 8) | b[static_cast<std::size_t>(i)];
    } else if (type == RegValue::kDword && b.size() == 4) {
      value.number = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
    } else if (type == RegValue::kExpandString) {
      value.text = strip_trailing_nuls(bytes_to_text(b, unicode));
    } else if (type == RegValue::kMultiString) {
      value.strings = split_multi(bytes_to_text(b, unicode));
    }
    return value;
  }
  throw RegParseError(
      line, fmt::format("'{}' is not a value: expected \"text\", dword:, hex:, hex(n): or -", data.substr(0, 40)));
}

struct Line {
  std::string_view text;
  int number;
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  int number = 1;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == text.npos ? text.npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({line, number++});
    if (nl == text.npos) break;
    start = nl + 1;
  }
  return lines;
}

}  // namespace

std::optional<std::uint32_t> RegValue::dword() const {
  if (type == kDword && (bytes.empty() || bytes.size() == 4)) return static_cast<std::uint32_t>(number);
  return std::nullopt;
}

std::string RegValue::describe() const {
  switch (type) {
    case kDword:
      if (auto d = dword()) return fmt::format("dword:{:08x}", *d);
      return fmt::format("REG_DWORD of {} bytes", bytes.size());
    case kQword:
      return fmt::format("REG_QWORD {:#x}", number);
    case kString:
      return fmt::format("REG_SZ \"{}\"", text);
    case kExpandString:
      return fmt::format("REG_EXPAND_SZ \"{}\"", text);
    case kMultiString:
      return fmt::format("REG_MULTI_SZ of {} strings", strings.size());
    case kBinary:
      return fmt::format("REG_BINARY of {} bytes", bytes.size());
    default:
      return fmt::format("hex({:x}) of {} bytes", type, bytes.size());
  }
}

RegParseError::RegParseError(int line, const std::string& message)
    : std::runtime_error(line > 0 ? fmt::format("line {}: {}", line, message) : message),
      line_(line),
      detail_(message) {}

std::optional<std::string> normalize_key_path(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kRoots[] = {
      {"HKEY_LOCAL_MACHINE", "HKEY_LOCAL_MACHINE"},
      {"HKLM", "HKEY_LOCAL_MACHINE"},
      {"HKEY_CURRENT_USER", "HKEY_CURRENT_USER"},
      {"HKCU", "HKEY_CURRENT_USER"},
      {"HKEY_CLASSES_ROOT", "HKEY_CLASSES_ROOT"},
      {"HKCR", "HKEY_CLASSES_ROOT"},
      {"HKEY_USERS", "HKEY_USERS"},
      {"HKU", "HKEY_USERS"},
      {"HKEY_CURRENT_CONFIG", "HKEY_CURRENT_CONFIG"},
      {"HKCC", "HKEY_CURRENT_CONFIG"},
  };
  while (!path.empty() && path.back() == '\\') path.remove_suffix(1);
  std::size_t slash = path.find('\\');
  std::string_view root = path.substr(0, slash);
  for (const auto& [name, long_name] : kRoots) {
    if (iequals(root, name)) {
      std::string out(long_name);
      if (slash != std::string_view::npos) out += path.substr(slash);
      return out;
    }
  }
  return std::nullopt;
}

namespace {
std::string canonical(std::string_view path) {
  auto normal = normalize_key_path(path);
  return ascii_lower(normal ? *normal : path);
}
}  // namespace

const RegKey* Registry::find_key(std::string_view path) const {
  auto it = keys_.find(canonical(path));
  return it == keys_.end() ? nullptr : &it->second;
}

const RegValue* Registry::find_value(std::string_view path, std::string_view name) const {
  const RegKey* key = find_key(path);
  if (!key) return nullptr;
  auto it = key->values.find(ascii_lower(name));
  return it == key->values.end() ? nullptr : &it->second.second;
}

bool Registry::has_subtree(std::string_view path) const {
  std::string c = canonical(path);
  auto it = keys_.lower_bound(c);
  return it != keys_.end() && (it->first == c || it->first.starts_with(c + "\\"));
}

std::vector<const RegKey*> Registry::keys() const {
  std::vector<const RegKey*> out;
  for (const auto& [_, key] : keys_) out.push_back(&key);
  return out;
}

RegKey& Registry::create_key(std::string_view path) {
  auto normal = normalize_key_path(path);
  std::string display = normal ? *normal : std::string(path);
  auto [it, inserted] = keys_.try_emplace(ascii_lower(display));
  if (inserted) it->second.path = display;
  return it->second;
}

void Registry::delete_key(std::string_view path) {
  std::string c = canonical(path);
  auto it = keys_.lower_bound(c);
  while (it != keys_.end() && (it->first == c || it->first.starts_with(c + "\\"))) it = keys_.erase(it);
}

void Registry::set_value(std::string_view key, std::string_view name, RegValue value) {
  create_key(key).values[ascii_lower(name)] = {std::string(name), std::move(value)};
}

void Registry::delete_value(std::string_view key, std::string_view name) {
  auto it = keys_.find(canonical(key));
  if (it != keys_.end()) it->second.values.erase(ascii_lower(name));
}

std::string decode_export_text(std::string_view bytes) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (bytes.size() >= 2 && byte(0) == 0xFF && byte(1) == 0xFE) return utf16_to_utf8(bytes.substr(2), true);
  if (bytes.size() >= 2 && byte(0) == 0xFE && byte(1) == 0xFF) return utf16_to_utf8(bytes.substr(2), false);
  if (bytes.size() >= 3 && byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF) return std::string(bytes.substr(3));
  // UTF-16LE that lost its BOM: ASCII text with every second byte zero.
  if (bytes.size() >= 2 && byte(0) != 0 && byte(1) == 0) return utf16_to_utf8(bytes, true);
  if (is_valid_utf8(bytes)) return std::string(bytes);
  return cp1252_to_utf8(bytes);
}

void read_export(std::string_view bytes, Registry& registry) {
  const std::string text = decode_export_text(bytes);
  const std::vector<Line> lines = split_lines(text);

  std::size_t i = 0;
  while (i < lines.size() && trim(lines[i].text).empty()) ++i;
  if (i == lines.size()) throw RegParseError(0, "the file is empty (expected a registry export)");
  std::string_view header = trim(lines[i].text);
  bool unicode;
  if (header == kHeaderV5)
    unicode = true;
  else if (header == kHeaderV4)
    unicode = false;
  else
    throw RegParseError(lines[i].number, fmt::format("not a registry export: expected '{}' or '{}', found '{}'",
                                                     kHeaderV5, kHeaderV4, header.substr(0, 60)));

  std::optional<std::string> current;  // the key values go to; nullopt before any key
  bool after_deletion = false;         // regedit ignores values under a [-key] line
  for (++i; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i].text);
    const int number = lines[i].number;
    if (line.empty() || line.front() == ';') continue;

    if (line.front() == '[') {
      if (line.back() != ']') throw RegParseError(number, "a key line must end with ']'");
      std::string_view inner = line.substr(1, line.size() - 2);
      bool deletion = !inner.empty() && inner.front() == '-';
      if (deletion) inner.remove_prefix(1);
      auto path = normalize_key_path(inner);
      if (!path || inner.empty())
        throw RegParseError(number, fmt::format("'{}' does not start with a registry root such as "
                                                "HKEY_LOCAL_MACHINE (HKLM) or HKEY_CURRENT_USER (HKCU)",
                                                inner.substr(0, 60)));
      if (deletion) {
        registry.delete_key(*path);
        current.reset();
        after_deletion = true;
      } else {
        RegKey& key = registry.create_key(*path);
        if (key.line == 0) key.line = number;
        current = *path;
        after_deletion = false;
      }
      continue;
    }

    std::string_view rest = line;
    std::string name;
    if (rest.front() == '@') {
      rest.remove_prefix(1);
    } else if (rest.front() == '"') {
      auto quoted = read_quoted(rest);
      if (!quoted) throw RegParseError(number, "the value name has no closing quote");
      name = std::move(*quoted);
    } else {
      throw RegParseError(number, fmt::format("expected a key like [HKEY_LOCAL_MACHINE\\...] or a value like "
                                              "\"Name\"=dword:00000001, found '{}'",
                                              line.substr(0, 60)));
    }
    rest = trim(rest);
    if (rest.empty() || rest.front() != '=')
      throw RegParseError(number, fmt::format("expected '=' after the value name \"{}\"", name));
    // Hex data may continue over several lines, each but the last ending in '\'.
    std::string data(trim(rest.substr(1)));
    while (!data.empty() && data.front() != '"' && data.back() == '\\') {
      if (i + 1 >= lines.size() || trim(lines[i + 1].text).empty())
        throw RegParseError(number, "the value continues with '\\' but the file or the value ends there");
      data.pop_back();
      data += trim(lines[++i].text);
    }
    rest = data;
    if (!current) {
      if (after_deletion) continue;
      throw RegParseError(number, "a value before any [key] line");
    }
    if (rest == "-") {
      registry.delete_value(*current, name);
      continue;
    }
    registry.set_value(*current, name, read_data(rest, unicode, number));
  }
}

Registry parse_export(std::string_view bytes) {
  Registry registry;
  read_export(bytes, registry);
  return registry;
}

}  // namespace sluice::schannel
