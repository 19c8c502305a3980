// The configuration check shared by `sluice check` and `sluice serve --check-config`.
#pragma once
#include "cli/gateway_load.h"

namespace sluice::cli {

/// Loads everything serve would from `source` without changing anything, prints the effective
/// gateway on stdout (every problem on stderr instead); returns the exit status, 0 or 2.
int check_configuration(const ConfigSource& source);

}  // namespace sluice::cli
