#include "probe/runner.h"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <thread>

#include "net/dns.h"
#include "probe/verdict.h"

namespace sluice::probe {
namespace {

struct Resolved {
  std::optional<asio::ip::address> address;
  std::string error;
};

Resolved resolve(const net::Resolver& resolver, const std::string& host) {
  Resolved r;
  std::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    r.address = literal;
    return r;
  }
  auto answer = resolver.addresses(host);
  if (answer.status != net::DnsAnswer::Status::Ok || answer.addresses.empty()) {
    r.error = answer.error.empty() ? fmt::format("{} has no address", host) : answer.error;
    return r;
  }
  // IPv4 first: many networks route no IPv6, and a probe must not fail on that.
  for (const auto& a : answer.addresses)
    if (a.is_v4()) {
      r.address = a;
      return r;
    }
  r.address = answer.addresses.front();
  return r;
}

struct Shared {
  std::vector<Assessment>* results = nullptr;
  const std::vector<Target>* targets = nullptr;
  std::vector<Resolved>* resolved = nullptr;
  AttemptContext* context = nullptr;
  const RunSettings* settings = nullptr;
  HostGate* in_flight = nullptr;
  std::map<asio::ip::tcp::endpoint, std::unique_ptr<HostGate>>* gates = nullptr;
  X509_STORE* trust = nullptr;
  const OnAssessed* on_assessed = nullptr;
};

asio::awaitable<void> probe_one(std::size_t index, Shared& shared, asio::any_io_executor executor) {
  co_await shared.in_flight->acquire();
  Slot slot(*shared.in_flight);
  const Target& target = (*shared.targets)[index];
  Assessment& out = (*shared.results)[index];
  const Resolved& where = (*shared.resolved)[index];
  asio::ip::tcp::endpoint endpoint(*where.address, target.port);
  auto& gate = (*shared.gates)[endpoint];
  if (!gate) gate = std::make_unique<HostGate>(executor, shared.settings->per_host, shared.settings->host_delay);
  out = co_await assess(executor, target, endpoint, *shared.context, shared.settings->plan, *gate, shared.trust);
  judge(out);
  if (*shared.on_assessed) (*shared.on_assessed)(index, out);
}

}  // namespace

Result<std::vector<Target>> expand_mx(const std::string& domain, std::uint16_t port, bool implicit_tls,
                                      const RunSettings& settings) {
  net::Resolver resolver(settings.dns_servers, settings.dns_timeout);
  auto answer = resolver.mx(domain);
  if (answer.status == net::DnsAnswer::Status::NullMx)
    return fail(fmt::format("{} publishes a null MX (RFC 7505): it accepts no mail", domain));
  if (answer.status != net::DnsAnswer::Status::Ok || answer.hosts.empty())
    return fail(fmt::format("MX lookup for {} failed: {}", domain, answer.error.empty() ? "no answer" : answer.error));
  std::vector<Target> out;
  for (const auto& host : answer.hosts) {
    Target t;
    t.host = host.name;
    t.port = port;
    t.mode = (implicit_tls || port == 465) ? TlsMode::Implicit : TlsMode::StartTls;
    t.mx_domain = domain;
    t.mx_preference = host.implicit ? -1 : host.preference;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Assessment> run_probes(const std::vector<Target>& targets, const RunSettings& settings,
                                   const OnAssessed& on_assessed) {
  auto trust = make_trust_store(settings.plan.ca_file);
  std::vector<Resolved> resolved(targets.size());
  {
    net::Resolver resolver(settings.dns_servers, settings.dns_timeout);
    // c-ares calls block; a few workers look names up side by side so that a slow one does not
    // hold up the rest.
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i; (i = next++) < targets.size();) resolved[i] = resolve(resolver, targets[i].host);
    };
    std::vector<std::thread> workers;
    bool all_literal = std::all_of(targets.begin(), targets.end(), [](const Target& t) {
      std::error_code ec;
      asio::ip::make_address(t.host, ec);
      return !ec;
    });
    if (all_literal)
      work();  // nothing to wait for: no threads
    else
      for (std::size_t n = 0; n < std::min<std::size_t>(16, targets.size()); ++n) workers.emplace_back(work);
    for (auto& w : workers) w.join();
  }
  std::vector<Assessment> results(targets.size());
  asio::io_context io(1);
  auto context_holder = make_probe_context();
  AttemptContext context;
  context.ssl = context_holder.get();
  context.timeouts = settings.timeouts;
  context.helo = settings.helo;
  HostGate in_flight(io.get_executor(), settings.parallel, std::chrono::milliseconds(0));
  std::map<asio::ip::tcp::endpoint, std::unique_ptr<HostGate>> gates;
  Shared shared{&results, &targets, &resolved, &context, &settings, &in_flight, &gates, trust.get(), &on_assessed};
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (!resolved[i].address) {
      results[i].target = targets[i];
      results[i].error = "DNS: " + resolved[i].error;
      for (std::size_t v = 0; v < results[i].versions.size(); ++v) {
        results[i].versions[v].version = probed_versions()[v];
        results[i].versions[v].detail = "not tested: the name did not resolve";
      }
      judge(results[i]);
      if (on_assessed) on_assessed(i, results[i]);
      continue;
    }
    asio::co_spawn(io, probe_one(i, shared, io.get_executor()), asio::detached);
  }
  io.run();
  return results;
}

}  // namespace sluice::probe
