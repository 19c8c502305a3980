// The delivery engine: owns every queued message's state once it is spooled, asks the scheduler
// what is due, routes (smart host or MX), runs the SMTP client, records each recipient's outcome,
// bounces what failed, and answers the queue viewer. It runs on the network thread; disk work goes
// to the disk executor, DNS lookups to the engine's own threads. It is the only writer of envelopes
// after the 250.
#pragma once
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>
#include <asio/system_timer.hpp>
#include <asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "config/config.h"
#include "log/protocol_log.h"
#include "net/dns.h"
#include "outbound/smtp_client.h"
#include "queue/maildir.h"
#include "queue/scheduler.h"
#include "queue/spool.h"

namespace sluice::outbound {

struct EngineServices {
  const config::Config* config = nullptr;
  queue::Spool* spool = nullptr;
  queue::MaildirStore* maildirs = nullptr;
  log::Writer* send_log = nullptr;
  const net::Resolver* resolver = nullptr;
  asio::any_io_executor disk;  ///< blocking work: spool reads and writes, Maildir
  std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts;  ///< by send connector name
  ClientTimeouts timeouts;
};

class DeliveryEngine {
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

  /// Queue viewer requests (docs/queue.md, "control socket").
  nlohmann::json control(const nlohmann::json& request);

  /// The next hop of a recipient: "local", the recipient's domain (MX routing), the send
  /// connector's smart host list, or "unroutable". Computed once when a message is adopted and
  /// kept in Recipient::next_hop, which the scheduler files it under.
  std::string next_hop_of(const std::string& address) const;
  /// A next hop's concurrency: its send connector's max_connections_per_host.
  std::size_t hop_limit(const std::string& next_hop) const;

 private:
  asio::awaitable<void> loop();
  asio::awaitable<void> load(std::vector<std::string> ids);
  asio::awaitable<void> run_job(queue::Job job);
  asio::awaitable<void> run_local(queue::Job job);
  void job_ended();
  /// Fails the recipients whose lifetime ran out while they waited, and bounces them.
  void expire(const queue::Scheduler::Expired& expired);
  void poke();
  void adopt(queue::Envelope envelope);
  /// Records a changed envelope: in memory, in the scheduler, and on disk (in order, per message);
  /// removes it everywhere once no recipient is left pending or deferred; bounces new failures.
  void commit(queue::Envelope envelope, const std::vector<std::size_t>& newly_failed, const std::string& remote_host);
  void bounce(const queue::Envelope& original, const std::vector<std::size_t>& recipients, const std::string& remote_host,
              bool delay_warning);
  void send_delay_warning(const std::string& message_id);
  std::chrono::system_clock::time_point now() const { return std::chrono::system_clock::now(); }
  bool is_local(const std::string& address) const;

  asio::io_context& io_;
  EngineServices services_;
  queue::Scheduler scheduler_;
  std::map<std::string, queue::Envelope> messages_;  ///< every queued envelope, held once
  /// An envelope write, in the order it was decided: `work`, or the removal of `remove_id`.
  struct Write {
    std::function<void()> work;
    std::string remove_id;
  };
  /// Queues a write; one drain task on the disk executor runs them in order, and a run of
  /// removals one after another becomes one Spool::remove_batch (one directory fsync).
  void write(Write w);
  void drain_writes();

  std::mutex writes_mutex_;
  std::deque<Write> writes_;
  bool draining_ = false;
  asio::system_timer wakeup_;
  std::size_t running_ = 0;  ///< jobs in progress, outbound and local, and the spool loader
  std::size_t load_total_ = 0;   ///< envelopes the loader has to read; 0 once it is done
  std::size_t load_done_ = 0;
  bool stopping_ = false;
  std::function<void()> on_stopped_;
  /// Blocking DNS lookups (up to the resolver's 10 s timeout each) run here, not on `disk`: a few
  /// destinations whose DNS does not answer must not hold up the spool writes that every 250
  /// waits for, nor local delivery. Last member: joined before anything it could touch is gone.
  asio::thread_pool dns_{8};
};

}  // namespace sluice::outbound
