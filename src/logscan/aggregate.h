// What logscan found, in a form that merges: per-peer TLS statistics, failure signatures,
// the timeline, and bookkeeping about the inputs. One Aggregate per unit of work (a file or a
// part of one), merged into one for the report.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "logscan/timestamp.h"

namespace sluice::logscan {

enum class Direction : std::uint8_t { Inbound, Outbound };
/// "inbound" (we are the SMTP server: a client connected to us) or "outbound" (we connected).
std::string_view direction_name(Direction d);

/// How a session ended up, TLS-wise: one column of every per-version table. ConnectFailed is a
/// send connector's connection that never reached SMTP (refused, timed out): not a plaintext
/// session, since nothing was sent in the clear.
enum class TlsClass : std::uint8_t { Plaintext, Tls1_0, Tls1_1, Tls1_2, Tls1_3, Failed, ConnectFailed };
inline constexpr std::size_t kTlsClasses = 7;
/// "plaintext", "TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3", "tls_failed", "connect_failed" (the JSON keys).
std::string_view tls_class_name(TlsClass c);
inline bool is_legacy(TlsClass c) { return c == TlsClass::Tls1_0 || c == TlsClass::Tls1_1; }
using ClassCounts = std::array<std::uint64_t, kTlsClasses>;

/// A place in the input: file, line number (from 1), and the line itself (cut to 500 bytes).
struct Example {
  std::string file;
  std::uint64_t line = 0;
  std::string text;
};

/// Everything known about one remote endpoint (IP address) per direction and connector.
struct PeerStats {
  Direction direction = Direction::Inbound;
  std::string connector;
  std::string remote;              ///< IP address, without port ("" when the log has none)
  std::vector<std::string> names;  ///< EHLO/HELO names seen (or host names from tracking), at most kMaxNames
  ClassCounts sessions{};
  std::uint64_t refused_legacy = 0;        ///< failed handshakes where the client offered only TLS 1.0/1.1
  std::uint64_t messages = 0;              ///< messages accepted (inbound) or sent (outbound), all sessions
  std::uint64_t legacy_messages = 0;       ///< ... of which in TLS 1.0/1.1 sessions, or tracked with version=TLS1_0/1_1
  Millis first = kNoTime, last = kNoTime;  ///< any session
  Millis legacy_first = kNoTime, legacy_last = kNoTime;  ///< legacy sessions and refusals only
  /// A fleet's logs (fleet_scan.h): the nodes whose logs saw this peer, sorted; empty otherwise.
  std::vector<std::string> nodes;
  static constexpr std::size_t kMaxNames = 5;

  std::uint64_t total_sessions() const;
  /// Negotiated TLS 1.0/1.1, was refused for offering only those, or carried a legacy message.
  bool is_legacy_peer() const;
  void add_name(std::string_view name);
  void merge(const PeerStats& other);
};

/// One failure signature ("TLS negotiation failed with error SocketError") from one remote.
struct FailureStats {
  std::string signature;
  Direction direction = Direction::Inbound;
  std::string remote;
  std::uint64_t count = 0;
  Millis first = kNoTime, last = kNoTime;
  Millis example_time = kNoTime;
  Example example;                 ///< the earliest occurrence
  std::vector<std::string> nodes;  ///< as PeerStats::nodes
  void merge(const FailureStats& other);
};

/// Message tracking's share of one peer in one hour, or of one failure signature of one connector
/// in one hour. Kept apart until every input is read: the protocol log of the same server counts
/// the same messages, so fold_tracking() (tracking_overlap.h) adds only the hours the protocol logs do not cover.
struct TrackedPeerHour {
  Millis hour = kNoTime;
  PeerStats stats;
};
struct TrackedFailureHour {
  std::string connector;
  Millis hour = kNoTime;
  std::string key;  ///< the key of Aggregate::failures it goes to
  FailureStats stats;
};

/// What was read from one input file (or the part of it one worker read).
struct FileStats {
  std::string path;
  std::string format;  ///< "exchange-receive", "exchange-send", "message-tracking", "postfix", "unknown"
  std::uint64_t bytes = 0, lines = 0, malformed = 0;
  std::string error;  ///< non-empty when the file could not be read (entirely or to the end)
  std::string node;   ///< a fleet's logs: the node they are of
};

struct Aggregate {
  std::map<std::string, PeerStats> peers;                      ///< key: peer_key()
  std::map<std::string, FailureStats> failures;                ///< key: signature, direction, remote
  std::map<Millis, ClassCounts> hours;                         ///< sessions by start hour (UTC)
  std::map<std::string, std::uint64_t> tracking_events;        ///< message tracking event-id counts
  std::map<std::string, TrackedPeerHour> tracked_peers;        ///< key: peer_key(), hour
  std::map<std::string, TrackedFailureHour> tracked_failures;  ///< key: failure key, connector, hour
  /// Tracked messages and failure records left out by fold_tracking(): a protocol log counts them.
  std::uint64_t tracked_messages_in_protocol_log = 0, tracked_failures_in_protocol_log = 0;
  ClassCounts sessions{};
  std::uint64_t lines = 0, malformed = 0, filtered_out = 0;
  std::vector<Example> malformed_examples;  ///< the first kMaxMalformedExamples, by file and line
  std::vector<FileStats> files;
  static constexpr std::size_t kMaxMalformedExamples = 10;

  static std::string peer_key(Direction d, std::string_view connector, std::string_view remote);
  /// Adds `other` in; every operation is commutative, so the result does not depend on which
  /// worker finished first.
  void merge(Aggregate&& other);
  /// Adds `offset` to every line number that refers to `file` (a worker that read the second
  /// half of a file counted its lines from 1).
  void shift_lines(const std::string& file, std::uint64_t offset);
  void add_malformed(std::string_view file, std::uint64_t line, std::string_view text);
  /// Names every peer, failure and file as seen by `node` (the aggregate of one node's logs).
  void label_node(const std::string& node);
  /// True when a legacy peer or a failure was found (exit status 1).
  bool has_findings() const;
};

/// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view text, std::size_t max);

}  // namespace sluice::logscan
