#include "outbound/delivery_engine.h"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <set>

#include "base/blocking.h"
#include "base/logging.h"
#include "metrics/gateway_metrics.h"
#include "outbound/bounce.h"
#include "outbound/engine_metrics.h"
#include "outbound/local_delivery.h"
#include "outbound/record_outcome.h"
#include "outbound/requiretls.h"
#include "outbound/tls_report_feed.h"
#include "queue/hop_count.h"
#include "tlsrpt/report_mail.h"

namespace sluice::outbound {

using asio::awaitable;
using asio::use_awaitable;
using queue::Envelope;
using queue::Recipient;
using State = queue::Recipient::State;

namespace {

constexpr auto kIdleWakeup = std::chrono::seconds(30);

/// An attempt that could not be made for a reason of ours: every recipient is deferred.
TargetsAttempt internal_error(const std::string& message_id, const std::string& what) {
  log_error("queue {}: delivery attempt failed: {}", message_id, what);
  TargetsAttempt out;
  out.result.failure = Failure::ConnectFailed;
  out.result.reply = smtp::make_reply(451, "4.3.0", "Internal error: " + what);
  return out;
}

}  // namespace

DeliveryEngine::DeliveryEngine(asio::io_context& io, EngineServices services)
    : io_(io),
      services_(std::move(services)),
      clock_(services_.clock ? services_.clock : queue::Clock([] { return std::chrono::system_clock::now(); })),
      router_(*services_.config),
      own_transport_(services_.transport ? nullptr : std::make_unique<SmtpTransport>(io.get_executor())),
      transport_(services_.transport ? services_.transport : own_transport_.get()),
      scheduler_(services_.config->queue, clock_, [this](const std::string& hop) { return router_.hop_limit(hop); }),
      writer_(*services_.spool, services_.disk),
      wakeup_(io) {}

tlsrpt::Collector* DeliveryEngine::tls_reports_for(const Envelope& envelope) const {
  // RFC 8460 5.3: the sessions that deliver reports are not reported on (no report loops).
  return envelope.connector == tlsrpt::kReportConnector ? nullptr : services_.tls_reports;
}

void DeliveryEngine::start() {
  // Only the names here (one directory read); the envelopes follow in load().
  auto ids = services_.spool->ids();
  asio::co_spawn(io_, loop(), asio::detached);
  if (ids.empty()) return;
  log_info("queue: reading {} message(s) from the spool", ids.size());
  load_total_ = ids.size();
  ++running_;  // stop() waits for the loader, which stops at its next batch
  asio::co_spawn(io_, load(std::move(ids)), asio::detached);
}

awaitable<void> DeliveryEngine::load(std::vector<std::string> ids) {
  constexpr std::size_t kBatch = 500;
  const auto started = std::chrono::steady_clock::now();
  auto* spool = services_.spool;
  std::size_t loaded = 0;
  for (std::size_t at = 0; at < ids.size() && !stopping_; at += kBatch) {
    const std::size_t end = std::min(ids.size(), at + kBatch);
    const auto* names = &ids;
    auto batch = co_await run_blocking(services_.disk, [spool, names, at, end] {
      std::vector<std::pair<std::string, Result<Envelope>>> out;
      out.reserve(end - at);
      for (std::size_t i = at; i < end; ++i) out.emplace_back((*names)[i], spool->load_envelope((*names)[i]));
      return out;
    });
    for (auto& [id, envelope] : batch) {
      if (!envelope) {
        log_error("queue {}: envelope unreadable ({}); left in place for inspection", id, envelope.error().message);
        continue;
      }
      adopt(std::move(*envelope));
      ++loaded;
    }
    load_done_ = end;
    wake();
  }
  load_total_ = 0;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!stopping_) log_info("queue: {} message(s) reloaded from the spool in {:.1f} s", loaded, seconds);
  job_ended();
}

void DeliveryEngine::stop(std::function<void()> done) {
  stopping_ = true;
  wakeup_.cancel();
  if (running_ == 0) {
    asio::post(io_, std::move(done));
    return;
  }
  on_stopped_ = std::move(done);
}

void DeliveryEngine::wake() { wakeup_.cancel(); }

std::size_t DeliveryEngine::reconfigure(std::shared_ptr<const config::Config> config,
                                        std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts,
                                        CredentialsByConnector credentials) {
  services_.config = std::move(config);
  services_.tls_contexts = std::move(tls_contexts);
  services_.credentials = std::move(credentials);
  router_ = Router(*services_.config);
  scheduler_.set_settings(services_.config->queue);
  std::set<std::string> running;
  for (const auto& [id, hop] : scheduler_.running_jobs()) running.insert(id);
  std::size_t moved = 0;
  for (auto& [id, envelope] : messages_) {
    // A message in an attempt keeps its hops: with a new one the scheduler could start the same
    // recipient again beside the running attempt. Its next attempts use the new connectors anyway
    // (attempt() selects the connector then); only the hop's name, for the queue viewer and the
    // concurrency, waits until the next reload or restart.
    if (running.count(id)) continue;
    bool changed = false;
    for (auto& r : envelope.recipients) {
      if (!r.waiting()) continue;
      std::string hop = router_.next_hop_of(r.address);
      if (hop == kUnroutable || hop == r.next_hop) continue;
      r.next_hop = std::move(hop);
      changed = true;
      ++moved;
    }
    // In memory only, as adopt() does: the spool gets the new hop with the next change of state.
    if (changed) scheduler_.upsert(envelope);
  }
  wake();
  return moved;
}

const Envelope* DeliveryEngine::find(const std::string& id) const {
  auto it = messages_.find(id);
  return it == messages_.end() ? nullptr : &it->second;
}

void DeliveryEngine::message_queued(const Envelope& envelope) {
  adopt(envelope);
  wake();
}

void DeliveryEngine::adopt(Envelope envelope) {
  std::vector<std::size_t> failed;
  // The next hop is derived from the configuration: it is set here, in memory, and reaches the
  // spool with the next change of state; a file write (and fsync) per new message only for it
  // would cost the intake half its speed.
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    auto& r = envelope.recipients[i];
    if (!r.waiting()) continue;
    r.next_hop = router_.next_hop_of(r.address);
    if (r.next_hop == kUnroutable) {
      r.state = State::Failed;
      r.last_reply = smtp::make_reply(554, "5.4.4",
                                      "Unable to route: no send connector serves the domain " + domain_of(r.address));
      r.last_attempt = now();
      failed.push_back(i);
    }
  }
  if (!failed.empty()) {
    metrics::delivery("bounced", "Unroutable", failed.size());
    commit(std::move(envelope), failed, "");
    return;
  }
  scheduler_.upsert(envelope);
  // Reloaded owing notices (the spool was full when they were decided): queue them now.
  if (!envelope.pending_notices.empty()) flush_notices(envelope, false);
  messages_[envelope.id] = std::move(envelope);
}

void DeliveryEngine::commit(Envelope envelope, const std::vector<std::size_t>& newly_failed,
                            const std::string& remote_host, const std::optional<tracking::Hop>& hop) {
  if (services_.tracking) services_.tracking->changed(find(envelope.id), envelope, newly_failed, hop ? &*hop : nullptr);
  if (!newly_failed.empty() && queue::should_bounce(envelope))
    envelope.pending_notices.push_back(decide_notice(envelope, newly_failed, remote_host, false));
  const bool open = envelope.any_waiting();
  const bool owes = !envelope.pending_notices.empty();
  if (open || owes) {
    scheduler_.upsert(envelope);
    messages_[envelope.id] = envelope;
  } else {
    scheduler_.remove(envelope.id);
    messages_.erase(envelope.id);
  }
  // A message that owes a notice leaves the spool only after the notice is in it.
  if (owes)
    flush_notices(std::move(envelope), true);
  else if (open)
    writer_.update(std::move(envelope));
  else
    writer_.remove(envelope.id);
}

void DeliveryEngine::flush_notices(Envelope envelope, bool envelope_changed) {
  NoticeSettings settings;
  settings.reporting_mta = services_.config->hostname;
  settings.lifetime = services_.config->queue.lifetime;
  auto* spool = services_.spool;
  // In order with the envelope writes: the original is still there to be read.
  writer_.run(
      [this, spool, envelope = std::move(envelope), envelope_changed, settings = std::move(settings)]() mutable {
        const Envelope* original = &envelope;
        settings.now = now();
        if (services_.tracking)
          settings.on_queued = [this, original](const Envelope& dsn, const auto& rows, bool delay_warning) {
            services_.tracking->notified(*original, dsn, rows, delay_warning);
          };
        const std::string id = envelope.id;
        auto outcome = queue_pending_notices(*spool, envelope, envelope_changed, settings, queued_notices_);
        asio::post(io_, [this, id, outcome = std::move(outcome)] { notices_flushed(id, outcome); });
      });
}

void DeliveryEngine::notices_flushed(const std::string& id, const NoticesOutcome& outcome) {
  for (const auto& dsn : outcome.queued) message_queued(dsn);
  // Every envelope copy that still lists these notices was handed to the writer before now: once
  // the writer is past them, it need not remember them.
  if (!outcome.queued.empty())
    writer_.run([this, resolved = outcome.resolved] {
      for (const auto& notice : resolved) queued_notices_.erase(notice);
    });
  auto it = messages_.find(id);
  if (it == messages_.end()) return;
  Envelope& envelope = it->second;
  std::erase_if(envelope.pending_notices, [&](const queue::PendingNotice& notice) {
    return std::find(outcome.resolved.begin(), outcome.resolved.end(), notice.id) != outcome.resolved.end();
  });
  const bool open = envelope.any_waiting();
  if (open || !envelope.pending_notices.empty()) {
    scheduler_.upsert(envelope);  // arms the next retry while notices stay pending
    wake();                       // the loop's timer must learn of it
    return;
  }
  scheduler_.remove(id);
  messages_.erase(it);
  // A later write of the writer removes it when this one did not (it saw a recipient waiting).
  if (!outcome.removed) writer_.remove(id);
}

void DeliveryEngine::send_delay_warning(const std::string& message_id) {
  auto it = messages_.find(message_id);
  if (it == messages_.end() || !queue::should_bounce(it->second)) return;
  Envelope envelope = it->second;
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i)
    if (envelope.recipients[i].waiting()) open.push_back(i);
  if (open.empty()) return;
  envelope.pending_notices.push_back(decide_notice(envelope, open, "", true));
  envelope.delay_warning_sent = true;
  commit(std::move(envelope), {}, "");
}

void DeliveryEngine::expire(const queue::Scheduler::Expired& expired) {
  auto it = messages_.find(expired.message_id);
  if (it == messages_.end()) return;
  Envelope envelope = it->second;
  // Mail that waited on a hop that never answered has no reply of its own: the hop's last error
  // is what the sender needs to read in the bounce.
  auto failed = expire_recipients(envelope, expired.recipients, [this](const Recipient& r) {
    const auto* hop = scheduler_.hop(queue::recipient_hop(r));
    return hop ? hop->last_error : smtp::Reply();
  });
  if (!failed.empty()) log_info("queue {}: lifetime over; {} recipient(s) failed", envelope.id, failed.size());
  metrics::delivery("bounced", "Expired", failed.size());
  commit(std::move(envelope), failed, "");
}

void DeliveryEngine::job_ended() {
  --running_;
  if (stopping_ && running_ == 0 && on_stopped_) std::exchange(on_stopped_, nullptr)();
  wake();
}

awaitable<void> DeliveryEngine::loop() {
  while (!stopping_) {
    // Each pass costs what is due, not the size of the queue (docs/queue.md, "scheduling").
    for (auto& job : scheduler_.take_due()) {
      ++running_;
      if (job.next_hop == queue::kLocalHop)
        asio::co_spawn(io_, run_local(std::move(job)), asio::detached);
      else
        asio::co_spawn(io_, run_job(std::move(job)), asio::detached);
    }
    // After take_due: a recipient due at its expiry time gets its last try first.
    for (const auto& expired : scheduler_.take_expired()) expire(expired);
    for (const auto& id : scheduler_.take_delay_warnings()) send_delay_warning(id);
    for (const auto& id : scheduler_.take_notice_retries())
      if (const auto* envelope = find(id); envelope && !envelope->pending_notices.empty())
        flush_notices(*envelope, false);
    std::chrono::steady_clock::duration wait = kIdleWakeup;
    if (auto next = scheduler_.next_wakeup())
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::steady_clock::duration>(*next - now()));
    wakeup_.expires_after(wait);
    std::error_code ec;
    co_await wakeup_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> DeliveryEngine::run_local(queue::Job job) {
  auto* spool = services_.spool;
  auto* maildirs = services_.maildirs;
  std::vector<std::string> addresses;
  if (const auto* envelope = find(job.message_id))
    for (auto i : job.recipients) addresses.push_back(envelope->recipients[i].address);
  const bool discard = services_.config->local_delivery == config::LocalDelivery::Discard;
  // Maildir writes fsync: they run on the disk executor.
  std::vector<Result<void, smtp::Reply>> results(addresses.size());
  const auto* id = &job.message_id;
  const std::size_t max_hops = services_.config->limits.max_hop_count;
  if (!discard)
    results = co_await run_blocking(services_.disk, [spool, maildirs, id, &addresses, max_hops] {
      return deliver_locally(*spool, *maildirs, *id, addresses, max_hops);
    });
  scheduler_.finished(job, false);
  if (const auto* current = find(job.message_id)) {
    Envelope envelope = *current;
    const auto before = states_of(envelope, job.recipients);
    auto failed = record_local(envelope, job.recipients, results, discard, now(),
                               [this](const Envelope& e, const Recipient& r) { return scheduler_.reschedule(e, r); });
    count_outcomes(before, envelope, job.recipients, "LocalDelivery");
    commit(std::move(envelope), failed, "", tracking::Hop{.local = true});
  }
  job_ended();
}

awaitable<TargetsAttempt> DeliveryEngine::attempt(const queue::Job& job) {
  // This attempt's snapshot: a reload meanwhile leaves it alive (the settings below point into the
  // connector, the TLS contexts and the credentials) until the attempt ends.
  const auto config = services_.config;
  const auto tls_contexts = services_.tls_contexts;
  const auto credentials = services_.credentials;
  const auto& cfg = *config;
  const auto* current = find(job.message_id);
  if (!current || job.recipients.empty()) co_return internal_error(job.message_id, "message vanished");
  // A copy: other jobs (other next hops of the same message) may change it while this one runs.
  Envelope envelope = *current;
  std::string domain = domain_of(envelope.recipients[job.recipients.front()].address);
  const auto* connector = config::select_send_connector(cfg, domain);
  if (!connector) co_return internal_error(job.message_id, "no send connector for " + domain);

  // DNS blocks: it runs on the engine's DNS threads.
  PolicyLookups lookups{services_.resolver, services_.mta_sts, services_.dane, {}};
  if (auto* reports = tls_reports_for(envelope))
    lookups.on_failure = [reports](const PolicyFailure& failure) { count_policy_failure(reports, failure); };
  const auto* domain_p = &domain;
  const auto* lookups_p = &lookups;
  // RFC 8689: "TLS-Required: No" asks that DANE and MTA-STS do not hold the message; REQUIRETLS wins.
  const bool ignore_recipient_policies = envelope.tls_required_no && !envelope.requiretls;
  auto targets =
      co_await run_blocking(dns_.get_executor(), [lookups_p, connector, domain_p, ignore_recipient_policies] {
        return resolve_with_policy(*connector, *domain_p, *lookups_p, ignore_recipient_policies);
      });
  if (!targets) {
    TargetsAttempt out;
    out.result.failure = targets.error().permanent() ? Failure::RemotePermanent : Failure::ConnectFailed;
    out.result.reply = targets.error();
    out.connector = connector->name;
    if (targets.error().enhanced.starts_with("4.7.")) out.result.tls_policy = "no host allowed by the TLS policy";
    co_return out;
  }
  auto* spool = services_.spool;
  const auto* id = &envelope.id;
  auto message = co_await run_blocking(services_.disk, [spool, id] { return spool->load_message(*id); });
  if (!message) co_return internal_error(job.message_id, "message content missing from the spool");
  // Loaded only once there is somewhere to send it: while its next hop cannot be found, a large
  // message waits in the spool, not in memory. A mail loop: the next hop would count more
  // Received: fields than max_hop_count (ours included) and refuse it; the sender learns it from
  // our bounce instead, and nothing is sent.
  if (const int hops = queue::count_hops(*message); queue::exceeds_hop_limit(hops, cfg.limits.max_hop_count)) {
    log_warning("queue {}: {} Received: header fields, more than max_hop_count ({}): not sent (possible mail loop)",
                job.message_id, hops, cfg.limits.max_hop_count);
    TargetsAttempt out;
    out.result.failure = Failure::RemotePermanent;
    out.result.reply = queue::hop_count_exceeded_reply();
    out.connector = connector->name;
    co_return out;
  }

  Transaction tx;
  tx.mail_from = envelope.mail_from;
  for (auto i : job.recipients) tx.recipients.push_back(envelope.recipients[i].address);
  tx.message = &*message;
  tx.eight_bit = envelope.body_type == "8BITMIME";
  tx.smtputf8 = envelope.smtputf8;
  tx.requiretls = envelope.requiretls;
  tx.tls_required_no = ignore_recipient_policies;
  auto allowed = requiretls_targets(tx, std::move(*targets), domain);
  if (!allowed) {
    log_warning("queue {}: {}", job.message_id, allowed.error().one_line());
    TargetsAttempt out;
    out.result.failure = Failure::RemotePermanent;
    out.result.reply = allowed.error();
    out.connector = connector->name;
    co_return out;
  }
  ClientSettings settings =
      settings_for(cfg, *connector, tls_contexts, credentials, services_.send_log, services_.timeouts);
  settings.tls_reports = tls_reports_for(envelope);
  TargetsAttempt out = co_await attempt_targets(*transport_, settings, *allowed, tx, envelope.id);
  settle_requiretls(tx, out.result);
  co_return out;
}

awaitable<void> DeliveryEngine::run_job(queue::Job job) {
  TargetsAttempt outcome;
  // Failures are results; this only guards against the unforeseen (an allocation failure): the
  // job must end in any case, or its hop would stay busy for good.
  try {
    outcome = co_await attempt(job);
  } catch (const std::exception& e) {
    outcome = internal_error(job.message_id, e.what());
  }
  const auto& result = outcome.result;

  // Record the outcome on the current envelope: other jobs (other next hops of the same message)
  // may have changed it while this one ran.
  const bool whole_hop = hop_failed(result);
  // First the hop's health, so that a recipient deferred by a hop failure can wait on the hop.
  scheduler_.finished(job, whole_hop, whole_hop ? last_error(result, result.reply) : smtp::Reply());
  if (const auto* current = find(job.message_id)) {
    Envelope envelope = *current;
    // A hop that failed as a whole holds its mail until it answers again (one probe at a time),
    // so its recipients wait on the hop, not on a timer of their own.
    const std::string* hop = &job.next_hop;
    auto retry = [this, whole_hop, hop](const Envelope& e, const Recipient& r) {
      return whole_hop ? scheduler_.hop_retry_time(e, *hop) : scheduler_.reschedule(e, r);
    };
    const auto before = states_of(envelope, job.recipients);
    auto failed = record_attempt(envelope, job.recipients, result, now(), retry);
    count_outcomes(before, envelope, job.recipients, error_class_of(result));
    commit(std::move(envelope), failed, outcome.remote_host, outcome.hop());
  }
  job_ended();
}

std::vector<const Envelope*> DeliveryEngine::envelopes() const {
  std::vector<const Envelope*> out;
  out.reserve(messages_.size());
  for (const auto& [id, envelope] : messages_) out.push_back(&envelope);
  return out;
}

queue::LiveHops DeliveryEngine::hops() const {
  queue::LiveHops live;
  for (const auto& [hop, state] : scheduler_.hop_states())
    live[hop] = {state.running, state.blocked_until, state.last_error.one_line(), {}};
  for (const auto& [message_id, hop] : scheduler_.running_jobs()) live[hop].delivering.insert(message_id);
  return live;
}

std::size_t DeliveryEngine::retry(const std::vector<std::string>& ids, const queue::QueueFilter& filter,
                                  bool every_hop) {
  // Every selected recipient still waiting becomes due now, and the backoff of the hops it waits
  // for is cleared: the count is of messages that will be tried.
  std::size_t retried = 0;
  std::set<std::string> hops;
  for (const auto& id : ids) {
    auto it = messages_.find(id);
    if (it == messages_.end()) continue;
    Envelope& envelope = it->second;
    bool touched = false;
    for (auto& r : envelope.recipients) {
      if (!r.waiting()) continue;
      std::string hop = queue::recipient_hop(r);
      if (!queue::matches_recipient(filter, r, hop)) continue;
      if (r.state == State::Deferred) r.next_attempt = now();
      hops.insert(std::move(hop));
      touched = true;
    }
    // A notice the spool could not take is tried again now too.
    if (!envelope.pending_notices.empty() && !filter.selects_recipients()) {
      flush_notices(envelope, false);
      touched = true;
    }
    if (!touched) continue;
    ++retried;
    scheduler_.upsert(envelope);
  }
  if (every_hop)
    scheduler_.clear_backoff();
  else
    for (const auto& hop : hops) scheduler_.clear_backoff(hop);
  wake();
  return retried;
}

void DeliveryEngine::remove(const std::string& id, bool bounce_it) {
  const auto* current = find(id);
  if (!current) return;
  Envelope envelope = *current;
  auto failed = remove_recipients(envelope);
  metrics::delivery("bounced", "Removed", failed.size());
  // Removed without a bounce: the notices it still owes go with it.
  if (!bounce_it) envelope.pending_notices.clear();
  commit(std::move(envelope), bounce_it ? failed : std::vector<std::size_t>{}, "");
}

}  // namespace sluice::outbound
