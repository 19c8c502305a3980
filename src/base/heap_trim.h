// Returning memory that a load of sessions left behind. glibc keeps freed memory in its arenas:
// the TLS record buffers of a session (4 x 17 KiB in Asio's stream and OpenSSL's BIO pair) are
// below the mmap threshold, and free chunks lie between live ones, so the heap's top rarely
// shrinks by itself. 5,000 idle TLS sessions took VmRSS from 17 to 388 MiB, and it stayed there
// after they had all ended; returned as below, 45 MiB (docs/security.md, promise 13).
#pragma once
#include <cstddef>

namespace sluice {

/// Hands the free pages of every malloc arena back to the kernel (glibc's malloc_trim; a no-op
/// elsewhere). It walks the free chunks, so it is called after a load, not per session.
void return_free_heap();

/// When to call return_free_heap(): each time the number of live sessions has fallen to half of
/// its peak since the last return, and by at least `min_drop` sessions, so that a load of n
/// sessions costs about log2(n / min_drop) calls and a few sessions coming and going cost none.
class HeapTrimPolicy {
 public:
  explicit HeapTrimPolicy(std::size_t min_drop) : min_drop_(min_drop) {}
  /// The number of live sessions is now `live`; true when the freed memory should be returned now.
  bool sessions_now(std::size_t live);

 private:
  std::size_t min_drop_;
  std::size_t peak_ = 0;
};

}  // namespace sluice
