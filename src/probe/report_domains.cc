// The per-domain part of the reports (`--mx`): MTA-STS, DANE and TLS-RPT as found, then the
// verdicts, in text, JSON (the `domains` array of sluice-probe/1) and CSV.
#include "probe/report.h"  // first: what this file implements (fuzz/run.sh finds it so)

#include <fmt/format.h>

#include "base/csv.h"
#include "mta_sts/policy_file.h"
#include "tls/dane.h"

namespace sluice::probe {
namespace {

using nlohmann::json;
using Status = net::DnsAnswer::Status;

std::string dns_status_name(Status s) {
  switch (s) {
    case Status::Ok:
      return "ok";
    case Status::NxDomain:
      return "nxdomain";
    case Status::NoData:
      return "nodata";
    case Status::NullMx:
      return "null-mx";
    case Status::TempFail:
      return "tempfail";
  }
  return "tempfail";
}

std::string policy_colour(PolicyVerdict::Level level) {
  return level == PolicyVerdict::Level::Ok ? "32" : level == PolicyVerdict::Level::Warning ? "33" : "31";
}

std::string painted(bool on, std::string_view text, std::string_view code) {
  return on ? fmt::format("\033[{}m{}\033[0m", code, text) : std::string(text);
}

std::string records_text(const net::DnsRecords& r) {
  if (r.status != Status::Ok) return r.status == Status::TempFail ? "lookup failed: " + r.error : "none";
  std::vector<std::string> quoted;
  for (const auto& t : r.txt) quoted.push_back("\"" + t + "\"");
  return fmt::format("{}", fmt::join(quoted, ", "));
}

std::string signed_text(bool secure) { return secure ? "DNSSEC-signed" : "not DNSSEC-signed"; }

void mta_sts_lines(std::string& out, const DomainPolicy& d) {
  const auto& s = d.mta_sts;
  out += fmt::format("  MTA-STS   {}: {}\n", s.txt_name, records_text(s.txt));
  if (!s.record_error.empty()) out += fmt::format("            invalid: {}\n", s.record_error);
  if (!s.fetch_error.empty()) out += fmt::format("            policy unavailable: {}\n", s.fetch_error);
  if (!s.policy) return;
  const auto& p = *s.policy;
  out += fmt::format("            {}: mode {}, max_age {}, mx {}\n", s.url, mta_sts::mode_name(p.mode),
                     p.max_age.count(), fmt::join(p.mx, ", "));
  for (const auto& h : d.hosts)
    out += fmt::format("            {} {}\n", h.host, p.matches(h.host) ? "is in the policy" : "is NOT in the policy");
}

void dane_lines(std::string& out, const MxHostFindings& h) {
  if (h.tlsa.status != Status::Ok) {
    out += fmt::format("  DANE      {}: {}\n", h.tlsa_name,
                       h.tlsa.status == Status::TempFail ? "lookup failed: " + h.tlsa.error : "no TLSA records");
    return;
  }
  std::vector<std::string> records;
  for (const auto& r : h.tlsa.tlsa) records.push_back(tls::tlsa_text(r));
  out += fmt::format("  DANE      {}: {} ({}, {} usable)\n", h.tlsa_name, fmt::join(records, ", "),
                     signed_text(h.tlsa.secure), h.usable.size());
  for (const auto& u : h.unusable) out += fmt::format("            unusable: {}\n", u);
  if (h.usable.empty()) return;
  if (h.chains.empty()) out += fmt::format("            no certificate seen: {}\n", h.not_seen);
  for (const auto& c : h.chains)
    out += fmt::format("            {}: {}\n", c.subject,
                       c.tlsa_match.empty() ? "matches no usable record" : "matches " + c.tlsa_match);
}

json records_json(const net::DnsRecords& r) {
  return {{"status", dns_status_name(r.status)},
          {"error", r.error.empty() ? json(nullptr) : json(r.error)},
          {"dnssec", r.secure},
          {"records", r.txt}};
}

json mta_sts_json(const DomainPolicy& d) {
  const auto& s = d.mta_sts;
  json j = {{"txt_name", s.txt_name},
            {"txt", records_json(s.txt)},
            {"id", s.id ? json(*s.id) : json(nullptr)},
            {"record_error", s.record_error.empty() ? json(nullptr) : json(s.record_error)},
            {"url", s.url.empty() ? json(nullptr) : json(s.url)},
            {"fetch_error", s.fetch_error.empty() ? json(nullptr) : json(s.fetch_error)},
            {"failure_type", s.failure_type.empty() ? json(nullptr) : json(s.failure_type)},
            {"policy", nullptr}};
  if (s.policy)
    j["policy"] = {{"mode", std::string(mta_sts::mode_name(s.policy->mode))},
                   {"mx", s.policy->mx},
                   {"max_age", s.policy->max_age.count()}};
  return j;
}

json host_json(const DomainPolicy& d, const MxHostFindings& h) {
  json tlsa = json::array();
  for (const auto& r : h.tlsa.tlsa) {
    tlsa.push_back({{"usage", r.usage},
                    {"selector", r.selector},
                    {"matching", r.matching},
                    {"data", tls::tlsa_data_hex(r)},
                    {"usable", tls::tlsa_unusable_reason(r).empty()}});
  }
  json chains = json::array();
  for (const auto& c : h.chains)
    chains.push_back({{"subject", c.subject},
                      {"trusted", c.trusted},
                      {"name_matches", c.name_matches},
                      {"tlsa_match", c.tlsa_match.empty() ? json(nullptr) : json(c.tlsa_match)}});
  return {{"host", h.host},
          {"preference", h.preference >= 0 ? json(h.preference) : json(nullptr)},
          {"in_mta_sts_policy", d.mta_sts.policy ? json(d.mta_sts.policy->matches(h.host)) : json(nullptr)},
          {"tlsa_name", h.tlsa_name},
          {"tlsa_status", dns_status_name(h.tlsa.status)},
          {"tlsa_error", h.tlsa.error.empty() ? json(nullptr) : json(h.tlsa.error)},
          {"tlsa_dnssec", h.tlsa.secure},
          {"tlsa", tlsa},
          {"unusable", h.unusable},
          {"certificates", chains},
          {"not_seen", h.not_seen.empty() ? json(nullptr) : json(h.not_seen)}};
}

}  // namespace

std::string domain_text_report(const std::vector<DomainPolicy>& domains, bool colour) {
  std::string out;
  for (const auto& d : domains) {
    out += painted(colour, fmt::format("{}: MTA-STS, DANE, TLS-RPT", d.domain), "1") + "\n";
    std::vector<std::string> hosts;
    for (const auto& h : d.hosts)
      hosts.push_back(h.preference >= 0 ? fmt::format("{} ({})", h.host, h.preference) : h.host + " (implicit)");
    out += fmt::format(
        "  MX        {} ({})\n",
        d.mx.status == Status::Ok ? fmt::format("{}", fmt::join(hosts, ", ")) : "lookup failed: " + d.mx.error,
        signed_text(d.mx.secure));
    mta_sts_lines(out, d);
    for (const auto& h : d.hosts) dane_lines(out, h);
    out += fmt::format("  TLS-RPT   {}: {}\n", d.tlsrpt.txt_name, records_text(d.tlsrpt.txt));
    for (const auto& v : d.verdicts)
      out += fmt::format("  {} {}\n",
                         painted(colour, fmt::format("{:<8}", level_name(v.level)), policy_colour(v.level)), v.text);
    out += "\n";
  }
  return out;
}

nlohmann::json domains_json(const std::vector<DomainPolicy>& domains) {
  json out = json::array();
  for (const auto& d : domains) {
    json hosts = json::array();
    for (const auto& h : d.hosts) hosts.push_back(host_json(d, h));
    json verdicts = json::array();
    for (const auto& v : d.verdicts)
      verdicts.push_back({{"level", std::string(level_name(v.level))}, {"text", v.text}});
    json tlsrpt = {{"txt_name", d.tlsrpt.txt_name},
                   {"txt", records_json(d.tlsrpt.txt)},
                   {"rua", d.tlsrpt.record ? json(d.tlsrpt.record->rua) : json(nullptr)},
                   {"error", d.tlsrpt.error.empty() ? json(nullptr) : json(d.tlsrpt.error)}};
    out.push_back({{"domain", d.domain},
                   {"pass", d.pass()},
                   {"mx",
                    {{"status", dns_status_name(d.mx.status)},
                     {"error", d.mx.error.empty() ? json(nullptr) : json(d.mx.error)},
                     {"dnssec", d.mx.secure}}},
                   {"hosts", hosts},
                   {"mta_sts", mta_sts_json(d)},
                   {"tls_rpt", tlsrpt},
                   {"verdicts", verdicts}});
  }
  return out;
}

std::string domain_csv_rows(const std::vector<DomainPolicy>& domains) {
  std::string out;
  for (const auto& d : domains)
    for (const auto& v : d.verdicts)
      out += fmt::format("{},,{},policy,{},{},\r\n", csv_field(d.domain), d.port, csv_field(level_name(v.level)),
                         csv_field(v.text));
  return out;
}

}  // namespace sluice::probe
