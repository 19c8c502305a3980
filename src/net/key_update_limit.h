// How many TLS 1.3 KeyUpdate messages a peer may send. Each one costs a key derivation and, when
// the peer asks for it, a KeyUpdate of ours in return; OpenSSL answers any number, so four clients
// that did nothing else raised a normal session's reply time from 5 ms to 0.8 s (median). A peer
// that honestly rekeys does so after gigabytes (RFC 8446 5.5), never several times a minute.
#pragma once
#include <openssl/ssl.h>

#include <chrono>

#include "base/steady_clock.h"

namespace sluice::net {

/// KeyUpdates a peer may send within one minute; the next one ends the connection.
inline constexpr int kMaxKeyUpdatesPerMinute = 10;

/// Counts the KeyUpdates received in windows of a minute, the first starting at the first one.
class KeyUpdateLimit {
 public:
  explicit KeyUpdateLimit(SteadyClock clock = {}) : clock_(steady_clock_if_empty(std::move(clock))) {}
  /// One more KeyUpdate arrived; false when it is one too many.
  bool received();

 private:
  SteadyClock clock_;
  std::chrono::steady_clock::time_point window_start_{};
  int in_window_ = 0;
};

/// True for a TLS message that OpenSSL's message callback (SSL_set_msg_callback) reports as a
/// KeyUpdate received from the peer. OpenSSL 3.0 has no callback for KeyUpdate itself, and its
/// info callback does not signal post-handshake messages of TLS 1.3; the message callback sees
/// every handshake message, received ones after decryption.
bool is_received_key_update(int write_p, int content_type, const void* buf, std::size_t len);

}  // namespace sluice::net
