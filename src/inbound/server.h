// The receiving gateway: listeners, connector selection, connection limits, and orderly stop.
#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/heap_trim.h"
#include "base/result.h"
#include "inbound/session.h"

namespace sluice::inbound {

class Server {
 public:
  /// `services.config` must list at least one receive connector.
  Server(asio::io_context& io, SessionServices services,
         std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts);

  ~Server();

  /// Binds every listen address; throws std::runtime_error "cannot listen on ADDR: reason".
  void start();
  /// Sessions the open-file limit leaves room for (base/open_files.h): beyond them, and beyond
  /// max_connections, a connection gets 421 4.3.2.
  void set_session_capacity(std::size_t sessions) { session_capacity_ = sessions; }
  /// Stops accepting, asks sessions to end (those in DATA finish first), and after the grace
  /// period closes what is left. run() on the io_context returns once everything has ended.
  void stop();
  /// Draining (docs/queue.md, "Draining a node"): from now on new connections get 421 4.3.2 and
  /// are closed, while the listening sockets stay open (a load balancer's check sees the refusal,
  /// not a refused connection) and sessions in progress go on. A reload keeps it.
  void drain() { draining_ = true; }
  /// Called once, after stop(), when the last session has ended.
  void on_stopped(std::function<void()> callback) { on_stopped_ = std::move(callback); }
  /// Listening endpoints with the connector names bound to each, for the start-up line.
  std::vector<std::string> describe_listeners() const;
  /// Sessions open now (for the service manager's status line).
  std::size_t sessions() const { return sessions_.size(); }

  /// What a reload did to the listening sockets ("127.0.0.1:2525"), for its log line.
  struct ListenerChanges {
    std::vector<std::string> opened, closed;
  };
  /// A reload (docs/configuration.md, "Reload"): connections accepted from now on get `services`
  /// (its configuration and connectors) and `tls_contexts`; sessions in progress keep theirs.
  /// Addresses the new configuration no longer lists are closed, new ones opened, and the others
  /// keep their socket, so no connection is refused meanwhile. When a new address cannot be
  /// bound, nothing changes and the error says which ("cannot listen on ADDR: reason").
  Result<ListenerChanges> reconfigure(SessionServices services,
                                      std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts);

 private:
  struct Listener {
    asio::ip::tcp::acceptor acceptor;
    std::vector<const config::ReceiveConnector*> connectors;
    bool closed = false;  ///< a reload removed its address: the accept loop ends
  };
  /// Each listen address of `config` ("127.0.0.1:2525") with the connectors on it.
  struct Binding {
    config::ListenAddress address;
    std::vector<const config::ReceiveConnector*> connectors;
  };
  static std::map<std::string, Binding> bindings_of(const config::Config& config);
  /// A bound, listening socket for `address`; the error is "cannot listen on ADDR: reason".
  Result<std::shared_ptr<Listener>> open_listener(const std::string& text, const config::ListenAddress& address);
  asio::awaitable<void> accept_loop(std::shared_ptr<Listener> listener);
  /// A new connection: from a load balancer of the listener's proxy_from, its PROXY header is
  /// read first (read_proxy_then_start); otherwise its session starts now.
  void admit(asio::ip::tcp::socket socket, const std::shared_ptr<Listener>& listener);
  asio::awaitable<void> read_proxy_then_start(asio::ip::tcp::socket socket, std::shared_ptr<Listener> listener);
  /// Chooses the connector by the client's address, applies the connection limits and runs the
  /// session; `proxied`: the client a PROXY header named.
  void start_session(asio::ip::tcp::socket socket, Listener& listener, std::optional<ProxiedPeer> proxied);
  /// accept() failed for want of descriptors: frees the reserve descriptor, accepts one waiting
  /// connection, answers it 421 4.3.2, closes it and takes the reserve again. False when there
  /// was no reserve or no connection waiting.
  bool refuse_with_reserve_descriptor(Listener& listener);
  /// One warning a minute at most while descriptors are short, with the number refused.
  void warn_out_of_descriptors(const std::error_code& ec);

  asio::io_context& io_;
  /// The group commit for spool stores when the caller gave none; destroyed (after finishing
  /// what was submitted) before the io_context its results are delivered to.
  std::unique_ptr<queue::GroupCommitter> committer_;
  SessionServices services_;
  std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts_;  ///< by connector name
  std::map<std::string, std::shared_ptr<Listener>> listeners_;               ///< by listen address text
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::map<asio::ip::address, std::size_t> per_ip_;
  /// Connections whose PROXY header is being read, closed by stop().
  std::map<std::uint64_t, std::weak_ptr<asio::ip::tcp::socket>> awaiting_proxy_header_;
  std::uint64_t next_session_ = 0;
  HeapTrimPolicy heap_trim_;
  std::size_t session_capacity_ = SIZE_MAX;
  /// An open /dev/null kept so that a connection can still be accepted and refused when every
  /// other descriptor is taken (-1: none).
  int reserve_fd_ = -1;
  std::size_t refused_without_descriptors_ = 0;  ///< since the last warning
  std::optional<std::chrono::steady_clock::time_point> last_descriptor_warning_;
  bool stopping_ = false;
  bool draining_ = false;
  asio::steady_timer grace_timer_;
  std::function<void()> on_stopped_;
  void maybe_stopped();
};

}  // namespace sluice::inbound
