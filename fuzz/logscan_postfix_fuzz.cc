// logscan's Postfix log reader (src/logscan/postfix_reader.h). The first byte chooses the read
// sizes and the reference year; the rest is a maillog. Read in one block and in small blocks,
// the counts must be the same; every syslog line that parses has its parts inside the line.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "logscan/postfix_reader.h"
#include "logscan_harness.h"

using namespace sluice::logscan;

namespace {

void read(fuzz::Reading& r, Millis reference, std::string_view text, std::size_t block, std::size_t chunk) {
  PostfixReader reader(r.context(0, reference));
  fuzz::feed(reader, text, block, chunk);
  fuzz::finish(reader, r);
  FUZZ_CHECK(reader.open_sessions() == 0);
  fuzz::check_consistent(r);
}

bool inside(std::string_view part, std::string_view line) {
  return part.empty() || (part.data() >= line.data() && part.data() + part.size() <= line.data() + line.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t options = data[0];
  const std::size_t small = 1 + (options >> 2);
  // 2026-11-27T12:00:00Z, or the Unix epoch: stamps without a year are read near it.
  const Millis reference = options & 1 ? 1795780800000 : 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  for (std::string_view line : fuzz::split_lines(text)) {
    SyslogLine l;
    if (!parse_syslog_line(line, reference, l)) continue;
    FUZZ_CHECK(inside(l.host, line) && inside(l.program, line) && inside(l.daemon, line) && inside(l.message, line));
    std::string_view host, ip;
    if (parse_host_ip(l.message, host, ip)) FUZZ_CHECK(inside(host, l.message) && inside(ip, l.message));
  }

  fuzz::Reading whole;
  read(whole, reference, text, text.size() + 1, text.size() + 1);  // one read
  fuzz::Reading pieces;
  read(pieces, reference, text, small, small + 3);
  FUZZ_CHECK(fuzz::same_counts(whole.aggregate, pieces.aggregate));
  return 0;
}
