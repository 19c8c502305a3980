#include "outbound/bounce.h"

#include <exception>
#include <string_view>

#include "base/ids.h"
#include "base/logging.h"
#include "smtp/message_headers.h"

namespace sluice::outbound {

queue::PendingNotice decide_notice(const queue::Envelope& original, const std::vector<std::size_t>& recipients,
                                   const std::string& remote_host, bool delay_warning) {
  queue::PendingNotice notice;
  notice.id = new_hex_id();
  notice.delay_warning = delay_warning;
  for (auto i : recipients) {
    const auto& r = original.recipients[i];
    queue::PendingNotice::Row row;
    row.recipient = i;
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
    notice.rows.push_back(std::move(row));
  }
  return notice;
}

std::vector<queue::DsnRecipient> dsn_rows(const queue::Envelope& original, const queue::PendingNotice& notice) {
  std::vector<queue::DsnRecipient> rows;
  for (const auto& row : notice.rows)
    rows.push_back({original.recipients[row.recipient].address, notice.delay_warning ? "delayed" : "failed", row.status,
                    row.diagnostic, row.remote_mta, row.last_attempt});
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
    envelope.message_id = smtp::header_value(dsn, "Message-ID");
  } catch (const std::exception& e) {
    return fail(std::string("cannot build the notification: ") + e.what());
  }
  if (auto stored = spool.store(envelope, dsn); !stored) return fail("cannot queue it: " + stored.error().message());
  return envelope;
}

namespace {

/// Queues one notice; true when it no longer needs to be (queued now or before, or not needed).
bool settle_notice(queue::Spool& spool, const queue::Envelope& original, queue::PendingNotice notice,
                   const NoticeSettings& settings, std::set<std::string>& already_queued, NoticesOutcome& out) {
  const char* what = notice.delay_warning ? "delay warning" : "bounce";
  if (already_queued.count(notice.id) || spool.load_envelope(notice.id)) return true;
  if (notice.delay_warning) {
    // A delay that is over (delivered, or failed and bounced) is not news any more.
    std::erase_if(notice.rows, [&](const auto& row) { return !original.recipients[row.recipient].waiting(); });
    if (notice.rows.empty()) {
      log_info("queue {}: delay warning {} no longer needed: no recipient waits", original.id, notice.id);
      return true;
    }
  }
  Notification n;
  n.id = notice.id;
  n.original = &original;
  n.rows = dsn_rows(original, notice);
  n.reporting_mta = settings.reporting_mta;
  n.delay_warning = notice.delay_warning;
  n.retry_until = original.received + settings.lifetime;
  n.now = settings.now;
  auto envelope = store_notification(spool, n);
  if (!envelope) {
    log_error("queue {}: {} for <{}>: {}; the message is kept and it is retried", original.id, what, original.mail_from,
              envelope.error().message);
    return false;
  }
  log_info("queue {}: {} {} queued for <{}>", original.id, what, n.id, original.mail_from);
  if (settings.on_queued) settings.on_queued(*envelope, n.rows, n.delay_warning);
  already_queued.insert(notice.id);
  out.queued.push_back(std::move(*envelope));
  return true;
}

}  // namespace

NoticesOutcome queue_pending_notices(queue::Spool& spool, queue::Envelope envelope, bool envelope_changed,
                                     const NoticeSettings& settings, std::set<std::string>& already_queued) {
  NoticesOutcome out;
  std::vector<queue::PendingNotice> still_pending;
  for (auto& notice : envelope.pending_notices) {
    if (settle_notice(spool, envelope, notice, settings, already_queued, out))
      out.resolved.push_back(notice.id);
    else
      still_pending.push_back(std::move(notice));
  }
  envelope.pending_notices = std::move(still_pending);
  if (!envelope.any_waiting() && envelope.pending_notices.empty()) {
    auto removed = spool.remove(envelope.id);
    // Gone already: an earlier call removed it, and this one had only notices it had queued.
    if (!removed && removed.error() != std::errc::no_such_file_or_directory)
      log_error("queue {}: cannot remove: {}", envelope.id, removed.error().message());
    out.removed = true;
  } else if (envelope_changed || !out.resolved.empty()) {
    if (auto updated = spool.update(envelope); !updated)
      log_error("queue {}: cannot record state: {}", envelope.id, updated.error().message());
  }
  return out;
}

}  // namespace sluice::outbound
