#include "outbound/outcome.h"

#include "base/lookup.h"

namespace sluice::outbound {

smtp::Reply failure_reply(Failure failure, const std::string& endpoint, const std::string& detail) {
  switch (failure) {
    case Failure::None:
      return {};
    case Failure::ConnectFailed:
      return smtp::make_reply(421, "4.4.1", "Unable to connect to " + endpoint + ": " + detail);
    case Failure::SocketError:
      return smtp::make_reply(421, "4.4.2", "Connection dropped due to SocketError");
    case Failure::Timeout:
      return smtp::make_reply(421, "4.4.2", "Connection dropped due to TimedOut");
    case Failure::TlsUnavailable:
      if (detail.empty())
        return smtp::make_reply(450, "4.4.317",
                                "Cannot connect to remote server: " + endpoint +
                                    " does not offer STARTTLS and the send connector requires TLS");
      return smtp::make_reply(450, "4.4.317",
                              "Cannot connect to remote server: " + endpoint + " refused STARTTLS (" + detail +
                                  ") and the send connector requires TLS");
    case Failure::CertificateInvalid:
      return smtp::make_reply(450, "4.4.317",
                              "Cannot connect to remote server: certificate of " + endpoint + " rejected: " + detail);
    case Failure::RemoteTransient:
      return smtp::make_reply(451, "4.4.0", "Remote server responded with: " + detail);
    case Failure::AuthenticationFailed:
      return smtp::make_reply(451, "4.7.0", "Cannot authenticate to " + endpoint + ": " + detail);
    case Failure::RemotePermanent:
      return smtp::make_reply(554, "5.4.0", "Remote server responded with: " + detail);
  }
  return {};
}

std::string_view failure_name(Failure failure) {
  static constexpr Named<Failure> kNames[] = {{Failure::None, "None"},
                                              {Failure::ConnectFailed, "ConnectFailed"},
                                              {Failure::SocketError, "SocketError"},
                                              {Failure::RemoteTransient, "RemoteTransient"},
                                              {Failure::RemotePermanent, "RemotePermanent"},
                                              {Failure::TlsUnavailable, "TlsUnavailable"},
                                              {Failure::CertificateInvalid, "CertificateInvalid"},
                                              {Failure::Timeout, "Timeout"},
                                              {Failure::AuthenticationFailed, "AuthenticationFailed"}};
  return name_of(kNames, failure).value_or("Unknown");
}

smtp::Reply primary_target_reply(const smtp::Reply& reply, const std::string& last_endpoint) {
  std::string quoted = reply.one_line();
  // Exchange closes the quoted reply with a period; a reply that has one already keeps one.
  if (quoted.empty() || quoted.back() != '.') quoted.push_back('.');
  return smtp::make_reply(451, "4.4.0",
                          "Primary target IP address responded with: \"" + quoted +
                              "\" Attempted failover to alternate host, but that did not succeed. Either there are no "
                              "alternate hosts, or delivery failed to all alternate hosts. The last endpoint attempted "
                              "was " +
                              last_endpoint);
}

std::string primary_target_text(const smtp::Reply& reply, const std::string& last_endpoint) {
  return primary_target_reply(reply, last_endpoint).one_line();
}

bool shown_as_is(Failure failure) {
  switch (failure) {
    case Failure::SocketError:
    case Failure::Timeout:
    case Failure::TlsUnavailable:
    case Failure::CertificateInvalid:
    case Failure::RemotePermanent:
    case Failure::AuthenticationFailed:
      return true;
    default:
      return false;
  }
}

std::string queue_last_error(Failure failure, const smtp::Reply& reply, const std::string& last_endpoint) {
  if (failure == Failure::None) return {};
  return shown_as_is(failure) ? reply.one_line() : primary_target_text(reply, last_endpoint);
}

}  // namespace sluice::outbound
