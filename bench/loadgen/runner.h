// runner: spreads sessions over threads (one io_context each), runs the load and collects the report.
#pragma once

#include "options.h"
#include "stats.h"

namespace sluice::bench {

/// Runs the throughput load or the idle hold that `o` describes and returns its report. Errors
/// of the run (refused connections, unexpected replies) are counted in the report, not thrown;
/// an address that does not resolve throws std::runtime_error.
Summary run_load(const Options& o);

}  // namespace sluice::bench
