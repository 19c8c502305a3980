// What the configuration tests share: the one-line error that parsing a text gives.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"

namespace sluice::config {

/// The message of the ConfigError that parsing `text` throws; fails the test when none is thrown.
inline std::string error_of(std::string_view text) {
  try {
    parse_config(text, "sluice.toml");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
    return message;
  }
  ADD_FAILURE() << "no ConfigError for:\n" << text;
  return "";
}

#define EXPECT_CONFIG_ERROR(text, expected) \
  EXPECT_PRED_FORMAT2(::testing::IsSubstring, expected, ::sluice::config::error_of(text))

}  // namespace sluice::config
