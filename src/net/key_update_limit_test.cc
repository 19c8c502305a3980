#include "net/key_update_limit.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <utility>

#include "net/connection.h"

namespace sluice::net {
namespace {

using std::chrono::seconds;

struct KeyUpdateLimitTest : ::testing::Test {
  std::chrono::steady_clock::time_point now{};
  KeyUpdateLimit limit{[this] { return now; }};

  /// How many KeyUpdates in a row are allowed, `gap` apart, before the first refusal (at most 1000).
  int allowed_in_a_row(std::chrono::steady_clock::duration gap) {
    for (int n = 0; n < 1000; ++n, now += gap)
      if (!limit.received()) return n;
    return 1000;
  }
};

TEST_F(KeyUpdateLimitTest, TheOneAfterTheLimitWithinAMinuteIsRefused) {
  EXPECT_EQ(allowed_in_a_row(seconds(0)), kMaxKeyUpdatesPerMinute);
}

TEST_F(KeyUpdateLimitTest, TheLimitIsPerMinuteNotPerConnection) {
  ASSERT_EQ(allowed_in_a_row(seconds(1)), kMaxKeyUpdatesPerMinute);
  now += seconds(60);
  EXPECT_EQ(allowed_in_a_row(seconds(0)), kMaxKeyUpdatesPerMinute);
}

TEST_F(KeyUpdateLimitTest, OneEverySixSecondsIsNeverRefused) {
  EXPECT_EQ(allowed_in_a_row(seconds(60) / kMaxKeyUpdatesPerMinute), 1000);
}

TEST(ReceivedKeyUpdate, OnlyAnIncomingHandshakeMessageOfType24) {
  const unsigned char key_update[] = {SSL3_MT_KEY_UPDATE, 0, 0, 1, 1};
  const unsigned char finished[] = {SSL3_MT_FINISHED, 0, 0, 0};
  EXPECT_TRUE(is_received_key_update(0, SSL3_RT_HANDSHAKE, key_update, sizeof key_update));
  EXPECT_FALSE(is_received_key_update(1, SSL3_RT_HANDSHAKE, key_update, sizeof key_update));  // our own
  EXPECT_FALSE(is_received_key_update(0, SSL3_RT_APPLICATION_DATA, key_update, sizeof key_update));
  EXPECT_FALSE(is_received_key_update(0, SSL3_RT_HANDSHAKE, finished, sizeof finished));
  EXPECT_FALSE(is_received_key_update(0, SSL3_RT_HANDSHAKE, key_update, 0));
}

// ---- Over a real TLS 1.3 connection: two net::Connection objects on loopback ----

using asio::awaitable;
using asio::ip::tcp;

/// A server context with a throw-away self-signed P-256 certificate (net/ may not use tls/).
std::unique_ptr<asio::ssl::context> key_update_server_context() {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("key-update.test"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(cert));
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX_use_certificate(context->native_handle(), cert);
  SSL_CTX_use_PrivateKey(context->native_handle(), key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return context;
}

/// A TLS 1.3 connection between two Connections; `sender` sends KeyUpdates, `receiver` reads.
class KeyUpdateOverTls : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io_);
    client.connect(acceptor.local_endpoint());
    server_ = std::make_shared<Connection>(acceptor.accept());
    client_ = std::make_shared<Connection>(std::move(client));
    server_->start_watchdog(server_);
    client_->start_watchdog(client_);
    int done = 0;
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          EXPECT_TRUE(co_await server_->start_tls_server(*server_tls_));
          ++done;
        },
        asio::detached);
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          EXPECT_TRUE(co_await client_->start_tls_client(client_tls_, {}));
          ++done;
        },
        asio::detached);
    while (done < 2 && io_.run_one_for(std::chrono::seconds(5)) > 0) {
    }
    ASSERT_EQ(done, 2);
    ASSERT_EQ(SSL_version(server_->ssl()), TLS1_3_VERSION);
  }

  void TearDown() override {
    asio::co_spawn(io_, server_->close(), asio::detached);
    asio::co_spawn(io_, client_->close(), asio::detached);
    io_.run_for(std::chrono::seconds(1));
  }

  /// `sender` sends `count` lines, each after a KeyUpdate; `receiver` reads lines until one
  /// fails. Returns the lines read and the interrupt of the failure (None when all arrived).
  std::pair<int, Interrupt> key_updates(Connection& sender, Connection& receiver, int count) {
    int lines = 0;
    Interrupt why = Interrupt::None;
    bool finished = false;
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          for (int i = 0; i < count; ++i) {
            SSL_key_update(sender.ssl(), SSL_KEY_UPDATE_NOT_REQUESTED);
            sender.queue("line\r\n");
            if (!co_await sender.send()) break;
          }
        },
        asio::detached);
    asio::co_spawn(
        io_,
        [&]() -> awaitable<void> {
          receiver.set_timeout(std::chrono::seconds(5));
          while (lines < count) {
            auto line = co_await receiver.read_line(512);
            if (!line) {
              why = line.error().interrupt;
              break;
            }
            ++lines;
          }
          finished = true;
        },
        asio::detached);
    while (!finished && io_.run_one_for(std::chrono::seconds(10)) > 0) {
    }
    EXPECT_TRUE(finished);
    return {lines, why};
  }

  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> server_tls_ = key_update_server_context();
  asio::ssl::context client_tls_{asio::ssl::context::tls_client};
  std::shared_ptr<Connection> server_, client_;
};

TEST_F(KeyUpdateOverTls, AsManyAsTheLimitAreAnswered) {
  EXPECT_EQ(key_updates(*client_, *server_, kMaxKeyUpdatesPerMinute),
            std::make_pair(kMaxKeyUpdatesPerMinute, Interrupt::None));
}

TEST_F(KeyUpdateOverTls, OneMoreFailsTheServersReadAsAFlood) {
  auto [lines, why] = key_updates(*client_, *server_, 3 * kMaxKeyUpdatesPerMinute);
  EXPECT_EQ(why, Interrupt::KeyUpdateFlood);
  EXPECT_LE(lines, kMaxKeyUpdatesPerMinute);
}

TEST_F(KeyUpdateOverTls, AServerThatFloodsTheClientFailsTheClientsRead) {
  auto [lines, why] = key_updates(*server_, *client_, 3 * kMaxKeyUpdatesPerMinute);
  EXPECT_EQ(why, Interrupt::KeyUpdateFlood);
  EXPECT_LE(lines, kMaxKeyUpdatesPerMinute);
}

}  // namespace
}  // namespace sluice::net
