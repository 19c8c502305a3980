#include "probe/assessment.h"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

#include "base/lookup.h"
#include "smtp/capabilities.h"

namespace sluice::probe {
namespace {

using asio::awaitable;

/// Waits for a fixed number of spawned coroutines (all on one thread).
struct Join {
  explicit Join(const asio::any_io_executor& ex) : done(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer done;
  int pending = 0;
};

std::string describe(const AttemptResult& r) { return fmt::format("{}: {}", outcome_name(r.outcome), r.detail); }

class Planner {
 public:
  Planner(const asio::any_io_executor& executor, const Target& target, asio::ip::tcp::endpoint address,
          const AttemptContext& context, const PlanSettings& plan, HostGate& gate, Assessment& out)
      : executor_(executor),
        target_(target),
        address_(std::move(address)),
        context_(context),
        plan_(plan),
        gate_(gate),
        out_(out) {}

  awaitable<void> run() {
    for (std::size_t i = 0; i < probed_versions().size(); ++i) out_.versions[i].version = probed_versions()[i];
    // One connection first: a server that is busy (421), tarpitting or without STARTTLS gets
    // one connection and its retries, not a burst.
    co_await discover();
    const auto& d = out_.discovery;
    if (d.outcome == Outcome::NoStartTls || inconclusive(d.outcome)) {
      if (d.outcome != Outcome::NoStartTls) out_.error = describe(d);
      for (auto& f : out_.versions)
        f.detail = d.outcome == Outcome::NoStartTls ? "STARTTLS not offered" : "server not assessable";
      out_.injection_detail = "not tested";
      co_return;
    }
    // Then everything at once within the host's connection limit. The critical path is the TLS
    // 1.2 enumeration (one connection per accepted suite, one after the other): it goes first.
    auto join = std::make_shared<Join>(executor_);
    auto finished = [join](const std::exception_ptr&) {
      if (--join->pending == 0) join->done.cancel();
    };
    for (std::size_t i : {2, 3, 0, 1}) {
      ++join->pending;
      asio::co_spawn(executor_, enumerate(i), finished);
    }
    if (target_.mode == TlsMode::StartTls) {
      ++join->pending;
      asio::co_spawn(executor_, injection(), finished);
    }
    std::error_code ignored;
    if (join->pending > 0) co_await join->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }

  std::vector<std::vector<CertificatePtr>> chains;

 private:
  awaitable<AttemptResult> attempt(const AttemptSpec& spec) {
    for (int tries = 0;; ++tries) {
      AttemptResult r;
      {
        co_await gate_.acquire();
        Slot slot(gate_);
        r = co_await run_attempt(executor_, target_, address_, context_, spec);
      }
      ++out_.connections;
      if (!inconclusive(r.outcome) || tries >= plan_.retries) co_return r;
      // A busy or rate-limiting server gets a growing pause before the same question again.
      asio::steady_timer pause(executor_, plan_.retry_delay * (tries + 1));
      std::error_code ignored;
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }

  awaitable<void> discover() {
    AttemptSpec spec;
    spec.discovery = true;
    out_.discovery = co_await attempt(spec);
    note_chain(out_.discovery.tls.chain);
  }

  void note_chain(const std::vector<CertificatePtr>& chain) {
    if (chain.empty()) return;
    for (const auto& known : chains)
      if (X509_cmp(known.front().get(), chain.front().get()) == 0) return;
    chains.push_back(chain);
    known_leaves_.push_back(certificate_der(chain.front().get()));
  }

  /// A hello_only step's certificates: almost always the leaf already seen, so they are compared
  /// as bytes and parsed only when new (parsing costs more than the rest of the step).
  void note_chain(const AttemptResult& r) {
    note_chain(r.tls.chain);
    const auto& der = r.tls.chain_der;
    if (der.empty() || std::find(known_leaves_.begin(), known_leaves_.end(), der.front()) != known_leaves_.end())
      return;
    std::vector<CertificatePtr> parsed;
    for (const auto& bytes : der) {
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
      X509* cert = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
      if (!cert) break;
      parsed.emplace_back(cert, X509_free);
    }
    if (parsed.empty()) known_leaves_.push_back(der.front());  // unparsable: do not try again
    note_chain(parsed);
  }

  static void offer(AttemptSpec& spec, tls::Version v, const std::vector<const CipherSuite*>& suites) {
    if (v == tls::Version::Tls1_3)
      spec.ciphersuites = suite_list(suites);
    else
      spec.cipher_list = suite_list(suites);
  }

  awaitable<void> enumerate(std::size_t index) {
    VersionFinding& f = out_.versions[index];
    const tls::Version v = f.version;
    std::vector<const CipherSuite*> remaining;
    for (const auto& s : offerable_suites(v)) remaining.push_back(&s);
    AttemptSpec spec;
    spec.min = spec.max = v;
    offer(spec, v, remaining);
    int before = out_.connections;
    AttemptResult r;
    if (discovery_answers(v, remaining))
      r = out_.discovery;
    else
      r = co_await attempt(spec);
    if (r.outcome == Outcome::HandshakeFailed) {
      f.state = VersionState::NotOffered;
      f.detail = r.detail;
      f.enumeration_complete = true;
    } else if (r.outcome != Outcome::Negotiated) {
      f.state = VersionState::Unknown;
      f.detail = describe(r);
    } else {
      f.state = VersionState::Offered;
      note_chain(r);
      co_await collect_suites(f, spec, remaining, r);
    }
    f.connections = out_.connections - before;  // approximate when versions run at once
  }

  /// Whether the discovery handshake already asked this version's first question: it offered
  /// every version up to TLS 1.3 and every TLS 1.3 suite in the same order, and a server that
  /// speaks TLS 1.3 chooses it and then its suite from that list alone. Saves one connection.
  bool discovery_answers(tls::Version v, const std::vector<const CipherSuite*>& offer) const {
    const AttemptResult& d = out_.discovery;
    return v == tls::Version::Tls1_3 && d.outcome == Outcome::Negotiated && d.tls.version == v &&
           suite_list(offer) == kTls13Suites;
  }

  /// Removes the suite named `name` from `suites` and returns it (nullptr if it was not there).
  static const CipherSuite* take(std::vector<const CipherSuite*>& suites, std::string_view name) {
    auto it = std::find_if(suites.begin(), suites.end(), [&](const CipherSuite* s) { return s->name == name; });
    if (it == suites.end()) return nullptr;
    const CipherSuite* found = *it;
    suites.erase(it);
    return found;
  }

  awaitable<void> collect_suites(VersionFinding& f, AttemptSpec& spec, std::vector<const CipherSuite*>& remaining,
                                 AttemptResult& r) {
    std::vector<const CipherSuite*> everything = remaining;
    const CipherSuite* first = take(remaining, r.tls.cipher);
    if (!first) {
      f.detail = fmt::format("the server chose {}, which was not offered; enumeration stopped", r.tls.cipher);
      co_return;
    }
    f.suites.push_back({first, r.tls.key_exchange});
    if (!plan_.enumerate_suites) co_return;
    if (remaining.empty()) {
      f.enumeration_complete = true;
      f.order = SuiteOrder::Single;
      co_return;
    }
    // The same offer backwards tells whose order counts. A server with an order of its own
    // picks the same suite again; one that follows the client picks another.
    std::reverse(everything.begin(), everything.end());
    offer(spec, f.version, everything);
    spec.hello_only = true;
    r = co_await attempt(spec);
    note_chain(r);
    const bool client_order = r.outcome == Outcome::Negotiated && r.tls.cipher != first->name;
    if (!client_order) {
      // Offer the rest, note the server's choice, again, until it refuses: the accepted suites
      // come out in the server's order of preference, one connection after the other.
      Result<void> complete = co_await chain(f.version, std::move(remaining), f.suites);
      f.detail = complete ? std::string() : complete.error().message;
      f.enumeration_complete = complete.ok();
      f.order = f.suites.size() == 1 ? SuiteOrder::Single : SuiteOrder::Server;
      co_return;
    }
    // Without a server order only the set matters, and it can be found in parts side by side.
    f.order = SuiteOrder::Client;
    if (const CipherSuite* second = take(remaining, r.tls.cipher)) f.suites.push_back({second, r.tls.key_exchange});
    const std::size_t parts = std::max<std::size_t>(1, std::min<std::size_t>(plan_.parallel_parts, remaining.size()));
    struct Part {
      std::vector<AcceptedSuite> found;
      Result<void> complete;
    };
    std::vector<Part> results(parts);
    std::vector<std::vector<const CipherSuite*>> groups(parts);
    for (std::size_t k = 0; k < remaining.size(); ++k) groups[k % parts].push_back(remaining[k]);
    auto join = std::make_shared<Join>(executor_);
    auto finished = [join](Part& part) {
      return [join, &part](const std::exception_ptr&, Result<void> complete) {
        part.complete = std::move(complete);
        if (--join->pending == 0) join->done.cancel();
      };
    };
    for (std::size_t k = 0; k < parts; ++k) {
      if (groups[k].empty()) continue;
      ++join->pending;
      asio::co_spawn(executor_, chain(f.version, std::move(groups[k]), results[k].found), finished(results[k]));
    }
    std::error_code ignored;
    if (join->pending > 0) co_await join->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    f.enumeration_complete = true;
    for (auto& part : results) {
      f.suites.insert(f.suites.end(), part.found.begin(), part.found.end());
      if (!part.complete) {
        f.enumeration_complete = false;
        f.detail = part.complete.error().message;
      }
    }
    // In the client's order, which is the catalog's.
    std::sort(f.suites.begin(), f.suites.end(),
              [](const AcceptedSuite& a, const AcceptedSuite& b) { return a.suite < b.suite; });
  }

  /// Offers `suites`, takes out the one the server chooses, offers the rest, until the server
  /// refuses, adding each chosen one to `found`. Fails saying why it stopped early (a dropped
  /// connection, a suite not offered); `found` then holds what was accepted until then.
  awaitable<Result<void>> chain(tls::Version version, std::vector<const CipherSuite*> suites,
                                std::vector<AcceptedSuite>& found) {
    AttemptSpec spec;
    spec.min = spec.max = version;
    spec.hello_only = true;
    while (!suites.empty()) {
      offer(spec, version, suites);
      AttemptResult r = co_await attempt(spec);
      if (r.outcome == Outcome::HandshakeFailed) co_return Result<void>();
      if (r.outcome != Outcome::Negotiated) co_return fail("suite enumeration incomplete: " + describe(r));
      note_chain(r);
      const CipherSuite* chosen = take(suites, r.tls.cipher);
      if (!chosen)
        co_return fail(fmt::format("the server chose {}, which was not offered; enumeration stopped", r.tls.cipher));
      found.push_back({chosen, r.tls.key_exchange});
    }
    co_return Result<void>();
  }

  awaitable<void> injection() {
    AttemptSpec spec;
    spec.injection_test = true;
    AttemptResult r = co_await attempt(spec);
    if (r.outcome != Outcome::Negotiated || !r.smtp.injection_answered) {
      out_.injection_detail = "not tested: " + describe(r);
      co_return;
    }
    out_.injection_vulnerable = *r.smtp.injection_answered;
    if (*r.smtp.injection_answered)
      out_.injection_detail =
          "a NOOP pipelined in plaintext after STARTTLS was answered inside TLS (STARTTLS command injection, "
          "CVE-2011-0411 class)";
    else if (r.smtp.bytes_after_starttls_reply > 0)
      out_.injection_detail = "the pipelined NOOP was answered in plaintext before the handshake, not inside TLS";
    else
      out_.injection_detail = "plaintext pipelined after STARTTLS was discarded";
  }

  const asio::any_io_executor& executor_;
  const Target& target_;
  asio::ip::tcp::endpoint address_;
  const AttemptContext& context_;
  const PlanSettings& plan_;
  HostGate& gate_;
  Assessment& out_;
  std::vector<std::string> known_leaves_;  ///< DER of chains.front() leaves, for hello_only steps
};

}  // namespace

constexpr Named<VersionState> kVersionStateNames[] = {{VersionState::Offered, "offered"},
                                                      {VersionState::NotOffered, "not-offered"},
                                                      {VersionState::Unknown, "unknown"},
                                                      {VersionState::NotTested, "not-tested"}};

std::string_view version_state_name(VersionState s) { return name_of(kVersionStateNames, s).value_or("unknown"); }

constexpr Named<SuiteOrder> kSuiteOrderNames[] = {{SuiteOrder::Server, "server"},
                                                  {SuiteOrder::Client, "client"},
                                                  {SuiteOrder::Single, "single"},
                                                  {SuiteOrder::Unknown, "unknown"}};

std::string_view suite_order_name(SuiteOrder o) { return name_of(kSuiteOrderNames, o).value_or("unknown"); }

const std::array<tls::Version, 4>& probed_versions() {
  static const std::array<tls::Version, 4> versions = {tls::Version::Tls1_0, tls::Version::Tls1_1, tls::Version::Tls1_2,
                                                       tls::Version::Tls1_3};
  return versions;
}

bool Assessment::starttls_offered() const {
  return target.mode == TlsMode::StartTls && discovery.smtp.ehlo &&
         smtp::parse_capabilities(*discovery.smtp.ehlo).starttls;
}

const VersionFinding& Assessment::finding(tls::Version v) const {
  for (const auto& f : versions)
    if (f.version == v) return f;
  return versions[2];
}

asio::awaitable<Assessment> assess(asio::any_io_executor executor, const Target& target,
                                   asio::ip::tcp::endpoint address, const AttemptContext& context,
                                   const PlanSettings& plan, HostGate& gate, X509_STORE* trust) {
  auto started = std::chrono::steady_clock::now();
  Assessment out;
  out.target = target;
  out.address = address.address().to_string();
  Planner planner(executor, target, address, context, plan, gate, out);
  co_await planner.run();
  auto now = std::chrono::system_clock::now();
  for (const auto& chain : planner.chains)
    out.chains.push_back(analyse_chain(chain, target.expected_name(), trust, now));
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  co_return out;
}

}  // namespace sluice::probe
