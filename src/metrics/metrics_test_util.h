// Reading the process's metrics in tests: the value of one series in a scrape of registry().
#pragma once
#include <string>
#include <string_view>

#include "metrics/gateway_metrics.h"
#include "metrics/text_format.h"

namespace sluice::metrics::test_util {

/// The value of `series` as written in the scrape (`name{label="value",...}`, labels in the
/// family's order), 0 when it is not there. Counters are process-wide: compare before and after.
inline double series_value(std::string_view series) {
  TextWriter out;
  registry().write(out);
  const std::string text = out.take();
  const std::string prefix = "\n" + std::string(series) + " ";
  const std::size_t at = ("\n" + text).find(prefix);
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + prefix.size() - 1));
}

}  // namespace sluice::metrics::test_util
