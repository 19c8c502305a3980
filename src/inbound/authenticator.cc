#include "inbound/authenticator.h"

#include <algorithm>

#include "base/steady_clock.h"

namespace sluice::inbound {
namespace {

/// Beyond this many addresses, those whose memory has passed are dropped at the next failure: a
/// spray of guesses from many addresses must not grow the table without end.
constexpr std::size_t kPenaltyPruneSize = 4096;

}  // namespace

AuthPenalty::AuthPenalty(Schedule schedule, Clock clock)
    : schedule_(schedule), clock_(steady_clock_if_empty(std::move(clock))) {}

void AuthPenalty::forget_old(std::chrono::steady_clock::time_point now) {
  std::erase_if(failures_, [&](const auto& item) { return now - item.second.last >= schedule_.memory; });
}

std::chrono::milliseconds AuthPenalty::failed(const asio::ip::address& client) {
  const auto now = clock_();
  if (failures_.size() >= kPenaltyPruneSize) forget_old(now);
  Record& record = failures_[client];
  if (record.count > 0 && now - record.last >= schedule_.memory) record.count = 0;
  ++record.count;
  record.last = now;
  if (record.count < 2) return std::chrono::milliseconds(0);
  auto delay = schedule_.base;
  for (std::size_t i = 2; i < record.count && delay < schedule_.max; ++i) delay *= 2;
  return std::min(delay, schedule_.max);
}

UserRates::UserRates(Clock clock) : clock_(steady_clock_if_empty(std::move(clock))) {}

std::deque<std::chrono::steady_clock::time_point>& UserRates::window(const auth::User& user) {
  auto& times = sent_[user.name];
  const auto now = clock_();
  while (!times.empty() && now - times.front() >= user.rate->per) times.pop_front();
  return times;
}

bool UserRates::allows(const auth::User& user) {
  if (!user.rate) return true;
  return window(user).size() < user.rate->messages;
}

void UserRates::queued(const auth::User& user) {
  if (!user.rate) return;
  auto& times = window(user);
  times.push_back(clock_());
  // Only the newest `messages` times can ever matter for the limit.
  while (times.size() > user.rate->messages) times.pop_front();
}

}  // namespace sluice::inbound
