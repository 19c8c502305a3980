// Group commit: messages that many SMTP sessions finish at the same time are made durable
// together, so the disk's fsyncs are shared instead of queued one behind another (docs/queue.md).
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "queue/spool.h"

namespace sluice::queue {

/// One thread takes every store request waiting when it is free and stores them with one
/// Spool::store_batch (their files fsynced side by side on `fsync_threads` threads, one
/// directory fsync for the batch), then reports each result. While a batch is on its way to
/// the disk the next one gathers, so the more sessions, the bigger the batches and the fewer
/// fsyncs per message; a lone session waits for no one.
class GroupCommitter {
 public:
  using Done = std::function<void(Result<void, std::error_code>)>;

  GroupCommitter(Spool& spool, std::size_t fsync_threads);
  /// Stores what was submitted before, then stops the threads.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  /// Queues a store; `done` runs on the committer's thread with Spool::store's result, once the
  /// message is durable (or nothing of it is left). `envelope` and `message` must stay valid
  /// until then.
  void submit(const Envelope* envelope, std::string_view message, Done done) {
    submit(envelope, message, nullptr, std::move(done));
  }
  /// The same for a message streamed into `draft` (StoreRequest): `message` is its rest.
  void submit(const Envelope* envelope, std::string_view message, MessageDraft* draft, Done done);

  /// Where sessions run their draft appends (MessageDraft::append): the committer's own threads,
  /// so that neither the network thread nor a busy disk pool (Maildir deliveries) waits on them.
  asio::any_io_executor writer() { return fsync_pool_.get_executor(); }

  /// Batches stored so far and messages in them (for tests and the benchmark notes; atomic, so
  /// no lock).
  std::size_t batches() const { return batches_; }
  std::size_t messages() const { return messages_; }

 private:
  struct Request {
    const Envelope* envelope;
    std::string_view message;
    MessageDraft* draft;
    Done done;
  };
  void run();
  void parallel(std::size_t count, const std::function<void(std::size_t)>& task);

  Spool& spool_;
  asio::thread_pool fsync_pool_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Request> pending_;
  bool stopping_ = false;
  std::atomic<std::size_t> batches_{0}, messages_{0};
  std::thread thread_;  ///< last: starts after everything it uses exists
};

/// `auto stored = co_await async_store(committer, envelope, message);` (Spool::store's result) resumes the
/// awaiting coroutine on its own executor. The initiation captures only pointers and a view
/// (g++ 12 PR 99576, see base/blocking.h); envelope, message and draft must be locals of the
/// awaiting coroutine or otherwise outlive the wait. With a `draft`, `message` is its rest.
inline auto async_store(GroupCommitter& committer, const Envelope& envelope, std::string_view message,
                        MessageDraft* draft = nullptr) {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Result<void, std::error_code>)>(
      [committer = &committer, envelope = &envelope, message, draft](auto handler) {
        auto executor = asio::get_associated_executor(handler);
        // Keeps the caller's io_context running until the result is delivered.
        auto work = std::make_shared<asio::executor_work_guard<decltype(executor)>>(executor);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        committer->submit(envelope, message, draft, [shared, work](Result<void, std::error_code> stored) {
          asio::dispatch(work->get_executor(), [shared, work, stored]() mutable {
            std::move (*shared)(std::exception_ptr{}, stored);
            work->reset();
          });
        });
      },
      asio::use_awaitable);
}

}  // namespace sluice::queue
