#include "demo/submitter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>

#include "smtp/dot_stuffing.h"
#include "smtp/reply_reader.h"

namespace sluice::demo {
namespace {

/// Sends all of `data`; false on error or timeout.
bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        check_interrupted();
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// A blocking line reader over a socket with SO_RCVTIMEO set.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
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
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) {
        check_interrupted();
        continue;
      }
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
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
                            const std::string& message, Millis timeout) {
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
  LineReader reader(fd);
  // Reads one reply into the transcript; its code, or 0 on a broken connection or bad reply.
  auto reply = [&]() -> int {
    smtp::ReplyAssembler assembler;
    for (;;) {
      auto line = reader.line();
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
  auto command = [&](const std::string& line, int expected_class) -> bool {
    result.transcript.push_back("C: " + line);
    if (!send_all(fd, line + "\r\n")) {
      result.error = "cannot send " + line + ": " + std::strerror(errno);
      return false;
    }
    int code = reply();
    if (code / 100 != expected_class) {
      if (result.error.empty()) result.error = line + " was answered " + result.transcript.back().substr(3);
      return false;
    }
    return true;
  };
  if (reply() != 220) {
    if (result.error.empty()) result.error = "no 220 greeting";
    return result;
  }
  if (!command("EHLO " + helo, 2) || !command("MAIL FROM:<" + from + ">", 2) || !command("RCPT TO:<" + to + ">", 2) ||
      !command("DATA", 3))
    return result;
  std::string payload = smtp::dot_stuff(message);
  const std::size_t terminator = 3;  // ".\r\n", shown as a line of its own
  result.transcript.push_back("C: (" + std::to_string(payload.size() - terminator) + " octets of message)");
  result.transcript.push_back("C: .");
  if (!send_all(fd, payload)) {
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
