#include "logscan/exchange_protocol_reader.h"

#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <functional>

#include "base/text.h"
#include "logscan/filters.h"
#include "logscan/signatures.h"

namespace sluice::logscan {
namespace {

/// Message counting from the dialogue (data_state): after DATA, a 354 then a 2xx is a message;
/// after "BDAT n LAST", the next 2xx is.
enum DataState : std::uint8_t { kIdle, kSentData, kAwaitFinal };

}  // namespace

std::uint64_t session_key(std::string_view id) {
  if (id.size() <= 16) {
    // Per line, so two loads and a multiply rather than a loop over the digits. Distinct ids
    // could share a key only by a 64-bit collision.
    std::uint64_t a = 0, b = 0;
    std::memcpy(&a, id.data(), std::min<std::size_t>(id.size(), 8));
    if (id.size() > 8) std::memcpy(&b, id.data() + 8, id.size() - 8);
    std::uint64_t h = a * 0x9E3779B97F4A7C15ull;
    h ^= (b + id.size()) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 31;
    return h & ~(1ull << 63);
  }
  return std::hash<std::string_view>{}(id) | (1ull << 63);
}

TlsClass exchange_protocol_version(std::string_view context, char* side) {
  static constexpr std::string_view kPrefix = "TLS protocol SP_PROT_";
  if (!context.starts_with(kPrefix)) return TlsClass::Plaintext;
  std::string_view rest = context.substr(kPrefix.size());
  TlsClass v = TlsClass::Plaintext;
  if (rest.starts_with("TLS1_0"))
    v = TlsClass::Tls1_0;
  else if (rest.starts_with("TLS1_1"))
    v = TlsClass::Tls1_1;
  else if (rest.starts_with("TLS1_2"))
    v = TlsClass::Tls1_2;
  else if (rest.starts_with("TLS1_3"))
    v = TlsClass::Tls1_3;
  if (side && v != TlsClass::Plaintext && rest.size() > 7) *side = rest[7];
  return v;
}

bool is_pre_connect_line(std::string_view context) {
  return context == "attempting to connect" || context == "Set Session Permissions";
}

bool offered_legacy_only(std::string_view context) {
  if (!context.starts_with("Client offered ")) return false;
  auto end = context.find(';');
  std::string_view offered = context.substr(15, end == std::string_view::npos ? std::string_view::npos : end - 15);
  bool legacy = offered.find("TLS1_0") != std::string_view::npos || offered.find("TLS1_1") != std::string_view::npos;
  bool modern = offered.find("TLS1_2") != std::string_view::npos || offered.find("TLS1_3") != std::string_view::npos;
  return legacy && !modern;
}

ExchangeProtocolReader::ExchangeProtocolReader(ReadContext ctx, const Header& header,
                                               std::optional<Direction> fallback_direction)
    : ctx_(std::move(ctx)), header_(header), direction_(header.direction ? header.direction : fallback_direction) {
  set_columns(header_.fields.empty() ? default_protocol_fields() : header_.fields);
  sessions_.reserve(4096);
}

void ExchangeProtocolReader::set_columns(const std::vector<std::string>& fields) {
  static constexpr std::string_view kNames[kColumns] = {
      "date-time", "connector-id", "session-id", "local-endpoint", "remote-endpoint", "event", "data", "context"};
  for (int c = 0; c < kColumns; ++c) {
    col_[c] = -1;
    for (std::size_t i = 0; i < fields.size() && i < kMaxFields; ++i)
      if (fields[i] == kNames[c]) col_[c] = static_cast<int>(i);
  }
  field_count_ = static_cast<int>(fields.size());
}

int ExchangeProtocolReader::split(std::string_view text, bool truncated) {
  // The common case: no quote anywhere, so every comma separates fields. Commas and quotes are
  // found 16 bytes at a time and the fields cut as the commas appear; a line with any quote
  // goes to split_csv.
  const char* p = text.data();
  const std::size_t size = text.size();
  int n = 0;
  std::size_t start = 0;
  bool quote = false;
  auto commas = [&](unsigned mask, std::size_t base) {
    while (mask) {
      std::size_t at = base + static_cast<std::size_t>(__builtin_ctz(mask));
      mask &= mask - 1;
      if (n == static_cast<int>(kMaxFields) - 1) return false;
      f_[n++] = {std::string_view(p + start, at - start), false};
      start = at + 1;
    }
    return true;
  };
  std::size_t i = 0;
  bool room = true;
#if defined(__SSE2__)
  const __m128i comma_v = _mm_set1_epi8(','), quote_v = _mm_set1_epi8('"');
  unsigned quote_bits = 0;
  for (; i + 16 <= size && room; i += 16) {
    __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    quote_bits |= static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, quote_v)));
    room = commas(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, comma_v))), i);
  }
  if (i < size && size >= 16 && room) {
    // The tail: one more load that ends at the end of the line, without the bytes already seen.
    __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + size - 16));
    unsigned seen = (1u << (16 - (size - i))) - 1;
    quote_bits |= static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, quote_v))) & ~seen;
    room = commas(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, comma_v))) & ~seen, size - 16);
    i = size;
  }
  quote = quote_bits != 0;
#endif
  for (; i < size && room; ++i) {
    if (p[i] == ',')
      room = commas(1, i);
    else if (p[i] == '"')
      quote = true;
  }
  if (!quote) {
    if (!room) return -1;
    f_[n++] = {std::string_view(p + start, size - start), false};
    if (truncated) pad(n);
    return n;
  }
  n = split_csv(text, f_);
  if (n < 0 && truncated) {
    // A line cut inside a quoted field: close the quote and read what is there.
    std::string_view cut = text;
    auto q = cut.rfind('"');
    if (q != std::string_view::npos && (q == 0 || cut[q - 1] == ',')) {
      n = split_csv(cut.substr(0, q), f_);
      if (n > 0 && n < static_cast<int>(kMaxFields)) {
        f_[n - 1] = {cut.substr(q + 1), true};
      }
    }
  }
  if (n > 0 && truncated) pad(n);
  return n;
}

void ExchangeProtocolReader::pad(int& n) {
  // A #Fields header may name more columns than a line can hold (kMaxFields); such lines are
  // malformed anyway, and padding stops at the array's end (found by fuzz/logscan_exchange).
  while (n < field_count_ && n < static_cast<int>(kMaxFields)) f_[n++] = {};
}

Millis ExchangeProtocolReader::time_of_line() {
  auto t = parse_iso8601(f_[col_[kTime]].raw);
  return t ? *t : kNoTime;
}

Session& ExchangeProtocolReader::session_for(std::string_view id, std::uint64_t key, bool start) {
  if (cached_ && cached_key_ == key && !start) return *cached_;
  auto [it, inserted] = sessions_.try_emplace(key);
  Session& s = it->second;
  if (start && !inserted && s.pre_connect) {
    // Exchange's Send log: "attempting to connect" came first under this id; "+" is its connection.
    s.pre_connect = false;
    s.touch(time_of_line());
  } else if (start && !inserted) {
    // A second "+" for an id that is still open: the first connection's end was never logged.
    Session old = s;
    if (old.saw_start)
      ctx_.out->finish(old);
    else
      ctx_.out->keep_partial(partial_key(key, old), ctx_.order, old);
    s = Session{};
    inserted = true;
  }
  if (inserted) {
    if (key >> 63) {
      odd_ids_[key] = std::string(id);
    } else {
      std::memcpy(s.id, id.data(), id.size());
      s.id_len = static_cast<std::uint8_t>(id.size());
    }
    s.saw_start = start;
    s.direction = direction_.value_or(Direction::Inbound);
    Millis t = time_of_line();
    if (unit_start_ == kNoTime) unit_start_ = t;
    // An Exchange Send session whose first lines ("Set Session Permissions", "attempting to
    // connect") ended the previous file (or part) goes on early in this one: it is handed on to
    // be merged with them, not counted twice.
    s.may_follow_attempt =
        ctx_.order > 0 && direction_ != Direction::Inbound && t != kNoTime && t - unit_start_ < kMaxConnectWait;
    s.connector = ctx_.out->intern(col_[kConnector] >= 0 ? f_[col_[kConnector]].raw : std::string_view());
    std::string_view remote = col_[kRemote] >= 0 ? endpoint_ip(f_[col_[kRemote]].raw) : std::string_view();
    s.remote = ctx_.out->intern(remote);
    s.touch(t);
  }
  cached_key_ = key;
  cached_ = &s;
  return s;
}

std::string ExchangeProtocolReader::partial_key(std::uint64_t key, const Session& s) {
  if (key >> 63) return "X" + odd_ids_[key];
  return "X" + std::string(s.id, s.id_len);
}

void ExchangeProtocolReader::end_session(std::uint64_t key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  s.saw_end = true;
  if (s.saw_start && !s.may_follow_attempt) {
    ctx_.out->finish(s);
  } else {
    // Its start is in an earlier file or part: merged later.
    ctx_.out->keep_partial(partial_key(key, s), ctx_.order, s);
  }
  if (key >> 63) odd_ids_.erase(key);
  sessions_.erase(it);
  cached_ = nullptr;
}

void ExchangeProtocolReader::record_failures(std::string_view text, const Session& s, std::string_view record,
                                             std::uint64_t number) {
  Signatures sig = find_signatures(text);
  if (sig.count == 0) return;
  Millis t = time_of_line();
  std::string_view connector = ctx_.out->text(s.connector);
  std::string_view remote = ctx_.out->text(s.remote);
  for (std::size_t i = 0; i < sig.count; ++i)
    ctx_.out->failure(sig.found[i], s.direction, connector, remote, t, ctx_.file, number, record);
}

bool ExchangeProtocolReader::line(std::string_view text, std::uint64_t number, bool truncated, bool may_continue) {
  if (text.empty()) return true;
  if (text.front() == '#') {
    if (header_.read(text)) {
      if (!header_.fields.empty()) set_columns(header_.fields);
      if (header_.direction) direction_ = header_.direction;
    }
    return true;
  }
  int n = split(text, truncated);
  if (n == kUnterminated && may_continue) return false;
  if (n != field_count_ || col_[kSession] < 0 || col_[kEvent] < 0 || col_[kTime] < 0) {
    malformed(ctx_, number, text);
    return true;
  }
  std::string_view event = f_[col_[kEvent]].raw;
  std::string_view id = f_[col_[kSession]].raw;
  std::string_view stamp = f_[col_[kTime]].raw;
  // The cheap checks that catch a line that is not a protocol log line at all.
  if (event.size() != 1 || id.empty() || stamp.size() < 20 || stamp[4] != '-' || stamp[10] != 'T') {
    malformed(ctx_, number, text);
    return true;
  }
  // Consecutive lines often belong to one session: reuse its key instead of parsing the id again.
  std::uint64_t key;
  if (id.size() == last_id_len_ && std::memcmp(id.data(), last_id_, id.size()) == 0) {
    key = last_key_;
  } else {
    key = session_key(id);
    if (id.size() <= sizeof last_id_) {
      std::memcpy(last_id_, id.data(), id.size());
      last_id_len_ = id.size();
      last_key_ = key;
    } else {
      last_id_len_ = SIZE_MAX;
    }
  }
  char e = event[0];
  std::string_view data = col_[kData] >= 0 ? f_[col_[kData]].raw : std::string_view();
  std::string_view context = col_[kContext] >= 0 ? f_[col_[kContext]].raw : std::string_view();
  switch (e) {
    case '+': {
      if (!parse_iso8601(stamp)) {
        malformed(ctx_, number, text);
        return true;
      }
      session_for(id, key, true);
      return true;
    }
    case '-': {
      Session& s = session_for(id, key, false);
      if (!context.empty()) record_failures(context, s, text, number);
      end_session(key);
      return true;
    }
    case '<':
    case '>': {
      Session& s = session_for(id, key, false);
      // Receive logs: '<' is the client's command, '>' our reply. Send logs the other way round.
      bool command = (e == '<') == (s.direction == Direction::Inbound);
      if (command) {
        if (starts_with_ascii_nocase(data, "EHLO ") || starts_with_ascii_nocase(data, "HELO ")) {
          std::string_view name = data.substr(5);
          auto sp = name.find(' ');
          if (sp != std::string_view::npos) name = name.substr(0, sp);
          s.name = ctx_.out->intern(name);
        } else if (starts_with_ascii_nocase(data, "DATA") && data.size() == 4) {
          s.data_state = kSentData;
        } else if (starts_with_ascii_nocase(data, "BDAT ") && data.find(" LAST") != std::string_view::npos) {
          s.data_state = kAwaitFinal;
        }
        return true;
      }
      if (data.empty()) return true;
      char c = data[0];
      if (c == '2') {
        if (s.data_state == kAwaitFinal) {
          ++s.messages;
          s.data_state = kIdle;
        }
      } else if (c == '3') {
        if (s.data_state == kSentData && data.starts_with("354")) s.data_state = kAwaitFinal;
      } else if (c == '4' || c == '5') {
        s.data_state = kIdle;
        record_failures(data, s, text, number);
      }
      return true;
    }
    case '*': {
      Session& s = session_for(id, key, false);
      if (!s.saw_start && direction_ != Direction::Inbound && is_pre_connect_line(context)) {
        // The attempt starts here; "+" follows when the connection is made.
        s.saw_start = s.pre_connect = true;
        if (!direction_) s.direction = Direction::Outbound;
        return true;
      }
      if (context.starts_with("Failed to connect")) {
        connect_failed(s, key, context, text, number);
        return true;
      }
      if (context.size() < 20) return true;
      char side = 0;
      TlsClass v = exchange_protocol_version(context, &side);
      if (v != TlsClass::Plaintext) {
        s.tls = v;
        if (!direction_ && (side == 'C' || side == 'S'))
          s.direction = side == 'C' ? Direction::Outbound : Direction::Inbound;
        return true;
      }
      if (context.starts_with("Client offered ")) {
        s.offered_legacy_only |= offered_legacy_only(context);
        return true;
      }
      if (context.starts_with("TLS negotiation failed")) s.tls_failed = true;
      if (context.starts_with("TLS negotiation failed") || context.find(" 4.4.2 ") != std::string_view::npos ||
          context.find(" 5.7.") != std::string_view::npos) {
        record_failures(context, s, text, number);
      }
      return true;
    }
    default:
      malformed(ctx_, number, text);
  }
  return true;
}

void ExchangeProtocolReader::connect_failed(Session& s, std::uint64_t key, std::string_view context,
                                            std::string_view record, std::uint64_t number) {
  s.connect_failed = true;
  s.pre_connect = false;
  if (!direction_) s.direction = Direction::Outbound;
  ctx_.out->failure(connect_failure_signature(context), s.direction, ctx_.out->text(s.connector),
                    ctx_.out->text(s.remote), time_of_line(), ctx_.file, number, record);
  // No "+" and no "-" follow a connection that was never made: the attempt ends here.
  end_session(key);
}

void ExchangeProtocolReader::finish() {
  for (auto& [key, s] : sessions_) ctx_.out->keep_partial(partial_key(key, s), ctx_.order, s);
  sessions_.clear();
  cached_ = nullptr;
}

}  // namespace sluice::logscan
