// Registry export files (`regedit /e`, `reg export`): the reader that turns one or more exports
// into the registry state they describe, so the audit can ask "what is this value?" without
// knowing how the file spelt it.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::schannel {

/// A registry value as the export wrote it. `type` is the Windows REG_* number (1 REG_SZ,
/// 2 REG_EXPAND_SZ, 3 REG_BINARY, 4 REG_DWORD, 7 REG_MULTI_SZ, 11 REG_QWORD, or any other
/// number written as hex(n):).
struct RegValue {
  static constexpr std::uint32_t kString = 1;
  static constexpr std::uint32_t kExpandString = 2;
  static constexpr std::uint32_t kBinary = 3;
  static constexpr std::uint32_t kDword = 4;
  static constexpr std::uint32_t kMultiString = 7;
  static constexpr std::uint32_t kQword = 11;

  std::uint32_t type = kString;
  std::string text;                  ///< REG_SZ and REG_EXPAND_SZ, in UTF-8
  std::vector<std::string> strings;  ///< REG_MULTI_SZ, in UTF-8
  std::uint64_t number = 0;          ///< REG_DWORD and REG_QWORD
  std::vector<std::uint8_t> bytes;   ///< the raw data of any hex(n): value
  int line = 0;                      ///< where the value was written (1-based)

  /// The value as a DWORD when it is one (dword:, or hex(4): with four bytes).
  std::optional<std::uint32_t> dword() const;
  /// A short description for reports: "dword:00000001", "REG_SZ \"1\"", ...
  std::string describe() const;
};

/// A key and its values. Names keep the spelling the export used; lookups ignore ASCII case,
/// as Windows does.
struct RegKey {
  std::string path;  ///< e.g. HKEY_LOCAL_MACHINE\SYSTEM\...; the root always in its long form
  int line = 0;      ///< the [key] line that first created it (0: created by a value, or unknown)
  std::map<std::string, std::pair<std::string, RegValue>> values;  ///< lower-case name -> (name, value)
};

/// The state a sequence of exports describes: keys created by `[key]`, removed with their
/// subkeys by `[-key]`; values set by `"name"=...`, removed by `"name"=-`. `@` is the default
/// value and is stored under the empty name.
class Registry {
 public:
  /// The key, or nullptr when no export created it (or one deleted it). `path` may use a short
  /// root (HKLM\...) and any case.
  const RegKey* find_key(std::string_view path) const;
  /// The value `name` of key `path`, or nullptr.
  const RegValue* find_value(std::string_view path, std::string_view name) const;
  /// True when some key lies at or below `path`.
  bool has_subtree(std::string_view path) const;
  /// Every key, in case-insensitive path order.
  std::vector<const RegKey*> keys() const;

  RegKey& create_key(std::string_view path);
  void delete_key(std::string_view path);
  void set_value(std::string_view key, std::string_view name, RegValue value);
  void delete_value(std::string_view key, std::string_view name);

 private:
  std::map<std::string, RegKey> keys_;  // canonical (lower-case, long root) path -> key
};

/// A registry path with its root in long form (HKLM -> HKEY_LOCAL_MACHINE) and no trailing
/// backslash; nullopt when the root is not a registry hive.
std::optional<std::string> normalize_key_path(std::string_view path);

/// Why an export could not be read; `line` is 1-based (0: the file as a whole).
class RegParseError : public std::runtime_error {
 public:
  RegParseError(int line, const std::string& message);
  int line() const { return line_; }
  const std::string& detail() const { return detail_; }

 private:
  int line_;
  std::string detail_;
};

/// The export's text in UTF-8: UTF-16LE (with or without its BOM, as regedit writes version
/// 5.00 exports), UTF-16BE with a BOM, UTF-8 with or without a BOM, or ANSI (Windows-1252, as
/// REGEDIT4 exports are) when the bytes are not valid UTF-8.
std::string decode_export_text(std::string_view bytes);

/// Applies one export (raw file bytes) to `registry`. Throws RegParseError naming the first line
/// that is not part of the format.
void read_export(std::string_view bytes, Registry& registry);

/// Convenience: a fresh registry from one export.
Registry parse_export(std::string_view bytes);

}  // namespace sluice::schannel
