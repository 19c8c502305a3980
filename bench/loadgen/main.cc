// sluice-loadgen: an SMTP load generator with STARTTLS, PIPELINING and reply checking (bench/README.md).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "options.h"
#include "runner.h"
#include "stats.h"

int main(int argc, char** argv) {
  using namespace sluice::bench;
  Options o;
  try {
    o = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "sluice-loadgen: %s\n", e.what());
    return 2;
  }
  if (o.help) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  try {
    Summary s = run_load(o);
    std::string out = o.json ? format_json(s) + "\n" : format_text(s);
    std::fputs(out.c_str(), stdout);
    return s.errors ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-loadgen: %s\n", e.what());
    return 2;
  }
}
