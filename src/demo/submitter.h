// The demo's mail clients: one blocking SMTP transaction to a gateway on loopback, as alice's
// mail client would make it (plain), or as an old printer would (STARTTLS with its TLS 1.0 stack,
// then AUTH LOGIN), with a transcript to show.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "demo/interrupt.h"

namespace sluice::demo {

struct SubmitResult {
  bool accepted = false;                ///< the end of DATA got 250
  std::string queue_id;                 ///< from "250 2.6.0 <id> Queued mail for delivery", if present
  std::vector<std::string> transcript;  ///< "C: MAIL FROM:<...>" / "S: 250 2.1.0 Sender OK"
  std::string error;                    ///< why not accepted
  std::string tls_version;              ///< after STARTTLS: "TLSv1", "TLSv1.2"; "" without TLS
};

/// What the session does beyond plain SMTP (the printer of the demo's second act).
struct DeviceSession {
  bool starttls = false;      ///< STARTTLS after EHLO, then EHLO again
  int max_tls_version = 0;    ///< its TLS stack's highest version (OpenSSL's TLS1_VERSION...); 0: any
  std::string auth_user;      ///< AUTH LOGIN with this user when not empty
  std::string auth_password;  ///< shown as **** in the transcript
};
/// An SMTP transaction to 127.0.0.1:`port`: EHLO, (STARTTLS, EHLO, AUTH LOGIN per `device`,) MAIL,
/// RCPT, DATA, QUIT, each reply awaited; `message` has LF or CRLF line ends (sent as CRLF,
/// dot-stuffed). The server's certificate is not verified (a device rarely can).
SubmitResult submit_message(std::uint16_t port, const std::string& helo, const std::string& from, const std::string& to,
                            const std::string& message, Millis timeout, const DeviceSession& device = {});

/// The queue id in a "250 2.6.0 0005F1A2B3C40001 Queued mail for delivery" reply text: the first
/// word of 8 to 64 upper-case hex digits or ASCII letters and digits after the code; "" if none.
std::string queue_id_from_reply(std::string_view reply);

}  // namespace sluice::demo
