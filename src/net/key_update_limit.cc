#include "net/key_update_limit.h"

namespace sluice::net {

bool KeyUpdateLimit::received() {
  auto now = clock_();
  if (in_window_ == 0 || now - window_start_ >= std::chrono::minutes(1)) {
    window_start_ = now;
    in_window_ = 0;
  }
  return ++in_window_ <= kMaxKeyUpdatesPerMinute;
}

bool is_received_key_update(int write_p, int content_type, const void* buf, std::size_t len) {
  return write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
         static_cast<const unsigned char*>(buf)[0] == SSL3_MT_KEY_UPDATE;
}

}  // namespace sluice::net
