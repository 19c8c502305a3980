// The per-worker side of aggregation: sessions being rebuilt (with interned strings so that a
// session costs no allocation), and the rules that turn a finished session, a failure line or a
// tracked message into Aggregate entries, after the filters.
#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "logscan/aggregate.h"
#include "logscan/filters.h"

namespace sluice::logscan {

/// One SMTP connection as rebuilt from its lines. Strings are ids from Collector::intern().
struct Session {
  Millis first = kNoTime, last = kNoTime;
  std::uint32_t connector = 0, remote = 0, name = 0;  ///< 0: unknown
  std::uint32_t messages = 0;
  Direction direction = Direction::Inbound;
  TlsClass tls = TlsClass::Plaintext;       ///< negotiated version (Plaintext: none negotiated)
  bool tls_failed = false;                  ///< a handshake failed
  bool offered_legacy_only = false;         ///< the client offered only TLS 1.0/1.1 (sluice logs this)
  bool saw_start = false, saw_end = false;  ///< its connect / disconnect line was read
  /// A send connector's attempt that has not connected (yet): Exchange logs "attempting to
  /// connect" under the session id before the "+" line.
  bool pre_connect = false;
  bool connect_failed = false;  ///< the connection was never established (refused, timed out)
  /// Reader-private: its "attempting to connect" may be in the unit before (see ExchangeProtocolReader).
  bool may_follow_attempt = false;
  std::uint8_t data_state = 0;  ///< reader-private (message counting)
  std::uint8_t id_len = 0;      ///< reader-private: the session id, when it is short
  char id[16];

  void touch(Millis t) {
    if (t == kNoTime) return;
    if (first == kNoTime || t < first) first = t;
    if (t > last) last = t;
  }
  /// The class a finished session counts under.
  TlsClass outcome() const {
    if (tls != TlsClass::Plaintext) return tls;
    if (tls_failed) return TlsClass::Failed;
    // An attempt the log leaves before "+" never reached SMTP either.
    return connect_failed || pre_connect ? TlsClass::ConnectFailed : TlsClass::Plaintext;
  }
};

/// A session whose start or end lies in another unit of work (another file, or the other half
/// of a split file), carried with its strings so that it can be merged across workers.
struct PartialSession {
  std::string key;          ///< format and session id (Exchange) or host and process id (Postfix)
  std::uint64_t order = 0;  ///< unit-of-work number, then position: merging follows it
  Session session;          ///< ids meaningless outside the worker; strings below
  std::string connector, remote, name;
};

class Collector {
 public:
  Collector(const Filters& filters, Aggregate& out) : filters_(filters), out_(out) { strings_.emplace_back(); }

  /// A stable id for `text` in this worker (0 for the empty string).
  std::uint32_t intern(std::string_view text);
  std::string_view text(std::uint32_t id) const { return strings_[id]; }

  /// Counts a finished session (if it passes the filters).
  void finish(const Session& s);
  /// Records one occurrence of a failure signature.
  void failure(std::string_view signature, Direction d, std::string_view connector, std::string_view remote,
               Millis time, std::string_view file, std::uint64_t line, std::string_view text);
  /// A failure signature found in a message tracking record: kept apart for fold_tracking().
  void tracked_failure(std::string_view signature, Direction d, std::string_view connector, std::string_view remote,
                       Millis time, std::string_view file, std::uint64_t line, std::string_view text);
  /// A message tracking event for a message: counted for the peer (by fold_tracking(), unless a
  /// protocol log counts it); `legacy` when its headers say version=TLS1_0/TLS1_1.
  void tracked_message(Direction d, std::string_view connector, std::string_view remote, std::string_view name,
                       Millis time, bool legacy);
  /// Keeps `s` for merging with its other parts later.
  void keep_partial(std::string key, std::uint64_t order, const Session& s);

  Aggregate& aggregate() { return out_; }
  std::vector<PartialSession>& partials() { return partials_; }

 private:
  PeerStats& peer(Direction d, std::uint32_t connector, std::uint32_t remote);

  const Filters& filters_;
  Aggregate& out_;
  std::deque<std::string> strings_;
  std::unordered_map<std::string_view, std::uint32_t> ids_;
  std::unordered_map<std::uint64_t, PeerStats*> peer_index_;
  /// Tracked peers by (connector, remote, direction) ids and hour: no string built per record.
  std::map<std::tuple<std::uint32_t, std::uint32_t, Direction, Millis>, TrackedPeerHour*> tracked_index_;
  std::vector<PartialSession> partials_;
};

/// Puts together the parts of each session (same key, in `order`: an unfinished part followed
/// by a part without a start is the same session) and counts them in `into`.
void merge_partials(std::vector<PartialSession> parts, Collector& into);

}  // namespace sluice::logscan
