// The smallest envelope a spool stores, for the tests of the store path.
#pragma once
#include <chrono>
#include <string>

#include "queue/envelope.h"

namespace sluice::queue::test_util {

/// Message `id` from alice@example.org to `recipient`, received now.
inline Envelope minimal_envelope(std::string id, std::string recipient = "bob@example.org") {
  Envelope e;
  e.id = std::move(id);
  e.mail_from = "alice@example.org";
  e.recipients.emplace_back().address = std::move(recipient);
  e.received = std::chrono::system_clock::now();
  return e;
}

}  // namespace sluice::queue::test_util
