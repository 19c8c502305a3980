// A thread pool whose threads start when asked, not when it is made: `sluice serve` hands out its
// executor while it loads the configuration as root, and may start threads only once it has
// dropped to the service account (a thread keeps the credentials it started with).
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <cstddef>
#include <thread>
#include <vector>

namespace sluice {

class DeferredThreadPool {
 public:
  explicit DeferredThreadPool(std::size_t threads) : size_(threads), work_(asio::make_work_guard(io_)) {}
  ~DeferredThreadPool() { join(); }
  DeferredThreadPool(const DeferredThreadPool&) = delete;
  DeferredThreadPool& operator=(const DeferredThreadPool&) = delete;

  /// Work posted before start() waits for it.
  asio::any_io_executor get_executor() { return io_.get_executor(); }
  void start() {
    for (std::size_t i = threads_.size(); i < size_; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  /// Lets the threads finish what was posted, then waits for them (as asio::thread_pool::join).
  void join() {
    work_.reset();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  std::size_t size_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace sluice
