#include "schannel/key_names.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string>

#include "base/text.h"

namespace sluice::schannel {
namespace {

constexpr std::string_view kSchannelKey =
    "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL";

// The subkeys Schannel reads ("TLS/SSL Settings" / "Transport Layer Security registry settings").
const std::vector<std::string_view> kSchannelParts = {"Protocols", "Ciphers", "Hashes", "KeyExchangeAlgorithms"};
const std::vector<std::string_view> kProtocolKeys = {"TLS 1.0",  "TLS 1.1", "TLS 1.2", "TLS 1.3",
                                                     "SSL 2.0",  "SSL 3.0", "PCT 1.0", "Multi-Protocol Unified Hello",
                                                     "DTLS 1.0", "DTLS 1.2"};
const std::vector<std::string_view> kProtocolSides = {"Client", "Server"};
const std::vector<std::string_view> kProtocolValues = {"Enabled", "DisabledByDefault"};
// Both spellings of Triple DES are in use in Microsoft's own pages: neither is reported.
const std::vector<std::string_view> kCipherKeys = {
    "AES 128/128", "AES 256/256", "DES 56/56",  "NULL",        "RC2 40/128",     "RC2 56/128",        "RC2 128/128",
    "RC4 40/128",  "RC4 56/128",  "RC4 64/128", "RC4 128/128", "Triple DES 168", "Triple DES 168/168"};
const std::vector<std::string_view> kHashKeys = {"MD5", "SHA", "SHA256", "SHA384", "SHA512"};
const std::vector<std::string_view> kKeyExchangeKeys = {"Diffie-Hellman", "ECDH", "PKCS"};
const std::vector<std::string_view> kEnabledValue = {"Enabled"};
const std::vector<std::string_view> kDotNetKey = {".NETFramework"};
const std::vector<std::string_view> kDotNetVersions = {"v2.0.50727", "v4.0.30319"};
const std::vector<std::string_view> kDotNetValues = {"SystemDefaultTlsVersions", "SchUseStrongCrypto"};

bool same_name(std::string_view a, std::string_view b) { return ascii_lower(a) == ascii_lower(b); }

bool is_known(std::string_view name, const std::vector<std::string_view>& known) {
  return std::any_of(known.begin(), known.end(), [&](std::string_view k) { return same_name(name, k); });
}

/// Lower case without the separators a translation or a typist changes.
std::string squeezed(std::string_view name) {
  std::string out;
  for (char c : ascii_lower(name))
    if (c != ' ' && c != '.' && c != ',' && c != '-' && c != '_' && c != '\t') out += c;
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    auto slash = path.find('\\');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

std::string quoted_list(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += fmt::format("{}'{}'", i == 0 ? "" : i + 1 == names.size() ? " and " : ", ", names[i]);
  return out;
}

/// Walks the keys of one export and collects what Windows would not read.
class KeyNameCheck {
 public:
  explicit KeyNameCheck(std::vector<Problem>& problems) : problems_(problems) {}

  void key(const RegKey& key) {
    const std::string& path = key.path;
    if (starts_with_ascii_nocase(path, std::string(kSchannelKey) + "\\")) {
      schannel_key(key, split_path(std::string_view(path).substr(kSchannelKey.size() + 1)));
      return;
    }
    for (std::string_view prefix :
         {"HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\", "HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\"}) {
      if (starts_with_ascii_nocase(path, prefix)) {
        dotnet_key(key, std::string(prefix), split_path(std::string_view(path).substr(prefix.size())));
        return;
      }
    }
  }

 private:
  void schannel_key(const RegKey& key, const std::vector<std::string_view>& parts) {
    const std::string base(kSchannelKey);
    if (!is_known(parts[0], kSchannelParts)) {
      // SCHANNEL has other subkeys too: only a near miss of the four is reported.
      if (auto meant = intended_name(parts[0], kSchannelParts)) unknown_key(key, base, parts[0], *meant, "Schannel");
      return;
    }
    const std::string part = base + "\\" + std::string(parts[0]);
    if (same_name(parts[0], "Protocols")) {
      if (parts.size() == 1) return;
      if (!is_known(parts[1], kProtocolKeys)) {
        unknown_key(key, part, parts[1], intended_name(parts[1], kProtocolKeys), "Schannel",
                    fmt::format("the protocol keys Schannel reads are {}", quoted_list(kProtocolKeys)));
        return;
      }
      const std::string protocol = part + "\\" + std::string(parts[1]);
      if (parts.size() == 2) {
        misplaced_values(key, kProtocolValues,
                         fmt::format("Schannel reads them under {0}\\Client and {0}\\Server", protocol));
        return;
      }
      if (!is_known(parts[2], kProtocolSides)) {
        unknown_key(key, protocol, parts[2], intended_name(parts[2], kProtocolSides), "Schannel",
                    "only 'Client' and 'Server' are read here");
        return;
      }
      if (parts.size() == 3) known_values(key, kProtocolValues, true, "Schannel");
      return;
    }
    const auto& names = same_name(parts[0], "Ciphers")  ? kCipherKeys
                        : same_name(parts[0], "Hashes") ? kHashKeys
                                                        : kKeyExchangeKeys;
    if (parts.size() < 2) return;
    if (!is_known(parts[1], names)) {
      unknown_key(key, part, parts[1], intended_name(parts[1], names), "Schannel",
                  fmt::format("the keys Schannel reads here are {}", quoted_list(names)));
      return;
    }
    if (parts.size() == 2) known_values(key, kEnabledValue, false, "Schannel");
  }

  void dotnet_key(const RegKey& key, const std::string& microsoft, const std::vector<std::string_view>& parts) {
    if (!is_known(parts[0], kDotNetKey)) {
      std::string parent = microsoft.substr(0, microsoft.size() - 1);  // without its final backslash
      if (auto meant = intended_name(parts[0], kDotNetKey)) unknown_key(key, parent, parts[0], *meant, ".NET");
      return;
    }
    const std::string framework = microsoft + std::string(parts[0]);
    if (parts.size() == 1) {
      misplaced_values(key, kDotNetValues,
                       fmt::format(".NET reads them under {0}\\v4.0.30319 and {0}\\v2.0.50727", framework));
      return;
    }
    if (!is_known(parts[1], kDotNetVersions)) {
      // .NETFramework has many other subkeys (v1.1.4322, Policy, ...): only near misses count.
      if (auto meant = intended_name(parts[1], kDotNetVersions)) unknown_key(key, framework, parts[1], *meant, ".NET");
      return;
    }
    if (parts.size() == 2) known_values(key, kDotNetValues, false, ".NET");
  }

  /// `parent`\`name` should have been `parent`\`meant`.
  void unknown_key(const RegKey& key, const std::string& parent, std::string_view name,
                   std::optional<std::string_view> meant, std::string_view reader, std::string_view otherwise = {}) {
    std::string wrong = parent + "\\" + std::string(name);
    if (!reported_.insert(ascii_lower(wrong)).second) return;  // once, not for each subkey
    std::string where = key.line ? fmt::format(" (line {})", key.line) : std::string();
    if (meant) {
      std::string right = parent + "\\" + std::string(*meant);
      problems_.push_back({"unknown-key", Severity::Error,
                           fmt::format("[{}]{} is not a key {} reads: it expects '{}', so nothing under '{}' has "
                                       "any effect",
                                       wrong, where, reader, *meant, name),
                           fmt::format("write the values under [{}] instead (sluice schannel fix writes the keys "
                                       "Windows reads), delete [{}], then restart Windows",
                                       right, wrong)});
    } else {
      problems_.push_back(
          {"unknown-key", Severity::Error,
           fmt::format("[{}]{} is not a key {} reads ({}), so nothing under it has any effect", wrong, where, reader,
                       otherwise),
           fmt::format("delete [{}] and write the values under the key meant, then restart Windows", wrong)});
    }
  }

  /// Values that belong one level down (in Client/Server, or in a version key).
  void misplaced_values(const RegKey& key, const std::vector<std::string_view>& names, const std::string& where) {
    for (const auto& [lower, entry] : key.values) {
      const auto& [name, value] = entry;
      auto meant = intended_name(name, names);
      if (!meant) continue;
      problems_.push_back({"unknown-value", Severity::Error,
                           fmt::format("{}\\{} (line {}) is not read there: {}", key.path, name, value.line, where),
                           fmt::format("move \"{}\" to those keys, then restart Windows", *meant)});
    }
  }

  /// The values of a key whose name is right: each must be one of `names`, spelt right, and a
  /// DWORD. With `strict`, any other value is an error (the key holds nothing else); without,
  /// only near misses are.
  void known_values(const RegKey& key, const std::vector<std::string_view>& names, bool strict,
                    std::string_view reader) {
    for (const auto& [lower, entry] : key.values) {
      const auto& [name, value] = entry;
      if (is_known(name, names)) {
        if (!value.dword())
          problems_.push_back({"value-ignored", Severity::Error,
                               fmt::format("{}\\{} is {} (line {}), not a DWORD: Windows ignores it and keeps its "
                                           "default",
                                           key.path, name, value.describe(), value.line),
                               fmt::format("write it as \"{}\"=dword:0000000x, then restart Windows", name)});
        continue;
      }
      auto meant = intended_name(name, names);
      if (!meant && !strict) continue;
      problems_.push_back(
          {"unknown-value", Severity::Error,
           meant ? fmt::format("{}\\\"{}\" (line {}) is not a value {} reads: it reads \"{}\"", key.path, name,
                               value.line, reader, *meant)
                 : fmt::format("{}\\\"{}\" (line {}) is not a value {} reads: it reads only {} here", key.path, name,
                               value.line, reader, quoted_list(names)),
           fmt::format("name it \"{}\" (a DWORD), then restart Windows", meant ? *meant : names.front())});
    }
  }

  std::vector<Problem>& problems_;
  std::set<std::string> reported_;
};

}  // namespace

std::optional<std::string_view> intended_name(std::string_view name, const std::vector<std::string_view>& known) {
  for (std::string_view k : known)
    if (same_name(name, k)) return k;
  const std::string squeezed_name = squeezed(name);
  for (std::string_view k : known)
    if (!squeezed_name.empty() && squeezed(k) == squeezed_name) return k;
  std::optional<std::string_view> best;
  std::size_t best_distance = 3;  // at most two edits
  const std::string lower = ascii_lower(name);
  for (std::string_view k : known) {
    std::size_t d = edit_distance(lower, ascii_lower(k));
    // Short names are too close to everything: two edits turn "SHA" into "MD5"-like noise.
    if (d < best_distance && d * 3 < k.size()) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

void check_key_names(const Registry& registry, std::vector<Problem>& problems) {
  KeyNameCheck check(problems);
  for (const RegKey* key : registry.keys()) check.key(*key);
}

}  // namespace sluice::schannel
