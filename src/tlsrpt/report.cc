#include "tlsrpt/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace sluice::tlsrpt {

using nlohmann::json;
using std::chrono::system_clock;

bool is_result_type(std::string_view text) {
  return std::find(std::begin(kResultTypes), std::end(kResultTypes), text) != std::end(kResultTypes);
}

bool FailureDetail::same_kind(const FailureDetail& o) const {
  return result_type == o.result_type && sending_mta_ip == o.sending_mta_ip &&
         receiving_mx_hostname == o.receiving_mx_hostname && receiving_mx_helo == o.receiving_mx_helo &&
         receiving_ip == o.receiving_ip && additional_information == o.additional_information &&
         failure_reason_code == o.failure_reason_code;
}

std::string rfc3339(system_clock::time_point time) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
  const auto day = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(seconds - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()), hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

namespace {

std::optional<int> digits_at(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

// RFC 3339 5.6 date-time: "2016-04-01T00:00:00Z", with an optional fraction and a numeric offset.
std::optional<system_clock::time_point> parse_rfc3339(std::string_view t) {
  auto year = digits_at(t, 0, 4), month = digits_at(t, 5, 2), mday = digits_at(t, 8, 2);
  auto hour = digits_at(t, 11, 2), minute = digits_at(t, 14, 2), second = digits_at(t, 17, 2);
  if (!year || !month || !mday || !hour || !minute || !second || t[4] != '-' || t[7] != '-' ||
      (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*year), std::chrono::month(unsigned(*month)),
                                        std::chrono::day(unsigned(*mday))};
  if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  std::size_t at = 19;
  if (at < t.size() && t[at] == '.') {
    const std::size_t begin = ++at;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') ++at;
    if (at == begin) return std::nullopt;  // the fraction itself is dropped: reports count in seconds
  }
  std::chrono::seconds offset{0};
  if (at < t.size() && (t[at] == 'Z' || t[at] == 'z')) {
    ++at;
  } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
    auto oh = digits_at(t, at + 1, 2), om = digits_at(t, at + 4, 2);
    if (!oh || !om || t[at + 3] != ':') return std::nullopt;
    offset = std::chrono::hours(*oh) + std::chrono::minutes(*om);
    if (t[at] == '-') offset = -offset;
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != t.size()) return std::nullopt;
  return system_clock::time_point(std::chrono::sys_days(ymd)) + std::chrono::hours(*hour) +
         std::chrono::minutes(*minute) + std::chrono::seconds(std::min(*second, 59)) - offset;
}

namespace {

void put_if(json& j, const char* name, const std::string& value) {
  if (!value.empty()) j[name] = value;
}

json failure_to_json(const FailureDetail& f) {
  json j = {{"result-type", f.result_type}, {"failed-session-count", f.failed_session_count}};
  put_if(j, "sending-mta-ip", f.sending_mta_ip);
  put_if(j, "receiving-mx-hostname", f.receiving_mx_hostname);
  put_if(j, "receiving-mx-helo", f.receiving_mx_helo);
  put_if(j, "receiving-ip", f.receiving_ip);
  put_if(j, "additional-information", f.additional_information);
  put_if(j, "failure-reason-code", f.failure_reason_code);
  return j;
}

// Reading: every error names the field by its path ("policies[0].summary.x: missing"), since a
// report another sender wrote is what is being judged.

std::string field(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

Result<const json*> member(const json& object, const std::string& path, const char* name, bool required) {
  if (!object.is_object()) return fail(fmt::format("{}: not a JSON object", path.empty() ? "report" : path));
  auto it = object.find(name);
  if (it != object.end()) return &*it;
  if (required) return fail(field(path, name) + ": missing");
  return static_cast<const json*>(nullptr);
}

Result<std::string> string_member(const json& object, const std::string& path, const char* name, bool required) {
  auto m = member(object, path, name, required);
  if (!m) return fail(m.error());
  if (!*m) return std::string();
  if (!(*m)->is_string()) return fail(field(path, name) + ": not a string");
  return (*m)->get<std::string>();
}

Result<std::uint64_t> count_member(const json& object, const std::string& path, const char* name) {
  auto m = member(object, path, name, true);
  if (!m) return fail(m.error());
  if (!(*m)->is_number_unsigned()) return fail(field(path, name) + ": not a count (a whole number >= 0)");
  return (*m)->get<std::uint64_t>();
}

Result<std::vector<std::string>> strings_member(const json& object, const std::string& path, const char* name) {
  auto m = member(object, path, name, false);
  if (!m) return fail(m.error());
  std::vector<std::string> out;
  if (!*m) return out;
  const auto bad = [&] { return fail(field(path, name) + ": not an array of strings"); };
  if (!(*m)->is_array()) return bad();
  for (const auto& s : **m) {
    if (!s.is_string()) return bad();
    out.push_back(s.get<std::string>());
  }
  return out;
}

/// Reads the optional string fields of a failure detail into their members.
Result<void> read_failure_strings(const json& j, const std::string& path, FailureDetail& f) {
  const std::pair<const char*, std::string FailureDetail::*> fields[] = {
      {"sending-mta-ip", &FailureDetail::sending_mta_ip},
      {"receiving-mx-hostname", &FailureDetail::receiving_mx_hostname},
      {"receiving-mx-helo", &FailureDetail::receiving_mx_helo},
      {"receiving-ip", &FailureDetail::receiving_ip},
      {"additional-information", &FailureDetail::additional_information},
      {"failure-reason-code", &FailureDetail::failure_reason_code}};
  for (const auto& [name, member_ptr] : fields) {
    auto value = string_member(j, path, name, false);
    if (!value) return fail(value.error());
    f.*member_ptr = std::move(*value);
  }
  return {};
}

Result<FailureDetail> failure_from_json(const json& j, const std::string& path) {
  FailureDetail f;
  auto type = string_member(j, path, "result-type", true);
  if (!type) return fail(type.error());
  f.result_type = std::move(*type);
  auto count = count_member(j, path, "failed-session-count");
  if (!count) return fail(count.error());
  f.failed_session_count = *count;
  if (auto read = read_failure_strings(j, path, f); !read) return fail(read.error());
  return f;
}

Result<Policy> policy_from_json(const json& j, const std::string& path) {
  Policy p;
  auto type = string_member(j, path, "policy-type", true);
  if (!type) return fail(type.error());
  if (*type != kPolicySts && *type != kPolicyTlsa && *type != kNoPolicyFound)
    return fail(fmt::format("{}: \"{}\" is not sts, tlsa or no-policy-found", field(path, "policy-type"), *type));
  p.type = std::move(*type);
  auto domain = string_member(j, path, "policy-domain", true);
  if (!domain) return fail(domain.error());
  if (domain->empty()) return fail(field(path, "policy-domain") + ": empty");
  p.domain = std::move(*domain);
  auto strings = strings_member(j, path, "policy-string");
  if (!strings) return fail(strings.error());
  p.strings = std::move(*strings);
  auto mx = strings_member(j, path, "mx-host");
  if (!mx) return fail(mx.error());
  p.mx_hosts = std::move(*mx);
  return p;
}

Result<PolicyResult> policy_result_from_json(const json& j, const std::string& path) {
  PolicyResult out;
  auto policy = member(j, path, "policy", true);
  if (!policy) return fail(policy.error());
  auto p = policy_from_json(**policy, field(path, "policy"));
  if (!p) return fail(p.error());
  out.policy = std::move(*p);
  auto summary = member(j, path, "summary", true);
  if (!summary) return fail(summary.error());
  const std::string spath = field(path, "summary");
  auto ok = count_member(**summary, spath, "total-successful-session-count");
  if (!ok) return fail(ok.error());
  auto failed = count_member(**summary, spath, "total-failure-session-count");
  if (!failed) return fail(failed.error());
  out.successful = *ok;
  out.failed = *failed;
  auto details = member(j, path, "failure-details", false);
  if (!details) return fail(details.error());
  if (*details) {
    const std::string dpath = field(path, "failure-details");
    if (!(*details)->is_array()) return fail(dpath + ": not an array");
    for (std::size_t i = 0; i < (*details)->size(); ++i) {
      auto f = failure_from_json((**details)[i], fmt::format("{}[{}]", dpath, i));
      if (!f) return fail(f.error());
      out.failures.push_back(std::move(*f));
    }
  }
  return out;
}

Result<std::vector<PolicyResult>> policies_at(const json& array, const std::string& path) {
  if (!array.is_array()) return fail(path + ": not an array");
  std::vector<PolicyResult> out;
  for (std::size_t i = 0; i < array.size(); ++i) {
    auto p = policy_result_from_json(array[i], fmt::format("{}[{}]", path, i));
    if (!p) return fail(p.error());
    out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace

json policies_to_json(const std::vector<PolicyResult>& policies) {
  json out = json::array();
  for (const auto& p : policies) {
    json policy = {{"policy-type", p.policy.type}, {"policy-domain", p.policy.domain}};
    if (!p.policy.strings.empty()) policy["policy-string"] = p.policy.strings;
    if (!p.policy.mx_hosts.empty()) policy["mx-host"] = p.policy.mx_hosts;
    json entry = {
        {"policy", policy},
        {"summary", {{"total-successful-session-count", p.successful}, {"total-failure-session-count", p.failed}}}};
    if (!p.failures.empty()) {
      entry["failure-details"] = json::array();
      for (const auto& f : p.failures) entry["failure-details"].push_back(failure_to_json(f));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Result<std::vector<PolicyResult>> policies_from_json(const json& json) { return policies_at(json, "policies"); }

json report_to_json(const Report& report) {
  return {{"organization-name", report.organization_name},
          {"date-range", {{"start-datetime", rfc3339(report.start)}, {"end-datetime", rfc3339(report.end)}}},
          {"contact-info", report.contact_info},
          {"report-id", report.report_id},
          {"policies", policies_to_json(report.policies)}};
}

Result<Report> report_from_json(const json& j) {
  Report r;
  const std::pair<const char*, std::string Report::*> strings[] = {{"organization-name", &Report::organization_name},
                                                                   {"contact-info", &Report::contact_info},
                                                                   {"report-id", &Report::report_id}};
  for (const auto& [name, member_ptr] : strings) {
    auto value = string_member(j, "", name, true);
    if (!value) return fail(value.error());
    r.*member_ptr = std::move(*value);
  }
  auto range = member(j, "", "date-range", true);
  if (!range) return fail(range.error());
  const std::pair<const char*, system_clock::time_point Report::*> times[] = {{"start-datetime", &Report::start},
                                                                              {"end-datetime", &Report::end}};
  for (const auto& [name, member_ptr] : times) {
    auto text = string_member(**range, "date-range", name, true);
    if (!text) return fail(text.error());
    auto time = parse_rfc3339(*text);
    if (!time) return fail(fmt::format("date-range.{}: \"{}\" is not an RFC 3339 date-time", name, *text));
    r.*member_ptr = *time;
  }
  auto policies = member(j, "", "policies", true);
  if (!policies) return fail(policies.error());
  auto read = policies_at(**policies, "policies");
  if (!read) return fail(read.error());
  r.policies = std::move(*read);
  return r;
}

}  // namespace sluice::tlsrpt
