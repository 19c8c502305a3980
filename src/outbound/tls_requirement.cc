#include "outbound/tls_requirement.h"

namespace sluice::outbound {

std::string_view tls_level_name(TlsLevel level) {
  switch (level) {
    case TlsLevel::None:
      return "none";
    case TlsLevel::May:
      return "may";
    case TlsLevel::Encrypt:
      return "encrypt";
    case TlsLevel::Verify:
      return "verify";
    case TlsLevel::Dane:
      return "dane";
  }
  return "unknown";
}

std::string_view policy_source_name(PolicySource s) {
  switch (s) {
    case PolicySource::Connector:
      return "connector";
    case PolicySource::Table:
      return "table";
    case PolicySource::Dane:
      return "dane";
    case PolicySource::MtaSts:
      return "mta-sts";
  }
  return "unknown";
}

}  // namespace sluice::outbound
