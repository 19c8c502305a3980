#include "inbound/server.h"

#include <fmt/format.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "base/heap_trim.h"
#include "base/logging.h"
#include "inbound/proxy_reader.h"
#include "metrics/gateway_metrics.h"

namespace sluice::inbound {

using asio::awaitable;

namespace {
// How many file fsyncs of one batch run side by side. The disk (a virtio disk, measured in
// bench/README.md) completes fsyncs several times faster in parallel than one at a time; beyond
// about this many the gain stops.
constexpr std::size_t kCommitFsyncThreads = 32;
// Sessions that must have ended before their memory is handed back (base/heap_trim.h): about
// 5 MiB of TLS sessions, so that ordinary coming and going never pays for a malloc_trim.
constexpr std::size_t kHeapTrimMinSessions = 64;

smtp::Reply too_many_connections() { return smtp::make_reply(421, "4.3.2", "Too many connections, try again later"); }

int open_reserve_descriptor() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

bool is_out_of_descriptors(const std::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == std::error_code(ENFILE, std::system_category());
}
}  // namespace

Server::Server(asio::io_context& io, SessionServices services,
               std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts)
    : io_(io),
      services_(std::move(services)),
      tls_contexts_(std::move(tls_contexts)),
      heap_trim_(kHeapTrimMinSessions),
      grace_timer_(io) {
  if (!services_.committer && services_.spool) {
    committer_ = std::make_unique<queue::GroupCommitter>(*services_.spool, kCommitFsyncThreads);
    services_.committer = committer_.get();
  }
}

Server::~Server() {
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

std::map<std::string, Server::Binding> Server::bindings_of(const config::Config& config) {
  // Connectors that share a listen address share one socket; the client's address then picks
  // the connector (config::select_connector).
  std::map<std::string, Binding> out;
  for (const auto& connector : config.receive_connectors) {
    metrics::declare_receive_connector(connector.name);  // its series exist from the start (or reload)
    for (const auto& listen : connector.listen) {
      auto& binding = out[listen.str()];
      binding.address = listen;
      binding.connectors.push_back(&connector);
    }
  }
  return out;
}

Result<std::shared_ptr<Server::Listener>> Server::open_listener(const std::string& text,
                                                                const config::ListenAddress& listen) {
  std::error_code ec;
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address(listen.host, ec), listen.port);
  if (ec) return fail(fmt::format("cannot listen on {}: {}", text, ec.message()));
  auto listener = std::make_shared<Listener>(Listener{asio::ip::tcp::acceptor(io_), {}});
  auto& acceptor = listener->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  // IPv6 sockets take only IPv6, so "0.0.0.0:25" and "[::]:25" can both be configured.
  if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(fmt::format("cannot listen on {}: {}", text, ec.message()));
  return listener;
}

void Server::start() {
  if (reserve_fd_ < 0) reserve_fd_ = open_reserve_descriptor();
  for (auto& [text, binding] : bindings_of(*services_.config)) {
    auto listener = open_listener(text, binding.address);
    if (!listener) throw std::runtime_error(listener.error().message);
    (*listener)->connectors = binding.connectors;
    listeners_[text] = *listener;
  }
  for (auto& [text, listener] : listeners_) asio::co_spawn(io_, accept_loop(listener), asio::detached);
}

Result<Server::ListenerChanges> Server::reconfigure(
    SessionServices services, std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts) {
  auto bindings = bindings_of(*services.config);
  // Every new socket first: when one cannot be bound, the others are closed again (by going out
  // of scope) and the running configuration is left as it was.
  std::map<std::string, std::shared_ptr<Listener>> opened;
  for (auto& [text, binding] : bindings) {
    if (listeners_.count(text)) continue;
    auto listener = open_listener(text, binding.address);
    if (!listener) return fail(listener.error().message);
    opened[text] = *listener;
  }
  ListenerChanges changes;
  if (!services.committer) services.committer = services_.committer;
  services_ = std::move(services);
  tls_contexts_ = std::move(tls_contexts);
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (bindings.count(it->first)) {
      ++it;
      continue;
    }
    changes.closed.push_back(it->first);
    it->second->closed = true;
    std::error_code ignored;
    it->second->acceptor.close(ignored);
    it = listeners_.erase(it);
  }
  for (auto& [text, listener] : opened) {
    changes.opened.push_back(text);
    listeners_[text] = listener;
    if (!stopping_) asio::co_spawn(io_, accept_loop(listener), asio::detached);
  }
  for (auto& [text, binding] : bindings) listeners_[text]->connectors = binding.connectors;
  return changes;
}

std::vector<std::string> Server::describe_listeners() const {
  std::vector<std::string> out;
  for (const auto& [text, listener] : listeners_) {
    std::string names;
    for (const auto* c : listener->connectors) names += (names.empty() ? "" : ", ") + c->name;
    std::error_code ec;
    auto endpoint = listener->acceptor.local_endpoint(ec);
    out.push_back(fmt::format("{} ({})", net::endpoint_text(endpoint), names));
  }
  return out;
}

awaitable<void> Server::accept_loop(std::shared_ptr<Listener> shared) {
  Listener& listener = *shared;  // kept alive by `shared` after a reload removed it
  while (!stopping_ && !listener.closed) {
    std::error_code ec;
    auto socket = co_await listener.acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || listener.closed || ec == asio::error::operation_aborted) co_return;
      if (is_out_of_descriptors(ec)) {
        warn_out_of_descriptors(ec);
        if (refuse_with_reserve_descriptor(listener)) continue;
      } else {
        log_warning("accept failed: {}", ec.message());
      }
      // Pause briefly rather than spin on an error that the next accept would repeat.
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    admit(std::move(socket), shared);
  }
}

void Server::admit(asio::ip::tcp::socket socket, const std::shared_ptr<Listener>& listener) {
  // Accepted just as a reload closed the address: its connectors belong to the old configuration.
  if (listener->closed) return;
  std::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  // Connectors on one address agree on their PROXY settings (config::check_same_proxy_settings).
  const config::ReceiveConnector& first = *listener->connectors.front();
  if (first.proxy_protocol) {
    const auto address = net::plain_address(remote.address());
    for (const net::Cidr& range : first.proxy_from) {
      if (!range.contains(address)) continue;
      asio::co_spawn(io_, read_proxy_then_start(std::move(socket), listener), asio::detached);
      return;
    }
  }
  start_session(std::move(socket), *listener, std::nullopt);
}

awaitable<void> Server::read_proxy_then_start(asio::ip::tcp::socket socket, std::shared_ptr<Listener> listener) {
  // Copied: a reload while the header is read may replace the configuration the connector is in.
  const config::ReceiveConnector& first = *listener->connectors.front();
  const std::string connector = first.name;
  const net::ProxyVersions versions = *first.proxy_protocol;
  const auto timeout = first.proxy_timeout;
  std::error_code ec;
  const auto balancer = socket.remote_endpoint(ec);
  const auto local = socket.local_endpoint(ec);
  if (ec) co_return;
  auto shared = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
  const auto key = next_session_++;
  awaiting_proxy_header_[key] = shared;
  auto read = co_await read_proxy_header(shared, versions, timeout);
  awaiting_proxy_header_.erase(key);
  if (stopping_ || listener->closed) co_return;
  if (!read) {
    // Nothing of the connection is trusted: no session, no reply (the balancer's client would
    // read it as the server's), one line for the administrator.
    metrics::proxy_header_refused(connector);
    log_warning("load balancer {} on connector \"{}\": {}; connection closed", net::endpoint_text(balancer), connector,
                read.error().message);
    co_return;
  }
  ProxiedPeer peer{local, balancer, false, std::move(read->early_bytes)};
  if (is_balancer_itself(read->header, balancer, local)) {
    peer.health_check = true;
    metrics::proxy_health_check(connector);
  } else {
    peer.remote = *read->header.source;
    peer.local = *read->header.destination;
  }
  start_session(std::move(*shared), *listener, std::move(peer));
}

void Server::start_session(asio::ip::tcp::socket socket, Listener& listener, std::optional<ProxiedPeer> proxied) {
  std::error_code ec;
  const auto remote = proxied ? proxied->remote : socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  auto client = net::plain_address(remote.address());
  const auto& limits = services_.config->limits;

  const config::ReceiveConnector* connector = config::select_connector(listener.connectors, client);
  std::optional<smtp::Reply> refusal;
  if (!connector) {
    // No connector accepts this client: answer under the first connector's name so the refusal
    // is still in a protocol log.
    connector = listener.connectors.front();
    refusal = smtp::make_reply(554, "5.7.1", "No receive connector accepts connections from your address");
  } else if (draining_) {
    refusal = smtp::make_reply(421, "4.3.2", services_.config->hostname + " Service not available, draining");
  } else if (sessions_.size() >= std::min(limits.max_connections, session_capacity_)) {
    refusal = too_many_connections();
  } else if (per_ip_[client] >= limits.max_connections_per_ip) {
    refusal = smtp::make_reply(421, "4.7.0", "Too many connections from your address, try again later");
  }

  auto tls = tls_contexts_.count(connector->name) ? tls_contexts_[connector->name] : nullptr;
  auto session = std::make_shared<Session>(std::move(socket), *connector, tls, services_, std::move(proxied));
  if (refusal) {
    asio::co_spawn(io_, session->refuse(*refusal), asio::detached);
    return;
  }
  auto key = next_session_++;
  sessions_[key] = session;
  ++per_ip_[client];
  heap_trim_.sessions_now(sessions_.size());
  asio::co_spawn(io_, session->run(), [this, key, client](const std::exception_ptr& e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log_error("session ended by an internal error: {}", ex.what());
      }
    }
    sessions_.erase(key);
    if (--per_ip_[client] == 0) per_ip_.erase(client);
    if (heap_trim_.sessions_now(sessions_.size())) return_free_heap();
    maybe_stopped();
  });
}

bool Server::refuse_with_reserve_descriptor(Listener& listener) {
  if (reserve_fd_ < 0) reserve_fd_ = open_reserve_descriptor();
  if (reserve_fd_ < 0) return false;
  ::close(reserve_fd_);
  // The listening socket is non-blocking (Asio made it so for async_accept): no connection
  // waiting is EAGAIN, not a wait.
  int fd = ::accept4(listener.acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) {
    const std::string reply = too_many_connections().wire();
    // A best effort: the socket buffer of a new connection takes the line at once, or the client is gone.
    [[maybe_unused]] auto sent = ::send(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    ::close(fd);
    ++refused_without_descriptors_;
  }
  reserve_fd_ = open_reserve_descriptor();
  return fd >= 0;
}

void Server::warn_out_of_descriptors(const std::error_code& ec) {
  auto now = std::chrono::steady_clock::now();
  if (last_descriptor_warning_ && now - *last_descriptor_warning_ < std::chrono::minutes(1)) return;
  if (last_descriptor_warning_)
    log_warning("accept failed: {}; {} connection(s) answered 421 4.3.2 for want of descriptors in the last minute",
                ec.message(), refused_without_descriptors_);
  else
    log_warning(
        "accept failed: {}; connections are answered 421 4.3.2 while descriptors are short (this warning "
        "comes at most once a minute)",
        ec.message());
  last_descriptor_warning_ = now;
  refused_without_descriptors_ = 0;
}

void Server::stop() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& [text, listener] : listeners_) {
    std::error_code ignored;
    listener->acceptor.close(ignored);
  }
  for (auto& [key, weak] : sessions_)
    if (auto session = weak.lock()) session->request_shutdown();
  for (auto& [key, weak] : awaiting_proxy_header_) {
    std::error_code ignored;
    if (auto socket = weak.lock()) socket->close(ignored);
  }
  if (sessions_.empty()) {
    asio::post(io_, [this] { maybe_stopped(); });
    return;
  }
  log_info("waiting up to {}s for {} session(s) to finish", services_.config->limits.shutdown_grace.count(),
           sessions_.size());
  grace_timer_.expires_after(services_.config->limits.shutdown_grace);
  grace_timer_.async_wait([this](std::error_code) {
    for (auto& [key, weak] : sessions_)
      if (auto session = weak.lock()) session->force_close();
  });
}

}  // namespace sluice::inbound

namespace sluice::inbound {

void Server::maybe_stopped() {
  if (!stopping_ || !sessions_.empty()) return;
  grace_timer_.cancel();
  if (auto callback = std::move(on_stopped_)) {
    on_stopped_ = nullptr;
    callback();
  }
}

}  // namespace sluice::inbound
