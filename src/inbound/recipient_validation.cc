#include "inbound/recipient_validation.h"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "base/steady_clock.h"
#include "base/text.h"

namespace sluice::inbound {

namespace {

/// 4.4.3 (RFC 3463: directory server failure): the directory here is the internal mail server.
smtp::Reply verification_unavailable(std::string_view why) {
  return smtp::make_reply(450, "4.4.3",
                          fmt::format("Recipient verification failed temporarily: {}; try again later", why));
}

}  // namespace

smtp::Reply recipient_not_found_reply() {
  return smtp::make_reply(550, "5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup");
}

RecipientValidator::RecipientValidator(asio::any_io_executor executor, std::shared_ptr<const config::Config> config,
                                       std::unique_ptr<RecipientsFile> file, CalloutProbe probe, Clock clock)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      file_(std::move(file)),
      probe_(std::move(probe)),
      clock_(steady_clock_if_empty(std::move(clock))),
      cache_(config_->recipient_validation.callout_positive_lifetime,
             config_->recipient_validation.callout_negative_lifetime,
             config_->recipient_validation.callout_cache_size) {}

void RecipientValidator::reconfigure(std::shared_ptr<const config::Config> config,
                                     std::unique_ptr<RecipientsFile> file) {
  const auto& before = config_->recipient_validation;
  const auto& after = config->recipient_validation;
  // Answers cached under other lifetimes (or another next hop) are not kept.
  if (before.callout_positive_lifetime != after.callout_positive_lifetime ||
      before.callout_negative_lifetime != after.callout_negative_lifetime ||
      before.callout_cache_size != after.callout_cache_size || before.verify != after.verify ||
      before.domains != after.domains)
    cache_ = VerifyCache(after.callout_positive_lifetime, after.callout_negative_lifetime, after.callout_cache_size);
  config_ = std::move(config);
  file_ = std::move(file);
}

asio::awaitable<RecipientVerdict> RecipientValidator::check(smtp::Mailbox mailbox) {
  const std::string domain = mailbox.domain_key();
  if (mailbox.domain_is_literal() || ascii_lower(mailbox.local_part) == "postmaster") co_return RecipientVerdict{};
  switch (config::recipient_check_for(*config_, domain)) {
    case config::RecipientCheck::None:
      co_return RecipientVerdict{};
    case config::RecipientCheck::File: {
      const std::string address = mailbox.str();
      if (file_ && file_->list().contains(ascii_lower(address), domain)) co_return RecipientVerdict{};
      co_return RecipientVerdict{false, recipient_not_found_reply(),
                                 fmt::format("Recipient <{}> is not in the recipients file", address)};
    }
    case config::RecipientCheck::Callout:
      break;
  }
  co_return co_await callout(mailbox.str());
}

RecipientVerdict RecipientValidator::verdict_of(AddressStatus status, const std::string& address, bool cached) const {
  if (status == AddressStatus::Exists) return {};
  return {false, recipient_not_found_reply(),
          fmt::format("Recipient <{}> unknown to the internal mail server (callout{})", address,
                      cached ? ", cached answer" : "")};
}

asio::awaitable<RecipientVerdict> RecipientValidator::callout(std::string address) {
  const std::string key = ascii_lower(address);
  const auto timeout = config_->recipient_validation.callout_timeout;  // as when the callout began
  if (auto known = cache_.find(key, clock_())) co_return verdict_of(*known, address, true);
  if (!probe_) co_return RecipientVerdict{false, verification_unavailable("no callout is configured"), {}};
  std::shared_ptr<Pending> pending;
  if (auto running = pending_.find(key); running != pending_.end()) {
    pending = running->second;
  } else {
    pending = std::make_shared<Pending>(executor_);
    pending->done.expires_after(timeout);
    pending_.emplace(key, pending);
    ++probes_started_;
    asio::co_spawn(executor_, run_probe(key, address, pending), asio::detached);
  }
  std::error_code ec;
  co_await pending->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!pending->answer) {
    // The probe goes on and its answer is cached for the client's retry.
    co_return RecipientVerdict{
        false, verification_unavailable("the internal mail server has not answered yet"),
        fmt::format("Recipient <{}>: no answer from the internal mail server within {}s (callout still running)",
                    address, timeout.count())};
  }
  const smtp::Reply& answer = *pending->answer;
  if (answer.code / 100 == 2) co_return verdict_of(AddressStatus::Exists, address, false);
  if (answer.permanent()) {
    RecipientVerdict verdict = verdict_of(AddressStatus::Unknown, address, false);
    verdict.because += ": " + answer.one_line();
    co_return verdict;
  }
  co_return RecipientVerdict{false, verification_unavailable("the internal mail server could not be asked"),
                             fmt::format("Recipient <{}>: callout failed: {}", address, answer.one_line())};
}

asio::awaitable<void> RecipientValidator::run_probe(std::string key, std::string address,
                                                    std::shared_ptr<Pending> pending) {
  smtp::Reply answer;
  try {
    auto asked = probe_(address);
    answer = co_await std::move(asked);
  } catch (const std::exception& e) {
    answer = smtp::make_reply(451, "4.3.0", fmt::format("Callout failed: {}", e.what()));
  }
  // Only a definite answer is remembered; a failure to ask is tried again at the next RCPT.
  if (answer.code / 100 == 2)
    cache_.store(key, AddressStatus::Exists, clock_());
  else if (answer.permanent())
    cache_.store(key, AddressStatus::Unknown, clock_());
  pending->answer = std::move(answer);
  pending->done.cancel();
  pending_.erase(key);
}

}  // namespace sluice::inbound
