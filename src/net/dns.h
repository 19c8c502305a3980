// DNS for mail routing (RFC 5321 5.1): MX lookup with implicit MX and null MX, and addresses, via
// c-ares. Blocking calls meant for a worker thread; the delivery code awaits them off the network
// thread.
#pragma once
#include <asio/ip/address.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tls/tlsa.h"

namespace sluice::net {

struct MxHost {
  std::string name;  ///< host name without trailing dot
  int preference = 0;
  bool implicit = false;  ///< no MX record: the domain itself (RFC 5321 5.1)
};

struct DnsAnswer {
  enum class Status {
    Ok,        ///< hosts/addresses are filled
    NxDomain,  ///< the name does not exist: permanent
    NoData,    ///< the name exists but has no record of that type (for MX: implicit MX is tried first)
    NullMx,    ///< "MX 0 ." (RFC 7505): the domain accepts no mail: permanent
    TempFail,  ///< timeout, SERVFAIL, refused, network error: try again later
  };
  Status status = Status::TempFail;
  std::string error;          ///< human text for logs and last-error, e.g. "SERVFAIL from 127.0.0.1:5353"
  std::vector<MxHost> hosts;  ///< MX: by preference, equal preferences shuffled
  std::vector<asio::ip::address> addresses;  ///< A/AAAA: IPv6 first as returned, then IPv4
  /// The answer was validated by DNSSEC: the AD bit came from a resolver whose AD bit is trusted
  /// (docs/outbound.md, "DNSSEC"). For MX this decides whether DANE applies (RFC 7672 2.2).
  bool secure = false;
  /// A/AAAA: the name the addresses belong to when the host name is an alias, after the CNAME chain
  /// the resolver followed (RFC 7672 2.2.2: DANE looks for TLSA records there first); empty when
  /// the host name is no alias. Covered by `secure` (the validator checked the whole chain).
  std::string canonical_name;
};

/// TXT and TLSA answers (MTA-STS, TLS-RPT, DANE).
struct DnsRecords {
  DnsAnswer::Status status = DnsAnswer::Status::TempFail;  ///< Ok, NxDomain, NoData or TempFail
  std::string error;
  bool secure = false;                ///< as DnsAnswer::secure
  std::vector<std::string> txt;       ///< TXT: each record's character-strings joined, in answer order
  std::vector<tls::TlsaRecord> tlsa;  ///< TLSA records as published (usable or not: the caller decides)
};

/// The lookups mail routing needs, as an interface so that the delivery engine can be tested
/// with answers from a table; Resolver does them over DNS.
class MailLookups {
 public:
  virtual ~MailLookups() = default;
  virtual DnsAnswer mx(const std::string& domain) const = 0;
  virtual DnsAnswer addresses(const std::string& host) const = 0;
  /// TXT records of a name ("_mta-sts.example.org", "_smtp._tls.example.org").
  virtual DnsRecords txt(const std::string& name) const {
    return DnsRecords{DnsAnswer::Status::TempFail, "TXT lookups are not available for " + name, false, {}, {}};
  }
  /// TLSA records of a name ("_25._tcp.mx.example.org").
  virtual DnsRecords tlsa(const std::string& name) const {
    return DnsRecords{DnsAnswer::Status::TempFail, "TLSA lookups are not available for " + name, false, {}, {}};
  }
};

class Resolver : public MailLookups {
 public:
  /// `servers`: "127.0.0.1:5353", "[::1]:53", "192.0.2.1" (port 53); empty: /etc/resolv.conf.
  /// `timeout`: per query overall (c-ares retries within it). Throws std::runtime_error when a
  /// server string is malformed or c-ares cannot start.
  explicit Resolver(std::vector<std::string> servers, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// `trusted`: the validating resolvers whose AD bit makes an answer `secure` (same forms as
  /// `servers`); std::nullopt: every loopback address among the servers queried. An AD bit from
  /// any other server is ignored (docs/outbound.md, "DANE").
  Resolver(std::vector<std::string> servers, std::optional<std::vector<std::string>> trusted,
           std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  /// MX hosts for a domain. No MX but the domain has A/AAAA: one implicit host (the domain).
  /// A domain literal ("[192.0.2.1]") is its own implicit host, without a query. A syntactically
  /// impossible name is NxDomain ("invalid domain name ..."). A server answering SERVFAIL or
  /// REFUSED, or not at all, is passed over for the next configured one while time is left, except
  /// that after a trusted resolver's SERVFAIL untrusted ones are not asked (it may mean "bogus").
  /// Thread-safe (each call uses its own c-ares channel).
  DnsAnswer mx(const std::string& domain) const override;
  /// A and AAAA records of a host; an IP literal ("192.0.2.1", "::1", "[::1]", "[IPv6:...]") is
  /// returned as is without a query. One family answering is enough for Ok.
  DnsAnswer addresses(const std::string& host) const override;
  /// TXT and TLSA records; a malformed record is TempFail ("malformed TLSA record ...").
  DnsRecords txt(const std::string& name) const override;
  DnsRecords tlsa(const std::string& name) const override;

 private:
  DnsRecords records(const std::string& name, int type) const;

  std::vector<std::string> servers_;
  std::optional<std::vector<std::string>> trusted_;
  std::chrono::milliseconds timeout_;
};

}  // namespace sluice::net
