// Quoting a value for the configuration files the demo writes from its templates.
#pragma once
#include <string>

namespace sluice::demo {

/// `text` as a TOML basic string. No escaping: the demo quotes only its own paths, names and URLs.
inline std::string toml_string(const std::string& text) { return "\"" + text + "\""; }

}  // namespace sluice::demo
