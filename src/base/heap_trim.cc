#include "base/heap_trim.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sluice {

void return_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

bool HeapTrimPolicy::sessions_now(std::size_t live) {
  if (live > peak_) peak_ = live;
  if (live > peak_ / 2 || peak_ - live < min_drop_) return false;
  peak_ = live;
  return true;
}

}  // namespace sluice
