// logscan's Exchange protocol log reader (src/logscan/exchange_protocol_reader.h). The first
// byte chooses the direction fallback and the read sizes; the rest is a log file, "#" header
// lines included. The file is read once in one block and once in small blocks (the counts must
// not differ), and once cut in two at a line boundary and read by two readers, as the scanner
// splits large files (sessions crossing the cut must be merged back).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "logscan/exchange_protocol_reader.h"
#include "logscan/format_detect.h"
#include "logscan_harness.h"

using namespace sluice::logscan;

namespace {

/// The header lines at the start of `text` (as the scanner reads them) and where data begins.
std::size_t read_header(std::string_view text, Header& header) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && !header.read(line)) break;
    if (eol == std::string_view::npos) return text.size();
    pos = eol + 1;
  }
  return pos;
}

void read(fuzz::Reading& r, const Header& header, std::optional<Direction> fallback, std::string_view text,
          std::size_t block, std::size_t chunk) {
  ExchangeProtocolReader reader(r.context(), header, fallback);
  fuzz::feed(reader, text, block, chunk);
  fuzz::finish(reader, r);
  FUZZ_CHECK(reader.open_sessions() == 0);
  fuzz::check_consistent(r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t options = data[0];
  std::optional<Direction> fallback;
  if (options & 1) fallback = options & 2 ? Direction::Outbound : Direction::Inbound;
  const std::size_t small = 1 + (options >> 2);
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  Header header;
  const std::size_t body = read_header(text, header);
  const std::string_view lines = text.substr(body);

  fuzz::Reading whole;
  read(whole, header, fallback, lines, lines.size() + 1, lines.size() + 1);  // one read
  fuzz::Reading pieces;
  read(pieces, header, fallback, lines, small, small + 3);
  FUZZ_CHECK(fuzz::same_counts(whole.aggregate, pieces.aggregate));
  return 0;
}
