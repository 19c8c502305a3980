#include "queue/envelope_writer.h"

#include <asio/post.hpp>

#include "base/logging.h"

namespace sluice::queue {

void EnvelopeWriter::update(Envelope envelope) {
  auto* spool = &spool_;
  push({[spool, envelope = std::move(envelope)] {
          if (auto updated = spool->update(envelope); !updated)
            log_error("queue {}: cannot record state: {}", envelope.id, updated.error().message());
        },
        ""});
}

void EnvelopeWriter::remove(std::string id) { push({nullptr, std::move(id)}); }

void EnvelopeWriter::run(std::function<void()> work) { push({std::move(work), ""}); }

void EnvelopeWriter::push(Write w) {
  std::lock_guard lock(mutex_);
  writes_.push_back(std::move(w));
  if (draining_) return;
  draining_ = true;
  asio::post(disk_, [this] { drain(); });
}

void EnvelopeWriter::drain() {
  for (;;) {
    std::deque<Write> batch;
    {
      std::lock_guard lock(mutex_);
      if (writes_.empty()) {
        draining_ = false;
        return;
      }
      batch.swap(writes_);
    }
    while (!batch.empty()) {
      if (batch.front().work) {
        batch.front().work();
        batch.pop_front();
        continue;
      }
      // Consecutive removals only: a write queued between two of them (a bounce reading the
      // message) must still see the content.
      std::vector<std::string> ids;
      while (!batch.empty() && !batch.front().work) {
        ids.push_back(std::move(batch.front().remove_id));
        batch.pop_front();
      }
      auto results = spool_.remove_batch(ids);
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (!results[i]) log_error("queue {}: cannot remove: {}", ids[i], results[i].error().message());
    }
  }
}

}  // namespace sluice::queue
