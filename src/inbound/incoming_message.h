// A message as DATA delivers it, on its way to the spool: what a session keeps in memory is
// bounded whatever the message's size (docs/smtp.md, "Message data").
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sluice::inbound {

/// Takes the decoded content (smtp::DataDecoder) piece by piece and hands out the bytes of the
/// message as stored: our Received: header first, then the client's header section, then the
/// body. The header section is held whole, up to `header_limit` octets of the client's, so that
/// it can be edited (sender rewriting) before any of it is passed on and checked after the end
/// of data (Message-ID, hop count); as Postfix's header_size_limit, a header section that does not
/// end within the limit ends at the last line break inside it and the rest counts as body. The
/// body is never held beyond what waits to be written: the caller takes pending() whenever
/// ready() says so.
class IncomingMessage {
 public:
  /// Octets of pending() at which it is worth a write.
  static constexpr std::size_t kWriteChunk = 64 * 1024;

  /// `received` (our Received: header) ends with CRLF. `edit_header` runs once, on the client's
  /// header section when it is complete (empty function: none).
  IncomingMessage(std::string received, std::size_t header_limit, std::function<void(std::string&)> edit_header);

  /// Takes the next decoded content.
  void add(std::string_view content);
  /// The end of data: a header section still open ends here.
  void finish();

  /// Bytes of the stored message not yet taken, in order.
  std::string_view pending() const { return pending_; }
  /// True when pending() is at least kWriteChunk.
  bool ready() const { return pending_.size() >= kWriteChunk; }
  /// The caller has taken pending() (its buffer is kept for the next bytes).
  void taken() { pending_.clear(); }

  /// True once the header section has ended (its empty line, the limit, or finish()).
  bool header_complete() const { return header_complete_; }
  /// The stored message's header section: our Received: header, then the client's header
  /// fields as edited, without the empty line that ends them. Whole once header_complete().
  std::string_view header_section() const { return header_; }
  /// header_section() without our Received: header: the fields the message came with (the hop
  /// count is taken over these, as on a message that was never ours).
  std::string_view client_header_section() const { return std::string_view(header_).substr(received_size_); }
  /// Octets of the stored message so far (taken or pending).
  std::uint64_t size() const { return size_; }

 private:
  /// The header section ends before header_[end]: edit it and pass it on, with what follows.
  void complete_header(std::size_t end);
  void pass_on(std::string_view bytes);

  std::string header_;
  std::size_t received_size_;  ///< header_ starts with our Received: header
  std::size_t header_limit_;
  std::function<void(std::string&)> edit_header_;
  bool header_complete_ = false;
  std::string pending_;
  std::uint64_t size_ = 0;
};

}  // namespace sluice::inbound
