// The registry export reader (src/schannel/reg_file.h). An export either reads or throws
// RegParseError naming a line of the file; what it reads is a consistent registry (every key and
// value is found by its own name, in any case), and reading the same export again over the result
// changes nothing (an export is a list of assignments).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/utf8.h"
#include "fuzz_check.h"
#include "schannel/reg_file.h"

using namespace sluice::schannel;

namespace {

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return s;
}

/// Everything the registry holds, as text, in its own order.
std::string dump(const Registry& registry) {
  std::string out;
  for (const RegKey* key : registry.keys()) {
    out += key->path + "\n";
    for (const auto& [lower, named] : key->values) out += "  " + named.first + "=" + named.second.describe() + "\n";
  }
  return out;
}

void check_consistent(const Registry& registry) {
  for (const RegKey* key : registry.keys()) {
    FUZZ_CHECK(registry.find_key(key->path) == key);
    FUZZ_CHECK(registry.find_key(upper(key->path)) == key);
    FUZZ_CHECK(registry.has_subtree(key->path));
    FUZZ_CHECK(normalize_key_path(key->path) == key->path);
    for (const auto& [lower, named] : key->values) {
      FUZZ_CHECK(registry.find_value(key->path, named.first) == &named.second);
      FUZZ_CHECK(registry.find_value(key->path, upper(named.first)) == &named.second);
      const RegValue& v = named.second;
      FUZZ_CHECK(v.line >= 1);
      if (auto d = v.dword()) FUZZ_CHECK(v.type == RegValue::kDword && *d == v.number);
      FUZZ_CHECK(!v.describe().empty());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // Converted text (UTF-16, Windows-1252) is strict UTF-8; only bytes taken as they are may not be.
  const std::string text = decode_export_text(bytes);
  std::string_view verbatim = bytes;
  if (verbatim.starts_with("\xEF\xBB\xBF")) verbatim.remove_prefix(3);
  if (text != verbatim) FUZZ_CHECK(sluice::is_valid_utf8(text));

  Registry registry;
  try {
    read_export(bytes, registry);
  } catch (const RegParseError& e) {
    FUZZ_CHECK(e.line() >= 0);
    FUZZ_CHECK(!e.detail().empty() && std::string_view(e.what()).size() > 0);
    return 0;
  }
  check_consistent(registry);
  const std::string once = dump(registry);
  read_export(bytes, registry);  // it read once, so it reads again
  FUZZ_CHECK(dump(registry) == once);
  return 0;
}
