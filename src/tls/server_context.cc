#include "tls/server_context.h"

#include <openssl/err.h>

#include <stdexcept>

#include "tls/certificates.h"
#include "tls/context_policy.h"

namespace sluice::tls {
namespace {

int hello_index() {
  // One ex_data slot per process holding a heap ClientHelloInfo, freed with the SSL object.
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<ClientHelloInfo*>(ptr); });
  return index;
}

int on_client_hello(SSL* ssl, int*, void*) {
  auto* info = new ClientHelloInfo(read_client_hello(ssl));
  delete static_cast<ClientHelloInfo*>(SSL_get_ex_data(ssl, hello_index()));
  SSL_set_ex_data(ssl, hello_index(), info);
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace

void throw_openssl_error(const std::string& what) { throw std::runtime_error(what + ": " + openssl_error_text()); }

std::string openssl_error_text() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

const ClientHelloInfo& client_hello_of(SSL* ssl) {
  static const ClientHelloInfo none;
  auto* info = static_cast<ClientHelloInfo*>(SSL_get_ex_data(ssl, hello_index()));
  return info ? *info : none;
}

std::shared_ptr<asio::ssl::context> make_server_context(const Policy& policy,
                                                        const std::vector<CertificateFiles>& certificates) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  apply_policy(ctx, policy);
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  static const unsigned char session_context[] = "sluice";
  SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
  for (const auto& files : certificates) use_certificate_files(ctx, files);
  // The chain sent is what the certificate file holds. Left to itself, OpenSSL would try to
  // build one from this context's store at every handshake of a leaf-only file; the store is
  // empty here (no client certificates are verified), so that search only cost time.
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
  SSL_CTX_set_client_hello_cb(ctx, on_client_hello, nullptr);
  return context;
}

}  // namespace sluice::tls
