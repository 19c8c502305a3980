// Recipient validation at RCPT (docs/configuration.md, [recipient_validation]): for an accepted
// domain, is there such a recipient? Asked of the recipients file, or of the internal-relay
// domain's next hop by an SMTP callout whose answers are cached. Unknown gets 550 5.1.10 (the
// sender's server bounces, not us: no backscatter); not knowing gets 450, never 550.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "config/config.h"
#include "inbound/recipients_file.h"
#include "inbound/verify_cache.h"
#include "smtp/address.h"
#include "smtp/reply.h"

namespace sluice::inbound {

/// Asks the next hop of `address`'s domain whether it takes the address (EHLO, MAIL FROM:<>,
/// RCPT TO, QUIT): its reply to RCPT, or a 4xx when it could not be asked (connection refused,
/// timeout, MAIL refused). Runs on the network thread; never throws for network trouble.
using CalloutProbe = std::function<asio::awaitable<smtp::Reply>(std::string address)>;

struct RecipientVerdict {
  bool accepted = true;
  smtp::Reply reply;    ///< when not accepted: 550 5.1.10 or 450 4.4.3
  std::string because;  ///< for the receive protocol log; empty when there is nothing to say
};

/// Exchange's reply for a recipient its directory does not know.
smtp::Reply recipient_not_found_reply();

class RecipientValidator {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  /// `file` is null when no recipients file is configured; `probe` may be empty when no domain
  /// uses callouts. `clock` empty: the steady clock (the cache's lifetimes run on it).
  RecipientValidator(asio::any_io_executor executor, std::shared_ptr<const config::Config> config,
                     std::unique_ptr<RecipientsFile> file, CalloutProbe probe, Clock clock = {});

  /// A reload: RCPTs from now on are checked against `config` and `file`; callouts in progress
  /// finish. The cache is emptied when the callout settings changed.
  void reconfigure(std::shared_ptr<const config::Config> config, std::unique_ptr<RecipientsFile> file);

  /// The verdict for one RCPT (`mailbox` with a domain). Domains without validation, and
  /// postmaster (RFC 5321 4.5.1), are accepted at once.
  asio::awaitable<RecipientVerdict> check(smtp::Mailbox mailbox);

  /// Callout sessions started so far (cache misses not joined to a running probe).
  std::size_t probes_started() const { return probes_started_; }

 private:
  /// A callout in progress, shared by every RCPT for the same address while it runs.
  struct Pending {
    explicit Pending(const asio::any_io_executor& executor) : done(executor) {}
    asio::steady_timer done;  ///< cancelled when the answer is in; expires at the waiting deadline
    std::optional<smtp::Reply> answer;
  };
  asio::awaitable<RecipientVerdict> callout(std::string address);
  asio::awaitable<void> run_probe(std::string key, std::string address, std::shared_ptr<Pending> pending);
  RecipientVerdict verdict_of(AddressStatus status, const std::string& address, bool cached) const;

  asio::any_io_executor executor_;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<RecipientsFile> file_;
  CalloutProbe probe_;
  Clock clock_;
  VerifyCache cache_;
  std::unordered_map<std::string, std::shared_ptr<Pending>> pending_;
  std::size_t probes_started_ = 0;
};

}  // namespace sluice::inbound
