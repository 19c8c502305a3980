// Placeholder until the OAuth client lands (issue 16): XOAUTH2 connectors are refused at start.
#include "outbound/access_token.h"

namespace sluice::outbound {

Result<std::unique_ptr<AccessTokenSource>> make_oauth_token_source(const config::SendAuth&, asio::any_io_executor) {
  return fail("the XOAUTH2 token client is not built yet");
}

}  // namespace sluice::outbound
