// Test-only harness for inbound::Session: one real session on a loopback socket, served by an
// io_context on its own thread, and a blocking client the test drives line by line. Header-only
// so that it is compiled only into the test binary.
#pragma once
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/temp_dir_test_util.h"
#include "config/config.h"
#include "inbound/session.h"
#include "protocol_log/protocol_log.h"
#include "queue/spool.h"

namespace sluice::inbound::test_util {

/// The default connector's greeting and the reply to DATA, as the session writes them.
inline const std::string kGreeting = "220 mx.test.example ESMTP sluice ready\r\n";
inline const std::string kStartData = "354 Start mail input; end with <CRLF>.<CRLF>\r\n";

using sluice::test_util::TempDir;

/// The client side: a blocking POSIX socket with a receive timeout, so that a session that
/// never answers fails the test instead of hanging it.
class Client {
 public:
  /// `receive_buffer`: SO_RCVBUF set before connecting (0 = the system's default).
  Client(const asio::ip::tcp::endpoint& server, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server.port());
    addr.sin_addr.s_addr = htonl(server.address().to_v4().to_uint());
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void close() {
    if (ssl_) SSL_free(ssl_);
    ssl_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  /// Client side of a TLS handshake on this connection (after the server's 220 to STARTTLS).
  /// Bytes already received and not yet read as replies are dropped, as a client must.
  bool start_tls(SSL_CTX* context) {
    buffer_.clear();
    ssl_ = SSL_new(context);
    SSL_set_fd(ssl_, fd_);
    return SSL_connect(ssl_) == 1;
  }
  SSL* ssl() { return ssl_; }

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ssl_ ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                       : ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        ADD_FAILURE() << "send failed";
        return;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// One complete reply, every line with its CRLF ("250-a\r\n250 b\r\n"). On EOF or timeout
  /// returns what arrived, prefixed with "<eof>" or "<timeout>" so the mismatch is obvious.
  std::string reply() {
    std::string out;
    for (;;) {
      auto lf = buffer_.find('\n');
      if (lf == std::string::npos) {
        if (!receive()) return (eof_ ? "<eof>" : "<timeout>") + out + buffer_;
        continue;
      }
      std::string line = buffer_.substr(0, lf + 1);
      buffer_.erase(0, lf + 1);
      out += line;
      if (line.size() < 4 || line[3] != '-') return out;
    }
  }

  /// Sends one command line and returns its reply.
  std::string command(std::string_view line) {
    send(std::string(line) + "\r\n");
    return reply();
  }

  /// True when the server closed the connection with nothing more to read.
  bool at_eof() {
    if (!buffer_.empty()) return false;
    return !receive() && eof_;
  }

 private:
  bool receive() {
    char chunk[4096];
    ssize_t n = ssl_ ? SSL_read(ssl_, chunk, sizeof chunk) : ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      eof_ = n == 0;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buffer_;
  bool eof_ = false;
};

/// Everything a session needs, in temp directories, with the server side on its own thread.
/// Adjust `config` and `connector()` before start().
class SessionHarness {
 public:
  SessionHarness() : config(config::default_config()) {
    config.hostname = "mx.test.example";
    config.accepted_domains = {{"example.org", config::DomainType::Authoritative}};
    config.state_dir = dir_.path();
    config.limits.command_timeout = std::chrono::seconds(5);
    config.limits.data_timeout = std::chrono::seconds(5);
    std::filesystem::create_directories(log_dir());
    writer_ = std::make_unique<protocol_log::Writer>(log_dir(), protocol_log::Direction::Receive);
    spool = std::make_unique<queue::Spool>(queue_dir());
  }

  ~SessionHarness() {
    if (client) client->close();
    // A session that does not end by itself after its client left is a failure, not a hang.
    if (thread_.joinable()) {
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (!ended_ && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (!ended_) {
        ADD_FAILURE() << "the session did not end after the client closed";
        io_.stop();
      }
      thread_.join();
    }
    committer.reset();  // delivers its last results to io_, which must still exist
    disk_.join();
  }

  config::ReceiveConnector& connector() { return config.receive_connectors.front(); }
  std::filesystem::path queue_dir() const { return dir_.path() / "queue"; }
  std::filesystem::path log_dir() const { return dir_.path() / "log"; }

  /// Accepts one connection, starts a Session on it and returns the connected client.
  /// `server_send_buffer` sets SO_SNDBUF on the session's socket (0 = default).
  Client& start(std::shared_ptr<asio::ssl::context> tls = nullptr, int client_receive_buffer = 0,
                int server_send_buffer = 0) {
    asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
    client = std::make_unique<Client>(acceptor.local_endpoint(), client_receive_buffer);
    asio::ip::tcp::socket socket = acceptor.accept();
    if (server_send_buffer > 0) socket.set_option(asio::socket_base::send_buffer_size(server_send_buffer));
    SessionServices services;
    services.config = config::unowned_snapshot(config);
    services.protocol_log = writer_.get();
    services.spool = spool.get();
    services.disk = disk_.get_executor();
    services.committer = committer.get();
    services.authenticator = authenticator;
    services.auth_penalty = auth_penalty;
    services.user_rates = user_rates;
    services.queued = [this](const queue::Envelope& envelope) {
      const std::string& id = envelope.id;
      std::lock_guard lock(mutex_);
      queued_.push_back(id);
    };
    session = std::make_shared<Session>(std::move(socket), connector(), std::move(tls), services);
    auto body = refusal ? session->refuse(*refusal) : session->run();
    asio::co_spawn(io_, std::move(body), [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          ADD_FAILURE() << "session ended with an exception: " << ex.what();
        }
      }
      ended_ = true;
    });
    thread_ = std::thread([this] { io_.run(); });
    return *client;
  }

  /// Runs `f` on the session's thread (the only thread that may touch the session).
  void on_session_thread(std::function<void()> f) { asio::post(io_, std::move(f)); }

  /// Ids handed to SessionServices::queued, in order.
  std::vector<std::string> queued() {
    std::lock_guard lock(mutex_);
    return queued_;
  }

  /// True once run() has returned (waits up to `limit`).
  bool wait_ended(std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    auto give_up = std::chrono::steady_clock::now() + limit;
    while (!ended_ && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return ended_;
  }

  /// All protocol log text written so far.
  std::string protocol_log() const {
    std::string out;
    for (const auto& entry : std::filesystem::directory_iterator(log_dir())) {
      std::ifstream in(entry.path(), std::ios::binary);
      out.append(std::istreambuf_iterator<char>(in), {});
    }
    return out;
  }

 private:
  TempDir dir_{"sluice-session"};  // first: everything below lives in it and must go before it

 public:
  config::Config config;
  std::unique_ptr<queue::Spool> spool;
  /// When set before start(), stores go through it (group commit) instead of the disk executor.
  std::unique_ptr<queue::GroupCommitter> committer;
  /// When set, start() runs Session::refuse with it instead of Session::run.
  std::optional<smtp::Reply> refusal;
  /// SMTP AUTH's services for the session (SessionServices); the test owns them.
  Authenticator* authenticator = nullptr;
  AuthPenalty* auth_penalty = nullptr;
  UserRates* user_rates = nullptr;

 private:
  std::unique_ptr<protocol_log::Writer> writer_;
  // The session refers to the members above, so the io_context (which owns it) comes after them.
  asio::io_context io_;
  asio::thread_pool disk_{1};
  std::thread thread_;
  std::atomic<bool> ended_{false};
  std::mutex mutex_;
  std::vector<std::string> queued_;

 public:
  std::shared_ptr<Session> session;
  std::unique_ptr<Client> client;
};

}  // namespace sluice::inbound::test_util
