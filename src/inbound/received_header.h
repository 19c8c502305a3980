// The Received: header a receive connector prepends (RFC 5321 4.4), carrying the negotiated TLS
// version and cipher the way Exchange writes them.
#pragma once
#include <chrono>
#include <string>

namespace sluice::inbound {

struct ReceivedInfo {
  std::string helo;            ///< what the client said in EHLO/HELO
  std::string client_address;  ///< "192.0.2.1" or "2001:db8::1"
  std::string hostname;        ///< ours
  std::string connector;
  bool esmtp = true;  ///< EHLO rather than HELO
  bool smtputf8 = false;
  std::string authenticated_user;  ///< who the client authenticated as (SMTP AUTH); empty: nobody
  std::string tls_version;         ///< "TLS1_3"; empty for plaintext
  std::string tls_cipher;          ///< "TLS_AES_256_GCM_SHA384"
  std::string queue_id;
  std::string single_recipient;  ///< the "for" clause, only when there is exactly one recipient
  std::chrono::system_clock::time_point time;
};

/// "with" protocol name per RFC 3848 and RFC 6531: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, UTF8SMTP,
/// UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA.
std::string with_protocol(const ReceivedInfo& info);

/// RFC 5322 date, e.g. "Fri, 27 Nov 2026 03:30:00 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point time);

/// The header, folded, ending in CRLF, e.g.
///   Received: from client.example ([192.0.2.1]) by mx.example.org (sluice)
///   	with ESMTPSA (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384)
///   	(authenticated as "scanner1")
///   	(connector "Default Frontend") id 0123456789ABCDEF
///   	for <bob@example.org>; Fri, 27 Nov 2026 03:30:00 +0000
std::string received_header(const ReceivedInfo& info);

}  // namespace sluice::inbound
