// The receiving gateway: listeners, connector selection, connection limits, and orderly stop.
#pragma once
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/heap_trim.h"
#include "inbound/session.h"

namespace sluice::inbound {

class Server {
 public:
  /// `services.config` must list at least one receive connector.
  Server(asio::io_context& io, SessionServices services,
         std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts);

  /// Binds every listen address; throws std::runtime_error "cannot listen on ADDR: reason".
  void start();
  /// Stops accepting, asks sessions to end (those in DATA finish first), and after the grace
  /// period closes what is left. run() on the io_context returns once everything has ended.
  void stop();
  /// Called once, after stop(), when the last session has ended.
  void on_stopped(std::function<void()> callback) { on_stopped_ = std::move(callback); }
  /// Listening endpoints with the connector names bound to each, for the start-up line.
  std::vector<std::string> describe_listeners() const;

 private:
  struct Listener {
    asio::ip::tcp::acceptor acceptor;
    std::vector<const config::ReceiveConnector*> connectors;
  };
  asio::awaitable<void> accept_loop(Listener& listener);
  void admit(asio::ip::tcp::socket socket, Listener& listener);

  asio::io_context& io_;
  /// The group commit for spool stores when the caller gave none; destroyed (after finishing
  /// what was submitted) before the io_context its results are delivered to.
  std::unique_ptr<queue::GroupCommitter> committer_;
  SessionServices services_;
  std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts_;  ///< by connector name
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::map<asio::ip::address, std::size_t> per_ip_;
  std::uint64_t next_session_ = 0;
  HeapTrimPolicy heap_trim_;
  bool stopping_ = false;
  asio::steady_timer grace_timer_;
  std::function<void()> on_stopped_;
  void maybe_stopped();
};

}  // namespace sluice::inbound
