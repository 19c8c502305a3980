#include "logscan/report.h"

#include <fmt/format.h>

#include "base/csv.h"

namespace sluice::logscan {
namespace {

void row(std::string& out, std::initializer_list<std::string_view> cells) {
  bool first = true;
  for (auto c : cells) {
    if (!first) out += ',';
    first = false;
    append_csv_field(out, c);
  }
  out += "\r\n";
}

std::string csv_time(Millis m) { return m == kNoTime ? "" : format_iso(m); }

}  // namespace

std::string render_csv(const Report& r) {
  std::string out;
  // One header for all sections; a column that does not apply to a record is empty.
  row(out, {"record", "direction", "connector", "remote", "names", "key", "count", "messages", "first", "last",
            "example_file", "example_line"});
  for (const PeerStats* p : r.legacy) {
    std::string names;
    for (const auto& n : p->names) names += (names.empty() ? "" : " ") + n;
    for (std::size_t i : {std::size_t{1}, std::size_t{2}}) {
      if (!p->sessions[i]) continue;
      row(out, {"legacy_peer", direction_name(p->direction), p->connector, p->remote, names,
                tls_class_name(static_cast<TlsClass>(i)), std::to_string(p->sessions[i]),
                std::to_string(p->legacy_messages), csv_time(p->legacy_first), csv_time(p->legacy_last), "", ""});
    }
    if (p->refused_legacy)
      row(out, {"legacy_peer", direction_name(p->direction), p->connector, p->remote, names, "refused_legacy",
                std::to_string(p->refused_legacy), "", csv_time(p->legacy_first), csv_time(p->legacy_last), "", ""});
    if (!p->sessions[1] && !p->sessions[2] && !p->refused_legacy)
      row(out, {"legacy_peer", direction_name(p->direction), p->connector, p->remote, names, "tracked_messages",
                std::to_string(p->legacy_messages), std::to_string(p->legacy_messages), csv_time(p->legacy_first),
                csv_time(p->legacy_last), "", ""});
  }
  for (const FailureStats* f : r.failures)
    row(out, {"failure", direction_name(f->direction), "", f->remote, "", f->signature, std::to_string(f->count), "",
              csv_time(f->first), csv_time(f->last), f->example.file, std::to_string(f->example.line)});
  for (const auto& tl : r.timeline)
    for (std::size_t i = 0; i < kTlsClasses; ++i)
      row(out, {r.by_day ? "day" : "hour", "", "", "", "", tls_class_name(static_cast<TlsClass>(i)),
                std::to_string(tl.counts[i]), "", format_iso(tl.start), "", "", ""});
  for (const PeerStats* p : r.top)
    row(out, {"top_peer", direction_name(p->direction), p->connector, p->remote, "", "sessions",
              std::to_string(p->total_sessions()), std::to_string(p->messages), csv_time(p->first), csv_time(p->last),
              "", ""});
  return out;
}

}  // namespace sluice::logscan
