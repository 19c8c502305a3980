// Runs blocking work (fsync, DNS) on another executor and resumes the awaiting coroutine on its
// own executor with the result.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace sluice {

/// `co_await run_blocking(disk, [spool, &id] { return spool->load_message(id); })`.
///
/// The work must capture only pointers and references (to locals of the awaiting coroutine,
/// which outlive the call). g++ 12 destroys temporaries of a co_await full-expression twice
/// (GCC PR 99576): a lambda that owns a std::string there corrupts the heap, a lambda of
/// pointers does not care. For the same reason it is never a coroutine lambda.
/// An exception thrown by the work is rethrown in the awaiting coroutine.
template <typename Work>
auto run_blocking(const asio::any_io_executor& executor, Work work) {
  static_assert(std::is_trivially_destructible_v<Work>,
                "run_blocking work must capture only pointers and references (g++ 12, PR 99576)");
  using Result = std::invoke_result_t<Work&>;
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Result)>(
      [executor](auto handler, Work work) {
        asio::post(executor, [handler = std::move(handler), work = std::move(work)]() mutable {
          std::exception_ptr error;
          Result result{};
          try {
            result = work();
          } catch (...) {
            error = std::current_exception();
          }
          auto resume_on = asio::get_associated_executor(handler);
          asio::dispatch(resume_on, [handler = std::move(handler), error, result = std::move(result)]() mutable {
            std::move(handler)(error, std::move(result));
          });
        });
      },
      asio::use_awaitable, std::move(work));
}

}  // namespace sluice
