// The delivery engine against a fake clock, fake DNS and a fake transport (after chasquid's
// queue_test.go and its test courier): real spool and Maildir in a temporary directory, every
// SMTP session scripted, time moved by the test. Nothing sleeps; the disk executor is the test's
// io_context, so every write has happened when the engine is idle.
#include "outbound/delivery_engine.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include "base/ids.h"
#include "base/temp_dir_test_util.h"
#include "metrics/metrics_test_util.h"
#include "outbound/engine_metrics.h"
#include "outbound/outcome.h"

namespace sluice::outbound {
namespace {

using namespace std::chrono_literals;
using queue::Envelope;
using State = queue::Recipient::State;

using sluice::test_util::TempDir;

/// Every domain has one MX "mx.<domain>" at 127.0.0.1, unless `nx` lists it.
struct FakeDns : net::MailLookups {
  std::set<std::string> nx;
  net::DnsAnswer mx(const std::string& domain) const override {
    net::DnsAnswer a;
    if (nx.count(domain)) {
      a.status = net::DnsAnswer::Status::NxDomain;
      a.error = "NXDOMAIN";
      return a;
    }
    a.status = net::DnsAnswer::Status::Ok;
    a.hosts.push_back({"mx." + domain, 10, false});
    return a;
  }
  net::DnsAnswer addresses(const std::string&) const override {
    net::DnsAnswer a;
    a.status = net::DnsAnswer::Status::Ok;
    a.addresses.push_back(asio::ip::make_address("127.0.0.1"));
    return a;
  }
};

smtp::Reply reply(int code, std::string_view enhanced, std::string_view text) {
  return smtp::make_reply(code, enhanced, text);
}

/// Each recipient gets `rcpt`; the message is accepted when one of them is positive.
AttemptResult answered(const Transaction& tx, const smtp::Reply& rcpt) {
  AttemptResult r;
  r.transaction_started = true;
  r.endpoint = "127.0.0.1:25";
  r.recipients.assign(tx.recipients.size(), rcpt);
  r.data_accepted = rcpt.positive();
  return r;
}

/// `rcpt` from `host` for every recipient, 250 from any other.
std::function<AttemptResult(const Target&, const Transaction&)> only(const std::string& host, const smtp::Reply& rcpt) {
  return [host, rcpt](const Target& target, const Transaction& tx) {
    return answered(tx, target.host == host ? rcpt : reply(250, "2.1.5", "OK"));
  };
}

/// `rcpt` for every recipient of every session.
std::function<AttemptResult(const Target&, const Transaction&)> everyone(const smtp::Reply& rcpt) {
  return [rcpt](const Target&, const Transaction& tx) { return answered(tx, rcpt); };
}

AttemptResult connect_failed(const Transaction& tx) {
  AttemptResult r;
  r.failure = Failure::ConnectFailed;
  r.endpoint = "127.0.0.1:25";
  r.reply = failure_reply(Failure::ConnectFailed, r.endpoint, "Connection refused");
  r.recipients.assign(tx.recipients.size(), r.reply);
  return r;
}

/// Records every session; answers with `answer` (250 to everyone by default). With `hold`, a
/// session waits until release(): the test sees how many run at once.
class FakeTransport : public Transport {
 public:
  struct Call {
    std::string host;
    std::string mail_from;
    std::vector<std::string> recipients;
    std::string message;
    bool requiretls = false;
  };
  std::vector<Call> calls;
  std::function<AttemptResult(const Target&, const Transaction&)> answer = [](const Target&, const Transaction& tx) {
    return answered(tx, reply(250, "2.1.5", "OK"));
  };
  bool hold = false;
  std::map<std::string, std::size_t> in_flight, most_in_flight;  ///< by host

  asio::awaitable<AttemptResult> deliver(const ClientSettings&, const Target& target, const Transaction& tx,
                                         TlsAttempt) override {
    calls.push_back({target.host, tx.mail_from, tx.recipients, *tx.message, tx.requiretls});
    if (hold) {
      auto n = ++in_flight[target.host];
      most_in_flight[target.host] = std::max(most_in_flight[target.host], n);
      auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                        asio::steady_timer::time_point::max());
      held_.push_back(timer);
      std::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      --in_flight[target.host];
    }
    co_return answer(target, tx);
  }
  std::size_t held() const {
    std::size_t n = 0;
    for (const auto& [host, count] : in_flight) n += count;
    return n;
  }
  void release() {
    hold = false;
    for (auto& timer : held_) timer->cancel();
    held_.clear();
  }

 private:
  std::vector<std::shared_ptr<asio::steady_timer>> held_;
};

class DeliveryEngineTest : public ::testing::Test {
 protected:
  DeliveryEngineTest() {
    cfg_.hostname = "gw.test";
    cfg_.accepted_domains = {{"local.test", config::DomainType::Authoritative}};
    cfg_.queue.retry_min = 60s;
    cfg_.queue.retry_max = 3600s;
    cfg_.queue.hop_backoff_max = 1800s;
    cfg_.queue.lifetime = 48h;
    config::SendConnector everywhere;
    everywhere.name = "Default";
    cfg_.send_connectors = {everywhere};
  }
  ~DeliveryEngineTest() override {
    transport_.release();
    if (engine_) {
      bool stopped = false;
      engine_->stop([&] { stopped = true; });
      for (int i = 0; i < 1000 && !stopped; ++i) io_.run_one_for(10ms);
    }
  }

  /// `snapshot` null: cfg_, which outlives the engine.
  void start(std::shared_ptr<const config::Config> snapshot = nullptr) {
    EngineServices s;
    s.config = snapshot ? std::move(snapshot) : config::unowned_snapshot(cfg_);
    s.spool = &spool_;
    s.maildirs = &maildirs_;
    s.resolver = &dns_;
    s.disk = io_.get_executor();
    s.transport = &transport_;
    s.clock = [this] { return now_; };
    engine_ = std::make_unique<DeliveryEngine>(io_, s);
    engine_->start();
    settle();
  }

  /// Runs the engine until it is idle: no handler ready, `busy` deliveries in progress (held by
  /// the transport), none waiting for DNS.
  void settle(std::size_t busy = 0) {
    for (int i = 0; i < 3000; ++i) {
      if (io_.poll() == 0 && engine_->running() == busy && transport_.held() == busy) return;
      io_.run_one_for(10ms);  // a DNS lookup is on the engine's threads
    }
    FAIL() << "the engine did not settle: " << engine_->running() << " running";
  }

  void advance(std::chrono::system_clock::duration d) {
    now_ += d;
    engine_->wake();
    settle();
  }

  /// Spools a message (as the intake does) and hands it to the engine.
  std::string queue_message(std::vector<std::string> to, std::string from = "alice@sender.test",
                            bool requiretls = false) {
    Envelope e;
    e.id = new_hex_id();
    e.mail_from = std::move(from);
    e.requiretls = requiretls;
    for (auto& address : to) {
      e.recipients.emplace_back();
      e.recipients.back().address = std::move(address);
    }
    e.body_type = "7BIT";
    e.received = now_;
    std::string message = "Subject: hello\r\nMessage-ID: <" + e.id + "@sender.test>\r\n\r\nHi.\r\n";
    e.size = message.size();
    EXPECT_TRUE(spool_.store(e, message));
    engine_->message_queued(e);
    return e.id;
  }

  /// Starts the engine; queues a message whose recipient is refused (550) while no DSN can be
  /// stored; frees the disk. Returns its id: the message is kept, its bounce pending.
  std::string refused_while_the_disk_is_full() {
    transport_.answer = only("mx.remote.test", reply(550, "5.1.1", "No such user"));
    start();
    auto id = queue_message({"nobody@remote.test"});
    disk_full_ = true;
    settle();
    disk_full_ = false;
    return id;
  }

  /// The notifications sent to alice (delivered through the transport).
  std::vector<FakeTransport::Call> notifications() const {
    std::vector<FakeTransport::Call> out;
    for (const auto& c : transport_.calls)
      if (c.mail_from.empty()) out.push_back(c);
    return out;
  }

  TempDir dir_{"sluice-engine"};
  config::Config cfg_;
  /// While set, every file the spool creates is /dev/full: writes fail with ENOSPC, as on a full disk.
  std::atomic<bool> disk_full_{false};
  queue::Spool spool_{dir_.path() / "queue", [this](const std::filesystem::path& path) {
                        return disk_full_ ? ::open("/dev/full", O_WRONLY | O_CLOEXEC)
                                          : ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
                      }};
  queue::MaildirStore maildirs_{dir_.path() / "maildir"};
  asio::io_context io_;
  FakeDns dns_;
  FakeTransport transport_;
  std::chrono::system_clock::time_point now_ = std::chrono::sys_days{std::chrono::year{2030} / 1 / 1};
  std::unique_ptr<DeliveryEngine> engine_;
};

TEST_F(DeliveryEngineTest, DeliversToTheMxAndRemovesTheMessage) {
  start();
  auto id = queue_message({"bob@remote.test"});
  settle();
  ASSERT_EQ(transport_.calls.size(), 1u);
  EXPECT_EQ(transport_.calls[0].host, "mx.remote.test");
  EXPECT_EQ(transport_.calls[0].recipients, std::vector<std::string>{"bob@remote.test"});
  EXPECT_NE(transport_.calls[0].message.find("Hi."), std::string::npos);
  EXPECT_EQ(engine_->find(id), nullptr);
  EXPECT_FALSE(spool_.load_envelope(id));
  EXPECT_TRUE(notifications().empty());
}

TEST_F(DeliveryEngineTest, DefersATransientReplyAndRetriesAtItsTime) {
  transport_.answer = everyone(reply(451, "4.2.0", "Mailbox busy"));
  start();
  auto id = queue_message({"bob@remote.test"});
  settle();
  ASSERT_EQ(transport_.calls.size(), 1u);
  const auto* envelope = engine_->find(id);
  ASSERT_NE(envelope, nullptr);
  const auto& r = envelope->recipients[0];
  EXPECT_EQ(r.state, State::Deferred);
  EXPECT_EQ(r.attempts, 1);
  // Kept structured: Exchange's wrapper around the remote's own reply.
  EXPECT_EQ(r.last_reply.code, 451);
  EXPECT_EQ(r.last_reply.enhanced, "4.4.0");
  EXPECT_NE(r.last_reply.one_line().find("responded with: \"451 4.2.0 Mailbox busy.\""), std::string::npos)
      << r.last_reply.one_line();
  // The first retry comes after retry_min, give or take the 20 % jitter.
  EXPECT_GE(r.next_attempt, now_ + 48s);
  EXPECT_LE(r.next_attempt, now_ + 72s);
  auto stored = spool_.load_envelope(id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->recipients[0].state, State::Deferred);
  EXPECT_EQ(stored->recipients[0].last_reply, r.last_reply);

  auto retry_at = r.next_attempt;
  advance(30s);
  EXPECT_EQ(transport_.calls.size(), 1u) << "retried before its time";
  transport_.answer = everyone(reply(250, "2.1.5", "OK"));
  advance(retry_at - now_);
  EXPECT_EQ(transport_.calls.size(), 2u);
  EXPECT_EQ(engine_->find(id), nullptr);
  EXPECT_FALSE(spool_.load_envelope(id));
}

TEST_F(DeliveryEngineTest, TheScrapeShowsTheQueueByNextHopWithTheOldestAge) {
  transport_.answer = [](const Target&, const Transaction& tx) {
    return answered(tx, reply(451, "4.2.0", "Mailbox busy"));
  };
  start();
  const double deferred_before = metrics::test_util::series_value(
      "sluice_deliveries_total{outcome=\"deferred\",error_class=\"RecipientRejected\"}");
  queue_message({"bob@remote.test"});
  now_ += 100s;
  queue_message({"carol@remote.test", "dave@other.test"});
  settle();
  const std::string text = metrics_text(*engine_, now_ + 20s);
  EXPECT_NE(text.find("# TYPE sluice_queue_messages gauge\nsluice_queue_messages 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_queue_next_hop_messages{next_hop=\"other.test\"} 1\n"
                      "sluice_queue_next_hop_messages{next_hop=\"remote.test\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_queue_next_hop_oldest_message_age_seconds{next_hop=\"other.test\"} 20\n"
                      "sluice_queue_next_hop_oldest_message_age_seconds{next_hop=\"remote.test\"} 120\n"),
            std::string::npos)
      << text;
  // The registry's families come first, each once.
  EXPECT_EQ(text.find("# TYPE sluice_deliveries_total counter"), text.rfind("# TYPE sluice_deliveries_total counter"));
  EXPECT_EQ(metrics::test_util::series_value(
                "sluice_deliveries_total{outcome=\"deferred\",error_class=\"RecipientRejected\"}") -
                deferred_before,
            3);
}

TEST_F(DeliveryEngineTest, BouncesAPermanentFailureToTheSender) {
  transport_.answer = only("mx.remote.test", reply(550, "5.1.1", "No such user"));
  start();
  auto id = queue_message({"nobody@remote.test"});
  settle();
  EXPECT_EQ(engine_->find(id), nullptr);
  EXPECT_FALSE(spool_.load_envelope(id));
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].host, "mx.sender.test");
  EXPECT_EQ(sent[0].recipients, std::vector<std::string>{"alice@sender.test"});
  EXPECT_NE(sent[0].message.find("Status: 5.1.1"), std::string::npos) << sent[0].message;
  EXPECT_NE(sent[0].message.find("550 5.1.1 No such user"), std::string::npos);
}

TEST_F(DeliveryEngineTest, NoBounceForANotification) {
  transport_.answer = everyone(reply(550, "5.1.1", "No"));
  start();
  auto id = queue_message({"nobody@remote.test"}, "");
  settle();
  EXPECT_EQ(engine_->find(id), nullptr);
  EXPECT_EQ(transport_.calls.size(), 1u);
}

TEST_F(DeliveryEngineTest, ANameThatDoesNotExistBouncesWithoutAnAttempt) {
  dns_.nx.insert("gone.test");
  start();
  auto id = queue_message({"bob@gone.test"});
  settle();
  EXPECT_EQ(engine_->find(id), nullptr);
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(transport_.calls.size(), 1u) << "only the bounce goes out";
  EXPECT_NE(sent[0].message.find("Status: 5.4.310"), std::string::npos);
  EXPECT_NE(sent[0].message.find("DNS domain gone.test does not exist"), std::string::npos);
}

TEST_F(DeliveryEngineTest, AHopThatIsDownHoldsItsMailUntilAProbeSucceeds) {
  transport_.answer = [](const Target&, const Transaction& tx) { return connect_failed(tx); };
  start();
  auto first = queue_message({"a@down.test"});
  settle();
  ASSERT_EQ(transport_.calls.size(), 1u);
  auto second = queue_message({"b@down.test"});
  settle();
  EXPECT_EQ(transport_.calls.size(), 1u) << "tried while its hop backs off";
  // The queue viewer shows the hop waiting, with the connection error.
  auto list = engine_->control({{"command", "list"}});
  ASSERT_TRUE(list["ok"].get<bool>());
  ASSERT_EQ(list["hops"].size(), 1u);
  EXPECT_EQ(list["hops"][0]["next_hop"], "down.test");
  EXPECT_EQ(list["hops"][0]["status"], "Retry");
  EXPECT_NE(list["hops"][0]["last_error"].get<std::string>().find("Unable to connect"), std::string::npos);

  // The hop's first backoff is hop_backoff-capped retry_min (60 s +- 20 %): then one probe.
  transport_.answer = everyone(reply(250, "2.1.5", "OK"));
  advance(73s);
  EXPECT_EQ(transport_.calls.size(), 3u) << "the probe, then the rest at once";
  EXPECT_EQ(engine_->find(first), nullptr);
  EXPECT_EQ(engine_->find(second), nullptr);
}

TEST_F(DeliveryEngineTest, LifetimeOverBouncesWithTheLastError) {
  cfg_.queue.lifetime = 10min;
  transport_.answer = [](const Target& target, const Transaction& tx) {
    if (target.host == "mx.down.test") return connect_failed(tx);
    return answered(tx, reply(250, "2.1.5", "OK"));
  };
  start();
  auto id = queue_message({"a@down.test"});
  settle();
  ASSERT_NE(engine_->find(id), nullptr);
  EXPECT_TRUE(notifications().empty());
  advance(11min);
  EXPECT_EQ(engine_->find(id), nullptr);
  EXPECT_FALSE(spool_.load_envelope(id));
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  // RFC 3463 X.4.7: delivery time expired; the connection error is the diagnostic.
  EXPECT_NE(sent[0].message.find("Status: 4.4.7"), std::string::npos) << sent[0].message;
  EXPECT_NE(sent[0].message.find("Unable to connect to 127.0.0.1:25"), std::string::npos);
}

TEST_F(DeliveryEngineTest, ADelayWarningGoesOutOnceWhileMailWaits) {
  cfg_.queue.delay_warning = 5min;
  transport_.answer = only("mx.remote.test", reply(451, "4.2.0", "Mailbox busy"));
  start();
  auto id = queue_message({"bob@remote.test"});
  settle();
  EXPECT_TRUE(notifications().empty());
  advance(6min);
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].message.find("Action: delayed"), std::string::npos) << sent[0].message;
  ASSERT_NE(engine_->find(id), nullptr);
  EXPECT_TRUE(engine_->find(id)->delay_warning_sent);
  advance(10min);
  EXPECT_EQ(notifications().size(), 1u) << "a second delay warning";
}

// Issue 23: a bounce the spool cannot take keeps the original, with the notice pending; a later pass
// queues it, without another delivery attempt, and only then does the original leave.
TEST_F(DeliveryEngineTest, ABounceThatCannotBeQueuedKeepsTheOriginalUntilItIs) {
  // The first recipient is refused, the second deferred: no data goes.
  transport_.answer = [](const Target&, const Transaction& tx) {
    AttemptResult r = answered(tx, reply(451, "4.2.0", "Mailbox busy"));
    r.recipients[0] = reply(550, "5.1.1", "No such user");
    return r;
  };
  start();
  auto id = queue_message({"nobody@remote.test", "bob@remote.test"});
  disk_full_ = true;
  settle();
  ASSERT_EQ(transport_.calls.size(), 1u);
  const auto* kept = engine_->find(id);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->recipients[0].state, State::Failed);
  ASSERT_EQ(kept->pending_notices.size(), 1u);
  EXPECT_EQ(kept->pending_notices[0].rows.size(), 1u);
  EXPECT_EQ(kept->pending_notices[0].rows[0].diagnostic, "550 5.1.1 No such user");
  EXPECT_TRUE(spool_.load_message(id));
  EXPECT_TRUE(notifications().empty());

  // The other recipient is delivered meanwhile; the disk is still full at the notice's retry.
  transport_.answer = everyone(reply(250, "2.1.5", "OK"));
  advance(61s + 12s);  // retry_min plus its jitter
  ASSERT_EQ(transport_.calls.size(), 2u);
  EXPECT_EQ(transport_.calls[1].recipients, std::vector<std::string>{"bob@remote.test"});
  ASSERT_NE(engine_->find(id), nullptr) << "left before its bounce was queued";
  EXPECT_EQ(engine_->find(id)->pending_notices.size(), 1u);
  EXPECT_TRUE(spool_.load_message(id));

  disk_full_ = false;
  advance(61s);
  EXPECT_EQ(engine_->find(id), nullptr);
  EXPECT_FALSE(spool_.load_envelope(id));
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].message.find("550 5.1.1 No such user"), std::string::npos) << sent[0].message;
  EXPECT_EQ(sent[0].message.find("bob@remote.test"), std::string::npos) << "bob was delivered";
  advance(1h);
  EXPECT_EQ(notifications().size(), 1u);
  EXPECT_EQ(transport_.calls.size(), 3u) << "nothing delivered again";
}

TEST_F(DeliveryEngineTest, ADelayWarningThatCannotBeQueuedIsRetriedAndSentOnce) {
  cfg_.queue.delay_warning = 5min;
  transport_.answer = only("mx.remote.test", reply(451, "4.2.0", "Mailbox busy"));
  start();
  auto id = queue_message({"bob@remote.test"});
  settle();
  disk_full_ = true;
  advance(6min);
  EXPECT_TRUE(notifications().empty());
  ASSERT_NE(engine_->find(id), nullptr);
  ASSERT_EQ(engine_->find(id)->pending_notices.size(), 1u);
  EXPECT_TRUE(engine_->find(id)->pending_notices[0].delay_warning);
  disk_full_ = false;
  advance(2min);
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].message.find("Action: delayed"), std::string::npos) << sent[0].message;
  ASSERT_NE(engine_->find(id), nullptr);
  EXPECT_TRUE(engine_->find(id)->pending_notices.empty());
  auto stored = spool_.load_envelope(id);
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->delay_warning_sent);
  EXPECT_TRUE(stored->pending_notices.empty());
  advance(30min);
  EXPECT_EQ(notifications().size(), 1u) << "a second delay warning";
}

TEST_F(DeliveryEngineTest, RemovalWithoutBounceDropsAPendingNotice) {
  auto id = refused_while_the_disk_is_full();
  ASSERT_NE(engine_->find(id), nullptr);
  EXPECT_TRUE(engine_->control({{"command", "remove"}, {"id", id}})["ok"].get<bool>());
  settle();
  EXPECT_EQ(engine_->find(id), nullptr);
  EXPECT_FALSE(spool_.load_envelope(id));
  advance(1h);
  EXPECT_TRUE(notifications().empty());
}

TEST_F(DeliveryEngineTest, RetryFromTheQueueViewerQueuesAPendingBounceAtOnce) {
  auto id = refused_while_the_disk_is_full();
  ASSERT_NE(engine_->find(id), nullptr);
  EXPECT_EQ(engine_->control({{"command", "retry"}, {"id", id}})["retried"], 1);
  settle();
  EXPECT_EQ(notifications().size(), 1u) << "the clock did not move: the retry queued it";
  EXPECT_EQ(engine_->find(id), nullptr);
  EXPECT_EQ(transport_.calls.size(), 2u);
}

TEST_F(DeliveryEngineTest, RetryFromTheQueueViewerTriesAtOnce) {
  transport_.answer = only("mx.remote.test", reply(451, "4.2.0", "Mailbox busy"));
  start();
  auto id = queue_message({"bob@remote.test"});
  settle();
  ASSERT_EQ(transport_.calls.size(), 1u);
  transport_.answer = only("none", {});
  auto answer = engine_->control({{"command", "retry"}, {"id", id}});
  EXPECT_EQ(answer["retried"], 1);
  settle();
  EXPECT_EQ(transport_.calls.size(), 2u) << "the clock did not move: the retry made it due";
  EXPECT_EQ(engine_->find(id), nullptr);
}

TEST_F(DeliveryEngineTest, RemovalFailsTheMessageAndBouncesOnRequest) {
  transport_.answer = only("mx.remote.test", reply(451, "4.2.0", "Mailbox busy"));
  start();
  auto kept = queue_message({"a@remote.test"});
  auto bounced = queue_message({"b@remote.test"});
  settle();
  ASSERT_NE(engine_->find(kept), nullptr);

  auto answer = engine_->control({{"command", "remove"}, {"id", kept}});
  EXPECT_TRUE(answer["ok"].get<bool>());
  answer = engine_->control({{"command", "remove"}, {"id", bounced}, {"bounce", true}});
  EXPECT_TRUE(answer["ok"].get<bool>());
  settle();
  EXPECT_EQ(engine_->find(kept), nullptr);
  EXPECT_EQ(engine_->find(bounced), nullptr);
  EXPECT_FALSE(spool_.load_envelope(kept));
  EXPECT_FALSE(spool_.load_envelope(bounced));
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].message.find("b@remote.test"), std::string::npos);
  EXPECT_NE(sent[0].message.find("removed from the queue by an administrator"), std::string::npos);
  EXPECT_FALSE(engine_->control({{"command", "remove"}, {"id", kept}})["ok"].get<bool>());
}

TEST_F(DeliveryEngineTest, EachHopRunsAtItsOwnConnectorsLimit) {
  config::SendConnector a, b, relay;
  a.name = "A";
  a.address_spaces = {"a.test"};
  a.max_connections_per_host = 2;
  b.name = "B";
  b.address_spaces = {"b.test"};
  b.max_connections_per_host = 3;
  relay.name = "Relay";
  relay.address_spaces = {"c.test"};
  relay.smart_hosts = {{"relay.test", 2525, false}};
  relay.max_connections_per_host = 1;
  cfg_.send_connectors.insert(cfg_.send_connectors.begin(), {a, b, relay});
  transport_.hold = true;
  start();
  for (int i = 0; i < 5; ++i) {
    queue_message({"x@a.test"});
    queue_message({"x@b.test"});
    queue_message({"x@c.test"});
  }
  settle(2 + 3 + 1);
  EXPECT_EQ(transport_.in_flight["mx.a.test"], 2u);
  EXPECT_EQ(transport_.in_flight["mx.b.test"], 3u);
  EXPECT_EQ(transport_.in_flight["relay.test"], 1u);
  transport_.release();
  settle();
  EXPECT_EQ(transport_.calls.size(), 15u);
  EXPECT_EQ(transport_.most_in_flight["mx.a.test"], 2u);
  EXPECT_EQ(transport_.most_in_flight["mx.b.test"], 3u);
  EXPECT_EQ(transport_.most_in_flight["relay.test"], 1u);
}

TEST_F(DeliveryEngineTest, DeliversLocalMailToTheMaildir) {
  start();
  auto id = queue_message({"Bob@local.test"});
  settle();
  EXPECT_TRUE(transport_.calls.empty());
  EXPECT_EQ(engine_->find(id), nullptr);
  auto new_dir = dir_.path() / "maildir" / "bob" / "new";
  ASSERT_TRUE(std::filesystem::is_directory(new_dir));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(new_dir), std::filesystem::directory_iterator()), 1);
}

TEST_F(DeliveryEngineTest, ReadsTheSpoolAtStart) {
  Envelope e;
  e.id = new_hex_id();
  e.mail_from = "alice@sender.test";
  e.recipients.emplace_back();
  e.recipients.back().address = "bob@remote.test";
  e.body_type = "7BIT";
  e.received = now_;
  ASSERT_TRUE(spool_.store(e, "Subject: old\r\n\r\nx\r\n"));
  start();
  ASSERT_EQ(transport_.calls.size(), 1u);
  EXPECT_EQ(transport_.calls[0].recipients, std::vector<std::string>{"bob@remote.test"});
  EXPECT_FALSE(spool_.load_envelope(e.id));
}

/// cfg_ with one send connector for everything, through `smart_host`, as a reload would bring it.
std::shared_ptr<const config::Config> through_smart_host(config::Config cfg, const std::string& smart_host) {
  config::SendConnector relay;
  relay.name = "Relay " + smart_host;
  relay.smart_hosts = {{smart_host, 25, true}};
  cfg.send_connectors = {relay};
  return std::make_shared<const config::Config>(std::move(cfg));
}

TEST_F(DeliveryEngineTest, AReloadMovesWaitingMailToTheNewSendConnector) {
  transport_.answer = everyone(reply(451, "4.2.0", "Mailbox busy"));
  start();
  auto id = queue_message({"bob@remote.test"});
  settle();
  ASSERT_EQ(transport_.calls.size(), 1u);
  EXPECT_EQ(transport_.calls[0].host, "mx.remote.test");

  EXPECT_EQ(engine_->reconfigure(through_smart_host(cfg_, "relay.test"), {}, {}), 1u);
  ASSERT_NE(engine_->find(id), nullptr);
  EXPECT_EQ(engine_->find(id)->recipients[0].next_hop, "[relay.test]:25");
  transport_.answer = everyone(reply(250, "2.1.5", "OK"));
  advance(2h);
  ASSERT_EQ(transport_.calls.size(), 2u);
  EXPECT_EQ(transport_.calls[1].host, "relay.test");
  EXPECT_EQ(engine_->find(id), nullptr);
}

TEST_F(DeliveryEngineTest, AnAttemptInProgressFinishesWithTheConfigurationItBeganWith) {
  transport_.hold = true;
  // Owned by the engine alone: after the reload, only the attempt in progress keeps it (a
  // sanitizer run sees any use after it is gone).
  start(through_smart_host(cfg_, "old.test"));
  auto first = queue_message({"bob@remote.test"});
  settle(1);
  EXPECT_EQ(engine_->reconfigure(through_smart_host(cfg_, "new.test"), {}, {}), 0u);  // bob's hop is running
  transport_.release();
  settle();
  auto second = queue_message({"carol@remote.test"});
  settle();
  ASSERT_EQ(transport_.calls.size(), 2u);
  EXPECT_EQ(transport_.calls[0].host, "old.test");
  EXPECT_EQ(transport_.calls[1].host, "new.test");
  EXPECT_EQ(engine_->find(first), nullptr);
  EXPECT_EQ(engine_->find(second), nullptr);
}

// ---- REQUIRETLS (RFC 8689; outbound/requiretls.h) ----

TEST_F(DeliveryEngineTest, ARequireTlsMessageWithoutAnAuthenticatedTargetBouncesWithoutAnAttempt) {
  start();  // the connector is opportunistic: no target is authenticated
  auto id = queue_message({"bob@remote.test"}, "alice@sender.test", /*requiretls=*/true);
  settle();
  EXPECT_EQ(engine_->find(id), nullptr);
  ASSERT_EQ(transport_.calls.size(), 1u);  // only the bounce went anywhere
  const auto& bounce = transport_.calls[0];
  EXPECT_EQ(bounce.mail_from, "");
  EXPECT_TRUE(bounce.requiretls);  // RFC 8689 5: the notice carries it too
  EXPECT_NE(bounce.message.find("Status: 5.7.10"), std::string::npos) << bounce.message;
  EXPECT_NE(bounce.message.find("550 5.7.10 REQUIRETLS: no authenticated TLS to remote.test"), std::string::npos);
}

TEST_F(DeliveryEngineTest, ARequireTlsMessageNoServerCouldTakeFailsAtOnceWith5730) {
  cfg_.send_connectors[0].tls = config::OutboundTls::Verify;
  const auto refused = reply(550, "5.7.30", "REQUIRETLS support required: mx.remote.test does not offer REQUIRETLS");
  transport_.answer = [refused](const Target& target, const Transaction& tx) {
    if (target.host != "mx.remote.test" || !tx.requiretls) return answered(tx, reply(250, "2.1.5", "OK"));
    AttemptResult r;  // what the client reports: no transaction, TlsUnavailable so that the next MX is tried
    r.failure = Failure::TlsUnavailable;
    r.endpoint = "127.0.0.1:25";
    r.reply = refused;
    r.recipients.assign(tx.recipients.size(), refused);
    return r;
  };
  start();
  auto id = queue_message({"bob@remote.test", "carol@remote.test"}, "alice@sender.test", /*requiretls=*/true);
  settle();
  EXPECT_EQ(engine_->find(id), nullptr);  // failed, not deferred: no retry
  ASSERT_EQ(transport_.calls.size(), 2u);
  EXPECT_TRUE(transport_.calls[0].requiretls);
  auto sent = notifications();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].message.find("Status: 5.7.30"), std::string::npos) << sent[0].message;
  EXPECT_NE(sent[0].message.find("carol@remote.test"), std::string::npos);
  // The hop is well (the refusal was the message's, not the server's): other mail goes at once.
  auto plain = queue_message({"dave@remote.test"});
  settle();
  EXPECT_EQ(engine_->find(plain), nullptr);
  EXPECT_EQ(transport_.calls.back().recipients, std::vector<std::string>{"dave@remote.test"});
}

}  // namespace
}  // namespace sluice::outbound
