#include "outbound/bounce.h"

#include <exception>
#include <string_view>

#include "queue/message_headers.h"

namespace sluice::outbound {

std::vector<queue::DsnRecipient> dsn_rows(const queue::Envelope& original, const std::vector<std::size_t>& recipients,
                                          const std::string& remote_host, bool delay_warning) {
  std::vector<queue::DsnRecipient> rows;
  for (auto i : recipients) {
    const auto& r = original.recipients[i];
    queue::DsnRecipient row;
    row.address = r.address;
    row.action = delay_warning ? "delayed" : "failed";
    bool expired = !delay_warning && !r.last_reply.permanent();
    // A recipient that failed because its lifetime ran out reports X.4.7 (RFC 3463: delivery time
    // expired); the last error stays in Diagnostic-Code, where administrators look for it.
    row.status = expired                          ? "4.4.7"
                 : !r.last_reply.enhanced.empty() ? r.last_reply.enhanced
                 : delay_warning                  ? "4.0.0"
                                                  : "5.0.0";
    row.diagnostic = r.last_reply.one_line();
    row.remote_mta = remote_host;
    row.last_attempt = r.last_attempt;
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<queue::Envelope> store_notification(queue::Spool& spool, const Notification& n) {
  queue::DsnInput input;
  input.retry_until = n.retry_until;
  input.reporting_mta = n.reporting_mta;
  input.original = n.original;
  input.original_message = spool.load_message(n.original->id).value_or("");
  input.recipients = n.rows;
  input.delay_warning = n.delay_warning;
  input.now = n.now;
  input.message_id_seed = n.id;
  std::string dsn;
  queue::Envelope envelope;
  // build_dsn throws only for a programming error (see queue/dsn.h): reported, never sent.
  try {
    dsn = queue::build_dsn(input);
    envelope = queue::dsn_envelope(n.id, *n.original, dsn.size(), input.now);
    envelope.message_id = queue::header_value(dsn, "Message-ID");
  } catch (const std::exception& e) {
    return fail(std::string("cannot build the notification: ") + e.what());
  }
  if (auto stored = spool.store(envelope, dsn); !stored) return fail("cannot queue it: " + stored.error().message());
  return envelope;
}

}  // namespace sluice::outbound
