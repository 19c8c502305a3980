#include "tracking/search.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "base/text.h"
#include "tracking/events.h"

namespace sluice::tracking {

namespace fs = std::filesystem;

Result<std::vector<Record>> read_log_dir(const fs::path& dir, std::size_t* skipped) {
  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  if (ec) return fail(fmt::format("{}: cannot read: {}", dir.string(), ec.message()));
  if (!exists) return fail(fmt::format("{}: no message tracking log there (no such directory)", dir.string()));
  if (!fs::is_directory(dir, ec)) return fail(fmt::format("{}: not a directory", dir.string()));
  std::vector<fs::path> files;
  fs::directory_iterator it(dir, ec);
  if (ec) return fail(fmt::format("{}: cannot read the directory: {}", dir.string(), ec.message()));
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return fail(fmt::format("{}: cannot read the directory: {}", dir.string(), ec.message()));
    const std::string name = it->path().filename().string();
    if (starts_with_ascii_nocase(name, "MSGTRK") && name.size() > 4 &&
        ascii_lower(name.substr(name.size() - 4)) == ".log")
      files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Record> out;
  std::size_t bad = 0;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
    ColumnMap columns;
    std::string line;
    while (std::getline(in, line)) {
      std::string_view text = line;
      if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // Exchange writes a BOM
      if (text.starts_with("#Fields:")) {
        columns = ColumnMap(text.substr(8));
        continue;
      }
      if (text.empty() || text.front() == '#' || text == "\r") continue;
      if (auto record = columns.parse(text))
        out.push_back(std::move(*record));
      else
        ++bad;
    }
    if (in.bad()) return fail(fmt::format("{}: read error", path.string()));
  }
  if (skipped) *skipped = bad;
  return out;
}

namespace {

bool address_matches(std::string_view address, std::string_view wanted) {
  const std::string a = ascii_lower(address), w = ascii_lower(wanted);
  if (w.starts_with('@')) return a.size() > w.size() && a.ends_with(w);
  return a == w;
}

bool same_id(std::string_view a, std::string_view b) { return !a.empty() && ascii_lower(a) == ascii_lower(b); }

std::string without_brackets(std::string_view id) {
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  return std::string(id);
}

bool record_has_id(const Record& r, std::string_view id) {
  const std::string wanted = without_brackets(id);
  for (Field f : {kInternalMessageId, kNetworkMessageId}) {
    if (same_id(r[f], wanted)) return true;
  }
  if (same_id(without_brackets(r[kMessageId]), wanted) || same_id(without_brackets(r[kReference]), wanted)) return true;
  return same_id(r.custom(kQueuedAsKey), wanted) || same_id(r.custom(kOriginalKey), wanted);
}

}  // namespace

std::vector<MessagePath> find_messages(const std::vector<Record>& records, const Query& query) {
  // A notification's records belong to the message that caused it: its DSN record names both.
  std::map<std::string, std::string> owner;  // notification id -> original id
  for (const auto& r : records)
    if (r[kEventId] == "DSN" && !r.custom(kOriginalKey).empty()) owner[r[kInternalMessageId]] = r.custom(kOriginalKey);
  auto group_of = [&owner](const Record& r) {
    std::string id = r[kInternalMessageId];
    for (int depth = 0; depth < 4; ++depth) {  // a bounce of a bounce is not sent, but stay bounded
      auto it = owner.find(id);
      if (it == owner.end()) break;
      id = it->second;
    }
    return id;
  };
  std::map<std::string, MessagePath> groups;
  for (const auto& r : records) {
    auto& g = groups[group_of(r)];
    g.id = group_of(r);
    g.records.push_back(r);
  }
  std::vector<MessagePath> out;
  for (auto& [id, g] : groups) {
    std::stable_sort(g.records.begin(), g.records.end(),
                     [](const Record& a, const Record& b) { return a.time < b.time; });
    // The message's own sender: a notification (sender <>) in the group does not count.
    auto own = [&g](const Record& r) { return r[kInternalMessageId] == g.id; };
    bool ok = true;
    if (!query.sender.empty())
      ok = std::any_of(g.records.begin(), g.records.end(),
                       [&](const Record& r) { return own(r) && address_matches(r[kSenderAddress], query.sender); });
    if (ok && !query.recipient.empty())
      ok = std::any_of(g.records.begin(), g.records.end(), [&](const Record& r) {
        if (!own(r)) return false;
        for (const auto& a : r.recipients())
          if (address_matches(a, query.recipient)) return true;
        return false;
      });
    if (ok && !query.id.empty())
      ok = std::any_of(g.records.begin(), g.records.end(), [&](const Record& r) { return record_has_id(r, query.id); });
    if (ok && query.since)
      ok = std::any_of(g.records.begin(), g.records.end(), [&](const Record& r) { return r.time >= *query.since; });
    if (ok) out.push_back(std::move(g));
  }
  std::stable_sort(out.begin(), out.end(), [](const MessagePath& a, const MessagePath& b) {
    return a.records.front().time < b.records.front().time;
  });
  return out;
}

std::string defer_reason(std::string_view status) {
  auto led = status.find("{LED=");
  if (led == std::string_view::npos) return std::string(status);
  std::string_view rest = status.substr(led + 5);
  auto end = rest.rfind("};{FQDN=");
  if (end == std::string_view::npos) end = rest.rfind('}');
  return std::string(rest.substr(0, end));
}

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string tls_words(const Record& r) {
  const std::string version = r.custom(kTlsVersionKey);
  return version.empty() ? "without TLS" : "with " + version;
}

/// "mx.example [192.0.2.1]" or either part alone.
std::string server_words(const Record& r) {
  std::string host = r[kServerHostname], ip = r[kServerIp];
  if (host.empty() || host == ip) return ip.empty() ? std::string("(no server reached)") : "[" + ip + "]";
  return ip.empty() ? host : host + " [" + ip + "]";
}

std::string describe(const Record& r, const std::string& group) {
  const std::string& event = r[kEventId];
  const std::string who = joined(r.recipients());
  // A notification's own delivery, shown in its original's block.
  const std::string tag =
      r[kInternalMessageId] != group && event != "DSN" ? fmt::format(" (notification {})", r[kInternalMessageId]) : "";
  if (event == "RECEIVE") {
    std::string client = r[kClientHostname].empty() ? "" : r[kClientHostname] + " ";
    return fmt::format("from {}[{}] on \"{}\" {}, for {}", client, r[kClientIp], r[kConnectorId], tls_words(r), who);
  }
  if (event == "SEND") {
    const std::string queued = r.custom(kQueuedAsKey);
    return fmt::format("{}{} to {} via \"{}\" {}{}: {}", who, tag, server_words(r), r[kConnectorId], tls_words(r),
                       queued.empty() ? "" : ", queued as " + queued, r[kRecipientStatus]);
  }
  if (event == "DELIVER") return fmt::format("{}{} to the local mailbox: {}", who, tag, r[kRecipientStatus]);
  if (event == "MOVE") {
    const std::string queued = r.custom(kQueuedAsKey);
    return fmt::format("{}{} moved to {} (sluice queue move){}: {}", who, tag, server_words(r),
                       queued.empty() ? "" : ", queued there as " + queued, r[kRecipientStatus]);
  }
  if (event == "DEFER") {
    std::string where = r[kSource] == "SMTP" ? fmt::format(" at {} via \"{}\"", server_words(r), r[kConnectorId]) : "";
    if (r[kSource] == "SMTP" && !r[kServerIp].empty()) where += " " + tls_words(r);
    return fmt::format("{}{}{}: {}", who, tag, where, defer_reason(r[kRecipientStatus]));
  }
  if (event == "FAIL") return fmt::format("{}{}: {}", who, tag, r[kRecipientStatus]);
  if (event == "DSN")
    return fmt::format("{} {} to {} about {}", r[kRecipientStatus] == "delayed" ? "delay warning" : "bounce",
                       r[kInternalMessageId], who.empty() ? "<>" : who, r[kRelatedRecipientAddress]);
  return fmt::format("{}: {}", who, r[kRecipientStatus]);
}

/// The record that introduces the message: its RECEIVE, else its first own record.
const Record& first_own(const MessagePath& m) {
  for (const auto& r : m.records)
    if (r[kInternalMessageId] == m.id && r[kEventId] == "RECEIVE") return r;
  for (const auto& r : m.records)
    if (r[kInternalMessageId] == m.id) return r;
  return m.records.front();
}

}  // namespace

std::string render_text(const std::vector<MessagePath>& messages) {
  std::string out;
  for (const auto& m : messages) {
    const Record& head = first_own(m);
    const std::string sender = head[kSenderAddress].empty() ? "<>" : head[kSenderAddress];
    out +=
        fmt::format("{} {} from {}, {} bytes\n", m.id, head[kMessageId].empty() ? "(no Message-ID)" : head[kMessageId],
                    sender, head[kTotalBytes].empty() ? "?" : head[kTotalBytes]);
    for (const auto& r : m.records)
      out += fmt::format("  {} {:<7} {}\n", protocol_log::format_time(r.time), r[kEventId], describe(r, m.id));
  }
  return out;
}

nlohmann::json render_json(const std::vector<MessagePath>& messages) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : messages) {
    const Record& head = first_own(m);
    nlohmann::json events = nlohmann::json::array();
    for (const auto& r : m.records) {
      nlohmann::json e = {{"time", protocol_log::format_time(r.time)},
                          {"event", r[kEventId]},
                          {"source", r[kSource]},
                          {"id", r[kInternalMessageId]},
                          {"recipients", r.recipients()},
                          {"status", r[kRecipientStatus]},
                          {"connector", r[kConnectorId]},
                          {"client_ip", r[kClientIp]},
                          {"client_hostname", r[kClientHostname]},
                          {"server_ip", r[kServerIp]},
                          {"server_hostname", r[kServerHostname]},
                          {"tls_version", r.custom(kTlsVersionKey)},
                          {"tls_cipher", r.custom(kTlsCipherKey)}};
      if (r[kEventId] == "SEND") e["queued_as"] = r.custom(kQueuedAsKey);
      if (r[kEventId] == "DEFER") e["reason"] = defer_reason(r[kRecipientStatus]);
      if (r[kEventId] == "DSN") {
        e["original_id"] = r.custom(kOriginalKey);
        e["about"] = r[kRelatedRecipientAddress];
      }
      events.push_back(std::move(e));
    }
    out.push_back({{"id", m.id},
                   {"message_id", head[kMessageId]},
                   {"sender", head[kSenderAddress]},
                   {"size", all_digits(head[kTotalBytes]) ? nlohmann::json(std::stoull(head[kTotalBytes]))
                                                          : nlohmann::json(nullptr)},
                   {"events", std::move(events)}});
  }
  return out;
}

}  // namespace sluice::tracking
