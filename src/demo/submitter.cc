#include "demo/submitter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>

#include "base/base64.h"
#include "smtp/dot_stuffing.h"
#include "smtp/reply_reader.h"

namespace sluice::demo {
namespace {

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;

/// The client's end of the connection: the socket, and once STARTTLS is done its TLS session.
/// Blocking, with SO_RCVTIMEO/SO_SNDTIMEO on the socket as the timeout.
class ClientChannel {
 public:
  explicit ClientChannel(int fd) : fd_(fd) {}

  /// Sends all of `data`; false on error or timeout.
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ssl_ ? SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()))
                       : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (errno == EINTR) {
          check_interrupted();
          if (!ssl_) continue;
        }
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// One line without CRLF; nullopt on close, error or timeout.
  std::optional<std::string> line() {
    for (;;) {
      auto end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        std::string out = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return out;
      }
      if (buffer_.size() > 64 * 1024) return std::nullopt;
      char chunk[4096];
      ssize_t n = ssl_ ? SSL_read(ssl_.get(), chunk, sizeof chunk) : ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) {
        check_interrupted();
        if (!ssl_) continue;
      }
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// The TLS handshake, offering at most `max_version` (0: any). An old device's stack: any
  /// cipher and signature the library still has (security level 0), no certificate check. The
  /// negotiated version ("TLSv1"), or an error saying why the handshake failed.
  Result<std::string> start_tls(int max_version) {
    SslCtxPtr context(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
    if (!context) return fail("cannot create a TLS context");
    SSL_CTX_set_security_level(context.get(), 0);
    SSL_CTX_set_cipher_list(context.get(), "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(context.get(), max_version == 0 ? 0 : TLS1_VERSION);
    SSL_CTX_set_max_proto_version(context.get(), max_version);
    ssl_ = SslPtr(SSL_new(context.get()), &SSL_free);
    if (!ssl_ || SSL_set_fd(ssl_.get(), fd_) != 1) return fail("cannot create a TLS session");
    if (SSL_connect(ssl_.get()) != 1) {
      unsigned long code = ERR_get_error();
      char text[256] = "the server closed the connection";
      if (code) ERR_error_string_n(code, text, sizeof text);
      ERR_clear_error();
      ssl_.reset();
      return fail(std::string("TLS handshake failed: ") + text);
    }
    return std::string(SSL_get_version(ssl_.get())) + ", cipher " + SSL_get_cipher_name(ssl_.get());
  }

  ~ClientChannel() {
    if (ssl_) SSL_shutdown(ssl_.get());
  }

 private:
  int fd_;
  SslPtr ssl_{nullptr, &SSL_free};
  std::string buffer_;
};

}  // namespace

std::string queue_id_from_reply(std::string_view reply) {
  std::istringstream words{std::string(reply)};
  std::string word;
  bool first = true;
  while (words >> word) {
    if (first) {  // the reply code
      first = false;
      continue;
    }
    if (word.size() < 8 || word.size() > 64) continue;
    bool id_like = std::all_of(word.begin(), word.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'Z');
    });
    bool has_digit =
        std::any_of(word.begin(), word.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (id_like && has_digit) return word;
  }
  return "";
}

SubmitResult submit_message(std::uint16_t port, const std::string& helo, const std::string& from, const std::string& to,
                            const std::string& message, Millis timeout, const DeviceSession& device) {
  SubmitResult result;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result.error = std::string("socket: ") + std::strerror(errno);
    return result;
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  while (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno == EINTR) {
      check_interrupted();
      continue;
    }
    result.error = "connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
    return result;
  }
  ClientChannel channel(fd);
  // Reads one reply into the transcript; its code, or 0 on a broken connection or bad reply.
  auto reply = [&]() -> int {
    smtp::ReplyAssembler assembler;
    for (;;) {
      auto line = channel.line();
      if (!line) {
        result.error = "the server closed the connection or did not answer in time";
        return 0;
      }
      result.transcript.push_back("S: " + *line);
      auto status = assembler.add(*line);
      if (status == smtp::ReplyAssembler::Status::Error) {
        result.error = "malformed reply: " + assembler.error();
        return 0;
      }
      if (status == smtp::ReplyAssembler::Status::Complete) return assembler.take().code;
    }
  };
  // `shown`: what the transcript says was sent, when not `line` itself (a password).
  auto command = [&](const std::string& line, int expected_class, std::string_view shown = {}) -> bool {
    result.transcript.push_back("C: " + (shown.empty() ? line : std::string(shown)));
    if (!channel.send_all(line + "\r\n")) {
      result.error = "cannot send " + (shown.empty() ? line : std::string(shown)) + ": " + std::strerror(errno);
      return false;
    }
    int code = reply();
    if (code / 100 != expected_class) {
      if (result.error.empty())
        result.error =
            (shown.empty() ? line : std::string(shown)) + " was answered " + result.transcript.back().substr(3);
      return false;
    }
    return true;
  };
  if (reply() != 220) {
    if (result.error.empty()) result.error = "no 220 greeting";
    return result;
  }
  if (!command("EHLO " + helo, 2)) return result;
  if (device.starttls) {
    if (!command("STARTTLS", 2)) return result;
    auto tls = channel.start_tls(device.max_tls_version);
    if (!tls) {
      result.error = tls.error().message;
      return result;
    }
    result.transcript.push_back("   (TLS handshake: " + *tls + ")");
    result.tls_version = tls->substr(0, tls->find(','));
    if (!command("EHLO " + helo, 2)) return result;
  }
  if (!device.auth_user.empty()) {
    if (!command("AUTH LOGIN", 3) || !command(base64_encode(device.auth_user), 3) ||
        !command(base64_encode(device.auth_password), 2, "**** (the password, base64)"))
      return result;
  }
  if (!command("MAIL FROM:<" + from + ">", 2) || !command("RCPT TO:<" + to + ">", 2) || !command("DATA", 3))
    return result;
  std::string payload = smtp::dot_stuff(message);
  const std::size_t terminator = 3;  // ".\r\n", shown as a line of its own
  result.transcript.push_back("C: (" + std::to_string(payload.size() - terminator) + " octets of message)");
  result.transcript.push_back("C: .");
  if (!channel.send_all(payload)) {
    result.error = std::string("cannot send the message: ") + std::strerror(errno);
    return result;
  }
  int code = reply();
  if (code != 250) {
    if (result.error.empty()) result.error = "the message was answered " + result.transcript.back().substr(3);
    return result;
  }
  result.accepted = true;
  result.queue_id = queue_id_from_reply(result.transcript.back().substr(3));
  command("QUIT", 2);
  result.error.clear();
  return result;
}

}  // namespace sluice::demo
