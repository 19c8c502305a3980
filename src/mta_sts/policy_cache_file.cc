#include "mta_sts/policy_cache_file.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "base/atomic_file.h"
#include "mta_sts/policy_file.h"

namespace sluice::mta_sts {

std::optional<std::string> cache_file_name(const std::string& domain) {
  if (domain.empty() || domain.size() > 253 || domain.front() == '.') return std::nullopt;
  for (char c : domain) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return std::nullopt;
  }
  return domain + ".json";
}

Result<void> write_cache_file(const std::filesystem::path& dir, const std::string& domain, const CacheEntry& entry) {
  const auto name = cache_file_name(domain);
  if (!name) return fail(fmt::format("{} is not cached on disk (not a plain domain name)", domain));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  const nlohmann::json json = {
      {"domain", domain},
      {"id", entry.policy.id},
      {"fetched_at", std::chrono::duration_cast<std::chrono::seconds>(entry.fetched_at.time_since_epoch()).count()},
      {"policy", entry.policy.text},
  };
  if (auto error = write_file_durably(dir, *name, json.dump(2) + "\n"))
    return fail(fmt::format("cannot write {}: {}", (dir / *name).string(), error.message()));
  return {};
}

Result<std::optional<CacheEntry>> read_cache_file(const std::filesystem::path& dir, const std::string& domain) {
  const auto name = cache_file_name(domain);
  if (!name) return std::optional<CacheEntry>();
  const auto path = dir / *name;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<CacheEntry>();
  std::stringstream text;
  text << in.rdbuf();
  const auto json = nlohmann::json::parse(text.str(), nullptr, false);
  const auto damaged = [&](std::string_view why) { return fail(fmt::format("{}: {}", path.string(), why)); };
  if (!json.is_object() || !json.contains("id") || !json["id"].is_string() || !json.contains("fetched_at") ||
      !json["fetched_at"].is_number_integer() || !json.contains("policy") || !json["policy"].is_string())
    return damaged("not a cached MTA-STS policy (id, fetched_at, policy)");
  auto policy = parse_policy(json["policy"].get<std::string>());
  if (!policy) return damaged("the cached policy does not parse: " + policy.error().message);
  CacheEntry entry{std::move(*policy),
                   std::chrono::system_clock::time_point(std::chrono::seconds(json["fetched_at"].get<std::int64_t>()))};
  entry.policy.id = json["id"].get<std::string>();
  return std::optional<CacheEntry>(std::move(entry));
}

}  // namespace sluice::mta_sts
