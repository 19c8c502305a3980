#include "logscan/report.h"

#include <fmt/format.h>

#include <optional>

#include "base/csv.h"

namespace sluice::logscan {
namespace {

/// One record; a fleet's report (`nodes` given) ends every record with the "nodes" column.
void row(std::string& out, std::initializer_list<std::string_view> cells, const std::string* nodes = nullptr) {
  bool first = true;
  for (auto c : cells) {
    if (!first) out += ',';
    first = false;
    append_csv_field(out, c);
  }
  if (nodes) {
    out += ',';
    append_csv_field(out, *nodes);
  }
  out += "\r\n";
}

std::string csv_nodes(const std::vector<std::string>& nodes) {
  std::string text;
  for (const auto& n : nodes) text += (text.empty() ? "" : " ") + n;
  return text;
}

std::string csv_time(Millis m) { return m == kNoTime ? "" : format_iso(m); }

}  // namespace

std::string render_csv(const Report& r) {
  std::string out;
  // One header for all sections; a column that does not apply to a record is empty. A fleet's
  // report (docs/logscan.md) adds a last column, "nodes": the nodes that saw the peer or failure.
  const bool fleet = !r.options.nodes.empty();
  auto nodes_of = [&](const std::vector<std::string>& nodes) -> std::optional<std::string> {
    if (!fleet) return std::nullopt;
    return csv_nodes(nodes);
  };
  const auto header_nodes = nodes_of({"nodes"});
  const auto no_nodes = nodes_of({});
  row(out,
      {"record", "direction", "connector", "remote", "names", "key", "count", "messages", "first", "last",
       "example_file", "example_line"},
      header_nodes ? &*header_nodes : nullptr);
  for (const PeerStats* p : r.legacy) {
    const auto nodes = nodes_of(p->nodes);
    const std::string* n = nodes ? &*nodes : nullptr;
    std::string names;
    for (const auto& n : p->names) names += (names.empty() ? "" : " ") + n;
    for (std::size_t i : {std::size_t{1}, std::size_t{2}}) {
      if (!p->sessions[i]) continue;
      row(out,
          {"legacy_peer", direction_name(p->direction), p->connector, p->remote, names,
           tls_class_name(static_cast<TlsClass>(i)), std::to_string(p->sessions[i]), std::to_string(p->legacy_messages),
           csv_time(p->legacy_first), csv_time(p->legacy_last), "", ""},
          n);
    }
    if (p->refused_legacy)
      row(out,
          {"legacy_peer", direction_name(p->direction), p->connector, p->remote, names, "refused_legacy",
           std::to_string(p->refused_legacy), "", csv_time(p->legacy_first), csv_time(p->legacy_last), "", ""},
          n);
    if (!p->sessions[1] && !p->sessions[2] && !p->refused_legacy)
      row(out,
          {"legacy_peer", direction_name(p->direction), p->connector, p->remote, names, "tracked_messages",
           std::to_string(p->legacy_messages), std::to_string(p->legacy_messages), csv_time(p->legacy_first),
           csv_time(p->legacy_last), "", ""},
          n);
  }
  for (const FailureStats* f : r.failures) {
    const auto nodes = nodes_of(f->nodes);
    row(out,
        {"failure", direction_name(f->direction), "", f->remote, "", f->signature, std::to_string(f->count), "",
         csv_time(f->first), csv_time(f->last), f->example.file, std::to_string(f->example.line)},
        nodes ? &*nodes : nullptr);
  }
  for (const auto& tl : r.timeline)
    for (std::size_t i = 0; i < kTlsClasses; ++i)
      row(out,
          {r.by_day ? "day" : "hour", "", "", "", "", tls_class_name(static_cast<TlsClass>(i)),
           std::to_string(tl.counts[i]), "", format_iso(tl.start), "", "", ""},
          no_nodes ? &*no_nodes : nullptr);
  for (const PeerStats* p : r.top) {
    const auto nodes = nodes_of(p->nodes);
    row(out,
        {"top_peer", direction_name(p->direction), p->connector, p->remote, "", "sessions",
         std::to_string(p->total_sessions()), std::to_string(p->messages), csv_time(p->first), csv_time(p->last), "",
         ""},
        nodes ? &*nodes : nullptr);
  }
  return out;
}

}  // namespace sluice::logscan
