// The delivery engine's writes to the spool, in the order it decided them: an envelope that
// changed twice must reach the disk in its last state, and a bounce must read a message before
// its removal. One drain task on the disk executor runs them one after another; a run of
// removals becomes one Spool::remove_batch (one directory fsync).
#pragma once
#include <asio/any_io_executor.hpp>

#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "queue/envelope.h"
#include "queue/spool.h"

namespace sluice::queue {

class EnvelopeWriter {
 public:
  EnvelopeWriter(Spool& spool, asio::any_io_executor disk) : spool_(spool), disk_(std::move(disk)) {}

  /// Rewrites the envelope (Spool::update); an error is logged.
  void update(Envelope envelope);
  /// Removes the message; an error is logged.
  void remove(std::string id);
  /// Other disk work that must come in this order (a bounce reading the original message).
  void run(std::function<void()> work);

 private:
  /// `work`, or the removal of `remove_id`.
  struct Write {
    std::function<void()> work;
    std::string remove_id;
  };
  void push(Write w);
  void drain();

  Spool& spool_;
  asio::any_io_executor disk_;
  std::mutex mutex_;
  std::deque<Write> writes_;
  bool draining_ = false;
};

}  // namespace sluice::queue
