// The DATA decoder (src/smtp/data_decoder.h). Input: two bytes choose max_size and
// max_line_length, one byte seeds where the rest is cut into pieces; the rest is what the client
// sent after "DATA\r\n". The decoder must find the end exactly where CRLF "." CRLF first occurs,
// give the same result however the bytes were split, and never accept content with a bare CR or
// LF, an over-long line, or more than max_size octets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "smtp/data_decoder.h"

using sluice::smtp::DataDecoder;

namespace {

struct Result {
  std::size_t consumed = 0;
  bool done = false;
  DataDecoder::Defect defect = DataDecoder::Defect::None;
  std::string content;
  std::size_t size = 0;
  bool truncated = false;
  bool operator==(const Result&) const = default;
};

/// Feeds `input` in pieces whose lengths come from `seed` (0: in one piece).
Result decode(std::string_view input, std::size_t max_size, std::size_t max_line, std::uint32_t seed) {
  DataDecoder d(max_size, max_line);
  Result r;
  std::size_t pos = 0;
  while (pos < input.size() && !d.done()) {
    std::size_t len = input.size() - pos;
    if (seed != 0) {
      seed = seed * 1103515245u + 12345u;
      len = std::min<std::size_t>(len, 1 + (seed >> 16) % 17);
    }
    const std::size_t n = d.feed(input.substr(pos, len));
    FUZZ_CHECK(n <= len);
    if (!d.done()) FUZZ_CHECK(n == len);  // everything before the end belongs to the message
    pos += n;
  }
  if (d.done()) FUZZ_CHECK(d.feed("more") == 0);
  r.consumed = pos;
  r.done = d.done();
  r.defect = d.defect();
  r.content = d.content();
  r.size = d.size();
  r.truncated = d.truncated();
  return r;
}

bool has_bare(std::string_view s, char which) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (which == '\n' && s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
    if (which == '\r' && s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return true;
  }
  return false;
}

/// The content as a sender would transmit it: dot-stuffed, then the end of data.
std::string stuff(std::string_view content) {
  std::string out;
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  return out + ".\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t max_size = data[0] < 128 ? data[0] * 8u : 1u << 20;
  const std::size_t max_line = data[1] < 128 ? data[1] * 2u : 1000;
  const std::uint32_t seed = data[2] | 1u << 8;
  std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);

  const Result whole = decode(input, max_size, max_line, 0);
  const Result pieces = decode(input, max_size, max_line, seed);
  FUZZ_CHECK(whole == pieces);

  // The one end of data: the first CRLF "." CRLF, the DATA command's CRLF counting as the first.
  const std::size_t end = ("\r\n" + std::string(input)).find("\r\n.\r\n");
  FUZZ_CHECK(whole.done == (end != std::string::npos));
  if (whole.done) FUZZ_CHECK(whole.consumed == end + 3);

  FUZZ_CHECK(whole.content.size() == std::min(whole.size, max_size));
  FUZZ_CHECK(whole.truncated == (whole.size > max_size));
  if (whole.truncated) FUZZ_CHECK(whole.defect != DataDecoder::Defect::None);
  if (!whole.done) return 0;

  const std::string_view sent = input.substr(0, whole.consumed);
  using D = DataDecoder::Defect;
  if (has_bare(sent, '\n') || has_bare(sent, '\r')) FUZZ_CHECK(whole.defect != D::None);
  if (whole.defect == D::BareLf) FUZZ_CHECK(has_bare(sent, '\n'));
  if (whole.defect == D::BareCr) FUZZ_CHECK(has_bare(sent, '\r'));
  if (whole.defect != D::None) return 0;

  // Accepted content: CRLF lines only, each within the limit, and it survives re-sending.
  const std::string& c = whole.content;
  FUZZ_CHECK(!has_bare(c, '\n') && !has_bare(c, '\r'));
  FUZZ_CHECK(c.empty() || c.ends_with("\r\n"));
  for (std::size_t pos = 0; pos < c.size();) {
    const std::size_t eol = c.find("\r\n", pos);
    FUZZ_CHECK(eol - pos + 2 <= max_line);
    pos = eol + 2;
  }
  const std::string resent = stuff(c);
  const Result again = decode(resent, max_size, max_line, seed);
  FUZZ_CHECK(again.done && again.consumed == resent.size());
  FUZZ_CHECK(again.defect == D::None && again.content == c);
  return 0;
}
