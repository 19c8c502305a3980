#include "outbound/delivery_engine.h"
#include "base/text.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "base/blocking.h"
#include "base/ids.h"
#include "base/logging.h"
#include "queue/dsn.h"
#include "queue/queue_view.h"

namespace sluice::outbound {

using asio::awaitable;
using asio::use_awaitable;
using queue::Envelope;
using queue::Recipient;
using State = queue::Recipient::State;

namespace {

constexpr std::size_t kMaxTargets = 10;           // addresses tried per attempt, in MX order
constexpr auto kIdleWakeup = std::chrono::seconds(30);
// Local deliveries at once: they run on the disk executor (4 threads), beside the spool writes
// that every 250 waits for, so a burst of local mail must not take all of it.
constexpr std::size_t kLocalConcurrency = 4;

std::string domain_of(const std::string& address) { return ascii_lower(queue::split_address(address).second); }

/// A smart-host connector's next hop: its hosts in order, "a:25,b:587".
std::string smart_host_hop(const config::SendConnector& connector) {
  std::string hop;
  for (const auto& host : connector.smart_hosts) hop += (hop.empty() ? "" : ",") + host.str();
  return hop;
}

bool open_state(State s) { return s == State::Pending || s == State::Deferred; }

/// The first "c.s.d" enhanced status code in a reply text ("5.1.1"), or `fallback`.
std::string enhanced_code(std::string_view text, std::string fallback) {
  for (std::size_t i = 0; i + 5 <= text.size(); ++i) {
    if ((text[i] != '2' && text[i] != '4' && text[i] != '5') || text[i + 1] != '.') continue;
    if (i > 0 && text[i - 1] != ' ' && text[i - 1] != '"') continue;
    std::size_t j = i + 2, digits = 0;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j])) && digits < 3) ++j, ++digits;
    if (digits == 0 || j >= text.size() || text[j] != '.') continue;
    std::size_t k = j + 1, detail = 0;
    while (k < text.size() && std::isdigit(static_cast<unsigned char>(text[k])) && detail < 3) ++k, ++detail;
    if (detail == 0 || (k < text.size() && text[k] != ' ' && text[k] != '"' && text[k] != '.')) continue;
    return std::string(text.substr(i, k - i));
  }
  return fallback;
}

/// What the queue records as a deferred recipient's last error, in Exchange's words.
std::string last_error_text(const AttemptResult& result, const smtp::Reply& reply) {
  // No server was reached (DNS failed, or an internal error): there is no primary target whose
  // answer could be quoted, and Exchange too shows "451 4.4.0 DNS query failed ..." as it is.
  if (result.endpoint.empty()) return reply.one_line();
  switch (result.failure) {
    case Failure::SocketError:
    case Failure::Timeout:
    case Failure::TlsUnavailable:
    case Failure::CertificateInvalid:
      return reply.one_line();
    default:
      return primary_target_text(reply, result.endpoint);
  }
}

}  // namespace

DeliveryEngine::DeliveryEngine(asio::io_context& io, EngineServices services)
    : io_(io),
      services_(std::move(services)),
      scheduler_(
          services_.config->queue, [] { return std::chrono::system_clock::now(); },
          [this](const std::string& hop) { return hop_limit(hop); }),
      wakeup_(io) {}

bool DeliveryEngine::is_local(const std::string& address) const {
  std::string domain = domain_of(address);
  return domain.empty() || config::is_local_domain(*services_.config, domain);
}

std::string DeliveryEngine::next_hop_of(const std::string& address) const {
  if (is_local(address)) return "local";
  std::string domain = domain_of(address);
  const auto* connector = config::select_send_connector(*services_.config, domain);
  if (!connector) return "unroutable";
  if (connector->smart_hosts.empty()) return domain;
  return smart_host_hop(*connector);
}

std::size_t DeliveryEngine::hop_limit(const std::string& next_hop) const {
  if (next_hop == queue::kLocalHop) return kLocalConcurrency;
  const auto& cfg = *services_.config;
  // Each connector's own limit: a smart-host hop is its connector's host list, an MX hop the
  // domain its connector was chosen for.
  for (const auto& connector : cfg.send_connectors)
    if (!connector.smart_hosts.empty() && smart_host_hop(connector) == next_hop) return connector.max_connections_per_host;
  if (const auto* connector = config::select_send_connector(cfg, next_hop)) return connector->max_connections_per_host;
  return config::SendConnector{}.max_connections_per_host;
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
      std::vector<std::pair<std::string, std::optional<Envelope>>> out;
      out.reserve(end - at);
      for (std::size_t i = at; i < end; ++i) out.emplace_back((*names)[i], spool->load_envelope((*names)[i]));
      return out;
    });
    for (auto& [id, envelope] : batch) {
      if (!envelope) {
        log_error("queue {}: envelope unreadable; left in place for inspection", id);
        continue;
      }
      adopt(std::move(*envelope));
      ++loaded;
    }
    load_done_ = end;
    poke();
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

void DeliveryEngine::poke() { wakeup_.cancel(); }

void DeliveryEngine::message_queued(const Envelope& envelope) {
  adopt(envelope);
  poke();
}

void DeliveryEngine::adopt(Envelope envelope) {
  std::vector<std::size_t> failed;
  // The next hop is derived from the configuration: it is set here, in memory, and reaches the
  // spool with the next change of state; a file write (and fsync) per new message only for it
  // would cost the intake half its speed.
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    auto& r = envelope.recipients[i];
    if (!open_state(r.state)) continue;
    std::string hop = next_hop_of(r.address);
    r.next_hop = hop;
    if (hop == "unroutable") {
      r.state = State::Failed;
      r.last_reply = fmt::format("554 5.4.4 Unable to route: no send connector serves the domain {}", domain_of(r.address));
      r.last_attempt = now();
      failed.push_back(i);
    }
  }
  if (!failed.empty()) {
    commit(std::move(envelope), failed, "");
  } else {
    scheduler_.upsert(envelope);
    messages_[envelope.id] = std::move(envelope);
  }
}

void DeliveryEngine::commit(Envelope envelope, const std::vector<std::size_t>& newly_failed,
                            const std::string& remote_host) {
  if (!newly_failed.empty() && queue::should_bounce(envelope)) bounce(envelope, newly_failed, remote_host, false);
  bool open = std::any_of(envelope.recipients.begin(), envelope.recipients.end(),
                          [](const Recipient& r) { return open_state(r.state); });
  auto* spool = services_.spool;
  if (open) {
    scheduler_.upsert(envelope);
    messages_[envelope.id] = envelope;
    write({[spool, envelope = std::move(envelope)] {
             if (auto ec = spool->update(envelope)) log_error("queue {}: cannot record state: {}", envelope.id, ec.message());
           },
           ""});
  } else {
    scheduler_.remove(envelope.id);
    messages_.erase(envelope.id);
    write({nullptr, envelope.id});
  }
}

void DeliveryEngine::write(Write w) {
  std::lock_guard lock(writes_mutex_);
  writes_.push_back(std::move(w));
  if (draining_) return;
  draining_ = true;
  asio::post(services_.disk, [this] { drain_writes(); });
}

void DeliveryEngine::drain_writes() {
  auto* spool = services_.spool;
  for (;;) {
    std::deque<Write> batch;
    {
      std::lock_guard lock(writes_mutex_);
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
      auto results = spool->remove_batch(ids);
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (results[i]) log_error("queue {}: cannot remove: {}", ids[i], results[i].message());
    }
  }
}

void DeliveryEngine::bounce(const Envelope& original, const std::vector<std::size_t>& recipients,
                            const std::string& remote_host, bool delay_warning) {
  std::vector<queue::DsnRecipient> rows;
  for (auto i : recipients) {
    const auto& r = original.recipients[i];
    queue::DsnRecipient row;
    row.address = r.address;
    row.action = delay_warning ? "delayed" : "failed";
    bool expired = !delay_warning && r.last_reply.rfind("5", 0) != 0;
    // A recipient that failed because its lifetime ran out reports X.4.7 (RFC 3463: delivery time
    // expired); the last error stays in Diagnostic-Code, where administrators look for it.
    row.status = expired ? "4.4.7" : enhanced_code(r.last_reply, delay_warning ? "4.0.0" : "5.0.0");
    row.diagnostic = r.last_reply;
    row.remote_mta = remote_host;
    row.last_attempt = r.last_attempt;
    rows.push_back(std::move(row));
  }
  std::string id = new_hex_id();
  auto* spool = services_.spool;
  std::string reporting_mta = services_.config->hostname;
  auto retry_until = original.received + services_.config->queue.lifetime;
  write({[this, spool, original, rows = std::move(rows), id, reporting_mta, delay_warning, retry_until] {
    queue::DsnInput input;
    input.retry_until = retry_until;
    input.reporting_mta = reporting_mta;
    input.original = &original;
    input.original_message = spool->load_message(original.id).value_or("");
    input.recipients = rows;
    input.delay_warning = delay_warning;
    input.now = std::chrono::system_clock::now();
    input.message_id_seed = id;
    std::string dsn;
    queue::Envelope envelope;
    try {
      dsn = queue::build_dsn(input);
      envelope = queue::dsn_envelope(id, original, dsn.size(), input.now);
    } catch (const std::exception& e) {
      log_error("queue {}: cannot build the notification for {}: {}", original.id, original.mail_from, e.what());
      return;
    }
    if (auto ec = spool->store(envelope, dsn)) {
      log_error("queue {}: cannot queue the {} for {}: {}", original.id, delay_warning ? "delay warning" : "bounce",
                original.mail_from, ec.message());
      return;
    }
    log_info("queue {}: {} {} queued for <{}>", original.id, delay_warning ? "delay warning" : "bounce", id,
             original.mail_from);
    asio::post(io_, [this, envelope] { message_queued(envelope); });
  }, ""});
}

void DeliveryEngine::send_delay_warning(const std::string& message_id) {
  auto it = messages_.find(message_id);
  if (it == messages_.end() || !queue::should_bounce(it->second)) return;
  Envelope envelope = it->second;
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i)
    if (open_state(envelope.recipients[i].state)) open.push_back(i);
  if (open.empty()) return;
  bounce(envelope, open, "", true);
  envelope.delay_warning_sent = true;
  commit(std::move(envelope), {}, "");
}

void DeliveryEngine::expire(const queue::Scheduler::Expired& expired) {
  auto it = messages_.find(expired.message_id);
  if (it == messages_.end()) return;
  Envelope envelope = it->second;
  std::vector<std::size_t> failed;
  for (auto i : expired.recipients) {
    auto& r = envelope.recipients[i];
    if (!open_state(r.state)) continue;
    r.state = State::Failed;
    // Mail that waited on a hop that never answered has no reply of its own: the hop's last error
    // is what the sender needs to read in the bounce.
    if (r.last_reply.empty()) {
      const auto* hop = scheduler_.hop(queue::recipient_hop(r));
      r.last_reply = hop && !hop->last_error.empty()
                         ? hop->last_error
                         : std::string("451 4.4.7 Message expired before a delivery attempt could be made");
    }
    failed.push_back(i);
  }
  if (!failed.empty()) log_info("queue {}: lifetime over; {} recipient(s) failed", envelope.id, failed.size());
  commit(std::move(envelope), failed, "");
}

void DeliveryEngine::job_ended() {
  --running_;
  if (stopping_ && running_ == 0 && on_stopped_) std::exchange(on_stopped_, nullptr)();
  poke();
}

awaitable<void> DeliveryEngine::loop() {
  while (!stopping_) {
    // Each pass costs what is due, not the size of the queue (docs/queue.md, "scheduling").
    for (auto& job : scheduler_.take_due()) {
      ++running_;
      if (job.next_hop == queue::kLocalHop) asio::co_spawn(io_, run_local(std::move(job)), asio::detached);
      else asio::co_spawn(io_, run_job(std::move(job)), asio::detached);
    }
    // After take_due: a recipient due at its expiry time gets its last try first.
    for (const auto& expired : scheduler_.take_expired()) expire(expired);
    for (const auto& id : scheduler_.take_delay_warnings()) send_delay_warning(id);
    auto wake = now() + kIdleWakeup;
    if (auto next = scheduler_.next_wakeup()) wake = std::min(wake, *next);
    wakeup_.expires_at(wake);
    std::error_code ec;
    co_await wakeup_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> DeliveryEngine::run_local(queue::Job job) {
  auto* spool = services_.spool;
  auto* maildirs = services_.maildirs;
  auto it = messages_.find(job.message_id);
  std::vector<std::string> addresses;
  if (it != messages_.end())
    for (auto i : job.recipients) addresses.push_back(it->second.recipients[i].address);
  std::string id = job.message_id;
  const bool discard = services_.config->local_delivery == config::LocalDelivery::Discard;
  // Maildir writes fsync: they run on the disk executor.
  std::vector<std::string> results(addresses.size());  // "" per recipient: delivered
  if (!discard) results = co_await run_blocking(
      services_.disk,
      [spool, maildirs, &id, &addresses] {
        std::vector<std::string> out;
        auto message = spool->load_message(id);
        for (const auto& address : addresses) {
          if (!message) {
            out.push_back("message content missing from the spool");
            continue;
          }
          std::filesystem::path file;
          auto ec = maildirs->deliver(queue::split_address(address).first, address, *message, &file);
          out.push_back(ec ? ec.message() : "");
        }
        return out;
      });
  scheduler_.finished(job, false);
  it = messages_.find(job.message_id);
  if (it != messages_.end()) {
    Envelope envelope = it->second;
    std::vector<std::size_t> failed;
    for (std::size_t k = 0; k < job.recipients.size() && k < results.size(); ++k) {
      auto& r = envelope.recipients[job.recipients[k]];
      ++r.attempts;
      r.last_attempt = now();
      if (results[k].empty()) {
        r.state = State::Delivered;
        r.last_reply = discard ? "250 2.0.0 Discarded (local_delivery = \"discard\")"
                               : "250 2.0.0 Delivered to the local mailbox";
        continue;
      }
      r.last_reply = "451 4.3.0 Local delivery failed: " + results[k];
      log_warning("queue {}: local delivery to <{}> failed: {}", envelope.id, r.address, results[k]);
      if (auto next = scheduler_.reschedule(envelope, r)) {
        r.state = State::Deferred;
        r.next_attempt = *next;
      } else {
        r.state = State::Failed;
        failed.push_back(job.recipients[k]);
      }
    }
    commit(std::move(envelope), failed, "");
  }
  job_ended();
}

awaitable<void> DeliveryEngine::run_job(queue::Job job) {
  const auto& cfg = *services_.config;
  AttemptResult result;
  std::string remote_host;
  bool attempted = false;
  try {
    auto it = messages_.find(job.message_id);
    if (it == messages_.end() || job.recipients.empty()) throw std::runtime_error("message vanished");
    Envelope envelope = it->second;
    std::string domain = domain_of(envelope.recipients[job.recipients.front()].address);
    const auto* connector = config::select_send_connector(cfg, domain);
    if (!connector) throw std::runtime_error("no send connector for " + domain);

    // Route: the smart hosts in order, or the domain's MX hosts by preference. DNS blocks: it runs
    // on the engine's DNS threads.
    const auto* resolver = services_.resolver;
    std::vector<Target> targets;
    std::optional<smtp::Reply> route_failure;
    bool route_permanent = false;
    struct Lookup {
      std::string host;
      std::uint16_t port;
    };
    std::vector<Lookup> hosts;
    if (!connector->smart_hosts.empty()) {
      for (const auto& sh : connector->smart_hosts) hosts.push_back({sh.host, sh.port});
    } else {
      auto answer = co_await run_blocking(dns_.get_executor(), [resolver, &domain] { return resolver->mx(domain); });
      using S = net::DnsAnswer::Status;
      if (answer.status == S::NxDomain) {
        route_failure = smtp::make_reply(550, "5.4.310", fmt::format("DNS domain {} does not exist", domain));
        route_permanent = true;
      } else if (answer.status == S::NullMx) {
        route_failure = smtp::make_reply(556, "5.1.10", fmt::format("Domain {} does not accept mail (null MX, RFC 7505)", domain));
        route_permanent = true;
      } else if (answer.status != S::Ok) {
        route_failure = smtp::make_reply(451, "4.4.0", fmt::format("DNS query failed. The error was: {}", answer.error));
      }
      for (const auto& mx : answer.hosts) hosts.push_back({mx.name, connector->port});
    }
    std::string dns_errors;
    for (const auto& host : hosts) {
      if (targets.size() >= kMaxTargets) break;
      std::string name = host.host;
      auto answer = co_await run_blocking(dns_.get_executor(), [resolver, &name] { return resolver->addresses(name); });
      if (answer.status != net::DnsAnswer::Status::Ok) {
        dns_errors += (dns_errors.empty() ? "" : "; ") + host.host + ": " + answer.error;
        continue;
      }
      for (const auto& address : answer.addresses)
        if (targets.size() < kMaxTargets) targets.push_back({host.host, asio::ip::tcp::endpoint(address, host.port)});
    }
    if (!route_failure && targets.empty())
      route_failure = smtp::make_reply(451, "4.4.0", fmt::format("DNS query failed. The error was: {}",
                                                                 dns_errors.empty() ? "no address for any host" : dns_errors));

    if (route_failure) {
      result.failure = route_permanent ? Failure::RemotePermanent : Failure::ConnectFailed;
      result.reply = *route_failure;
    } else {
      std::string id = envelope.id;
      auto* spool = services_.spool;
      auto message = co_await run_blocking(services_.disk, [spool, &id] { return spool->load_message(id); });
      if (!message) throw std::runtime_error("message content missing from the spool");
      Transaction tx;
      tx.mail_from = envelope.mail_from;
      for (auto i : job.recipients) tx.recipients.push_back(envelope.recipients[i].address);
      tx.message = &*message;
      tx.eight_bit = envelope.body_type == "8BITMIME";
      tx.smtputf8 = envelope.smtputf8;
      ClientSettings settings;
      settings.connector = connector;
      settings.helo = connector->helo.empty() ? cfg.hostname : connector->helo;
      auto context = services_.tls_contexts.find(connector->name);
      settings.tls_context = context == services_.tls_contexts.end() ? nullptr : context->second.get();
      settings.send_log = services_.send_log;
      settings.timeouts = services_.timeouts;
      for (const auto& target : targets) {
        attempted = true;
        remote_host = target.host;
        result = co_await deliver(io_.get_executor(), settings, target, tx, TlsAttempt::Policy);
        if (result.may_fall_back) {
          // The downgrade is the connector's explicit choice (fallback_to_plaintext); the client
          // logs it in the send protocol log, and this says it to the operator too.
          log_warning("queue {}: TLS with {} failed; retrying without TLS (connector \"{}\" has fallback_to_plaintext)",
                      envelope.id, result.endpoint, connector->name);
          result = co_await deliver(io_.get_executor(), settings, target, tx, TlsAttempt::Plaintext);
        }
        // Fail over to the next target only while this message has not reached any server: once
        // MAIL was sent, that server's answers are the outcome (RFC 5321 5.1).
        if (result.failure == Failure::None || result.transaction_started || result.failure == Failure::RemotePermanent)
          break;
      }
    }
    (void)attempted;
  } catch (const std::exception& e) {
    log_error("queue {}: delivery attempt failed: {}", job.message_id, e.what());
    result = AttemptResult{};
    result.failure = Failure::ConnectFailed;
    result.reply = smtp::make_reply(451, "4.3.0", std::string("Internal error: ") + e.what());
  }

  // Record the outcome on the current envelope: other jobs (other next hops of the same message)
  // may have changed it while this one ran.
  // The next hop as a whole is unwell when no server of it got as far as a transaction.
  bool hop_failed = !result.transaction_started && result.failure != Failure::None &&
                    result.failure != Failure::RemotePermanent;
  // First the hop's health, so that a recipient deferred by a hop failure can wait on the hop.
  scheduler_.finished(job, hop_failed, hop_failed ? last_error_text(result, result.reply) : std::string());
  auto it = messages_.find(job.message_id);
  if (it != messages_.end()) {
    Envelope envelope = it->second;
    std::vector<std::size_t> failed;
    auto t = now();
    for (std::size_t k = 0; k < job.recipients.size(); ++k) {
      auto& r = envelope.recipients[job.recipients[k]];
      if (!open_state(r.state)) continue;
      ++r.attempts;
      r.last_attempt = t;
      smtp::Reply reply = k < result.recipients.size() ? result.recipients[k] : result.reply;
      if (k < result.recipients.size() && reply.positive() && result.data_accepted) {
        r.state = State::Delivered;
        r.last_reply = reply.one_line();
        continue;
      }
      if (reply.permanent()) {
        r.state = State::Failed;
        r.last_reply = reply.one_line();
        failed.push_back(job.recipients[k]);
        continue;
      }
      r.last_reply = last_error_text(result, reply);
      // A hop that failed as a whole holds its mail until it answers again (one probe at a time),
      // so this recipient waits on the hop, not on a timer of its own.
      auto next = hop_failed ? scheduler_.hop_retry_time(envelope, job.next_hop) : scheduler_.reschedule(envelope, r);
      if (next) {
        r.state = State::Deferred;
        r.next_attempt = *next;
      } else {
        r.state = State::Failed;  // lifetime over: the bounce says 4.4.7 with this last error
        failed.push_back(job.recipients[k]);
      }
    }
    commit(std::move(envelope), failed, remote_host);
  }
  job_ended();
}

nlohmann::json DeliveryEngine::control(const nlohmann::json& request) {
  std::string command = request.value("command", "");
  if (command == "list") {
    std::vector<const Envelope*> envelopes;
    envelopes.reserve(messages_.size());
    for (const auto& [id, envelope] : messages_) envelopes.push_back(&envelope);
    std::map<std::string, queue::HopLive> live;
    for (const auto& [hop, state] : scheduler_.hop_states())
      live[hop] = {state.running, state.blocked_until, state.last_error};
    queue::ViewFilter filter{request.value("domain", ""), request.value("status", "")};
    auto rows = queue::hop_rows(envelopes, filter, live, now());
    nlohmann::json answer = {{"ok", true}, {"hops", queue::hop_rows_json(rows)}, {"now", queue::format_utc_time(now())}};
    // Right after a restart the picture is not complete yet: say so.
    if (load_total_) answer["loading"] = {{"read", load_done_}, {"total", load_total_}};
    return answer;
  }
  // Until the spool is read, a message may exist that the engine does not know yet: changing the
  // queue, or saying that a message is not there, would be wrong. The wait is seconds.
  if (load_total_ && (command == "show" || command == "retry" || command == "remove")) {
    bool known = command == "show" && messages_.count(request.value("id", ""));
    if (!known)
      return {{"ok", false},
              {"error", fmt::format("the gateway is still reading its spool after a restart ({} of {} messages); "
                                    "try again in a moment",
                                    load_done_, load_total_)}};
  }
  if (command == "show") {
    auto it = messages_.find(request.value("id", ""));
    if (it == messages_.end()) return {{"ok", false}, {"error", "no message " + request.value("id", "") + " in the queue"}};
    return {{"ok", true}, {"message", queue::message_json(it->second)}};
  }
  if (command == "retry") {
    // Every matching message with mail still waiting becomes due now, and the backoff of the
    // hops it waits for is cleared: the count is of messages that will be tried.
    std::string id = request.value("id", "");
    std::string domain = ascii_lower(request.value("domain", ""));
    if (!id.empty() && !messages_.count(id)) return {{"ok", false}, {"error", "no message " + id + " in the queue"}};
    std::size_t retried = 0;
    std::set<std::string> hops;
    auto retry_message = [&](Envelope& envelope) {
      bool touched = false;
      for (auto& r : envelope.recipients) {
        if (!open_state(r.state)) continue;
        std::string hop = queue::recipient_hop(r);
        if (!domain.empty() && hop != domain && domain_of(r.address) != domain) continue;
        if (r.state == State::Deferred) r.next_attempt = now();
        hops.insert(std::move(hop));
        touched = true;
      }
      if (!touched) return;
      ++retried;
      scheduler_.upsert(envelope);
    };
    if (!id.empty()) retry_message(messages_.at(id));
    else
      for (auto& [mid, envelope] : messages_) retry_message(envelope);
    if (id.empty() && domain.empty()) scheduler_.clear_backoff();
    else
      for (const auto& hop : hops) scheduler_.clear_backoff(hop);
    poke();
    return {{"ok", true}, {"retried", retried}};
  }
  if (command == "remove") {
    std::string id = request.value("id", "");
    auto it = messages_.find(id);
    if (it == messages_.end()) return {{"ok", false}, {"error", "no message " + id + " in the queue"}};
    Envelope envelope = it->second;
    std::vector<std::size_t> open;
    for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
      auto& r = envelope.recipients[i];
      if (!open_state(r.state)) continue;
      r.state = State::Failed;
      r.last_reply = "550 5.0.0 Message removed from the queue by an administrator (last error: " +
                     (r.last_reply.empty() ? std::string("none") : r.last_reply) + ")";
      open.push_back(i);
    }
    bool bounce_it = request.value("bounce", false);
    commit(std::move(envelope), bounce_it ? open : std::vector<std::size_t>{}, "");
    return {{"ok", true}};
  }
  return {{"ok", false}, {"error", "unknown command \"" + command + "\""}};
}

}  // namespace sluice::outbound
