// Everything found out about one target, and the plan that finds it: one discovery connection,
// then per TLS version a version test that turns into a cipher enumeration, and a STARTTLS
// injection test, all at once within the host's connection limit.
#pragma once
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "probe/attempt.h"
#include "probe/certificate_facts.h"
#include "probe/cipher_catalog.h"
#include "probe/host_gate.h"
#include "probe/target.h"

namespace sluice::probe {

struct AcceptedSuite {
  const CipherSuite* suite = nullptr;
  std::string key_exchange;  ///< as negotiated when this suite was chosen
};

enum class VersionState { Offered, NotOffered, Unknown, NotTested };
std::string_view version_state_name(VersionState s);

/// Whose preference picks the suite: the server's, ours (the client's), or not knowable.
enum class SuiteOrder { Server, Client, Single, Unknown };
std::string_view suite_order_name(SuiteOrder o);

struct VersionFinding {
  tls::Version version = tls::Version::Unknown;
  VersionState state = VersionState::NotTested;
  std::string detail;                 ///< why not offered (alert, error) or why unknown
  std::vector<AcceptedSuite> suites;  ///< in the server's order when SuiteOrder::Server
  SuiteOrder order = SuiteOrder::Unknown;
  bool enumeration_complete = false;
  int connections = 0;
};

struct Verdict {
  std::string profile;  ///< "exchange-online", "modern"
  bool pass = false;
  std::vector<std::string> reasons;       ///< why it passes or fails, each a full sentence
  std::vector<std::string> consequences;  ///< what happens to mail because of it
};

struct Assessment {
  Target target;
  std::string address;  ///< the address probed, "127.0.0.1"; empty when the name did not resolve
  std::string error;    ///< set when the target could not be assessed at all
  AttemptResult discovery;
  std::array<VersionFinding, 4> versions;    ///< TLS 1.0, 1.1, 1.2, 1.3
  std::optional<bool> injection_vulnerable;  ///< nullopt when the test could not run
  std::string injection_detail;
  std::vector<ChainFacts> chains;  ///< one per distinct leaf certificate seen
  std::vector<Verdict> verdicts;
  std::chrono::milliseconds elapsed{0};
  int connections = 0;

  bool reachable() const { return discovery.smtp.banner.has_value(); }
  bool starttls_offered() const;
  const VersionFinding& finding(tls::Version v) const;
};

struct PlanSettings {
  int retries = 2;  ///< for inconclusive connections (421, timeouts, drops)
  std::chrono::milliseconds retry_delay{1000};
  bool enumerate_suites = true;
  /// A server without its own suite order is enumerated in this many parts side by side.
  int parallel_parts = 4;
  std::string ca_file;
};

/// The four versions a probe tests, oldest first.
const std::array<tls::Version, 4>& probed_versions();

/// Assesses one target at `address`. `gate` bounds the connections to that server; `trust` checks
/// chains. All references must outlive the awaitable. Verdicts are not filled in here.
asio::awaitable<Assessment> assess(asio::any_io_executor executor, const Target& target,
                                   asio::ip::tcp::endpoint address, const AttemptContext& context,
                                   const PlanSettings& plan, HostGate& gate, X509_STORE* trust);

}  // namespace sluice::probe
