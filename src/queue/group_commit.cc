#include "queue/group_commit.h"

#include <asio/post.hpp>

#include <latch>
#include <utility>

namespace sluice::queue {

namespace {
// Enough to keep a batch of a few hundred messages from waiting on itself; more only grows
// the disk's queue without shortening it.
constexpr std::size_t kMaxBatch = 256;
}  // namespace

GroupCommitter::GroupCommitter(Spool& spool, std::size_t fsync_threads)
    : spool_(spool), fsync_pool_(fsync_threads == 0 ? 1 : fsync_threads), thread_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  fsync_pool_.join();
}

void GroupCommitter::submit(const Envelope* envelope, std::string_view message, MessageDraft* draft, Done done) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back({envelope, message, draft, std::move(done)});
  }
  wake_.notify_one();
}

void GroupCommitter::parallel(std::size_t count, const std::function<void(std::size_t)>& task) {
  if (count == 1) {
    task(0);
    return;
  }
  std::latch finished(static_cast<std::ptrdiff_t>(count));
  for (std::size_t i = 1; i < count; ++i) {
    asio::post(fsync_pool_, [&task, &finished, i] {
      task(i);
      finished.count_down();
    });
  }
  task(0);  // this thread would only wait otherwise
  finished.count_down();
  finished.wait();
}

void GroupCommitter::run() {
  for (;;) {
    std::vector<Request> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything submitted is stored
      if (pending_.size() <= kMaxBatch) {
        batch.swap(pending_);
      } else {
        batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + kMaxBatch));
        pending_.erase(pending_.begin(), pending_.begin() + kMaxBatch);
      }
    }
    std::vector<StoreRequest> requests;
    requests.reserve(batch.size());
    for (const auto& r : batch) requests.push_back({r.envelope, r.message, {}, r.draft});
    spool_.store_batch(
        requests, [this](std::size_t count, const std::function<void(std::size_t)>& task) { parallel(count, task); });
    ++batches_;
    messages_ += batch.size();
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(requests[i].result);
  }
}

}  // namespace sluice::queue
