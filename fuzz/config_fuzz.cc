// The configuration loader (src/config/config.h parse_config). Any text either gives a Config or
// throws ConfigError whose message is one line naming the file ("<file>: <key>: <problem>"); no
// other exception, no crash. toml++ is compiled into the target (header-only) so that the fuzzer
// sees its coverage and can reach sluice's own checks with well-formed TOML.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "fuzz_check.h"

using namespace sluice::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    Config config = parse_config(text, "fuzz.toml");
    FUZZ_CHECK(!config.receive_connectors.empty());
    for (const auto& c : config.receive_connectors) {
      FUZZ_CHECK(!c.name.empty());
      // Relay is a permission given to named ranges, never to everyone.
      FUZZ_CHECK((c.relay == RelayPermission::Ranges) == !c.relay_from.empty());
      for (const auto& range : c.relay_from) FUZZ_CHECK(range.prefix_length() > 0);
    }
    for (const auto& domain : config.accepted_domains) FUZZ_CHECK(!domain.pattern.empty() && domain.pattern != "*");
  } catch (const ConfigError& e) {
    const std::string_view message = e.what();
    FUZZ_CHECK(message.starts_with("fuzz.toml: "));
    FUZZ_CHECK(message.find_first_of("\r\n") == std::string_view::npos);
  }
  return 0;
}
