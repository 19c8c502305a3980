#include <algorithm>

#include <fmt/format.h>

#include "logscan/report.h"

namespace sluice::logscan {
namespace {

constexpr const char* kColors[kTlsClasses] = {"#9e9e9e", "#d32f2f", "#f57c00", "#388e3c",
                                              "#1976d2", "#6a1b9a", "#5d4037"};

std::string e(std::string_view s) { return html_escape(s); }
std::string html_time(Millis m) { return m == kNoTime ? "-" : format_iso(m); }

std::string timeline_svg(const Report& r) {
  if (r.timeline.empty()) return "<p>No sessions.</p>\n";
  constexpr int kWidth = 900, kHeight = 240, kLeft = 50, kBottom = 30;
  std::uint64_t max = 1;
  for (const auto& row : r.timeline) {
    std::uint64_t sum = 0;
    for (auto c : row.counts) sum += c;
    max = std::max(max, sum);
  }
  double slot = double(kWidth - kLeft) / double(r.timeline.size());
  double bar = std::max(1.0, slot * 0.8);
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"Sessions by TLS version over time\">\n",
      kWidth, kHeight + 40);
  out += fmt::format("<text x=\"0\" y=\"12\" font-size=\"11\">{}</text>\n", max);
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333\"/>\n", kLeft, kHeight - kBottom,
                     kWidth, kHeight - kBottom);
  double plot = kHeight - kBottom - 10;
  for (std::size_t i = 0; i < r.timeline.size(); ++i) {
    const auto& row = r.timeline[i];
    double x = kLeft + slot * double(i) + (slot - bar) / 2;
    double y = kHeight - kBottom;
    for (std::size_t c = 0; c < kTlsClasses; ++c) {
      if (!row.counts[c]) continue;
      double h = plot * double(row.counts[c]) / double(max);
      y -= h;
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{} {}: "
          "{}</title></rect>\n",
          x, y, bar, h, kColors[c], e(format_bucket(row.start, r.by_day)), tls_class_name(static_cast<TlsClass>(c)),
          row.counts[c]);
    }
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", kLeft, kHeight - kBottom + 15,
                     e(format_bucket(r.timeline.front().start, r.by_day)));
  out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n", kWidth,
                     kHeight - kBottom + 15, e(format_bucket(r.timeline.back().start, r.by_day)));
  for (std::size_t c = 0; c < kTlsClasses; ++c) {
    int x = kLeft + static_cast<int>(c) * 120;
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>", x, kHeight + 10, kColors[c]);
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", x + 14, kHeight + 19,
                       tls_class_name(static_cast<TlsClass>(c)));
  }
  out += "</svg>\n";
  return out;
}

std::string legacy_svg(const Report& r) {
  if (r.legacy.empty()) return "";
  constexpr int kWidth = 900, kRow = 22, kLabel = 300;
  std::size_t n = std::min<std::size_t>(r.legacy.size(), 15);
  std::uint64_t max = 1;
  auto weight = [](const PeerStats* p) { return p->sessions[1] + p->sessions[2] + p->refused_legacy; };
  for (std::size_t i = 0; i < n; ++i) max = std::max(max, weight(r.legacy[i]));
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"Top legacy TLS peers\">\n",
      kWidth, static_cast<int>(n) * kRow + 10);
  for (std::size_t i = 0; i < n; ++i) {
    const PeerStats* p = r.legacy[i];
    int y = static_cast<int>(i) * kRow + 5;
    std::string label =
        fmt::format("{} {}", p->remote.empty() ? "-" : p->remote, p->names.empty() ? "" : "(" + p->names.front() + ")");
    out += fmt::format("<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>\n", y + 14, e(label));
    double x = kLabel;
    for (std::size_t c : {std::size_t{1}, std::size_t{2}}) {
      double w = (kWidth - kLabel - 60) * double(p->sessions[c]) / double(max);
      if (w > 0)
        out += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"16\" fill=\"{}\"/>\n", x, y + 2, w,
                           kColors[c]);
      x += w;
    }
    double w = (kWidth - kLabel - 60) * double(p->refused_legacy) / double(max);
    if (w > 0)
      out += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"16\" fill=\"{}\"/>\n", x, y + 2, w,
                         kColors[5]);
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"12\">{}</text>\n", x + w + 4, y + 14, weight(p));
  }
  out += "</svg>\n";
  return out;
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_html(const Report& r) {
  const Aggregate& a = *r.aggregate;
  // A fleet's report: a Nodes column in the peer and failure tables (empty cells otherwise).
  const bool fleet = !r.options.nodes.empty();
  auto nodes_cell = [fleet](const std::vector<std::string>& nodes) {
    if (!fleet) return std::string();
    std::string text;
    for (const auto& n : nodes) text += (text.empty() ? "" : " ") + n;
    return "<td>" + html_escape(text) + "</td>";
  };
  std::string o;
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>sluice logscan report</title>\n";
  o += "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
       "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}td.n{text-align:right}"
       "th{background:#f0f0f0}code{font-size:12px;word-break:break-all}.bad{color:#b71c1c}</style>\n";
  o += "</head>\n<body>\n<h1>sluice logscan report</h1>\n";
  o += fmt::format(
      "<p id=\"totals\">{} sessions in {} files ({} lines, {} malformed). Legacy TLS peers: "
      "<strong class=\"bad\">{}</strong>. Failure signatures: <strong class=\"bad\">{}</strong>.</p>\n",
      r.total_sessions, a.files.size(), a.lines, a.malformed, r.legacy.size(), r.failures.size());
  if (fleet) {
    std::string nodes;
    for (const auto& n : r.options.nodes) nodes += (nodes.empty() ? "" : " ") + n;
    o += fmt::format("<p id=\"nodes\">Nodes ({}): {}</p>\n", r.options.nodes.size(), html_escape(nodes));
  }
  if (!r.options.filters.empty()) {
    o += "<p>Filters:";
    for (const auto& [k, v] : r.options.filters) {
      std::string option = k;  // the JSON key; the option has a hyphen (exclude_remote: --exclude-remote)
      std::replace(option.begin(), option.end(), '_', '-');
      o += fmt::format(" <code>--{} {}</code>", e(option), e(v));
    }
    o += "</p>\n";
  }

  o += "<h2>Legacy TLS peers (TLS 1.0/1.1)</h2>\n";
  if (r.legacy.empty()) {
    o += "<p>None.</p>\n";
  } else {
    o += legacy_svg(r);
    o += "<table id=\"legacy\">\n<tr><th>Direction</th><th>Connector</th><th>Remote</th><th>EHLO</th><th>TLS1_0</th>"
         "<th>TLS1_1</th><th>Refused</th><th>Messages</th><th>First seen</th><th>Last seen</th>";
    o += fleet ? "<th>Nodes</th></tr>\n" : "</tr>\n";
    for (const PeerStats* p : r.legacy) {
      std::string names;
      for (const auto& n : p->names) names += (names.empty() ? "" : " ") + n;
      o += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
          "<td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td>{}</tr>\n",
          direction_name(p->direction), e(p->connector), e(p->remote), e(names), p->sessions[1], p->sessions[2],
          p->refused_legacy, p->legacy_messages, html_time(p->legacy_first), html_time(p->legacy_last),
          nodes_cell(p->nodes));
    }
    o += "</table>\n";
  }

  o += "<h2>TLS failures</h2>\n";
  if (r.failures.empty()) {
    o += "<p>None.</p>\n";
  } else {
    o += "<table id=\"failures\">\n<tr><th>Signature</th><th>Direction</th><th>Remote</th><th>Count</th><th>First</th>"
         "<th>Last</th><th>Example</th>";
    o += fleet ? "<th>Nodes</th></tr>\n" : "</tr>\n";
    for (const FailureStats* f : r.failures)
      o += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td>"
          "<td>{}:{}<br><code>{}</code></td>{}</tr>\n",
          e(f->signature), direction_name(f->direction), e(f->remote), f->count, html_time(f->first),
          html_time(f->last), e(f->example.file), f->example.line, e(f->example.text), nodes_cell(f->nodes));
    o += "</table>\n";
  }

  o += fmt::format("<h2>Sessions by TLS version per {}</h2>\n", r.by_day ? "day" : "hour");
  o += timeline_svg(r);
  o += "<table id=\"sessions\">\n<tr>";
  for (std::size_t i = 0; i < kTlsClasses; ++i)
    o += fmt::format("<th>{}</th>", tls_class_name(static_cast<TlsClass>(i)));
  o += "<th>total</th></tr>\n<tr>";
  for (auto c : a.sessions) o += fmt::format("<td class=\"n\">{}</td>", c);
  o += fmt::format("<td class=\"n\">{}</td></tr>\n</table>\n", r.total_sessions);

  if (!r.top.empty()) {
    o += "<h2>Top peers</h2>\n<table id=\"top\">\n<tr><th>Direction</th><th>Connector</th><th>Remote</th>"
         "<th>Sessions</th>";
    for (std::size_t i = 0; i < kTlsClasses; ++i)
      o += fmt::format("<th>{}</th>", tls_class_name(static_cast<TlsClass>(i)));
    o += fleet ? "<th>Messages</th><th>Nodes</th></tr>\n" : "<th>Messages</th></tr>\n";
    for (const PeerStats* p : r.top) {
      o += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>", direction_name(p->direction),
                       e(p->connector), e(p->remote), p->total_sessions());
      for (auto c : p->sessions) o += fmt::format("<td class=\"n\">{}</td>", c);
      o += fmt::format("<td class=\"n\">{}</td>{}</tr>\n", p->messages, nodes_cell(p->nodes));
    }
    o += "</table>\n";
  }

  o += "<h2>Inputs</h2>\n<table id=\"inputs\">\n<tr><th>File</th><th>Format</th><th>Lines</th><th>Malformed</th>"
       "<th>Error</th></tr>\n";
  for (const auto& f : a.files)
    o += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
                     e(f.path), e(f.format), f.lines, f.malformed, e(f.error));
  o += "</table>\n";
  if (!a.malformed_examples.empty()) {
    o += "<p>First malformed lines:</p>\n<ul>\n";
    for (const auto& m : a.malformed_examples)
      o += fmt::format("<li>{}:{}: <code>{}</code></li>\n", e(m.file), m.line, e(m.text));
    o += "</ul>\n";
  }
  o += "</body>\n</html>\n";
  return o;
}

}  // namespace sluice::logscan
