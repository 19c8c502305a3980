// The protocol log format (src/protocol_log/protocol_log.h), the contract between the gateway's writer
// and logscan. Text mode: each line of the input (and the whole input, for records with quoted
// line breaks) is parsed; what parses must format and parse back to the same line (with control
// characters and bytes that are not UTF-8 escaped, as the writer does), the formatted text must be
// one line of printable UTF-8, and it is a fixed point. Structured mode (first byte 0x01): a Line
// is built from the input, formatted, and must parse back to itself, escaped.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/utf8.h"
#include "fuzz_check.h"
#include "protocol_log/protocol_log.h"

using namespace sluice::protocol_log;

namespace {

bool same(const Line& a, const Line& b) {
  return a.time == b.time && a.connector == b.connector && a.session_id == b.session_id && a.sequence == b.sequence &&
         a.local_endpoint == b.local_endpoint && a.remote_endpoint == b.remote_endpoint && a.event == b.event &&
         a.data == b.data && a.context == b.context;
}

// What the writer makes of a line's text fields.
Line escaped(Line line) {
  for (std::string* field :
       {&line.connector, &line.session_id, &line.local_endpoint, &line.remote_endpoint, &line.data, &line.context})
    *field = sluice::escape_control_characters(*field);
  return line;
}

void check_round_trip(const Line& line) {
  const std::string text = format_line(line);
  FUZZ_CHECK(text.ends_with("\r\n"));
  FUZZ_CHECK(sluice::is_valid_utf8(text));
  for (std::size_t i = 0; i + 2 < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    FUZZ_CHECK(byte >= 0x20 && byte != 0x7f);
  }
  auto back = parse_line(text);
  const Line expected = escaped(line);
  if (!back || !same(*back, expected)) std::fprintf(stderr, "formatted: %s\n", text.c_str());
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(same(*back, expected));
  FUZZ_CHECK(format_line(*back) == text);
}

void check_text(std::string_view text) {
  auto line = parse_line(text);
  if (!line) return;
  FUZZ_CHECK(line->sequence >= 0);
  check_round_trip(*line);
}

void structured(FuzzedDataProvider& in) {
  using namespace std::chrono;
  Line line;
  // Years 1678 to 2261: what system_clock's nanoseconds can hold.
  const std::int64_t ms = in.ConsumeIntegralInRange<std::int64_t>(-9214560000000, 9214646400000 - 1);
  line.time = system_clock::time_point(duration_cast<system_clock::duration>(milliseconds(ms)));
  line.sequence = in.ConsumeIntegralInRange<int>(0, INT32_MAX);
  const char events[] = {'+', '-', '>', '<', '*'};
  line.event = static_cast<Event>(events[in.ConsumeIntegralInRange<int>(0, 4)]);
  line.connector = in.ConsumeRandomLengthString(64);
  line.session_id = in.ConsumeRandomLengthString(32);
  line.local_endpoint = in.ConsumeRandomLengthString(48);
  line.remote_endpoint = in.ConsumeRandomLengthString(48);
  line.data = in.ConsumeRandomLengthString(512);
  line.context = in.ConsumeRandomLengthString(in.remaining_bytes());
  check_round_trip(line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 0 && data[0] == 0x01) {
    FuzzedDataProvider in(data + 1, size - 1);
    structured(in);
    return 0;
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_text(text);
  for (std::string_view line : fuzz::split_lines(text)) check_text(line);
  return 0;
}
