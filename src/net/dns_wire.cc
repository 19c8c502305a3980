#include "net/dns_wire.h"

#include <ares.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace sluice::net::dns_wire {
namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr int kClassIn = 1;
constexpr unsigned kTypeCname = 5;

unsigned read16(const Bytes& m, std::size_t pos) { return static_cast<unsigned>(m[pos] << 8 | m[pos + 1]); }

/// The position after the (possibly compressed) name at `pos`, or 0 when it runs past the end.
std::size_t skip_name(const Bytes& m, std::size_t pos) {
  while (pos < m.size()) {
    unsigned len = m[pos];
    if ((len & 0xC0) == 0xC0) return pos + 2 <= m.size() ? pos + 2 : 0;  // a pointer ends the name
    if ((len & 0xC0) != 0) return 0;                                     // reserved label types
    if (len == 0) return pos + 1;
    pos += 1 + len;
  }
  return 0;
}

/// The position of the answer section: after the header and the questions.
Result<std::size_t> answer_section(const Bytes& m) {
  if (m.size() < kHeaderSize) return fail("DNS answer shorter than its header");
  unsigned questions = read16(m, 4);
  std::size_t pos = kHeaderSize;
  for (unsigned i = 0; i < questions; ++i) {
    pos = skip_name(m, pos);
    if (pos == 0 || pos + 4 > m.size()) return fail("DNS answer with a truncated question");
    pos += 4;
  }
  return pos;
}

}  // namespace

int answer_status(const unsigned char* message, int length) {
  if (message == nullptr || length < static_cast<int>(kHeaderSize)) return ARES_EBADRESP;
  unsigned answers = static_cast<unsigned>(message[6] << 8 | message[7]);
  // The same mapping as c-ares' ares_query (ares_query.c, qcallback).
  switch (message[3] & 0x0F) {
    case 0:
      return answers == 0 ? ARES_ENODATA : ARES_SUCCESS;
    case 1:
      return ARES_EFORMERR;
    case 2:
      return ARES_ESERVFAIL;
    case 3:
      return ARES_ENOTFOUND;
    case 4:
      return ARES_ENOTIMP;
    case 5:
      return ARES_EREFUSED;
    default:
      return ARES_EBADRESP;
  }
}

bool authenticated_data(const Bytes& message) { return message.size() >= kHeaderSize && (message[3] & 0x20) != 0; }

Result<std::vector<Bytes>> answer_rdata(const Bytes& m, int type) {
  auto start = answer_section(m);
  if (!start) return fail(start.error());
  unsigned answers = read16(m, 6);
  std::size_t pos = *start;
  std::vector<Bytes> out;
  for (unsigned i = 0; i < answers; ++i) {
    pos = skip_name(m, pos);
    if (pos == 0 || pos + 10 > m.size()) return fail("DNS answer with a truncated record");
    unsigned rr_type = read16(m, pos);
    unsigned rr_class = read16(m, pos + 2);
    std::size_t length = read16(m, pos + 8);
    pos += 10;
    if (pos + length > m.size()) return fail("DNS answer with a record longer than the message");
    if (static_cast<int>(rr_type) == type && static_cast<int>(rr_class) == kClassIn) {
      out.emplace_back(m.begin() + static_cast<long>(pos), m.begin() + static_cast<long>(pos + length));
    }
    pos += length;
  }
  return out;
}

namespace {

bool same_name(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

/// The (possibly compressed) name at `pos`, without a trailing dot.
Result<std::string> read_name(const Bytes& m, std::size_t pos) {
  char* text = nullptr;
  long length = 0;
  if (ares_expand_name(m.data() + pos, m.data(), static_cast<int>(m.size()), &text, &length) != ARES_SUCCESS)
    return fail("DNS answer with a malformed name");
  std::string name = text;
  ares_free_string(text);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

}  // namespace

Result<std::string> canonical_name(const Bytes& m, const std::string& name) {
  auto start = answer_section(m);
  if (!start) return fail(start.error());
  unsigned answers = read16(m, 6);
  std::size_t pos = *start;
  // (owner, target) of each CNAME; a resolver lists the chain in order, but following it by
  // owner does not depend on that.
  std::vector<std::pair<std::string, std::string>> aliases;
  for (unsigned i = 0; i < answers; ++i) {
    std::size_t owner_pos = pos;
    pos = skip_name(m, pos);
    if (pos == 0 || pos + 10 > m.size()) return fail("DNS answer with a truncated record");
    unsigned rr_type = read16(m, pos);
    std::size_t length = read16(m, pos + 8);
    pos += 10;
    if (pos + length > m.size()) return fail("DNS answer with a record longer than the message");
    if (rr_type == kTypeCname) {
      auto owner = read_name(m, owner_pos);
      if (!owner) return fail(owner.error());
      auto target = read_name(m, pos);
      if (!target) return fail(target.error());
      aliases.emplace_back(std::move(*owner), std::move(*target));
    }
    pos += length;
  }
  std::string current = name;
  if (!current.empty() && current.back() == '.') current.pop_back();
  // Bounded by the number of aliases, so a looping chain ends.
  for (std::size_t hops = 0; hops < aliases.size(); ++hops) {
    auto it = std::find_if(aliases.begin(), aliases.end(), [&](const auto& a) { return same_name(a.first, current); });
    if (it == aliases.end()) break;
    current = it->second;
  }
  return current;
}

Result<std::string> txt_text(const Bytes& rdata) {
  std::string text;
  for (std::size_t pos = 0; pos < rdata.size();) {
    std::size_t length = rdata[pos++];
    if (pos + length > rdata.size()) return fail("malformed TXT record (a character-string runs past its end)");
    text.append(rdata.begin() + static_cast<long>(pos), rdata.begin() + static_cast<long>(pos + length));
    pos += length;
  }
  return text;
}

Result<tls::TlsaRecord> tlsa_record(const Bytes& rdata) {
  if (rdata.size() < 3) return fail("malformed TLSA record (shorter than usage, selector and matching type)");
  tls::TlsaRecord record;
  record.usage = rdata[0];
  record.selector = rdata[1];
  record.matching = rdata[2];
  record.data.assign(rdata.begin() + 3, rdata.end());
  return record;
}

}  // namespace sluice::net::dns_wire
