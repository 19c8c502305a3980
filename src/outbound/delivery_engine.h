// The delivery engine: owns every queued message's state once it is spooled, asks the scheduler
// what is due, and starts each job: routing (outbound/route), the attempt over the targets
// (outbound/attempt), local delivery (outbound/local_delivery); it records each outcome
// (outbound/record_outcome), bounces what failed (outbound/bounce) and answers the queue viewer
// (queue/control_protocol). It runs on the network thread; disk work goes to the disk executor,
// in order (queue/envelope_writer), DNS lookups to the engine's own threads. It is the only
// writer of envelopes after the 250.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "config/config.h"
#include "net/dns.h"
#include "outbound/attempt.h"
#include "outbound/bounce.h"
#include "outbound/destination_policy.h"
#include "outbound/route.h"
#include "outbound/smtp_client.h"
#include "protocol_log/protocol_log.h"
#include "queue/control_protocol.h"
#include "queue/envelope_writer.h"
#include "queue/maildir.h"
#include "queue/scheduler.h"
#include "queue/spool.h"
#include "tracking/tracking_log.h"

namespace sluice::outbound {

struct EngineServices {
  /// The configuration snapshot; reconfigure() replaces it, and an attempt in progress keeps the
  /// one it started with.
  std::shared_ptr<const config::Config> config;
  queue::Spool* spool = nullptr;
  queue::MaildirStore* maildirs = nullptr;
  protocol_log::Writer* send_log = nullptr;
  const net::MailLookups* resolver = nullptr;  ///< MX and address lookups (net::Resolver)
  asio::any_io_executor disk;                  ///< blocking work: spool reads and writes, Maildir
  std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts;  ///< by send connector name
  CredentialsByConnector credentials;  ///< [send_connector.auth], by send connector name
  ClientTimeouts timeouts;
  /// The SMTP sessions; null: the SMTP client over TCP. Tests script outcomes here.
  Transport* transport = nullptr;
  /// The time; empty: the system clock. With a test clock, the engine's timer never decides
  /// anything: the test moves its clock and calls wake().
  queue::Clock clock;
  /// MTA-STS policies (mta_sts::PolicyStore); null: a mode asking for MTA-STS is opportunistic.
  mta_sts::PolicySource* mta_sts = nullptr;
  /// DANE per host (outbound/dane_policy); empty: dane-only defers, dane is opportunistic.
  DaneLookup dane;
  /// The message tracking log; null: not written.
  tracking::TrackingLog* tracking = nullptr;
};

class DeliveryEngine : private queue::QueueControl {
 public:
  DeliveryEngine(asio::io_context& io, EngineServices services);

  /// Lists the spool (after Spool::recover) and starts delivering. The envelopes are read in
  /// batches on the disk executor while the gateway already serves: a restart with 100,000 queued
  /// messages answers its first client at once. Call once.
  void start();
  /// Stops starting new attempts; `done` runs once the running ones have ended.
  void stop(std::function<void()> done);

  /// A message was committed (its 250 is on the way): take it over. Network thread only.
  void message_queued(const queue::Envelope& envelope);
  /// Looks at the queue now (the clock moved): what is due starts, what expired fails.
  void wake();
  /// A reload: the next attempts use `config` (its send connectors, queue settings, hostname),
  /// `tls_contexts` and `credentials`; attempts in progress finish with what they began with.
  /// Waiting recipients of messages not in an attempt move to the next hop the new send
  /// connectors give them; one that no
  /// connector serves any more keeps its hop and is deferred at its attempts (451 4.3.0) until a
  /// connector serves it again or its lifetime ends, as a configuration mistake should not bounce
  /// mail. Returns how many recipients changed next hop.
  std::size_t reconfigure(std::shared_ptr<const config::Config> config,
                          std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts,
                          CredentialsByConnector credentials);

  /// Queue viewer requests (docs/queue.md, "control socket").
  nlohmann::json control(const nlohmann::json& request) { return queue::control_answer(request, *this); }

  /// The queued envelope `id`, or nullptr (for tests and the queue viewer).
  const queue::Envelope* find(const std::string& id) const override;
  /// Deliveries in progress, outbound and local.
  std::size_t running() const { return running_; }
  /// Messages in the queue, and each next hop's share (cheap: for every metrics scrape).
  std::size_t queued() const { return messages_.size(); }
  std::vector<queue::HopBacklog> backlog() const { return scheduler_.backlog(); }

 private:
  asio::awaitable<void> loop();
  asio::awaitable<void> load(std::vector<std::string> ids);
  asio::awaitable<void> run_job(queue::Job job);
  /// The attempt of an outbound job; an attempt-wide 451 4.3.0 when it cannot be made.
  asio::awaitable<TargetsAttempt> attempt(const queue::Job& job);
  asio::awaitable<void> run_local(queue::Job job);
  void job_ended();
  /// Fails the recipients whose lifetime ran out while they waited, and bounces them.
  void expire(const queue::Scheduler::Expired& expired);
  void adopt(queue::Envelope envelope);
  /// Records a changed envelope: in memory, in the scheduler, and on disk (in order, per message);
  /// removes it everywhere once no recipient is left pending or deferred and it owes no notice.
  /// `newly_failed` (recipients failed by this change, their reply in last_reply) are bounced:
  /// this is how anything in the engine bounces recipients. What changed goes to the tracking
  /// log, with `hop` when an attempt made the change.
  void commit(queue::Envelope envelope, const std::vector<std::size_t>& newly_failed, const std::string& remote_host,
              const std::optional<tracking::Hop>& hop = std::nullopt);
  /// Queues the envelope's pending notices on the disk executor, then records or removes it there
  /// (queue_pending_notices); notices_flushed() applies the outcome here.
  void flush_notices(queue::Envelope envelope, bool envelope_changed);
  void notices_flushed(const std::string& id, const NoticesOutcome& outcome);
  void send_delay_warning(const std::string& message_id);

  // queue::QueueControl
  std::vector<const queue::Envelope*> envelopes() const override;
  queue::LiveHops hops() const override;
  Loading loading() const override { return {load_done_, load_total_}; }
  std::chrono::system_clock::time_point now() const override { return clock_(); }
  std::size_t retry(const std::vector<std::string>& ids, const queue::QueueFilter& filter, bool every_hop) override;
  void remove(const std::string& id, bool bounce) override;

  asio::io_context& io_;
  EngineServices services_;
  queue::Clock clock_;
  Router router_;
  std::unique_ptr<Transport> own_transport_;
  Transport* transport_;
  queue::Scheduler scheduler_;
  std::map<std::string, queue::Envelope> messages_;  ///< every queued envelope, held once
  queue::EnvelopeWriter writer_;
  /// Ids of notices queued whose outcome notices_flushed() has not applied yet (so envelope
  /// copies written meanwhile do not queue them again). Touched only by writer_'s tasks.
  std::set<std::string> queued_notices_;
  asio::steady_timer wakeup_;
  std::size_t running_ = 0;     ///< jobs in progress, outbound and local, and the spool loader
  std::size_t load_total_ = 0;  ///< envelopes the loader has to read; 0 once it is done
  std::size_t load_done_ = 0;
  bool stopping_ = false;
  std::function<void()> on_stopped_;
  /// Blocking DNS lookups (up to the resolver's 10 s timeout each) run here, not on `disk`: a few
  /// destinations whose DNS does not answer must not hold up the spool writes that every 250
  /// waits for, nor local delivery. Last member: joined before anything it could touch is gone.
  asio::thread_pool dns_{8};
};

}  // namespace sluice::outbound
