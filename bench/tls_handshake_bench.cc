// sluice-tls-bench: what a TLS handshake costs the server inside OpenSSL alone, next to the
// signature that issue 7 calls the handshake ceiling. Both sides run in memory (a BIO pair, no
// sockets, no SMTP), and only the server's calls are timed (thread CPU time), so the figure is
// the floor under any server built on this OpenSSL with sluice's context: `sluice serve` can
// only add to it (sockets, STARTTLS, the protocol log). bench/vs-postfix.sh prints it in its table.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "tls/certificates.h"
#include "tls/policy.h"
#include "tls/server_context.h"

namespace {

bool g_failed = false;  // a failed handshake or signature makes the run exit 1

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

/// sluice's own certificates (ECDSA P-256 and RSA-2048, made as `sluice serve` makes them) in a
/// private directory that lives as long as the process.
const std::vector<sluice::tls::CertificateFiles>& certificates() {
  static const auto files = [] {
    char pattern[] = "/tmp/sluice-tls-bench.XXXXXX";
    const char* dir = mkdtemp(pattern);
    if (dir == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    static const std::filesystem::path state(dir);
    std::atexit([] { std::filesystem::remove_all(state); });
    return sluice::tls::ensure_self_signed(state, "bench.invalid");
  }();
  return files;
}

/// The server context of a receive connector with the default policy (TLS 1.2+).
SSL_CTX* server_context() {
  static const auto context = sluice::tls::make_server_context(sluice::tls::Policy{}, certificates());
  return context->native_handle();
}

/// A new client every time, as a load of new connections is: no session to resume.
SSL_CTX* client_context(int version) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  return ctx;
}

/// One handshake over a BIO pair; returns the server's CPU seconds (SSL_new to SSL_free,
/// session tickets included) or a negative value if the handshake failed.
double server_handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  double server_cpu = 0;
  double t0 = thread_cpu_seconds();
  SSL* server = SSL_new(server_ctx);
  server_cpu += thread_cpu_seconds() - t0;
  SSL* client = SSL_new(client_ctx);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  bool client_done = false, server_done = false, failed = false;
  for (int round = 0; round < 20 && !failed && !(client_done && server_done); ++round) {
    if (!client_done) {
      int r = SSL_do_handshake(client);
      if (r == 1)
        client_done = true;
      else if (SSL_get_error(client, r) != SSL_ERROR_WANT_READ)
        failed = true;
    }
    if (!server_done && !failed) {
      t0 = thread_cpu_seconds();
      int r = SSL_do_handshake(server);
      server_cpu += thread_cpu_seconds() - t0;
      if (r == 1)
        server_done = true;
      else if (SSL_get_error(server, r) != SSL_ERROR_WANT_READ)
        failed = true;
    }
  }
  SSL_free(client);
  t0 = thread_cpu_seconds();
  SSL_free(server);
  server_cpu += thread_cpu_seconds() - t0;
  return failed || !server_done ? -1 : server_cpu;
}

void ServerHandshake(benchmark::State& state, int version) {
  SSL_CTX* client_ctx = client_context(version);
  SSL_CTX* server_ctx = server_context();
  for (auto _ : state) {
    double cpu = server_handshake(client_ctx, server_ctx);
    if (cpu < 0) {
      g_failed = true;
      state.SkipWithError("handshake failed");
      break;
    }
    state.SetIterationTime(cpu);
  }
  state.SetItemsProcessed(state.iterations());
  SSL_CTX_free(client_ctx);
}
BENCHMARK_CAPTURE(ServerHandshake, tls13, TLS1_3_VERSION)->UseManualTime();
BENCHMARK_CAPTURE(ServerHandshake, tls12, TLS1_2_VERSION)->UseManualTime();

/// The signature the server makes in each handshake, with the same key (the first certificate).
void Sign(benchmark::State& state, std::size_t which) {
  FILE* f = std::fopen(certificates().at(which).key.c_str(), "r");
  EVP_PKEY* key = f ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr) : nullptr;
  if (f) std::fclose(f);
  if (key == nullptr) {
    g_failed = true;
    state.SkipWithError("cannot read the key");
    return;
  }
  const unsigned char message[32] = {1, 2, 3};  // a handshake transcript hash is this size
  unsigned char signature[512];
  for (auto _ : state) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    std::size_t length = sizeof signature;
    if (EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(md, signature, &length, message, sizeof message) != 1) {
      g_failed = true;
      state.SkipWithError("signing failed");
      EVP_MD_CTX_free(md);
      break;
    }
    EVP_MD_CTX_free(md);
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
  EVP_PKEY_free(key);
}
BENCHMARK_CAPTURE(Sign, ecdsa_p256, 0);
BENCHMARK_CAPTURE(Sign, rsa_2048, 1);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return g_failed ? 1 : 0;
}
