#include "outbound/callout.h"

#include <fmt/format.h>

#include "base/blocking.h"
#include "outbound/route.h"

namespace sluice::outbound {

namespace {

smtp::Reply could_not_ask(std::string_view why) {
  return smtp::make_reply(451, "4.4.0", fmt::format("Callout not answered: {}", why));
}

}  // namespace

CalloutProber::CalloutProber(asio::any_io_executor executor, CalloutServices services)
    : executor_(std::move(executor)), services_(std::move(services)) {
  if (!services_.transport) own_transport_ = std::make_unique<SmtpTransport>(executor_);
  transport_ = services_.transport ? services_.transport : own_transport_.get();
}

void CalloutProber::reconfigure(std::shared_ptr<const config::Config> config,
                                std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts,
                                CredentialsByConnector credentials) {
  services_.config = std::move(config);
  services_.tls_contexts = std::move(tls_contexts);
  services_.credentials = std::move(credentials);
}

asio::awaitable<smtp::Reply> CalloutProber::probe(std::string address) {
  // This probe's snapshot: a reload meanwhile leaves it alive (the connector, its TLS context and
  // credentials are pointed to, not copied, by the settings below) until the probe ends.
  const auto config = services_.config;
  const auto tls_contexts = services_.tls_contexts;
  const auto credentials = services_.credentials;
  const auto& cfg = *config;
  const std::string domain = domain_of(address);
  const auto* connector = config::select_send_connector(cfg, domain);
  if (!connector) co_return could_not_ask(fmt::format("no send connector serves {}", domain));

  const auto* dns = services_.resolver;
  const auto* domain_p = &domain;
  auto targets = co_await run_blocking(
      dns_.get_executor(), [dns, connector, domain_p] { return resolve_targets(*connector, *domain_p, *dns); });
  if (!targets) co_return could_not_ask(targets.error().one_line());

  Transaction probe;
  probe.mail_from = "";  // the null sender: nothing may bounce back for a probe
  probe.recipients = {address};
  probe.rcpt_only = true;
  const auto step = cfg.recipient_validation.callout_timeout;
  ClientSettings settings = settings_for(cfg, *connector, tls_contexts, credentials, services_.send_log,
                                         {step, step, step, step, step, step, step});
  const std::string what = "recipient verification of " + address;
  auto attempted = co_await attempt_targets(*transport_, settings, *targets, probe, what);
  const AttemptResult& result = attempted.result;
  if (result.failure == Failure::None && !result.recipients.empty() && result.recipients.front().code != 0)
    co_return result.recipients.front();
  co_return could_not_ask(fmt::format("{} ({})", result.reply.one_line(), result.endpoint));
}

}  // namespace sluice::outbound
