#include "logscan/report.h"

namespace sluice::logscan {
namespace {

using Json = nlohmann::json;

Json time_or_null(Millis t) { return t == kNoTime ? Json(nullptr) : Json(format_iso(t)); }

Json class_counts(const ClassCounts& c) {
  Json j = Json::object();
  for (std::size_t i = 0; i < kTlsClasses; ++i) j[std::string(tls_class_name(static_cast<TlsClass>(i)))] = c[i];
  return j;
}

/// What names a peer in each list it stands in, with the span of the sessions the list counts;
/// the list adds its own counts.
Json peer_json(const PeerStats& p, Millis first, Millis last) {
  return {{"direction", direction_name(p.direction)},
          {"connector", p.connector},
          {"remote", p.remote},
          {"names", p.names},
          {"first_seen", time_or_null(first)},
          {"last_seen", time_or_null(last)}};
}

}  // namespace

nlohmann::json render_json(const Report& r) {
  const Aggregate& a = *r.aggregate;
  Json j;
  j["schema"] = "sluice-logscan/1";
  // A fleet's report: the nodes scanned, and in each peer and failure those that saw it.
  const bool fleet = !r.options.nodes.empty();
  if (fleet) j["nodes"] = r.options.nodes;
  Json filters = Json::object();
  for (const auto& [k, v] : r.options.filters) {
    if (k == "connector" || k == "remote" || k == "exclude_remote")
      filters[k].push_back(v);
    else
      filters[k] = v;
  }
  j["filters"] = filters;

  Json files = Json::array();
  for (const auto& f : a.files) {
    Json fj{{"path", f.path}, {"format", f.format}, {"bytes", f.bytes}, {"lines", f.lines}, {"malformed", f.malformed}};
    if (!f.error.empty()) fj["error"] = f.error;
    if (!f.node.empty()) fj["node"] = f.node;
    files.push_back(fj);
  }
  Json malformed = Json::array();
  for (const auto& e : a.malformed_examples)
    malformed.push_back({{"file", e.file}, {"line", e.line}, {"text", e.text}});
  j["inputs"] = {{"files", files},
                 {"lines", a.lines},
                 {"malformed", a.malformed},
                 {"malformed_examples", malformed},
                 {"errors", r.options.errors}};

  Json legacy = Json::array();
  for (const PeerStats* p : r.legacy) {
    Json peer = peer_json(*p, p->legacy_first, p->legacy_last);
    peer["sessions"] = {{"TLS1_0", p->sessions[1]}, {"TLS1_1", p->sessions[2]}};
    peer["refused_legacy"] = p->refused_legacy;
    peer["messages"] = p->legacy_messages;
    if (fleet) peer["nodes"] = p->nodes;
    legacy.push_back(std::move(peer));
  }
  j["legacy_peers"] = legacy;

  Json failures = Json::array();
  for (const FailureStats* f : r.failures) {
    failures.push_back(
        {{"signature", f->signature},
         {"direction", direction_name(f->direction)},
         {"remote", f->remote},
         {"count", f->count},
         {"first", time_or_null(f->first)},
         {"last", time_or_null(f->last)},
         {"example", {{"file", f->example.file}, {"line", f->example.line}, {"text", f->example.text}}}});
    if (fleet) failures.back()["nodes"] = f->nodes;
  }
  j["failures"] = failures;

  Json timeline = Json::array();
  for (const auto& row : r.timeline) {
    Json t = class_counts(row.counts);
    t["start"] = format_iso(row.start);
    timeline.push_back(t);
  }
  Json top = Json::array();
  for (const PeerStats* p : r.top) {
    Json peer = peer_json(*p, p->first, p->last);
    peer["total"] = p->total_sessions();
    peer["sessions"] = class_counts(p->sessions);
    peer["messages"] = p->messages;
    if (fleet) peer["nodes"] = p->nodes;
    top.push_back(std::move(peer));
  }
  Json sessions = class_counts(a.sessions);
  sessions["total"] = r.total_sessions;
  j["summary"] = {
      {"sessions", sessions},
      {"bucket", r.by_day ? "day" : "hour"},
      {"timeline", timeline},
      {"top_peers", top},
      {"tracking_events", a.tracking_events},
      {"filtered_out", a.filtered_out},
      {"tracking_in_protocol_log",
       {{"messages", a.tracked_messages_in_protocol_log}, {"failures", a.tracked_failures_in_protocol_log}}}};
  j["exit_status"] = r.exit_status;
  return j;
}

}  // namespace sluice::logscan
