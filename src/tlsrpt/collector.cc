#include "tlsrpt/collector.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "base/logging.h"

namespace sluice::tlsrpt {

using std::chrono::system_clock;

void add_session(std::vector<PolicyResult>& policies, const Session& session) {
  auto it =
      std::find_if(policies.begin(), policies.end(), [&](const PolicyResult& p) { return p.policy == session.policy; });
  if (it == policies.end()) {
    policies.emplace_back().policy = session.policy;
    it = std::prev(policies.end());
  }
  if (session.result_type.empty()) {
    ++it->successful;
    return;
  }
  ++it->failed;
  FailureDetail detail;
  detail.result_type = session.result_type;
  detail.sending_mta_ip = session.sending_mta_ip;
  detail.receiving_mx_hostname = session.receiving_mx_hostname;
  detail.receiving_ip = session.receiving_ip;
  detail.additional_information = session.additional_information;
  auto same = std::find_if(it->failures.begin(), it->failures.end(),
                           [&](const FailureDetail& f) { return f.same_kind(detail); });
  if (same == it->failures.end()) {
    detail.failed_session_count = 1;
    it->failures.push_back(std::move(detail));
  } else {
    ++same->failed_session_count;
  }
}

Collector::Collector(std::filesystem::path dir, std::chrono::seconds period) : dir_(std::move(dir)), period_(period) {
  std::filesystem::create_directories(dir_);
  load();
}

system_clock::time_point Collector::period_start(system_clock::time_point t) const {
  const auto since_epoch = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch());
  return system_clock::time_point(since_epoch - since_epoch % period_);
}

std::filesystem::path Collector::file_of(system_clock::time_point start) const {
  std::string name = rfc3339(start);
  std::replace(name.begin(), name.end(), ':', '-');  // "2026-12-08T00-00-00Z.json": no ':' in file names
  return dir_ / (name + ".json");
}

void Collector::load() {
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const auto json = nlohmann::json::parse(text.str(), nullptr, false);
    Result<std::vector<PolicyResult>> policies = fail("not JSON");
    std::optional<system_clock::time_point> start, end;
    if (json.is_object()) {
      if (json.contains("policies")) policies = policies_from_json(json["policies"]);
      if (json.value("start", nlohmann::json()).is_string()) start = parse_rfc3339(json["start"].get<std::string>());
      if (json.value("end", nlohmann::json()).is_string()) end = parse_rfc3339(json["end"].get<std::string>());
    }
    if (!policies || !start || !end) {
      log_error("TLS-RPT: {} is not a counts file ({}); left in place, not reported", entry.path().string(),
                policies ? "no start or end" : policies.error().message);
      continue;
    }
    periods_[*start] = Period{*start, *end, std::move(*policies)};
  }
}

void Collector::record(const Session& session) {
  const auto start = period_start(session.when);
  std::lock_guard lock(mutex_);
  auto [it, added] = periods_.try_emplace(start, Period{start, start + period_, {}});
  add_session(it->second.policies, session);
  dirty_.insert(start);
}

Result<void> Collector::flush() {
  std::lock_guard flushing(flush_mutex_);
  std::vector<std::pair<std::filesystem::path, std::string>> files;
  {
    std::lock_guard lock(mutex_);
    for (const auto& start : dirty_) {
      auto it = periods_.find(start);
      if (it == periods_.end()) continue;
      const nlohmann::json j = {{"start", rfc3339(it->second.start)},
                                {"end", rfc3339(it->second.end)},
                                {"policies", policies_to_json(it->second.policies)}};
      files.emplace_back(file_of(start), j.dump());
    }
    dirty_.clear();
  }
  for (const auto& [path, text] : files)
    if (auto ec = write_file_durably(dir_, path.filename().string(), text))
      return fail(fmt::format("cannot write {}: {}", path.string(), ec.message()));
  return {};
}

std::vector<Period> Collector::take_ended(system_clock::time_point now) {
  std::vector<Period> out;
  std::lock_guard lock(mutex_);
  for (auto it = periods_.begin(); it != periods_.end() && it->second.end <= now;) {
    dirty_.erase(it->first);
    out.push_back(std::move(it->second));
    it = periods_.erase(it);
  }
  return out;
}

void Collector::finished(const Period& period) {
  std::error_code ec;
  std::filesystem::remove(file_of(period.start), ec);
  if (ec) log_error("TLS-RPT: cannot remove {}: {}", file_of(period.start).string(), ec.message());
}

}  // namespace sluice::tlsrpt
