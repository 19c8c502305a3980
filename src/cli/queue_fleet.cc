#include "cli/queue_fleet.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include "cli/command_line.h"
#include "queue/fleet_view.h"

extern char** environ;

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr std::size_t kNodesAskedAtOnce = 16;

/// `text` as one word for a POSIX shell (ssh hands the remote shell one string).
std::string shell_word(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct CommandOutput {
  std::string out, err;
  int status = -1;      ///< exit code; -1 killed by a signal or never started
  std::string problem;  ///< could not start, or timed out
};

/// Runs `argv` (searched in PATH) with stdin from /dev/null, collecting stdout and stderr; killed
/// after `timeout`. posix_spawn, as nodes are asked from several threads at once.
CommandOutput run_capturing(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  CommandOutput result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.problem = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.problem = std::string("pipe: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (spawned != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    result.problem = fmt::format("cannot run {}: {}", argv[0], std::strerror(spawned));
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      result.problem = fmt::format("no answer within {} s", timeout.count());
      break;
    }
    int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[16384];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  for (auto& fd : fds)
    if (fd.fd >= 0) ::close(fd.fd);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wstatus)) result.status = WEXITSTATUS(wstatus);
  return result;
}

/// What a node printed on stderr, each line named after the node ("sluice queue: mx1: ...").
void relay_node_stderr(const std::string& node, const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    constexpr std::string_view kOwnPrefix = "sluice queue: ";
    std::string_view rest = line;
    if (rest.starts_with(kOwnPrefix)) rest.remove_prefix(kOwnPrefix.size());
    fmt::print(stderr, "sluice queue: {}: {}\n", node, rest);
  }
}

/// The node's answer; what it printed on stderr goes to `err`, for the caller to print in node
/// order once every node answered (lines of nodes asked at once would interleave).
queue::NodeAnswer ask_node(const FleetNode& node, const FleetListRequest& request, std::string& err) {
  queue::NodeAnswer answer;
  answer.node = node.name;
  CommandOutput output = run_capturing(node_command(node, request), request.timeout);
  err = std::move(output.err);
  answer.error = output.problem;
  if (!answer.error.empty()) return answer;
  Json parsed = Json::parse(output.out, nullptr, false);
  if (output.status != 0 && (parsed.is_discarded() || !parsed.is_object())) {
    // The node's own last word says why ("there is no queue at ..."): it becomes the error, and
    // the lines before it are relayed as they are.
    std::string_view text = err;
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    const std::size_t newline = text.rfind('\n');
    const std::size_t start = newline == std::string_view::npos ? 0 : newline + 1;
    std::string last(text.substr(start));
    if (constexpr std::string_view kOwnPrefix = "sluice queue: "; last.starts_with(kOwnPrefix))
      last.erase(0, kOwnPrefix.size());
    answer.error = last.empty() ? fmt::format("its command failed with exit status {}", output.status)
                                : fmt::format("{} (exit status {})", last, output.status);
    if (!last.empty()) err.resize(start);
  } else if (parsed.is_discarded())
    answer.error = "its answer is not JSON";
  else
    queue::read_node_answer(parsed, request.messages, answer);
  return answer;
}

Result<std::string> string_key(const toml::table& node, std::string_view key, std::size_t index) {
  const toml::node* value = node.get(key);
  if (!value) return std::string();
  auto text = value->value<std::string>();
  if (!text || text->empty()) return fail(fmt::format("node[{}].{}: a non-empty string is needed", index, key));
  return *text;
}

}  // namespace

std::vector<std::string> node_command(const FleetNode& node, const FleetListRequest& request) {
  std::vector<std::string> request_args = {"list", "--json"};
  if (request.messages) {
    request_args.push_back("--messages");
    request_args.push_back(fmt::format("--limit={}", request.limit));
  }
  request_args.insert(request_args.end(), request.filter_arguments.begin(), request.filter_arguments.end());
  std::vector<std::string> argv = node.command;
  for (const auto& a : request_args) argv.push_back(node.quote_arguments ? shell_word(a) : a);
  return argv;
}

Result<std::vector<FleetNode>> read_fleet_file(const fs::path& file, const std::string& self) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    return fail(fmt::format("{}: line {}: {}", file.string(), e.source().begin.line, e.description()));
  }
  auto problem = [&](const std::string& what) { return fail(fmt::format("{}: {}", file.string(), what)); };
  for (const auto& [key, value] : root)
    if (key.str() != "node")
      return problem(fmt::format("{}: unknown key (a fleet file has [[node]] tables)", key.str()));
  const toml::array* list = root["node"].as_array();
  if (!list || list->empty()) return problem("no [[node]] table");
  std::vector<FleetNode> nodes;
  std::set<std::string> names;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::table* table = list->get(i)->as_table();
    if (!table) return problem(fmt::format("node[{}]: not a table", i));
    for (const auto& [key, value] : *table)
      if (key.str() != "name" && key.str() != "state_dir" && key.str() != "config" && key.str() != "ssh" &&
          key.str() != "command")
        return problem(fmt::format("node[{}].{}: unknown key (name, state_dir, config, ssh, command)", i, key.str()));
    std::string values[4];
    const char* keys[4] = {"name", "state_dir", "config", "ssh"};
    for (int k = 0; k < 4; ++k) {
      auto value = string_key(*table, keys[k], i);
      if (!value) return problem(value.error().message);
      values[k] = *value;
    }
    auto& [name, state_dir, config, ssh] = values;
    FleetNode node;
    node.name = name;
    if (name.empty()) return problem(fmt::format("node[{}]: name is required", i));
    if (!names.insert(name).second) return problem(fmt::format("node[{}]: a second node named \"{}\"", i, name));
    if (!state_dir.empty() && !config.empty())
      return problem(fmt::format("node[{}] ({}): state_dir or config, not both", i, name));
    if (const toml::node* command = table->get("command")) {
      if (!ssh.empty() || !state_dir.empty() || !config.empty())
        return problem(fmt::format("node[{}] ({}): command runs alone (no ssh, state_dir or config)", i, name));
      const toml::array* words = command->as_array();
      if (!words || words->empty()) return problem(fmt::format("node[{}].command: a non-empty array of strings", i));
      for (const auto& word : *words) {
        auto text = word.value<std::string>();
        if (!text || text->empty()) return problem(fmt::format("node[{}].command: a non-empty array of strings", i));
        node.command.push_back(*text);
      }
    } else {
      std::vector<std::string> where;
      if (!state_dir.empty()) where = {"--state-dir", state_dir};
      if (!config.empty()) where = {"--config", config};
      if (ssh.empty()) {
        if (where.empty()) return problem(fmt::format("node[{}] ({}): state_dir, config, ssh or command", i, name));
        node.command = {self, "queue"};
      } else {
        // BatchMode: a node whose key is refused fails instead of asking for a password.
        node.command = {"ssh", "-o", "BatchMode=yes", "--", ssh, "sluice", "queue"};
        node.quote_arguments = true;
        for (auto& w : where) w = shell_word(w);
      }
      node.command.insert(node.command.end(), where.begin(), where.end());
    }
    nodes.push_back(std::move(node));
  }
  return nodes;
}

std::vector<std::string> state_dir_names(const std::vector<std::string>& dirs) {
  std::vector<std::vector<std::string>> parts;  // each path's components, last first
  for (const auto& dir : dirs) {
    auto& p = parts.emplace_back();
    for (const auto& part : fs::path(dir).lexically_normal())
      if (!part.empty() && part != "/") p.insert(p.begin(), part.string());
  }
  std::vector<std::string> names(dirs.size());
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    // The shortest tail of the path no other directory ends with.
    for (std::size_t n = 1; n <= parts[i].size(); ++n) {
      bool unique = true;
      for (std::size_t j = 0; j < dirs.size() && unique; ++j)
        if (j != i && parts[j].size() >= n && std::equal(parts[i].begin(), parts[i].begin() + n, parts[j].begin()))
          unique = false;
      if (!unique && n < parts[i].size()) continue;
      names[i].clear();
      for (std::size_t k = n; k-- > 0;) names[i] += parts[i][k] + (k ? "/" : "");
      break;
    }
    if (names[i].empty()) names[i] = dirs[i];
  }
  return names;
}

Result<std::vector<FleetNode>> nodes_of_state_dirs(const std::vector<std::string>& dirs, const std::string& self) {
  std::vector<std::string> names = state_dir_names(dirs);
  std::vector<FleetNode> nodes;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    if (!seen.insert(names[i]).second) return fail(fmt::format("--state-dir {} is given twice", dirs[i]));
    nodes.push_back({names[i], {self, "queue", "--state-dir", dirs[i]}});
  }
  return nodes;
}

int list_fleet(const std::vector<FleetNode>& nodes, const FleetListRequest& request) {
  std::vector<queue::NodeAnswer> answers(nodes.size());
  std::vector<std::string> stderr_texts(nodes.size());
  {
    // A few nodes at a time: a hundred ssh sessions at once would be a burst for the network and
    // for the nodes' sshd (MaxStartups), while one at a time would add up every node's latency.
    std::atomic<std::size_t> next{0};
    std::vector<std::jthread> askers;
    for (std::size_t t = 0; t < std::min(nodes.size(), kNodesAskedAtOnce); ++t)
      askers.emplace_back([&] {
        for (std::size_t i; (i = next++) < nodes.size();) answers[i] = ask_node(nodes[i], request, stderr_texts[i]);
      });
  }
  int status = kOk;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    relay_node_stderr(nodes[i].name, stderr_texts[i]);
    if (!answers[i].error.empty()) {
      fmt::print(stderr, "sluice queue: {}: cannot be read: {}\n", nodes[i].name, answers[i].error);
      status = kFailed;
    }
  }
  const auto now = std::chrono::system_clock::now();
  if (!request.json)
    for (const auto& a : answers)
      if (a.loading.is_object())
        fmt::print(
            "{}: the gateway is still reading its spool after a restart ({} of {} messages): its part is not "
            "complete yet.\n",
            a.node, a.loading.value("read", 0), a.loading.value("total", 0));
  auto print_json = [](const Json& value) {
    fmt::print("{}\n", value.dump(2, ' ', false, Json::error_handler_t::replace));
  };
  if (request.messages) {
    auto rows = queue::merge_messages(answers, request.limit);
    if (request.json) {
      print_json(queue::fleet_messages_json(rows, answers, now));
      return status;
    }
    std::size_t total = 0;
    for (const auto& a : answers) total += a.total;
    fmt::print("{}", queue::render_fleet_messages(rows, now));
    if (rows.size() < total)
      fmt::print("{} of {} messages shown, oldest first; --limit N shows more, --limit 0 all.\n", rows.size(), total);
  } else {
    auto rows = queue::merge_hops(answers);
    if (request.json) {
      print_json(queue::fleet_hops_json(rows, answers, now));
      return status;
    }
    fmt::print("{}", queue::render_fleet_hops(rows, now));
  }
  if (status != kOk) fmt::print("Not every node could be read: the list above leaves them out (see above).\n");
  return status;
}

}  // namespace sluice::cli
