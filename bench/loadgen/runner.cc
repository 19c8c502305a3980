#include "runner.h"

#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "ack_log.h"
#include "connection.h"
#include "message.h"

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;
using asio::use_awaitable;

// State shared by all threads of a throughput run.
struct Plan {
  bool by_count = true;
  std::uint64_t count = 0;
  Clock::time_point start, measure_from, end;
  std::uint64_t max_errors = 0;
  std::atomic<std::uint64_t> claimed{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> next_seq{1};  // of the next new message's Message-ID
  std::string run_id;                      // the Message-IDs' run part
  std::unique_ptr<AckLog> ack_log;         // --ack-log

  std::int64_t since_start_ns(Clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - start).count();
  }

  // A message slot; in count mode a failed message uses its slot up too, so a dead server still
  // ends the run.
  bool claim() {
    if (stop.load(std::memory_order_relaxed)) return false;
    if (by_count) return claimed.fetch_add(1, std::memory_order_relaxed) < count;
    return Clock::now() < end;
  }
  void note_error() {
    if (max_errors && errors.fetch_add(1) + 1 >= max_errors) stop = true;
  }
  // Duration mode counts only what finished inside [measure_from, end).
  bool counts(Clock::time_point t) const { return by_count || (t >= measure_from && t < end); }
};

// State shared by all threads of an idle run.
struct IdlePlan {
  std::uint64_t total = 0;
  std::atomic<std::uint64_t> claimed{0}, open{0}, failed{0};
  std::atomic<bool> announced{false};
};

// One thread: its io_context, TLS context and counters.
struct Worker {
  asio::io_context io{1};
  std::unique_ptr<asio::ssl::context> tls;
  Stats stats;
  Clock::time_point last_done{};
  std::vector<std::unique_ptr<Connection>> held;  // idle mode
};

void note_tls(Worker& w, const Connection& c) {
  if (w.stats.tls.version.empty()) w.stats.tls = c.tls_info();
}

asio::awaitable<void> pause(asio::io_context& io, std::chrono::milliseconds d) {
  asio::steady_timer t(io, d);
  co_await t.async_wait(use_awaitable);
}

asio::awaitable<void> session_loop(Worker& w, Plan& plan, const Options& o, const Payload& payload,
                                   asio::ip::tcp::endpoint server) {
  std::unique_ptr<Connection> conn;
  unsigned sent_here = 0;
  // --retry-failed: the message whose session failed goes again, before any new one, as a client
  // with a queue would send it; it is not a new message, so it needs no slot (claim) of its own.
  std::optional<std::uint64_t> retry;
  unsigned attempt = 0;
  while (retry ? !plan.stop.load(std::memory_order_relaxed) : plan.claim()) {
    std::uint64_t seq = 0;
    if (retry) {
      seq = *retry;
      retry.reset();
      ++attempt;
      ++w.stats.messages_retried;
    } else {
      seq = plan.next_seq.fetch_add(1, std::memory_order_relaxed);
      attempt = 1;
    }
    std::string error;
    bool delivered = false;
    try {
      if (!conn) {
        conn = std::make_unique<Connection>(w.io, *w.tls, o);
        co_await conn->open(server);
        note_tls(w, *conn);
        sent_here = 0;
        if (o.connect_only) {
          co_await conn->quit();
          conn.reset();
          auto now = Clock::now();
          if (plan.counts(now)) {
            ++w.stats.connections;
            w.last_done = std::max(w.last_done, now);
          }
          continue;
        }
        if (plan.counts(Clock::now())) ++w.stats.connections;
      }
      const std::string id = message_id(plan.run_id, seq);
      const std::string id_line = message_id_line(id);  // lives in this frame while the message is written
      auto [reply, latency] = co_await conn->send_message(payload, id_line);
      delivered = true;
      auto now = Clock::now();
      if (plan.ack_log)
        plan.ack_log->record(id, static_cast<double>(plan.since_start_ns(now)) / 1e6, attempt, reply.text());
      if (plan.counts(now)) {
        ++w.stats.messages_ok;
        w.stats.latencies_ns.push_back(latency.count());
        w.last_done = std::max(w.last_done, now);
      }
      if (o.per_connection && ++sent_here >= o.per_connection) {
        co_await conn->quit();
        conn.reset();
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      if (!delivered && !o.connect_only) {
        ++w.stats.messages_failed;
        if (o.retry_failed) retry = seq;
      }
      w.stats.record_error(error);
      w.stats.record_failed_session(plan.since_start_ns(Clock::now()));
      plan.note_error();
      conn.reset();
      // A dead server must not turn a duration run into a busy loop of refused connections.
      co_await pause(w.io, std::chrono::milliseconds(10));
    }
  }
  if (conn) {
    std::string error;
    try {
      co_await conn->quit();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      w.stats.record_error(error);
      w.stats.record_failed_session(plan.since_start_ns(Clock::now()));
    }
  }
}

asio::awaitable<void> idle_setup(Worker& w, IdlePlan& plan, const Options& o, asio::ip::tcp::endpoint server) {
  while (plan.claimed.fetch_add(1) < plan.total) {
    auto conn = std::make_unique<Connection>(w.io, *w.tls, o);
    std::string error;
    try {
      co_await conn->open(server);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error.empty()) {
      note_tls(w, *conn);
      ++w.stats.connections;
      w.held.push_back(std::move(conn));
      ++plan.open;
    } else {
      w.stats.record_error(error);
      ++plan.failed;
    }
  }
}

asio::awaitable<void> idle_quit(Worker& w, Connection& conn) {
  std::string error;
  try {
    co_await conn.quit();
  } catch (const std::exception& e) {
    error = e.what();
  }
  // A session the server dropped while idle shows up here.
  if (!error.empty()) w.stats.record_error(error);
}

void write_ready_file(const std::string& path, std::uint64_t open, std::uint64_t failed) {
  // Written beside and renamed, so a script polling for the file never reads half of it.
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << "ready " << open << " " << failed << "\n";
  }
  std::filesystem::rename(tmp, path);
}

asio::awaitable<void> idle_control(Worker& w, IdlePlan& plan, const Options& o, bool first) {
  asio::steady_timer t(w.io);
  while (plan.open + plan.failed < plan.total) {
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(use_awaitable);
  }
  if (first && !plan.announced.exchange(true)) {
    if (!o.ready_file.empty()) write_ready_file(o.ready_file, plan.open, plan.failed);
    std::fprintf(stderr, "sluice-loadgen: holding %llu idle sessions (%llu failed) for %.1f s\n",
                 static_cast<unsigned long long>(plan.open.load()), static_cast<unsigned long long>(plan.failed.load()),
                 o.hold_s);
  }
  t.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.hold_s)));
  co_await t.async_wait(use_awaitable);
  for (auto& c : w.held) asio::co_spawn(w.io, idle_quit(w, *c), asio::detached);
}

asio::ip::tcp::endpoint resolve(const Options& o) {
  std::error_code ec;
  auto addr = asio::ip::make_address(o.host, ec);
  if (!ec) return {addr, o.port};
  asio::io_context io;
  asio::ip::tcp::resolver r(io);
  auto results = r.resolve(o.host, std::to_string(o.port), ec);
  if (ec || results.empty()) throw std::runtime_error(fmt::format("--host {}: {}", o.host, ec.message()));
  return *results.begin();
}

// Idle mode holds thousands of sockets, more than the usual soft limit of 1024 descriptors.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

Summary run_load(const Options& o) {
  raise_fd_limit();
  auto server = resolve(o);
  Summary summary;
  summary.target = fmt::format("{}:{}", o.host, o.port);
  summary.sessions = o.idle ? o.idle : o.sessions;
  summary.tls_requested = to_string(o.tls);
  summary.size = o.size;
  summary.per_connection = o.per_connection;

  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned i = 0; i < o.threads; ++i) {
    workers.push_back(std::make_unique<Worker>());
    workers.back()->tls = make_tls_context(o.tls);
  }

  Plan plan;
  IdlePlan idle;
  const Payload payload = make_payload(o);
  plan.run_id = new_run_id();
  if (!o.ack_log.empty()) plan.ack_log = std::make_unique<AckLog>(o.ack_log);
  plan.start = Clock::now();
  if (o.idle) {
    summary.mode = "idle";
    summary.hold_s = o.hold_s;
    idle.total = o.idle;
    // Setup workers pull session numbers from a shared counter, so at most connect_concurrency
    // handshakes are in flight: a thousand SYNs at once would overflow the server's accept backlog.
    unsigned setup = std::min(o.connect_concurrency, o.idle);
    for (unsigned i = 0; i < setup; ++i) {
      auto& w = *workers[i % workers.size()];
      asio::co_spawn(w.io, idle_setup(w, idle, o, server), asio::detached);
    }
    for (unsigned i = 0; i < workers.size(); ++i)
      asio::co_spawn(workers[i]->io, idle_control(*workers[i], idle, o, i == 0), asio::detached);
  } else {
    plan.by_count = o.count.has_value();
    plan.count = o.count.value_or(0);
    plan.max_errors = o.max_errors;
    auto as_duration = [](double s) {
      return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
    };
    plan.measure_from = plan.start + as_duration(o.warmup_s);
    plan.end = o.duration_s ? plan.start + as_duration(*o.duration_s) : Clock::time_point::max();
    for (unsigned i = 0; i < o.sessions; ++i) {
      auto& w = *workers[i % workers.size()];
      asio::co_spawn(w.io, session_loop(w, plan, o, payload, server), asio::detached);
    }
  }

  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->io.run(); });
  for (auto& t : threads) t.join();

  Stats total;
  Clock::time_point last = plan.start;
  for (auto& w : workers) {
    last = std::max(last, w->last_done);
    total.merge(std::move(w->stats));
  }
  double elapsed;
  if (o.idle)
    elapsed = std::chrono::duration<double>(Clock::now() - plan.start).count();
  else if (plan.by_count)
    elapsed = std::chrono::duration<double>(last - plan.start).count();
  else
    elapsed = std::chrono::duration<double>(plan.end - plan.measure_from).count();
  summarize(total, elapsed, summary);
  summary.stopped_by_errors = plan.stop.load();
  summary.idle_open = idle.open;
  summary.idle_failed = idle.failed;

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  summary.cpu_user_s = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
  summary.cpu_sys_s = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
  return summary;
}

}  // namespace sluice::bench
