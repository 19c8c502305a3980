// Sender rewriting for devices (docs/relay-for-devices.md): a printer that sends as
// root@localhost or scanner@printer.local gets a sender the next hop (Exchange Online) accepts.
// The envelope sender is rewritten at MAIL FROM, the From: and Sender: header fields when the
// message is built; the original header addresses are kept in X-Original-Sender:.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/user_database.h"

namespace sluice::inbound {

/// The rewrite tables that apply to one session, in order of precedence: an authenticated user's
/// table (when it has one) is added before the receive connector's. The first matching entry of
/// the first table with a match wins. Holds pointers: the tables must outlive it.
class SenderRewriter {
 public:
  /// Adds `table` after those added before: it applies only where they have no match.
  void add(const std::vector<auth::SenderRewrite>& table);
  bool empty() const;
  /// The replacement for `address` ("root@localhost" -> "alerts@contoso.com"); nullopt when no
  /// entry matches. Callers keep the null sender <> away from it: it is never rewritten.
  std::optional<std::string> rewrite(std::string_view address) const;

 private:
  std::vector<const std::vector<auth::SenderRewrite>*> tables_;
};

/// One address changed in a header field.
struct HeaderRewrite {
  std::string field;  ///< "From" or "Sender", as the message spells it
  std::string original;
  std::string replacement;
};

/// Rewrites, in the header block at the start of `message` (CRLF lines, as the DATA decoder
/// keeps them), each mailbox of every From: and Sender: field whose address the rewriter maps.
/// Only the address is replaced: display names (encoded words too), comments and folding stay
/// as they were. When something changed, an X-Original-Sender: field listing the original
/// addresses is put at the top of the header. Returns what changed, in header order.
std::vector<HeaderRewrite> rewrite_sender_headers(std::string& message, const SenderRewriter& rewriter);

}  // namespace sluice::inbound
