#include "net/dns.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>
#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>

#include "net/dns_wire.h"

namespace sluice::net {
namespace {

using Clock = std::chrono::steady_clock;
using Status = DnsAnswer::Status;

void init_library() {
  static std::once_flag once;
  static int status = ARES_SUCCESS;
  // Never cleaned up: other threads may still be resolving while the process exits.
  std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (status != ARES_SUCCESS) {
    throw std::runtime_error(std::string("cannot initialise c-ares: ") + ares_strerror(status));
  }
}

/// A DNS server as c-ares wants it, parsed from "ip", "ip:port", "[ip]", "[ip]:port" or a bare IPv6.
struct ServerSpec {
  asio::ip::address address;
  int port = 53;
};

ServerSpec parse_server(const std::string& text) {
  auto fail = [&](const std::string& why) -> ServerSpec {
    throw std::runtime_error("DNS server \"" + text + "\": " + why +
                             " (expected an IP address with an optional port, e.g. 127.0.0.1:5353 or [::1]:53)");
  };
  std::string host = text;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return fail("missing ']'");
    host = text.substr(1, close - 1);
    std::string rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("unexpected text after ']'");
      port = rest.substr(1);
      if (port.empty()) return fail("empty port");
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    // Exactly one colon is IPv4 with a port; more colons are a bare IPv6 address (port 53).
    auto colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return fail("empty port");
  }
  if (host.empty()) return fail("empty address");
  ServerSpec spec;
  std::error_code ec;
  spec.address = asio::ip::make_address(host, ec);
  if (ec) return fail("\"" + host + "\" is not an IP address");
  if (!port.empty()) {
    int value = 0;
    auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (err != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return fail("port \"" + port + "\" is not a number from 1 to 65535");
    }
    spec.port = value;
  }
  return spec;
}

std::string describe(const asio::ip::address& address, int port) {
  if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(port);
  return address.to_string() + ":" + std::to_string(port);
}

std::string strip_trailing_dots(std::string name) {
  while (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

/// Why `name` cannot be queried, or empty when it is a plausible DNS name (RFC 1035 2.3.4 lengths).
std::string invalid_name_reason(const std::string& name) {
  if (name.empty()) return "empty name";
  if (name.size() > 253) return "name longer than 253 characters";
  std::size_t label = 0;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '.') {
      if (label == 0) return "empty label";
      label = 0;
      continue;
    }
    if (u <= 0x20 || u == 0x7f || c == '\\') return "invalid character in name";
    if (++label > 63) return "label longer than 63 characters";
  }
  return {};
}

/// An IP literal as it may appear as a host or an RFC 5321 address literal: "192.0.2.1", "::1",
/// "[::1]", "[192.0.2.1]", "[IPv6:2001:db8::1]".
std::optional<asio::ip::address> ip_literal(const std::string& text) {
  std::string inner = text;
  if (inner.size() >= 2 && inner.front() == '[' && inner.back() == ']') {
    inner = inner.substr(1, inner.size() - 2);
    if (inner.size() > 5 && strncasecmp(inner.c_str(), "IPv6:", 5) == 0) inner = inner.substr(5);
  }
  std::error_code ec;
  auto address = asio::ip::make_address(inner, ec);
  if (ec) return std::nullopt;
  return address;
}

std::mt19937& rng() {
  thread_local std::mt19937 engine{std::random_device{}()};
  return engine;
}

ares_addr_port_node to_node(const ServerSpec& spec) {
  ares_addr_port_node node{};
  node.udp_port = node.tcp_port = spec.port;
  if (spec.address.is_v4()) {
    node.family = AF_INET;
    auto bytes = spec.address.to_v4().to_bytes();
    std::memcpy(&node.addr.addr4, bytes.data(), bytes.size());
  } else {
    node.family = AF_INET6;
    auto bytes = spec.address.to_v6().to_bytes();
    std::memcpy(&node.addr.addr6, bytes.data(), bytes.size());
  }
  return node;
}

std::string describe(const std::vector<ServerSpec>& servers) {
  std::string names;
  for (const auto& s : servers) names += (names.empty() ? "" : ", ") + describe(s.address, s.port);
  return names.empty() ? "the system's DNS servers" : names;
}

/// One c-ares channel for part of one lookup. An empty server list means the system's
/// configuration (/etc/resolv.conf).
class Channel {
 public:
  Channel(const std::vector<ServerSpec>& servers, std::chrono::milliseconds timeout) {
    ares_options options{};
    // NOCHECKRESP hands SERVFAIL and REFUSED to the callback: c-ares 1.18 would otherwise retry
    // them and report ARES_ECONNREFUSED, hiding what the server said (lookup() fails over itself).
    options.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    options.tries = kTries;
    // c-ares doubles the per-try timeout each round over all servers: with 2 tries each server
    // costs t + 2t, so the whole sequence fits the overall timeout (also enforced by run()).
    auto count = static_cast<long>(std::max<std::size_t>(servers.size(), 1));
    options.timeout = static_cast<int>(std::max<long>(timeout.count() / (3 * count), 20));
    int mask = ARES_OPT_FLAGS | ARES_OPT_TRIES | ARES_OPT_TIMEOUTMS;
    int status = ares_init_options(&channel_, &options, mask);
    if (status != ARES_SUCCESS) {
      throw std::runtime_error(std::string("cannot start a c-ares channel: ") + ares_strerror(status));
    }
    if (!servers.empty()) {
      std::vector<ares_addr_port_node> nodes;
      for (const auto& spec : servers) nodes.push_back(to_node(spec));
      for (std::size_t i = 0; i + 1 < nodes.size(); ++i) nodes[i].next = &nodes[i + 1];
      status = ares_set_servers_ports(channel_, nodes.data());
      if (status != ARES_SUCCESS) {
        ares_destroy(channel_);
        throw std::runtime_error(std::string("cannot set DNS servers: ") + ares_strerror(status));
      }
    }
  }
  ~Channel() { ares_destroy(channel_); }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  ares_channel get() const { return channel_; }

  /// The servers this channel uses (for an empty list: those from the system configuration).
  std::vector<ServerSpec> servers() const {
    std::vector<ServerSpec> out;
    ares_addr_port_node* list = nullptr;
    if (ares_get_servers_ports(channel_, &list) != ARES_SUCCESS) return out;
    for (auto* node = list; node != nullptr; node = node->next) {
      ServerSpec spec;
      if (node->family == AF_INET) {
        asio::ip::address_v4::bytes_type bytes;
        std::memcpy(bytes.data(), &node->addr.addr4, bytes.size());
        spec.address = asio::ip::address_v4(bytes);
      } else {
        asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), &node->addr.addr6, bytes.size());
        spec.address = asio::ip::address_v6(bytes);
      }
      spec.port = node->udp_port != 0 ? node->udp_port : 53;
      out.push_back(spec);
    }
    ares_free_data(list);
    return out;
  }

  /// Drives the channel until every query has called back or `deadline` passes; returns false on
  /// the deadline, after cancelling what is still pending (those callbacks see ARES_ECANCELLED).
  bool run(Clock::time_point deadline) {
    for (;;) {
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(channel_, socks, ARES_GETSOCK_MAXNUM);
      std::vector<pollfd> fds;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
        if (events) fds.push_back(pollfd{socks[i], events, 0});
      }
      timeval wait_buf{};
      timeval* wait = ares_timeout(channel_, nullptr, &wait_buf);
      // No socket and no timer means c-ares has nothing left to do.
      if (fds.empty() && wait == nullptr) return true;
      auto now = Clock::now();
      if (now >= deadline) {
        ares_cancel(channel_);
        return false;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
      long wait_ms = left;
      if (wait != nullptr) wait_ms = std::min<long>(left, wait->tv_sec * 1000 + (wait->tv_usec + 999) / 1000);
      int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait_ms));
      if (ready < 0 && errno != EINTR) {
        ares_cancel(channel_);
        return false;
      }
      bool any = false;
      for (const auto& fd : fds) {
        if (fd.revents == 0) continue;
        any = true;
        bool readable = fd.revents & (POLLIN | POLLERR | POLLHUP);
        bool writable = fd.revents & (POLLOUT | POLLERR | POLLHUP);
        ares_process_fd(channel_, readable ? fd.fd : ARES_SOCKET_BAD, writable ? fd.fd : ARES_SOCKET_BAD);
      }
      // Lets c-ares notice per-try timeouts and move on to the next try or server.
      if (!any) ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }
  }

 private:
  static constexpr int kTries = 2;
  ares_channel channel_ = nullptr;
};

/// The outcome of one query: its status, the raw answer (also of NXDOMAIN and NODATA, whose AD bit
/// matters), for error messages the server(s) it came from, and whether a trusted resolver
/// vouched for it with the AD bit.
struct RawResult {
  int status = ARES_ETIMEOUT;
  std::vector<unsigned char> answer;
  std::string servers;
  bool secure = false;
};

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* result = static_cast<RawResult*>(arg);
  // ares_send hands over every answer as a success (NOCHECKRESP): the rcode decides here.
  if (status == ARES_SUCCESS) status = dns_wire::answer_status(abuf, alen);
  result->status = status;
  if (abuf != nullptr && alen > 0) result->answer.assign(abuf, abuf + alen);
}

/// Sends one query with the AD bit set: RFC 6840 5.7, a validating resolver then reports in its
/// answer's AD bit whether it validated the data (without EDNS DO, so no RRSIGs to carry).
void send_query(ares_channel channel, const std::string& name, int type, RawResult& result) {
  unsigned char* query = nullptr;
  int length = 0;
  int status = ares_create_query(name.c_str(), ns_c_in, type, 0, 1, &query, &length, 0);
  if (status != ARES_SUCCESS) {
    result.status = status;
    return;
  }
  query[3] |= 0x20;  // AD
  ares_send(channel, query, length, on_answer, &result);
  ares_free_string(query);
}

/// The resolvers whose AD bit counts (docs/outbound.md, "DANE"): a list, or by default every
/// loopback address (a validating resolver on this host).
struct TrustedResolvers {
  std::optional<std::vector<ServerSpec>> list;
  bool contains(const ServerSpec& server) const {
    if (!list) return server.address.is_loopback();
    return std::any_of(list->begin(), list->end(),
                       [&](const ServerSpec& s) { return s.address == server.address && s.port == server.port; });
  }
};

const char* type_name(int type) {
  switch (type) {
    case ns_t_mx:
      return "MX";
    case ns_t_a:
      return "A";
    case ns_t_aaaa:
      return "AAAA";
    case dns_wire::kTypeTxt:
      return "TXT";
    case dns_wire::kTypeTlsa:
      return "TLSA";
    default:
      return "?";
  }
}

/// Maps a c-ares failure to an answer status and log text.
DnsAnswer failure(int status, int type, const std::string& name, const std::string& servers,
                  std::chrono::milliseconds timeout) {
  DnsAnswer answer;
  std::string what = std::string(type_name(type)) + " " + name;
  switch (status) {
    case ARES_ENOTFOUND:
      answer.status = Status::NxDomain;
      answer.error = "NXDOMAIN: " + name + " does not exist (" + type_name(type) + " query to " + servers + ")";
      return answer;
    case ARES_ENODATA:
      answer.status = Status::NoData;
      answer.error = "no " + std::string(type_name(type)) + " record for " + name;
      return answer;
    case ARES_ESERVFAIL:
      answer.error = "SERVFAIL from " + servers + " for " + what;
      break;
    case ARES_EREFUSED:
      answer.error = "query refused by " + servers + " for " + what;
      break;
    case ARES_ECONNREFUSED:
      answer.error = "connection refused by " + servers + " for " + what;
      break;
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:
      answer.error =
          "DNS timeout after " + std::to_string(timeout.count()) + "ms waiting for " + servers + " for " + what;
      break;
    default:
      answer.error = std::string("DNS error (") + ares_strerror(status) + ") from " + servers + " for " + what;
      break;
  }
  answer.status = Status::TempFail;
  return answer;
}

bool worth_another_server(int status) {
  return status == ARES_ESERVFAIL || status == ARES_EREFUSED || status == ARES_ETIMEOUT ||
         status == ARES_ECONNREFUSED || status == ARES_ECANCELLED;
}

/// Runs the queries for one name in parallel within the overall timeout, one server at a time so
/// that the server behind each answer is known (its AD bit counts only if it is trusted). A server
/// answering SERVFAIL or REFUSED, or not at all, is passed over for the next one, as a stub
/// resolver does; but after a trusted resolver's SERVFAIL (which may mean DNSSEC validation
/// failed) untrusted ones are not asked, since their insecure answer would strip DANE.
std::vector<RawResult> query_all(std::vector<ServerSpec> servers, const TrustedResolvers& trusted,
                                 const std::string& name, const std::vector<int>& types,
                                 std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  if (servers.empty()) servers = Channel({}, timeout).servers();
  std::vector<RawResult> results(types.size());
  std::vector<std::string> tried(types.size());  // servers asked so far, for the error text
  std::vector<bool> validator_failed(types.size(), false);
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < types.size(); ++i) todo.push_back(i);
  // With an empty list (system servers unreadable) the one channel below uses the system config.
  const std::size_t rounds = std::max<std::size_t>(servers.size(), 1);
  for (std::size_t round = 0; round < rounds && !todo.empty(); ++round) {
    auto now = Clock::now();
    if (now >= deadline) break;
    // The time left is shared by the servers still to ask.
    auto until = now + (deadline - now) / static_cast<long>(rounds - round);
    std::vector<ServerSpec> one;
    if (round < servers.size()) one.push_back(servers[round]);
    bool is_trusted = !one.empty() && trusted.contains(one[0]);
    Channel channel(one, std::chrono::duration_cast<std::chrono::milliseconds>(until - now));
    std::vector<std::size_t> asked;
    for (auto i : todo) {
      if (validator_failed[i] && !is_trusted) continue;
      results[i] = RawResult{};
      send_query(channel.get(), name, types[i], results[i]);
      asked.push_back(i);
    }
    bool finished = channel.run(until);
    std::vector<std::size_t> again;
    for (auto i : todo) {
      if (std::find(asked.begin(), asked.end(), i) == asked.end()) continue;
      auto& r = results[i];
      if (!finished && r.status == ARES_ECANCELLED) r.status = ARES_ETIMEOUT;
      r.servers = (tried[i].empty() ? "" : tried[i] + ", then ") + describe(one);
      bool answered = r.status == ARES_SUCCESS || r.status == ARES_ENODATA || r.status == ARES_ENOTFOUND;
      r.secure = answered && is_trusted && dns_wire::authenticated_data(r.answer);
      if (r.status == ARES_ESERVFAIL && is_trusted) validator_failed[i] = true;
      if (worth_another_server(r.status) && round + 1 < rounds) {
        tried[i] = r.servers;
        again.push_back(i);
      }
    }
    todo = std::move(again);
  }
  return results;
}

DnsAnswer parse_mx(const RawResult& raw, const std::string& domain) {
  DnsAnswer answer;
  ares_mx_reply* replies = nullptr;
  int status = ares_parse_mx_reply(raw.answer.data(), static_cast<int>(raw.answer.size()), &replies);
  if (status != ARES_SUCCESS) return failure(status, ns_t_mx, domain, raw.servers, {});
  std::vector<MxHost> hosts;
  bool null_mx = false;
  for (auto* r = replies; r != nullptr; r = r->next) {
    std::string host = strip_trailing_dots(r->host != nullptr ? r->host : "");
    if (host.empty()) {
      null_mx = true;
      continue;
    }
    hosts.push_back(MxHost{host, r->priority, false});
  }
  ares_free_data(replies);
  // RFC 7505 3: a null MX must stand alone; if it does not, the real hosts are still usable.
  if (hosts.empty() && null_mx) {
    answer.status = Status::NullMx;
    answer.error = domain + " does not accept mail (null MX, RFC 7505)";
    return answer;
  }
  if (hosts.empty()) return failure(ARES_ENODATA, ns_t_mx, domain, raw.servers, {});
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
  // RFC 5321 5.1: hosts of equal preference are tried in random order to spread the load.
  for (auto first = hosts.begin(); first != hosts.end();) {
    auto last = std::find_if(first, hosts.end(), [&](const MxHost& h) { return h.preference != first->preference; });
    std::shuffle(first, last, rng());
    first = last;
  }
  answer.status = Status::Ok;
  answer.hosts = std::move(hosts);
  return answer;
}

/// Addresses from an A or AAAA answer; ARES_ENODATA when the answer holds none (e.g. only a CNAME).
int parse_addresses(const RawResult& raw, int type, std::vector<asio::ip::address>& out) {
  hostent* host = nullptr;
  int len = static_cast<int>(raw.answer.size());
  int status = type == ns_t_a ? ares_parse_a_reply(raw.answer.data(), len, &host, nullptr, nullptr)
                              : ares_parse_aaaa_reply(raw.answer.data(), len, &host, nullptr, nullptr);
  if (status != ARES_SUCCESS) return status;
  std::size_t before = out.size();
  for (char** p = host->h_addr_list; p != nullptr && *p != nullptr; ++p) {
    if (host->h_addrtype == AF_INET) {
      asio::ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), *p, bytes.size());
      out.emplace_back(asio::ip::address_v4(bytes));
    } else if (host->h_addrtype == AF_INET6) {
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), *p, bytes.size());
      out.emplace_back(asio::ip::address_v6(bytes));
    }
  }
  ares_free_hostent(host);
  return out.size() > before ? ARES_SUCCESS : ARES_ENODATA;
}

/// The target of `host`'s CNAME chain in an address answer, empty when `host` is no alias (or the
/// chain cannot be read: the addresses still serve, only DANE's TLSA base domain stays `host`).
std::string alias_target(const RawResult& raw, const std::string& host) {
  auto target = dns_wire::canonical_name(raw.answer, host);
  if (!target || strcasecmp(target->c_str(), host.c_str()) == 0) return {};
  return *target;
}

std::vector<ServerSpec> parse_servers(const std::vector<std::string>& servers) {
  std::vector<ServerSpec> specs;
  for (const auto& s : servers) specs.push_back(parse_server(s));
  return specs;
}

TrustedResolvers trusted_resolvers(const std::optional<std::vector<std::string>>& trusted) {
  TrustedResolvers out;
  if (trusted) out.list = parse_servers(*trusted);
  return out;
}

/// TXT or TLSA records from a successful answer; a malformed one fails the whole lookup.
Result<DnsRecords> parse_records(const RawResult& raw, int type) {
  auto rdatas = dns_wire::answer_rdata(raw.answer, type);
  if (!rdatas) return fail(rdatas.error());
  DnsRecords out;
  for (const auto& rdata : *rdatas) {
    if (type == dns_wire::kTypeTxt) {
      auto text = dns_wire::txt_text(rdata);
      if (!text) return fail(text.error());
      out.txt.push_back(std::move(*text));
    } else {
      auto record = dns_wire::tlsa_record(rdata);
      if (!record) return fail(record.error());
      out.tlsa.push_back(std::move(*record));
    }
  }
  return out;
}

DnsAnswer invalid_name(const std::string& name, const std::string& why) {
  DnsAnswer answer;
  // A name that cannot exist will not exist on a retry either.
  answer.status = Status::NxDomain;
  answer.error = "invalid domain name \"" + name + "\": " + why;
  return answer;
}

}  // namespace

Resolver::Resolver(std::vector<std::string> servers, std::chrono::milliseconds timeout)
    : Resolver(std::move(servers), std::nullopt, timeout) {}

Resolver::Resolver(std::vector<std::string> servers, std::optional<std::vector<std::string>> trusted,
                   std::chrono::milliseconds timeout)
    : servers_(std::move(servers)), trusted_(std::move(trusted)), timeout_(timeout) {
  if (timeout_.count() <= 0) throw std::runtime_error("DNS timeout must be positive");
  parse_servers(servers_);  // validates now so that a bad configuration fails at startup
  if (trusted_) parse_servers(*trusted_);
  init_library();
}

Resolver::~Resolver() = default;

DnsAnswer Resolver::addresses(const std::string& host_in) const {
  if (auto literal = ip_literal(host_in)) {
    DnsAnswer answer;
    answer.status = Status::Ok;
    answer.addresses.push_back(*literal);
    return answer;
  }
  std::string host = strip_trailing_dots(host_in);
  if (auto why = invalid_name_reason(host); !why.empty()) return invalid_name(host_in, why);
  auto raw = query_all(parse_servers(servers_), trusted_resolvers(trusted_), host, {ns_t_aaaa, ns_t_a}, timeout_);

  DnsAnswer answer;
  std::vector<DnsAnswer> failures;
  const int types[] = {ns_t_aaaa, ns_t_a};
  bool all_secure = true;  // every family that gave addresses was validated
  for (std::size_t i = 0; i < raw.size(); ++i) {
    int status = raw[i].status;
    if (status == ARES_SUCCESS) status = parse_addresses(raw[i], types[i], answer.addresses);
    if (status == ARES_SUCCESS) all_secure = all_secure && raw[i].secure;
    if (status == ARES_SUCCESS && answer.canonical_name.empty()) answer.canonical_name = alias_target(raw[i], host);
    if (status != ARES_SUCCESS) {
      failures.push_back(failure(status, types[i], host, raw[i].servers, timeout_));
      failures.back().secure = raw[i].secure;
    }
  }
  // One family is enough to deliver: a server that fails or drops AAAA queries (still common)
  // must not hold up mail that has a usable A record.
  if (!answer.addresses.empty()) {
    answer.status = Status::Ok;
    answer.secure = all_secure;
    return answer;
  }
  // Otherwise the most telling failure wins: the name does not exist, then a temporary error
  // (which might be hiding records), and only then "exists but has no address".
  for (auto wanted : {Status::NxDomain, Status::TempFail, Status::NoData}) {
    for (auto& f : failures) {
      if (f.status != wanted) continue;
      if (wanted == Status::NoData) f.error = "no A or AAAA record for " + host;
      return f;
    }
  }
  answer.status = Status::TempFail;
  answer.error = "no usable answer for " + host;
  return answer;
}

DnsAnswer Resolver::mx(const std::string& domain_in) const {
  // A domain literal ("[192.0.2.1]") names the host directly (RFC 5321 5.1, 4.1.3).
  if (!domain_in.empty() && domain_in.front() == '[') {
    if (!ip_literal(domain_in)) return invalid_name(domain_in, "not a valid address literal");
    DnsAnswer answer;
    answer.status = Status::Ok;
    answer.hosts.push_back(MxHost{domain_in, 0, true});
    return answer;
  }
  std::string domain = strip_trailing_dots(domain_in);
  if (auto why = invalid_name_reason(domain); !why.empty()) return invalid_name(domain_in, why);
  auto raw = query_all(parse_servers(servers_), trusted_resolvers(trusted_), domain, {ns_t_mx}, timeout_);
  DnsAnswer answer = raw[0].status == ARES_SUCCESS ? parse_mx(raw[0], domain)
                                                   : failure(raw[0].status, ns_t_mx, domain, raw[0].servers, timeout_);
  answer.secure = raw[0].secure;
  if (answer.status != Status::NoData) return answer;

  // RFC 5321 5.1: without MX records the domain itself is the host, if it has an address.
  DnsAnswer implicit = addresses(domain);
  if (implicit.status != Status::Ok) {
    if (implicit.status == Status::NoData) implicit.error = "no MX, A or AAAA record for " + domain;
    return implicit;
  }
  answer.status = Status::Ok;
  answer.error.clear();
  answer.hosts.push_back(MxHost{domain, 0, true});
  // RFC 7672 2.2.1: the implicit MX is as secure as the denial of the MX and the address records.
  answer.secure = answer.secure && implicit.secure;
  return answer;
}

DnsRecords Resolver::txt(const std::string& name) const { return records(name, dns_wire::kTypeTxt); }

DnsRecords Resolver::tlsa(const std::string& name) const { return records(name, dns_wire::kTypeTlsa); }

DnsRecords Resolver::records(const std::string& name_in, int type) const {
  std::string name = strip_trailing_dots(name_in);
  DnsRecords out;
  if (auto why = invalid_name_reason(name); !why.empty()) {
    auto invalid = invalid_name(name_in, why);
    out.status = invalid.status;
    out.error = invalid.error;
    return out;
  }
  auto raw = query_all(parse_servers(servers_), trusted_resolvers(trusted_), name, {type}, timeout_);
  int status = raw[0].status;
  if (status == ARES_SUCCESS) {
    auto parsed = parse_records(raw[0], type);
    if (!parsed) {
      out.status = Status::TempFail;
      out.error = parsed.error().message + " for " + name + " from " + raw[0].servers;
      return out;
    }
    out = std::move(*parsed);
    if (!out.txt.empty() || !out.tlsa.empty()) {
      out.status = Status::Ok;
      out.secure = raw[0].secure;
      return out;
    }
    status = ARES_ENODATA;  // e.g. only a CNAME pointing to a name without such records
  }
  auto failed = failure(status, type, name, raw[0].servers, timeout_);
  out.status = failed.status;
  out.error = failed.error;
  out.secure = raw[0].secure;
  return out;
}

}  // namespace sluice::net
