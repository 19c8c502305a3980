// sluice's configuration: the TOML schema (docs/configuration.md), its defaults, and the one-line
// errors that name the file, the key and the problem.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "auth/user_database.h"
#include "base/result.h"
#include "config/accepted_domains.h"
#include "config/recipient_validation.h"
#include "net/cidr.h"
#include "net/proxy_header.h"
#include "smtp/reply.h"
#include "tls/policy.h"

namespace sluice::config {

/// "127.0.0.1:2525", "[::1]:2525", "0.0.0.0:25", "[::]:25".
struct ListenAddress {
  std::string host;  ///< without brackets
  std::uint16_t port = 0;
  std::string str() const;  ///< brackets around IPv6
};
/// "IPv4:port" or "[IPv6]:port" with a numeric address and port 1-65535; the error explains the
/// expected form in one line. The host is kept in its canonical form ("[::0]:25" becomes "::"),
/// so equal addresses compare equal.
Result<ListenAddress> parse_listen_address(std::string_view text);
bool operator==(const ListenAddress& a, const ListenAddress& b);

/// Who may relay through a receive connector: send mail to domains that are not accepted domains.
enum class RelayPermission {
  None,           ///< nobody: the connector accepts mail for accepted domains only
  Ranges,         ///< clients in the connector's relay_from
  Authenticated,  ///< clients that authenticated with SMTP AUTH as a user whose entry may relay
};
std::string_view relay_permission_name(RelayPermission permission);  ///< "none", "ranges", "authenticated"

/// Who may give MAIL FROM in an accepted domain (spoof protection).
enum class AcceptedDomainSenders {
  RelayClients,  ///< only clients that may relay here; the others get 550 5.7.1
  Anyone,        ///< every client of the connector (a partner sending the organisation's own mail)
};

/// The SASL mechanisms a receive connector can offer (RFC 4954 SMTP AUTH).
enum class ReceiveAuthMechanism { Plain, Login };
/// "plain", "login": lower case as in the configuration (EHLO and AUTH replies upper-case them).
std::string_view receive_auth_mechanism_name(ReceiveAuthMechanism mechanism);

struct ReceiveConnector {
  std::string name;
  std::vector<ListenAddress> listen;
  std::vector<net::Cidr> remote_ranges;  ///< default: all of IPv4 and IPv6
  bool starttls = true;                  ///< advertise STARTTLS
  bool require_tls = false;              ///< MAIL/RCPT/DATA/VRFY before STARTTLS get require_tls_reply
  smtp::Reply require_tls_reply;         ///< default "451 5.7.3 Must issue a STARTTLS command first"
  tls::Policy tls;
  RelayPermission relay = RelayPermission::None;
  std::vector<net::Cidr> relay_from;  ///< relay = Ranges: the clients that may relay
  AcceptedDomainSenders accepted_domain_senders = AcceptedDomainSenders::RelayClients;
  /// SMTP AUTH against the users_file (`auth = true` or an auth table): offered after STARTTLS
  /// only, unless allow_plaintext_auth (accepted only when remote_ranges are not the whole Internet).
  bool auth = false;
  /// What EHLO offers, in this order; AUTH with another mechanism gets 504 5.5.4. Not empty.
  std::vector<ReceiveAuthMechanism> auth_mechanisms{ReceiveAuthMechanism::Plain, ReceiveAuthMechanism::Login};
  bool allow_plaintext_auth = false;
  std::size_t max_auth_failures = 3;  ///< failed AUTH attempts in one session before 421 and close
  /// Senders of devices rewritten to addresses the next hop accepts, first match in file order
  /// (inbound/sender_rewrite.h): the envelope sender and the From:/Sender: header fields.
  std::vector<auth::SenderRewrite> rewrite_senders;
  /// Ask for a client certificate during STARTTLS and refuse MAIL (530 5.7.1) unless one was
  /// presented, chains to client_ca_file and names one of client_certificate_names. Implies
  /// require_tls. Off: no certificate is requested (docs/relay-for-devices.md).
  bool require_client_certificate = false;
  /// "mail.protection.outlook.com", "*.partner.example" (one label in front): matched against the
  /// certificate's SAN DNS names, or its subject CN when it has none.
  std::vector<std::string> client_certificate_names;
  std::filesystem::path client_ca_file;  ///< PEM CA certificates that client certificates must chain to
  /// RFC 8689: EHLO offers REQUIRETLS inside TLS, and MAIL FROM:<...> REQUIRETLS is taken there. Off:
  /// neither (the parameter gets 555 as any unknown one).
  bool requiretls = true;
  /// `sluice queue move` (docs/queue.md, "Moving a queue to another node"): EHLO offers XMOVE to
  /// clients that may relay here, and MAIL/RCPT take its parameters (queue/move_parameters.h), so a
  /// message keeps its arrival time and retry history. Needs relay = "ranges" or "authenticated".
  bool accept_moved_mail = false;

  // PROXY protocol (docs/load-balancer.md). Connectors sharing a listen address agree on these:
  // the header is read before the client's address chooses among them.
  /// The header versions a connection from proxy_from must begin with; nullopt: off.
  std::optional<net::ProxyVersions> proxy_protocol;
  std::vector<net::Cidr> proxy_from;      ///< the load balancers; required with proxy_protocol
  std::chrono::seconds proxy_timeout{5};  ///< for the whole header (Postfix's smtpd_proxy_timeout)
};

using Seconds = std::chrono::seconds;

/// "30s", "5m", "1h", "1h30m", "2h5m10s" (units h, m, s, each at most once, in that order).
/// nullopt for anything else, including a bare number, and beyond 365 days.
std::optional<Seconds> parse_duration(std::string_view text);

struct Limits {
  std::uint64_t max_message_size = 36700160;  ///< SIZE, bytes (Exchange's 35 MiB default)
  std::size_t max_recipients = 200;           ///< per message
  std::size_t max_errors = 20;                ///< 4xx/5xx replies without a delivered message before 421
  /// Commands that do not advance a transaction (NOOP, RSET, VRFY, EXPN, HELP, EHLO, HELO) without a
  /// delivered message before 421 (Postfix's smtpd_junk_command_limit).
  std::size_t max_junk_commands = 100;
  /// Received: fields a message may arrive with (Delivered-To: too for local delivery); more is
  /// a mail loop (RFC 5321 6.3; Postfix's hopcount_limit, Exchange's MaxHopCount).
  std::size_t max_hop_count = 50;
  std::size_t max_connections = 10000;  ///< overall
  std::size_t max_connections_per_ip = 50;
  std::size_t max_command_line = 512;  ///< octets incl. CRLF (RFC 5321 4.5.3.1.4)
  std::size_t max_text_line = 1000;    ///< octets incl. CRLF (RFC 5321 4.5.3.1.6)
  Seconds command_timeout{300};        ///< waiting for a command (RFC 5321 4.5.3.2.7)
  Seconds data_timeout{180};           ///< between data blocks (RFC 5321 4.5.3.2.5)
  Seconds tls_handshake_timeout{60};
  Seconds shutdown_grace{30};  ///< sessions in DATA may finish this long after SIGTERM
};

/// A next hop given by the administrator: "[host]:port" (no MX lookup, as Exchange's brackets
/// mean), "host:port" or "host" (MX lookup of host first, then its addresses).
struct SmartHost {
  std::string host;  ///< name or IP address, without brackets
  std::uint16_t port = 25;
  bool literal = false;     ///< written in brackets: connect to host's addresses, skip MX
  std::string str() const;  ///< as it would be written in the configuration
};
/// Fails with a one-line reason and the forms that are accepted.
Result<SmartHost> parse_smart_host(std::string_view text);

/// How a send connector uses TLS, by default and per destination in its policy table (docs/outbound.md,
/// "TLS policy"). None..Verify are chasquid-style ordered levels; Dane, DaneOnly and MtaSts ask DNS
/// and the destination's published policy which of them applies.
enum class OutboundTls {
  None,           ///< never STARTTLS
  Opportunistic,  ///< STARTTLS when offered; plaintext when not (and, with fallback, after a failed handshake)
  Required,       ///< STARTTLS must succeed, certificate not checked; never plaintext
  Verify,         ///< Required plus chain validation (system trust store or ca_file) and name match
  Dane,           ///< DANE where DNSSEC gives usable TLSA records; else MTA-STS when published; else opportunistic
  DaneOnly,       ///< DANE or nothing: no usable DNSSEC-validated TLSA records defers the mail
  MtaSts,         ///< MTA-STS when the domain publishes a policy; else opportunistic
};
/// "none", "opportunistic", "required", "verify", "dane", "dane-only", "mta-sts"
std::string_view outbound_tls_name(OutboundTls mode);

/// One entry of a send connector's TLS policy table ([send_connector.tls_destinations]; the idea of
/// Postfix's smtp_tls_policy_maps).
struct TlsDestination {
  std::string domain;  ///< "example.org" (that domain), "*.example.org" (its subdomains, not itself)
  OutboundTls mode = OutboundTls::Opportunistic;
  std::vector<std::string> match;           ///< Verify: names the certificate must carry; empty: the host
  std::optional<tls::Version> min_version;  ///< raises the connector's tls_policy.min_version
};

/// How a send connector authenticates to its smart host ([send_connector.auth], docs/relay-for-devices.md).
/// Always inside TLS: a connector never sends credentials in plaintext, whatever its `tls`.
enum class SendAuthMechanism { None, Plain, Login, XOAuth2 };
std::string_view send_auth_mechanism_name(SendAuthMechanism mechanism);  ///< "none", "plain", "login", "xoauth2"

struct SendAuth {
  SendAuthMechanism mechanism = SendAuthMechanism::None;
  std::string username;                 ///< PLAIN/LOGIN user; for XOAUTH2 the mailbox the app sends as
  std::filesystem::path password_file;  ///< PLAIN/LOGIN: first line is the password; not readable by others
  // XOAUTH2: the OAuth 2.0 client credentials grant (RFC 6749 4.4).
  std::string token_endpoint;  ///< empty: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token
  std::string tenant;
  std::string client_id;
  std::filesystem::path client_secret_file;  ///< either this, or a client certificate and key
  std::filesystem::path client_certificate;  ///< PEM; signs a JWT client assertion (RFC 7523)
  std::filesystem::path client_key;
  std::string scope = "https://outlook.office365.com/.default";
  std::filesystem::path ca_file;  ///< trust for the token endpoint; empty: the system store
};

struct SendConnector {
  std::string name;
  /// Recipient domains served: "*" (everything), "example.org" (that domain only),
  /// "*.example.org" (its subdomains and itself). The most specific match wins.
  std::vector<std::string> address_spaces{"*"};
  std::vector<SmartHost> smart_hosts;  ///< empty: MX lookup of the recipient domain
  std::uint16_t port = 25;             ///< port for MX-routed delivery (tests use unprivileged ones)
  OutboundTls tls = OutboundTls::Opportunistic;
  /// Per destination, most specific first when looked up (outbound/destination_policy).
  std::vector<TlsDestination> tls_destinations;
  bool fallback_to_plaintext = true;  ///< Opportunistic only: retry without TLS after a failed handshake
  tls::Policy tls_policy;             ///< [send_connector.tls_policy]; certificate/key: the client certificate
  std::filesystem::path ca_file;      ///< Verify: trust these CAs instead of the system store
  std::string helo;                   ///< EHLO name; empty: the gateway's hostname
  std::size_t max_connections_per_host = 5;
  SendAuth auth;  ///< [send_connector.auth]
};

/// Retry and lifetime of queued mail (docs/queue.md).
struct QueueSettings {
  Seconds retry_min{60};             ///< first retry after this long
  Seconds retry_max{3600};           ///< backoff doubles up to this
  Seconds lifetime{48 * 3600};       ///< then bounce (Exchange Online's 48 hours)
  Seconds delay_warning{0};          ///< send a "delayed" DSN after this long; 0: never
  std::size_t max_deliveries = 100;  ///< concurrent outbound transactions overall
  Seconds hop_backoff_max{1800};     ///< a next hop that keeps failing is not tried more often than its backoff
};

/// What happens to mail for authoritative accepted domains once it is queued.
enum class LocalDelivery {
  Maildir,  ///< into <state_dir>/maildir/<local part>/new, fsynced
  Discard,  ///< dropped (recorded as delivered): a sink for tests and benchmarks, like Postfix's discard
};

/// How large a log's files grow and how long its directory keeps them (docs/protocol-log.md,
/// Retention): Exchange's *LogMaxFileSize, *LogMaxAge and *LogMaxDirectorySize.
struct LogLimits {
  std::uint64_t max_file_size = 10ull << 20;        ///< a file past this starts the next <n> (10 MB)
  Seconds max_age{30 * 24 * 3600};                  ///< older files are removed; 0: "unlimited"
  std::uint64_t max_directory_size = 250ull << 20;  ///< the oldest files go beyond this; 0: "unlimited"
};

/// [protocol_log]: the receive (RECV*.LOG) and send (SEND*.LOG) directories, each its own limits.
struct ProtocolLogSettings {
  LogLimits receive;
  LogLimits send;
};

/// The message tracking log (docs/message-tracking.md).
struct MessageTracking {
  bool enabled = true;
  std::filesystem::path dir;                              ///< empty: <state_dir>/logs/MessageTracking
  LogLimits limits{.max_directory_size = 1000ull << 20};  ///< Exchange's MessageTrackingLogMaxDirectorySize
};

/// [mta_sts]: how the sending side fetches MTA-STS policies (docs/outbound.md, "MTA-STS").
struct MtaStsSettings {
  std::filesystem::path ca_file;   ///< trust for the policy hosts' certificates; empty: the system store
  std::uint16_t https_port = 443;  ///< a testing aid: where policy hosts listen (443 on the Internet)
  Seconds connect_timeout{10};     ///< RFC 8461 3.3 suggests a minute at most for a fetch
  Seconds fetch_timeout{30};       ///< the whole fetch
};

/// [tls_reporting]: TLS-RPT reports about our outbound sessions (RFC 8460; docs/outbound.md).
struct TlsReporting {
  bool enabled = false;
  std::string organization;       ///< organization-name; default: the hostname
  std::string contact;            ///< contact-info; default: postmaster@<hostname>
  std::string submitter;          ///< TLS-Report-Submitter; default: the hostname
  std::string from;               ///< the report mail's sender; default: tlsrpt-noreply@<hostname>
  Seconds interval{86400};        ///< the reporting period (aligned to UTC midnight for whole days)
  std::filesystem::path ca_file;  ///< CAs for https: rua POSTs; empty: the system store
  /// RFC 8460 5.3: report mail is DKIM-signed when a key is given (with its selector).
  std::filesystem::path dkim_key;  ///< PEM RSA private key, mode 0600 or stricter; empty: unsigned
  std::string dkim_selector;       ///< s=, the key's record is at <selector>._domainkey.<dkim_domain>
  std::string dkim_domain;         ///< d=; default: the domain of `from`
};

struct Config {
  std::filesystem::path state_dir;
  std::string hostname;
  /// local_domains (as authoritative), then [[accepted_domain]], in file order; default "localhost".
  std::vector<AcceptedDomain> accepted_domains;
  LocalDelivery local_delivery = LocalDelivery::Maildir;
  Limits limits;
  std::vector<ReceiveConnector> receive_connectors;
  std::vector<SendConnector> send_connectors;  ///< default: one "Default Outbound" for "*"
  std::vector<std::string> dns_servers;        ///< "127.0.0.1:5353"; empty: the system's resolv.conf
  /// Validating resolvers whose AD bit is trusted (DANE); unset: the loopback ones among the
  /// DNS servers (docs/outbound.md, "DANE").
  std::optional<std::vector<std::string>> dnssec_trusted_resolvers;
  /// How long one DNS query may take, c-ares's retries included, before it counts as a
  /// temporary failure ("DNS timeout"): 1 s to 60 s.
  Seconds dns_timeout{10};
  QueueSettings queue;
  ProtocolLogSettings protocol_log;
  MessageTracking message_tracking;
  MtaStsSettings mta_sts;
  RecipientValidation recipient_validation;
  /// The SMTP AUTH users file (auth::UserDatabase), shared by every receive connector with auth;
  /// unset, no connector may enable auth.
  std::filesystem::path users_file;
  /// The account `sluice serve` runs as when started as root (docs/security.md, "Least privilege");
  /// unset: "sluice". Ignored when not started as root.
  std::optional<std::string> user;
  /// Where GET /metrics and /healthz are served (docs/metrics.md); unset: nowhere. Loopback only
  /// unless admin_listen_public.
  std::optional<ListenAddress> admin_listen;
  bool admin_listen_public = false;
  /// The name of this gateway in a fleet: the metrics' sluice_node_info{node="..."} (docs/metrics.md,
  /// "Several gateways"); empty: the hostname.
  std::string node_name;
  TlsReporting tls_reporting;
  /// Deprecated keys the file used, and settings to be careful with (a public admin_listen), one
  /// line each ("<file>: line N: <key>: ..."): logged as warnings at start, never errors.
  std::vector<std::string> notes;
};

/// A snapshot pointer that does not own `config`: for a Config the caller keeps alive longer than
/// every user (tests). The gateway's snapshots own theirs (a reload replaces them, and a session
/// keeps the one it started with).
inline std::shared_ptr<const Config> unowned_snapshot(const Config& config) {
  return std::shared_ptr<const Config>(std::shared_ptr<const Config>(), &config);
}

/// Where the message tracking log is: message_tracking.dir, else <state_dir>/logs/MessageTracking.
std::filesystem::path message_tracking_dir(const Config& config);

/// A bad configuration. what() is one line: "<file>: <key>: <problem>", e.g.
/// "/etc/sluice.toml: receive_connector[1].tls.min_version: \"1.5\" is not one of 1.0, 1.1, 1.2, 1.3".
/// When the reader went on past the first problem (parse_config reads every section), `problems`
/// lists each one, the first being what(); empty when what() is the only one.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
  std::vector<std::string> problems;
};
/// Every problem of `error`, one line each: its problems, or what() alone.
std::vector<std::string> problems_of(const ConfigError& error);

/// The zero-configuration gateway: hostname from the system, "localhost" authoritative, one
/// connector "Default" on 127.0.0.1:2525 and [::1]:2525 for every client, TLS "default" profile,
/// state_dir /var/lib/sluice for root, else $XDG_STATE_HOME/sluice or ~/.local/state/sluice.
Config default_config();

/// Parses TOML text (source_name is used in error messages). Keys not given keep default_config()
/// values; a config without [[receive_connector]] gets the default connector. Unknown keys,
/// wrong types and bad values throw ConfigError.
Config parse_config(std::string_view toml_text, std::string_view source_name);
/// Reads and parses a file; an unreadable file is a ConfigError too.
Config load_config(const std::filesystem::path& path);

/// The send connector for a recipient domain (lower-case): the most specific address space
/// wins ("example.org" over "*.example.org" over "*"); nullptr when none serves it.
const SendConnector* select_send_connector(const Config& config, std::string_view domain_key);

/// True when `domain_key` (lower-case) is in an authoritative accepted domain: delivered here.
bool is_local_domain(const Config& config, std::string_view domain_key);
/// The first authoritative accepted domain ("example.org" for "*.example.org"), whose postmaster
/// a bare <postmaster> is; "" when there is none (a pure relay).
std::string primary_domain(const Config& config);

/// Among connectors listening on the same address, the one for this client: the one whose
/// remote range containing the client is the most specific (longest prefix), as Exchange
/// chooses. nullptr when no range contains the client.
const ReceiveConnector* select_connector(const std::vector<const ReceiveConnector*>& candidates,
                                         const asio::ip::address& client);

}  // namespace sluice::config
