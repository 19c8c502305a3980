// The probe's reader of a server's first TLS flight (src/probe/server_flight.h), which reads bytes
// from any server on the network. Besides not crashing: a decision, once made on the bytes seen so
// far, must not change when more bytes arrive (the probe acts on the first decision it gets).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "probe/server_flight.h"

using namespace sluice::probe;

namespace {

KeyExchangeKind kind_of(std::uint16_t cipher) {
  // Any fixed mapping will do; the split by the low bits reaches all three readings.
  return static_cast<KeyExchangeKind>(cipher % 3);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const ServerFlight whole = read_server_flight(bytes, kind_of);
  FUZZ_CHECK((whole.status == ServerFlight::Status::Invalid) == !whole.problem.empty());
  if (whole.status == ServerFlight::Status::Chosen && whole.version >= 0x0304) FUZZ_CHECK(whole.certificates.empty());
  for (std::size_t cut : {size / 3, size / 2, size - size / 5}) {
    const ServerFlight part = read_server_flight(bytes.substr(0, cut), kind_of);
    if (part.status == ServerFlight::Status::Incomplete) continue;
    FUZZ_CHECK(part.status == whole.status);
    FUZZ_CHECK(part.version == whole.version && part.cipher == whole.cipher && part.group == whole.group);
    FUZZ_CHECK(part.dh_bits == whole.dh_bits && part.alert == whole.alert);
    FUZZ_CHECK(part.certificates == whole.certificates && part.problem == whole.problem);
  }
  return 0;
}
